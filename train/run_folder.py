"""What a training run leaves in `runs/train/NAME/`: `model.onnx` (its card inside, and as
`model.toml` beside it), `metrics.csv`, `curves.png`, `val_predictions.jpg` (labels beside
predictions) and `classes.csv` (per-class AP before and after). Every file is written aside
and renamed into place."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from edge.inference.modelcard import CARD_METADATA_KEY, file_sha256
from export.onnx_export import current_umask
from train.augment import read_bgr
from train.loop import EpochRecord, Prepared, TrainConfig
from train.validate import ValidationResult, best_thresholds
from train.yolox_graph import write_weights

SHOWN_CONF = 0.3
LABEL_COLOUR, PREDICTION_COLOUR = (60, 200, 60), (40, 120, 255)


@dataclass(frozen=True)
class RunSummary:
    model: Path
    before: ValidationResult
    after: ValidationResult
    best_epoch: int


def write_run(
    config: TrainConfig,
    prepared: Prepared,
    history: list[EpochRecord],
    before: ValidationResult,
) -> RunSummary:
    run = config.run_dir
    best = torch.load(run / "best.pt", map_location="cpu", weights_only=True)
    prepared.module.load_state_dict(best["model"])
    after = prepared.validator.run(prepared.module, prepared.device)
    name = f"{prepared.base_card.name.removesuffix('-coco')}-{run.name}"
    card = card_text(name, config, prepared, after, int(best["epoch"]))
    graph = write_weights(prepared.export_graph, prepared.module.cpu())
    prepared.module.to(prepared.device)
    graph.metadata_props.add(key=CARD_METADATA_KEY, value=card)
    model_path = run / "model.onnx"
    _write_bytes(model_path, graph.SerializeToString())
    sha = f'sha256 = "{file_sha256(model_path)}"\n'
    _write_bytes(run / "model.toml", card.replace("[model]\n", f"[model]\n{sha}", 1).encode())
    _write_bytes(run / "metrics.csv", _csv([asdict(r) for r in history]).encode())
    _write_bytes(run / "classes.csv", _csv(class_table(before, after)).encode())
    _write_bytes(run / "curves.png", curves_png(history))
    _write_bytes(run / "val_predictions.jpg", prediction_picture(prepared, after))
    return RunSummary(model_path, before, after, int(best["epoch"]))


def class_table(before: ValidationResult, after: ValidationResult) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, metrics in after.per_class.items():
        start = before.per_class.get(name, {})
        rows.append(
            {
                "class": name,
                "instances": int(metrics["instances"]),
                "AP50_before": start.get("AP50", 0.0),
                "AP50_after": metrics["AP50"],
                "AP_before": start.get("AP", 0.0),
                "AP_after": metrics["AP"],
            }
        )
    rows.append(
        {
            "class": "all",
            "instances": sum(r["instances"] for r in rows),
            "AP50_before": before.ap50,
            "AP50_after": after.ap50,
            "AP_before": before.ap,
            "AP_after": after.ap,
        }
    )
    return rows


def card_text(
    name: str, config: TrainConfig, prepared: Prepared, after: ValidationResult, best_epoch: int
) -> str:
    base, plan = prepared.base_card, prepared.plan
    spec = base.settings.get("input", {})
    decode = base.settings.get("decode", {})
    trained = {plan.labels[o] for o in plan.output_of_class}
    class_conf = {
        k: v
        for k, v in decode.get("class_conf", {}).items()
        if k in plan.labels and k not in trained
    }
    measured = best_thresholds(prepared.dataset.val, after.predictions, plan.output_of_class)
    class_conf |= {plan.labels[output]: conf for output, conf in measured.items()}
    reliability = base.settings.get("reliability", {})
    recall = {
        k: v
        for k, v in reliability.get("recall", {}).items()
        if k in plan.labels and k not in trained
    }
    per_class = {k: v["AP50"] for k, v in after.per_class.items()}
    lines = [
        f"# Model card: {name}, trained by `officescore train` on {date.today().isoformat()}.",
        f"# Started from {base.name}; the classes labelled in {config.data.name} were trained.",
        f"labels = {_toml(list(plan.labels))}",
        "",
        "[canonical]",
        *(
            f"{_toml(label)} = {_toml(canonical)}"
            for label, canonical in zip(plan.labels, plan.canonical, strict=True)
        ),
        "",
        "[model]",
        f"name = {_toml(name)}",
        'adapter = "yolox"',
        f"licence = {_toml(f'derived from {base.name}: its licence applies')}",
        "",
        "[input]",
        f"name = {_toml(str(spec.get('name', 'images')))}",
        f"photo_size = {int(spec.get('photo_size', config.imgsz))}",
        f"live_size = {int(spec.get('live_size', config.imgsz))}",
        f"pad_value = {int(spec.get('pad_value', 114))}",
        "",
        "[decode]",
        f"strides = {_toml([int(s) for s in decode.get('strides', [8, 16, 32])])}",
        f"nms_iou = {float(decode.get('nms_iou', 0.45))}",
        f"conf = {float(decode.get('conf', 0.4))}",
        "# the trained classes' thresholds: their best F1 on the validation photos",
        f"class_conf = {_inline(class_conf)}",
        "",
        "[reliability]",
        f"min_recall = {float(reliability.get('min_recall', 0.0))}",
        f"recall = {_inline(recall)}",
        "",
        "# What it learnt from, and how well it did on photos it never trained on.",
        "[training]",
        f"data = {_toml(str(config.data))}",
        f"train_images = {len(prepared.dataset.train.images)}",
        f"val_images = {len(prepared.dataset.val.images)}",
        f"imgsz = {config.imgsz}",
        f"epochs = {config.epochs}",
        f"best_epoch = {best_epoch}",
        f"keep_base = {str(config.keep_base).lower()}",
        f"replayed_images = {len(prepared.replayed)}",
        f"lr = {config.lr}",
        f"val_AP = {after.ap}",
        f"val_AP50 = {after.ap50}",
        f"val_AP50_per_class = {_inline(per_class)}",
    ]
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings and lists are valid TOML


def _inline(table: dict[str, Any]) -> str:
    return (
        "{ " + ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in table.items()) + " }"
        if table
        else "{}"
    )


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


def curves_png(history: list[EpochRecord]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r.epoch for r in history]
    figure, (loss_axis, ap_axis) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    loss_axis.plot(epochs, [r.loss for r in history], label="total")
    loss_axis.plot(epochs, [r.iou_loss for r in history], label="IoU")
    loss_axis.plot(epochs, [r.objectness_loss for r in history], label="objectness")
    loss_axis.plot(epochs, [r.class_loss for r in history], label="class")
    loss_axis.set(title="training loss", xlabel="epoch")
    loss_axis.legend(fontsize=8)
    ap_axis.plot(epochs, [r.ap50 for r in history], marker="o", label="AP50")
    ap_axis.plot(epochs, [r.ap for r in history], marker="o", label="AP 50:95")
    ap_axis.set(title="validation box AP", xlabel="epoch", ylim=(0, 1))
    ap_axis.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def prediction_picture(prepared: Prepared, result: ValidationResult, count: int = 4) -> bytes:
    """Up to `count` validation photos, each twice: its labels, then the model's detections."""
    labelled, labels = prepared.dataset.val, prepared.plan.labels
    rows: list[np.ndarray] = []
    for image, found in list(zip(labelled.images, result.predictions, strict=True))[:count]:
        pixels = read_bgr(image.path)
        ratio = pixels.shape[1] / image.width
        left, right = pixels.copy(), pixels.copy()
        for box, cls in zip(image.boxes * ratio, image.classes, strict=True):
            _draw(left, box, labelled.names[int(cls)], LABEL_COLOUR)
        for box, score, output in zip(
            found.boxes * ratio, found.scores, found.outputs, strict=True
        ):
            if score >= SHOWN_CONF:
                _draw(right, box, f"{labels[int(output)]} {score:.2f}", PREDICTION_COLOUR)
        pair = np.hstack([left, right])
        rows.append(cv2.resize(pair, (1280, round(1280 * pair.shape[0] / pair.shape[1]))))
    ok, encoded = cv2.imencode(".jpg", np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return encoded.tobytes()


def _draw(image: np.ndarray, box: np.ndarray, text: str, colour: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = (int(v) for v in box)
    cv2.rectangle(image, (x0, y0), (x1, y1), colour, 2)
    cv2.putText(image, text, (x0 + 2, max(12, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)


def _write_bytes(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(data)
    os.chmod(handle.name, 0o666 & ~current_umask())  # the temporary file is owner-only
    os.replace(handle.name, path)
