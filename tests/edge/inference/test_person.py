"""The bundled person models (MediaPipe's, converted by scripts/make_person_models.py): equal to
the reference outputs recorded from the TFLite interpreter and MediaPipe, run on the project's
engines, and seeing a real face (Grace Hopper's public-domain US Navy portrait, which
matplotlib ships) without TensorFlow or mediapipe anywhere near the runtime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from edge.core.errors import OfficeScoreError
from edge.inference.engines import EngineRequest
from edge.inference.modelcard import bundled_dir
from edge.inference.person import PersonModels, load_cards
from tests.helpers import DATA, HOMES, REPO

REFERENCE = DATA / "person_reference.npz"
TOLERANCE = {"face": 1e-4, "selfie": 1e-3}  # as the script proved them (see its docstring)


@pytest.fixture(scope="module")
def models() -> PersonModels:
    return PersonModels(EngineRequest(threads=2))


@pytest.mark.parametrize(
    "name",
    [
        "face_detection_short_range",
        "face_landmark",
        "selfie_segmentation",
        "selfie_segmentation_landscape",
    ],
)
def test_bundled_files_reproduce_the_recorded_reference_outputs(name: str) -> None:
    reference = np.load(REFERENCE)
    cards = {card["file"]: card for card in load_cards().values()}
    low, high = cards[f"{name}.onnx"]["input"]["range"]
    session = ort.InferenceSession(
        str(bundled_dir() / f"{name}.onnx"), providers=["CPUExecutionProvider"]
    )
    pixels = reference[f"{name}/pixels"]
    tolerance = TOLERANCE[name.split("_")[0]]
    for index, image in enumerate(pixels):
        tensor = (image.astype(np.float32) / 255.0 * (high - low) + low)[None]
        outputs = session.run(None, {session.get_inputs()[0].name: tensor})
        for k, output in enumerate(outputs):
            expected = reference[f"{name}/output{k}"][index : index + 1]
            assert np.allclose(output, expected, rtol=tolerance, atol=tolerance), (name, k)


def test_a_real_face_is_found_with_its_landmarks_and_the_person_segmented(
    models: PersonModels, portrait: np.ndarray
) -> None:
    seen = models.see(portrait)
    assert len(seen.faces) == 1 and seen.face is not None and seen.face.score > 0.8
    x0, y0, x1, y1 = seen.face.box
    assert 140 < x0 < x1 < 400 and 110 < y0 < y1 < 380  # her face, not her cap or her jacket
    right_eye, left_eye, nose = seen.face.keypoints[:3]
    assert right_eye[0] < nose[0] < left_eye[0] and max(right_eye[1], left_eye[1]) < nose[1]
    assert seen.landmarks is not None and seen.landmarks.shape == (468, 3)
    inside = (seen.landmarks[:, 0] > x0 - 20) & (seen.landmarks[:, 0] < x1 + 20)
    assert inside.mean() > 0.95
    assert seen.landmarks[152, 1] > seen.landmarks[1, 1] > seen.landmarks[10, 1]  # chin, nose, brow
    assert seen.mask.shape == portrait.shape[:2]
    assert seen.mask[250:450, 150:350].mean() > 0.9  # her face and uniform
    assert seen.mask[:80, :80].mean() < 0.1  # the flag behind her
    assert set(seen.timings_ms) == {"faces", "landmarks", "segmentation"}


def test_a_second_face_pasted_in_is_a_second_face(
    models: PersonModels, portrait: np.ndarray
) -> None:
    wide = cv2.copyMakeBorder(portrait, 0, 0, 0, 512, cv2.BORDER_CONSTANT, value=(90, 90, 90))
    wide[:, 512:] = portrait
    faces = models.see(wide).faces
    assert len(faces) == 2
    assert sorted(round(float(face.box[0]) // 512) for face in faces) == [0, 1]


def test_a_photo_with_nobody_has_no_face(models: PersonModels) -> None:
    office = cv2.imread(str(HOMES / "000000255165.jpg"))
    seen = models.see(office)
    assert seen.faces == () and seen.landmarks is None
    assert seen.mask.mean() < 0.2


def test_openvino_runs_the_person_models_like_onnx_runtime(
    models: PersonModels, portrait: np.ndarray
) -> None:
    pytest.importorskip("openvino")
    on_openvino = PersonModels(EngineRequest(engine="openvino", threads=2))
    ours, theirs = models.see(portrait), on_openvino.see(portrait)
    assert on_openvino.detector.engine.ran.engine == "openvino"
    assert ours.face is not None and theirs.face is not None
    assert np.abs(ours.face.box - theirs.face.box).max() < 1.0
    assert ours.landmarks is not None and theirs.landmarks is not None
    assert np.abs(ours.landmarks[:, :2] - theirs.landmarks[:, :2]).max() < 1.0
    assert np.abs(ours.mask - theirs.mask).max() < 0.01


def test_a_person_model_that_is_not_the_bundled_file_is_refused(tmp_path: Path) -> None:
    cards = (bundled_dir() / "person_models.toml").read_text()
    changed = tmp_path / "person_models.toml"
    changed.write_text(cards.replace('sha256 = "f0532bd3', 'sha256 = "00000000', 1))
    with pytest.raises(OfficeScoreError, match="does not match"):
        PersonModels(EngineRequest(), changed)


def test_a_card_without_its_decoding_numbers_is_one_line(tmp_path: Path) -> None:
    cards = (bundled_dir() / "person_models.toml").read_text()
    changed = tmp_path / "person_models.toml"
    changed.write_text(cards.replace("decode = { presence = 0.5 }", "decode = {}", 1))
    with pytest.raises(OfficeScoreError, match=r"face_landmark.onnx: decode lacks 'presence'"):
        PersonModels(EngineRequest(), changed)


def test_the_runtime_never_loads_tensorflow_or_mediapipe() -> None:
    code = (
        "import sys, numpy as np\n"
        "from edge.inference.engines import EngineRequest\n"
        "from edge.inference.person import PersonModels\n"
        "PersonModels(EngineRequest()).see(np.zeros((240, 320, 3), np.uint8))\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'tensorflow', 'tf2onnx', 'mediapipe', 'tflite_runtime'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
