"""Training pictures: photos read once (shrunk to what training can use), then each epoch
placed at a random scale and position, flipped, and shifted in colour as cameras differ;
mosaics of four. Validation pictures are letterboxed as the runtime does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.core.errors import OfficeScoreError
from edge.inference.postprocess import Letterbox
from train.datasets import LabelledImage
from train.labels import image_size

PAD = 114
MIN_BOX_SIDE = 2.0  # pixels at training size: a box clipped thinner is dropped for the step


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # H×W×3 uint8 BGR
    boxes: np.ndarray  # N×4 float32 xyxy in these pixels
    classes: np.ndarray  # N int64 (output indices)


@dataclass(frozen=True)
class Augmentation:
    scale: tuple[float, float] = (0.5, 1.5)
    flip: float = 0.5
    mosaic: float = 0.5
    hue: float = 0.015
    saturation: float = 0.5
    value: float = 0.35


def load_sample(
    labelled: LabelledImage,
    output_of_class: tuple[int, ...],
    longest: int,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> Sample:
    """The photo shrunk so its longest side is at most `longest`, its boxes with it, the
    labelled classes as output indices; `extra` adds (boxes, outputs) in photo pixels (the
    starting model's detections of classes nobody labelled)."""
    image = read_bgr(labelled.path)
    ratio = min(1.0, longest / max(image.shape[:2]))
    if ratio < 1.0:
        size = (round(image.shape[1] * ratio), round(image.shape[0] * ratio))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    stored = np.array([labelled.width, labelled.height] * 2, np.float32)
    actual = np.array([image.shape[1], image.shape[0]] * 2, np.float32)
    boxes = labelled.boxes * (actual / stored)
    classes = np.asarray(output_of_class, np.int64)[labelled.classes]
    if extra is not None and len(extra[0]):
        boxes = np.concatenate([boxes, extra[0] * (actual / stored)])
        classes = np.concatenate([classes, extra[1]])
    return Sample(image, boxes.astype(np.float32), classes)


def unlabelled(path: Path) -> LabelledImage:
    """A photo with no labels (one replayed with the starting model's outputs)."""
    width, height = image_size(path)
    return LabelledImage(path, width, height, np.zeros((0, 4), np.float32), np.zeros(0, np.int64))


def read_bgr(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OfficeScoreError(f"{path}: not a readable image")
    return image


def place(
    sample: Sample, size: int, rng: np.random.Generator, augmentation: Augmentation
) -> Sample:
    """One training picture of `size`×`size`: the sample scaled, moved, flipped, recoloured;
    or, at the mosaic rate, the caller's mosaic (see `mosaic`)."""
    height, width = sample.image.shape[:2]
    scale = size / max(height, width) * rng.uniform(*augmentation.scale)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    dx = rng.uniform(min(0, size - new_w), max(0, size - new_w))
    dy = rng.uniform(min(0, size - new_h), max(0, size - new_h))
    matrix = np.array([[scale, 0, dx], [0, scale, dy]], np.float32)
    canvas = cv2.warpAffine(
        sample.image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=(PAD, PAD, PAD)
    )
    boxes = sample.boxes * scale + np.array([dx, dy, dx, dy], np.float32)
    if rng.random() < augmentation.flip:
        canvas = canvas[:, ::-1].copy()
        boxes = np.stack([size - boxes[:, 2], boxes[:, 1], size - boxes[:, 0], boxes[:, 3]], 1)
    recolour(canvas, rng, augmentation)
    return _clipped(Sample(canvas, boxes.astype(np.float32), sample.classes), size, size)


def mosaic(samples: list[Sample], size: int, rng: np.random.Generator) -> Sample:
    """Four placed pictures (each `size` square) as the quarters of one, around a random
    centre, shrunk back to `size`: more objects, more scales, more context per step."""
    cx, cy = (int(rng.uniform(0.3, 0.7) * 2 * size) for _ in range(2))
    big = np.full((2 * size, 2 * size, 3), PAD, np.uint8)
    boxes, classes = [], []
    corners = (
        (0, 0, cx, cy),
        (cx, 0, 2 * size, cy),
        (0, cy, cx, 2 * size),
        (cx, cy, 2 * size, 2 * size),
    )
    for sample, (x0, y0, x1, y1) in zip(samples, corners, strict=True):
        w, h = x1 - x0, y1 - y0
        sx = int(rng.uniform(0, size - min(w, size))) if w < size else 0
        sy = int(rng.uniform(0, size - min(h, size))) if h < size else 0
        w, h = min(w, size), min(h, size)
        big[y0 : y0 + h, x0 : x0 + w] = sample.image[sy : sy + h, sx : sx + w]
        shifted = sample.boxes + np.array([x0 - sx, y0 - sy, x0 - sx, y0 - sy], np.float32)
        np.clip(shifted[:, 0::2], x0, x0 + w, out=shifted[:, 0::2])
        np.clip(shifted[:, 1::2], y0, y0 + h, out=shifted[:, 1::2])
        boxes.append(shifted)
        classes.append(sample.classes)
    small = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    joined = Sample(small, np.concatenate(boxes) / 2, np.concatenate(classes))
    return _clipped(joined, size, size)


def recolour(canvas: np.ndarray, rng: np.random.Generator, augmentation: Augmentation) -> None:
    gains = rng.uniform(-1, 1, 3) * (augmentation.hue, augmentation.saturation, augmentation.value)
    gains += 1
    hue, saturation, value = cv2.split(cv2.cvtColor(canvas, cv2.COLOR_BGR2HSV))
    lut = np.arange(256, dtype=np.float32)
    hue = cv2.LUT(hue, ((lut * gains[0]) % 180).astype(np.uint8))
    saturation = cv2.LUT(saturation, np.clip(lut * gains[1], 0, 255).astype(np.uint8))
    value = cv2.LUT(value, np.clip(lut * gains[2], 0, 255).astype(np.uint8))
    cv2.cvtColor(cv2.merge([hue, saturation, value]), cv2.COLOR_HSV2BGR, dst=canvas)


def _clipped(sample: Sample, width: int, height: int) -> Sample:
    boxes = sample.boxes.copy()
    np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
    keep = ((boxes[:, 2] - boxes[:, 0]) >= MIN_BOX_SIDE) & (
        (boxes[:, 3] - boxes[:, 1]) >= MIN_BOX_SIDE
    )
    return Sample(sample.image, boxes[keep], sample.classes[keep])


def letterboxed(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """The runtime's input for `image` (BGR, top-left, padded): 3×size×size float32, scale."""
    box = Letterbox(size, size, PAD)
    scale = box(image)
    return box.tensor[0].copy(), scale
