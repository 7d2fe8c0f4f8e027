"""The detector: a model file, its card, an engine and an adapter. Frame in, `Detections` out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from edge.core.errors import OfficeScoreError, first_line
from edge.core.types import Detections
from edge.inference.adapters import Adapter, Prepared, make_adapter
from edge.inference.engine_choice import Parity, auto_without_measuring, choose_engine
from edge.inference.engines import Engine, EngineRequest, EngineUnavailable, open_engine
from edge.inference.modelcard import (
    DEMO_CLIP,
    ModelCard,
    bundled_dir,
    bundled_model_path,
    card_from_metadata,
    file_sha256,
    load_card_file,
    verify_sha256,
)
from edge.inference.parity import detection_parity

Purpose = Literal["photo", "live"]


@dataclass(frozen=True)
class SessionConfig:
    model_path: Path | None = None
    card_path: Path | None = None
    imgsz: int | None = None  # None: the card's size for `purpose`
    purpose: Purpose = "photo"
    request: EngineRequest = field(default_factory=EngineRequest)


class Detector:
    """An ONNX detector with its card and adapter: frame in, `Detections` and timings out."""

    def __init__(self, config: SessionConfig) -> None:
        model_path = config.model_path or bundled_model_path()
        if not model_path.is_file():
            raise OfficeScoreError(f"model file not found: {model_path}")
        card = load_card_file(model_path, config.card_path)
        if card is not None and card.sha256:
            verify_sha256(model_path, card.sha256)
        request = config.request
        self.engine_why = ""  # with --engine auto: why this engine
        if request.engine == "auto":
            fixed = auto_without_measuring(request)
            engine_name, self.engine_why = fixed or ("onnxruntime", "")
            request = replace(request, engine=engine_name)
        self.engine: Engine = open_engine(request, model_path)
        if card is None:
            card = card_from_metadata(model_path, self.engine.metadata)
        self.card: ModelCard = card
        self.adapter: Adapter = make_adapter(self.card, self._size(config))
        self._threshold_cache: dict[float | None, np.ndarray] = {}
        graph_inputs = self.engine.input_names
        # a card may leave out the input's name; a one-input graph only has one to give
        named = "name" in self.card.settings.get("input", {})
        self._single_input = None if named or len(graph_inputs) != 1 else graph_inputs[0]
        if config.request.engine == "auto" and not self.engine_why:
            self.engine, self.engine_why = self._faster_engine(request, model_path)
        if config.purpose == "live":  # the first frame on screen should not wait for allocation
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
    def provider(self) -> str:
        """Where it runs, as the engine reports it (e.g. CPUExecutionProvider)."""
        return self.engine.ran.device

    @property
    def model_name(self) -> str:
        """The card's name, with the input size where the model runs at a chosen size."""
        size = getattr(self.adapter, "size", None)
        return f"{self.card.name}@{size[1]}" if size else self.card.name

    def _thresholds(self, conf: float | None) -> np.ndarray:
        if conf not in self._threshold_cache:
            self._threshold_cache[conf] = self.card.class_conf(conf)
        return self._threshold_cache[conf]

    def _faster_engine(self, request: EngineRequest, model_path: Path) -> tuple[Engine, str]:
        def inputs(frame: np.ndarray) -> tuple[dict[str, np.ndarray], Prepared]:
            prepared = self.adapter.prepare(frame)
            if self._single_input and len(prepared.inputs) == 1:
                return {self._single_input: next(iter(prepared.inputs.values()))}, prepared
            return prepared.inputs, prepared

        def probe() -> tuple[dict[str, np.ndarray], Parity]:
            """Only on a measurement: the demo frame, after a model that cannot run has failed
            on it in one line, and whether two engines find the same objects on it."""
            frame = demo_frame()
            self.detect(frame)
            measured, prepared = inputs(frame)
            thresholds = self._thresholds(None)

            def same(ours: list[np.ndarray], theirs: list[np.ndarray]) -> bool:
                a = self.adapter.decode(ours, prepared, thresholds)
                b = self.adapter.decode(theirs, prepared, thresholds)
                return detection_parity(a, b).at_parity

            return measured, same

        shape_only, _ = inputs(np.zeros((480, 640, 3), np.uint8))
        digest = self.card.sha256 or file_sha256(model_path)
        return choose_engine(self.engine, request, model_path, digest, shape_only, probe)

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
            outputs = self.engine.run(inputs)
        except EngineUnavailable:
            raise  # the caller may wait and retry (live) or report it (photos)
        except Exception as error:  # the engine's own exception types: a model that does not fit
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


def demo_frame() -> np.ndarray:
    """A real frame to measure engines on: the demo clip's first (a home office)."""
    import cv2

    ok, frame = cv2.VideoCapture(str(bundled_dir() / DEMO_CLIP)).read()
    return frame if ok else np.full((480, 640, 3), 114, np.uint8)
