"""The live runner: capture → a frame stage (the score, or the check) → sinks (window,
recording, JSON lines or a status line). Capture runs on its own thread; in real time with a
window or a recording, the stage runs beside the display."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.results import Result
from edge.core.vocabulary import plural
from edge.inference.engines import EngineUnavailable
from edge.video.capture import CaptureStats, Frame, FrameSource
from edge.video.display import has_display
from edge.video.sinks import Sinks
from edge.video.stages import Pending, Stage

Judged = tuple[Frame, Result]

TIMING_WINDOW = 2000


@dataclass(frozen=True)
class LiveConfig:
    source: str = "auto"
    realtime: bool = True
    headless: bool = False
    max_frames: int | None = None
    record: Path | None = None
    loop: bool = False  # a file starts again when it ends
    json_lines: bool = True  # headless: JSON lines, else a status line a second


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
    last: Result | None = None  # the last scored (or checked) frame
    ends_with_score: bool = True  # the check ends with its verdict instead
    displayed: int = 0  # frames shown or recorded; more than `frames` when inference is slower
    stage_p50_ms: dict[str, float] = field(default_factory=dict)
    result_age_p50_ms: float = 0.0  # from a frame's capture to its result being out

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def take_stats(self, stats: CaptureStats, timings: Iterable[Mapping[str, float]]) -> None:
        """What the source counted, and each stage's median over the recent frames' timings."""
        self.dropped, self.reconnects, self.replays = stats.dropped, stats.reconnects, stats.replays
        self.gap_seconds, self.lost = stats.gap_seconds, stats.lost
        recent = list(timings)
        self.stage_p50_ms = {
            stage: float(np.median([t[stage] for t in recent if stage in t]))
            for stage in dict.fromkeys(stage for t in recent for stage in t)
        }

    def line(self) -> str:
        """The closing line on stderr: frames, seconds, fps, drops, reconnects, and the final
        score (the check ends with its verdict instead, on a line of its own)."""
        stages = " ".join(f"{k} {v:.1f}" for k, v in self.stage_p50_ms.items())
        last = self.last
        final = last.score.value if last and last.score else "n/a"
        score = f"final score {final}; " if self.ends_with_score else ""
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
    """Runs the stage on one frame at a time on its own thread; each result is handed back once.

    While it is busy, offered frames are refused: the caller shows them without waiting.
    """

    def __init__(self, analyze: Callable[[Frame], list[Judged]]) -> None:
        self._analyze = analyze
        self._changed = threading.Condition()
        self._pending: Frame | None = None
        self._busy = False
        self._stopping = False
        self._results: list[Judged] = []
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

    def take(self) -> list[Judged]:
        with self._changed:
            if self._error is not None:
                raise self._error
            results, self._results = self._results, []
            return results

    def finish(self) -> list[Judged]:
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
                assert frame is not None
                results = self._analyze(frame)
            except BaseException as error:  # handed to the caller's thread by take()
                with self._changed:
                    self._error, self._busy = error, False
                    self._changed.notify_all()
                return
            with self._changed:
                self._results += results
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


class FrameFlow:
    """Frames into the stage, results out in frame order, `stage.traits.depth` frames in flight.
    While the engine is away a frame is passed on unscored, saying why."""

    def __init__(self, stage: Stage, source: str, engine: EngineAway) -> None:
        self.stage, self.source, self.engine = stage, source, engine
        self._in_flight: deque[tuple[Frame, Pending | None]] = deque()
        self.pushed = 0

    def push(self, frame: Frame) -> list[Judged]:
        self.pushed += 1
        pending: Pending | None = None
        if not self.engine.waiting():
            try:
                pending = self.stage.submit(frame, self.source)
            except EngineUnavailable as error:
                self.engine.failed(error)
        self._in_flight.append((frame, pending))
        done = []
        while len(self._in_flight) > self.stage.traits.depth:
            done.append(self._resolve(*self._in_flight.popleft()))
        return done

    def drain(self) -> list[Judged]:
        done = [self._resolve(*flying) for flying in self._in_flight]
        self._in_flight.clear()
        return done

    def _resolve(self, frame: Frame, pending: Pending | None) -> Judged:
        if pending is not None:
            try:
                result = pending()
            except EngineUnavailable as error:
                self.engine.failed(error)
            else:
                self.engine.recovered()
                return frame, result
        why = self.engine.reason
        return frame, self.stage.pipeline.unscored(self.source, frame.index, frame.timestamp, why)


class _Run:
    """One run's sinks and counters: each result is counted, timed and emitted once."""

    def __init__(
        self,
        config: LiveConfig,
        sinks: Sinks,
        source: FrameSource,
        engine: EngineAway,
        stage: Stage,
    ) -> None:
        self.config, self.sinks, self.source, self.engine = config, sinks, source, engine
        self.provider = stage.pipeline.provider  # shown in the window's status line
        self.summary = LiveSummary(source=source.name, ends_with_score=stage.traits.ends_with_score)
        self.timings: deque[Mapping[str, float]] = deque(maxlen=TIMING_WINDOW)
        self.ages: deque[float] = deque(maxlen=TIMING_WINDOW)

    def take(self, judged: Judged, **extra_ms: float) -> None:
        frame, result = judged
        if extra_ms:  # the runner's own stages, before the frame stage's
            result = replace(result, timings_ms={**extra_ms, **result.timings_ms})
        summary = self.summary
        summary.frames += 1
        if result.score is not None:  # frames passed on while the engine was away have none
            summary.last = result
        self.timings.append(result.timings_ms)
        self.sinks.emit(result, summary.frames, self.source.stats.dropped)
        self.ages.append((time.perf_counter() - frame.captured_at) * 1e3)

    def show(self, image: np.ndarray, result: Result | None) -> bool:
        self.summary.displayed += 1
        if not self.sinks.draws:
            return True
        elapsed = max(time.perf_counter() - self.sinks.started, 1e-9)
        status = (
            f"{self.summary.frames / elapsed:4.1f} fps scored, "
            f"{self.summary.displayed / elapsed:4.1f} shown  {self.provider}  "
            f"dropped {self.source.stats.dropped}"
        )
        if self.engine.away:
            status += "  ENGINE AWAY, retrying"
        return self.sinks.show(image, result, status)

    def enough(self, pushed: int) -> bool:
        """`--max-frames` frames are in the stage: the rest of the run is draining them."""
        return bool(self.config.max_frames and pushed >= self.config.max_frames)


