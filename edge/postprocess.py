"""Pure array geometry: letterboxing, grid decoding, NMS, scaling and mask pasting.

No I/O and no loops over detections; every function takes arrays and returns arrays.
"""

from __future__ import annotations

import cv2
import numpy as np


def letterbox_into(frame: np.ndarray, canvas: np.ndarray, pad_value: int) -> float:
    """Resize `frame` into the top-left of `canvas` (H×W×3 uint8), keeping aspect; return scale."""
    canvas_h, canvas_w = canvas.shape[:2]
    frame_h, frame_w = frame.shape[:2]
    scale = min(canvas_h / frame_h, canvas_w / frame_w)
    new_w = max(1, min(canvas_w, round(frame_w * scale)))
    new_h = max(1, min(canvas_h, round(frame_h * scale)))
    canvas[new_h:, :] = pad_value
    canvas[:new_h, new_w:] = pad_value
    cv2.resize(frame, (new_w, new_h), dst=canvas[:new_h, :new_w], interpolation=cv2.INTER_LINEAR)
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
    """
    class_index = raw[:, 5:].argmax(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite rows are dropped by NMS
        scores = raw[:, 4] * np.take_along_axis(raw[:, 5:], class_index[:, None], axis=1)[:, 0]
        keep = scores >= conf
        rows, strides_kept = raw[keep], strides[keep]
        centres = (rows[:, :2] + offsets[keep]) * strides_kept
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


def scale_boxes(boxes: np.ndarray, scale: float, frame_hw: tuple[int, int]) -> np.ndarray:
    """Input-pixel boxes → frame-pixel boxes, clipped to the frame."""
    height, width = frame_hw
    scaled = boxes / np.float32(scale)
    np.clip(scaled[:, 0::2], 0, width, out=scaled[:, 0::2])
    np.clip(scaled[:, 1::2], 0, height, out=scaled[:, 1::2])
    return scaled.astype(np.float32)


def paste_masks(
    masks: np.ndarray, boxes: np.ndarray, frame_hw: tuple[int, int], threshold: float = 0.5
) -> np.ndarray:
    """Paste N×M×M mask probabilities into their boxes on an N×H×W bool canvas.

    Each frame pixel samples its box-relative position in the small mask bilinearly, all
    detections at once, so the cost grows with the box areas, not with N Python calls.
    """
    height, width = frame_hw
    count, size = len(masks), masks.shape[-1] if masks.ndim == 3 else 0
    out = np.zeros((count, height, width), bool)
    if count == 0:
        return out
    x0, y0, x1, y1 = (boxes[:, i : i + 1].astype(np.float32) for i in range(4))
    box_w = np.maximum(x1 - x0, 1e-3)
    box_h = np.maximum(y1 - y0, 1e-3)
    # Frame pixel centres in each box's mask coordinates (cell centres at 0.5, 1.5, …).
    u = (np.arange(width, dtype=np.float32)[None, :] + 0.5 - x0) / box_w * size - 0.5
    v = (np.arange(height, dtype=np.float32)[None, :] + 0.5 - y0) / box_h * size - 0.5
    inside_x = (u >= -0.5) & (u <= size - 0.5)
    inside_y = (v >= -0.5) & (v <= size - 0.5)
    u = np.clip(u, 0, size - 1)
    v = np.clip(v, 0, size - 1)
    u0, v0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    u1, v1 = np.minimum(u0 + 1, size - 1), np.minimum(v0 + 1, size - 1)
    fu, fv = (u - u0)[:, None, :], (v - v0)[:, :, None]
    index = np.arange(count)[:, None, None]
    top = masks[index, v0[:, :, None], u0[:, None, :]] * (1 - fu)
    top += masks[index, v0[:, :, None], u1[:, None, :]] * fu
    bottom = masks[index, v1[:, :, None], u0[:, None, :]] * (1 - fu)
    bottom += masks[index, v1[:, :, None], u1[:, None, :]] * fu
    values = top * (1 - fv) + bottom * fv
    out[:] = (values >= threshold) & inside_y[:, :, None] & inside_x[:, None, :]
    return out
