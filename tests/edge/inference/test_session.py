from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from edge.core.errors import OfficeScoreError
from edge.inference.engines import EngineRequest, providers_for
from edge.inference.pipeline import Pipeline
from edge.inference.session import Detector, SessionConfig
from tests.helpers import load_ground_truth

GPU_PROVIDERS = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.mark.parametrize(
    "device, available, expected",
    [
        ("auto", GPU_PROVIDERS, ["CUDAExecutionProvider", "CPUExecutionProvider"]),
        ("auto", ["CPUExecutionProvider"], ["CPUExecutionProvider"]),
        ("cpu", GPU_PROVIDERS, ["CPUExecutionProvider"]),
        ("cuda", ["CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]),
        ("tensorrt", GPU_PROVIDERS, GPU_PROVIDERS),
    ],
)
def test_device_maps_to_provider_list(
    device: str, available: list[str], expected: list[str]
) -> None:
    assert providers_for(device, available) == expected


def test_auto_skips_cuda_without_a_driver() -> None:
    """An onnxruntime-gpu build on a machine with no NVIDIA driver: CUDA cannot start."""
    assert providers_for("auto", GPU_PROVIDERS, gpu=False) == ["CPUExecutionProvider"]
    assert providers_for("cuda", GPU_PROVIDERS, gpu=False)[0] == "CUDAExecutionProvider"


def test_unknown_device_is_rejected() -> None:
    with pytest.raises(OfficeScoreError, match="unknown device 'npu'"):
        providers_for("npu", ["CPUExecutionProvider"])


def cuda_really_works() -> bool:
    return (
        Detector(SessionConfig(request=EngineRequest(device="cuda"))).provider
        == "CUDAExecutionProvider"
    )


def test_cpu_session_reports_the_provider_in_use() -> None:
    assert (
        Detector(SessionConfig(request=EngineRequest(device="cpu"))).provider
        == "CPUExecutionProvider"
    )


def test_cuda_without_cuda_warns_and_falls_back(capsys: pytest.CaptureFixture[str]) -> None:
    if cuda_really_works():
        pytest.skip("this machine runs CUDA; fallback cannot be observed")
    capsys.readouterr()
    detector = Detector(SessionConfig(request=EngineRequest(device="cuda")))
    assert detector.provider == "CPUExecutionProvider"
    assert (
        "warning: cuda asked for CUDAExecutionProvider but ONNX Runtime runs on CPU"
        in capsys.readouterr().err
    )


def test_cuda_without_cuda_fails_under_strict() -> None:
    if "CUDAExecutionProvider" in ort.get_available_providers() and cuda_really_works():
        pytest.skip("this machine runs CUDA")
    with pytest.raises(OfficeScoreError, match="--strict"):
        Detector(SessionConfig(request=EngineRequest(device="cuda", strict=True)))


@pytest.mark.parametrize("content", [b"", b"not an onnx model at all", None])
def test_unloadable_models_give_one_line_errors(tmp_path: Path, content: bytes | None) -> None:
    model = tmp_path / "broken.onnx"
    if content is not None:
        model.write_bytes(content)
    with pytest.raises(OfficeScoreError) as caught:
        Detector(SessionConfig(model_path=model))
    assert str(model) in str(caught.value) and "\n" not in str(caught.value)


def iou(a: np.ndarray, b: list[float]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(x1 - x0, 0) * max(y1 - y0, 0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return float(inter / (area - inter))


@pytest.mark.parametrize(
    "photo, coco_name, canonical",
    [
        ("000000000599.jpg", "cat", "pet"),
        ("000000000599.jpg", "remote", "small_item"),
        ("shared:000000000164.jpg", "chair", "chair"),
        ("shared:000000000034.jpg", "zebra", "outdoor"),
    ],
)
def test_bundled_detector_finds_ground_truth_objects(
    pipeline: Pipeline,
    photos: Path,
    request: pytest.FixtureRequest,
    photo: str,
    coco_name: str,
    canonical: str,
) -> None:
    if photo.startswith("shared:"):  # NC/ND photos: only where ../shared is beside the clone
        photos, photo = request.getfixturevalue("shared_photos"), photo.split(":")[1]
    ground_truth = load_ground_truth(photos)
    result = pipeline.analyze(cv2.imread(str(photos / photo)))
    detections, timings = result.detections, result.timings_ms
    found = detections[detections.label == coco_name]
    assert len(found) >= 1, f"no {coco_name} in {photo}: {list(detections.label)}"
    assert found.names[0] == canonical
    truths = [box for name, box in ground_truth[photo] if name == coco_name]
    assert max(iou(found.xyxy[0], box) for box in truths) > 0.5
    assert set(timings) == {"preprocess", "inference", "postprocess", "score"}


def test_letterbox_geometry_maps_boxes_back_for_any_frame_shape(
    pipeline: Pipeline, photos: Path
) -> None:
    image = cv2.imread(str(photos / "000000000599.jpg"))
    padded = cv2.copyMakeBorder(image, 0, 300, 0, 0, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    plain = pipeline.analyze(image).detections
    tall = pipeline.analyze(padded).detections
    cat_plain = plain[plain.label == "cat"].xyxy[0]
    cat_tall = tall[tall.label == "cat"].xyxy[0]
    np.testing.assert_allclose(cat_plain, cat_tall, atol=12)


def test_blank_frame_has_no_detections_and_scores_zero(pipeline: Pipeline) -> None:
    result = pipeline.analyze(np.full((480, 640, 3), 128, np.uint8))
    detections, score = result.detections, result.score
    assert len(detections) == 0 and score.value == 0
