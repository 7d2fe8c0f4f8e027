"""One parity for the engine choice, bench and the export: the bundled detector's own detections
against themselves, nudged, and missing one; the thresholds a report prints are those that
decide."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edge.core.types import Detections
from edge.inference.parity import PARITY, ParityThresholds, detection_parity
from edge.inference.pipeline import Pipeline
from edge.video.batch import read_image
from export.parity import ParityReport, compare
from tests.helpers import HOMES


@pytest.fixture(scope="module")
def found(live_pipeline: Pipeline) -> Detections:
    detections = live_pipeline.analyze(read_image(HOMES / "000000255165.jpg")[0]).detections
    assert len(detections) >= 3
    return detections


def test_the_same_detections_are_at_parity_and_a_nudge_past_a_pixel_is_not(
    found: Detections,
) -> None:
    assert detection_parity(found, found).at_parity
    within = replace(found, xyxy=found.xyxy + 0.9)
    assert detection_parity(found, within).at_parity
    beyond = replace(found, xyxy=found.xyxy + np.float32(1.5))
    parity = detection_parity(found, beyond)
    assert not parity.at_parity and parity.max_box_error_px == pytest.approx(1.5)
    missing = detection_parity(found, found[np.arange(len(found)) > 0])
    assert not missing.at_parity and missing.label_agreement < 1.0


def test_the_report_is_decided_by_the_thresholds_it_writes(tmp_path: Path) -> None:
    boxes = np.array([[10.0, 10.0, 90.0, 70.0]], np.float32)
    expected = {
        "boxes": boxes,
        "labels": np.array([62]),
        "scores": np.array([0.9], np.float32),
        "masks": np.ones((1, 1, 80, 100), np.float32),
    }
    shifted = boxes + np.float32(0.5)
    row = compare(
        "image",
        expected,
        shifted,
        expected["labels"],
        expected["scores"],
        np.ones((1, 80, 100), bool),
        box_score_thresh=0.05,
    )
    assert ParityReport([row], "native").passed  # 0.5 px is within the bundled 1 px
    strict = ParityThresholds(max_box_error_px=0.25)
    report = ParityReport([row], "native", strict)
    assert report.failures == ["image: boxes differ by 0.50 px"]
    report.write(tmp_path / "parity.json")
    written = json.loads((tmp_path / "parity.json").read_text())
    assert written["thresholds"]["max_box_error_px"] == 0.25 and not written["passed"]
    assert PARITY.max_box_error_px == 1.0  # what bench and the engine choice use
