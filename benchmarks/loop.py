"""The live loop on a video: processed fps against the model alone, drops and result age, and
the CPU time each spends a frame (all threads: decoding, the engine's own, ours), which this
shared machine's drift touches far less than wall time."""

from __future__ import annotations

import os
import resource
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.environment import peak_rss_mb
from edge.core.errors import OfficeScoreError
from edge.inference.pipeline import Pipeline
from edge.video.loop import LiveConfig, run_live
from edge.video.stages import ScoreStage


@dataclass
class LoopResult:
    video: str
    realtime: bool
    source_fps: float
    frames: int
    displayed_fps: float
    processed_fps: float
    model_only_fps: float
    dropped: int
    result_age_p50_ms: float
    stage_p50_ms: dict[str, float]
    peak_rss_mb: float
    round_shares: list[float]  # loop fps / model-alone fps, per alternating round
    cpu_ms_per_frame: float  # the loop's CPU time a frame, every thread (median of rounds)
    model_cpu_ms_per_frame: float  # the model alone's

    @property
    def cpu_share(self) -> float:
        """The model alone's CPU a frame over the loop's: where both keep every core busy (an
        engine on all of them), the loop's throughput share can be no larger."""
        return self.model_cpu_ms_per_frame / self.cpu_ms_per_frame if self.cpu_ms_per_frame else 0.0

    @property
    def share_of_model_throughput(self) -> float:
        """The median round's share: each round times the loop, then the model alone, so a
        drift of this shared machine's speed mostly cancels within a round."""
        return float(np.median(self.round_shares)) if self.round_shares else 0.0

    @property
    def displayed_share_of_source(self) -> float:
        return self.displayed_fps / self.source_fps if self.source_fps else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "share_of_model_throughput": round(self.share_of_model_throughput, 3),
            "displayed_share_of_source": round(self.displayed_share_of_source, 3),
            "cpu_share": round(self.cpu_share, 3),
        }


def read_frames(video: Path, count: int, repeat: bool = False) -> list[np.ndarray]:
    """Up to `count` decoded frames of `video`; with `repeat`, from the start again as needed."""
    capture = cv2.VideoCapture(str(video))
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, frame = capture.read()
        if ok:
            frames.append(frame)
        elif repeat and frames:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        else:
            break
    capture.release()
    if repeat and not frames:
        raise OfficeScoreError(f"{video} cannot be read")
    return frames


def cpu_seconds() -> float:
    """This process's CPU time so far, every thread, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def model_only_fps(video: Path, pipeline: Pipeline, frames: int) -> tuple[float, float]:
    """Detection alone on decoded frames held in memory, the ceiling for the loop: frames a
    second, and CPU milliseconds a frame."""
    images = read_frames(video, frames)
    started, cpu = time.perf_counter(), cpu_seconds()
    for image in images:
        pipeline.detector.detect(image, pipeline.config.conf)
    cpu_ms = (cpu_seconds() - cpu) * 1e3 / len(images)
    return len(images) / (time.perf_counter() - started), cpu_ms


def bench_loop(
    video: Path, pipeline: Pipeline, realtime: bool, max_frames: int | None, rounds: int = 3
) -> LoopResult:
    """In real time the loop records to a scratch file, so frames are drawn and "displayed"
    as in a window, beside inference; otherwise every frame is scored, nothing drawn. The loop
    and the model alone alternate for `rounds` rounds; speeds are the rounds' medians."""
    summaries, ceilings, loop_cpu, model_cpu = [], [], [], []
    for _ in range(rounds):
        cpu = cpu_seconds()
        with tempfile.TemporaryDirectory() as scratch, open(os.devnull, "w") as sink:
            record = Path(scratch) / "shown.mp4" if realtime else None
            config = LiveConfig(
                source=str(video),
                realtime=realtime,
                headless=True,
                max_frames=max_frames,
                record=record,
            )
            summaries.append(run_live(config, ScoreStage(pipeline), sink, notice=lambda _: None))
        loop_cpu.append((cpu_seconds() - cpu) * 1e3 / max(summaries[-1].frames, 1))
        fps, cpu_ms = model_only_fps(video, pipeline, min(summaries[-1].frames, 300))
        ceilings.append(fps)
        model_cpu.append(cpu_ms)
    capture = cv2.VideoCapture(str(video))
    source_fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    summary = summaries[len(summaries) // 2]
    displayed = [s.displayed / s.elapsed_s if s.elapsed_s else 0.0 for s in summaries]
    return LoopResult(
        str(video),
        realtime,
        source_fps,
        summary.frames,
        float(np.median(displayed)),
        float(np.median([s.fps for s in summaries])),
        float(np.median(ceilings)),
        summary.dropped,
        summary.result_age_p50_ms,
        summary.stage_p50_ms,
        peak_rss_mb(),
        [round(s.fps / c, 3) if c else 0.0 for s, c in zip(summaries, ceilings, strict=True)],
        float(np.median(loop_cpu)),
        float(np.median(model_cpu)),
    )
