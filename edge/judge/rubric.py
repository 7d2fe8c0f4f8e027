"""The office score: a rubric (data) applied to the objects read as a scene (edge.judge.scene),
then weighed by the kind of place they say it is (edge.judge.places), smoothed over time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import tomllib

from edge.core.errors import OfficeScoreError
from edge.core.results import CriterionResult, Score, Status
from edge.core.types import Detections
from edge.core.vocabulary import CANNOT_SEE, CANONICAL_ID, CANONICAL_NAMES, Sight
from edge.judge.places import Place, load_places
from edge.judge.scene import Scene, ScreenRules, load_screen_rules, read_scene


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    kind: Literal["reward", "penalty"]
    object_ids: tuple[int, ...]
    points: int
    at_least: int
    reason_yes: str
    reason_no: str
    implied_by: tuple[int, ...] = ()  # objects that imply this one (a laptop is on a desk)


@dataclass(frozen=True)
class Rubric:
    name: str
    criteria: tuple[Criterion, ...]
    places: tuple[Place, ...] = ()
    screens: ScreenRules | None = None  # None: screens are taken as the model labels them

    def read(self, detections: Detections) -> Scene:
        """The detections read as a scene (a screen with nothing to work with is a TV)."""
        return (
            Scene(detections, ()) if self.screens is None else read_scene(detections, self.screens)
        )


def load_rubric(path: Path) -> Rubric:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise OfficeScoreError(f"cannot read rubric {path}: {error}") from None
    criteria = [_criterion(entry, "reward", path) for entry in data.get("reward", [])]
    criteria += [_criterion(entry, "penalty", path) for entry in data.get("penalty", [])]
    if not criteria:
        raise OfficeScoreError(f"rubric {path} has no [[reward]] or [[penalty]] entries")
    screens = data.get("screens")
    return Rubric(
        name=str(data.get("name", path.stem)),
        criteria=tuple(criteria),
        places=load_places(data.get("place", []), path),
        screens=None if screens is None else load_screen_rules(screens, path),
    )


def _criterion(entry: dict, kind: Literal["reward", "penalty"], path: Path) -> Criterion:
    yes, no = ("met", "missing") if kind == "reward" else ("hit", "clear")
    try:
        named = [*entry["objects"], *entry.get("implied_by", [])]
        unknown = [name for name in named if name not in CANONICAL_ID]
        if unknown:
            raise OfficeScoreError(f"rubric {path}: unknown object names {unknown}")
        criterion = Criterion(
            id=str(entry["id"]),
            title=str(entry["title"]),
            kind=kind,
            object_ids=tuple(CANONICAL_ID[name] for name in entry["objects"]),
            points=int(entry["points"]),
            at_least=int(entry.get("at_least", 1)),
            reason_yes=str(entry[yes]),
            reason_no=str(entry[no]),
            implied_by=tuple(CANONICAL_ID[name] for name in entry.get("implied_by", [])),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise OfficeScoreError(f"rubric {path}: bad {kind} entry {entry!r}: {error}") from None
    if criterion.points < 0 or criterion.at_least < 1:
        raise OfficeScoreError(f"rubric {path}: {criterion.id} needs points >= 0, at_least >= 1")
    return criterion


def score_counts(
    counts: np.ndarray, rubric: Rubric, sight: Sight, scene: tuple[str, ...] = ()
) -> Score:
    """Apply `rubric` to a count vector over the canonical vocabulary (of objects already read
    as a scene, whose `scene` notes the score carries).

    A reward the model cannot judge (`sight`) is "not checked" and left out of the possible
    points. Penalties count whatever visible object is found. Then the place the objects say
    this is takes its penalty and caps the score, with a row that says so.
    """
    visible_ids = {CANONICAL_ID[name] for name in sight.visible}
    judged_ids = {CANONICAL_ID[name] for name in sight.judged}
    count_of = [int(c) for c in counts.tolist()]
    results = []
    earned = possible = penalty = 0
    for criterion in rubric.criteria:
        count = sum(count_of[i] for i in criterion.object_ids)
        if criterion.kind == "penalty":
            if not visible_ids.intersection(criterion.object_ids):
                results.append(_not_checked(criterion, count, CANNOT_SEE))
                continue
            present = count >= criterion.at_least
            reason = (criterion.reason_yes if present else criterion.reason_no).format(count=count)
            points = -criterion.points if present else 0
            penalty += -points
            results.append(_result(criterion, "hit" if present else "clear", points, count, reason))
            continue
        direct = judged_ids.intersection(criterion.object_ids)
        implying = [i for i in criterion.implied_by if i in judged_ids and count_of[i] > 0]
        if not direct and not judged_ids.intersection(criterion.implied_by):
            needs = [CANONICAL_NAMES[i] for i in criterion.object_ids]
            results.append(_not_checked(criterion, count, sight.why_not(needs)))
            continue
        possible += criterion.points
        if direct and count >= criterion.at_least:
            reason = criterion.reason_yes.format(count=count)
        elif implying:
            names = ", ".join(CANONICAL_NAMES[i] for i in implying)
            aside = "none seen" if direct else "the model has no reliable class for it"
            reason = f"implied by {names} ({aside})"
        else:
            reason = criterion.reason_no.format(count=count)
            results.append(_result(criterion, "missing", 0, count, reason))
            continue
        earned += criterion.points
        results.append(_result(criterion, "met", criterion.points, count, reason))
    value = min(max(round(100 * earned / possible) - penalty if possible else 0, 0), 100)
    place = ""
    for here in rubric.places:
        found = here.found(count_of)
        if not found or (here.room and place):
            continue
        place = here.title if here.room else place
        weighed = min(max(value - here.penalty, 0), here.cap)
        count = sum(count_of[i] for i in here.signs)
        reason = here.reason.format(found=", ".join(found), count=count)
        if here.cap < 100:
            reason += f" (at most {here.cap})"
        taken_at_most = -(here.penalty + 100 - here.cap)
        results.append(
            CriterionResult(
                here.id, here.title, "hit", weighed - value, taken_at_most, count, reason
            )
        )
        value = weighed
    named_counts = {CANONICAL_NAMES[i]: c for i, c in enumerate(count_of) if c > 0}
    return Score(value, tuple(results), named_counts, place, scene)


def _not_checked(criterion: Criterion, count: int, reason: str) -> CriterionResult:
    return _result(criterion, "not_checked", 0, count, reason)


def _result(
    criterion: Criterion, status: Status, points: int, count: int, reason: str
) -> CriterionResult:
    max_points = criterion.points if criterion.kind == "reward" else -criterion.points
    return CriterionResult(criterion.id, criterion.title, status, points, max_points, count, reason)


def score_detections(detections: Detections, rubric: Rubric, sight: Sight) -> Score:
    """The score of detections not yet read as a scene."""
    return score_scene(rubric.read(detections), rubric, sight)


def score_scene(scene: Scene, rubric: Rubric, sight: Sight) -> Score:
    return score_counts(scene.detections.canonical_counts(), rubric, sight, scene.notes)


class RollingScore:
    """Scores smoothed object counts, so a flickering detection does not make the score jump.

    Counts follow an exponential moving average with `half_life_s`; the count the rubric sees
    only moves once the average passes the next whole number by `hysteresis`.
    """

    def __init__(
        self,
        rubric: Rubric,
        sight: Sight,
        half_life_s: float = 1.0,
        hysteresis: float = 0.25,
    ) -> None:
        if half_life_s < 0 or not 0 <= hysteresis < 0.5:
            raise ValueError("half_life_s must be >= 0 and hysteresis in [0, 0.5)")
        self.rubric = rubric
        self.sight = sight
        self.half_life_s = half_life_s
        self.hysteresis = hysteresis
        self._average: np.ndarray | None = None
        self._stable = np.zeros(len(CANONICAL_NAMES))
        self._last_t = 0.0
        self._score: Score | None = None  # the score of `_stable`, reused while it holds

    def update(self, scene: Scene, t: float) -> Score:
        """The score after `scene` (this frame's objects, read as a scene) at `t` seconds."""
        counts = scene.detections.canonical_counts().astype(np.float64)
        if self._average is None:
            self._average = counts
            self._stable = counts.copy()
        else:
            dt = max(t - self._last_t, 0.0)
            weight = 1.0 if self.half_life_s == 0 else 1.0 - math.pow(0.5, dt / self.half_life_s)
            self._average += weight * (counts - self._average)
            moved = np.abs(self._average - self._stable) >= 0.5 + self.hysteresis
            if moved.any():
                self._stable = np.where(moved, np.round(self._average), self._stable)
                self._score = None
        self._last_t = t
        if self._score is None:
            stable = self._stable.astype(np.int64)
            self._score = score_counts(stable, self.rubric, self.sight, scene.notes)
        return self._score
