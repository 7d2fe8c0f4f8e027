"""Export an eager torchvision Mask R-CNN to ONNX, with its model card in the metadata.

The graph ends before mask pasting: it outputs boxes in input pixels, labels, scores and
28×28 mask probabilities; the runtime pastes masks for the kept detections in NumPy.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import CARD_METADATA_KEY
from export.source import MaskRCNNModel, SourceModel

INPUT_NAME = "image"
OUTPUT_NAMES = ("boxes", "labels", "scores", "masks")


@dataclass(frozen=True)
class ExportOptions:
    size: tuple[int, int] | None = (480, 640)  # (height, width); None exports dynamic H and W
    opset: int = 17
    box_score_thresh: float = 0.05
    rpn_post_nms_top_n: int | None = None  # None keeps the source model's
    detections_per_img: int | None = None
    slim: bool = False
    fp16: bool = False  # also write a float16 model beside the fp32 one (export/float16.py)
    int8: bool = False  # also write an int8 model beside the fp32 one (export/quantize.py)

    def __post_init__(self) -> None:
        if self.box_score_thresh < 0.05:
            raise OfficeScoreError(
                "--box-score-thresh below 0.05 makes ONNX Runtime's NMS take seconds per frame"
            )
        if not 11 <= self.opset <= 20:
            raise OfficeScoreError(f"--opset must be 11..20, got {self.opset}")
        if self.size is not None and min(self.size) < 32:
            raise OfficeScoreError(f"--size {self.size} is too small")


class ExportableMaskRCNN(torch.nn.Module):
    """One CHW float RGB image in 0..1 → boxes (input pixels), labels, scores, 28×28 masks."""

    def __init__(self, model: MaskRCNNModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        from torchvision.models.detection.transform import resize_boxes

        model: MaskRCNNModel = self.model
        images, _ = model.transform([image])
        features = model.backbone(images.tensors)
        proposals, _ = model.rpn(images, features)
        detections, _ = model.roi_heads(features, proposals, images.image_sizes)
        found = detections[0]
        boxes = resize_boxes(found["boxes"], images.image_sizes[0], image.shape[-2:])
        return boxes, found["labels"], found["scores"], found["masks"][:, 0]


def gather_merge_levels(levels: torch.Tensor, unmerged_results: list[torch.Tensor]) -> torch.Tensor:
    """What torchvision's `_onnx_merge_levels` computes, as one row Gather.

    torchvision scatters element by element through an index expanded to N×C×H×W, which
    took ~440 of ~2280 ms per 480×640 frame in ONNX Runtime. The per-level results are in
    level order; the inverse of that order puts every row back in place.
    """
    order = torch.cat([torch.where(levels == level)[0] for level in range(len(unmerged_results))])
    return torch.cat(unmerged_results)[torch.argsort(order)]


@contextlib.contextmanager
def efficient_level_merge() -> Iterator[None]:
    from torchvision.ops import poolers

    original = poolers._onnx_merge_levels
    poolers._onnx_merge_levels = gather_merge_levels
    try:
        yield
    finally:
        poolers._onnx_merge_levels = original


def with_export_options(model: MaskRCNNModel, options: ExportOptions) -> MaskRCNNModel:
    """A copy of `model` with the export's thresholds; parity still measures the original."""
    model = copy.deepcopy(model)
    model.roi_heads.score_thresh = options.box_score_thresh
    if options.rpn_post_nms_top_n is not None:
        model.rpn._post_nms_top_n["testing"] = options.rpn_post_nms_top_n
    if options.detections_per_img is not None:
        model.roi_heads.detections_per_img = options.detections_per_img
    return model


def card_text(source: SourceModel, labels: list[str], options: ExportOptions) -> str:
    """The model card embedded in the ONNX file (see edge/inference/modelcard.py)."""
    height, width = options.size or (0, 0)
    quoted = ",\n".join(f"    {json.dumps(label)}" for label in labels)
    return (
        f"labels = [\n{quoted},\n]\n"
        'canonical = "coco"\n\n'
        "[model]\n"
        f"name = {json.dumps(source.architecture + '-' + str(len(labels)))}\n"
        'adapter = "maskrcnn"\n'
        'rubric = "rubric.toml"\n\n'
        "# CHW float32 RGB in 0..1; mean/std normalization and resizing happen in the graph.\n"
        "# height/width 0: any size.\n"
        "[input]\n"
        f'name = "{INPUT_NAME}"\nheight = {height}\nwidth = {width}\n'
    )


def export_onnx(
    source: SourceModel, labels: list[str], target: Path, options: ExportOptions
) -> dict[str, Any]:
    """Export to `target` atomically (a temporary file renamed into place); return metadata."""
    if len(labels) != source.eager.roi_heads.box_predictor.cls_score.out_features:
        raise OfficeScoreError(
            f"{len(labels)} labels for a model with "
            f"{source.eager.roi_heads.box_predictor.cls_score.out_features} classes"
        )
    model = with_export_options(source.eager, options)
    height, width = options.size or (480, 640)
    example = torch.rand(3, height, width, generator=torch.Generator().manual_seed(0))
    dynamic = (
        None
        if options.size
        else {
            INPUT_NAME: {1: "height", 2: "width"},
            **{name: {0: "detections"} for name in OUTPUT_NAMES},
        }
    )
    metadata = export_metadata(source, labels, options)
    if not target.parent.is_dir():
        raise OfficeScoreError(f"output folder {target.parent} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(suffix=".onnx.part", dir=target.parent)
    except OSError as error:
        raise OfficeScoreError(f"cannot write in {target.parent}: {error.strerror}") from None
    os.close(handle)
    try:
        with torch.no_grad(), efficient_level_merge():
            torch.onnx.export(
                ExportableMaskRCNN(model).eval(),
                (example,),
                temporary,
                dynamo=False,
                opset_version=options.opset,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                dynamic_axes=dynamic,
                do_constant_folding=True,
            )
        proto = onnx.load(temporary)
        if options.slim:
            import onnxslim

            proto = onnxslim.slim(proto)
        for key, value in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, temporary)
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp made it owner-only
        os.replace(temporary, target)
    except OSError as error:
        raise OfficeScoreError(f"cannot write {target}: {error.strerror}") from None
    finally:
        Path(temporary).unlink(missing_ok=True)
    return metadata


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def export_metadata(
    source: SourceModel, labels: list[str], options: ExportOptions
) -> dict[str, str]:
    import onnxruntime
    import torchvision

    return {
        CARD_METADATA_KEY: card_text(source, labels, options),
        "officescore.labels": json.dumps(labels),
        "officescore.input": json.dumps(
            {
                "name": INPUT_NAME,
                "layout": "CHW",
                "color": "RGB",
                "dtype": "float32",
                "range": [0, 1],
                "size": list(options.size) if options.size else "dynamic",
            }
        ),
        "officescore.normalization": json.dumps(
            {
                "in_graph": True,
                "mean": [float(v) for v in source.eager.transform.image_mean],
                "std": [float(v) for v in source.eager.transform.image_std],
                "min_size": list(source.eager.transform.min_size),
                "max_size": int(source.eager.transform.max_size),
            }
        ),
        "officescore.source": source.description,
        "officescore.source_sha256": source.sha256 or "none (downloaded weights)",
        "officescore.versions": json.dumps(
            {
                "torch": torch.__version__,
                "torchvision": torchvision.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__,
                "numpy": np.__version__,
                "python": platform.python_version(),
                "torchvision_kernels": source.kernels,
            }
        ),
        "officescore.export_options": json.dumps(asdict(options)),
    }
