"""Pure array geometry: letterboxing, grid decoding, NMS, scaling and mask pasting.

No I/O; loops over detections only where each needs its own OpenCV call (mask pasting).
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.core.boxes import box_iou
from edge.core.types import InstanceMasks


class Letterbox:
    """Frames resized into a reused 1×3×H×W float tensor, keeping aspect, padded right and below.

    The padding is written only when the frame size changes; after that each frame costs
    one resize and one planar copy of the resized content, with no per-frame tensor.
    """

    def __init__(self, height: int, width: int, pad_value: int) -> None:
        self.pad_value = pad_value
        self.canvas = np.full((height, width, 3), pad_value, np.uint8)
        self.tensor = np.full((1, 3, height, width), pad_value, np.float32)
        self._content_hw = (0, 0)

    def __call__(self, frame: np.ndarray) -> float:
        """Put `frame` (H×W×3 uint8) into `tensor`, channels in frame order; return its scale."""
        canvas_h, canvas_w = self.canvas.shape[:2]
        frame_h, frame_w = frame.shape[:2]
        scale = min(canvas_h / frame_h, canvas_w / frame_w)
        new_w = max(1, min(canvas_w, round(frame_w * scale)))
        new_h = max(1, min(canvas_h, round(frame_h * scale)))
        if (new_h, new_w) != self._content_hw:
            self.canvas.fill(self.pad_value)
            self.tensor.fill(self.pad_value)
            self._content_hw = (new_h, new_w)
        content = self.canvas[:new_h, :new_w]
        cv2.resize(frame, (new_w, new_h), dst=content, interpolation=cv2.INTER_LINEAR)
        for plane, channel in zip(self.tensor[0], cv2.split(content), strict=True):
            np.copyto(plane[:new_h, :new_w], channel)
        return scale


def grid_points(height: int, width: int, strides: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Cell offsets (A×2, x then y) and strides (A×1) for anchor-free heads, x fastest."""
    offsets, steps = [], []
    for stride in strides:
        ys, xs = np.mgrid[0 : height // stride, 0 : width // stride]
        offsets.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        steps.append(np.full((xs.size, 1), stride))
    return np.concatenate(offsets).astype(np.float32), np.concatenate(steps).astype(np.float32)


def decode_yolox(
    raw: np.ndarray, offsets: np.ndarray, strides: np.ndarray, conf: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of (x, y, w, h, objectness, class scores…) → xyxy boxes, scores, class indices.

    Keeps each point's best class and drops scores below `conf`; boxes are in input pixels.
    Class scores are at most 1, so rows whose objectness is below `conf` are dropped first.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite rows are dropped by NMS
        candidates = np.flatnonzero(raw[:, 4] >= conf)
        rows = raw[candidates]
        class_index = rows[:, 5:].argmax(axis=1)
        scores = rows[:, 4] * np.take_along_axis(rows[:, 5:], class_index[:, None], axis=1)[:, 0]
        keep = scores >= conf
        rows, strides_kept = rows[keep], strides[candidates[keep]]
        centres = (rows[:, :2] + offsets[candidates[keep]]) * strides_kept
        half_sizes = np.exp(rows[:, 2:4]) * strides_kept / 2
        boxes = np.concatenate([centres - half_sizes, centres + half_sizes], axis=1)
    return boxes.astype(np.float32), scores[keep].astype(np.float32), class_index[keep]


def nms_per_class(
    boxes: np.ndarray, scores: np.ndarray, class_index: np.ndarray, iou: float
) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression within each class, best score first."""
    finite = np.isfinite(boxes).all(axis=1) & np.isfinite(scores)
    candidates = np.flatnonzero(finite)
    if len(candidates) == 0:
        return np.zeros(0, np.int64)
    xywh = boxes[candidates].copy()
    xywh[:, 2:] -= xywh[:, :2]
    # OpenCV's stubs ask for sequences; its bindings take arrays without copying to lists.
    survivors = cv2.dnn.NMSBoxesBatched(
        xywh,  # type: ignore[arg-type]
        scores[candidates],  # type: ignore[arg-type]
        class_index[candidates].astype(np.int32),  # type: ignore[arg-type]
        -np.inf,
        iou,
    )
    kept = candidates[np.asarray(survivors, np.int64).reshape(-1)]
    return kept[np.argsort(-scores[kept], kind="stable")]


def scale_boxes(
    boxes: np.ndarray, scale_xy: tuple[float, float], frame_hw: tuple[int, int]
) -> np.ndarray:
    """Input-pixel boxes → frame-pixel boxes (dividing by the x and y scales), clipped."""
    height, width = frame_hw
    scaled = boxes / np.array(scale_xy * 2, np.float32)
    np.clip(scaled[:, 0::2], 0, width, out=scaled[:, 0::2])
    np.clip(scaled[:, 1::2], 0, height, out=scaled[:, 1::2])
    return scaled.astype(np.float32)


def paste_masks(
    masks: np.ndarray,
    boxes: np.ndarray,
    frame_hw: tuple[int, int],
    threshold: float = 0.5,
    band: float = 0.0,
) -> InstanceMasks:
    """Paste N×M×M mask probabilities into their frame boxes, thresholded.

    Follows torchvision's convention (one pixel of zero padding, the box widened by
    (M + 2) / M, bilinear with pixel centres at +0.5), so pasted masks match its own.
    Each mask is resized only to its box by one OpenCV call and kept there: a fully
    vectorized paste would touch N×H×W pixels instead of the boxes' area. With `band`, the
    masks also keep which pixels lie within `band` of the threshold (`InstanceMasks.uncertain`):
    what a comparison of two engines' masks should leave out.
    """
    height, width = frame_hw
    count = len(masks)
    if count == 0:
        return InstanceMasks(frame_hw, np.zeros((0, 4), np.int64), (), () if band else None)
    size = masks.shape[-1]
    padded = np.pad(masks.astype(np.float32), ((0, 0), (1, 1), (1, 1)))
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * (size + 2) / size
    finite = np.isfinite(centres).all(axis=1) & np.isfinite(half).all(axis=1)
    corners = np.zeros((count, 4), np.int64)
    corners[finite] = np.clip(
        np.concatenate([centres - half, centres + half], axis=1)[finite], -1e6, 1e6
    ).astype(np.int64)
    box_w = np.maximum(corners[:, 2] - corners[:, 0] + 1, 1)
    box_h = np.maximum(corners[:, 3] - corners[:, 1] + 1, 1)
    windows = np.stack(
        [
            np.clip(corners[:, 0], 0, width),
            np.clip(corners[:, 1], 0, height),
            np.clip(corners[:, 2] + 1, 0, width),
            np.clip(corners[:, 3] + 1, 0, height),
        ],
        axis=1,
    )
    visible = finite & (windows[:, 2] > windows[:, 0]) & (windows[:, 3] > windows[:, 1])
    windows[~visible] = 0
    crops, uncertain = [], []
    for i in range(count):
        x0, y0, x1, y1 = windows[i].tolist()
        if not visible[i]:
            crops.append(np.zeros((0, 0), bool))
            uncertain.append(np.zeros((0, 0), bool))
            continue
        resized = cv2.resize(
            padded[i], (int(box_w[i]), int(box_h[i])), interpolation=cv2.INTER_LINEAR
        )
        dy, dx = y0 - corners[i, 1], x0 - corners[i, 0]
        window = resized[dy : dy + y1 - y0, dx : dx + x1 - x0]
        crops.append(window >= threshold)
        if band:
            uncertain.append(np.abs(window - threshold) < band)
    return InstanceMasks(frame_hw, windows, tuple(crops), tuple(uncertain) if band else None)


def match_detections(
    boxes: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    other_boxes: np.ndarray,
    other_labels: np.ndarray,
) -> list[tuple[int, int]]:
    """Pairs (i, j) of the same label and box IoU ≥ 0.5, matched greedily from the highest
    score of the first set; each detection is matched at most once."""
    overlap = box_iou(boxes, other_boxes)
    overlap[labels[:, None] != other_labels[None, :]] = 0
    pairs = []
    for i in np.argsort(-scores):
        if overlap.shape[1] and overlap[i].max() >= 0.5:
            j = int(overlap[i].argmax())
            pairs.append((int(i), j))
            overlap[:, j] = 0
    return pairs


def mask_iou(a: np.ndarray, b: np.ndarray, certain: np.ndarray | None = None) -> float:
    """IoU of two binary masks, over the `certain` pixels only when given."""
    if certain is not None:
        a, b = a & certain, b & certain
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
