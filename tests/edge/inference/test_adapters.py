"""The YOLOX adapter alone, on the bundled card: frames of any shape letterboxed into the model's
square, a point the head marks decoded back to the frame's pixels, and an output that does not
fit the card refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

from edge.core.errors import OfficeScoreError
from edge.core.vocabulary import CANONICAL_ID
from edge.inference.adapters import YoloxAdapter, make_adapter
from edge.inference.modelcard import ModelCard, bundled_model_path, load_card_file


@pytest.fixture(scope="module")
def card() -> ModelCard:
    found = load_card_file(bundled_model_path(), None)
    assert found is not None
    return found


@pytest.mark.parametrize(("height", "width"), [(480, 640), (640, 480)])
def test_a_frame_is_letterboxed_into_the_square_keeping_its_shape(
    card: ModelCard, height: int, width: int
) -> None:
    adapter = YoloxAdapter(card, 416)
    prepared = adapter.prepare(np.full((height, width, 3), 200, np.uint8))
    tensor = prepared.inputs[adapter.input_name]
    assert tensor.shape == (1, 3, 416, 416)
    assert prepared.scale_xy == (416 / 640, 416 / 640) and prepared.frame_hw == (height, width)
    short = round(min(height, width) * 416 / 640)  # 312: the rest is padding
    inside = tensor[0, :, :short, :short]
    assert inside.min() == inside.max() == 200
    padding = tensor[0, :, short:, :] if height < width else tensor[0, :, :, short:]
    assert padding.min() == padding.max() == adapter.pad_value == 114


def test_a_marked_point_decodes_to_a_box_in_the_frames_pixels(card: ModelCard) -> None:
    adapter = YoloxAdapter(card, 416)
    prepared = adapter.prepare(np.zeros((480, 640, 3), np.uint8))
    raw = np.zeros((len(adapter.offsets), 5 + len(card.labels)), np.float32)
    chair = card.labels.index("chair")
    point = int(
        np.flatnonzero((adapter.strides[:, 0] == 16) & (adapter.offsets == (10, 5)).all(1))[0]
    )
    raw[point, :5] = (0.0, 0.0, np.log(4.0), np.log(2.0), 0.9)  # 64×32 input px at (160, 80)
    raw[point, 5 + chair] = 0.9
    found = adapter.decode([raw[None]], prepared, np.full(len(card.labels), 0.5, np.float32))
    assert list(found.names) == ["chair"] and found.class_id[0] == CANONICAL_ID["chair"]
    assert found.confidence[0] == pytest.approx(0.81)
    scale = 640 / 416
    expected = np.array([128, 64, 192, 96]) * scale  # (160 ± 32, 80 ± 16) back in the frame
    np.testing.assert_allclose(found.xyxy[0], expected, atol=1e-3)
    assert len(adapter.decode([raw[None]], prepared, np.full(len(card.labels), 0.85))) == 0


def test_an_output_that_does_not_fit_the_card_is_one_line(card: ModelCard) -> None:
    adapter = make_adapter(card, 320)
    prepared = adapter.prepare(np.zeros((240, 320, 3), np.uint8))
    wrong = np.zeros((1, 100, 85), np.float32)
    with pytest.raises(OfficeScoreError, match=r"does not fit card .*\(2100 points × 85 values\)"):
        adapter.decode([wrong], prepared, np.full(len(card.labels), 0.5, np.float32))
    with pytest.raises(OfficeScoreError, match="multiple of 32"):
        make_adapter(card, 100)
