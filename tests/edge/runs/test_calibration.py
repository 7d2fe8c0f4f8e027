"""Scores a person would agree with: the rubric on rated real photos (tests/data/homes, the ten
it was calibrated on; homes2 and photos, the places around the objects)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.core.errors import OfficeScoreError
from edge.inference.pipeline import Pipeline
from edge.runs.calibration import calibrate, read_ratings
from edge.video.batch import read_image
from officescore.cli import app
from tests.helpers import DATA, HOMES, runner

RATINGS = {r.file: r for r in read_ratings(HOMES / "ratings.tsv")}
NOT_WORKPLACES = [f for f, r in RATINGS.items() if r.high <= 30]  # bedrooms, the living room
GOOD_OFFICES = [f for f, r in RATINGS.items() if r.low >= 50]


@pytest.fixture(scope="module")
def calibration() -> dict:
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--images",
            str(HOMES),
            "--ratings",
            str(HOMES / "ratings.tsv"),
            "--coco",
            str(HOMES / "annotations.json"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_most_photos_score_within_a_persons_band(calibration: dict) -> None:
    report = calibration["ratings"]
    assert report["photos"] == 10 and report["tolerance"] == 5
    assert report["within"] >= 8, [(r["file"], r["band"], r["score"]) for r in report["rows"]]


def test_bedrooms_and_the_living_room_score_below_every_good_office(calibration: dict) -> None:
    scores = {row["file"]: row["score"] for row in calibration["ratings"]["rows"]}
    assert len(NOT_WORKPLACES) == 3 and len(GOOD_OFFICES) == 6
    assert max(scores[f] for f in NOT_WORKPLACES) < min(scores[f] for f in GOOD_OFFICES)
    assert min(scores[f] for f in GOOD_OFFICES) >= 50


def test_the_report_has_per_criterion_agreement_and_per_class_recall(calibration: dict) -> None:
    agreement = calibration["ratings"]["criterion_agreement"]
    assert agreement["Computer"]["photos"] == 6  # the photos with ground truth
    per_class = calibration["coco"]["onnx"]["per_class"]
    assert {"laptop", "keyboard", "tv", "book"} <= set(per_class)
    assert per_class["book"]["instances"] == 31


@pytest.mark.parametrize(
    "folder, within, misses",
    [
        # a lab bench and a cluttered desk, both well equipped, that a person marks down for
        # what the model cannot see (no chair, tangled cables); a dorm desk with cans
        ("homes2", 7, {"000000009483.jpg", "000000363840.jpg", "000000345252.jpg"}),
        ("photos", 1, {"cctv_office_train283.jpg"}),  # from the ceiling: the model sees 1 person
    ],
)
def test_more_rated_places_score_within_a_persons_band(
    pipeline: Pipeline, folder: str, within: int, misses: set[str]
) -> None:
    report = calibrate(pipeline, DATA / folder, read_ratings(DATA / folder / "ratings.tsv"))
    assert report.within >= within
    assert {row.rating.file for row in report.rows if not row.within} <= misses


PERTURBATIONS = {
    "crop 4 px": lambda im: im[4:-4, 6:-6],
    "crop 10 px": lambda im: im[10:, :-10],
    "brighter 10 %": lambda im: cv2.convertScaleAbs(im, alpha=1.1),
    "darker 10 %": lambda im: cv2.convertScaleAbs(im, alpha=0.9),
}


@pytest.mark.parametrize("change", sorted(PERTURBATIONS))
def test_the_ordering_survives_small_changes(pipeline: Pipeline, change: str) -> None:
    scores = {}
    for file in RATINGS:
        image = PERTURBATIONS[change](read_image(HOMES / file)[0])
        scores[file] = pipeline.analyze(np.ascontiguousarray(image)).score.value
    assert max(scores[f] for f in NOT_WORKPLACES) < min(scores[f] for f in GOOD_OFFICES)


def test_the_work_surface_is_implied_and_says_so(pipeline: Pipeline) -> None:
    score = pipeline.analyze(read_image(HOMES / "000000516008.jpg")[0]).score
    desk = next(c for c in score.criteria if c.id == "desk")
    assert desk.status == "met" and desk.reason.startswith("implied by laptop")
    books = next(c for c in score.criteria if c.id == "books")
    assert books.status == "not_checked" and "too rarely" in books.reason
    assert score.coverage == "judged on 8 of 10 criteria"


@pytest.mark.parametrize(
    "text, message",
    [("a.jpg\t10\n", "expected file, low, high"), ("a.jpg\t50\t20\tx\n", "not within 0-100")],
)
def test_bad_ratings_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "ratings.tsv"
    bad.write_text(text)
    with pytest.raises(OfficeScoreError, match=message):
        read_ratings(bad)
