"""The bundled YOLOX-Nano is the original made size-agnostic: identical at 416, any size else."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edge.inference.modelcard import bundled_model_path
from tests.helpers import DATA, REPO

ORIGINAL = DATA / "yolox_nano_416.onnx"


def test_the_script_rebuilds_the_bundled_model_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "dynamic.onnx"
    subprocess.run(
        [sys.executable, str(REPO / "scripts/make_dynamic_yolox.py"), str(ORIGINAL), str(out)],
        check=True,
        capture_output=True,
    )
    assert (
        hashlib.sha256(out.read_bytes()).digest()
        == hashlib.sha256(bundled_model_path().read_bytes()).digest()
    )


def test_outputs_equal_the_original_at_416_and_any_size_batches() -> None:
    original = ort.InferenceSession(str(ORIGINAL), providers=["CPUExecutionProvider"])
    dynamic = ort.InferenceSession(str(bundled_model_path()), providers=["CPUExecutionProvider"])
    frames = np.random.default_rng(0).uniform(0, 255, (2, 3, 416, 416)).astype(np.float32)
    for frame in frames:
        expected = original.run(None, {"images": frame[None]})[0]
        np.testing.assert_array_equal(dynamic.run(None, {"images": frame[None]})[0], expected)
    batched = dynamic.run(None, {"images": frames})[0]
    assert batched.shape == (2, 3549, 85)
    np.testing.assert_array_equal(batched[1], original.run(None, {"images": frames[1:]})[0][0])
    wide = dynamic.run(None, {"images": np.zeros((1, 3, 480, 640), np.float32)})[0]
    assert wide.shape == (1, (60 * 80) + (30 * 40) + (15 * 20), 85)
