"""`officescore label`: a model's detections as labels to correct, not to trust. COCO instances
JSON (a `score` on each annotation: CVAT, Label Studio and `train` read it) or a YOLO folder
(`data.yaml`, `images/`, `labels/`: `train` reads it)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.types import Detections
from edge.core.vocabulary import CANONICAL_NAMES
from edge.inference.engines import EngineRequest
from edge.inference.session import Detector, SessionConfig
from edge.video.batch import IMAGE_SUFFIXES, expand_inputs, read_image

Format = Literal["coco", "yolo"]


@dataclass(frozen=True)
class LabelConfig:
    images: tuple[Path, ...]
    out: Path
    model: Path | None = None
    imgsz: int | None = None
    conf: float = 0.3
    classes: tuple[str, ...] = ()  # the model's labels (or canonical names) to keep; () all
    format: Format = "coco"
    force: bool = False


@dataclass(frozen=True)
class Labelled:
    path: Path
    width: int
    height: int
    detections: Detections  # only the kept labels


@dataclass(frozen=True)
class LabelSummary:
    photos: int
    boxes: int
    failed: tuple[str, ...]  # one line per photo that could not be read


def kept_labels(
    labels: tuple[str, ...], canonical: list[str], wanted: tuple[str, ...]
) -> list[str]:
    """The model labels `--classes` keeps: by label (`tv`) or canonical name (`monitor`)."""
    if not wanted:
        return list(labels)
    unknown = [w for w in wanted if w not in labels and w not in canonical]
    if unknown:
        raise OfficeScoreError(
            f"--classes: the model has no {', '.join(unknown)} (it has {', '.join(labels)})"
        )
    return [
        label
        for label, name in zip(labels, canonical, strict=True)
        if label in wanted or name in wanted
    ]


def label_photos(config: LabelConfig, progress: Callable[[int, int], None]) -> LabelSummary:
    if not 0 < config.conf <= 1:
        raise OfficeScoreError(f"--conf must be in (0, 1], got {config.conf}")
    if config.out.exists() and not config.force:
        raise OfficeScoreError(f"{config.out} exists: add --force to replace it")
    photos = list(expand_inputs(config.images, IMAGE_SUFFIXES, "images"))
    detector = Detector(
        SessionConfig(
            model_path=config.model, imgsz=config.imgsz, request=EngineRequest(device="cpu")
        )
    )
    labels = detector.card.labels
    canonical = [CANONICAL_NAMES[int(i)] for i in detector.card.canonical_of_label]
    kept = kept_labels(tuple(labels), canonical, config.classes)
    results, failed = [], []
    for done, path in enumerate(photos, start=1):
        try:
            pixels, _ = read_image(path)
        except OfficeScoreError as error:
            failed.append(str(error))
        else:
            seen, _ = detector.detect(pixels, config.conf)
            keep = np.isin(seen.label.astype(str), kept)
            results.append(Labelled(path, pixels.shape[1], pixels.shape[0], seen[keep]))
        progress(done, len(photos))
    writer = _write_coco if config.format == "coco" else _write_yolo
    writer(results, kept, config.out)
    return LabelSummary(len(results), sum(len(r.detections) for r in results), tuple(failed))


def coco_document(results: list[Labelled], kept: list[str], base: Path) -> dict[str, Any]:
    """COCO instances JSON; file names relative to `base` (the JSON's folder) where they can be."""
    category = {label: number for number, label in enumerate(kept, start=1)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, result in enumerate(results, start=1):
        images.append(
            {
                "id": image_id,
                "file_name": _relative(result.path, base),
                "width": result.width,
                "height": result.height,
            }
        )
        for box, label, score in zip(
            result.detections.xyxy.tolist(),
            result.detections.label.tolist(),
            result.detections.confidence.tolist(),
            strict=True,
        ):
            x0, y0, x1, y1 = (round(v, 2) for v in box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": category[str(label)],
                    "bbox": [x0, y0, round(x1 - x0, 2), round(y1 - y0, 2)],
                    "area": round((x1 - x0) * (y1 - y0), 2),
                    "iscrowd": 0,
                    "score": round(score, 4),
                }
            )
    return {
        "info": {"description": "officescore label: a model's detections, to correct"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": label} for label, i in category.items()],
    }


def _relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # another drive
        return str(path.resolve())


def _write_coco(results: list[Labelled], kept: list[str], out: Path) -> None:
    document = coco_document(results, kept, out.parent)
    with _aside(out) as partial:
        partial.write_text(json.dumps(document, indent=1), encoding="utf-8")


def _write_yolo(results: list[Labelled], kept: list[str], out: Path) -> None:
    """`out/data.yaml`, `out/images/` (copies of the photos) and `out/labels/`."""
    index = {label: number for number, label in enumerate(kept)}
    with _aside(out) as partial:
        (partial / "images").mkdir(parents=True)
        (partial / "labels").mkdir()
        for result in results:
            shutil.copy2(result.path, partial / "images" / result.path.name)
            lines = []
            for (x0, y0, x1, y1), label in zip(
                result.detections.xyxy.tolist(), result.detections.label.tolist(), strict=True
            ):
                cx, cy = (x0 + x1) / 2 / result.width, (y0 + y1) / 2 / result.height
                w, h = (x1 - x0) / result.width, (y1 - y0) / result.height
                lines.append(f"{index[str(label)]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
            text = "\n".join(lines) + ("\n" if lines else "")
            (partial / "labels" / f"{result.path.stem}.txt").write_text(text, encoding="utf-8")
        names = json.dumps(kept)  # a JSON list is a YAML list
        (partial / "data.yaml").write_text(
            "# officescore label: a model's detections, to correct\n"
            f"train: images\nnames: {names}\n",
            encoding="utf-8",
        )


@contextmanager
def _aside(out: Path) -> Iterator[Path]:
    """A path beside `out` to write into, renamed onto `out` only when all is written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    partial = folder / out.name
    try:
        yield partial
        if out.is_dir():
            shutil.rmtree(out)
        os.replace(partial, out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
