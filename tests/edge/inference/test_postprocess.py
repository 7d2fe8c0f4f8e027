from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edge.inference.postprocess import (
    Letterbox,
    decode_yolox,
    grid_points,
    nms_per_class,
    paste_masks,
    scale_boxes,
)


def test_letterbox_wide_frame_goes_top_left_with_padding() -> None:
    frame = np.random.default_rng(0).integers(0, 255, (240, 640, 3), np.uint8)
    letterbox = Letterbox(416, 416, pad_value=114)
    scale = letterbox(frame)
    assert scale == 416 / 640
    expected = cv2.resize(frame, (416, 156), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(letterbox.tensor[0, :, :156], expected.transpose(2, 0, 1))
    assert (letterbox.tensor[0, :, 156:] == 114).all()
    assert letterbox.tensor.dtype == np.float32 and letterbox.tensor.shape == (1, 3, 416, 416)


def test_letterbox_repads_when_the_frame_size_changes() -> None:
    letterbox = Letterbox(416, 416, 114)
    tensor = letterbox.tensor
    letterbox(np.full((240, 640, 3), 7, np.uint8))  # content in the top rows
    scale = letterbox(np.full((832, 416, 3), 50, np.uint8))  # content in the left columns
    assert scale == 0.5 and letterbox.tensor is tensor
    assert (tensor[0, :, :, :208] == 50).all()
    assert (tensor[0, :, :, 208:] == 114).all()
    letterbox(np.full((240, 640, 3), 9, np.uint8))
    assert (tensor[0, :, :156] == 9).all() and (tensor[0, :, 156:] == 114).all()


def test_grid_points_match_yolox_layout() -> None:
    offsets, strides = grid_points(416, 416, [8, 16, 32])
    assert offsets.shape == (3549, 2) and strides.shape == (3549, 1)
    assert offsets[1].tolist() == [1, 0]  # x fastest
    assert offsets[52].tolist() == [0, 1]
    assert strides[2704, 0] == 16 and strides[-1, 0] == 32
    assert offsets[-1].tolist() == [12, 12]


def _raw_with_one_object(point: int, class_index: int, classes: int = 80) -> np.ndarray:
    raw = np.zeros((3549, 5 + classes), np.float32)
    raw[point, :4] = [0.5, 0.25, np.log(4.0), np.log(2.0)]
    raw[point, 4] = 0.9
    raw[point, 5 + class_index] = 0.8
    return raw


def test_decode_yolox_places_box_from_grid_and_stride() -> None:
    offsets, strides = grid_points(416, 416, [8, 16, 32])
    point = 52 * 3 + 10  # stride 8, cell x=10, y=3
    boxes, scores, classes = decode_yolox(_raw_with_one_object(point, 62), offsets, strides, 0.5)
    centre_x, centre_y = (10 + 0.5) * 8, (3 + 0.25) * 8
    np.testing.assert_allclose(boxes[0], [centre_x - 16, centre_y - 8, centre_x + 16, centre_y + 8])
    np.testing.assert_allclose(scores, [0.72])
    assert classes.tolist() == [62]


def test_decode_yolox_drops_points_below_threshold() -> None:
    offsets, strides = grid_points(416, 416, [8, 16, 32])
    boxes, scores, _ = decode_yolox(_raw_with_one_object(0, 1), offsets, strides, 0.73)
    assert len(boxes) == 0 and len(scores) == 0


def test_nms_suppresses_overlaps_within_a_class_only() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.6, 0.9, 0.5, 0.4], np.float32)
    classes = np.array([0, 0, 1, 0])
    assert nms_per_class(boxes, scores, classes, 0.5).tolist() == [1, 2, 3]


def test_nms_ignores_non_finite_boxes_and_handles_empty() -> None:
    boxes = np.array([[0, 0, np.inf, 10], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, np.nan], np.float32)
    assert nms_per_class(boxes, scores, np.zeros(2, int), 0.5).tolist() == []
    empty = nms_per_class(
        np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int), 0.5
    )
    assert empty.tolist() == []


def test_scale_boxes_divides_and_clips_to_frame() -> None:
    boxes = np.array([[-5, 10, 100, 400]], np.float32)
    np.testing.assert_allclose(scale_boxes(boxes, (0.5, 0.5), (480, 640)), [[0, 20, 200, 480]])
    np.testing.assert_allclose(scale_boxes(boxes, (0.5, 2.0), (480, 640)), [[0, 5, 200, 200]])


def test_paste_masks_fills_the_box_for_a_solid_mask() -> None:
    masks = np.ones((2, 28, 28), np.float32)
    masks[1] = 0.0
    boxes = np.array([[10, 20, 38, 76], [0, 0, 50, 50]], np.float32)
    pasted = paste_masks(masks, boxes, (80, 100)).dense()
    ys, xs = np.nonzero(pasted[0])
    assert abs(xs.min() - 10) <= 1 and abs(xs.max() - 38) <= 1
    assert abs(ys.min() - 20) <= 1 and abs(ys.max() - 76) <= 1
    assert pasted[0, 22:74, 12:36].all()
    assert not pasted[1].any()


def test_paste_masks_keeps_mask_shape_left_half() -> None:
    masks = np.zeros((1, 28, 28), np.float32)
    masks[0, :, :14] = 1.0
    pasted = paste_masks(masks, np.array([[0, 0, 56, 56]], np.float32), (56, 56)).dense()
    assert pasted[0, 2:54, :26].all() and not pasted[0, :, 30:].any()


def test_paste_masks_clips_boxes_leaving_the_frame() -> None:
    masks = np.ones((1, 28, 28), np.float32)
    pasted = paste_masks(masks, np.array([[-40, -40, 20, 20]], np.float32), (30, 30)).dense()
    assert pasted[0, :18, :18].all() and not pasted[0, 23:, :].any()


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=32)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, (3549, 85), elements=finite_or_not), st.floats(0.01, 1.0))
def test_decode_and_nms_never_fail_on_arbitrary_outputs(raw: np.ndarray, conf: float) -> None:
    offsets, strides = grid_points(416, 416, [8, 16, 32])
    boxes, scores, classes = decode_yolox(raw, offsets, strides, conf)
    keep = nms_per_class(boxes, scores, classes, 0.45)
    assert len(np.unique(keep)) == len(keep)
    assert (scores[keep] >= conf).all()
    assert (np.diff(scores[keep]) <= 0).all()
    assert np.isfinite(boxes[keep]).all()


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        st.tuples(st.integers(0, 5), st.just(4)),
        elements=st.floats(-1e4, 1e4, width=32),
    ),
    st.integers(1, 64),
    st.integers(1, 64),
)
def test_paste_masks_stays_inside_boxes(boxes: np.ndarray, height: int, width: int) -> None:
    masks = np.ones((len(boxes), 28, 28), np.float32)
    pasted = paste_masks(masks, boxes, (height, width)).dense()
    assert pasted.shape == (len(boxes), height, width)
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    for mask, (x0, y0, x1, y1) in zip(pasted, boxes, strict=True):
        inside = (
            (xs >= min(x0, x1) - 1)
            & (xs <= max(x0, x1) + 1)
            & (ys >= min(y0, y1) - 1)
            & (ys <= max(y0, y1) + 1)
        )
        assert not (mask & ~inside).any()
