"""Drawing results onto frames: boxes, masks, labels and the score panel."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from edge.core.results import CheckReport, Score
from edge.core.types import (
    LEFT_EYE_OUTER,
    PERSON_PROBABILITY,
    RIGHT_EYE_OUTER,
    Detections,
    Person,
)
from edge.core.vocabulary import CANONICAL_NAMES

_STATUS_COLOURS = {
    "met": (80, 200, 80),
    "clear": (80, 200, 80),
    "missing": (60, 170, 230),
    "hit": (60, 60, 230),
    "not_checked": (150, 150, 150),
}
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_ASCII = str.maketrans({"×": "x", "…": "...", "≥": ">=", "≤": "<=", "–": "-", "—": "-", "→": "->"})


def _palette() -> np.ndarray:
    hues = np.linspace(0, 179, len(CANONICAL_NAMES), endpoint=False).astype(np.uint8)
    hsv = np.stack([hues, np.full_like(hues, 200), np.full_like(hues, 255)], axis=1)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2BGR)[0]


PALETTE = _palette()


@dataclass(frozen=True)
class MaskLayer:
    """Masks flattened to one colour image: built once per result, blended on every frame."""

    painted: np.ndarray  # bool inside `window`: some mask covers the pixel
    colour: np.ndarray  # uint8 ×3 inside `window`: the colour of the top-most mask there
    window: tuple[int, int, int, int]  # x0, y0, x1, y1 around every painted pixel
    frame_hw: tuple[int, int]  # the frame the window lies in


def mask_layer(detections: Detections) -> MaskLayer | None:
    """Paint each mask inside its window only, later detections on top."""
    masks = detections.mask
    if masks is None or len(detections) == 0:
        return None
    windows = masks.windows.tolist()
    seen = [w for w in windows if w[2] > w[0] and w[3] > w[1]]
    if not seen:
        return None
    left, top = min(w[0] for w in seen), min(w[1] for w in seen)
    right, bottom = max(w[2] for w in seen), max(w[3] for w in seen)
    # painted and coloured inside the masks' joint window only: objects, not the whole frame
    owner = np.zeros((bottom - top, right - left), np.uint8 if len(seen) < 256 else np.uint16)
    for number, ((x0, y0, x1, y1), crop) in enumerate(
        zip(windows, masks.crops, strict=True), start=1
    ):
        if x1 > x0 and y1 > y0:
            np.copyto(owner[y0 - top : y1 - top, x0 - left : x1 - left], number, where=crop)
    table = np.zeros((max(256, len(detections) + 1), 3), np.uint8)
    table[1 : len(detections) + 1] = PALETTE[detections.class_id]
    if owner.dtype == np.uint8:
        colour = cv2.LUT(cv2.merge([owner, owner, owner]), table[:, None, :])
    else:
        colour = np.take(table, owner, axis=0)
    return MaskLayer(owner > 0, colour, (left, top, right, bottom), masks.frame_hw)


def draw_detections(
    image: np.ndarray, detections: Detections, layer: MaskLayer | None = None
) -> None:
    """Draw in place: translucent masks, then boxes with canonical name and confidence."""
    layer = layer if layer is not None else mask_layer(detections)
    if layer is not None and layer.frame_hw == image.shape[:2]:
        x0, y0, x1, y1 = layer.window
        region = image[y0:y1, x0:x1]
        blended = cv2.addWeighted(region, 0.5, layer.colour, 0.5, 0)
        cv2.copyTo(blended, layer.painted.view(np.uint8), region)
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


PANEL_BASE_HEIGHT = 480  # the layout below is drawn for this height and scaled to the frame's
PANEL_BASE_WIDTH = 270
_PANEL_GREY = 32


def panel_scale(height: int) -> float:
    return max(height / PANEL_BASE_HEIGHT, 0.5)


def panel_width(height: int) -> int:
    """The side bar's width beside a picture `height` pixels high."""
    return round(PANEL_BASE_WIDTH * panel_scale(height))


