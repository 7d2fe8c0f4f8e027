"""`export triton`: a model repository whose config Triton's own schema accepts and whose
names, dims and types are the ONNX graph's."""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnx
import pytest

from edge.inference.modelcard import bundled_model_path
from edge.scale.triton_repository import graph_tensors
from officescore.cli import app
from tests.helpers import runner

model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
text_format = pytest.importorskip("google.protobuf.text_format")


def parsed(folder: Path) -> object:
    config = model_config_pb2.ModelConfig()
    text_format.Parse((folder / "config.pbtxt").read_text(), config)
    return config


def test_the_bundled_detector_becomes_a_batched_repository(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "triton", "--repo", str(tmp_path), "--instances", "2", "--threads", "2"]
    )
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "yolox_nano"
    model = folder / "1" / "model.onnx"
    assert (
        hashlib.sha256(model.read_bytes()).digest()
        == hashlib.sha256(bundled_model_path().read_bytes()).digest()
    )
    assert 'name = "yolox-nano-coco"' in (folder / "officescore.toml").read_text()
    config = parsed(folder)
    inputs, _ = graph_tensors(onnx.load(str(model)))
    assert config.name == "yolox_nano" and config.backend == "onnxruntime"
    assert config.max_batch_size == 8 and list(config.dynamic_batching.preferred_batch_size)
    assert (
        [(i.name, list(i.dims)) for i in config.input]
        == [(t.name, list(t.dims[1:])) for t in inputs]
        == [("images", [3, -1, -1])]
    )
    assert [(o.name, list(o.dims)) for o in config.output] == [("output", [-1, 85])]
    assert model_config_pb2.DataType.Name(config.input[0].data_type) == "TYPE_FP32"
    assert config.instance_group[0].count == 2
    assert config.parameters["intra_op_thread_count"].string_value == "2"


def test_gpu_with_tensorrt_and_an_unbatched_mask_rcnn(
    tmp_path: Path, exported: tuple[Path, str]
) -> None:
    model, _ = exported
    args = ["export", "triton", "--repo", str(tmp_path), "--model", str(model), "--kind", "gpu"]
    result = runner.invoke(app, [*args, "--tensorrt", "--name", "maskrcnn"])
    assert result.exit_code == 0, result.stderr
    config = parsed(tmp_path / "maskrcnn")
    assert config.max_batch_size == 0  # one CHW image per request
    assert [i.name for i in config.input] == ["image"]
    assert [o.name for o in config.output] == ["boxes", "labels", "scores", "masks"]
    accelerator = config.optimization.execution_accelerators.gpu_execution_accelerator[0]
    assert accelerator.name == "tensorrt"
    assert accelerator.parameters["precision_mode"] == "FP16"
    assert (tmp_path / "maskrcnn" / "officescore.toml").read_text().startswith("labels")


def test_python_backend_repository_runs_onnx_runtime_from_model_py(tmp_path: Path) -> None:
    """The serving itself is tested end to end in tests/edge/scale/test_triton.py."""
    result = runner.invoke(app, ["export", "triton", "--repo", str(tmp_path), "--python-backend"])
    assert result.exit_code == 0, result.stderr
    folder = tmp_path / "yolox_nano"
    config = parsed(folder)
    assert config.backend == "python" and config.max_batch_size == 8
    model_py = (folder / "1" / "model.py").read_text()
    assert "class TritonPythonModel" in model_py and "onnxruntime" in model_py
    assert (folder / "1" / "model.onnx").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--kind", "tpu"], "--kind must be cpu or gpu"),
        (["--tensorrt"], "--tensorrt needs"),
        (["--kind", "gpu", "--tensorrt", "--python-backend"], "--tensorrt is for the native"),
    ],
)
def test_bad_repository_options_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["export", "triton", "--repo", str(tmp_path), *args])
    assert result.exit_code == 2 and message in result.stderr
