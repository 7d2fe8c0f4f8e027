"""A Triton model repository for a detector (`export triton`, `serve`), served by Triton's
native ONNX Runtime backend: `<name>/1/model.onnx`, `<name>/config.pbtxt` and the model card
beside them, so any client knows the labels and the decoder. With `python_backend`, the
config names Triton's Python backend and `<name>/1/model.py` runs the ONNX file with ONNX
Runtime (edge/scale/triton_python_model.py), for servers without the native backend.

The config is written from the ONNX graph itself (names, element types, dims), with dynamic
batching when the graph has a batch dimension (the bundled YOLOX-Nano does; an exported Mask
R-CNN takes one CHW image and is served unbatched).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import onnx

from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import CARD_METADATA_KEY

PYTHON_MODEL = Path(__file__).with_name("triton_python_model.py")

TRITON_TYPES: dict[int, str] = {
    onnx.TensorProto.FLOAT: "TYPE_FP32",
    onnx.TensorProto.FLOAT16: "TYPE_FP16",
    onnx.TensorProto.INT64: "TYPE_INT64",
    onnx.TensorProto.INT32: "TYPE_INT32",
    onnx.TensorProto.UINT8: "TYPE_UINT8",
    onnx.TensorProto.BOOL: "TYPE_BOOL",
}


@dataclass(frozen=True, kw_only=True)
class TritonRequest:
    model: Path
    repo: Path
    name: str
    max_batch: int = 8
    instances: int = 1
    kind: str = "cpu"  # cpu | gpu
    tensorrt: bool = False  # GPU: let ONNX Runtime hand the graph to TensorRT, in fp16
    threads: int = 0  # ONNX Runtime intra-op threads per instance (0: its default)
    python_backend: bool = False  # model.py running ONNX Runtime, for Triton without its backend
    with_card: bool = True  # the detector's card beside it (the person models' are in models/)


@dataclass(frozen=True)
class Tensor:
    name: str
    data_type: str
    dims: tuple[int, ...]  # -1 where the graph leaves a dim open


def graph_tensors(proto: onnx.ModelProto) -> tuple[list[Tensor], list[Tensor]]:
    initializers = {init.name for init in proto.graph.initializer}

    def tensor(value: onnx.ValueInfoProto) -> Tensor:
        kind = value.type.tensor_type
        if kind.elem_type not in TRITON_TYPES:
            raise OfficeScoreError(
                f"{value.name}: element type {kind.elem_type} has no Triton type"
            )
        dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in kind.shape.dim)
        return Tensor(value.name, TRITON_TYPES[kind.elem_type], dims)

    inputs = [tensor(v) for v in proto.graph.input if v.name not in initializers]
    return inputs, [tensor(v) for v in proto.graph.output]


def batched(inputs: list[Tensor], outputs: list[Tensor]) -> bool:
    """True when every input and output leads with an open (batch) dimension."""
    return all(t.dims and t.dims[0] == -1 for t in inputs + outputs) and bool(inputs)


def config_text(request: TritonRequest, inputs: list[Tensor], outputs: list[Tensor]) -> str:
    batch = batched(inputs, outputs) and request.max_batch > 0

    def block(tensors: list[Tensor]) -> str:
        rows = []
        for t in tensors:
            dims = t.dims[1:] if batch else t.dims
            rows.append(
                f'  {{\n    name: "{t.name}"\n    data_type: {t.data_type}\n'
                f"    dims: [ {', '.join(str(d) for d in dims)} ]\n  }}"
            )
        return ",\n".join(rows)

    lines = [
        f'name: "{request.name}"',
        f'backend: "{"python" if request.python_backend else "onnxruntime"}"',
        f"max_batch_size: {request.max_batch if batch else 0}",
        f"input [\n{block(inputs)}\n]",
        f"output [\n{block(outputs)}\n]",
    ]
    if batch:
        preferred = sorted(
            {size for size in (1, request.max_batch // 2, request.max_batch) if size}
        )
        lines.append(
            "dynamic_batching {\n"
            f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]\n"
            "  max_queue_delay_microseconds: 2000\n}"
        )
    kind = "KIND_GPU" if request.kind == "gpu" else "KIND_CPU"
    lines.append(
        f"instance_group [\n  {{\n    count: {request.instances}\n    kind: {kind}\n  }}\n]"
    )
    if request.threads:
        lines.append(
            'parameters {\n  key: "intra_op_thread_count"\n'
            f'  value: {{ string_value: "{request.threads}" }}\n}}'
        )
    if request.tensorrt:
        lines.append(
            "optimization {\n  execution_accelerators {\n    gpu_execution_accelerator: [\n"
            '      {\n        name: "tensorrt"\n        parameters { key: "precision_mode" '
            'value: "FP16" }\n      }\n    ]\n  }\n}'
        )
    return "\n".join(lines) + "\n"


def card_text(model: Path, proto: onnx.ModelProto) -> str:
    """The model card: beside the model, or inside its metadata."""
    beside = model.with_suffix(".toml")
    if beside.is_file():
        return beside.read_text(encoding="utf-8")
    for entry in proto.metadata_props:
        if entry.key == CARD_METADATA_KEY:
            return entry.value
    raise OfficeScoreError(f"no model card for {model}: put {beside.name} beside it")


def write_repository(request: TritonRequest) -> Path:
    """Write `<repo>/<name>/` and return it; an existing model of that name is replaced."""
    if request.kind not in ("cpu", "gpu"):
        raise OfficeScoreError(f"--kind must be cpu or gpu, got {request.kind!r}")
    if request.tensorrt and request.kind != "gpu":
        raise OfficeScoreError("--tensorrt needs --kind gpu")
    if request.tensorrt and request.python_backend:
        raise OfficeScoreError("--tensorrt is for the native backend, not --python-backend")
    if not request.model.is_file():
        raise OfficeScoreError(f"model file not found: {request.model}")
    proto = onnx.load(str(request.model), load_external_data=False)
    inputs, outputs = graph_tensors(proto)
    card = card_text(request.model, proto) if request.with_card else None
    folder = request.repo / request.name
    try:
        if folder.exists():
            shutil.rmtree(folder)
        (folder / "1").mkdir(parents=True)
        shutil.copyfile(request.model, folder / "1" / "model.onnx")
        if request.python_backend:
            shutil.copyfile(PYTHON_MODEL, folder / "1" / "model.py")
        (folder / "config.pbtxt").write_text(config_text(request, inputs, outputs))
        if card is not None:
            (folder / "officescore.toml").write_text(card)
    except OSError as error:
        raise OfficeScoreError(f"cannot write {folder}: {error.strerror or error}") from None
    return folder
