"""Import torchvision with its native C++ kernels, or, where they cannot load (a CPU-only
torch beside a CUDA torchvision wheel), with pure-torch fallback kernels for the two ops
Mask R-CNN needs: `nms` and `roi_align`. Fallback kernels are correct but slow.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Literal

import torch

Kernels = Literal["native", "fallback"]

# Schemas as torchvision's own extension declares them.
_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "roi_align": "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
    "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor",
}
_state: dict[str, Kernels] = {}
_library: list[torch.library.Library] = []


def load_torchvision() -> Kernels:
    """Import torchvision once and say which kernels its ops run on.

    Callers must tell the user about "fallback": torch timings are then not representative.
    """
    if "kernels" in _state:
        return _state["kernels"]
    kernels: Kernels = "native" if _native_ops_load() else "fallback"
    if kernels == "fallback":
        _declare_fallback_ops()
    import torchvision  # noqa: F401  (imported for its side effects on torch.ops)

    if kernels == "fallback":
        _report_ops_available()
    _state["kernels"] = kernels
    return kernels


def _native_ops_load() -> bool:
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("torchvision is not installed: pip install 'officescore[export]'")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for library in sorted(folder.glob("_C*.so")) + sorted(folder.glob("_C*.pyd")):
        try:
            torch.ops.load_library(str(library))
        except (OSError, RuntimeError):
            continue
        if hasattr(torch.ops.torchvision, "nms"):
            return True
    return False


def _declare_fallback_ops() -> None:
    library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS.values():
        library.define(schema)
    library.impl("nms", _nms, "CPU")
    library.impl("qnms", _nms, "CPU")
    library.impl("roi_align", _roi_align, "CPU")
    _library.append(library)  # keep the registrations alive


def _report_ops_available() -> None:
    """torchvision imported `_has_ops` by name in several modules; make each say True."""
    for name, module in list(sys.modules.items()):
        if name.startswith("torchvision") and hasattr(module, "_has_ops"):
            module._has_ops = lambda: True  # type: ignore[attr-defined]


def _nms(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    order = scores.argsort(descending=True)
    boxes = dets[order]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    top_left = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    bottom_right = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=2)
    overlaps = inter / (areas[:, None] + areas[None, :] - inter)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    kept = []
    for i in range(len(boxes)):
        if not suppressed[i]:
            kept.append(i)
            suppressed |= overlaps[i] > iou_threshold
    return order[torch.tensor(kept, dtype=torch.long)]


def _roi_align(
    features: torch.Tensor,
    rois: torch.Tensor,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int,
    sampling_ratio: int,
    aligned: bool,
) -> torch.Tensor:
    module = importlib.import_module("torchvision.ops.roi_align")
    python_roi_align = module._roi_align.__wrapped__
    return python_roi_align(
        features, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned
    )
