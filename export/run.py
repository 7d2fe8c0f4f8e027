"""`officescore export maskrcnn`: load the source, export, prove parity, keep or discard."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.core.errors import OfficeScoreError
from edge.video.batch import IMAGE_SUFFIXES, read_image
from export.float16 import write_float16
from export.onnx_export import ExportOptions, export_onnx
from export.parity import ParityReport, generated_images, measure_parity
from export.quantize import quantize_int8
from export.source import SourceModel, load_torchscript, load_torchvision_model
from export.variants import variant_path


@dataclass(frozen=True)
class ExportRequest:
    out: Path
    from_torchscript: Path | None = None
    torchvision: str | None = None
    weights: str = "DEFAULT"
    labels_file: Path | None = None
    parity_images: Path | None = None
    force: bool = False
    options: ExportOptions = field(default_factory=ExportOptions)
    architecture_options: dict[str, Any] = field(default_factory=dict)  # min_size, …


@dataclass
class VariantResult:
    precision: str  # int8 or fp16
    model: Path
    report: ParityReport  # shown, not gating: reduced precision changes outputs by design
    report_path: Path
    seconds: float


@dataclass
class ExportResult:
    model: Path | None
    report: ParityReport
    report_path: Path
    seconds: float
    size_bytes: int
    variants: list[VariantResult] = field(default_factory=list)


def coco_labels() -> list[str]:
    from torchvision.models.detection import MaskRCNN_ResNet50_FPN_Weights

    return list(MaskRCNN_ResNet50_FPN_Weights.DEFAULT.meta["categories"])


def read_labels(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise OfficeScoreError(f"cannot read labels {path}: {error}") from None
    labels = [line.strip() for line in lines if line.strip()]
    if not labels:
        raise OfficeScoreError(f"labels file {path} is empty")
    return labels


def load_source(request: ExportRequest) -> SourceModel:
    if (request.from_torchscript is None) == (request.torchvision is None):
        raise OfficeScoreError("give exactly one source: --from model.pt or --torchvision NAME")
    if request.from_torchscript is not None:
        return load_torchscript(request.from_torchscript)
    assert request.torchvision is not None
    return load_torchvision_model(
        request.torchvision, request.weights, None, **request.architecture_options
    )


def parity_inputs(request: ExportRequest) -> dict[str, np.ndarray]:
    images = generated_images(request.options.size or (480, 640))
    if request.parity_images is not None:
        if not request.parity_images.is_dir():
            raise OfficeScoreError(f"--parity-images {request.parity_images} is not a folder")
        for path in sorted(request.parity_images.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                images[path.name] = read_image(path)[0]
    return images


def run_export(request: ExportRequest) -> ExportResult:
    started = time.perf_counter()
    try:
        request.out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OfficeScoreError(f"cannot create {request.out.parent}: {error.strerror}") from None
    with warnings.catch_warnings():  # torch's deprecation and tracer warnings are not for users
        warnings.simplefilter("ignore")
        return _export_and_check(request, started)


def _export_and_check(request: ExportRequest, started: float) -> ExportResult:
    source = load_source(request)
    classes = source.eager.roi_heads.box_predictor.cls_score.out_features
    if request.labels_file is not None:
        labels = read_labels(request.labels_file)
    elif source.labels is not None:
        labels = source.labels
    elif classes == 91:
        labels = coco_labels()
    else:
        raise OfficeScoreError(
            f"the model has {classes} classes, not COCO's 91: pass --labels FILE"
        )
    export_onnx(source, labels, request.out, request.options)
    images = parity_inputs(request)
    try:
        report = _parity(request, source, images, request.out)
    except OfficeScoreError:
        if not request.force:
            request.out.unlink(missing_ok=True)  # an unverified model is not left behind
        raise
    report_path = request.out.with_suffix(".parity.json")
    report.write(report_path)
    size = request.out.stat().st_size
    kept: Path | None = request.out
    if not report.passed and not request.force:
        request.out.unlink()
        kept = None
    seconds = time.perf_counter() - started
    wanted = [("int8", request.options.int8), ("fp16", request.options.fp16)]
    variants = [_variant(request, source, images, name) for name, on in wanted if on and kept]
    return ExportResult(kept, report, report_path, seconds, size, variants)


def _parity(
    request: ExportRequest, source: SourceModel, images: dict[str, np.ndarray], model: Path
) -> ParityReport:
    return measure_parity(
        source.reference,
        model,
        images,
        request.options.size,
        request.options.box_score_thresh,
        source.kernels,
        request.options.detections_per_img,
    )


def _variant(
    request: ExportRequest, source: SourceModel, images: dict[str, np.ndarray], precision: str
) -> VariantResult:
    """Write a reduced-precision model beside the kept fp32 one and measure its parity.

    int8 is calibrated on the images parity was measured on; fp16's parity is measured on
    ONNX Runtime CPU, which runs float16 graphs by casting (slowly, but the answers count).
    """
    started = time.perf_counter()
    target = variant_path(request.out, precision)
    if precision == "int8":
        quantize_int8(request.out, target, images, request.options.size)
    else:
        write_float16(request.out, target)
    report = _parity(request, source, images, target)
    report_path = target.with_suffix(".parity.json")
    report.write(report_path)
    return VariantResult(precision, target, report, report_path, time.perf_counter() - started)
