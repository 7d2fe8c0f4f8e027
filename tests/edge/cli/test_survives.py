"""Bad inputs from README's "What it survives" table not covered next to their modules:
each gets a one-line error (or a documented fallback) and a defined exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import onnx
import pytest
from click.testing import Result
from onnx import TensorProto, helper

from edge.inference.modelcard import bundled_model_path
from officescore.cli import app
from tests.helpers import runner

LIVING_ROOM = "000000000599.jpg"


def one_line_error(stderr: str, message: str) -> None:
    lines = [line for line in stderr.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and message in lines[0], stderr
    assert "Traceback" not in stderr


def test_truncated_onnx_is_refused(photos: Path, tmp_path: Path) -> None:
    model = tmp_path / "truncated.onnx"
    model.write_bytes(bundled_model_path().read_bytes()[:100_000])

    def score_with(card: Path) -> Result:
        photo = str(photos / LIVING_ROOM)
        return runner.invoke(app, ["score", photo, "--model", str(model), "--card", str(card)])

    result = score_with(bundled_model_path().with_suffix(".toml"))
    assert result.exit_code == 2
    one_line_error(result.stderr, "does not match its model card")
    (tmp_path / "no_sha.toml").write_text(
        bundled_model_path().with_suffix(".toml").read_text().replace("sha256 =", "old_sha256 =")
    )
    result = score_with(tmp_path / "no_sha.toml")
    assert result.exit_code == 2
    one_line_error(result.stderr, f"cannot load model {model}")


def tiny_onnx(path: Path, output_shape: list[int]) -> Path:
    """A valid ONNX graph with YOLOX's input but the wrong output shape."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, "height", "width"])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, output_shape)
    shape = helper.make_tensor("shape", TensorProto.INT64, [len(output_shape)], output_shape)
    pooled = helper.make_node("GlobalAveragePool", ["images"], ["pooled"])
    reshaped = helper.make_node("Reshape", ["pooled", "shape"], ["output"])
    graph = helper.make_graph([pooled, reshaped], "wrong", [image], [out], [shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(
    "input_name, message",
    [("images", "model output (1, 3) does not fit card"), ("pixels", "inference failed")],
)
def test_onnx_with_the_wrong_inputs_or_outputs_is_refused(
    photos: Path, tmp_path: Path, input_name: str, message: str
) -> None:
    model = tiny_onnx(tmp_path / "wrong.onnx", [1, 3])
    card = bundled_model_path().with_suffix(".toml").read_text()
    card = card.replace("sha256 =", "old_sha256 =").replace(
        'name = "images"', f'name = "{input_name}"'
    )
    (tmp_path / "wrong.toml").write_text(card)
    result = runner.invoke(app, ["score", str(photos / LIVING_ROOM), "--model", str(model)])
    assert result.exit_code == 2
    one_line_error(result.stderr, message)


def test_huge_photo_is_scored(photos: Path, tmp_path: Path) -> None:
    huge = cv2.resize(cv2.imread(str(photos / LIVING_ROOM)), (8000, 8000))
    path = tmp_path / "huge.jpg"
    cv2.imwrite(str(path), huge)
    result = runner.invoke(app, ["score", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert '"pet"' in result.stdout


def test_url_that_does_not_answer_fails_with_one_line() -> None:
    result = runner.invoke(app, ["live", "--source", "rtsp://127.0.0.1:9/none", "--headless"])
    assert result.exit_code == 2
    one_line_error(result.stderr, "cannot open rtsp://127.0.0.1:9/none")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_for_json_lines_is_a_one_line_error() -> None:
    with open("/dev/full", "w") as full:
        completed = subprocess.run(
            [
                sys.executable,
                "-c",
                "from officescore.cli import main; main()",
                "live",
                "--source",
                "demo",
                "--headless",
                "--no-realtime",
                "--max-frames",
                "5",
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert completed.returncode == 2
    one_line_error(completed.stderr, "cannot write output: No space left on device")


def test_empty_video_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["live", "--source", str(empty), "--headless"])
    assert result.exit_code == 2
    one_line_error(result.stderr, "cannot open")


@pytest.mark.parametrize(
    "command, option, text, message",
    [
        ("score", "--rubric", "[[reward]]\nid = 1\n", "bad reward entry"),
        ("check", "--thresholds", "[people]\n", "section [picture] is missing"),
        ("check", "--thresholds", "not toml at all [", "cannot read check thresholds"),
    ],
)
def test_invalid_rubric_and_threshold_files_exit_2(
    photos: Path, tmp_path: Path, command: str, option: str, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = runner.invoke(app, [command, str(photos / LIVING_ROOM), option, str(path)])
    assert result.exit_code == 2
    one_line_error(result.stderr, message)


def test_model_file_named_by_user_that_is_a_folder(photos: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", str(photos / LIVING_ROOM), "--model", str(tmp_path)])
    assert result.exit_code == 2
    one_line_error(result.stderr, "model file not found")
