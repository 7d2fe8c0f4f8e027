"""Parity: whether two runs of a model found the same objects (an engine or precision against
ONNX Runtime fp32, an export against its source, one engine against another). One definition,
pure NumPy, for the runtime's engine choice, `bench` and the export's proof: the thresholds a
report prints are the ones that decide."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edge.core.types import Detections
from edge.inference.postprocess import mask_iou, match_detections


@dataclass(frozen=True)
class ParityThresholds:
    label_agreement: float = 1.0  # share of detections matched: same label, box IoU ≥ 0.5
    max_box_error_px: float = 1.0  # largest corner difference of a matched pair
    min_mask_iou: float = 0.95  # smallest IoU of a matched pair's masks

    def failures(
        self, label_agreement: float, max_box_error_px: float, min_mask_iou: float | None
    ) -> list[str]:
        """What misses these thresholds, in words (empty: at parity)."""
        found = []
        if label_agreement < self.label_agreement:
            found.append(f"labels agree on {label_agreement:.1%} of detections")
        if max_box_error_px > self.max_box_error_px:
            found.append(f"boxes differ by {max_box_error_px:.2f} px")
        if min_mask_iou is not None and min_mask_iou < self.min_mask_iou:
            found.append(f"mask IoU down to {min_mask_iou:.3f}")
        return found


PARITY = ParityThresholds()


@dataclass(frozen=True)
class DetectionParity:
    reference: int  # detections of ONNX Runtime fp32
    found: int
    label_agreement: float
    max_box_error_px: float
    min_mask_iou: float | None  # over the pixels not within 0.05 of the threshold in either
    uncertain_share: float | None = None  # of the matched masks' pixels, those left out

    @property
    def at_parity(self) -> bool:
        return not PARITY.failures(self.label_agreement, self.max_box_error_px, self.min_mask_iou)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at_parity": self.at_parity, "thresholds": asdict(PARITY)}


def detection_parity(reference: Detections, other: Detections) -> DetectionParity:
    """Greedy matching, best reference confidence first: same label and box IoU ≥ 0.5."""
    pairs = match_detections(
        reference.xyxy, reference.label, reference.confidence, other.xyxy, other.label
    )
    total = max(len(reference), len(other))
    box_error = max(
        (float(np.abs(reference.xyxy[i] - other.xyxy[j]).max()) for i, j in pairs), default=0.0
    )
    min_iou = share = None
    if reference.mask is not None and other.mask is not None and pairs:
        ref_masks, other_masks = reference.mask.dense(), other.mask.dense()
        ious, left_out, covered = [], 0, 0
        for i, j in pairs:
            certain = None
            if reference.mask.uncertain is not None and other.mask.uncertain is not None:
                near = reference.mask.dense(uncertain=True)[i] | other.mask.dense(uncertain=True)[j]
                union = ref_masks[i] | other_masks[j] | near
                left_out, covered = left_out + int(near.sum()), covered + int(union.sum())
                certain = ~near
            ious.append(mask_iou(ref_masks[i], other_masks[j], certain))
        min_iou = min(ious) if ious else 1.0
        share = left_out / covered if covered else None
    return DetectionParity(
        len(reference),
        len(other),
        len(pairs) / total if total else 1.0,
        box_error,
        min_iou,
        share,
    )
