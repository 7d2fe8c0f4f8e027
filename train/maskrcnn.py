"""`officescore train DATA --model maskrcnn --from model.pt`: fine-tune a torchvision Mask R-CNN
(the user's TorchScript file, or the zoo's) on boxes and polygons, write TorchScript, and
export it to ONNX through `export maskrcnn`'s parity gate.

The seed system's own recipe: the source's heads grow a row per new class (copied rows for
the classes it has), masks come from polygons (a box's own rectangle where a label has none),
and the starting model's confident detections of classes nobody labelled stay as targets.
Meant for a GPU; on a CPU it runs, slowly (tests use the random test model at 240 px)."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import ModelCard, parse_card
from export.evaluate import coco_metrics, per_class_metrics
from export.onnx_export import ExportOptions
from export.run import ExportRequest, ExportResult, coco_labels, run_export
from export.source import MaskRCNNModel, SourceModel, load_torchscript, run_reference
from train.augment import read_bgr
from train.classes import ClassPlan, plan_classes
from train.datasets import Dataset, LabelledImage
from train.loop import (
    Progress,
    TrainConfig,
    load_checkpoint,
    read_training_data,
    save_atomically,
)
from train.validate import coco_record, ground_truth

TEACHER_SCORE = 0.5
MOMENTUM, WEIGHT_DECAY = 0.9, 1e-4
PARITY_PHOTOS = 4


@dataclass(frozen=True)
class MaskRCNNRun:
    torchscript: Path
    export: ExportResult
    history: list[dict[str, float]]
    before: dict[str, Any]
    after: dict[str, Any]


def source_card(labels: list[str]) -> ModelCard:
    """A card for the source's labels (COCO's 91 where it has 91 outputs)."""
    text = f'labels = {labels!r}\ncanonical = "coco"\n[model]\nadapter = "maskrcnn"\n'.replace(
        "'", '"'
    )
    return parse_card(text, Path("source.pt"), "of the Mask R-CNN source")


def grow_heads(model: MaskRCNNModel, source_rows: tuple[int, ...]) -> None:
    """The box classifier, box regressor and mask predictor get one output per planned class:
    the source's row where it has one, a fresh small one where not."""
    predictor = model.roi_heads.box_predictor
    classes = len(source_rows)
    rows = torch.tensor([max(r, 0) for r in source_rows])
    fresh = torch.tensor([r < 0 for r in source_rows])
    with torch.no_grad():
        score = torch.nn.Linear(predictor.cls_score.in_features, classes)
        score.weight.copy_(
            torch.where(
                fresh[:, None],
                0.01 * torch.randn_like(score.weight),
                predictor.cls_score.weight[rows],
            )
        )
        score.bias.copy_(torch.where(fresh, torch.zeros(classes), predictor.cls_score.bias[rows]))
        box_rows = (rows[:, None] * 4 + torch.arange(4)).reshape(-1)
        boxes = torch.nn.Linear(predictor.bbox_pred.in_features, classes * 4)
        boxes.weight.copy_(predictor.bbox_pred.weight[box_rows])
        boxes.bias.copy_(predictor.bbox_pred.bias[box_rows])
        old_mask = model.roi_heads.mask_predictor.mask_fcn_logits
        mask = torch.nn.Conv2d(old_mask.in_channels, classes, 1)
        mask.weight.copy_(old_mask.weight[rows])
        assert mask.bias is not None
        mask.bias.copy_(old_mask.bias[rows])
    predictor.cls_score, predictor.bbox_pred = score, boxes
    model.roi_heads.mask_predictor.mask_fcn_logits = mask


def _plan(
    dataset: Dataset, source: SourceModel, config: TrainConfig
) -> tuple[ClassPlan, list[str]]:
    classes = source.eager.roi_heads.box_predictor.cls_score.out_features
    labels = source.labels or (coco_labels() if classes == 91 else None)
    if labels is None:
        raise OfficeScoreError(f"the source has {classes} classes, not COCO's 91: no labels")
    plan = plan_classes(
        dataset.names, source_card(labels), keep_base=config.keep_base, mapping=config.maps
    )
    if not config.keep_base:  # torchvision's output 0 is the background, always
        plan = ClassPlan(
            ("__background__", *plan.labels),
            (0, *plan.source_row),
            ("other", *plan.canonical),
            tuple(o + 1 for o in plan.output_of_class),
            plan.class_names,
        )
    return plan, list(plan.labels)


