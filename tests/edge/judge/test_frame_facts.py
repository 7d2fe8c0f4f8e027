"""Who "you" are in a frame and which pixels are yours, directly: the largest face, else the
largest person box; your outline is the segmentation near your face (as far as
[you] face_reach says), not the person beside you; the others are counted."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from edge.core.types import Face, Person
from edge.inference.modelcard import bundled_dir
from edge.judge.check_thresholds import load_check_thresholds
from edge.judge.frame_facts import frame_facts
from tests.helpers import placed

THRESHOLDS = load_check_thresholds(bundled_dir() / "check.toml", ())
IMAGE = np.full((240, 320, 3), 90, np.uint8)


def person_with(faces: list[Face], mask: np.ndarray) -> Person:
    return Person(faces=tuple(faces), mask=mask.astype(np.float32), landmarks=None, timings_ms={})


def face_at(x0: float, y0: float, x1: float, y1: float) -> Face:
    return Face(box=np.array([x0, y0, x1, y1], np.float32), score=0.9, keypoints=np.zeros((6, 2)))


def test_without_the_person_models_you_are_the_largest_person_box() -> None:
    boxes = placed(("person", [10, 10, 60, 200]), ("person", [100, 20, 300, 230]))
    facts = frame_facts(IMAGE, boxes, None, THRESHOLDS)
    assert facts.found_by == "box" and facts.others == 1
    np.testing.assert_array_equal(facts.you_box, [100, 20, 300, 230])
    assert facts.you_mask[100, 200] and not facts.you_mask[100, 30]
    assert facts.clipped_at == THRESHOLDS.picture.clipped_at


def test_nobody_in_view_leaves_the_whole_frame_background() -> None:
    facts = frame_facts(IMAGE, placed(), None, THRESHOLDS)
    assert facts.found_by is None and not facts.you_mask.any() and facts.background.all()


def test_your_outline_stops_where_your_reach_ends() -> None:
    mask = np.zeros((240, 320), bool)
    mask[40:240, 40:120] = True  # you, under your face
    mask[40:240, 250:300] = True  # someone sitting well to your side
    face = face_at(60, 50, 100, 100)  # 40 px wide: 2.5 widths reach to x = 180
    facts = frame_facts(IMAGE, placed(), person_with([face], mask), THRESHOLDS)
    assert facts.found_by == "face"
    assert facts.you_mask[150, 80] and not facts.you_mask[150, 270]
    wider = replace(THRESHOLDS, you=replace(THRESHOLDS.you, face_reach=5.0))  # to x = 280
    reached = frame_facts(IMAGE, placed(), person_with([face], mask), wider)
    assert reached.you_mask[150, 270]


def test_a_second_face_in_nobodys_box_is_one_more_person() -> None:
    faces = [face_at(60, 50, 100, 100), face_at(220, 50, 250, 90)]
    boxes = placed(("person", [30, 30, 130, 240]))
    facts = frame_facts(IMAGE, boxes, person_with(faces, np.zeros((240, 320))), THRESHOLDS)
    assert facts.found_by == "face" and facts.others == 1
