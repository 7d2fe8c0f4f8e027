"""Box geometry on N×4 arrays of x0, y0, x1, y1, for every layer."""

from __future__ import annotations

import numpy as np


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """The area of each box (0 for one of no extent)."""
    sides = np.clip(boxes[:, 2:] - boxes[:, :2], 0, None)
    return sides[:, 0] * sides[:, 1]


def box_intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The overlap area of every box in `a` (N×4) with every box in `b` (M×4): N×M."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.clip(bottom_right - top_left, 0, None).prod(axis=2)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in `a` (N×4) with every box in `b` (M×4): an N×M array."""
    inter = box_intersections(a, b)
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - inter
    return inter / np.maximum(union, 1e-9)
