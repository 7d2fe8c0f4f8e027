"""The video-call check judged from the person: Grace Hopper's portrait passes every criterion
about her, and each transform flips the criterion it should and leaves the others alone. Real
detector, real person models, real photos."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.core.results import Verdict
from edge.core.types import Person
from edge.inference.checker import CheckConfig, Checker
from edge.inference.pipeline import PipelineConfig
from edge.judge.person_rules import head_pose
from officescore.cli import app
from tests.helpers import HOMES, runner

PERSON_CRITERIA = {"lighting", "backlight", "framing", "camera_angle", "distance", "sharpness"}


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(CheckConfig(PipelineConfig()))


def statuses(checker: Checker, image: np.ndarray) -> dict[str, str]:
    report = checker.check(np.ascontiguousarray(image), "test").check
    assert report is not None
    return {verdict.id: verdict.status for verdict in report.verdicts}


def flipped(checker: Checker, portrait: np.ndarray, changed: np.ndarray) -> set[str]:
    before, after = statuses(checker, portrait), statuses(checker, changed)
    return {name for name in before if before[name] != after[name]}


def test_the_portrait_passes_everything_about_her(checker: Checker, portrait: np.ndarray) -> None:
    seen = statuses(checker, portrait)
    assert {name: seen[name] for name in PERSON_CRITERIA | {"people"}} == dict.fromkeys(
        PERSON_CRITERIA | {"people"}, "pass"
    )
    result = checker.check(portrait, "portrait")
    assert result.person is not None and len(result.person.faces) == 1
    assert {"faces", "landmarks", "segmentation", "check"} <= set(result.timings_ms)


def seen(checker: Checker, image: np.ndarray) -> Person:
    person = checker.check(image, "test").person
    assert person is not None
    return person


def verdict_of(checker: Checker, image: np.ndarray, criterion: str) -> Verdict:
    report = checker.check(image, "test").check
    assert report is not None
    return next(v for v in report.verdicts if v.id == criterion)


def face_box(checker: Checker, portrait: np.ndarray) -> list[int]:
    face = seen(checker, portrait).face
    assert face is not None
    return [int(v) for v in face.box]


def test_a_darker_face_flips_lighting(checker: Checker, portrait: np.ndarray) -> None:
    darker = (portrait * 0.35).astype(np.uint8)
    changed = flipped(checker, portrait, darker)
    assert changed & PERSON_CRITERIA == {"lighting"}
    # the whole picture is too dark too: what it would vouch is not there is not checked
    assert changed - PERSON_CRITERIA == {"picture", "people", "private", "clutter", "helps"}
    assert verdict_of(checker, darker, "people").reason == "the picture is too dark"


def test_half_the_face_in_shadow_flips_lighting_as_uneven(
    checker: Checker, portrait: np.ndarray
) -> None:
    x0, _, x1, _ = face_box(checker, portrait)
    shadowed = portrait.astype(np.float32)
    shadowed[:, : (x0 + x1) // 2] *= 0.4
    changed = shadowed.astype(np.uint8)
    assert flipped(checker, portrait, changed) == {"lighting"}
    lighting = verdict_of(checker, changed, "lighting")
    assert lighting.evidence["balance"] < 0.55 and "one side of your face" in lighting.reason


def test_a_small_face_on_a_bright_wide_canvas_flips_distance_framing_and_backlight(
    checker: Checker, portrait: np.ndarray
) -> None:
    height, width = portrait.shape[:2]
    canvas = np.full((600, 1100, 3), 245, np.uint8)
    small = cv2.resize(portrait, (width // 4, height // 4), interpolation=cv2.INTER_AREA)
    canvas[400 : 400 + small.shape[0], 900 : 900 + small.shape[1]] = small
    assert flipped(checker, portrait, canvas) == {"distance", "framing", "backlight"}


def test_a_crop_of_the_face_alone_is_too_close(checker: Checker, portrait: np.ndarray) -> None:
    x0, y0, x1, y1 = face_box(checker, portrait)
    crop = portrait[max(y0, 0) : y1, max(x0, 0) : x1]
    assert flipped(checker, portrait, crop) == {"distance", "camera"}  # and a small photo
    distance = verdict_of(checker, crop, "distance")
    assert distance.status == "fail" and distance.reason.startswith("too close")


def test_a_tilted_camera_flips_camera_angle(checker: Checker, portrait: np.ndarray) -> None:
    height, width = portrait.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 20, 1.0)
    rotated = cv2.warpAffine(portrait, turn, (width, height), borderMode=cv2.BORDER_REFLECT)
    assert flipped(checker, portrait, rotated) == {"camera_angle"}
    level, tilted = seen(checker, portrait).landmarks, seen(checker, rotated).landmarks
    assert level is not None and tilted is not None
    assert head_pose(tilted)[2] - head_pose(level)[2] == pytest.approx(-20, abs=3)  # the roll


def test_a_blurred_face_flips_sharpness(checker: Checker, portrait: np.ndarray) -> None:
    blurred = cv2.GaussianBlur(portrait, (0, 0), 2)
    changed = flipped(checker, portrait, blurred)
    assert changed & PERSON_CRITERIA == {"sharpness"}
    # the whole picture is that soft: what is behind her cannot be vouched for either
    assert changed - PERSON_CRITERIA == {"picture", "people", "private", "clutter", "helps"}
    assert verdict_of(checker, blurred, "clutter").reason == "the picture is too blurred"


def test_a_second_face_pasted_in_flips_people(checker: Checker, portrait: np.ndarray) -> None:
    x0, y0, x1, y1 = face_box(checker, portrait)
    face = cv2.resize(portrait[y0:y1, x0:x1], None, fx=0.6, fy=0.6)
    two = portrait.copy()
    two[10 : 10 + face.shape[0], 5 : 5 + face.shape[1]] = face
    assert flipped(checker, portrait, two) == {"people"}


def test_nobody_in_view_leaves_the_person_criteria_not_checked(checker: Checker) -> None:
    empty_room = cv2.imread(str(HOMES / "000000255165.jpg"))
    report = checker.check(empty_room, "room").check
    assert report is not None
    about_you = {v.id: (v.status, v.reason) for v in report.verdicts if v.id in PERSON_CRITERIA}
    assert about_you == dict.fromkeys(
        PERSON_CRITERIA, ("not_checked", "nobody in view: needs you in the frame")
    )
    people = next(v for v in report.verdicts if v.id == "people")
    assert (people.status, people.reason) == ("pass", "nobody in view")


def test_check_cli_on_the_portrait_draws_the_face_and_the_guides(
    portrait_path: Path, portrait: np.ndarray, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["check", str(portrait_path), "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    criteria = {c["id"]: c for c in record["check"]["criteria"]}
    assert set(criteria) >= PERSON_CRITERIA and criteria["camera_angle"]["status"] == "pass"
    assert set(criteria["camera_angle"]["evidence"]) == {"pitch", "yaw", "roll"}
    drawn = cv2.imread(str(tmp_path / "grace_hopper.check.jpg"))
    picture = drawn[:, : portrait.shape[1]].astype(np.int16)
    height, width = portrait.shape[:2]
    changed = np.abs(picture - portrait).max(axis=2) > 40
    assert changed[:, width // 3].mean() > 0.8  # the thirds guide, top to bottom
    assert changed[height // 3, :].mean() > 0.8
    corner = np.abs(picture[:20, :20] - portrait[:20, :20]).mean()
    assert corner > 3  # the background's tint, where she is not


def test_head_pose_reads_pitch_and_yaw_from_the_landmarks_depth(
    checker: Checker, portrait: np.ndarray
) -> None:
    """Her real landmarks turned in 3-D: chin towards the camera is pitch up (the camera looks
    up at you), her left cheek towards it is yaw to her left."""
    landmarks = seen(checker, portrait).landmarks
    assert landmarks is not None
    centre = landmarks.mean(axis=0)
    pitch, yaw, _ = head_pose(landmarks)
    turn = np.radians(20)
    x, y, z = (landmarks - centre).T  # y down, z away from the camera
    tilted_back = np.stack(
        [x, y * np.cos(turn) + z * np.sin(turn), z * np.cos(turn) - y * np.sin(turn)], 1
    )
    assert head_pose(tilted_back + centre)[0] - pitch == pytest.approx(20, abs=0.5)
    turned = np.stack(
        [x * np.cos(turn) + z * np.sin(turn), y, z * np.cos(turn) - x * np.sin(turn)], 1
    )
    assert head_pose(turned + centre)[1] - yaw == pytest.approx(20, abs=0.5)
    angle = verdict_of(checker, portrait, "camera_angle")
    assert abs(angle.evidence["pitch"]) < 15 and abs(angle.evidence["yaw"]) < 10
