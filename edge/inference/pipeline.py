"""A detector and a rubric together: one frame in, detections, score and timings out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.results import Kind, Result, Score
from edge.core.types import Detections
from edge.inference.modelcard import bundled_dir
from edge.inference.session import Detector, SessionConfig
from edge.judge.rubric import RollingScore, Rubric, load_rubric, score_scene


@dataclass(frozen=True)
class PipelineConfig:
    session: SessionConfig = field(default_factory=SessionConfig)
    conf: float | None = None  # None: the card's thresholds
    rubric_path: Path | None = None


class Pipeline:
    def __init__(self, config: PipelineConfig) -> None:
        if config.conf is not None and not 0.0 < config.conf <= 1.0:
            raise OfficeScoreError(f"--conf must be in (0, 1], got {config.conf}")
        self.config = config
        self.detector = Detector(config.session)
        rubric_path = config.rubric_path or self.detector.card.rubric_path
        self.rubric: Rubric = load_rubric(rubric_path or bundled_dir() / "rubric.toml")

    @property
    def provider(self) -> str:
        return self.detector.provider

    @property
    def model_name(self) -> str:
        """The card's name and the input size it runs at, e.g. `yolox-nano-coco@640`."""
        return self.detector.model_name

    def rolling(self) -> RollingScore:
        card = self.detector.card
        return RollingScore(self.rubric, card.sight)

    def analyze(
        self,
        image: np.ndarray,
        *,
        source: str = "image",
        kind: Kind = "image",
        rolling: RollingScore | None = None,
        conf: float | None = None,
        frame_index: int | None = None,
        timestamp: float | None = None,
        notes: tuple[str, ...] = (),
    ) -> Result:
        """Detect, read the objects as a scene and score one frame, as one frozen `Result` with
        its stage timings; with `rolling`, the score is smoothed over time (at `timestamp`).
        The detections are the scene's (a TV is `television`)."""
        detections, timings = self.detector.detect(image, conf or self.config.conf)
        start = time.perf_counter()
        scene = self.rubric.read(detections)
        if rolling is None:
            score = score_scene(scene, self.rubric, self.detector.card.sight)
        else:
            score = rolling.update(scene, timestamp or 0.0)
        timings["score"] = (time.perf_counter() - start) * 1e3
        return self.stamped(
            source,
            kind,
            scene.detections,
            score=score,
            frame_index=frame_index,
            timestamp=timestamp,
            timings_ms=timings,
            notes=notes,
        )

    def unscored(self, source: str, frame_index: int, timestamp: float, why: str) -> Result:
        """A live frame that could not be scored (the engine is away), saying why."""
        return self.stamped(
            source,
            "frame",
            Detections.empty(),
            frame_index=frame_index,
            timestamp=timestamp,
            notes=(f"not scored: {why}",),
        )

    def stamped(
        self,
        source: str,
        kind: Kind,
        detections: Detections,
        *,
        score: Score | None = None,
        frame_index: int | None = None,
        timestamp: float | None = None,
        frames: int = 1,
        timings_ms: dict[str, float] | None = None,
        notes: tuple[str, ...] = (),
    ) -> Result:
        """A `Result` stamped with this pipeline's model and what ran it."""
        ran = self.detector.engine.ran
        return Result(
            source=source,
            kind=kind,
            model=self.model_name,
            engine=ran.engine,
            device=ran.device,
            precision=ran.precision,
            engine_why=self.detector.engine_why,
            detections=detections,
            score=score,
            frame_index=frame_index,
            timestamp=timestamp,
            frames=frames,
            timings_ms=timings_ms or {},
            notes=notes,
        )
