"""The video-call check live: a running verdict over the last seconds, on a camera, a video or
a stream. Frames are pipelined over two threads: while the detector runs on a frame, the person
models and the verdict of the frame before run beside it, so the check keeps most of the
detector's frame rate."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import TextIO

from edge.core.errors import OfficeScoreError
from edge.core.results import Result
from edge.judge.background_rules import RollingCheck
from edge.runs.background_check import Checker, Looked
from edge.video.capture import Frame
from edge.video.display import Window, has_display
from edge.video.loop import TIMING_WINDOW, LiveSummary, open_live_source
from edge.video.overlay import annotated_size, draw_check_panel

# The person models see every third frame (5 times a second on a 15 fps camera: the verdict
# covers seconds, and a face on a call moves little in 0.2 s); between face detections they
# follow the face by its landmarks, as MediaPipe does on video.
PERSON_MODELS_EVERY = 3
REDETECT_FACES_EVERY = 15  # frames


class _Verdicts:
    """Where the judged frames go: the rolling verdict, the window, or once a second a JSON
    line (into a pipe, or with --json) or a status line (on a terminal)."""

    def __init__(
        self, checker: Checker, window: Window | None, out: TextIO, json_lines: bool
    ) -> None:
        self.rolling = RollingCheck(checker.config.window_s, checker.thresholds)
        self.window, self.out, self.json_lines = window, out, json_lines
        self.started = time.perf_counter()
        self.judged = 0
        self.rolled: Result | None = None
        self.timings: deque[dict[str, float]] = deque(maxlen=TIMING_WINDOW)
        self.next_second = 0.0

    def take(self, result: Result, frame: Frame) -> bool:
        """Show one judged frame; False when the user closed the window."""
        assert result.check is not None
        self.rolled = rolled = replace(
            result,
            kind="frame",
            check=self.rolling.update(result.check, frame.timestamp, frame.index),
            frame_index=frame.index,
            timestamp=frame.timestamp,
        )
        self.timings.append(dict(result.timings_ms))
        self.judged += 1
        assert rolled.check is not None
        if self.window is not None:
            drawn = draw_check_panel(frame.image, result.detections, rolled.check, result.person)
            return self.window.show(drawn)
        if frame.timestamp >= self.next_second:
            if self.json_lines:
                self.out.write(json.dumps(rolled.to_record()) + "\n")
            else:
                elapsed = time.perf_counter() - self.started
                fps = self.judged / elapsed if elapsed > 0 else 0.0
                self.out.write(check_status_line(rolled, fps) + "\n")
            self.out.flush()
            self.next_second = float(int(frame.timestamp) + 1)
        return True


def check_status_line(rolled: Result, fps: float) -> str:
    """One short line a second for a person at a terminal: the time, the verdict over the
    window and the criteria that are not passing."""
    assert rolled.check is not None
    failing = rolled.check.failures + rolled.check.warnings
    verdict = "fail" if rolled.check.failures else "warn" if failing else "pass"
    named = ", ".join(f"{v.title} {v.status}" for v in failing)
    return (
        f"{rolled.timestamp or 0.0:6.1f} s  frame {rolled.frame_index}  {verdict}"
        f"{': ' + named if named else ''}  {fps:4.1f} fps"
    )


def check_live(
    checker: Checker,
    source: str,
    headless: bool,
    max_frames: int | None,
    out: TextIO,
    notice: Callable[[str], None],
    realtime: bool = True,
    json_lines: bool = True,
) -> tuple[Result | None, LiveSummary]:
    """A running verdict over the last seconds; headless, once a second a JSON line or (not
    `json_lines`) a status line. With `realtime` off a file gives every frame as fast as the
    check runs. Returns the last verdict and the run's summary (frames, seconds, fps, drops)."""
    if not headless and not has_display():
        lines = "one JSON line" if json_lines else "a status line"
        notice(f"no display found: printing {lines} a second instead of opening a window")
        headless = True
    frames = open_live_source(source, realtime=realtime, notice=notice)
    window = None if headless else Window(annotated_size(frames.frame_size))
    verdicts = _Verdicts(checker, window, out, json_lines)
    summary = LiveSummary(source=frames.name)
    pending: tuple[Future[Result], Frame] | None = None
    looked: Future[Looked] | None = None
    count, started = 0, time.perf_counter()
    try:
        with frames:
            for frame in frames.frames():
                fresh = looked is None or count % PERSON_MODELS_EVERY == 0
                follow = looked if fresh and count % REDETECT_FACES_EVERY else None
                reuse = None if fresh else looked
                looked = checker.beside.submit(checker.look, frame.image, follow, reuse)
                analyzed = checker.pipeline.analyze(frame.image)
                judged = checker.beside.submit(
                    checker.judge, frame.image, frames.name, "frame", analyzed, looked, fresh, {}
                )
                count += 1
                if pending is not None and not verdicts.take(pending[0].result(), pending[1]):
                    pending = None
                    break
                pending = (judged, frame)
                if max_frames and count >= max_frames:
                    break
            if pending is not None:
                verdicts.take(pending[0].result(), pending[1])
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if verdicts.window:
            verdicts.window.close()
        out.flush()
    if count == 0 and not summary.interrupted:
        raise OfficeScoreError(f"no frames could be read from {frames.name}")
    summary.frames, summary.elapsed_s = count, time.perf_counter() - started
    summary.take_stats(frames.stats, verdicts.timings)
    rolled = verdicts.rolled
    summary.last_score = rolled.score if rolled else None
    return rolled, summary
