"""The picture itself, judged first: real photos pass; darkened, black, blown-out, blurred,
noisy, washed-out and shrunk copies of them warn or fail with the reason, and what needs sight
is "not checked" on a picture too poor to see into. Real detector and person models."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.core.results import CheckReport, Verdict
from edge.core.types import Detections
from edge.inference.checker import CheckConfig, Checker
from edge.inference.modelcard import bundled_dir
from edge.inference.pipeline import PipelineConfig
from edge.judge.background_rules import RollingCheck, check_frame
from edge.judge.check_thresholds import load_check_thresholds
from edge.judge.picture_rules import (
    ABOUT_YOU,
    VOUCHES_FOR_ABSENCE,
    judge_picture,
    judge_resolution,
    picture_stats,
)
from edge.judge.rubric import load_rubric
from officescore.cli import app
from tests.edge.judge.test_background import ALL, YOU, you_at
from tests.helpers import HOMES, PHOTOS, runner

CONFIG = load_check_thresholds(
    bundled_dir() / "check.toml", load_rubric(bundled_dir() / "rubric.toml").places
)
REAL = sorted(HOMES.glob("*.jpg")) + sorted(PHOTOS.glob("*.jpg"))
OFFICE = HOMES / "000000066635.jpg"  # a home office with a monitor, keyboard and chair


def darkened(image: np.ndarray, factor: float) -> np.ndarray:
    return (image.astype(np.float32) * factor).astype(np.uint8)


TRANSFORMS = {
    "darkened to 12 %": (lambda i: darkened(i, 0.12), "fail", {"too dark"}),
    "black": (lambda i: darkened(i, 0.02), "fail", {"black"}),
    "blown out": (
        lambda i: np.clip(i.astype(np.float32) * 3 + 60, 0, 255).astype(np.uint8),
        "fail",
        {"blown out"},
    ),
    "blurred": (lambda i: cv2.GaussianBlur(i, (0, 0), 4), "fail", {"too blurred"}),
    "noisy": (
        lambda i: np.clip(i + np.random.default_rng(0).normal(0, 20, i.shape), 0, 255).astype(
            np.uint8
        ),
        "warn or fail",
        {None},  # grain alone does not hide what is there
    ),
    "washed out": (
        lambda i: (i * 0.35 + 150).astype(np.uint8),
        "warn or fail",
        {None, "washed out", "blown out"},  # a bright photo washed out is blown out too
    ),
}


def judged(image: np.ndarray) -> tuple[Verdict, str | None]:
    return judge_picture(
        picture_stats(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), CONFIG.picture.clipped_at),
        CONFIG.picture,
    )


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_photos_pass(path: Path) -> None:
    verdict, blinds = judged(cv2.imread(str(path)))
    assert verdict.status == "pass" and blinds is None, verdict.reason


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("path", REAL[:6], ids=lambda p: p.name)
def test_each_poor_picture_warns_or_fails_with_its_reason(path: Path, name: str) -> None:
    transform, expected, blinds = TRANSFORMS[name]
    verdict, said = judged(transform(cv2.imread(str(path))))
    assert verdict.status in expected, (name, verdict.reason)
    assert verdict.reason.startswith("the ") and ": " in verdict.reason  # what to do, too
    assert said in blinds


def test_a_shrunk_photo_and_a_small_camera_warn_on_resolution() -> None:
    small = cv2.resize(cv2.imread(str(OFFICE)), (320, 240))
    stats = picture_stats(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), CONFIG.picture.clipped_at)
    assert judge_resolution(stats, CONFIG.camera, live=False).status == "warn"
    photo = picture_stats(
        cv2.cvtColor(cv2.imread(str(OFFICE)), cv2.COLOR_BGR2GRAY), CONFIG.picture.clipped_at
    )
    assert judge_resolution(photo, CONFIG.camera, live=False).status == "pass"
    live = judge_resolution(photo, CONFIG.camera, live=True)
    assert live.status == "warn" and "below 720p" in live.reason


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(CheckConfig(PipelineConfig()))


def by_id(report: CheckReport | None) -> dict[str, Verdict]:
    assert report is not None
    return {v.id: v for v in report.verdicts}


def test_a_dark_office_is_not_a_clean_background(checker: Checker) -> None:
    office = cv2.imread(str(OFFICE))
    good = by_id(checker.check(office, "office").check)
    assert good["picture"].status == "pass"
    assert all(not v.reason.startswith("the picture is") for v in good.values())
    dark = by_id(checker.check(darkened(office, 0.12), "dark").check)
    assert dark["picture"].status == "fail" and "too dark" in dark["picture"].reason
    for name in VOUCHES_FOR_ABSENCE | ABOUT_YOU:
        assert dark[name].status == "not_checked", name
        assert dark[name].reason == "the picture is too dark", name


def test_a_dark_portrait_still_judges_the_face_it_found(
    checker: Checker, portrait: np.ndarray
) -> None:
    dark = by_id(checker.check(darkened(portrait, 0.3), "dark").check)
    assert dark["picture"].status == "fail"
    assert dark["lighting"].status == "fail"  # her face was found: it is too dark, and says so
    for name in VOUCHES_FOR_ABSENCE:
        assert dark[name].reason == "the picture is too dark", name


def test_the_cli_says_why_and_draws_the_picture_criterion(tmp_path: Path) -> None:
    dark = tmp_path / "dark.jpg"
    cv2.imwrite(str(dark), darkened(cv2.imread(str(OFFICE)), 0.12))
    result = runner.invoke(app, ["check", str(dark), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "verdict: fail: The picture itself (dark.jpg)" in result.stderr
    assert "the picture is too dark" in result.stdout
    drawn = cv2.imread(str(tmp_path / "out" / "dark.check.jpg"))
    assert drawn is not None and drawn.shape[1] > 640
    record = json.loads(runner.invoke(app, ["check", str(dark), "--json"]).stdout)
    criteria = [c["id"] for c in record["check"]["criteria"]]
    assert criteria[:2] == ["picture", "camera"]


def test_live_a_slow_or_stalling_camera_and_an_empty_room_warn(tmp_path: Path) -> None:
    office = cv2.imread(str(OFFICE))
    seen = check_frame(office, you_at(YOU), ALL, CONFIG, live=True)
    rolling = RollingCheck(3.0, CONFIG)
    for i in range(45):  # 15 frames a second
        steady = by_id(rolling.update(seen, i / 15, i))
    assert steady["camera"].evidence["fps"] == pytest.approx(15.0)
    assert "15 frames a second" in steady["camera"].reason
    slow = RollingCheck(3.0, CONFIG)
    for i in range(20):  # 6 frames a second
        choppy = by_id(slow.update(seen, i / 6, i))
    assert choppy["camera"].status == "fail" and "6 frames a second" in choppy["camera"].reason
    stalled = RollingCheck(3.0, CONFIG)
    for i, t in enumerate([0.0, 0.07, 0.13, 1.6, 1.67]):
        frozen = by_id(stalled.update(seen, t, i))
    assert frozen["camera"].status == "fail" and "stalled for 1.5 s" in frozen["camera"].reason
    empty = check_frame(office, Detections.empty(), ALL, CONFIG, live=True)
    away = RollingCheck(3.0, CONFIG)
    for i in range(70):
        gone = by_id(away.update(empty, i / 15, i))
        if i / 15 < 3.0:
            assert gone["people"].status == "pass"
        if i == 45:  # 3 s after the first empty frame, that one at t = 0 included
            assert gone["people"].status == "warn", gone["people"]
    assert gone["people"].status == "warn"
    assert gone["people"].reason.startswith("you are not in the picture")


def test_a_bright_sky_behind_her_head_is_backlight(checker: Checker, portrait: np.ndarray) -> None:
    assert by_id(checker.check(portrait, "portrait").check)["backlight"].status == "pass"
    person = checker.check(portrait, "portrait").person
    assert person is not None and person.face is not None
    x0, y0, x1, _ = person.face.box.astype(int).tolist()
    sky = portrait.copy()
    behind = person.mask <= 0.5
    band = np.zeros(behind.shape, bool)
    band[: max(y0 + (x1 - x0), 1), max(x0 - (x1 - x0), 0) : x1 + (x1 - x0)] = True
    sky[behind & band] = 255  # a window right around her head; the rest of the room unchanged
    backlight = by_id(checker.check(sky, "sky").check)["backlight"]
    assert backlight.status in ("warn", "fail"), backlight.evidence
    assert "behind your head" in backlight.reason
