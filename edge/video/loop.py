"""The live loop: newest frame → infer → score → render or emit. Capture runs on its own thread."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.results import Result, Score
from edge.core.types import Detections
from edge.core.vocabulary import plural
from edge.inference.engines import EngineUnavailable
from edge.inference.pipeline import Pipeline
from edge.video.capture import CaptureStats, Frame, FrameSource
from edge.video.display import Recorder, Window, has_display
from edge.video.overlay import MaskLayer, annotate, annotated_size, mask_layer

TIMING_WINDOW = 2000


@dataclass(frozen=True)
class LiveConfig:
    source: str = "auto"
    realtime: bool = True
    headless: bool = False
    max_frames: int | None = None
    record: Path | None = None
    loop: bool = False  # a file starts again when it ends
    json_lines: bool = True  # headless: every record as a JSON line, else a status line a second


@dataclass
class LiveSummary:
    source: str
    frames: int = 0
    elapsed_s: float = 0.0
    dropped: int = 0
    reconnects: int = 0
    replays: int = 0
    gap_seconds: float = 0.0
    interrupted: bool = False
    lost: str | None = None
    last_score: Score | None = None
    displayed: int = 0  # frames shown or recorded; more than `frames` when inference is slower
    stage_p50_ms: dict[str, float] = field(default_factory=dict)
    result_age_p50_ms: float = 0.0  # from a frame's capture to its result being out

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def take_stats(self, stats: CaptureStats, timings: Iterable[dict[str, float]]) -> None:
        """What the source counted, and each stage's median over the recent frames' timings."""
        self.dropped, self.reconnects, self.replays = stats.dropped, stats.reconnects, stats.replays
        self.gap_seconds, self.lost = stats.gap_seconds, stats.lost
        recent = list(timings)
        self.stage_p50_ms = {
            stage: float(np.median([t[stage] for t in recent if stage in t]))
            for stage in dict.fromkeys(stage for t in recent for stage in t)
        }

    def line(self, with_score: bool = True) -> str:
        """The closing line on stderr: frames, seconds, fps, drops, reconnects, final score
        (`with_score`: the check ends with its verdict instead)."""
        stages = " ".join(f"{k} {v:.1f}" for k, v in self.stage_p50_ms.items())
        final = self.last_score.value if self.last_score else "n/a"
        score = f"final score {final}; " if with_score else ""
        ending = "stopped by user" if self.interrupted else "done"
        replays = f", {plural(self.replays, 'replay')}" if self.replays else ""
        return (
            f"{ending}: {plural(self.frames, 'frame')} from {self.source} in "
            f"{self.elapsed_s:.1f} s ({self.fps:.1f} fps), dropped {self.dropped}{replays}, "
            f"{plural(self.reconnects, 'reconnect')} (gaps {self.gap_seconds:.1f} s), "
            f"{score}p50 ms: {stages}"
        )


def open_live_source(
    spec: str, realtime: bool, notice: Callable[[str], None], loop: bool = False
) -> FrameSource:
    """`auto` tries camera 0 and falls back to the bundled demo clip, saying so.

    `loop` starts a file again when it ends (a replay, not a reconnect).
    """
    if spec != "auto":
        return FrameSource(spec, realtime=realtime, loop=loop)
    try:
        return FrameSource("0", realtime=realtime)
    except OfficeScoreError:
        notice(
            "no camera found at index 0: playing the bundled demo clip "
            "(--source demo plays it directly, --source 0 insists on the camera)"
        )
        return FrameSource("demo", realtime=realtime, loop=loop)


class InferenceWorker:
    """Analyzes one frame at a time on its own thread; each result is handed back once.

    While it is busy, offered frames are refused: the caller shows them without waiting.
    """

    def __init__(self, analyze: Callable[[Frame], Result]) -> None:
        self._analyze = analyze
        self._changed = threading.Condition()
        self._pending: Frame | None = None
        self._busy = False
        self._stopping = False
        self._results: list[Result] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="officescore-infer", daemon=True)
        self._thread.start()

    def offer(self, frame: Frame) -> bool:
        with self._changed:
            if self._busy or self._pending is not None:
                return False
            self._pending = frame
            self._changed.notify_all()
            return True

    def take(self) -> list[Result]:
        with self._changed:
            if self._error is not None:
                raise self._error
            results, self._results = self._results, []
            return results

    def finish(self) -> list[Result]:
        """Let the frame in flight complete, stop, and return what is left."""
        with self._changed:
            self._changed.wait_for(lambda: not self._busy and self._pending is None)
            self._stopping = True
            self._changed.notify_all()
        self._thread.join(timeout=30)
        return self.take()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending is not None or self._stopping)
                if self._stopping:
                    return
                frame, self._pending, self._busy = self._pending, None, True
            try:
                result = self._analyze(frame)  # type: ignore[arg-type]
            except BaseException as error:  # handed to the caller's thread by take()
                with self._changed:
                    self._error, self._busy = error, False
                    self._changed.notify_all()
                return
            with self._changed:
                self._results.append(result)
                self._busy = False
                self._changed.notify_all()


class EngineAway:
    """While the engine is away (a Triton server down or restarting), frames keep flowing,
    unscored; inference is retried after 0.5 s, doubling to at most 8 s."""

    def __init__(self, notice: Callable[[str], None]) -> None:
        self.notice = notice
        self.delay_s = 0.0
        self.retry_at = 0.0
        self.reason = ""

    @property
    def away(self) -> bool:
        return self.delay_s > 0

    def waiting(self) -> bool:
        return time.monotonic() < self.retry_at

    def failed(self, error: EngineUnavailable) -> None:
        if not self.away:
            self.notice(f"{error}; showing frames unscored and retrying")
        self.reason = str(error)
        self.delay_s = min(max(self.delay_s * 2, 0.5), 8.0)
        self.retry_at = time.monotonic() + self.delay_s

    def recovered(self) -> None:
        if self.away:
            self.notice("the engine answers again: scoring resumes")
        self.delay_s = 0.0


class _Outputs:
    """Where results go: JSON lines, a window, a recording; with the counters of the run."""

    def __init__(
        self,
        config: LiveConfig,
        source: FrameSource,
        out: TextIO,
        headless: bool,
        provider: str,
        engine: EngineAway,
    ) -> None:
        self.out = out
        self.provider = provider
        self.recorder = (
            Recorder(config.record, source.fps, annotated_size(source.frame_size))
            if config.record
            else None
        )
        self.window = None if headless else Window(annotated_size(source.frame_size))
        self.source = source
        self.timings: deque[dict[str, float]] = deque(maxlen=TIMING_WINDOW)
        self.ages: deque[float] = deque(maxlen=TIMING_WINDOW)
        self.started = time.perf_counter()
        self._layer_of: Result | None = None  # the result `_layer` was drawn from
        self._layer: MaskLayer | None = None
        self.engine = engine
        self.json_lines = config.json_lines
        self._next_status_s = 0.0

    @property
    def draws(self) -> bool:
        return self.window is not None or self.recorder is not None

    def record_result(self, result: Result, captured_at: float, summary: LiveSummary) -> None:
        summary.frames += 1
        if result.score is not None:  # frames scored while the engine was away have none
            summary.last_score = result.score
        self.timings.append(dict(result.timings_ms))
        if self.window is None:
            self._emit(result, summary)
        self.ages.append((time.perf_counter() - captured_at) * 1e3)

    def _emit(self, result: Result, summary: LiveSummary) -> None:
        if self.json_lines:
            self.out.write(json.dumps(result.to_record()) + "\n")
            self.out.flush()
            return
        elapsed = time.perf_counter() - self.started
        if elapsed >= self._next_status_s:
            self.out.write(status_line(result, summary, elapsed, self.source.stats.dropped) + "\n")
            self.out.flush()
            self._next_status_s = float(int(elapsed) + 1)

    def display(self, image: np.ndarray, result: Result | None, summary: LiveSummary) -> bool:
        """Draw `result` on `image`, record and show it; False once the user closed the window."""
        summary.displayed += 1
        if not self.draws:
            return True
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        status = (
            f"{summary.frames / elapsed:4.1f} fps scored, {summary.displayed / elapsed:4.1f} "
            f"shown  {self.provider}  dropped {self.source.stats.dropped}"
        )
        if self.engine.away:
            status += "  ENGINE AWAY, retrying"
        if result is not None and result is not self._layer_of:
            self._layer_of, self._layer = result, mask_layer(result.detections)
        if result is None:
            annotated = annotate(image, Detections.empty(), None, status)
        else:
            annotated = annotate(image, result.detections, result.score, status, self._layer)
        if self.recorder:
            self.recorder.write(annotated)
        return self.window.show(annotated) if self.window else True

    def close(self) -> None:
        if self.recorder:
            self.recorder.close()
        if self.window:
            self.window.close()
        self.out.flush()


def status_line(result: Result, summary: LiveSummary, elapsed_s: float, dropped: int) -> str:
    """One short line for a person watching a terminal: time, score, rate, what is in view."""
    score = result.score
    seen = ", ".join(f"{name} ×{n}" for name, n in score.counts.items()) if score else ""
    verdict = f"score {score.value:3d}" if score else f"not scored ({'; '.join(result.notes)})"
    fps = summary.frames / elapsed_s if elapsed_s > 0 else 0.0
    return (
        f"{result.timestamp or 0.0:6.1f} s  frame {result.frame_index}  {verdict}  "
        f"{fps:4.1f} fps  dropped {dropped}  {seen or 'nothing in view'}"
    )


def run_live(
    config: LiveConfig, pipeline: Pipeline, out: TextIO, notice: Callable[[str], None]
) -> LiveSummary:
    """Score a live source. In real time with a window or recording, inference runs beside
    the display, so the picture keeps the source's frame rate even with a slow model."""
    headless = config.headless
    if not headless and not has_display():
        lines = "JSON lines" if config.json_lines else "a status line a second"
        notice(f"no display found: printing {lines} instead of opening a window (--headless)")
        headless = True
    source = open_live_source(config.source, config.realtime, notice, config.loop)
    notice(f"scoring {source.name} with {pipeline.model_name} on {pipeline.provider}")
    summary = LiveSummary(source=source.name)
    engine = EngineAway(notice)
    outputs = _Outputs(config, source, out, headless, pipeline.provider, engine)
    rolling = pipeline.rolling()

    def unscored(frame: Frame) -> Result:
        return pipeline.result(
            source.name,
            "frame",
            Detections.empty(),
            frame_index=frame.index,
            timestamp=frame.timestamp,
            notes=(f"not scored: {engine.reason}",),
        )

    def analyze(frame: Frame) -> Result:
        if engine.waiting():
            return unscored(frame)
        try:
            detections, score, timings = pipeline.analyze(frame.image, rolling, frame.timestamp)
        except EngineUnavailable as error:
            engine.failed(error)
            return unscored(frame)
        engine.recovered()
        return pipeline.result(
            source.name,
            "frame",
            detections,
            score=score,
            frame_index=frame.index,
            timestamp=frame.timestamp,
            timings_ms=timings,
        )

    try:
        with source:
            if config.realtime and outputs.draws:
                _run_beside_display(source, analyze, outputs, config, summary)
            else:
                _run_serially(source, analyze, outputs, config, summary)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.elapsed_s = time.perf_counter() - outputs.started
        outputs.close()
    summary.take_stats(source.stats, outputs.timings)
    summary.result_age_p50_ms = float(np.median(outputs.ages)) if outputs.ages else 0.0
    if summary.frames == 0 and not summary.interrupted:
        raise OfficeScoreError(f"no frames could be read from {source.name}")
    return summary


