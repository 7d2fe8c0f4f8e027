"""The data every stage passes on: `Detections` for one frame, `FrameResult` for its outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from edge.vocabulary import CANONICAL_NAMES

if TYPE_CHECKING:
    from edge.scoring import Score


@dataclass(frozen=True)
class Detections:
    """Parallel arrays, one row per detected object, in frame pixel coordinates.

    `class_id` indexes `edge.vocabulary.CANONICAL_NAMES`; `label` keeps the model's own
    label for display. `mask`, when present, is N×H×W bool at frame resolution.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    label: np.ndarray
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        count = len(self.xyxy)
        if self.xyxy.shape != (count, 4):
            raise ValueError(f"xyxy must be N×4, got {self.xyxy.shape}")
        for name in ("confidence", "class_id", "label"):
            if getattr(self, name).shape != (count,):
                raise ValueError(f"{name} must have shape ({count},)")
        if self.mask is not None and (self.mask.ndim != 3 or len(self.mask) != count):
            raise ValueError(f"mask must be N×H×W with N={count}, got {self.mask.shape}")
        if count and (self.class_id.min() < 0 or self.class_id.max() >= len(CANONICAL_NAMES)):
            raise ValueError("class_id outside the canonical vocabulary")

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            xyxy=np.zeros((0, 4), np.float32),
            confidence=np.zeros(0, np.float32),
            class_id=np.zeros(0, np.int32),
            label=np.zeros(0, dtype="<U1"),
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice) -> Detections:
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            label=self.label[index],
            mask=None if self.mask is None else self.mask[index],
        )

    @property
    def names(self) -> list[str]:
        """Canonical name of each detection."""
        return [CANONICAL_NAMES[i] for i in self.class_id]

    def canonical_counts(self) -> np.ndarray:
        """How many objects of each canonical name, as a vector over the vocabulary."""
        return np.bincount(self.class_id, minlength=len(CANONICAL_NAMES))


@dataclass(frozen=True)
class FrameResult:
    """Everything known about one processed frame."""

    frame_index: int
    timestamp: float
    detections: Detections
    score: Score
    provider: str
    timings_ms: Mapping[str, float] = field(default_factory=dict)
