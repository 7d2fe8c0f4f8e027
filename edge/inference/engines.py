"""Inference engines behind one narrow interface: load an ONNX file, run named arrays, say what
actually ran (engine, device, precision). Adapters and scoring never know which one it is.

- ONNX Runtime: the one place that maps `--device` to execution providers, reads back the
  provider actually used, warns on a fallback and fails under `--strict`.
- OpenVINO reads the same ONNX file. On CPUs with AVX512_BF16 or AMX it switches itself to
  bf16 unless told otherwise, so fp32 is asked for explicitly unless reduced precision is.
- Triton: the model runs on a server (`officescore serve`, or NVIDIA's container with an
  `export triton` repository); the local ONNX file only gives the card and the model's name.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edge.core.errors import OfficeScoreError, first_line, install_hint
from edge.core.paths import user_cache_root
from edge.inference.engine_names import DEVICES, ENGINES, PRECISIONS, PROTOCOLS
from edge.inference.modelcard import PRECISION_METADATA_KEY

_REQUESTED: dict[str, list[str]] = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}
_OPENVINO_HINT = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}


@dataclass(frozen=True, kw_only=True)
class EngineRequest:
    """How to run a model: the one engine setting that sessions, bench, serve, export and the
    command line all hold (keyword-only, never copied field by field)."""

    engine: str = "onnxruntime"
    device: str = "auto"
    precision: str = "fp32"
    strict: bool = False
    threads: int = 0
    tensorrt_cache: Path | None = None  # where TensorRT keeps its built engines
    server: str | None = None  # Triton: HOST:PORT
    protocol: str = "http"  # Triton: http or grpc
    spin: bool = True  # ONNX Runtime: idle threads spin; off where sessions share the CPU


@dataclass(frozen=True)
class Ran:
    """What actually ran: stamped in every output."""

    engine: str
    device: str
    precision: str


class EngineUnavailable(OfficeScoreError):
    """The engine is away (a Triton server down or restarting); a later call may succeed."""


class UnsupportedPrecision(OfficeScoreError):
    """This machine cannot run the asked precision (bf16 on a CPU without it)."""


class Engine(Protocol):
    ran: Ran
    input_names: list[str]
    metadata: dict[str, str]

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]: ...


def nvidia_driver_present() -> bool:
    """Whether an NVIDIA driver is loaded (Linux and WSL: its device files; elsewhere assumed):
    without one, CUDA cannot start, and trying costs every session (~6 ms here)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(
        Path(p).exists() for p in ("/proc/driver/nvidia/version", "/dev/nvidia0", "/dev/dxg")
    )


def providers_for(device: str, available: list[str], gpu: bool = True) -> list[str]:
    """Turn `--device` into an ONNX Runtime provider list, best first.

    `auto` prefers CUDA when this onnxruntime build has it and `gpu` (a driver is loaded), else
    CPU; TensorRT is only used when asked for, because its engine build takes minutes on first
    use.
    """
    if device == "auto":
        cuda = gpu and "CUDAExecutionProvider" in available
        return _REQUESTED["cuda"] if cuda else _REQUESTED["cpu"]
    if device not in _REQUESTED:
        raise OfficeScoreError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    return _REQUESTED[device]


def _session(
    ort: Any, model_path: Path, options: Any, providers: list[Any], kept: bool = True
) -> Any:
    """A session of the model; on the CPU alone, from its optimized graph kept in the cache."""
    from edge.inference.optimized_graphs import GraphSource, graph_source

    on_cpu = kept and providers == ["CPUExecutionProvider"]
    source = graph_source(model_path, ort.__version__) if on_cpu else GraphSource(model_path, False)
    if source.optimized:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    elif source.save_to is not None:
        options.optimized_model_filepath = str(source.save_to)
    try:
        session = ort.InferenceSession(str(source.path), options, providers=providers)
    except Exception as error:  # ORT raises its own exception types for bad files
        source.discard()
        if source.optimized:  # a kept graph gone bad: the model itself, optimized again
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            dropped = source.cached is not None and not source.cached.exists()
            return _session(ort, model_path, options, providers, kept=dropped)
        raise OfficeScoreError(f"cannot load model {model_path}: {first_line(error)}") from None
    source.keep()
    return session


