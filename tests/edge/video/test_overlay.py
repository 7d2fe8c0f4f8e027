from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.core.results import Score
from edge.core.types import Detections
from edge.core.vocabulary import CANONICAL_ID, Sight
from edge.inference.modelcard import bundled_dir
from edge.inference.postprocess import paste_masks
from edge.video.overlay import (
    PALETTE,
    MaskLayer,
    annotate,
    draw_check_panel,
    draw_detections,
    fit_lines,
    mask_layer,
    panel_scale,
    panel_width,
)


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


def on_frame(layer: MaskLayer) -> tuple[np.ndarray, np.ndarray]:
    """The layer's painted pixels and colours placed in its whole frame."""
    x0, y0, x1, y1 = layer.window
    painted = np.zeros(layer.frame_hw, bool)
    colour = np.zeros((*layer.frame_hw, 3), np.uint8)
    painted[y0:y1, x0:x1] = layer.painted
    colour[y0:y1, x0:x1] = layer.colour
    return painted, colour


@pytest.mark.parametrize("boxes", [OVERLAPPING, MANY])
def test_mask_layer_paints_later_detections_on_top_and_nothing_else(
    boxes: list[list[float]],
) -> None:
    names = ["chair", "monitor", "plant"] * (len(boxes) // 3 + 1)
    detections = masked(boxes, names[: len(boxes)])
    layer = mask_layer(detections)
    assert layer is not None and detections.mask is not None
    dense = detections.mask.dense()
    painted, colour = on_frame(layer)
    assert np.array_equal(painted, dense.any(axis=0))
    top_most = len(dense) - 1 - dense[::-1].argmax(axis=0)
    expected = PALETTE[detections.class_id][top_most]
    assert np.array_equal(colour[painted], expected[painted])
    assert not colour[~painted].any()


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
    painted, _ = on_frame(layer)
    assert layer.painted.size < painted.size  # kept inside the mask's window
    assert changed[painted].all()
    assert not (changed & ~painted & ~boxes_and_label).any()
    inside = drawn[40:80, 30:90][painted[40:80, 30:90]]
    expected = (100 + PALETTE[detections.class_id[0]].astype(int)) // 2
    assert np.abs(inside.astype(int) - expected).max() <= 1


def test_a_result_without_masks_or_with_masks_outside_the_frame_has_no_layer() -> None:
    assert mask_layer(masked([[-50, -50, -10, -10]], ["chair"])) is None
    plain = masked([[20, 30, 100, 90]], ["chair"])
    assert mask_layer(Detections(plain.xyxy, plain.confidence, plain.class_id, plain.label)) is None


SIZES = [(480, 640), (640, 480), (3000, 4000), (4000, 3000), (407, 640), (240, 320)]


def score_of(photo_shape: tuple[int, int]) -> tuple[np.ndarray, Score]:
    from edge.judge.rubric import load_rubric, score_detections

    rubric = load_rubric(bundled_dir() / "rubric.toml")
    image = np.random.default_rng(sum(photo_shape)).integers(0, 255, (*photo_shape, 3), np.uint8)
    return image, score_detections(Detections.empty(), rubric, Sight(frozenset(CANONICAL_ID)))


@pytest.mark.parametrize("shape", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
def test_the_score_panel_covers_none_of_the_picture(shape: tuple[int, int]) -> None:
    """The panel sits beside the picture: every picture pixel is left as it was."""
    image, score = score_of(shape)
    annotated = annotate(image, Detections.empty(), score, "status")
    height, width = shape
    assert annotated.shape == (height, width + panel_width(height), 3)
    covered = (annotated[:, :width] != image).any(axis=2).mean()
    assert covered <= 0.15 and covered == 0.0
    panel = annotated[:, width:]
    assert (panel != panel[0, 0]).any()  # something is written in it


@pytest.mark.parametrize("shape", SIZES[:5], ids=[f"{h}x{w}" for h, w in SIZES[:5]])
def test_panel_text_grows_with_the_picture(shape: tuple[int, int]) -> None:
    """Readable from 640×480 to 4000-px photos: its text is a fixed share of the height
    (smaller frames get a smaller panel, down to half the size)."""
    image, score = score_of(shape)
    panel = annotate(image, Detections.empty(), score, "status")[:, shape[1] :]
    rows = np.flatnonzero(panel.max(axis=(1, 2)) > 200)  # rows holding bright text
    assert rows.size and (rows.max() - rows.min()) > 0.3 * shape[0]
    assert panel_scale(shape[0]) * 0.45 * 22 >= 8  # the smallest text is at least 8 px high


def test_check_panel_is_beside_the_picture() -> None:
    from edge.core.results import CheckReport, Verdict

    image = np.full((3000, 2000, 3), 90, np.uint8)
    report = CheckReport((Verdict("private", "Bed or bathroom in view", "fail", "bed in view"),))
    drawn = draw_check_panel(image, Detections.empty(), report)
    assert drawn.shape == (3000, 2000 + panel_width(3000), 3)
    assert np.array_equal(drawn[:, :2000], image)


@given(st.lists(st.text("abcdefghij×", min_size=1, max_size=14), min_size=1, max_size=30))
def test_panel_lines_fit_and_never_split_a_word(words: list[str]) -> None:
    text = " ".join(words)
    lines = fit_lines(text, 0.45, 1, 230, 3)
    assert 1 <= len(lines) <= 3
    for line in lines:
        assert (
            cv2.getTextSize(line.replace("×", "x"), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0] <= 230
        )
        for word in line.removesuffix("...").split():
            assert word in words or line.endswith("..."), (word, line)
    if not lines[-1].endswith("..."):
        assert " ".join(lines).split() == text.split()
