"""`officescore evaluate`: COCO box and mask mAP of an ONNX model (pycocotools' COCOeval),
and the delta to its TorchScript source when both are given."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.types import InstanceMasks
from edge.inference.engines import EngineRequest
from edge.inference.modelcard import ModelCard, bundled_dir
from edge.inference.session import Detector, SessionConfig
from edge.judge.rubric import load_rubric
from edge.video.batch import read_image

METRIC_NAMES = ("AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EvaluateRequest:
    model: Path | None  # None: the bundled detector
    coco: Path
    images: Path
    torchscript: Path | None = None
    card: Path | None = None
    engine: EngineRequest = field(default_factory=EngineRequest)  # how the ONNX model runs
    conf: float = 0.05
    imgsz: int | None = None


@dataclass
class ModelMetrics:
    name: str
    images: int
    seconds: float
    bbox: dict[str, float]
    segm: dict[str, float] | None
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class EvaluationReport:
    onnx: ModelMetrics
    torchscript: ModelMetrics | None

    @property
    def delta(self) -> dict[str, dict[str, float]] | None:
        """TorchScript minus ONNX, per metric."""
        if self.torchscript is None:
            return None
        delta = {"bbox": _minus(self.torchscript.bbox, self.onnx.bbox)}
        if self.onnx.segm is not None and self.torchscript.segm is not None:
            delta["segm"] = _minus(self.torchscript.segm, self.onnx.segm)
        return delta

    def to_dict(self) -> dict[str, Any]:
        return {
            "onnx": asdict(self.onnx),
            "torchscript": asdict(self.torchscript) if self.torchscript else None,
            "delta": self.delta,
        }


def _minus(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {key: round(a[key] - b[key], 4) for key in a}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pycocotools prints its progress to stdout, where our JSON goes."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def load_ground_truth(path: Path) -> Any:
    from pycocotools.coco import COCO

    if not path.is_file():
        raise OfficeScoreError(f"annotations not found: {path}")
    try:
        with _quiet():
            return COCO(str(path))
    except (AssertionError, ValueError, KeyError, TypeError) as error:  # pycocotools asserts
        raise OfficeScoreError(f"{path} is not COCO-format annotations: {error}") from None


def category_ids(labels: list[str] | tuple[str, ...], ground_truth: Any) -> dict[str, int]:
    """Model label → ground-truth category id, matched by name."""
    by_name = {c["name"].lower(): c["id"] for c in ground_truth.loadCats(ground_truth.getCatIds())}
    return {label: by_name[label.lower()] for label in labels if label.lower() in by_name}


def to_records(
    image_id: int,
    boxes: np.ndarray,
    labels: list[str],
    scores: np.ndarray,
    masks: np.ndarray | InstanceMasks | None,
    categories: dict[str, int],
) -> list[dict[str, Any]]:
    from pycocotools import mask as mask_utils

    records = []
    for index, label in enumerate(labels):
        if label not in categories:
            continue
        x0, y0, x1, y1 = (float(v) for v in boxes[index])
        record: dict[str, Any] = {
            "image_id": image_id,
            "category_id": categories[label],
            "bbox": [x0, y0, x1 - x0, y1 - y0],
            "score": float(scores[index]),
        }
        if masks is not None:
            # one frame-sized mask at a time: N of them at once can outgrow memory on big photos
            mask = (
                masks[index : index + 1].dense()[0]
                if isinstance(masks, InstanceMasks)
                else masks[index]
            )
            rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode("ascii")
            record["segmentation"] = rle
        records.append(record)
    return records


def _cocoeval(ground_truth: Any, records: list[dict[str, Any]], iou_type: str) -> Any:
    from pycocotools.cocoeval import COCOeval

    with _quiet():
        results = ground_truth.loadRes(records)
        evaluation = COCOeval(ground_truth, results, iou_type)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation


def coco_metrics(
    ground_truth: Any, records: list[dict[str, Any]], iou_type: str
) -> dict[str, float]:
    if not records:
        return dict.fromkeys(METRIC_NAMES, 0.0)
    evaluation = _cocoeval(ground_truth, records, iou_type)
    return {
        name: round(float(max(value, 0.0)), 4)
        for name, value in zip(METRIC_NAMES, evaluation.stats[:6], strict=True)
    }


def per_class_metrics(
    ground_truth: Any, records: list[dict[str, Any]], names: set[str]
) -> dict[str, dict[str, float]]:
    """Box AP, AP50 and recall at IoU 0.5 (up to 100 detections) for each category in `names`
    that has ground truth here: which objects a model finds, and which it misses."""
    present = {
        c["id"]: c["name"]
        for c in ground_truth.loadCats(ground_truth.getCatIds())
        if c["name"] in names and ground_truth.getAnnIds(catIds=[c["id"]], iscrowd=False)
    }
    evaluation = _cocoeval(ground_truth, records, "bbox") if records else None
    table = {}
    for category, name in sorted(present.items(), key=lambda item: item[1]):
        instances = len(ground_truth.getAnnIds(catIds=[category], iscrowd=False))
        table[name] = {"AP": 0.0, "AP50": 0.0, "recall50": 0.0, "instances": instances}
        if evaluation is None:
            continue
        k = list(evaluation.params.catIds).index(category)
        precision = evaluation.eval["precision"][:, :, k, 0, -1]  # IoU × recall, all areas
        at_50 = precision[0][precision[0] > -1]
        table[name] |= {
            "AP": round(_mean(precision[precision > -1]), 4),
            "AP50": round(_mean(at_50), 4),
            "recall50": round(max(float(evaluation.eval["recall"][0, k, 0, -1]), 0.0), 4),
        }
    return table


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


def _images(request: EvaluateRequest, ground_truth: Any) -> list[tuple[int, Path]]:
    if not request.images.is_dir():
        raise OfficeScoreError(f"--images {request.images} is not a folder")
    listed = [
        (info["id"], request.images / info["file_name"])
        for info in ground_truth.loadImgs(ground_truth.getImgIds())
    ]
    missing = [path.name for _, path in listed if not path.is_file()]
    if missing:
        raise OfficeScoreError(
            f"{len(missing)} annotated images missing from {request.images}, e.g. {missing[0]}"
        )
    return listed


def evaluate_onnx(
    request: EvaluateRequest, ground_truth: Any, progress: Progress
) -> tuple[ModelMetrics, tuple[str, ...]]:
    """Metrics of the ONNX model, and its labels (so TorchScript can be read the same way)."""
    detector = Detector(
        SessionConfig(
            model_path=request.model,
            card_path=request.card,
            imgsz=request.imgsz,
            request=request.engine,
        )
    )
    categories = category_ids(detector.card.labels, ground_truth)
    if not categories:
        raise OfficeScoreError(
            f"no label of {detector.card.name} names a category in {request.coco}"
        )
    images = _images(request, ground_truth)
    records: list[dict[str, Any]] = []
    has_masks = False
    started = time.perf_counter()
    for done, (image_id, path) in enumerate(images, start=1):
        detections, _ = detector.detect(read_image(path)[0], request.conf)
        has_masks = detections.mask is not None
        records += to_records(
            image_id,
            detections.xyxy,
            [str(x) for x in detections.label],
            detections.confidence,
            detections.mask,
            categories,
        )
        progress(done, len(images))
    seconds = time.perf_counter() - started
    segm = coco_metrics(ground_truth, records, "segm") if has_masks else None
    metrics = ModelMetrics(
        f"{detector.model_name} (ONNX, {detector.provider})",
        len(images),
        seconds,
        coco_metrics(ground_truth, records, "bbox"),
        segm,
        per_class_metrics(ground_truth, records, rubric_labels(detector.card)),
    )
    return metrics, detector.card.labels


def evaluate_torchscript(
    request: EvaluateRequest, labels: tuple[str, ...], ground_truth: Any, progress: Progress
) -> ModelMetrics:
    import torch

    from export.parity import to_tensor
    from export.source import load_torchscript, run_reference

    assert request.torchscript is not None
    source = load_torchscript(request.torchscript)
    categories = category_ids(labels, ground_truth)
    images = _images(request, ground_truth)
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    for done, (image_id, path) in enumerate(images, start=1):
        found = run_reference(source.reference, torch.from_numpy(to_tensor(read_image(path)[0])))
        keep = (found["scores"] >= request.conf).numpy()
        names = [labels[int(i)] for i in found["labels"].numpy()[keep]]
        records += to_records(
            image_id,
            found["boxes"].numpy()[keep],
            names,
            found["scores"].numpy()[keep],
            found["masks"].numpy()[keep, 0] >= 0.5,
            categories,
        )
        progress(done, len(images))
    seconds = time.perf_counter() - started
    return ModelMetrics(
        f"{request.torchscript.name} (TorchScript, {source.kernels} kernels)",
        len(images),
        seconds,
        coco_metrics(ground_truth, records, "bbox"),
        coco_metrics(ground_truth, records, "segm"),
    )


def rubric_labels(card: ModelCard) -> set[str]:
    """The model's labels that the score rubric counts (through their canonical names)."""
    rubric = load_rubric(card.rubric_path or bundled_dir() / "rubric.toml")
    used = {i for criterion in rubric.criteria for i in criterion.object_ids}
    return {
        label
        for label, canonical in zip(card.labels, card.canonical_of_label.tolist(), strict=True)
        if canonical in used
    }


def run_evaluation(request: EvaluateRequest, progress: Progress) -> EvaluationReport:
    ground_truth = load_ground_truth(request.coco)
    onnx_metrics, labels = evaluate_onnx(request, ground_truth, progress)
    if request.torchscript is None:
        return EvaluationReport(onnx_metrics, None)
    return EvaluationReport(
        onnx_metrics, evaluate_torchscript(request, labels, ground_truth, progress)
    )
