from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.video.overlay import panel_width
from officescore.cli import app
from tests.helpers import runner, write_video

LIVING_ROOM = "000000000599.jpg"
PHOTO_PAIR = (LIVING_ROOM, "cctv_office_train283.jpg")


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_score_photo_prints_breakdown_table(photos: Path) -> None:
    result = runner.invoke(app, ["score", str(photos / LIVING_ROOM)])
    assert result.exit_code == 0, result.stderr
    assert "office score" in result.stdout
    assert "Desk lamp" in result.stdout and "not checked" in result.stdout
    assert "pet ×1" in result.stdout
    assert "judged by yolox-nano-coco@640 on onnxruntime CPUExecutionProvider fp32" in result.stdout
    assert "models pull yolox-s" in result.stdout  # the bundled model says how to do better


def test_score_folder_json_and_annotated_output(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "annotated"
    # ONNX Runtime asked for by name: what `--engine auto` picks depends on the CPU
    # (tests/edge/inference/test_engine_choice.py)
    args = ["score", str(photos), "--json", "--out", str(out), "--engine", "onnxruntime"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    reports = json_lines(result.stdout)
    assert [Path(r["input"]).name for r in reports] == sorted(p.name for p in photos.glob("*.jpg"))
    living = next(r for r in reports if r["input"].endswith(LIVING_ROOM))
    assert {"pet", "small_item"} <= set(living["objects"])
    assert {d["name"] for d in living["detections"]} >= {"pet", "small_item"}
    assert (living["engine"], living["device"], living["precision"]) == (
        "onnxruntime",
        "CPUExecutionProvider",
        "fp32",
    )
    assert living["model"] == "yolox-nano-coco@640"
    judged = [c for c in living["criteria"] if c["status"] != "not_checked"]
    assert living["coverage"] == f"judged on {len(judged)} of {len(living['criteria'])} criteria"
    assert len(judged) < len(living["criteria"])  # COCO has no lamp: not checked, said so
    assert set(living["timings_ms"]) == {"preprocess", "inference", "postprocess", "score"}
    assert all(0 <= r["score"] <= 100 for r in reports)
    written = cv2.imread(str(out / "000000000599.scored.jpg"))
    original = cv2.imread(str(photos / LIVING_ROOM))
    height, width = original.shape[:2]
    assert written.shape == (height, width + panel_width(height), 3)  # the panel is beside it
    assert np.abs(written[:, :width].astype(int) - original).mean() > 1  # boxes drawn


def test_score_video_uses_the_rolling_score(photos: Path, tmp_path: Path) -> None:
    frames = [cv2.resize(cv2.imread(str(photos / name)), (640, 480)) for name in PHOTO_PAIR]
    video = write_video(tmp_path / "office.mp4", [frames[0]] * 10 + [frames[1]] * 40)
    result = runner.invoke(
        app, ["score", str(video), "--json", "--sample-fps", "15", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.stderr
    (report,) = json_lines(result.stdout)
    assert report["kind"] == "video" and report["frames"] == 50
    assert "person" in report["objects"]  # the last 2.7 s show the office
    assert "pet" not in report["objects"]  # the cat of the first 0.7 s has faded out
    capture = cv2.VideoCapture(str(tmp_path / "office.scored.mp4"))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 50


@pytest.fixture
def odd_images(photos: Path, tmp_path: Path) -> Path:
    photo = cv2.imread(str(photos / LIVING_ROOM))
    cv2.imwrite(str(tmp_path / "gray.png"), cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(tmp_path / "rgba.png"), cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(tmp_path / "deep.png"), photo.astype(np.uint16) * 257)
    return tmp_path


@pytest.mark.parametrize(
    "name, note",
    [("gray.png", "gray image"), ("rgba.png", "alpha channel"), ("deep.png", "16-bit")],
)
def test_unusual_image_modes_are_converted_with_a_note(
    odd_images: Path, name: str, note: str
) -> None:
    result = runner.invoke(app, ["score", str(odd_images / name), "--json"])
    assert result.exit_code == 0, result.stderr
    assert f"note: {odd_images / name}: {note}" in result.stderr
    (report,) = json_lines(result.stdout)
    assert "pet" in report["objects"]


def write_bad_inputs(folder: Path) -> dict[str, str]:
    """Bad files and the error each must produce."""
    (folder / "text.jpg").write_text("this is not an image")
    (folder / "empty.png").write_bytes(b"")
    cv2.imwrite(str(folder / "tiny.png"), np.zeros((1, 1, 3), np.uint8))
    (folder / "broken.mp4").write_bytes(b"\x00" * 1000)
    return {
        "text.jpg": "not a readable image",
        "empty.png": "not a readable image",
        "tiny.png": "1×1, too small to score",
        "broken.mp4": "cannot open",
    }


def test_bad_inputs_give_one_line_errors_and_the_batch_goes_on(
    photos: Path, tmp_path: Path
) -> None:
    expected = write_bad_inputs(tmp_path)
    shutil.copy(photos / LIVING_ROOM, tmp_path / "good.jpg")
    result = runner.invoke(app, ["score", str(tmp_path), str(tmp_path / "missing.jpg"), "--json"])
    assert result.exit_code == 2
    assert [Path(r["input"]).name for r in json_lines(result.stdout)] == ["good.jpg"]
    errors = result.stderr.strip().splitlines()
    assert len(errors) == len(expected) + 1
    for name, message in expected.items():
        assert any(name in line and message in line for line in errors), (name, errors)
    assert any("input not found" in line and "missing.jpg" in line for line in errors)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nowhere.onnx"], "model file not found: nowhere.onnx"),
        (["--device", "npu"], "'npu' is not one of 'auto', 'cpu', 'cuda', 'tensorrt'"),
        (["--conf", "0"], "--conf must be in (0, 1]"),
        (["--out", "/proc/officescore"], "cannot create output folder"),
        (["--engine", "triton"], "--engine triton needs --server HOST:PORT"),
        (["--engine", "triton", "--server", "127.0.0.1:1", "--protocol", "udp"], "'udp' is not"),
    ],
)
def test_bad_options_exit_2_with_one_line(photos: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["score", str(photos / LIVING_ROOM), *args])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line


def test_live_headless_prints_one_json_line_per_frame(office_video: Path) -> None:
    result = runner.invoke(
        app, ["live", "--source", str(office_video), "--headless", "--no-realtime"]
    )
    assert result.exit_code == 0, result.stderr
    lines = json_lines(result.stdout)
    assert [line["frame"] for line in lines] == list(range(40))
    assert lines[0]["device"] == "CPUExecutionProvider"
    assert lines[0]["model"] == "yolox-nano-coco@416"  # live runs at the card's live size
    assert {"capture", "inference", "score"} <= set(lines[0]["timings_ms"])
    assert "pet" in lines[5]["objects"] and "person" in lines[-1]["objects"]
    assert "done: 40 frames" in result.stderr and "dropped 0" in result.stderr


def test_live_max_frames_and_recording(office_video: Path, tmp_path: Path) -> None:
    recording = tmp_path / "session.mp4"
    result = runner.invoke(
        app,
        [
            "live",
            "--source",
            str(office_video),
            "--headless",
            "--no-realtime",
            "--max-frames",
            "12",
            "--record",
            str(recording),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert len(json_lines(result.stdout)) == 12
    capture = cv2.VideoCapture(str(recording))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 12
    ok, frame = capture.read()
    assert ok and frame.shape == (480, 640 + panel_width(480), 3)  # picture and side panel


def test_live_without_camera_falls_back_to_the_demo_clip() -> None:
    result = runner.invoke(app, ["live", "--headless", "--no-realtime", "--max-frames", "3"])
    assert result.exit_code == 0, result.stderr
    assert "no camera found at index 0: playing the bundled demo clip" in result.stderr
    assert len(json_lines(result.stdout)) == 3


def test_live_without_display_switches_to_json_lines(
    office_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = runner.invoke(app, ["live", "--source", str(office_video), "--max-frames", "2"])
    assert result.exit_code == 0, result.stderr
    assert "no display found" in result.stderr and len(json_lines(result.stdout)) == 2


@pytest.mark.parametrize(
    "source, message",
    [("77", "cannot open camera 77"), ("nothing.mp4", "video source not found: nothing.mp4")],
)
def test_live_unopenable_source_exits_2_with_one_line(source: str, message: str) -> None:
    """Run as a real process: OpenCV's backends write to the process's stderr directly."""
    result = subprocess.run(
        [sys.executable, "-m", "officescore", "live", "--source", source, "--headless"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {message}"]


def test_live_unwritable_recording_exits_2(office_video: Path) -> None:
    result = runner.invoke(
        app, ["live", "--source", str(office_video), "--headless", "--record", "/proc/none/x.mp4"]
    )
    assert result.exit_code == 2
    assert "error: cannot write recording /proc/none/x.mp4" in result.stderr


def test_strict_cuda_on_a_cpu_machine_exits_2(photos: Path) -> None:
    import onnxruntime as ort

    if ort.get_device() == "GPU" and shutil.which("nvidia-smi"):
        pytest.skip("a GPU machine")
    result = runner.invoke(
        app, ["score", str(photos / LIVING_ROOM), "--device", "cuda", "--strict"]
    )
    assert result.exit_code == 2
    assert "--strict" in result.stderr and "Traceback" not in result.stderr


def test_live_loop_replays_and_the_recording_keeps_every_frame(
    office_video: Path, tmp_path: Path
) -> None:
    recording = tmp_path / "looped.mp4"
    looped = ["--loop", "--headless", "--no-realtime", "--max-frames", "100"]
    result = runner.invoke(
        app, ["live", "--source", str(office_video), *looped, "--record", str(recording)]
    )
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["frame"] for line in result.stdout.splitlines()] == list(range(100))
    assert "2 replays, 0 reconnects (gaps 0.0 s)" in result.stderr  # replays are not faults
    assert cv2.VideoCapture(str(recording)).get(cv2.CAP_PROP_FRAME_COUNT) == 100


@pytest.mark.parametrize("command", ["score", "check"])
def test_a_folder_without_images_is_an_error_not_silence(command: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no photos here")
    result = runner.invoke(app, [command, str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: no images or videos in {tmp_path}"]
