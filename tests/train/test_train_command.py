"""`officescore train` from the command line on real labelled photos: a short CPU run that
beats the starting model, new classes the rubric then judges, Ctrl-C and --resume, bad input."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import onnx
import pytest
import torch

from edge.inference.modelcard import CARD_METADATA_KEY
from officescore.cli import app
from tests.helpers import DATA, HOMES, runner

CCTV = DATA / "office-cctv"
SHORT = ["--imgsz", "320", "--batch", "4", "--device", "cpu"]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def cctv_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    runs = tmp_path_factory.mktemp("runs")
    result = runner.invoke(app, ["train", str(CCTV), "--runs", str(runs), "--epochs", "3", *SHORT])
    assert result.exit_code == 0, result.stderr
    return runs / "office-cctv", result.stderr


def test_a_short_run_maps_the_classes_and_leaves_a_whole_run_folder(
    cctv_run: tuple[Path, str],
) -> None:
    run, said = cctv_run
    assert "monitor → its 'tv' output" in said and "phone → its 'cell phone' output" in said
    assert "2 photos" not in said  # the slice's validation photos are no training copies
    epochs = _rows(run / "metrics.csv")
    assert [int(r["epoch"]) for r in epochs] == [1, 2, 3]
    assert float(epochs[-1]["loss"]) < float(epochs[0]["loss"])
    table = {row["class"]: row for row in _rows(run / "classes.csv")}
    assert set(table) == {"chair", "keyboard", "laptop", "monitor", "person", "phone", "all"}
    for name in ("model.onnx", "model.toml", "curves.png", "val_predictions.jpg", "best.pt"):
        assert (run / name).stat().st_size > 0, name
    assert not list(run.glob(".*"))  # nothing half-written left beside them


def test_the_trained_model_works_where_a_model_works(cctv_run: tuple[Path, str]) -> None:
    run, _ = cctv_run
    model = onnx.load(str(run / "model.onnx"))
    card = {p.key: p.value for p in model.metadata_props}[CARD_METADATA_KEY]
    assert 'name = "yolox-nano-office-cctv"' in card and "val_AP50" in card
    photo = DATA / "photos" / "cctv_office_train283.jpg"
    model_args = ["--model", str(run / "model.onnx"), "--engine", "onnxruntime"]  # not auto's
    result = runner.invoke(app, ["score", str(photo), "--json", *model_args])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout.splitlines()[0])
    assert record["model"].startswith("yolox-nano-office-cctv")
    assert isinstance(record["score"], int) and record["engine"] == "onnxruntime"


def test_models_add_names_a_trained_model_for_every_command(
    cctv_run: tuple[Path, str], tmp_path: Path
) -> None:
    env = {"OFFICESCORE_CACHE": str(tmp_path / "cache")}
    added = runner.invoke(
        app, ["models", "add", "my-office", str(cctv_run[0] / "model.onnx")], env=env
    )
    assert added.exit_code == 0, added.stderr
    listed = runner.invoke(app, ["models", "list"], env=env)
    assert "my-office" in listed.stdout
    photo = DATA / "photos" / "cctv_office_train283.jpg"
    scored = runner.invoke(app, ["score", str(photo), "--json", "--model", "my-office"], env=env)
    assert scored.exit_code == 0, scored.stderr
    assert json.loads(scored.stdout.splitlines()[0])["model"].startswith("yolox-nano-office-cctv")
    assert runner.invoke(app, ["models", "remove", "my-office"], env=env).exit_code == 0
    gone = runner.invoke(app, ["score", str(photo), "--model", "my-office"], env=env)
    assert gone.exit_code == 2 and "no model named 'my-office'" in gone.stderr
    cardless = runner.invoke(
        app, ["models", "add", "bare", str(DATA / "yolox_nano_416.onnx")], env=env
    )
    assert cardless.exit_code == 2 and "has no model card" in cardless.stderr


def test_new_classes_learn_from_real_labels_and_the_rubric_judges_them(tmp_path: Path) -> None:
    """Desks on seven real home photos, validated on three it never saw (held out by source
    photo): the new output learns to find them, and the score judges the work surface and the
    lamp from the model instead of 'the model cannot see this'."""
    result = runner.invoke(
        app,
        [
            "train",
            str(HOMES / "desk_lamp.json"),
            "--runs",
            str(tmp_path),
            "--name",
            "desks",
            "--val-fraction",
            "0.3",
            "--epochs",
            "30",
            *SHORT,
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "desk → a new output (canonical table)" in result.stderr
    table = {row["class"]: row for row in _rows(tmp_path / "desks" / "classes.csv")}
    assert float(table["desk"]["AP50_before"]) == 0.0
    assert float(table["desk"]["AP50_after"]) > 0.3
    model = tmp_path / "desks" / "model.onnx"
    scored = runner.invoke(
        app, ["score", str(HOMES / "000000066635.jpg"), "--json", "--model", str(model)]
    )
    assert scored.exit_code == 0, scored.stderr
    criteria = {c["id"]: c for c in json.loads(scored.stdout.splitlines()[0])["criteria"]}
    for judged in ("desk", "lighting"):
        assert "cannot see" not in criteria[judged]["reason"], criteria[judged]
        assert criteria[judged]["status"] != "not checked"


def test_ctrl_c_leaves_a_whole_checkpoint_and_resume_finishes_the_run(tmp_path: Path) -> None:
    train_cut = ["train", str(CCTV), "--runs", str(tmp_path), "--name", "cut", "--epochs", "3"]
    command = [sys.executable, "-m", "officescore", *train_cut, *SHORT]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    last = tmp_path / "cut" / "last.pt"
    deadline = time.monotonic() + 240
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the run ended before Ctrl-C reached it")
    assert process.returncode == 130, stderr
    assert "--resume --name cut" in stderr and "Traceback" not in stderr
    finished = torch.load(last, weights_only=True)["epoch"]
    assert finished >= 1
    resumed = runner.invoke(app, [*train_cut, "--resume", *SHORT])
    assert resumed.exit_code == 0, resumed.stderr
    assert f"resuming after epoch {finished} of 3" in resumed.stderr
    assert [r["epoch"] for r in _rows(tmp_path / "cut" / "metrics.csv")] == ["1", "2", "3"]


def test_replayed_photos_train_beside_the_labels(tmp_path: Path) -> None:
    replay = tmp_path / "home-photos"
    replay.mkdir()
    for photo in sorted((DATA / "homes2").glob("*.jpg"))[:3]:
        (replay / photo.name).write_bytes(photo.read_bytes())
    runs = tmp_path / "runs"
    args = ["train", str(CCTV), "--runs", str(runs), "--epochs", "1", "--replay", str(replay)]
    result = runner.invoke(app, [*args, *SHORT])
    assert result.exit_code == 0, result.stderr
    assert "3 photos replayed with the starting model's outputs as targets" in result.stderr
    card = (runs / "office-cctv" / "model.toml").read_text()
    assert "replayed_images = 3" in card


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing-folder"], "data not found: missing-folder"),
        ([str(CCTV), "--keep", "everything"], "--keep takes coco, base, none"),
        ([str(CCTV), "--imgsz", "300"], "--imgsz must be a multiple of 32"),
        ([str(CCTV), "--map", "chair"], "--map takes NAME=CLASS"),
        ([str(CCTV), "--resume", "--name", "never"], "--resume: no run"),
        ([str(CCTV), "--replay", str(HOMES), "--keep", "none"], "--replay keeps the starting"),
        ([str(CCTV), "--replay", str(HOMES), "--replay-per-step", "0"], "must be at least 1"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["train", *args, "--runs", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
