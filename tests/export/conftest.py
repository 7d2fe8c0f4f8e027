"""One random-initialised Mask R-CNN, scripted and saved as a .pt, and its ONNX export."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from edge.cli import app
from export.cli import register
from export.torchvision_setup import load_torchvision

SIZE = "240x320"
SMALL = {"min_size": 240, "max_size": 320, "rpn_post_nms_top_n_test": 100}

register(app)
runner = CliRunner()


@pytest.fixture(scope="session", autouse=True)
def quiet_torch() -> None:
    load_torchvision()
    warnings.filterwarnings("ignore", module="torch")
    warnings.filterwarnings("ignore", category=FutureWarning)


@pytest.fixture(scope="session")
def scripted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from export.random_model import random_maskrcnn

    path = tmp_path_factory.mktemp("source") / "maskrcnn.pt"
    torch.jit.script(random_maskrcnn(**SMALL)).save(str(path))
    return path


@pytest.fixture(scope="session")
def exported(
    scripted_model: Path, photos: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """The ONNX model exported through the CLI, and what the CLI printed."""
    out = tmp_path_factory.mktemp("onnx") / "maskrcnn.onnx"
    result = runner.invoke(
        app,
        [
            "export",
            "maskrcnn",
            "--from",
            str(scripted_model),
            "--out",
            str(out),
            "--size",
            SIZE,
            "--parity-images",
            str(photos),
        ],
    )
    assert result.exit_code == 0, result.stderr
    return out, result.stdout + result.stderr
