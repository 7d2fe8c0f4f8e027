from __future__ import annotations

import numpy as np
import pytest

from edge.types import Detections
from edge.vocabulary import CANONICAL_ID, CANONICAL_NAMES


def make(names: list[str], confidence: list[float]) -> Detections:
    count = len(names)
    return Detections(
        xyxy=np.tile(np.array([[0, 0, 10, 10]], np.float32), (count, 1)),
        confidence=np.array(confidence, np.float32),
        class_id=np.array([CANONICAL_ID[n] for n in names], np.int32),
        label=np.array(names),
    )


def test_empty_detections_are_ordinary_values() -> None:
    empty = Detections.empty()
    assert len(empty) == 0
    assert empty.canonical_counts().tolist() == [0] * len(CANONICAL_NAMES)
    assert len(empty[empty.confidence > 0.5]) == 0


def test_boolean_filtering_keeps_arrays_parallel() -> None:
    dets = make(["chair", "monitor", "chair"], [0.9, 0.3, 0.6])
    kept = dets[dets.confidence > 0.5]
    assert kept.names == ["chair", "chair"]
    assert kept.canonical_counts()[CANONICAL_ID["chair"]] == 2


@pytest.mark.parametrize(
    "field, value",
    [
        ("xyxy", np.zeros((2, 3), np.float32)),
        ("confidence", np.zeros(3, np.float32)),
        ("class_id", np.array([0, len(CANONICAL_NAMES)], np.int32)),
        ("mask", np.zeros((3, 4, 4), bool)),
    ],
)
def test_inconsistent_arrays_are_rejected(field: str, value: np.ndarray) -> None:
    arrays = dict(
        xyxy=np.zeros((2, 4), np.float32),
        confidence=np.zeros(2, np.float32),
        class_id=np.zeros(2, np.int32),
        label=np.array(["a", "b"]),
    )
    arrays[field] = value
    with pytest.raises(ValueError):
        Detections(**arrays)
