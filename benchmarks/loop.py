"""The live loop on a video: processed fps against the model alone, drops and result age."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.environment import peak_rss_mb
from edge.loop import LiveConfig, run_live
from edge.scorer import Scorer


@dataclass
class LoopResult:
    video: str
    realtime: bool
    source_fps: float
    frames: int
    processed_fps: float
    model_only_fps: float
    dropped: int
    result_age_p50_ms: float
    stage_p50_ms: dict[str, float]
    peak_rss_mb: float

    @property
    def share_of_model_throughput(self) -> float:
        return self.processed_fps / self.model_only_fps if self.model_only_fps else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "share_of_model_throughput": round(self.share_of_model_throughput, 3),
        }


def model_only_fps(video: Path, scorer: Scorer, frames: int) -> float:
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
        scorer.detector.detect(image, scorer.config.conf)
    return len(images) / (time.perf_counter() - started)


def bench_loop(video: Path, scorer: Scorer, realtime: bool, max_frames: int | None) -> LoopResult:
    config = LiveConfig(source=str(video), realtime=realtime, headless=True, max_frames=max_frames)
    with open(os.devnull, "w") as sink:
        summary = run_live(config, scorer, sink, notice=lambda _: None)
    capture = cv2.VideoCapture(str(video))
    source_fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    ceiling = model_only_fps(video, scorer, min(summary.frames, 300))
    return LoopResult(
        str(video),
        realtime,
        source_fps,
        summary.frames,
        summary.fps,
        ceiling,
        summary.dropped,
        summary.result_age_p50_ms,
        summary.stage_p50_ms,
        peak_rss_mb(),
    )
