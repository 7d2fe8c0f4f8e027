"""The command line starts at once: importing it, or asking any command for --help, loads none
of the heavy libraries (they are imported when a command runs)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO

HEAVY = (
    "onnx",
    "onnxruntime",
    "cv2",
    "torch",
    "torchvision",
    "ray",
    "streamlit",
    "tritonclient",
    "matplotlib",
    "openvino",
    "pycocotools",
    "pandas",
)
PROBE = """
import json, sys
sys.argv = ["officescore", *{args!r}]
from officescore.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def heavy_modules_loaded(args: list[str], watched: tuple[str, ...] = HEAVY) -> list[str]:
    probe = PROBE.format(args=args, heavy=watched)
    ran = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return json.loads(ran.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["score", "--help"],
        ["check", "--help"],
        ["live", "--help"],
        ["bench", "--help"],
        ["serve", "--help"],
        ["models", "list"],
        ["export", "--help"],
        ["evaluate", "--help"],
    ],
)
def test_help_and_the_zoo_load_no_heavy_library(args: list[str]) -> None:
    assert heavy_modules_loaded(args) == []


def test_a_command_that_runs_a_model_loads_what_it_needs() -> None:
    """The probe can fail: a real command does load the engine and OpenCV."""
    loaded = heavy_modules_loaded(["score", str(REPO / "tests/data/homes/000000255165.jpg")])
    assert {"onnxruntime", "cv2"} <= set(loaded)


def test_scoring_a_photo_as_json_loads_only_what_it_uses() -> None:
    """What `score PHOTO --json` needs is its own command, the model and OpenCV: rich draws
    tables it does not print, pydantic (typer 0.29's option coercion) costs ~0.08 s of every
    start, and the other commands' modules are not built when the command line names one."""
    photo = str(REPO / "tests/data/homes/000000255165.jpg")
    others = ("benchmarks.commands", "export.commands", "edge.cli.check_command")
    watched = ("rich", "pydantic", "cv2", "edge.cli.commands", *others)
    loaded = heavy_modules_loaded(["score", photo, "--json"], watched)
    assert loaded == ["cv2", "edge.cli.commands"]
    assert set(others) <= set(heavy_modules_loaded(["--help"], others))
