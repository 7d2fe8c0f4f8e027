"""The live loop on a video: processed fps against the model alone, drops and result age."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.environment import peak_rss_mb
from edge.loop import LiveConfig, run_live
from edge.pipeline import Pipeline


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

    @property
    def share_of_model_throughput(self) -> float:
        return self.processed_fps / self.model_only_fps if self.model_only_fps else 0.0

    @property
    def displayed_share_of_source(self) -> float:
        return self.displayed_fps / self.source_fps if self.source_fps else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "share_of_model_throughput": round(self.share_of_model_throughput, 3),
            "displayed_share_of_source": round(self.displayed_share_of_source, 3),
        }


def model_only_fps(video: Path, pipeline: Pipeline, frames: int) -> float:
    """Detection alone on decoded frames held in memory: the ceiling for the loop."""
    capture = cv2.VideoCapture(str(video))
    images: list[np.ndarray] = []
    while len(images) < frames:
        ok, image = capture.read()
        if not ok:
            break
        images.append(image)
    capture.release()
    started = time.perf_counter()
    for image in images:
        pipeline.detector.detect(image, pipeline.config.conf)
    return len(images) / (time.perf_counter() - started)


def bench_loop(
    video: Path, pipeline: Pipeline, realtime: bool, max_frames: int | None
) -> LoopResult:
    """In real time the loop records to a scratch file, so frames are drawn and "displayed"
    as in a window, beside inference; otherwise every frame is scored, nothing drawn."""
    with tempfile.TemporaryDirectory() as scratch, open(os.devnull, "w") as sink:
        record = Path(scratch) / "shown.mp4" if realtime else None
        config = LiveConfig(
            source=str(video),
            realtime=realtime,
            headless=True,
            max_frames=max_frames,
            record=record,
        )
        summary = run_live(config, pipeline, sink, notice=lambda _: None)
    capture = cv2.VideoCapture(str(video))
    source_fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    ceiling = model_only_fps(video, pipeline, min(summary.frames, 300))
    displayed_fps = summary.displayed / summary.elapsed_s if summary.elapsed_s else 0.0
    return LoopResult(
        str(video),
        realtime,
        source_fps,
        summary.frames,
        displayed_fps,
        summary.fps,
        ceiling,
        summary.dropped,
        summary.result_age_p50_ms,
        summary.stage_p50_ms,
        peak_rss_mb(),
    )
