"""The video-call background check: pass / warn / fail per criterion, with a reason and the
evidence, from the detections and from image statistics. Thresholds are data: models/check.toml.
"""

from __future__ import annotations

from collections import Counter, deque
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tomllib

from edge.core.errors import OfficeScoreError
from edge.core.results import SEVERITY, CheckReport, Verdict
from edge.core.results import VerdictStatus as Status
from edge.core.types import Detections
from edge.core.vocabulary import CANONICAL_ID, TOO_RARE, Sight, plural

SECTIONS = ("people", "private", "clutter", "lighting", "backlight", "framing", "helps")


def load_check_config(path: Path) -> dict[str, dict[str, Any]]:
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise OfficeScoreError(f"cannot read check thresholds {path}: {error}") from None
    missing = [name for name in SECTIONS if not isinstance(config.get(name), dict)]
    if missing:
        raise OfficeScoreError(f"check thresholds {path} lack sections {missing}")
    for section in config.values():
        for name in section.get("objects", []):
            if name not in CANONICAL_ID:
                raise OfficeScoreError(f"check thresholds {path}: unknown object name {name!r}")
    return config


def _boxes(detections: Detections, name: str) -> list[list[float]]:
    chosen = detections[detections.class_id == CANONICAL_ID[name]]
    return [[round(float(v), 1) for v in box] for box in chosen.xyxy]


def _count(detections: Detections, names: list[str]) -> int:
    ids = [CANONICAL_ID[name] for name in names]
    return int(np.isin(detections.class_id, ids).sum())


def _not_checked(verdict_id: str, title: str, needs: list[str], sight: Sight) -> Verdict:
    return Verdict(verdict_id, title, "not_checked", f"{', '.join(needs)}: {sight.why_not(needs)}")


class FrameFacts:
    """What every criterion reads: the gray image, you (the largest person), your box mask."""

    def __init__(self, image: np.ndarray, detections: Detections) -> None:
        self.gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        self.detections = detections
        people = detections[detections.class_id == CANONICAL_ID["person"]]
        areas = (people.xyxy[:, 2] - people.xyxy[:, 0]) * (people.xyxy[:, 3] - people.xyxy[:, 1])
        self.you: np.ndarray | None = people.xyxy[int(areas.argmax())] if len(people) else None
        self.others = max(len(people) - 1, 0)
        self.you_mask = np.zeros(self.gray.shape, bool)
        if self.you is not None:
            x0, y0, x1, y1 = np.clip(self.you.astype(int), 0, None).tolist()
            self.you_mask[y0:y1, x0:x1] = True
            if not self.you_mask.any():  # a box under one pixel: nothing to measure you on
                self.you = None


def check_people(facts: FrameFacts, sight: Sight, config: dict[str, Any]) -> Verdict:
    if "person" not in sight.visible:
        return _not_checked("people", "People and pets behind you", ["person"], sight)
    pets = _count(facts.detections, ["pet"]) if "pet" in sight.visible else 0
    evidence = {
        "other_people": facts.others,
        "pets": pets,
        "boxes": _boxes(facts.detections, "person") + _boxes(facts.detections, "pet"),
    }
    if facts.others:
        return Verdict(
            "people",
            "People and pets behind you",
            config["other_person"],
            f"{plural(facts.others, 'other person', 'other people')} in view",
            evidence,
        )
    if pets:
        return Verdict(
            "people",
            "People and pets behind you",
            config["pet"],
            f"{plural(pets, 'pet')} in view",
            evidence,
        )
    return Verdict("people", "People and pets behind you", "pass", "nobody else in view", evidence)


def check_private(facts: FrameFacts, sight: Sight, config: dict[str, Any]) -> Verdict:
    names = [n for n in config["objects"] if n in sight.visible]
    if not names:
        return _not_checked("private", "Bed or bathroom in view", config["objects"], sight)
    found = {n: _boxes(facts.detections, n) for n in names if _count(facts.detections, [n])}
    if found:
        return Verdict(
            "private",
            "Bed or bathroom in view",
            "fail",
            f"{', '.join(found)} in view",
            {"boxes": found},
        )
    return Verdict("private", "Bed or bathroom in view", "pass", "no bed or bathroom in view")


def check_clutter(facts: FrameFacts, sight: Sight, config: dict[str, Any]) -> Verdict:
    names = [n for n in config["objects"] if n in sight.visible]
    items = _count(facts.detections, names)
    background = ~facts.you_mask
    edges = cv2.Canny(facts.gray, 100, 200) > 0
    density = round(float(edges[background].mean()), 3) if background.any() else 0.0
    evidence = {"loose_items": items, "edge_density": density}
    if items >= config["fail_items"] or density > config["fail_edges"]:
        status: Status = "fail"
    elif items >= config["warn_items"] or density > config["warn_edges"]:
        status = "warn"
    else:
        status = "pass"
    reason = f"{plural(items, 'loose item')}, background edge density {density:.2f}"
    return Verdict("clutter", "Clutter and busy background", status, reason, evidence)


