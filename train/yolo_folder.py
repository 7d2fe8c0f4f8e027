"""YOLO folders, as Roboflow and Ultralytics export them: `data.yaml` names the classes and the
`train` / `val` image folders; each image's `labels/NAME.txt` holds `class cx cy w h` lines
(normalised), or polygons."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.core.errors import OfficeScoreError
from train.labels import (
    IMAGE_SUFFIXES,
    LabelledImage,
    LabelledSet,
    ReadCounts,
    cleaned,
    image_size,
    read_document,
)


def read_yolo(data_yaml: Path, counts: ReadCounts) -> dict[str, LabelledSet]:
    import yaml

    spec = read_document(data_yaml, yaml.safe_load, yaml.YAMLError, "YAML")
    if not isinstance(spec, dict):
        raise OfficeScoreError(f"{data_yaml}: expected keys train, val and names")
    names = spec.get("names")
    if isinstance(names, dict):
        names = [names[k] for k in sorted(names)]
    if not isinstance(names, list) or not names:
        raise OfficeScoreError(f"{data_yaml}: `names` must list the class names")
    root = data_yaml.parent / str(spec.get("path", ""))
    splits = {}
    for split in ("train", "val"):
        if split not in spec:
            if split == "train":
                raise OfficeScoreError(f"{data_yaml}: no `train` entry")
            continue
        folder = (root / str(spec[split])).resolve()
        if not folder.is_dir():
            raise OfficeScoreError(f"{data_yaml}: {split} points to {folder}, which is no folder")
        images = [_read_yolo_image(p, len(names), counts) for p in _yolo_images(folder)]
        if not images:
            raise OfficeScoreError(f"{data_yaml}: no images in {folder}")
        splits[split] = LabelledSet(tuple(str(n) for n in names), tuple(images))
    return splits


def _yolo_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_yolo_image(path: Path, classes: int, counts: ReadCounts) -> LabelledImage:
    width, height = image_size(path)
    label_file = _yolo_label_path(path)
    rows: list[list[float]] = []
    if label_file.is_file():
        for number, line in enumerate(label_file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                values = [float(v) for v in line.split()]
            except ValueError:
                raise OfficeScoreError(f"{label_file} line {number}: not numbers") from None
            if len(values) < 5 or len(values) % 2 == 0:
                raise OfficeScoreError(
                    f"{label_file} line {number}: expected `class cx cy w h` or a polygon"
                )
            if not (values[0].is_integer() and 0 <= values[0] < classes):
                raise OfficeScoreError(
                    f"{label_file} line {number}: class {values[0]:g} is out of range "
                    f"(the data names {classes})"
                )
            rows.append(values)
    boxes = np.array([_yolo_box(v[1:], width, height) for v in rows], np.float32).reshape(-1, 4)
    classes_of = np.array([int(v[0]) for v in rows], np.int64)
    return cleaned(path, width, height, boxes, classes_of, None, counts)


def _yolo_label_path(image: Path) -> Path:
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _yolo_box(values: list[float], width: int, height: int) -> list[float]:
    if len(values) == 4:
        cx, cy, w, h = values
        return [
            (cx - w / 2) * width,
            (cy - h / 2) * height,
            (cx + w / 2) * width,
            (cy + h / 2) * height,
        ]
    points = np.reshape(values, (-1, 2)) * (width, height)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return [float(x0), float(y0), float(x1), float(y1)]
