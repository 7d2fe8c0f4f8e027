"""Soak: 10,000 frames through the live loop, memory flat after warm-up, no thread left."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest

from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.inference.session import SessionConfig
from edge.video.loop import TIMING_WINDOW, LiveConfig, run_live
from edge.video.stages import ScoreStage

FRAMES = 10_000
WARM = TIMING_WINDOW + 500  # after the loop's bounded timing windows have filled
SOAK_IMGSZ = 160  # the loop's bookkeeping is under test, not the model: small inputs, fast


class MemorySampler(io.TextIOBase):
    """Stands in for stdout: counts JSON lines and reads this process's RSS at two points."""

    def __init__(self) -> None:
        self.lines = 0
        self.rss: dict[str, int] = {}

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        if self.lines == WARM and "warm" not in self.rss:
            self.rss["warm"] = psutil.Process().memory_info().rss
        return len(text)


@pytest.mark.soak
def test_ten_thousand_frames_keep_memory_flat(photos: Path, tmp_path: Path) -> None:
    pipeline = Pipeline(PipelineConfig(session=SessionConfig(purpose="live", imgsz=SOAK_IMGSZ)))
    video = tmp_path / "soak.mp4"
    base = cv2.resize(cv2.imread(str(photos / "000000000599.jpg")), (320, 240))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), 30, (320, 240))
    for index in range(FRAMES):
        writer.write(np.roll(base, index % 320, axis=1))  # moving content, varying detections
    writer.release()
    before = set(threading.enumerate())
    sampler = MemorySampler()
    summary = run_live(
        LiveConfig(source=str(video), realtime=False, headless=True),
        ScoreStage(pipeline),
        sampler,
        notice=lambda _: None,
    )
    end = psutil.Process().memory_info().rss
    assert summary.frames == FRAMES and sampler.lines == FRAMES and summary.dropped == 0
    growth = (end - sampler.rss["warm"]) / sampler.rss["warm"]
    assert growth <= 0.01, f"RSS grew {growth:.2%} from frame {WARM} to {FRAMES}"
    assert set(threading.enumerate()) <= before
