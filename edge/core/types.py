"""The data every stage passes on for one frame: `Detections` (and their masks) from the
detector, and a `Person` (faces, landmarks, a person mask) from the person models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.core.vocabulary import CANONICAL_NAMES


@dataclass(frozen=True)
class InstanceMasks:
    """Binary masks of N detections at frame resolution, each kept only inside its window.

    `windows[i]` is (x0, y0, x1, y1), end-exclusive and inside the frame; `crops[i]` is the
    mask there. Outside its window a mask is empty, so memory and drawing cost follow the
    objects' area, not N × the frame's.
    """

    frame_hw: tuple[int, int]
    windows: np.ndarray  # N×4 int
    crops: tuple[np.ndarray, ...]
    uncertain: tuple[np.ndarray, ...] | None = None  # pixels near the threshold, where kept

    def __post_init__(self) -> None:
        if self.windows.shape != (len(self.crops), 4):
            raise ValueError(f"windows must be N×4 with N={len(self.crops)} crops")
        for (x0, y0, x1, y1), crop in zip(self.windows.tolist(), self.crops, strict=True):
            height, width = self.frame_hw
            if not (0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height):
                raise ValueError(f"mask window {(x0, y0, x1, y1)} outside the frame")
            if crop.shape != (y1 - y0, x1 - x0) or crop.dtype != bool:
                raise ValueError(f"mask crop {crop.shape} does not fill its window")

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: np.ndarray | slice) -> InstanceMasks:
        chosen = np.arange(len(self.crops))[index].tolist()
        uncertain = None if self.uncertain is None else tuple(self.uncertain[i] for i in chosen)
        return InstanceMasks(
            self.frame_hw, self.windows[chosen], tuple(self.crops[i] for i in chosen), uncertain
        )

    def dense(self, uncertain: bool = False) -> np.ndarray:
        """All masks (or their `uncertain` pixels) as one N×H×W bool array (N × the frame's
        size: for small N only)."""
        crops = self.crops if not uncertain else self.uncertain
        if crops is None:
            raise ValueError("these masks kept no uncertain pixels")
        out = np.zeros((len(crops), *self.frame_hw), bool)
        for i, ((x0, y0, x1, y1), crop) in enumerate(
            zip(self.windows.tolist(), crops, strict=True)
        ):
            out[i, y0:y1, x0:x1] = crop
        return out


@dataclass(frozen=True)
class Detections:
    """Parallel arrays, one row per detected object, in frame pixel coordinates.

    `class_id` indexes `edge.core.vocabulary.CANONICAL_NAMES`; `label` keeps the model's own
    label for display. `mask`, when present, holds one binary mask per row.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    label: np.ndarray
    mask: InstanceMasks | None = None

    def __post_init__(self) -> None:
        count = len(self.xyxy)
        if self.xyxy.shape != (count, 4):
            raise ValueError(f"xyxy must be N×4, got {self.xyxy.shape}")
        for name in ("confidence", "class_id", "label"):
            if getattr(self, name).shape != (count,):
                raise ValueError(f"{name} must have shape ({count},)")
        if self.mask is not None and len(self.mask) != count:
            raise ValueError(f"mask must hold {count} masks, got {len(self.mask)}")
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


# MediaPipe face-mesh landmark indices: the face's midline, its sides and its eyes
FOREHEAD, CHIN = 10, 152
RIGHT_CHEEK, LEFT_CHEEK = 234, 454  # the subject's right (image left) and left
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
RIGHT_EYE, LEFT_EYE = (33, 133), (263, 362)  # each eye's corners


@dataclass(frozen=True)
class Face:
    box: np.ndarray  # x0, y0, x1, y1 in image pixels
    score: float
    keypoints: np.ndarray  # 6×2: right eye, left eye, nose tip, mouth, right ear, left ear

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])


PERSON_PROBABILITY = 0.5  # a pixel is a person's above this segmentation probability


@dataclass(frozen=True)
class Person:
    """What the person models saw in one frame."""

    faces: tuple[Face, ...]  # largest first
    landmarks: np.ndarray | None  # 468×3 of the largest face (x, y in pixels, z relative)
    mask: np.ndarray  # H×W float32, probability that the pixel is a person
    timings_ms: dict[str, float]

    @property
    def face(self) -> Face | None:
        return self.faces[0] if self.faces else None