def _run_serially(
    source: FrameSource,
    analyze: Callable[[Frame], Result],
    outputs: _Outputs,
    config: LiveConfig,
    summary: LiveSummary,
) -> None:
    waited_since = time.perf_counter()
    for frame in source.frames():
        arrived = time.perf_counter()
        result = analyze(frame)
        render_start = time.perf_counter()
        keep_going = outputs.display(frame.image, result, summary)
        extra = {"capture": (arrived - waited_since) * 1e3}
        if outputs.draws:
            extra["render"] = (time.perf_counter() - render_start) * 1e3
        result = replace(result, timings_ms={**extra, **result.timings_ms})
        outputs.record_result(result, frame.captured_at, summary)
        if not keep_going or (config.max_frames and summary.frames >= config.max_frames):
            return
        waited_since = time.perf_counter()


def _run_beside_display(
    source: FrameSource,
    analyze: Callable[[Frame], Result],
    outputs: _Outputs,
    config: LiveConfig,
    summary: LiveSummary,
) -> None:
    worker = InferenceWorker(analyze)
    latest: Result | None = None
    captured: dict[int, float] = {}
    try:
        for frame in source.frames():
            if worker.offer(frame):
                captured[frame.index] = frame.captured_at
            for result in worker.take():
                latest = result
                outputs.record_result(result, captured.pop(result.frame_index or 0), summary)
            if not outputs.display(frame.image, latest, summary):
                return
            if config.max_frames and summary.frames >= config.max_frames:
                return
    finally:
        for result in worker.finish():
            outputs.record_result(result, captured.pop(result.frame_index or 0), summary)
