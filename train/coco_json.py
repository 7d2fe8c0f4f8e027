"""COCO instances JSON, as CVAT, Label Studio, Roboflow and Hasty export it: boxes, polygons
(boxes from them where a box is missing), `iscrowd`, and per-annotation `attributes` that can
make classes of their own (`raiseable` on a chair → `chair:raiseable`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edge.core.errors import OfficeScoreError
from train.labels import LabelledSet, ReadCounts, cleaned, image_size, read_document


def read_coco(
    path: Path, attribute_classes: tuple[str, ...] = (), counts: ReadCounts | None = None
) -> LabelledSet:
    """COCO instances JSON; images are found beside it or in an `images/` folder beside it."""
    counts = counts if counts is not None else ReadCounts()
    data = read_document(path, json.loads, json.JSONDecodeError, "JSON")
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise OfficeScoreError(f"{path}: not COCO instances JSON (no `images` list)")
    categories = _coco_categories(path, data)
    names = _with_attribute_classes(list(categories.values()), attribute_classes)
    index_of = {name: i for i, name in enumerate(names)}
    images = {}
    for position, info in enumerate(data["images"]):
        try:
            image_id, file_name = info["id"], str(info["file_name"])
        except (KeyError, TypeError):
            raise OfficeScoreError(f"{path}: image {position} has no id or file_name") from None
        images[image_id] = _find_image(path, file_name)
    per_image: dict[Any, list[tuple[list[float], int, Any]]] = {key: [] for key in images}
    for position, annotation in enumerate(data.get("annotations", [])):
        if not isinstance(annotation, dict):
            raise OfficeScoreError(f"{path}: annotation {position} is not an object")
        where = f"{path}: annotation {annotation.get('id', position)}"
        if annotation.get("image_id") not in images:
            raise OfficeScoreError(f"{where}: its image_id is not among the images")
        if annotation.get("category_id") not in categories:
            raise OfficeScoreError(f"{where}: category_id {annotation.get('category_id')} unknown")
        if annotation.get("iscrowd"):
            counts.crowd += 1
            continue
        name = categories[annotation["category_id"]]
        attributes = annotation.get("attributes") or {}
        for attribute in attribute_classes:
            if attributes.get(attribute) in (True, "true", "True", 1, "yes"):
                name = f"{name}:{attribute}"
        per_image[annotation["image_id"]].append(
            (_coco_box(annotation, where), index_of[name], annotation.get("segmentation"))
        )
    labelled = []
    for image_id, image_path in images.items():
        width, height = image_size(image_path)
        rows = per_image[image_id]
        boxes = np.array([r[0] for r in rows], np.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        polygons = tuple(_polygons(r[2]) for r in rows)
        labelled.append(
            cleaned(
                image_path, width, height, boxes, np.array([r[1] for r in rows]), polygons, counts
            )
        )
    return LabelledSet(tuple(names), tuple(labelled))


def _coco_categories(path: Path, data: dict[str, Any]) -> dict[Any, str]:
    categories = {}
    for position, category in enumerate(data.get("categories", [])):
        try:
            categories[category["id"]] = str(category["name"])
        except (KeyError, TypeError):
            raise OfficeScoreError(f"{path}: category {position} has no id or name") from None
    if not categories:
        raise OfficeScoreError(f"{path}: no categories")
    return categories


def _with_attribute_classes(names: list[str], attributes: tuple[str, ...]) -> list[str]:
    return names + [f"{name}:{attribute}" for attribute in attributes for name in names]


def _coco_box(annotation: dict[str, Any], where: str) -> list[float]:
    box = annotation.get("bbox")
    if box is None and annotation.get("segmentation"):
        points = np.concatenate([np.reshape(p, (-1, 2)) for p in annotation["segmentation"]])
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
    if not isinstance(box, list) or len(box) != 4:
        raise OfficeScoreError(f"{where}: bbox must be [x, y, width, height], got {box!r}")
    try:
        return [float(v) for v in box]
    except (TypeError, ValueError):
        raise OfficeScoreError(f"{where}: bbox must hold numbers, got {box!r}") from None


def _polygons(segmentation: Any) -> tuple[np.ndarray, ...]:
    if not isinstance(segmentation, list):
        return ()
    return tuple(
        np.asarray(polygon, np.float32).reshape(-1, 2)
        for polygon in segmentation
        if isinstance(polygon, list) and len(polygon) >= 6
    )


def _find_image(annotations: Path, file_name: str) -> Path:
    for folder in (annotations.parent, annotations.parent / "images"):
        if (folder / file_name).is_file():
            return folder / file_name
    raise OfficeScoreError(f"{annotations}: image {file_name} not found beside it or in images/")
