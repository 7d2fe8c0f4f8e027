"""Validation AP of a model in training: its raw outputs decoded as the runtime decodes
them (edge.inference.postprocess), scored by pycocotools against the labelled classes."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from edge.inference.postprocess import (
    decode_yolox,
    grid_points,
    match_detections,
    nms_per_class,
    scale_boxes,
)
from export.evaluate import coco_metrics, per_class_metrics
from train.augment import letterboxed, read_bgr
from train.datasets import LabelledSet

VAL_CONF = 0.01  # COCO AP counts every detection down to here
NMS_IOU = 0.45
VAL_BATCH = 8


@dataclass(frozen=True)
class Predictions:
    boxes: np.ndarray  # frame pixels
    scores: np.ndarray
    outputs: np.ndarray  # output indices


@dataclass(frozen=True)
class ValidationResult:
    ap: float
    ap50: float
    per_class: dict[str, dict[str, float]]
    predictions: list[Predictions]


def coco_record(image_id: int, category: int, box: np.ndarray, score: float) -> dict[str, Any]:
    """One detection as pycocotools reads it: the box as x, y, width, height."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return {
        "image_id": image_id,
        "category_id": category,
        "bbox": [x0, y0, x1 - x0, y1 - y0],
        "score": float(score),
    }


def ground_truth(labelled: LabelledSet) -> Any:
    """The validation set as pycocotools' COCO object, in memory."""
    from pycocotools.coco import COCO

    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, image in enumerate(labelled.images, start=1):
        images.append(
            {
                "id": image_id,
                "file_name": image.path.name,
                "width": image.width,
                "height": image.height,
            }
        )
        for box, cls in zip(image.boxes.tolist(), image.classes.tolist(), strict=True):
            w, h = box[2] - box[0], box[3] - box[1]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(cls) + 1,
                    "bbox": [box[0], box[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(labelled.names)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": images, "annotations": annotations, "categories": categories}
        coco.createIndex()
    return coco


class Validator:
    """Validation photos read once, letterboxed at `size`; `run(model)` scores a model."""

    def __init__(self, labelled: LabelledSet, size: int, output_of_class: tuple[int, ...]) -> None:
        self.labelled = labelled
        self.size = size
        self.ground_truth = ground_truth(labelled)
        self.class_of_output = {out: c for c, out in enumerate(output_of_class)}
        self.inputs, self.scales, self.shapes = [], [], []
        for image in labelled.images:
            pixels = read_bgr(image.path)
            tensor, scale = letterboxed(pixels, size)
            self.inputs.append(tensor)
            self.scales.append(scale * pixels.shape[1] / image.width)
            self.shapes.append((image.height, image.width))
        offsets, strides = grid_points(size, size, [8, 16, 32])
        self.offsets, self.strides = offsets, strides

    @torch.no_grad()
    def run(self, model: torch.nn.Module, device: torch.device) -> ValidationResult:
        model.eval()
        predictions: list[Predictions] = []
        for start in range(0, len(self.inputs), VAL_BATCH):
            batch = torch.from_numpy(np.stack(self.inputs[start : start + VAL_BATCH])).to(device)
            raw = model(batch).float()
            raw[..., 4:] = torch.sigmoid(raw[..., 4:])
            for offset, rows in enumerate(raw.cpu().numpy()):
                predictions.append(self._decode(rows, start + offset))
        records = []
        for image_id, found in enumerate(predictions, start=1):
            for box, score, output in zip(found.boxes, found.scores, found.outputs, strict=True):
                if int(output) not in self.class_of_output:
                    continue
                category = self.class_of_output[int(output)] + 1
                records.append(coco_record(image_id, category, box, score))
        metrics = coco_metrics(self.ground_truth, records, "bbox")
        per_class = per_class_metrics(self.ground_truth, records, set(self.labelled.names))
        return ValidationResult(metrics["AP"], metrics["AP50"], per_class, predictions)

    def _decode(self, rows: np.ndarray, index: int) -> Predictions:
        boxes, scores, outputs = decode_yolox(rows, self.offsets, self.strides, VAL_CONF)
        keep = nms_per_class(boxes, scores, outputs, NMS_IOU)[:300]
        scale = self.scales[index]
        return Predictions(
            scale_boxes(boxes[keep], (scale, scale), self.shapes[index]),
            scores[keep],
            outputs[keep],
        )


def best_thresholds(
    labelled: LabelledSet,
    predictions: list[Predictions],
    output_of_class: tuple[int, ...],
    bounds: tuple[float, float] = (0.05, 0.6),
) -> dict[int, float]:
    """For each labelled class's output, the confidence at which its detections on the
    validation photos have their best F1 (boxes matched at IoU 0.5): what the card's
    `class_conf` should be, so the runtime keeps what the training made of the class."""
    chosen = {}
    for cls, output in enumerate(output_of_class):
        found: list[tuple[float, bool]] = []
        labels_total = 0
        for image, seen in zip(labelled.images, predictions, strict=True):
            truth = image.boxes[image.classes == cls]
            mine = seen.outputs == output
            labels_total += len(truth)
            scores = seen.scores[mine]
            pairs = match_detections(
                seen.boxes[mine], np.zeros(len(scores)), scores, truth, np.zeros(len(truth))
            )
            hits = {i for i, _ in pairs}
            found += [(float(s), i in hits) for i, s in enumerate(scores)]
        if not labels_total or not found:
            continue
        found.sort(key=lambda item: -item[0])
        hits_so_far = np.cumsum([hit for _, hit in found])
        f1 = 2 * hits_so_far / (np.arange(1, len(found) + 1) + labels_total)
        best = int(f1.argmax())
        chosen[output] = round(float(np.clip(found[best][0], *bounds)), 2)
    return chosen