def _beside(image: np.ndarray, bar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One new canvas: a copy of the picture with the panel beside it (never over it), and the
    view of its picture part to draw detections into."""
    height, width = image.shape[:2]
    canvas = np.empty((height, width + bar.shape[1], 3), np.uint8)
    canvas[:, :width] = image
    canvas[:, width:] = bar
    return canvas, canvas[:, :width]


def score_side_bar(height: int, score: Score | None) -> np.ndarray:
    """The score and one row per criterion, drawn for a picture this high (read-only, cached)."""
    if score is None:
        return _score_bar(height, None, "", ())
    rows = tuple(
        (c.title, c.status, "n/a" if c.status == "not_checked" else f"{c.points:+d}")
        for c in score.criteria
    )
    return _score_bar(height, score.value, score.coverage, rows)


@functools.lru_cache(maxsize=32)
def _score_bar(
    height: int, value: int | None, coverage: str, rows: tuple[tuple[str, str, str], ...]
) -> np.ndarray:
    """The score panel without the status line, drawn once per distinct score and height."""
    scale = panel_scale(height)
    bar = np.full((height, panel_width(height), 3), _PANEL_GREY, np.uint8)
    headline = "Office score ..." if value is None else f"Office score {value}"
    _text(bar, headline, (10, 34), 0.8, (255, 255, 255), scale, 2)
    _text(bar, coverage, (10, 56), 0.42, (190, 190, 190), scale)
    for row, (title, status, points) in enumerate(rows):
        y = 80 + 18 * row
        centre = (round(16 * scale), round((y - 4) * scale))
        cv2.circle(bar, centre, round(5 * scale), _STATUS_COLOURS[status], -1)
        _text(bar, f"{title}  {points}", (28, y), 0.45, (235, 235, 235), scale)
    bar.flags.writeable = False
    return bar


def _text(
    image: np.ndarray,
    text: str,
    origin: tuple[int, int],
    size: float,
    colour: tuple[int, int, int],
    scale: float,
    thickness: int = 1,
) -> None:
    """Text laid out for the base height, scaled to the picture's (OpenCV's fonts draw ASCII
    alone: the few other signs our reasons use are spelt in it)."""
    text = text.translate(_ASCII)
    x, y = round(origin[0] * scale), round(origin[1] * scale)
    weight = max(1, round(thickness * scale))
    cv2.putText(image, text, (x, y), _FONT, size * scale, colour, weight, cv2.LINE_AA)


def annotate(
    image: np.ndarray,
    detections: Detections,
    score: Score | None,
    status_line: str,
    layer: MaskLayer | None = None,
) -> np.ndarray:
    """The picture with its detections drawn, and the score panel beside it (one new image)."""
    height, width = image.shape[:2]
    canvas, picture = _beside(image, score_side_bar(height, score))
    draw_detections(picture, detections, layer)
    status = canvas[:, width:]
    _text(status, status_line, (10, height - 10), 0.42, (200, 200, 200), panel_scale(height))
    return canvas


def annotated_size(frame_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of `annotate`'s output for a frame of `frame_size` (width, height)."""
    width, height = frame_size
    return width + panel_width(height), height


_LIGHTS = {
    "pass": (80, 200, 80),
    "warn": (40, 190, 240),
    "fail": (60, 60, 230),
    "not_checked": (150, 150, 150),
}


