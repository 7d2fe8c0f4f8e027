"""Engines behind one interface: ONNX Runtime and OpenVINO read the same model and agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.core.errors import OfficeScoreError
from edge.inference.engines import EngineRequest, open_engine
from edge.inference.modelcard import bundled_model_path
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.inference.session import SessionConfig
from edge.video.batch import read_image
from tests.helpers import HOMES

pytest.importorskip("openvino")


def pipeline_on(engine: str, precision: str = "fp32") -> Pipeline:
    session = SessionConfig(request=EngineRequest(engine=engine, precision=precision, threads=2))
    return Pipeline(PipelineConfig(session=session))


def test_openvino_fp32_reads_the_same_onnx_and_finds_the_same_objects() -> None:
    image = read_image(HOMES / "000000255165.jpg")[0]
    found = {}
    for engine in ("onnxruntime", "openvino"):
        pipeline = pipeline_on(engine)
        result = pipeline.analyze(image, source="office.jpg")
        found[engine] = (result.detections, result.to_record())
    (ort_found, ort_record), (ov_found, ov_record) = found["onnxruntime"], found["openvino"]
    assert (ov_record["engine"], ov_record["device"], ov_record["precision"]) == (
        "openvino",
        "CPU",
        "fp32",
    )
    assert ort_record["score"] == ov_record["score"]
    assert list(ort_found.label) == list(ov_found.label)
    np.testing.assert_allclose(ort_found.xyxy, ov_found.xyxy, atol=0.05)


def test_the_engines_run_the_raw_graph_alike() -> None:
    frame = np.random.default_rng(1).uniform(0, 255, (1, 3, 416, 416)).astype(np.float32)
    outputs = [
        open_engine(EngineRequest(engine=name), bundled_model_path()).run({"images": frame})[0]
        for name in ("onnxruntime", "openvino")
    ]
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-3)


@pytest.mark.parametrize(
    "request_, message",
    [
        (EngineRequest(engine="onnxruntime", precision="bf16"), "needs --engine openvino"),
        (EngineRequest(engine="openvino", device="cuda"), "runs on the CPU here"),
        (EngineRequest(engine="tensorflow"), "unknown engine"),
        (EngineRequest(precision="fp8"), "unknown precision"),
    ],
)
def test_what_an_engine_cannot_do_is_one_line(request_: EngineRequest, message: str) -> None:
    with pytest.raises(OfficeScoreError, match=message):
        open_engine(request_, bundled_model_path())


def test_an_unloadable_file_is_refused_by_openvino_too(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(OfficeScoreError, match="cannot load model"):
        open_engine(EngineRequest(engine="openvino"), bad)