def _target(
    image: LabelledImage,
    plan: ClassPlan,
    teacher: dict[str, torch.Tensor] | None,
    pixels: np.ndarray,
    flip: bool,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    height, width = pixels.shape[:2]
    ratio = np.array([width / image.width, height / image.height] * 2, np.float32)
    boxes = image.boxes * ratio
    masks = np.zeros((len(boxes), height, width), np.uint8)
    for index, box in enumerate(boxes):
        polygons = image.polygons[index] if image.polygons else ()
        if polygons:
            points = [np.round(p * ratio[:2]).astype(np.int32) for p in polygons]
            cv2.fillPoly(masks[index], points, 1)
        else:
            x0, y0, x1, y1 = (round(float(v)) for v in box)
            masks[index, y0:y1, x0:x1] = 1
    target = {
        "boxes": torch.from_numpy(boxes),
        "masks": torch.from_numpy(masks),
        "labels": torch.tensor(
            [plan.output_of_class[int(c)] for c in image.classes], dtype=torch.int64
        ).reshape(-1),
    }
    if teacher is not None and len(teacher["boxes"]):
        for key in target:
            target[key] = torch.cat([target[key], teacher[key].to(target[key].dtype)])
    tensor = torch.from_numpy(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB).transpose(2, 0, 1) / 255.0)
    if flip:
        tensor, target["masks"] = tensor.flip(-1), target["masks"].flip(-1)
        boxes_t = target["boxes"].clone()
        target["boxes"] = torch.stack(
            [width - boxes_t[:, 2], boxes_t[:, 1], width - boxes_t[:, 0], boxes_t[:, 3]], 1
        )
    return tensor.float(), target


def _teacher(
    source: SourceModel, dataset: Dataset, plan: ClassPlan
) -> dict[Path, dict[str, torch.Tensor]]:
    uncovered = plan.uncovered_base_rows()
    found: dict[Path, dict[str, torch.Tensor]] = {}
    if not uncovered:
        return found
    for image in dataset.train.images:
        pixels = read_bgr(image.path)
        tensor = torch.from_numpy(
            cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB).transpose(2, 0, 1) / 255.0
        )
        output = run_reference(source.reference, tensor.float())
        keep = (output["scores"] >= TEACHER_SCORE) & torch.tensor(
            [int(label) in uncovered for label in output["labels"]], dtype=torch.bool
        ).reshape(-1)
        found[image.path] = {
            "boxes": output["boxes"][keep],
            "labels": output["labels"][keep],
            "masks": (output["masks"][keep, 0] >= 0.5).to(torch.uint8),
        }
    return found


def validate(
    model: MaskRCNNModel, dataset: Dataset, plan: ClassPlan, device: torch.device
) -> dict[str, Any]:
    model.eval()
    truth = ground_truth(dataset.val)
    class_of_output = {out: c for c, out in enumerate(plan.output_of_class)}
    records = []
    with torch.no_grad():
        for image_id, image in enumerate(dataset.val.images, start=1):
            pixels = read_bgr(image.path)
            ratio = image.width / pixels.shape[1]
            tensor = torch.from_numpy(
                cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB).transpose(2, 0, 1) / 255.0
            )
            output = model([tensor.float().to(device)])[0]
            for box, label, score in zip(
                output["boxes"].cpu().numpy() * ratio,
                output["labels"].tolist(),
                output["scores"].tolist(),
                strict=True,
            ):
                if int(label) in class_of_output:
                    records.append(
                        coco_record(image_id, class_of_output[int(label)] + 1, box, score)
                    )
    metrics = coco_metrics(truth, records, "bbox")
    return {
        "AP": metrics["AP"],
        "AP50": metrics["AP50"],
        "per_class": per_class_metrics(truth, records, set(dataset.val.names)),
    }


