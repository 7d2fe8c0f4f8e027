"""The one place that decides the hardware, and the detector that runs on it."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort

from edge.adapters import Adapter, make_adapter
from edge.errors import OfficeScoreError, first_line
from edge.modelcard import (
    ModelCard,
    bundled_model_path,
    card_from_metadata,
    load_card_file,
    verify_sha256,
)
from edge.types import Detections

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "tensorrt")
Purpose = Literal["photo", "live"]

_REQUESTED: dict[str, list[str]] = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def providers_for(device: str, available: list[str]) -> list[str]:
    """Turn `--device` into an ONNX Runtime provider list, best first.

    `auto` prefers CUDA when this onnxruntime build has it, else CPU; TensorRT is only
    used when asked for, because its engine build takes minutes on first use.
    """
    if device == "auto":
        return _REQUESTED["cuda"] if "CUDAExecutionProvider" in available else _REQUESTED["cpu"]
    if device not in _REQUESTED:
        raise OfficeScoreError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    return _REQUESTED[device]


@dataclass(frozen=True)
class SessionConfig:
    model_path: Path | None = None
    card_path: Path | None = None
    device: str = "auto"
    strict: bool = False
    threads: int = 0
    imgsz: int | None = None  # None: the card's size for `purpose`
    purpose: Purpose = "photo"


def open_session(config: SessionConfig, model_path: Path) -> tuple[ort.InferenceSession, str]:
    """Create the session and return it with the provider actually in use.

    Falling back from an asked-for accelerator prints a warning, or raises under `strict`.
    """
    wanted = providers_for(config.device, ort.get_available_providers())
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(config.threads, 0)
    options.log_severity_level = 4  # our own warning below replaces ORT's provider-load error
    ort.set_default_logger_severity(4)
    try:
        session = ort.InferenceSession(str(model_path), options, providers=wanted)
    except Exception as error:  # ORT raises its own exception types for bad files
        message = first_line(error)
        raise OfficeScoreError(f"cannot load model {model_path}: {message}") from None
    used = session.get_providers()[0]
    if used != wanted[0]:
        message = f"{config.device} asked for {wanted[0]} but ONNX Runtime runs on {used}"
        if config.strict:
            raise OfficeScoreError(f"{message} (--strict)")
        if config.device != "auto":
            print(f"warning: {message}", file=sys.stderr)
    return session, used


class Detector:
    """An ONNX detector with its card and adapter: frame in, `Detections` and timings out."""

    def __init__(self, config: SessionConfig) -> None:
        model_path = config.model_path or bundled_model_path()
        if not model_path.is_file():
            raise OfficeScoreError(f"model file not found: {model_path}")
        card = load_card_file(model_path, config.card_path)
        if card is not None and card.sha256:
            verify_sha256(model_path, card.sha256)
        self.session, self.provider = open_session(config, model_path)
        if card is None:
            card = card_from_metadata(model_path, self.session.get_modelmeta().custom_metadata_map)
        self.card: ModelCard = card
        self.adapter: Adapter = make_adapter(self.card, self._size(config))
        self._threshold_cache: dict[float | None, np.ndarray] = {}
        self._output_names = [output.name for output in self.session.get_outputs()]
        graph_inputs = self.session.get_inputs()
        # a card may leave out the input's name; a one-input graph only has one to give
        named = "name" in self.card.settings.get("input", {})
        self._single_input = None if named or len(graph_inputs) != 1 else graph_inputs[0].name
        self.warm_up()

    def _size(self, config: SessionConfig) -> int | None:
        if config.imgsz is not None:
            return config.imgsz
        chosen = self.card.settings.get("input", {}).get(f"{config.purpose}_size")
        if chosen is None:
            return None
        if not isinstance(chosen, int):
            raise OfficeScoreError(
                f"model card {self.card.name}: bad [input] {config.purpose}_size {chosen!r}"
            )
        return chosen

    @property
    def model_name(self) -> str:
        """The card's name, with the input size where the model runs at a chosen size."""
        size = getattr(self.adapter, "size", None)
        return f"{self.card.name}@{size[1]}" if size else self.card.name

    def _thresholds(self, conf: float | None) -> np.ndarray:
        if conf not in self._threshold_cache:
            self._threshold_cache[conf] = self.card.class_conf(conf)
        return self._threshold_cache[conf]

    def warm_up(self) -> None:
        self.detect(np.zeros((480, 640, 3), np.uint8), conf=1.0)

    def detect(
        self, frame: np.ndarray, conf: float | None = None
    ) -> tuple[Detections, dict[str, float]]:
        """`conf`: one threshold for every label; None: the card's (per-label where it says)."""
        start = time.perf_counter()
        prepared = self.adapter.prepare(frame)
        prepared_at = time.perf_counter()
        inputs = prepared.inputs
        if self._single_input and len(inputs) == 1:
            inputs = {self._single_input: next(iter(inputs.values()))}
        try:
            outputs = self.session.run(self._output_names, inputs)
        except Exception as error:  # ORT's own exception types: a model that does not fit
            line = first_line(error)
            raise OfficeScoreError(f"inference failed on {self.card.name}: {line}") from None
        inferred_at = time.perf_counter()
        detections = self.adapter.decode(outputs, prepared, self._thresholds(conf))
        done_at = time.perf_counter()
        timings = {
            "preprocess": (prepared_at - start) * 1e3,
            "inference": (inferred_at - prepared_at) * 1e3,
            "postprocess": (done_at - inferred_at) * 1e3,
        }
        return detections, timings
