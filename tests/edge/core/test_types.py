from __future__ import annotations

import numpy as np
import pytest

from edge.core.types import Detections, InstanceMasks
from edge.core.vocabulary import CANONICAL_ID, CANONICAL_NAMES


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
        ("mask", InstanceMasks((4, 4), np.zeros((3, 4), np.int64), (np.zeros((0, 0), bool),) * 3)),
    ],
)
def test_inconsistent_arrays_are_rejected(field: str, value: object) -> None:
    arrays = dict(
        xyxy=np.zeros((2, 4), np.float32),
        confidence=np.zeros(2, np.float32),
        class_id=np.zeros(2, np.int32),
        label=np.array(["a", "b"]),
    )
    arrays[field] = value
    with pytest.raises(ValueError):
        Detections(**arrays)


def test_instance_masks_subset_and_densify() -> None:
    first, second = np.ones((2, 3), bool), np.eye(2, dtype=bool)
    masks = InstanceMasks((4, 5), np.array([[1, 0, 4, 2], [3, 2, 5, 4]]), (first, second))
    dense = masks.dense()
    assert dense.shape == (2, 4, 5)
    assert dense[0].sum() == 6 and dense[0, 0:2, 1:4].all()
    assert dense[1, 2:4, 3:5].tolist() == [[True, False], [False, True]]
    assert dense[1].sum() == 2
    kept = masks[np.array([False, True])]
    assert len(kept) == 1 and np.array_equal(kept.dense()[0], dense[1])


@pytest.mark.parametrize(
    "window, crop",
    [([0, 0, 6, 2], np.ones((2, 6), bool)), ([0, 0, 2, 2], np.ones((3, 2), bool))],
)
def test_instance_masks_must_fill_windows_inside_the_frame(
    window: list[int], crop: np.ndarray
) -> None:
    with pytest.raises(ValueError):
        InstanceMasks((4, 5), np.array([window]), (crop,))
