"""Labelled names onto the starting model's outputs: same name, canonical name, --map, or new."""

from __future__ import annotations

import pytest

from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import bundled_model_path, load_card_file
from train.classes import canonical_name, parse_maps, plan_classes

BASE = load_card_file(bundled_model_path(), None)
assert BASE is not None
CCTV_NAMES = ("chair", "keyboard", "laptop", "monitor", "person", "phone")


def test_names_the_model_has_train_its_own_outputs_through_the_canonical_vocabulary() -> None:
    plan = plan_classes(CCTV_NAMES, BASE)
    assert plan.labels == BASE.labels  # nothing new: the 80 COCO outputs stay
    assert [plan.labels[o] for o in plan.output_of_class] == [
        "chair",
        "keyboard",
        "laptop",
        "tv",
        "person",
        "cell phone",
    ]
    assert plan.new_labels == ()
    uncovered = plan.uncovered_base_rows()
    assert BASE.labels.index("bed") in uncovered and BASE.labels.index("chair") not in uncovered


def test_new_names_become_new_outputs_with_canonical_names() -> None:
    plan = plan_classes(("desk", "lamp", "chair:raiseable", "whiteboard"), BASE)
    assert plan.labels[:80] == BASE.labels
    assert plan.new_labels == ("desk", "lamp", "chair:raiseable", "whiteboard")
    assert plan.source_row[80:] == (-1, -1, -1, -1)
    assert plan.canonical[80:] == ("table", "lamp", "chair", "other")
    assert plan.output_of_class == (80, 81, 82, 83)


def test_only_keeps_the_labelled_classes_starting_from_the_rows_they_mean() -> None:
    plan = plan_classes(("monitor", "desk"), BASE, keep_base=False)
    assert plan.labels == ("monitor", "desk")
    assert plan.source_row == (BASE.labels.index("tv"), -1)
    assert plan.canonical == ("monitor", "table")
    assert plan.uncovered_base_rows() == frozenset()


def test_map_names_the_class_and_bad_maps_are_one_line() -> None:
    plan = plan_classes(("screen", "desk"), BASE, mapping=parse_maps(["screen=tv"]))
    assert plan.labels[plan.output_of_class[0]] == "tv"
    with pytest.raises(OfficeScoreError, match="has no class 'sofa bed'"):
        plan_classes(("desk",), BASE, mapping={"desk": "sofa bed"})
    with pytest.raises(OfficeScoreError, match="not a labelled class"):
        plan_classes(("desk",), BASE, mapping={"lamp": "tv"})
    with pytest.raises(OfficeScoreError, match="NAME=CLASS"):
        parse_maps(["screen"])


def test_canonical_names_of_new_labels() -> None:
    assert canonical_name("Desk") == "table"
    assert canonical_name("desk lamp") == "lamp"
    assert canonical_name("chair:raiseable") == "chair"
    assert canonical_name("plant") == "plant"
    assert canonical_name("whiteboard") == "other"
