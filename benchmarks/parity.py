"""How far an engine's or precision's detections are from the ONNX Runtime fp32 ones on the
same frame: label agreement, box error in pixels, mask IoU. Reduced precision is called "at
parity" only when it is."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edge.core.types import Detections
from edge.inference.postprocess import mask_iou, match_detections

MAX_BOX_ERROR_PX = 1.0
MIN_MASK_IOU = 0.95


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
        masks_ok = self.min_mask_iou is None or self.min_mask_iou >= MIN_MASK_IOU
        return (
            self.label_agreement == 1.0 and self.max_box_error_px <= MAX_BOX_ERROR_PX and masks_ok
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at_parity": self.at_parity}


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


def model_family(model_name: str) -> str:
    """A model's name without its reduced-precision suffix: `m-fp16@640` → `m@640`."""
    return re.sub(r"-(int8|fp16)(?=@|$)", "", model_name)


def attach_parity(results: list[Any]) -> None:
    """Give every engine/precision row its parity against the ONNX Runtime fp32 row of the same
    model (its int8 and fp16 variants included), frame size, threads and input size (the
    reference row itself gets none)."""
    references = {
        (model_family(r.model), r.size, r.threads): r
        for r in results
        if r.backend == "onnxruntime" and r.precision == "fp32" and r.last_detections is not None
    }
    for result in results:
        reference = references.get((model_family(result.model), result.size, result.threads))
        if reference is None or reference is result or result.last_detections is None:
            continue
        result.parity = detection_parity(reference.last_detections, result.last_detections)
