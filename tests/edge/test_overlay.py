from __future__ import annotations

import numpy as np
import pytest

from edge.overlay import PALETTE, draw_detections, mask_layer
from edge.postprocess import paste_masks
from edge.types import Detections
from edge.vocabulary import CANONICAL_ID


def masked(boxes: list[list[float]], names: list[str]) -> Detections:
    rng = np.random.default_rng(3)
    probabilities = rng.random((len(boxes), 28, 28)).astype(np.float32)
    xyxy = np.array(boxes, np.float32)
    return Detections(
        xyxy=xyxy,
        confidence=np.full(len(boxes), 0.9, np.float32),
        class_id=np.array([CANONICAL_ID[n] for n in names], np.int32),
        label=np.array(names),
        mask=paste_masks(probabilities, xyxy, (120, 160)),
    )


OVERLAPPING = [[10, 10, 90, 80], [50, 40, 150, 115], [-30, -30, 5, 5]]
CORNERS = np.random.default_rng(4).random((300, 2)) * [140, 100]
MANY = np.concatenate([CORNERS, CORNERS + 20], axis=1).tolist()  # more masks than uint8 holds


@pytest.mark.parametrize("boxes", [OVERLAPPING, MANY])
def test_mask_layer_paints_later_detections_on_top_and_nothing_else(
    boxes: list[list[float]],
) -> None:
    names = ["chair", "monitor", "plant"] * (len(boxes) // 3 + 1)
    detections = masked(boxes, names[: len(boxes)])
    layer = mask_layer(detections)
    assert layer is not None and detections.mask is not None
    dense = detections.mask.dense()
    assert np.array_equal(layer.painted, dense.any(axis=0))
    top_most = len(dense) - 1 - dense[::-1].argmax(axis=0)
    expected = PALETTE[detections.class_id][top_most]
    assert np.array_equal(layer.colour[layer.painted], expected[layer.painted])
    assert not layer.colour[~layer.painted].any()


def test_drawing_masks_changes_only_painted_pixels_and_boxes() -> None:
    detections = masked([[20, 30, 100, 90]], ["chair"])
    layer = mask_layer(detections)
    assert layer is not None
    image = np.full((120, 160, 3), 100, np.uint8)
    drawn = image.copy()
    draw_detections(drawn, detections, layer)
    changed = (drawn != image).any(axis=2)
    boxes_and_label = np.zeros_like(changed)
    boxes_and_label[0:93, 17:103] = True  # the 2 px outline, and the label above the box
    assert changed[layer.painted].all()
    assert not (changed & ~layer.painted & ~boxes_and_label).any()
    inside = drawn[40:80, 30:90][layer.painted[40:80, 30:90]]
    expected = (100 + PALETTE[detections.class_id[0]].astype(int)) // 2
    assert np.abs(inside.astype(int) - expected).max() <= 1


def test_a_result_without_masks_or_with_masks_outside_the_frame_has_no_layer() -> None:
    assert mask_layer(masked([[-50, -50, -10, -10]], ["chair"])) is None
    plain = masked([[20, 30, 100, 90]], ["chair"])
    assert mask_layer(Detections(plain.xyxy, plain.confidence, plain.class_id, plain.label)) is None
