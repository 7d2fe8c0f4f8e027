"""The live loop: newest frame → infer → score → render or emit. Capture runs on its own thread."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from edge.capture import FrameSource
from edge.errors import OfficeScoreError
from edge.output import frame_result_to_dict
from edge.overlay import annotate
from edge.scorer import Scorer
from edge.scoring import Score
from edge.types import FrameResult

WINDOW_TITLE = "officescore"
TIMING_WINDOW = 2000


@dataclass(frozen=True)
class LiveConfig:
    source: str = "auto"
    realtime: bool = True
    headless: bool = False
    max_frames: int | None = None
    record: Path | None = None


@dataclass
class LiveSummary:
    source: str
    frames: int = 0
    elapsed_s: float = 0.0
    dropped: int = 0
    reconnects: int = 0
    interrupted: bool = False
    lost: str | None = None
    last_score: Score | None = None
    stage_p50_ms: dict[str, float] = field(default_factory=dict)
    result_age_p50_ms: float = 0.0  # from a frame's capture to its result being out

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0


def has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def open_live_source(spec: str, realtime: bool, notice: Callable[[str], None]) -> FrameSource:
    """`auto` tries camera 0 and falls back to the bundled demo clip, saying so."""
    if spec != "auto":
        return FrameSource(spec, realtime=realtime)
    try:
        return FrameSource("0", realtime=realtime)
    except OfficeScoreError:
        notice(
            "no camera found at index 0: playing the bundled demo clip "
            "(--source demo plays it directly, --source 0 insists on the camera)"
        )
        return FrameSource("demo", realtime=realtime)


class Recorder:
    """Annotated frames to a video file; always finalized by `close`."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = path
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
        if not self._writer.isOpened():
            raise OfficeScoreError(f"cannot write recording {path}")
        self.size = size

    def write(self, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size)
        self._writer.write(image)

    def close(self) -> None:
        self._writer.release()


class Window:
    def __init__(self, size: tuple[int, int]) -> None:
        cv2.namedWindow(WINDOW_TITLE, cv2.WINDOW_NORMAL)
        if min(size) > 0:
            cv2.resizeWindow(WINDOW_TITLE, *size)

    def show(self, image: np.ndarray) -> bool:
        """Show a frame; False once the user pressed q/Esc or closed the window."""
        cv2.imshow(WINDOW_TITLE, image)
        key = cv2.waitKey(1) & 0xFF
        closed = cv2.getWindowProperty(WINDOW_TITLE, cv2.WND_PROP_VISIBLE) < 1
        return key not in (ord("q"), 27) and not closed

    def close(self) -> None:
        cv2.destroyWindow(WINDOW_TITLE)


def run_live(
    config: LiveConfig, scorer: Scorer, out: TextIO, notice: Callable[[str], None]
) -> LiveSummary:
    headless = config.headless
    if not headless and not has_display():
        notice("no display found: printing JSON lines instead of opening a window (--headless)")
        headless = True
    source = open_live_source(config.source, config.realtime, notice)
    summary = LiveSummary(source=source.name)
    recorder = Recorder(config.record, source.fps, source.frame_size) if config.record else None
    window = None if headless else Window(source.frame_size)
    rolling = scorer.rolling()
    recent: deque[dict[str, float]] = deque(maxlen=TIMING_WINDOW)
    ages: deque[float] = deque(maxlen=TIMING_WINDOW)
    fps = 0.0
    started = waited_since = time.perf_counter()
    try:
        with source:
            for frame in source.frames():
                arrived = time.perf_counter()
                detections, score, timings = scorer.analyze(frame.image, rolling, frame.timestamp)
                timings = {"capture": (arrived - waited_since) * 1e3, **timings}
                if window or recorder:
                    render_start = time.perf_counter()
                    status = f"{fps:4.1f} fps  {scorer.provider}  dropped {source.stats.dropped}"
                    annotated = annotate(frame.image, detections, score, status)
                    if recorder:
                        recorder.write(annotated)
                    timings["render"] = (time.perf_counter() - render_start) * 1e3
                result = FrameResult(
                    frame.index, frame.timestamp, detections, score, scorer.provider, timings
                )
                summary.frames += 1
                summary.last_score = score
                recent.append(timings)
                if window and not window.show(annotated):
                    break
                if window is None:
                    out.write(json.dumps(frame_result_to_dict(result)) + "\n")
                    out.flush()
                ages.append((time.perf_counter() - frame.captured_at) * 1e3)
                elapsed = time.perf_counter() - started
                fps = summary.frames / elapsed if elapsed > 0 else 0.0
                if config.max_frames and summary.frames >= config.max_frames:
                    break
                waited_since = time.perf_counter()
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.elapsed_s = time.perf_counter() - started
        if recorder:
            recorder.close()
        if window:
            window.close()
        out.flush()
    summary.dropped, summary.reconnects = source.stats.dropped, source.stats.reconnects
    summary.lost = source.stats.lost
    summary.stage_p50_ms = (
        {stage: float(np.median([t[stage] for t in recent if stage in t])) for stage in recent[0]}
        if recent
        else {}
    )
    summary.result_age_p50_ms = float(np.median(ages)) if ages else 0.0
    if summary.frames == 0 and not summary.interrupted:
        raise OfficeScoreError(f"no frames could be read from {source.name}")
    return summary
