"""Labelled photos as people have them: COCO instances JSON (CVAT, Label Studio, Roboflow,
Hasty) and YOLO folders (`data.yaml` with `images/` and `labels/`). torch-free: `data audit`
and `label` read the same sets.

Every problem is one `OfficeScoreError` naming the file and the entry; a box partly outside
its photo is clipped, a box of no area dropped, a crowd region left out, each counted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from edge.core.errors import OfficeScoreError
from train.coco_json import read_coco
from train.labels import LabelledImage, LabelledSet, ReadCounts
from train.yolo_folder import read_yolo

__all__ = [
    "Dataset",
    "LabelledImage",
    "LabelledSet",
    "ReadCounts",
    "read_coco",
    "read_dataset",
    "read_splits",
]


@dataclass
class Dataset:
    """A training set and its validation set, with what reading them found."""

    names: tuple[str, ...]
    train: LabelledSet
    val: LabelledSet
    origin: str
    counts: ReadCounts = field(default_factory=ReadCounts)
    notes: list[str] = field(default_factory=list)


def read_dataset(
    path: Path,
    *,
    val_path: Path | None = None,
    attribute_classes: tuple[str, ...] = (),
    val_fraction: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """Read `path` (a COCO JSON, a `data.yaml`, or a folder holding either) and its validation
    split: `val_path` (read the same way), else the data's own, else one held out by source
    photo."""
    counts = ReadCounts()
    splits, origin = _read_splits(path, attribute_classes, counts)
    names = splits["train"].names
    if not splits["train"].images:
        raise OfficeScoreError(f"{origin}: the training split has no images")
    if val_path is not None:
        given, val_origin = _read_splits(val_path, attribute_classes, counts)
        if given["train"].names != names:
            raise OfficeScoreError(
                f"{val_origin} names {list(given['train'].names)}, {origin} {list(names)}: "
                "validation must name the same classes"
            )
        splits["val"] = given["train"]
    notes: list[str] = []
    val = splits.get("val")
    train = splits["train"]
    if val is None or not val.images:
        train, val = hold_out(train, val_fraction, seed)
        notes.append(
            f"validation: {len(val.images)} photos held out by source photo "
            f"({len(train.images)} left to train on)"
        )
    else:
        train_sources = {image.source for image in train.images}
        leaked = [i for i, image in enumerate(val.images) if image.source in train_sources]
        if leaked:
            val = val.subset([i for i in range(len(val.images)) if i not in set(leaked)])
            notes.append(
                f"validation: {len(leaked)} photos are copies of training photos and are left "
                f"out of it ({len(val.images)} kept)"
            )
    if not val.images:
        raise OfficeScoreError(f"{origin}: too few photos to hold any out for validation")
    return Dataset(names, train, val, origin, counts, notes)


def hold_out(labelled: LabelledSet, fraction: float, seed: int) -> tuple[LabelledSet, LabelledSet]:
    """Split by source photo, so no copy of a validation photo is trained on."""
    sources = sorted({image.source for image in labelled.images})
    if len(sources) < 2:
        raise OfficeScoreError("too few photos to hold any out for validation (need 2 or more)")
    random.Random(seed).shuffle(sources)
    held = set(sources[: max(1, round(len(sources) * fraction))])
    train = [i for i, image in enumerate(labelled.images) if image.source not in held]
    val = [i for i, image in enumerate(labelled.images) if image.source in held]
    return labelled.subset(train), labelled.subset(val)


def read_splits(
    path: Path, attribute_classes: tuple[str, ...] = ()
) -> tuple[dict[str, LabelledSet], str, ReadCounts]:
    """Every split `path` holds, as it holds them (`train`, and `val` where it has one), where
    it was read from, and what reading changed."""
    counts = ReadCounts()
    splits, origin = _read_splits(path, attribute_classes, counts)
    return splits, origin, counts


def _read_splits(
    path: Path, attribute_classes: tuple[str, ...], counts: ReadCounts
) -> tuple[dict[str, LabelledSet], str]:
    if not path.exists():
        raise OfficeScoreError(f"data not found: {path}")
    if path.is_dir():
        for candidate in ("data.yaml", "data.yml"):
            if (path / candidate).is_file():
                return read_yolo(path / candidate, counts), str(path / candidate)
        for folder in (path, path / "annotations"):
            jsons = sorted(folder.glob("*.json")) if folder.is_dir() else []
            if len(jsons) == 1:
                return {"train": read_coco(jsons[0], attribute_classes, counts)}, str(jsons[0])
        splits = _coco_split_folders(path, attribute_classes, counts)
        if splits:
            return splits, str(path)
        raise OfficeScoreError(
            f"{path}: no data.yaml (YOLO) and no single COCO .json annotations file in it"
        )
    if path.suffix.lower() in (".yaml", ".yml"):
        return read_yolo(path, counts), str(path)
    if path.suffix.lower() == ".json":
        return {"train": read_coco(path, attribute_classes, counts)}, str(path)
    raise OfficeScoreError(f"{path}: expected a COCO .json, a data.yaml or a folder with one")


def _coco_split_folders(
    root: Path, attribute_classes: tuple[str, ...], counts: ReadCounts
) -> dict[str, LabelledSet]:
    """Roboflow's COCO export: `train/_annotations.coco.json`, `valid/…`."""
    splits = {}
    for split, folders in (("train", ("train",)), ("val", ("valid", "val"))):
        for folder in folders:
            found = sorted((root / folder).glob("*.json")) if (root / folder).is_dir() else []
            if len(found) == 1:
                splits[split] = read_coco(found[0], attribute_classes, counts)
                break
    if "val" in splits and "train" in splits and splits["val"].names != splits["train"].names:
        raise OfficeScoreError(f"{root}: train and valid name different categories")
    return splits if "train" in splits else {}