def check_lighting(facts: FrameFacts, config: dict[str, Any]) -> Verdict:
    region = facts.you_mask if facts.you is not None else np.ones(facts.gray.shape, bool)
    level = round(float(facts.gray[region].mean()), 1)  # decide on what the user is shown
    where = "you" if facts.you is not None else "the frame"
    status: Status = (
        "fail"
        if level < config["fail_below"]
        else "warn"
        if level < config["warn_below"]
        else "pass"
    )
    return Verdict(
        "lighting",
        "Lighting",
        status,
        f"{where} at luminance {level:.1f} of 255",
        {"luminance": level, "measured_on": where},
    )


def check_backlight(facts: FrameFacts, config: dict[str, Any]) -> Verdict:
    if facts.you is None or facts.you_mask.all():
        return Verdict("backlight", "Backlight", "not_checked", "needs you in the frame")
    you = float(facts.gray[facts.you_mask].mean())
    background = float(facts.gray[~facts.you_mask].mean())
    ratio = round(background / max(you, 1.0), 2)
    status: Status = (
        "fail"
        if ratio > config["fail_ratio"]
        else "warn"
        if ratio > config["warn_ratio"]
        else "pass"
    )
    return Verdict(
        "backlight",
        "Backlight",
        status,
        f"background {ratio:.2f}× as bright as you",
        {"ratio": ratio, "you": round(you, 1), "background": round(background, 1)},
    )


def check_framing(facts: FrameFacts, config: dict[str, Any]) -> Verdict:
    if facts.you is None:
        return Verdict("framing", "Framing", "not_checked", "needs you in the frame")
    height, width = facts.gray.shape
    x0, y0, x1, y1 = (float(v) for v in facts.you)
    offset = round(abs((x0 + x1) / 2 - width / 2) / width, 3)
    area = round((x1 - x0) * (y1 - y0) / (width * height), 3)
    evidence = {"offset": offset, "area": area, "box": [x0, y0, x1, y1]}
    if offset > config["fail_offset"] or area < config["fail_area_below"]:
        status: Status = "fail"
    elif (
        offset > config["warn_offset"]
        or area < config["warn_area_below"]
        or area > config["warn_area_above"]
    ):
        status = "warn"
    else:
        status = "pass"
    reason = f"you are {offset:.1%} of the width off centre and fill {area:.1%} of the frame"
    return Verdict("framing", "Framing", status, reason, evidence)


def check_helps(facts: FrameFacts, sight: Sight, config: dict[str, Any]) -> Verdict:
    names = [n for n in config["objects"] if n in sight.judged]  # a reward: judged names only
    if not names:
        return _not_checked("helps", "Plants, books, art", config["objects"], sight)
    found = [n for n in names if _count(facts.detections, [n])]
    if found:
        return Verdict(
            "helps", "Plants, books, art", "pass", f"{', '.join(found)} in view", {"found": found}
        )
    unjudged = [n for n in config["objects"] if n in sight.unreliable]
    aside = f" ({', '.join(unjudged)} not judged: {TOO_RARE})" if unjudged else ""
    return Verdict(
        "helps",
        "Plants, books, art",
        "warn",
        f"no {' or '.join(names)} in view: a plant or some decor helps{aside}",
    )


def check_frame(
    image: np.ndarray,
    detections: Detections,
    sight: Sight,
    config: dict[str, dict[str, Any]],
) -> CheckReport:
    facts = FrameFacts(image, detections)
    return CheckReport(
        (
            check_people(facts, sight, config["people"]),
            check_private(facts, sight, config["private"]),
            check_clutter(facts, sight, config["clutter"]),
            check_lighting(facts, config["lighting"]),
            check_backlight(facts, config["backlight"]),
            check_framing(facts, config["framing"]),
            check_helps(facts, sight, config["helps"]),
        )
    )


class RollingCheck:
    """The verdict over the last `window_s` seconds: per criterion, its most frequent status
    (ties go to the more severe), so one odd frame does not flip the light."""

    def __init__(self, window_s: float = 3.0) -> None:
        self.window_s = window_s
        self._recent: deque[tuple[float, CheckReport]] = deque()

    def update(self, report: CheckReport, t: float) -> CheckReport:
        self._recent.append((t, report))
        while self._recent and self._recent[0][0] < t - self.window_s:
            self._recent.popleft()
        rolled = []
        for index, latest in enumerate(report.verdicts):
            history = [r.verdicts[index] for _, r in self._recent]
            counts = Counter(v.status for v in history)
            status = max(counts, key=lambda s: (counts[s], SEVERITY[s]))
            if status != latest.status:
                latest = next(v for v in reversed(history) if v.status == status)
            rolled.append(latest)
        return CheckReport(tuple(rolled))
