"""Source models for export: a TorchScript Mask R-CNN rebuilt as the eager torchvision model
it was scripted from, or a torchvision builder with weights.

ONNX export works from eager models only, so a ScriptModule's hyper-parameters and weights
are read back, the eager model is rebuilt, loaded strictly and checked to give the same
outputs as the ScriptModule before anything is exported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from edge.core.errors import OfficeScoreError, first_line
from edge.inference.modelcard import file_sha256
from export.torchvision_setup import Kernels, load_torchvision

ARCHITECTURES = ("maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2")
# A torchvision MaskRCNN or its ScriptModule. torchvision ships no type information, and torch
# types a Module's attributes as Tensor | Module, so attribute access is left untyped here.
MaskRCNNModel = Any


@dataclass
class SourceModel:
    eager: MaskRCNNModel
    reference: MaskRCNNModel  # what parity is measured against: the ScriptModule, or eager
    architecture: str
    description: str
    sha256: str | None
    kernels: Kernels
    labels: list[str] | None = None
    hyper: dict[str, Any] = field(default_factory=dict)


def read_hyper_parameters(script: MaskRCNNModel) -> tuple[str, dict[str, Any]]:
    """The builder name and keyword arguments that recreate `script` in eager mode."""
    try:
        if script.original_name != "MaskRCNN":
            raise OfficeScoreError(
                f"not a Mask R-CNN: the TorchScript model is a {script.original_name}"
            )
        state = script.state_dict()
        head = script.roi_heads.box_head.original_name
        transform, rpn, heads = script.transform, script.rpn, script.roi_heads
        hyper = {
            "num_classes": int(state["roi_heads.box_predictor.cls_score.weight"].shape[0]),
            "min_size": tuple(int(s) for s in transform.min_size),
            "max_size": int(transform.max_size),
            "image_mean": [float(v) for v in transform.image_mean],
            "image_std": [float(v) for v in transform.image_std],
            "rpn_pre_nms_top_n_test": int(rpn._pre_nms_top_n["testing"]),
            "rpn_post_nms_top_n_test": int(rpn._post_nms_top_n["testing"]),
            "rpn_nms_thresh": float(rpn.nms_thresh),
            "rpn_score_thresh": float(rpn.score_thresh),
            "box_score_thresh": float(heads.score_thresh),
            "box_nms_thresh": float(heads.nms_thresh),
            "box_detections_per_img": int(heads.detections_per_img),
        }
    except (AttributeError, KeyError, RuntimeError) as error:
        raise OfficeScoreError(f"not a torchvision Mask R-CNN TorchScript model: {error}") from None
    architecture = ARCHITECTURES[1] if head == "FastRCNNConvFCHead" else ARCHITECTURES[0]
    return architecture, hyper


def build(architecture: str, **kwargs: Any) -> MaskRCNNModel:
    from torchvision.models import detection

    if architecture not in ARCHITECTURES:
        raise OfficeScoreError(
            f"unknown architecture {architecture}; choose {', '.join(ARCHITECTURES)}"
        )
    builder = getattr(detection, architecture)
    model = builder(weights=None, weights_backbone=None, **kwargs)
    return model.eval()


def load_torchscript(path: Path) -> SourceModel:
    """Rebuild the eager model from a TorchScript Mask R-CNN the user named."""
    kernels = load_torchvision()
    if not path.is_file():
        raise OfficeScoreError(f"model file not found: {path}")
    try:
        script = torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as error:  # torch raises RuntimeError, ValueError or zip errors here
        line = first_line(error)
        raise OfficeScoreError(f"{path} is not a loadable TorchScript file: {line}") from None
    architecture, hyper = read_hyper_parameters(script)
    eager = build(architecture, **hyper)
    try:
        eager.load_state_dict(script.state_dict(), strict=True)
    except RuntimeError as error:
        first = first_line(error)
        raise OfficeScoreError(f"{path}: weights do not fit {architecture}: {first}") from None
    check_same_outputs(script, eager)
    return SourceModel(
        eager,
        script,
        architecture,
        f"TorchScript {path.name}",
        file_sha256(path),
        kernels,
        hyper=hyper,
    )


def load_torchvision_model(
    architecture: str, weights: str, num_classes: int | None, **kwargs: Any
) -> SourceModel:
    """A torchvision builder with `DEFAULT` (COCO, downloads when online) or a state_dict file."""
    kernels = load_torchvision()
    from torchvision.models import get_model_weights

    if architecture not in ARCHITECTURES:
        raise OfficeScoreError(
            f"unknown architecture {architecture}; choose {', '.join(ARCHITECTURES)}"
        )
    if weights == "DEFAULT":
        weights_enum = get_model_weights(architecture).DEFAULT
        try:
            state = weights_enum.get_state_dict(progress=False)
        except Exception as error:  # urllib errors: offline, proxy, checksum
            raise OfficeScoreError(
                f"cannot download {architecture} COCO weights: {error}"
            ) from None
        labels = list(weights_enum.meta["categories"])
        model = build(architecture, num_classes=len(labels), **kwargs)
        model.load_state_dict(state)
        return SourceModel(
            model, model, architecture, f"{architecture} COCO weights", None, kernels, labels=labels
        )
    path = Path(weights)
    if not path.is_file():
        raise OfficeScoreError(f"weights file not found: {path}")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # pickle and zip errors, or objects weights_only refuses
        line = first_line(error)
        raise OfficeScoreError(
            f"{path} is not a plain state_dict (loaded with weights_only): {line}"
        ) from None
    if not isinstance(state, dict):
        raise OfficeScoreError(f"{path} holds a {type(state).__name__}, not a state_dict")
    classes = num_classes or _classes_in(state, path)
    model = build(architecture, num_classes=classes, **kwargs)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = first_line(error)
        raise OfficeScoreError(f"{path}: weights do not fit {architecture}: {first}") from None
    return SourceModel(
        model, model, architecture, f"{architecture} {path.name}", file_sha256(path), kernels
    )


def _classes_in(state: dict[str, Any], path: Path) -> int:
    weight = state.get("roi_heads.box_predictor.cls_score.weight")
    if not isinstance(weight, torch.Tensor):
        raise OfficeScoreError(
            f"{path}: no roi_heads.box_predictor.cls_score.weight: not a Mask R-CNN"
        )
    return int(weight.shape[0])


def run_reference(model: MaskRCNNModel, image: torch.Tensor) -> dict[str, torch.Tensor]:
    """One image through an eager or scripted Mask R-CNN: its detections dict."""
    with torch.no_grad():
        output = model([image])
    if isinstance(output, tuple):  # scripted models return (losses, detections)
        output = output[1]
    return dict(output[0])


def check_same_outputs(script: MaskRCNNModel, eager: MaskRCNNModel) -> None:
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(3, 240, 320, generator=generator)
    with torch.no_grad():
        features_script = script.backbone(image[None])
        features_eager = eager.backbone(image[None])
    scripted, rebuilt = run_reference(script, image), run_reference(eager, image)
    scripted |= {f"features_{k}": v for k, v in features_script.items()}
    rebuilt |= {f"features_{k}": v for k, v in features_eager.items()}
    same = scripted.keys() == rebuilt.keys() and all(
        scripted[key].shape == rebuilt[key].shape
        and torch.allclose(scripted[key].float(), rebuilt[key].float(), atol=1e-4)
        for key in scripted
    )
    if not same:
        raise OfficeScoreError("the rebuilt eager model does not reproduce the TorchScript outputs")
