"""Each bench row's parity against the ONNX Runtime fp32 row of the same model and frame
(edge.inference.parity: label agreement, box error in pixels, mask IoU). Reduced precision is
called "at parity" only when it is."""

from __future__ import annotations

import re
from typing import Any

from edge.inference.parity import detection_parity


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