def run_live(
    config: LiveConfig, stage: Stage, out: TextIO, notice: Callable[[str], None]
) -> LiveSummary:
    """Run `stage` on a live source. In real time with a window or recording, the stage runs
    beside the display, so the picture keeps the source's frame rate even with a slow model."""
    headless = config.headless
    if not headless and not has_display():
        lines = "JSON lines" if config.json_lines else "a status line a second"
        notice(f"no display found: printing {lines} instead of opening a window (--headless)")
        headless = True
    source = open_live_source(config.source, config.realtime, notice, config.loop)
    pipeline = stage.pipeline
    notice(f"{stage.traits.verb} {source.name} with {pipeline.model_name} on {pipeline.provider}")
    engine = EngineAway(notice)
    sinks = Sinks(
        out,
        frame_size=source.frame_size,
        fps=source.fps,
        window=not headless,
        record=config.record,
        json_lines=config.json_lines,
        records_every_s=stage.traits.records_every_s,
    )
    run = _Run(config, sinks, source, engine, stage)
    flow = FrameFlow(stage, source.name, engine)
    try:
        with source:
            if config.realtime and sinks.draws:
                _run_beside_display(source, flow, run)
            else:
                _run_serially(source, flow, run)
    except KeyboardInterrupt:
        run.summary.interrupted = True
    finally:
        run.summary.elapsed_s = time.perf_counter() - sinks.started
        sinks.close()
    summary = run.summary
    summary.take_stats(source.stats, run.timings)
    summary.result_age_p50_ms = float(np.median(run.ages)) if run.ages else 0.0
    if summary.frames == 0 and not summary.interrupted:
        raise OfficeScoreError(f"no frames could be read from {source.name}")
    return summary


def _run_serially(source: FrameSource, flow: FrameFlow, run: _Run) -> None:
    """Every frame through the stage; each result drawn on its own frame. Frames still in the
    stage at the end are taken too (drawn unless the window was closed)."""
    waited_since = time.perf_counter()
    captured_ms: dict[int, float] = {}
    shown = True
    try:
        for frame in source.frames():
            captured_ms[frame.index] = (time.perf_counter() - waited_since) * 1e3
            for judged in flow.push(frame):
                shown = _show_and_take(judged, captured_ms.pop(judged[0].index), run)
                if not shown:
                    return
            if run.enough(flow.pushed):
                return
            waited_since = time.perf_counter()
    finally:
        for judged in flow.drain():
            if shown:
                _show_and_take(judged, captured_ms.pop(judged[0].index), run)
            else:
                run.take(judged, capture=captured_ms.pop(judged[0].index))


def _show_and_take(judged: Judged, capture_ms: float, run: _Run) -> bool:
    frame, result = judged
    render_start = time.perf_counter()
    keep_going = run.show(frame.image, result)
    if run.sinks.draws:
        run.take(judged, capture=capture_ms, render=(time.perf_counter() - render_start) * 1e3)
    else:
        run.take(judged, capture=capture_ms)
    return keep_going


def _run_beside_display(source: FrameSource, flow: FrameFlow, run: _Run) -> None:
    """Every frame shown with the newest result; the stage takes a frame whenever it is free."""
    worker = InferenceWorker(flow.push)
    latest: Result | None = None
    offered = 0
    try:
        for frame in source.frames():
            offered += worker.offer(frame)
            for judged in worker.take():
                latest = judged[1]
                run.take(judged)
            if not run.show(frame.image, latest) or run.enough(offered):
                return
    finally:
        for judged in [*worker.finish(), *flow.drain()]:
            run.take(judged)
