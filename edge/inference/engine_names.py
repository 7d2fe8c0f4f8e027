"""The names the engines answer to: the one list behind `EngineRequest`'s checks and the
command line's choices (no imports, so `--help` stays light)."""

from __future__ import annotations

from enum import Enum


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    tensorrt = "tensorrt"


class EngineName(str, Enum):
    auto = "auto"  # the faster of ONNX Runtime and OpenVINO on this CPU, measured once
    onnxruntime = "onnxruntime"
    openvino = "openvino"
    triton = "triton"


class EngineOrRay(str, Enum):
    """`score` and `bench` can also hand their work to Ray Data (its actors run ONNX Runtime):
    the engines' names and `ray`."""

    auto = EngineName.auto.value
    onnxruntime = EngineName.onnxruntime.value
    openvino = EngineName.openvino.value
    triton = EngineName.triton.value
    ray = "ray"


class Protocol(str, Enum):
    http = "http"
    grpc = "grpc"


class Precision(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


DEVICES = tuple(device.value for device in Device)
ENGINES = tuple(engine.value for engine in EngineName if engine is not EngineName.auto)
PROTOCOLS = tuple(protocol.value for protocol in Protocol)
PRECISIONS = tuple(precision.value for precision in Precision)