def train_maskrcnn(
    config: TrainConfig, source_path: Path, size: tuple[int, int] | None, progress: Progress
) -> MaskRCNNRun:
    device, dataset = read_training_data(config, progress)
    source = load_torchscript(source_path)
    plan, labels = _plan(dataset, source, config)
    for line in plan.describe():
        progress.note(line)
    teacher = _teacher(source, dataset, plan) if config.keep_base else {}
    model = source.eager
    grow_heads(model, plan.source_row)
    model.to(device)
    config.run_dir.mkdir(parents=True, exist_ok=True)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(
        parameters, lr=config.lr, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY
    )
    history: list[dict[str, float]] = []
    best_ap, start = -1.0, 1
    last, best_path = config.run_dir / "last.pt", config.run_dir / "best.pt"
    before = validate(model, dataset, plan, device)
    if config.resume:
        state = load_checkpoint(last, plan, config)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, best_ap, start = (
            list(state["history"]),
            float(state["best_ap"]),
            int(state["epoch"]) + 1,
        )
    images = dataset.train.images
    steps = math.ceil(len(images) / config.batch)
    for epoch in range(start, config.epochs + 1):
        started = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        order = rng.permutation(len(images))
        model.train()
        total = 0.0
        for step in range(steps):
            warm = min(
                1.0,
                ((epoch - 1) * steps + step + 1) / max(1, min(100, steps * config.epochs // 10)),
            )
            for group in optimizer.param_groups:
                group["lr"] = config.lr * warm
            batch = [
                _target(
                    images[i],
                    plan,
                    teacher.get(images[i].path),
                    read_bgr(images[i].path),
                    bool(rng.random() < 0.5),
                )
                for i in order[step * config.batch : (step + 1) * config.batch]
            ]
            losses = model(
                [b[0].to(device) for b in batch],
                [{k: v.to(device) for k, v in b[1].items()} for b in batch],
            )
            loss = sum(losses.values())
            assert isinstance(loss, torch.Tensor)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 10.0)
            optimizer.step()
            total += loss.item()
            progress.step(epoch, step + 1, steps, loss.item())
        result = validate(model, dataset, plan, device)
        history.append(
            {
                "epoch": epoch,
                "loss": round(total / steps, 4),
                "ap": result["AP"],
                "ap50": result["AP50"],
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        if result["AP"] > best_ap:
            best_ap = result["AP"]
            save_atomically({"model": model.state_dict(), "epoch": epoch}, best_path)
        save_atomically(
            {
                "version": 1,
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "history": history,
                "best_ap": best_ap,
                "labels": plan.labels,
                "imgsz": config.imgsz,
            },
            last,
        )
        progress.note(
            f"epoch {epoch}: loss {total / steps:.3f}, validation AP50 {result['AP50']:.3f}"
        )
    model.load_state_dict(torch.load(best_path, map_location=device, weights_only=True)["model"])
    after = validate(model, dataset, plan, device)
    return _export(model.cpu().eval(), labels, dataset, config, size, history, before, after)


def _export(
    model: MaskRCNNModel,
    labels: list[str],
    dataset: Dataset,
    config: TrainConfig,
    size: tuple[int, int] | None,
    history: list[dict[str, float]],
    before: dict[str, Any],
    after: dict[str, Any],
) -> MaskRCNNRun:
    run = config.run_dir
    scripted: Any = torch.jit.script(model)
    partial = run / ".model.pt.partial"
    scripted.save(str(partial))
    partial.replace(run / "model.pt")
    (run / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        for image in dataset.val.images[:PARITY_PHOTOS]:
            shutil.copy(image.path, Path(folder) / image.path.name)
        result = run_export(
            ExportRequest(
                out=run / "model.onnx",
                from_torchscript=run / "model.pt",
                labels_file=run / "labels.txt",
                parity_images=Path(folder),
                options=ExportOptions(size=size),
            )
        )
    return MaskRCNNRun(run / "model.pt", result, history, before, after)
