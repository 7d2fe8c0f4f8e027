"""A detector and a rubric together: one frame in, detections, score and timings out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.errors import OfficeScoreError
from edge.modelcard import bundled_dir
from edge.scoring import RollingScore, Rubric, Score, load_rubric, score_detections
from edge.session import Detector, SessionConfig
from edge.types import Detections


@dataclass(frozen=True)
class ScorerConfig:
    session: SessionConfig = field(default_factory=SessionConfig)
    conf: float = 0.4
    rubric_path: Path | None = None


class Scorer:
    def __init__(self, config: ScorerConfig) -> None:
        if not 0.0 < config.conf <= 1.0:
            raise OfficeScoreError(f"--conf must be in (0, 1], got {config.conf}")
        self.config = config
        self.detector = Detector(config.session)
        rubric_path = config.rubric_path or self.detector.card.rubric_path
        self.rubric: Rubric = load_rubric(rubric_path or bundled_dir() / "rubric.toml")

    @property
    def provider(self) -> str:
        return self.detector.provider

    def rolling(self) -> RollingScore:
        return RollingScore(self.rubric, self.detector.card.visible_names)

    def analyze(
        self,
        image: np.ndarray,
        rolling: RollingScore | None = None,
        t: float = 0.0,
        conf: float | None = None,
    ) -> tuple[Detections, Score, dict[str, float]]:
        """Detect and score one frame; with `rolling`, the score is smoothed over time."""
        detections, timings = self.detector.detect(image, conf or self.config.conf)
        start = time.perf_counter()
        if rolling is None:
            score = score_detections(detections, self.rubric, self.detector.card.visible_names)
        else:
            score = rolling.update(detections, t)
        timings["score"] = (time.perf_counter() - start) * 1e3
        return detections, score, timings
