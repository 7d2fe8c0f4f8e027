"""The bundled YOLOX graph changed in ONNX, trained in torch and written back: every step
checked against ONNX Runtime on a real photo."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import bundled_model_path
from tests.helpers import PHOTOS
from train.augment import letterboxed
from train.yolox_graph import class_count, raw_logits, to_torch, with_classes, write_weights

warnings.filterwarnings("ignore", module="onnx2torch")


@pytest.fixture(scope="module")
def photo_input() -> np.ndarray:
    image = cv2.imread(str(PHOTOS / "cctv_office_train283.jpg"))
    return letterboxed(image, 320)[0][None]


def _run(model: onnx.ModelProto, tensor: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": tensor})[0]


def test_the_same_classes_give_the_bundled_outputs_and_torch_agrees(
    photo_input: np.ndarray,
) -> None:
    bundled = onnx.load(str(bundled_model_path()))
    same = with_classes(bundled, tuple(range(80)))
    reference = _run(bundled, photo_input)
    np.testing.assert_array_equal(_run(same, photo_input), reference)
    module = to_torch(raw_logits(same))
    with torch.no_grad():
        raw = module(torch.from_numpy(photo_input))
    raw[..., 4:] = torch.sigmoid(raw[..., 4:])
    np.testing.assert_allclose(raw.numpy(), reference, atol=2e-4)


def test_new_classes_start_rare_and_trained_weights_go_back_into_the_graph(
    photo_input: np.ndarray,
) -> None:
    bundled = onnx.load(str(bundled_model_path()))
    rows = (56, 62, -1)  # chair, tv, a new class
    grown = with_classes(bundled, rows)
    assert class_count(grown) == 3
    out = _run(grown, photo_input)
    reference = _run(bundled, photo_input)
    assert out.shape == (*reference.shape[:2], 8)
    np.testing.assert_array_equal(out[..., :7], reference[..., [0, 1, 2, 3, 4, 5 + 56, 5 + 62]])
    assert out[..., 7].max() < 0.02  # the prior probability of a new class
    module = to_torch(raw_logits(grown))
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
        trained = module(torch.from_numpy(photo_input))
    trained[..., 4:] = torch.sigmoid(trained[..., 4:])
    written = write_weights(grown, module)
    np.testing.assert_allclose(_run(written, photo_input), trained.numpy(), atol=2e-4)
    assert not np.allclose(_run(written, photo_input), out, atol=1e-3)


def test_a_graph_that_is_not_yolox_is_refused() -> None:
    not_yolox = onnx.helper.make_model(onnx.helper.make_graph([], "empty", [], []))
    with pytest.raises(OfficeScoreError, match="not a YOLOX graph"):
        class_count(not_yolox)