class OnnxRuntimeEngine:
    def __init__(self, request: EngineRequest, model_path: Path) -> None:
        import onnxruntime as ort

        if request.precision != "fp32":
            raise OfficeScoreError(
                f"onnxruntime runs the model's own precision here; --precision "
                f"{request.precision} needs --engine openvino (int8: export it with --int8)"
            )
        wanted = providers_for(
            request.device, ort.get_available_providers(), gpu=nvidia_driver_present()
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(request.threads, 0)
        if not request.spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 4  # our own warning below replaces ORT's provider error
        ort.set_default_logger_severity(4)
        providers: list[Any] = list(wanted)
        if wanted[0] == "TensorrtExecutionProvider":  # engines take minutes to build: keep them
            cache = request.tensorrt_cache or user_cache_root() / "tensorrt"
            providers[0] = (
                "TensorrtExecutionProvider",
                {
                    "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(cache),
                    "trt_fp16_enable": True,
                },
            )
        self.session = _session(ort, model_path, options, providers)
        used = self.session.get_providers()[0]
        if used != wanted[0]:
            message = f"{request.device} asked for {wanted[0]} but ONNX Runtime runs on {used}"
            if request.strict:
                raise OfficeScoreError(f"{message} (--strict)")
            if request.device != "auto":
                print(f"warning: {message}", file=sys.stderr)
        self.input_names = [value.name for value in self.session.get_inputs()]
        self._output_names = [value.name for value in self.session.get_outputs()]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.ran = Ran("onnxruntime", used, self.metadata.get(PRECISION_METADATA_KEY, "fp32"))

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(self.session.run(self._output_names, inputs))


def onnx_metadata(model_path: Path) -> dict[str, str]:
    """The ONNX file's metadata (the card, labels, precision), for engines that do not run
    the file through ONNX Runtime."""
    import onnx

    proto = onnx.load(str(model_path), load_external_data=False)
    return {entry.key: entry.value for entry in proto.metadata_props}


def openvino_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin can run bf16 on this CPU (AVX512_BF16 or AMX)."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVinoEngine:
    def __init__(self, request: EngineRequest, model_path: Path) -> None:
        import openvino as ov

        if request.device not in ("auto", "cpu"):
            raise OfficeScoreError(
                f"--engine openvino runs on the CPU here; --device {request.device} needs "
                "--engine onnxruntime"
            )
        core = ov.Core()
        if request.precision == "bf16" and not openvino_has_bf16():
            raise UnsupportedPrecision("this CPU has no bf16 support: use --precision fp32")
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": _OPENVINO_HINT[request.precision]}
        if request.threads:
            config["INFERENCE_NUM_THREADS"] = request.threads
        try:
            model = core.read_model(str(model_path))
            self.compiled = core.compile_model(model, "CPU", config)
        except Exception as error:  # OpenVINO's own exception types
            message = first_line(error)
            raise OfficeScoreError(f"cannot load model {model_path}: {message}") from None
        self.request = self.compiled.create_infer_request()
        self.ran = Ran("openvino", "CPU", request.precision)
        self.input_names = [port.get_any_name() for port in self.compiled.inputs]
        self._outputs = list(self.compiled.outputs)
        self.metadata = onnx_metadata(model_path)

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        results = self.request.infer(inputs)
        return [np.asarray(results[port]) for port in self._outputs]


class TritonEngine:
    """Frames are preprocessed here, inferred on a Triton server, post-processed here."""

    def __init__(self, request: EngineRequest, model_path: Path) -> None:

        if not request.server:
            raise OfficeScoreError("--engine triton needs --server HOST:PORT")
        if request.protocol not in PROTOCOLS:
            raise OfficeScoreError(f"--protocol must be http or grpc, got {request.protocol!r}")
        try:
            if request.protocol == "grpc":
                import tritonclient.grpc as client_module
            else:
                import tritonclient.http as client_module  # type: ignore[no-redef]
        except ImportError:
            raise OfficeScoreError(
                f"--engine triton needs tritonclient: {install_hint('tritonclient')}"
            ) from None
        self._module: Any = client_module
        self._grpc = request.protocol == "grpc"
        self.server = request.server
        self.model_name = model_path.stem  # `export triton` and `serve` name it so
        self._per_thread = threading.local()  # tritonclient's HTTP client is gevent-based
        described = self._call(
            lambda: self.client.get_model_metadata(self.model_name, **self._as_json())
        )
        self.input_names = [entry["name"] for entry in described["inputs"]]
        self._datatypes = {entry["name"]: entry["datatype"] for entry in described["inputs"]}
        self._outputs = [entry["name"] for entry in described["outputs"]]
        self.metadata = onnx_metadata(model_path)
        where = f"{request.protocol}://{request.server}"
        self.ran = Ran("triton", where, self.metadata.get(PRECISION_METADATA_KEY, "fp32"))

    @property
    def client(self) -> Any:
        """This thread's connection: the HTTP client cannot be shared between threads."""
        client = getattr(self._per_thread, "client", None)
        if client is None:
            try:
                client = self._module.InferenceServerClient(url=self.server)
            except Exception as error:  # tritonclient's own types, e.g. a malformed URL
                raise OfficeScoreError(f"--server {self.server}: {first_line(error)}") from None
            self._per_thread.client = client
        return client

    def _as_json(self) -> dict[str, bool]:
        return {"as_json": True} if self._grpc else {}

    def _call(self, action: Any) -> Any:
        try:
            return action()
        except Exception as error:  # connection refused, reset, timeouts, server-side errors
            message = first_line(error)
            if "unknown model" in message.lower() or "not found" in message.lower():
                raise OfficeScoreError(
                    f"the Triton server at {self.server} has no model {self.model_name!r}"
                ) from None
            raise EngineUnavailable(
                f"the Triton server at {self.server} is not answering ({message[:120]})"
            ) from None

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        tensors = []
        for name, array in inputs.items():
            tensor = self._module.InferInput(name, list(array.shape), self._datatypes[name])
            tensor.set_data_from_numpy(np.ascontiguousarray(array))
            tensors.append(tensor)
        wanted = [self._module.InferRequestedOutput(name) for name in self._outputs]
        response = self._call(lambda: self.client.infer(self.model_name, tensors, outputs=wanted))
        return [response.as_numpy(name) for name in self._outputs]


def open_engine(request: EngineRequest, model_path: Path) -> Engine:
    if request.engine not in ENGINES:
        raise OfficeScoreError(f"unknown engine {request.engine!r}; choose {', '.join(ENGINES)}")
    if request.precision not in PRECISIONS:
        raise OfficeScoreError(
            f"unknown precision {request.precision!r}; choose {', '.join(PRECISIONS)}"
        )
    engine: Engine
    if request.engine == "triton":
        engine = TritonEngine(request, model_path)
    elif request.engine == "openvino":
        try:
            import openvino  # noqa: F401
        except ImportError:
            raise OfficeScoreError(
                f"--engine openvino needs openvino: {install_hint('openvino')}"
            ) from None
        engine = OpenVinoEngine(request, model_path)
    else:
        engine = OnnxRuntimeEngine(request, model_path)
    return engine
