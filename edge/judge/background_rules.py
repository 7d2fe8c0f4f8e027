"""The video-call background check: pass / warn / fail per criterion, with a reason and the
evidence, from the detections and from image statistics. Thresholds are data: models/check.toml
(edge.judge.check_thresholds)."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence

import numpy as np

from edge.core.results import SEVERITY, CheckReport, Verdict
from edge.core.results import VerdictStatus as Status
from edge.core.types import Detections, Person
from edge.core.vocabulary import CANONICAL_ID, TOO_RARE, Sight, plural
from edge.judge import person_rules, picture_rules
from edge.judge.check_thresholds import (
    CheckThresholds,
    ClutterThresholds,
    HelpsThresholds,
    PeopleThresholds,
    PrivateThresholds,
)
from edge.judge.frame_facts import FrameFacts, ImageFacts, frame_facts

NOBODY_IN_VIEW = "nobody in view"


def _boxes(detections: Detections, name: str) -> list[list[float]]:
    chosen = detections[detections.class_id == CANONICAL_ID[name]]
    return [[round(float(v), 1) for v in box] for box in chosen.xyxy]


def _count(detections: Detections, names: list[str]) -> int:
    ids = [CANONICAL_ID[name] for name in names]
    return int(np.isin(detections.class_id, ids).sum())


def _on_background(facts: FrameFacts) -> Detections:
    """The detections whose centre lies on the background, not on you (a mug in your hand)."""
    centres = facts.detections.xyxy.reshape(-1, 2, 2).mean(axis=1).astype(int)
    height, width = facts.gray.shape
    xs = np.clip(centres[:, 0], 0, width - 1)
    ys = np.clip(centres[:, 1], 0, height - 1)
    return facts.detections[~facts.you_mask[ys, xs]]


def _not_checked(verdict_id: str, title: str, needs: Sequence[str], sight: Sight) -> Verdict:
    return Verdict(verdict_id, title, "not_checked", f"{', '.join(needs)}: {sight.why_not(needs)}")


def check_people(facts: FrameFacts, sight: Sight, config: PeopleThresholds) -> Verdict:
    if "person" not in sight.visible and facts.face is None:
        return _not_checked("people", "People and pets behind you", ("person",), sight)
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
            config.other_person,
            f"{plural(facts.others, 'other person', 'other people')} in view",
            evidence,
        )
    if pets:
        return Verdict(
            "people",
            "People and pets behind you",
            config.pet,
            f"{plural(pets, 'pet')} in view",
            evidence,
        )
    alone = "nobody else in view" if facts.you else NOBODY_IN_VIEW
    return Verdict("people", "People and pets behind you", "pass", alone, evidence)


def check_private(facts: FrameFacts, sight: Sight, config: PrivateThresholds) -> Verdict:
    names = [n for n in config.objects if n in sight.visible]
    if not names:
        return _not_checked("private", "Bed or bathroom in view", config.objects, sight)
    found = {n: _boxes(facts.detections, n) for n in names if _count(facts.detections, [n])}
    if found:
        return Verdict(
            "private",
            "Bed or bathroom in view",
            config.status,
            f"{', '.join(found)} in view",
            {"boxes": found},
        )
    return Verdict("private", "Bed or bathroom in view", "pass", "no bed or bathroom in view")


def check_clutter(facts: FrameFacts, sight: Sight, config: ClutterThresholds) -> Verdict:
    names = [n for n in config.objects if n in sight.visible]
    items = _count(_on_background(facts), names)
    background = facts.background
    density = round(facts.mean_over(facts.edges, background), 3) if background.any() else 0.0
    evidence = {"loose_items": items, "edge_density": density}
    if items >= config.fail_items or density > config.fail_edges:
        status: Status = "fail"
    elif items >= config.warn_items or density > config.warn_edges:
        status = "warn"
    else:
        status = "pass"
    reason = f"{plural(items, 'loose item')}, background edge density {density:.2f}"
    return Verdict("clutter", "Clutter and busy background", status, reason, evidence)


def check_helps(facts: FrameFacts, sight: Sight, config: HelpsThresholds) -> Verdict:
    names = [n for n in config.objects if n in sight.judged]  # a reward: judged names only
    if not names:
        return _not_checked("helps", "Plants, books, art", config.objects, sight)
    found = [n for n in names if _count(facts.detections, [n])]
    if found:
        return Verdict(
            "helps", "Plants, books, art", "pass", f"{', '.join(found)} in view", {"found": found}
        )
    unjudged = [n for n in config.objects if n in sight.unreliable]
    aside = f" ({', '.join(unjudged)} not judged: {TOO_RARE})" if unjudged else ""
    return Verdict(
        "helps",
        "Plants, books, art",
        "warn",
        f"no {' or '.join(names)} in view: a plant or some decor helps{aside}",
    )


def check_frame(
    image: np.ndarray | ImageFacts,
    detections: Detections,
    sight: Sight,
    config: CheckThresholds,
    person: Person | None = None,
    live: bool = False,
) -> CheckReport:
    """The verdicts for one frame (or its `ImageFacts`); `person` is what the person models
    saw (None: they did not run, and you are the largest person box). The picture itself is
    judged first: where it is too poor to see into, what needs sight is not checked."""
    facts = frame_facts(image, detections, person, config)
    picture, blinds = picture_rules.judge_picture(facts.picture, config.picture)
    judged: tuple[Verdict, ...] = (
        check_people(facts, sight, config.people),
        check_private(facts, sight, config.private),
        check_clutter(facts, sight, config.clutter),
        person_rules.check_lighting(facts, config.lighting),
        person_rules.check_backlight(facts, config.backlight),
        person_rules.check_framing(facts, config.framing),
        person_rules.check_camera_angle(facts, config.camera_angle),
        person_rules.check_distance(facts, config.distance),
        person_rules.check_sharpness(facts, config.sharpness),
        check_helps(facts, sight, config.helps),
    )
    if blinds is not None:
        judged = tuple(
            picture_rules.blinded(v, blinds)
            if v.id in picture_rules.VOUCHES_FOR_ABSENCE
            or (v.id in picture_rules.ABOUT_YOU and not facts.you)
            else v
            for v in judged
        )
    camera = picture_rules.judge_resolution(facts.picture, config.camera, live)
    return CheckReport((picture, camera, *judged))


class RollingCheck:
    """The verdict over the last `window_s` seconds: per criterion, its most frequent status
    (ties go to the more severe), so one odd frame does not flip the light. Live only: the
    camera's frame rate and pauses over the window, and nobody in view for `absent_s` seconds
    ("you are not in the picture")."""

    def __init__(self, window_s: float, config: CheckThresholds) -> None:
        self.window_s = window_s
        self.camera = config.camera
        self.absent_s = float(config.people.absent_s)
        self._recent: deque[tuple[float, CheckReport, int]] = deque()
        self._nobody_since: float | None = None

    def update(self, report: CheckReport, t: float, frame_index: int) -> CheckReport:
        """`frame_index`: the frame's number from the camera, so that frames the check had
        no time for still count as delivered."""
        self._recent.append((t, report, frame_index))
        while self._recent and self._recent[0][0] < t - self.window_s:
            self._recent.popleft()
        rolled = []
        for index, latest in enumerate(report.verdicts):
            history = [r.verdicts[index] for _, r, _ in self._recent]
            counts = Counter(v.status for v in history)
            status = max(counts, key=lambda s: (counts[s], SEVERITY[s]))
            if status != latest.status:
                latest = next(v for v in reversed(history) if v.status == status)
            rolled.append(self._live(latest, report, t))
        return CheckReport(tuple(rolled))

    def _live(self, verdict: Verdict, report: CheckReport, t: float) -> Verdict:
        if verdict.id == "camera":
            fps, gap = self._delivery()
            return picture_rules.judge_frame_rate(verdict, fps, gap, self.camera)
        if verdict.id != "people":
            return verdict
        nobody = any(v.id == "people" and v.reason == NOBODY_IN_VIEW for v in report.verdicts)
        if not nobody:
            self._nobody_since = None
        elif self._nobody_since is None:
            self._nobody_since = t
        if self._nobody_since is not None and t - self._nobody_since >= self.absent_s:
            away = t - self._nobody_since
            return Verdict(
                "people",
                verdict.title,
                "warn",
                f"you are not in the picture: nobody in view for {away:.0f} s",
                verdict.evidence,
            )
        return verdict

    def _delivery(self) -> tuple[float | None, float]:
        """Frames the camera delivered a second over the window, and its longest pause per
        frame (a pause of a slow check is not the camera's: it skipped frames meanwhile)."""
        if len(self._recent) < 2:
            return None, 0.0
        times = [t for t, _, _ in self._recent]
        indices = [i for _, _, i in self._recent]
        span = times[-1] - times[0]
        if span <= 0:
            return None, 0.0
        gaps = [
            (t1 - t0) / max(i1 - i0, 1)
            for t0, t1, i0, i1 in zip(times, times[1:], indices, indices[1:], strict=False)
        ]
        return (indices[-1] - indices[0]) / span, max(gaps)
