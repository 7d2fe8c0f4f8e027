"""Drawing results onto frames: boxes, masks, labels and the score panel."""

from __future__ import annotations

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


def mask_layer(detections: Detections) -> MaskLayer | None:
    if detections.mask is None or len(detections) == 0:
        return None
    masks = detections.mask
    top_most = len(detections) - 1 - masks[::-1].argmax(axis=0)  # later detections on top
    painted: np.ndarray = np.any(masks, axis=0)
    colour = PALETTE[detections.class_id][top_most]
    return MaskLayer(painted, colour)


def draw_detections(
    image: np.ndarray, detections: Detections, layer: MaskLayer | None = None
) -> None:
    """Draw in place: translucent masks, then boxes with canonical name and confidence."""
    layer = layer if layer is not None else mask_layer(detections)
    if layer is not None and layer.painted.shape == image.shape[:2]:
        blended = cv2.addWeighted(image, 0.5, layer.colour, 0.5, 0)
        np.copyto(image, blended, where=layer.painted[:, :, None])
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
    rows = len(score.criteria)
    panel_w, panel_h = min(330, image.shape[1]), min(52 + 18 * rows + 20, image.shape[0])
    region = image[:panel_h, :panel_w]
    cv2.convertScaleAbs(region, dst=region, alpha=0.35)
    cv2.putText(
        image, f"Office score {score.value}", (10, 34), _FONT, 0.9, (255, 255, 255), 2, cv2.LINE_AA
    )
    for row, result in enumerate(score.criteria):
        y = 56 + 18 * row
        colour = _STATUS_COLOURS[result.status]
        cv2.circle(image, (16, y - 4), 5, colour, -1)
        points = "n/a" if result.status == "not_checked" else f"{result.points:+d}"
        cv2.putText(
            image,
            f"{result.title}  {points}",
            (28, y),
            _FONT,
            0.45,
            (235, 235, 235),
            1,
            cv2.LINE_AA,
        )
    cv2.putText(image, status_line, (10, panel_h - 8), _FONT, 0.42, (200, 200, 200), 1, cv2.LINE_AA)


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