def draw_check_panel(
    image: np.ndarray,
    detections: Detections,
    report: CheckReport,
    person: Person | None = None,
) -> np.ndarray:
    """The picture with its detections (and what the person models saw) drawn, and beside it a
    traffic light per criterion and the worst problem (one new image)."""
    height = image.shape[0]
    scale = panel_scale(height)
    bar = np.full((height, panel_width(height), 3), _PANEL_GREY, np.uint8)
    worst = report.worst
    headline = "Background looks good" if worst is None else f"{worst.title}: {worst.status}"
    heading = fit_lines(headline, 0.5, 2, PANEL_BASE_WIDTH - 20, 2)
    for line, words in enumerate(heading):
        _text(bar, words, (10, 26 + 20 * line), 0.5, (255, 255, 255), scale, 2)
    top = 52 + 20 * (len(heading) - 1)
    for row, verdict in enumerate(report.verdicts):
        y = top + 20 * row
        centre = (round(18 * scale), round((y - 5) * scale))
        cv2.circle(bar, centre, round(7 * scale), _LIGHTS[verdict.status], -1)
        title = fit_lines(verdict.title, 0.45, 1, PANEL_BASE_WIDTH - 40, 1)[0]
        _text(bar, title, (32, y), 0.45, (235, 235, 235), scale)
    if worst is not None:
        below = top + 20 * len(report.verdicts) + 8
        for line, words in enumerate(fit_lines(worst.reason, 0.42, 1, PANEL_BASE_WIDTH - 20, 6)):
            _text(bar, words, (10, below + 18 * line), 0.42, (200, 200, 255), scale)
    canvas, picture = _beside(image, bar)
    if person is not None:
        draw_person(picture, person)
    draw_detections(picture, detections)
    return canvas


_BACKGROUND_TINT = (120, 60, 160)  # BGR: a faint violet over the background
_GUIDE = (200, 200, 200)
_FACE = (255, 200, 80)


@functools.lru_cache(maxsize=4)
def _tint_image(height: int, width: int) -> np.ndarray:
    tint = np.empty((height, width, 3), np.uint8)
    tint[:] = _BACKGROUND_TINT
    tint.flags.writeable = False
    return tint


def draw_person(picture: np.ndarray, person: Person) -> None:
    """In place: a faint tint over the background (what the segmentation does not call a
    person), the rule-of-thirds guide, and your face's box and eye line."""
    height, width = picture.shape[:2]
    if person.mask.shape == (height, width):
        background = (person.mask <= PERSON_PROBABILITY).view(np.uint8)
        tinted = cv2.addWeighted(picture, 0.75, _tint_image(height, width), 0.25, 0)
        cv2.copyTo(tinted, background, picture)
    for third in (1, 2):
        x, y = width * third // 3, height * third // 3
        cv2.line(picture, (x, 0), (x, height), _GUIDE, 1, cv2.LINE_AA)
        cv2.line(picture, (0, y), (width, y), _GUIDE, 1, cv2.LINE_AA)
    face = person.face
    if face is None:
        return
    x0, y0, x1, y1 = np.round(face.box).astype(int).tolist()
    cv2.rectangle(picture, (x0, y0), (x1, y1), _FACE, 2)
    if person.landmarks is not None:
        right, left = person.landmarks[RIGHT_EYE_OUTER, :2], person.landmarks[LEFT_EYE_OUTER, :2]
        start, end = tuple(np.round(right).astype(int)), tuple(np.round(left).astype(int))
    else:
        start = tuple(np.round(face.keypoints[0]).astype(int))
        end = tuple(np.round(face.keypoints[1]).astype(int))
    cv2.line(picture, start, end, _FACE, 2, cv2.LINE_AA)


def fit_lines(text: str, size: float, thickness: int, width: int, most: int) -> list[str]:
    """`text` wrapped at spaces into lines at most `width` pixels wide (at the panel's base
    scale), at most `most` of them; what does not fit ends in '...', never mid-word."""

    def fits(line: str) -> bool:
        return cv2.getTextSize(line.translate(_ASCII), _FONT, size, thickness)[0][0] <= width

    lines: list[str] = []
    words = text.split()
    for index, word in enumerate(words):
        if lines and fits(f"{lines[-1]} {word}"):
            lines[-1] += f" {word}"
        elif len(lines) < most:
            lines.append(word)
        else:
            lines[-1] += " " + " ".join(words[index:])  # the rest: ellipsized below
            break
    for index, line in enumerate(lines):
        if not fits(line):
            kept = line.split()
            while len(kept) > 1 and not fits(" ".join(kept) + "..."):
                kept.pop()
            shortened = " ".join(kept)
            while len(kept) == 1 and shortened and not fits(shortened + "..."):
                shortened = shortened[:-1]  # one word wider than the panel: cut it, marked
            lines[index] = shortened + "..."
    return lines
