"""`--engine auto`: the faster of ONNX Runtime and OpenVINO on this CPU, measured on the real
engines once, remembered in the user cache, said in every record; forced engines stay forced,
and a missing OpenVINO means ONNX Runtime, saying so."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from edge.inference.engine_choice import CACHE_FILE, TIE
from officescore.cli import app
from tests.helpers import HOMES, runner

PHOTO = HOMES / "000000255165.jpg"


def scored(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["score", str(PHOTO), "--json", *args])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_auto_measures_once_remembers_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openvino", reason="the choice needs both engines installed")
    monkeypatch.setenv("OFFICESCORE_CACHE", str(tmp_path))
    first = scored()
    (key, choice), *others = json.loads((tmp_path / CACHE_FILE).read_text()).items()
    assert not others and key.startswith("340cdca9")  # the bundled model's sha256
    assert first["engine"] == choice["engine"] and first["engine_why"] == choice["why"]
    ours, theirs = float(choice["onnxruntime_ms"]), float(choice["openvino_ms"])
    assert choice["engine"] == ("openvino" if ours >= TIE * theirs else "onnxruntime")
    assert str(first["engine_why"]).startswith(f"{choice['engine']}: ")
    assert "on this CPU (" in str(first["engine_why"]) and "measured 20" in str(first["engine_why"])
    assert " as fast as onnxruntime" in str(first["engine_why"])  # both engines named
    second = scored()
    assert second["engine"] == first["engine"]
    assert second["engine_why"] == f"{first['engine_why']} (remembered)"
    assert second["score"] == first["score"]


def test_a_forced_engine_is_not_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFICESCORE_CACHE", str(tmp_path))
    record = scored("--engine", "onnxruntime")
    assert record["engine"] == "onnxruntime" and record["engine_why"] == ""
    assert not (tmp_path / CACHE_FILE).exists()


def test_without_openvino_auto_is_onnx_runtime_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFICESCORE_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "openvino", None)  # what Python does for a missing package
    record = scored()
    assert record["engine"] == "onnxruntime"
    assert record["engine_why"] == "onnxruntime: openvino is not installed"
    forced = runner.invoke(app, ["score", str(PHOTO), "--engine", "openvino"])
    assert forced.exit_code == 2 and "error: --engine openvino needs openvino" in forced.stderr


def test_a_reduced_precision_goes_to_openvino_without_measuring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openvino", reason="--precision fp16 runs on OpenVINO")
    monkeypatch.setenv("OFFICESCORE_CACHE", str(tmp_path))
    record = scored("--precision", "fp16")
    assert record["engine"] == "openvino" and record["precision"] == "fp16"
    assert record["engine_why"] == "openvino: the only engine here that runs --precision fp16"
    assert not (tmp_path / CACHE_FILE).exists()
