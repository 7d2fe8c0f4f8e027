"""Smoke tests that keep the benchmark harness from rotting. They check structure, not speed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.startup import STARTUP_ROUNDS
from edge.inference.engines import openvino_has_bf16
from officescore.cli import app
from tests.helpers import runner, write_video


def test_bench_bundled_detector_with_loop_json_csv_and_plot(photos: Path, tmp_path: Path) -> None:
    args = [
        "bench",
        "--iterations",
        "3",
        "--warmup",
        "1",
        "--size",
        "240x320",
        "--size",
        "480x640",
        "--photo",
        str(photos / "000000000599.jpg"),
        "--video",
        "demo",
        "--loop-frames",
        "20",
        "--csv",
        str(tmp_path / "bench.csv"),
        "--plot",
        str(tmp_path / "bench.png"),
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["environment"]["cores"] >= 1 and "onnxruntime" in str(
        report["environment"]["packages"]
    )
    assert [row["size"] for row in report["results"]] == ["240x320", "480x640"]
    row = report["results"][0]
    assert row["provider"] == "CPUExecutionProvider" and row["precision"] == "fp32"
    for stage in ("decode", "preprocess", "inference", "postprocess", "score", "overlay"):
        assert row[f"{stage}_p50_ms"] > 0
    assert row["end_to_end_p50"] <= row["end_to_end_p99"] and row["speedup_vs_torchscript"] is None
    assert report["loop"]["frames"] == 20 and report["loop"]["dropped"] == 0
    assert report["loop"]["share_of_model_throughput"] > 0
    loop_cpu, model_cpu = (
        report["loop"]["cpu_ms_per_frame"],
        report["loop"]["model_cpu_ms_per_frame"],
    )
    assert loop_cpu > 0 and model_cpu > 0  # a frame costs CPU; the loop's includes decoding
    assert report["loop"]["cpu_share"] == round(model_cpu / loop_cpu, 3)
    with (tmp_path / "bench.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 2
    assert cv2.imread(str(tmp_path / "bench.png")).shape[2] == 3


def test_bench_computes_speedup_against_a_torchscript_baseline(
    scripted_model: Path, exported: tuple[Path, str]
) -> None:
    model, _ = exported
    timing = ["--size", "240x320", "--iterations", "2", "--warmup", "1"]
    args = ["bench", "--torchscript", str(scripted_model), "--model", str(model), *timing]
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.stderr
    assert "speed-up vs TorchScript" in table.stdout and "×" in table.stdout
    result = runner.invoke(app, [*args, "--json"])
    baseline, onnx_row = json.loads(result.stdout)["results"]
    assert baseline["backend"] == "torchscript" and baseline["torchvision_kernels"] == "native"
    assert baseline["speedup_vs_torchscript"] is None
    expected = baseline["end_to_end_p50"] / onnx_row["end_to_end_p50"]
    assert abs(onnx_row["speedup_vs_torchscript"] - expected) < 0.01


def test_bench_table_reads_as_text_and_times_each_input_size(photos: Path) -> None:
    args = ["bench", "--iterations", "2", "--warmup", "0", "--imgsz", "416", "--imgsz", "640"]
    result = runner.invoke(app, [*args, "--photo", str(photos / "000000000599.jpg")])
    assert result.exit_code == 0, result.stderr
    printed = result.stdout + result.stderr
    assert "{'" not in printed and "(480, 640)" not in printed  # no Python reprs
    assert "for 480x640 frames (model input: 416 px), 2 threads" in result.stderr
    assert "yolox-nano-coco@416" in result.stdout and "yolox-nano-coco@640" in result.stdout
    assert "ms per frame, p50 / p95" in result.stdout and "onnxruntime " in result.stdout


def test_bench_compares_engines_and_precisions_with_parity(exported: tuple[Path, str]) -> None:
    """Mask R-CNN on ONNX Runtime fp32 (the reference), OpenVINO fp32 and bf16, one run. On a
    CPU without bf16 (AMD Zen 3, older Intel) the bf16 row is skipped with its reason and the
    bench still succeeds."""
    model, _ = exported
    args = ["bench", "--model", str(model), "--size", "240x320", "--iterations", "2"]
    args += ["--warmup", "1", "--engine", "openvino", "--precision", "fp32"]
    args += ["--precision", "bf16", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    rows = report["results"]
    expected_rows = [("onnxruntime", "fp32"), ("openvino", "fp32")]
    if openvino_has_bf16():
        expected_rows.append(("openvino", "bf16"))
        assert report["skipped"] == []
    else:
        assert report["skipped"] == [
            {
                "backend": "openvino",
                "precision": "bf16",
                "size": "240x320",
                "reason": "this CPU has no bf16 support: use --precision fp32",
            }
        ]
        assert "skipped: openvino bf16: this CPU has no bf16 support" in result.stderr
    assert [(r["backend"], r["precision"]) for r in rows] == expected_rows
    assert rows[0]["parity_vs_onnxruntime_fp32"] is None  # the reference
    for row in rows[1:]:
        parity = row["parity_vs_onnxruntime_fp32"]
        assert parity["reference"] == rows[0]["detections"]
        assert parity["min_mask_iou"] is not None  # Mask R-CNN: masks are compared too
        expected = (
            parity["label_agreement"] == 1.0
            and parity["max_box_error_px"] <= 1.0
            and parity["min_mask_iou"] >= 0.95
        )
        assert parity["at_parity"] is expected
    fp32 = rows[1]["parity_vs_onnxruntime_fp32"]
    assert fp32["max_box_error_px"] < 1.0 and fp32["at_parity"]  # OpenVINO fp32 agrees
    assert 0.0 <= fp32["uncertain_share"] < 0.5  # the pixels near p = 0.5, left out, counted
    assert "near p = 0.5 left out" in runner.invoke(app, args[:-1]).stdout


def test_bench_times_the_person_models_as_stages_of_their_own() -> None:
    matplotlib = pytest.importorskip("matplotlib", reason="the portrait ships with matplotlib")
    portrait = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    args = ["bench", "--person", "--photo", str(portrait), "--iterations", "2", "--warmup", "0"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    detector, person = json.loads(result.stdout)["results"]
    assert person["model"].startswith("mediapipe person models") and person["detections"] == 1
    for stage in ("faces", "landmarks", "segmentation"):
        assert person[f"{stage}_p50_ms"] > 0 and f"{stage}_p50_ms" not in detector
    assert "inference_p50_ms" not in person and person["parity_vs_onnxruntime_fp32"] is None
    table = runner.invoke(app, args).stdout
    assert "segmentation" in table and "landmarks" in table


def test_bench_call_compares_the_check_with_live_in_turns(
    portrait: np.ndarray, tmp_path: Path
) -> None:
    frames = [cv2.resize(portrait, (410, 480))] * 12
    video = write_video(tmp_path / "call.mp4", frames)
    args = ["bench", "--call", str(video), "--call-rounds", "2", "--iterations", "1"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    speed = json.loads(result.stdout)["call_check"]
    assert len(speed["live_fps"]) == len(speed["check_fps"]) == 2
    assert all(fps > 0 for fps in speed["live_fps"] + speed["check_fps"])
    assert speed["target"] == 0.6 and speed["met"] == (speed["share"] >= 0.6)
    line = next(x for x in runner.invoke(app, args).stdout.splitlines() if "video-call" in x)
    assert f"video-call check on {video}: " in line and "of live (median of rounds " in line
    missing = runner.invoke(app, ["bench", "--call", str(tmp_path / "nope.mp4")])
    assert missing.exit_code == 2
    assert missing.stderr == f"error: video source not found: {tmp_path / 'nope.mp4'}\n"


def test_bench_startup_times_the_real_processes(photos: Path) -> None:
    photo = photos / "cctv_office_train283.jpg"
    args = ["bench", "--startup", "--photo", str(photo), "--iterations", "1", "--warmup", "0"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    startup = json.loads(result.stdout)["startup"]
    assert startup["photo"] == str(photo)
    for key in ("imports_s", "score_s", "help_s"):
        assert len(startup[key]) == STARTUP_ROUNDS and all(seconds > 0 for seconds in startup[key])
    assert startup["score_ratio"] > 1  # scoring a photo imports more than the bare imports
