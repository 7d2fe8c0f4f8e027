"""Reading the objects as a scene before anything is scored: which screen is a computer monitor
and which a TV, which keyboard is a laptop's own, which two boxes are one screen. The rules'
numbers are data: the [screens] table of models/rubric.toml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.core.boxes import box_areas, box_intersections
from edge.core.errors import OfficeScoreError
from edge.core.types import Detections
from edge.core.vocabulary import CANONICAL_ID

MONITOR, LAPTOP, KEYBOARD, PERSON = (
    CANONICAL_ID[n] for n in ("monitor", "laptop", "keyboard", "person")
)
TELEVISION = CANONICAL_ID["television"]


@dataclass(frozen=True)
class ScreenRules:
    work_near: tuple[int, ...]  # any of these near a screen makes it a computer monitor
    near: float  # ... within this many of the screen's widths (the gap between the boxes)
    same_screen: float  # two screen boxes sharing this much of the smaller one: one screen
    laptop_keyboard: float  # a keyboard this much inside a laptop's box is the laptop's own
    user_near: float  # a person this near a screen (in its widths), as tall or taller, uses it ...
    rest: tuple[int, ...]  # ... unless one of these (a couch, a bed) is in view: then it is a TV
    work_near_at_rest: tuple[int, ...]  # with `rest` in view, only these make a monitor


@dataclass(frozen=True)
class Scene:
    detections: Detections  # what the score and the check judge
    notes: tuple[str, ...]  # what the reading decided, in words


def load_screen_rules(table: Any, path: object) -> ScreenRules:
    try:
        named = [*table["work_near"], *table["rest"], *table["work_near_at_rest"]]
        unknown = [name for name in named if name not in CANONICAL_ID]
        if unknown:
            raise OfficeScoreError(f"rubric {path}: [screens] unknown object names {unknown}")
        rules = ScreenRules(
            work_near=tuple(CANONICAL_ID[name] for name in table["work_near"]),
            near=float(table["near"]),
            same_screen=float(table["same_screen"]),
            laptop_keyboard=float(table["laptop_keyboard"]),
            user_near=float(table["user_near"]),
            rest=tuple(CANONICAL_ID[name] for name in table["rest"]),
            work_near_at_rest=tuple(CANONICAL_ID[name] for name in table["work_near_at_rest"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise OfficeScoreError(f"rubric {path}: [screens] needs {error}") from None
    if (
        min(rules.near, rules.user_near) < 0
        or not 0 < rules.same_screen <= 1
        or not 0 < rules.laptop_keyboard <= 1
    ):
        raise OfficeScoreError(
            f"rubric {path}: [screens] needs near and user_near >= 0, "
            "same_screen and laptop_keyboard in (0, 1]"
        )
    return rules


def _gaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """len(a) × len(b) distances between the boxes' edges (0 where they overlap)."""
    dx = np.maximum(b[None, :, 0] - a[:, None, 2], a[:, None, 0] - b[None, :, 2])
    dy = np.maximum(b[None, :, 1] - a[:, None, 3], a[:, None, 1] - b[None, :, 3])
    return np.hypot(np.clip(dx, 0, None), np.clip(dy, 0, None))


def _screen_rank(detections: Detections, index: int) -> tuple[float, bool]:
    """Of two boxes on one screen the surer one stays; on a tie, the laptop."""
    return float(detections.confidence[index]), bool(detections.class_id[index] == LAPTOP)


def _heights(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, 3] - boxes[:, 1]


def _near(
    boxes: np.ndarray, screens: np.ndarray, others: np.ndarray, widths: float, each: bool = False
) -> np.ndarray:
    """Which `others` lie within `widths` of each screen's width of it (screens × others with
    `each`, else whether any does, per screen)."""
    if not len(others):
        return np.zeros((len(screens), 0) if each else len(screens), bool)
    reach = widths * np.maximum(boxes[screens, 2] - boxes[screens, 0], 1.0)
    close = _gaps(boxes[screens], boxes[others]) <= reach[:, None]
    return close if each else close.any(axis=1)


def read_scene(detections: Detections, rules: ScreenRules) -> Scene:
    """The detections as a person reads the scene, and what changed, in words."""
    boxes = detections.xyxy.astype(np.float64)
    classes = detections.class_id.copy()
    keep = np.ones(len(detections), bool)
    notes = []
    areas = box_areas(boxes)

    keyboards, laptops = np.flatnonzero(classes == KEYBOARD), np.flatnonzero(classes == LAPTOP)
    if len(keyboards) and len(laptops):
        inside = box_intersections(boxes[keyboards], boxes[laptops]).max(axis=1)
        own = inside >= rules.laptop_keyboard * np.maximum(areas[keyboards], 1e-9)
        keep[keyboards[own]] = False
        if own.any():
            notes.append("a keyboard within a laptop is the laptop's own, not a separate one")

    screens = np.flatnonzero(np.isin(classes, (MONITOR, LAPTOP)))
    if len(screens) > 1:
        shared = box_intersections(boxes[screens], boxes[screens])
        smaller = np.minimum(areas[screens][:, None], areas[screens][None, :])
        pairs = np.argwhere(np.triu(shared >= rules.same_screen * np.maximum(smaller, 1e-9), 1))
        for first, second in screens[pairs].tolist():
            if keep[first] and keep[second]:
                weaker = sorted((first, second), key=lambda i: _screen_rank(detections, i))[0]
                keep[weaker] = False
        if len(pairs):
            notes.append("two boxes on one screen count as one screen")

    monitors = np.flatnonzero(keep & (classes == MONITOR))
    if len(monitors):
        resting = np.isin(classes[keep], rules.rest).any()  # a couch or bed in view
        work = rules.work_near_at_rest if resting else rules.work_near
        used = _near(boxes, monitors, np.flatnonzero(keep & np.isin(classes, work)), rules.near)
        if not resting:
            users = np.flatnonzero(keep & (classes == PERSON))
            tall = _heights(boxes[users])[None, :] >= _heights(boxes[monitors])[:, None]
            used |= (_near(boxes, monitors, users, rules.user_near, each=True) & tall).any(axis=1)
        televisions = monitors[~used]
        classes[televisions] = TELEVISION
        if len(televisions):
            notes.append(
                "a screen with no keyboard, mouse or laptop near it, and nobody at it, is a TV"
            )
    if keep.all() and not notes:
        return Scene(detections, ())
    read = Detections(
        xyxy=detections.xyxy,
        confidence=detections.confidence,
        class_id=classes.astype(detections.class_id.dtype),
        label=detections.label,
        mask=detections.mask,
    )
    return Scene(read[keep], tuple(notes))
