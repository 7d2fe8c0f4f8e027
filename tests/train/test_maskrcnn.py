"""The seed's own model: a TorchScript Mask R-CNN (the random test model, small) fine-tuned on
real desk and lamp labels for a few steps, written as TorchScript and exported to ONNX through
the parity gate."""

from __future__ import annotations

from pathlib import Path

import onnx

from edge.inference.modelcard import CARD_METADATA_KEY
from officescore.cli import app
from tests.helpers import HOMES, MASKRCNN_SIZE, runner
from train.loop import Progress, TrainConfig
from train.maskrcnn import train_maskrcnn


def test_a_few_steps_lower_the_loss_and_the_export_passes_parity(
    scripted_model: Path, tmp_path: Path
) -> None:
    config = TrainConfig(
        data=HOMES / "desk_lamp.json",
        run_dir=tmp_path / "run",
        epochs=2,
        batch=2,
        lr=0.01,
        device="cpu",
    )
    run = train_maskrcnn(config, scripted_model, (240, 320), Progress())
    losses = [row["loss"] for row in run.history]
    assert len(losses) == 2 and losses[-1] < losses[0]
    assert run.export.report.passed and run.export.model == tmp_path / "run" / "model.onnx"
    labels = (tmp_path / "run" / "labels.txt").read_text().split("\n")
    assert labels[:2] == ["__background__", "person"] and labels[91:93] == ["desk", "lamp"]
    card = {p.key: p.value for p in onnx.load(str(run.export.model)).metadata_props}
    assert '"desk"' in card[CARD_METADATA_KEY]


def test_the_command_line_needs_from_with_maskrcnn(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["train", str(HOMES / "desk_lamp.json"), "--model", "maskrcnn", "--runs", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert "--model maskrcnn and --from model.pt go together" in result.stderr


def test_the_command_line_trains_only_the_labelled_classes_and_exports(
    scripted_model: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "train",
            str(HOMES / "desk_lamp.json"),
            "--model",
            "maskrcnn",
            "--from",
            str(scripted_model),
            "--runs",
            str(tmp_path),
            "--name",
            "masks",
            "--epochs",
            "1",
            "--batch",
            "2",
            "--only",
            "--size",
            MASKRCNN_SIZE,
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "ONNX parity passed" in result.stderr
    labels = (tmp_path / "masks" / "labels.txt").read_text().split()
    assert labels == ["__background__", "desk", "lamp"]
    assert (tmp_path / "masks" / "model.pt").is_file()
