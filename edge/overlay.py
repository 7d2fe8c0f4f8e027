"""Drawing results onto frames: boxes, masks, labels and the score panel."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from edge.check import CheckReport
from edge.scoring import Score
from edge.types import Detections
from edge.vocabulary import CANONICAL_NAMES

_STATUS_COLOURS = {
    "met": (80, 200, 80),
    "clear": (80, 200, 80),
    "missing": (60, 170, 230),
    "hit": (60, 60, 230),
    "not_checked": (150, 150, 150),
}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _palette() -> np.ndarray:
    hues = np.linspace(0, 179, len(CANONICAL_NAMES), endpoint=False).astype(np.uint8)
    hsv = np.stack([hues, np.full_like(hues, 200), np.full_like(hues, 255)], axis=1)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2BGR)[0]


PALETTE = _palette()


@dataclass(frozen=True)
class MaskLayer:
    """Masks flattened to one colour image: built once per result, blended on every frame."""

    painted: np.ndarray  # H×W bool: some mask covers the pixel
    colour: np.ndarray  # H×W×3 uint8: the colour of the top-most mask there
    window: tuple[int, int, int, int]  # x0, y0, x1, y1 around every painted pixel


def mask_layer(detections: Detections) -> MaskLayer | None:
    """Paint each mask inside its window only, later detections on top."""
    masks = detections.mask
    if masks is None or len(detections) == 0:
        return None
    windows = masks.windows.tolist()
    seen = [w for w in windows if w[2] > w[0] and w[3] > w[1]]
    if not seen:
        return None
    owner = np.zeros(masks.frame_hw, np.uint8 if len(detections) < 256 else np.uint16)
    for number, ((x0, y0, x1, y1), crop) in enumerate(
        zip(windows, masks.crops, strict=True), start=1
    ):
        np.copyto(owner[y0:y1, x0:x1], number, where=crop)
    table = np.zeros((max(256, len(detections) + 1), 3), np.uint8)
    table[1 : len(detections) + 1] = PALETTE[detections.class_id]
    if owner.dtype == np.uint8:
        colour = cv2.LUT(cv2.merge([owner, owner, owner]), table[:, None, :])
    else:
        colour = np.take(table, owner, axis=0)
    x0, y0 = min(w[0] for w in seen), min(w[1] for w in seen)
    x1, y1 = max(w[2] for w in seen), max(w[3] for w in seen)
    return MaskLayer(owner > 0, colour, (x0, y0, x1, y1))


def draw_detections(
    image: np.ndarray, detections: Detections, layer: MaskLayer | None = None
) -> None:
    """Draw in place: translucent masks, then boxes with canonical name and confidence."""
    layer = layer if layer is not None else mask_layer(detections)
    if layer is not None and layer.painted.shape == image.shape[:2]:
        x0, y0, x1, y1 = layer.window
        region = image[y0:y1, x0:x1]
        blended = cv2.addWeighted(region, 0.5, layer.colour[y0:y1, x0:x1], 0.5, 0)
        cv2.copyTo(blended, layer.painted[y0:y1, x0:x1].view(np.uint8), region)
    colours = PALETTE[detections.class_id]
    for box, colour, name, conf in zip(
        detections.xyxy.astype(int),
        colours.tolist(),
        detections.names,
        detections.confidence,
        strict=True,
    ):
        x0, y0, x1, y1 = box.tolist()
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, 2)
        text = f"{name} {conf:.2f}"
        (width, height), _ = cv2.getTextSize(text, _FONT, 0.5, 1)
        top = max(y0 - height - 6, 0)
        cv2.rectangle(image, (x0, top), (x0 + width + 4, top + height + 6), colour, -1)
        cv2.putText(image, text, (x0 + 2, top + height + 2), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)


def draw_score_panel(image: np.ndarray, score: Score, status_line: str) -> None:
    """A translucent panel at the top-left: the score, one row per criterion, a status line."""
    panel_w = min(330, image.shape[1])
    panel_h = min(52 + 18 * len(score.criteria) + 20, image.shape[0])
    region = image[:panel_h, :panel_w]
    cv2.convertScaleAbs(region, dst=region, alpha=0.35)
    rows = tuple(
        (r.title, r.status, "n/a" if r.status == "not_checked" else f"{r.points:+d}")
        for r in score.criteria
    )
    cv2.max(region, _score_rows(score.value, rows, (panel_h, panel_w)), dst=region)
    cv2.putText(image, status_line, (10, panel_h - 8), _FONT, 0.42, (200, 200, 200), 1, cv2.LINE_AA)


@functools.lru_cache(maxsize=32)
def _score_rows(
    value: int, rows: tuple[tuple[str, str, str], ...], panel_hw: tuple[int, int]
) -> np.ndarray:
    """The panel's text on black, drawn once per distinct score (a live score rarely changes)."""
    text = np.zeros((*panel_hw, 3), np.uint8)
    cv2.putText(
        text, f"Office score {value}", (10, 34), _FONT, 0.9, (255, 255, 255), 2, cv2.LINE_AA
    )
    for row, (title, status, points) in enumerate(rows):
        y = 56 + 18 * row
        cv2.circle(text, (16, y - 4), 5, _STATUS_COLOURS[status], -1)
        cv2.putText(
            text, f"{title}  {points}", (28, y), _FONT, 0.45, (235, 235, 235), 1, cv2.LINE_AA
        )
    text.flags.writeable = False
    return text


def annotate(
    image: np.ndarray,
    detections: Detections,
    score: Score,
    status_line: str,
    layer: MaskLayer | None = None,
) -> np.ndarray:
    """A copy of `image` with detections and the score panel drawn on it."""
    canvas = image.copy()
    draw_detections(canvas, detections, layer)
    draw_score_panel(canvas, score, status_line)
    return canvas


_LIGHTS = {
    "pass": (80, 200, 80),
    "warn": (40, 190, 240),
    "fail": (60, 60, 230),
    "not_checked": (150, 150, 150),
}


def draw_check_panel(image: np.ndarray, report: CheckReport) -> np.ndarray:
    """A copy with a traffic light per criterion and the worst problem in words."""
    canvas = image.copy()
    rows = len(report.verdicts)
    panel_w, panel_h = min(360, canvas.shape[1]), min(40 + 20 * rows + 24, canvas.shape[0])
    region = canvas[:panel_h, :panel_w]
    cv2.convertScaleAbs(region, dst=region, alpha=0.35)
    worst = report.worst
    headline = "Background looks good" if worst is None else f"{worst.title}: {worst.status}"
    cv2.putText(canvas, headline, (10, 26), _FONT, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
    for row, verdict in enumerate(report.verdicts):
        y = 52 + 20 * row
        cv2.circle(canvas, (18, y - 5), 7, _LIGHTS[verdict.status], -1)
        cv2.putText(canvas, verdict.title, (32, y), _FONT, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    if worst is not None:
        cv2.putText(
            canvas,
            worst.reason[:52],
            (10, panel_h - 8),
            _FONT,
            0.42,
            (200, 200, 255),
            1,
            cv2.LINE_AA,
        )
    return canvas
