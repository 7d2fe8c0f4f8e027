"""What labelled photos are once read, whatever their format: boxes in the photo's pixels,
classes as indices into the set's names, the source photo an augmented copy was made from,
and what reading changed (clipped, dropped, left out)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.core.errors import OfficeScoreError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
ROBOFLOW_COPY = re.compile(r"_(jpg|jpeg|png|bmp|webp)\.rf\.[0-9a-f]+$", re.IGNORECASE)


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    width: int
    height: int
    boxes: np.ndarray  # N×4 float32 xyxy, pixels of the photo as stored
    classes: np.ndarray  # N int64, indices into the set's names
    polygons: tuple[tuple[np.ndarray, ...], ...] | None = None  # per box, K×2 pixel polygons

    @property
    def source(self) -> str:
        """The photo this file was made from: Roboflow's augmented copies share the name
        before `_jpg.rf.`; any other file is its own source."""
        return ROBOFLOW_COPY.sub("", self.path.stem)


@dataclass
class ReadCounts:
    """What reading changed, said in the summary: nothing is dropped silently."""

    clipped: int = 0
    zero_area: int = 0
    crowd: int = 0

    def describe(self) -> str:
        parts = [
            f"{self.clipped} boxes clipped to their photo" if self.clipped else "",
            f"{self.zero_area} boxes of no area dropped" if self.zero_area else "",
            f"{self.crowd} crowd regions left out" if self.crowd else "",
        ]
        return ", ".join(p for p in parts if p) or "every box used as labelled"


@dataclass(frozen=True)
class LabelledSet:
    names: tuple[str, ...]
    images: tuple[LabelledImage, ...]

    def instances(self) -> Counter[str]:
        return Counter(self.names[int(c)] for image in self.images for c in image.classes)

    def subset(self, keep: list[int]) -> LabelledSet:
        return LabelledSet(self.names, tuple(self.images[i] for i in keep))


def read_document(
    path: Path, parse: Callable[[str], Any], invalid: type[Exception], kind: str
) -> Any:
    """`path` parsed as a `kind` document (JSON, YAML); an unreadable or invalid one is one
    line naming it, with the parser's first line of why."""
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise OfficeScoreError(f"cannot read {path}: {error}") from None
    except invalid as error:
        why = str(error).splitlines()[0]
        raise OfficeScoreError(f"{path}: not valid {kind} ({why})") from None


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header; an unreadable photo is an error naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError):
        raise OfficeScoreError(f"{path}: not a readable image") from None


def cleaned(
    path: Path,
    width: int,
    height: int,
    boxes: np.ndarray,
    classes: np.ndarray,
    polygons: tuple[tuple[np.ndarray, ...], ...] | None,
    counts: ReadCounts,
) -> LabelledImage:
    clipped = boxes.copy()
    np.clip(clipped[:, 0::2], 0, width, out=clipped[:, 0::2])
    np.clip(clipped[:, 1::2], 0, height, out=clipped[:, 1::2])
    counts.clipped += int((np.abs(clipped - boxes) > 0.5).any(axis=1).sum())
    area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = area > 0
    counts.zero_area += int((~keep).sum())
    kept_polygons = (
        tuple(p for p, k in zip(polygons, keep, strict=True) if k) if polygons is not None else None
    )
    return LabelledImage(
        path, width, height, clipped[keep], classes.astype(np.int64)[keep], kept_polygons
    )
