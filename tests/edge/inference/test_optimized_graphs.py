"""ONNX Runtime's optimized graph is kept in the user cache: the next session loads it as it is
and computes what the model itself computes; a kept file gone bad is made again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.inference.engines import EngineRequest, OnnxRuntimeEngine
from edge.inference.modelcard import bundled_model_path
from edge.inference.optimized_graphs import FOLDER, graph_source

CPU = EngineRequest(device="cpu", threads=1)


def kept_graphs(cache: Path) -> list[Path]:
    return sorted((cache / FOLDER).glob("*.onnx"))


def outputs(engine: OnnxRuntimeEngine) -> list[np.ndarray]:
    image = np.random.default_rng(7).uniform(0, 255, (1, 3, 416, 416)).astype(np.float32)
    return engine.run({engine.input_names[0]: image})


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OFFICESCORE_CACHE", str(tmp_path))
    return tmp_path


def test_the_second_session_loads_the_kept_graph_and_computes_the_same(cache: Path) -> None:
    import onnxruntime

    model = bundled_model_path()
    assert not graph_source(model, onnxruntime.__version__).optimized
    first = OnnxRuntimeEngine(CPU, model)
    (kept,) = kept_graphs(cache)
    assert kept.stat().st_size > 0 and not list((cache / FOLDER).glob("*.tmp"))
    source = graph_source(model, onnxruntime.__version__)
    assert source.optimized and source.path == kept
    second = OnnxRuntimeEngine(CPU, model)
    assert second.metadata == first.metadata and second.input_names == first.input_names
    for ours, theirs in zip(outputs(first), outputs(second), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_a_kept_graph_gone_bad_is_made_again(cache: Path) -> None:
    model = bundled_model_path()
    reference = outputs(OnnxRuntimeEngine(CPU, model))
    (kept,) = kept_graphs(cache)
    kept.write_bytes(b"not an onnx graph")
    engine = OnnxRuntimeEngine(CPU, model)
    assert kept.stat().st_size > 1000
    for ours, theirs in zip(reference, outputs(engine), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


def test_a_gpu_session_keeps_nothing(cache: Path) -> None:
    """Only CPU sessions are kept: a GPU provider's graph is not the CPU's."""
    OnnxRuntimeEngine(EngineRequest(device="cuda"), bundled_model_path())
    assert kept_graphs(cache) == []
