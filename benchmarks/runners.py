"""Timed runs of one backend on one input size: per-stage latencies, end to end."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import onnx

from benchmarks.environment import peak_rss_mb
from edge.core.errors import OfficeScoreError
from edge.core.types import Detections
from edge.inference.engines import EngineRequest
from edge.inference.modelcard import bundled_dir
from edge.inference.parity import DetectionParity
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.inference.session import SessionConfig
from edge.video.batch import read_image
from edge.video.capture import DEMO_CLIP
from edge.video.overlay import annotate

DETECTOR_STAGES = ("decode", "preprocess", "inference", "postprocess", "score", "overlay")
PERSON_STAGES = ("faces", "landmarks", "segmentation")  # the video-call check's person models
STAGES = DETECTOR_STAGES + PERSON_STAGES
OVERHEAD_STAGES = ("preprocess", "postprocess", "score", "overlay")  # the pipeline's own work


@dataclass(frozen=True)
class BenchSpec:
    """One row's frame size, model input size and engine request."""

    size: tuple[int, int] = (480, 640)  # frame height, width
    imgsz: int | None = None  # model input size; None: the card's live size
    request: EngineRequest = field(default_factory=lambda: EngineRequest(device="cpu", threads=2))


@dataclass
class BenchResult:
    backend: str
    model: str
    size: tuple[int, int]
    threads: int
    provider: str
    precision: str
    kernels: str | None
    detections: int
    stages_ms: dict[str, list[float]] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    last_detections: Detections | None = None  # on the benchmark frame, for parity
    parity: DetectionParity | None = None  # against ONNX Runtime fp32, same model and frame

    def summary(self, stage: str) -> dict[str, float]:
        values = np.asarray(self.stages_ms[stage])
        p50 = float(np.percentile(values, 50))
        return {
            "mean": float(values.mean()),
            "p50": p50,
            "p90": float(np.percentile(values, 90)),
            "p95": float(np.percentile(values, 95)),
            "p99": float(np.percentile(values, 99)),
            "fps": 1000.0 / p50 if p50 > 0 else 0.0,
        }


def frame_for(size: tuple[int, int], photo: Path | None) -> np.ndarray:
    """A real photo resized to the benchmark size; without one, the first frame of the bundled
    demo clip (a real home office, with a screen, a keyboard and a chair in it)."""
    height, width = size
    if photo is not None:
        image = read_image(photo)[0]
    else:
        capture = cv2.VideoCapture(str(bundled_dir() / DEMO_CLIP))
        ok, image = capture.read()
        capture.release()
        if not ok:
            raise OfficeScoreError("the bundled demo clip cannot be read")
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def decode(encoded: np.ndarray) -> np.ndarray:
    image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if image is None:
        raise OfficeScoreError("benchmark frame could not be decoded")
    return image


def decoding_then(
    spec: BenchSpec, photo: Path | None, work: Callable[[np.ndarray], dict[str, float]]
) -> Callable[[], dict[str, float]]:
    """A timed step as a camera's frames arrive: the row's frame decoded from JPEG (timed as
    `decode`), then `work` on it (its own stages)."""
    encoded = cv2.imencode(".jpg", frame_for(spec.size, photo))[1]

    def step() -> dict[str, float]:
        started = time.perf_counter()
        image = decode(encoded)
        return {"decode": (time.perf_counter() - started) * 1e3, **work(image)}

    return step


def onnx_precision(model_path: Path) -> str:
    proto = onnx.load(str(model_path), load_external_data=False)
    if any(node.op_type in ("QuantizeLinear", "DequantizeLinear") for node in proto.graph.node):
        return "int8"
    if any(init.data_type == onnx.TensorProto.FLOAT16 for init in proto.graph.initializer):
        return "fp16"
    return "fp32"


@dataclass
class Timed:
    """One row, made and ready to time: `step` runs one frame and returns its stages' ms,
    `finish` makes the row's result from every run's stages; `before_turn` (untimed) sets
    what the row shares with others, such as torch's thread count."""

    step: Callable[[], dict[str, float]]
    finish: Callable[[dict[str, list[float]]], BenchResult]
    before_turn: Callable[[], None] = lambda: None


TURNS = 5  # where rows are compared: each row's timed runs, split into this many turns
SETTLE_S = 0.05  # a pause before each turn: ONNX Runtime's threads spin ~35 ms after a run


def time_in_turns(rows: list[Timed], warmup: int, iterations: int) -> list[BenchResult]:
    """Every row warmed up, then timed in turns: on a shared machine whose speed drifts by
    minutes, rows timed one after another would compare the minutes, not the rows. Before each
    turn a pause lets the row before it go quiet. A single row runs as one block."""
    for row in rows:
        row.before_turn()
        for _ in range(warmup):
            row.step()
    turns = min(TURNS, iterations) if len(rows) > 1 else 1
    stages: list[dict[str, list[float]]] = [{} for _ in rows]
    for turn in range(turns):
        for row, row_stages in zip(rows, stages, strict=True):
            if len(rows) > 1:
                row.before_turn()
                time.sleep(SETTLE_S)
            for _ in range(iterations // turns + (turn < iterations % turns)):
                started = time.perf_counter()
                timings = row.step()
                timings["end_to_end"] = (time.perf_counter() - started) * 1e3
                for stage, ms in timings.items():
                    row_stages.setdefault(stage, []).append(ms)
    return [row.finish(row_stages) for row, row_stages in zip(rows, stages, strict=True)]


MASK_PARITY_BAND = 0.05  # as the export's parity: pixels this near p = 0.5 are left out


def bench_onnx(model_path: Path | None, spec: BenchSpec, photo: Path | None) -> Timed:
    """The runtime pipeline: JPEG decode, preprocess, ORT, post-process, score, overlay."""
    pipeline = Pipeline(
        PipelineConfig(
            session=SessionConfig(
                model_path=model_path, imgsz=spec.imgsz, purpose="live", request=spec.request
            )
        )
    )
    found = [0]
    last: list[Detections] = []

    def work(image: np.ndarray) -> dict[str, float]:
        result = pipeline.analyze(image)
        drawn_from = time.perf_counter()
        annotate(image, result.detections, result.score, pipeline.provider)
        found[0] = len(result.detections)
        last[:] = [result.detections]
        timings = {**result.timings_ms, "overlay": (time.perf_counter() - drawn_from) * 1e3}
        return {**timings, "overhead": sum(timings[stage] for stage in OVERHEAD_STAGES)}

    def finish(stages: dict[str, list[float]]) -> BenchResult:
        adapter = pipeline.detector.adapter
        if hasattr(adapter, "uncertain_band"):  # parity's frame, its uncertain pixels kept
            adapter.uncertain_band = MASK_PARITY_BAND
            jpeg = cv2.imencode(".jpg", frame_for(spec.size, photo))[1]
            last[:] = [pipeline.analyze(decode(jpeg)).detections]
        ran = pipeline.detector.engine.ran
        model_precision = onnx_precision(pipeline.detector.card.model_path)
        return BenchResult(
            ran.engine,
            pipeline.model_name,
            spec.size,
            spec.request.threads,
            ran.device,
            model_precision if model_precision != "fp32" else ran.precision,
            None,
            found[0],
            stages,
            peak_rss_mb(),
            last[0] if last else None,
        )

    return Timed(decoding_then(spec, photo, work), finish)


def bench_torchscript(model_path: Path, spec: BenchSpec, photo: Path | None) -> Timed:
    """The baseline: a TorchScript Mask R-CNN, preprocess and inference (masks pasted in-graph)."""
    import torch

    from export.parity import to_tensor
    from export.source import load_torchscript, run_reference

    threads = spec.request.threads or torch.get_num_threads()
    with warnings.catch_warnings():  # torch.jit's deprecation notices are not for users
        warnings.simplefilter("ignore")
        source = load_torchscript(model_path)
    on_gpu = spec.request.device in ("cuda", "tensorrt") or (
        spec.request.device == "auto" and torch.cuda.is_available()
    )
    if on_gpu and not torch.cuda.is_available():
        raise OfficeScoreError(f"--device {spec.request.device}: this torch build sees no CUDA GPU")
    target = torch.device("cuda" if on_gpu else "cpu")
    model = source.reference.to(target)
    found = [0]

    def work(image: np.ndarray) -> dict[str, float]:
        decoded = time.perf_counter()
        tensor = torch.from_numpy(to_tensor(image)).to(target)
        prepared = time.perf_counter()
        output = run_reference(model, tensor)
        if on_gpu:
            torch.cuda.synchronize()  # CUDA returns before the kernels finish
        found[0] = len(output["boxes"])
        return {
            "preprocess": (prepared - decoded) * 1e3,
            "inference": (time.perf_counter() - prepared) * 1e3,
        }

    def finish(stages: dict[str, list[float]]) -> BenchResult:
        return BenchResult(
            "torchscript",
            model_path.name,
            spec.size,
            spec.request.threads,
            "torch CUDA" if on_gpu else "torch CPU",
            "fp32",
            source.kernels,
            found[0],
            stages,
            peak_rss_mb(),
        )

    return Timed(decoding_then(spec, photo, work), finish, lambda: torch.set_num_threads(threads))


def bench_person(spec: BenchSpec, photo: Path | None) -> Timed:
    """The person models of the video-call check, each a stage of its own (the landmarks only
    run where a face is found: time them on a photo with one)."""
    from edge.inference.person import PersonModels

    request = spec.request
    models = PersonModels(request)
    found = [0]

    def work(image: np.ndarray) -> dict[str, float]:
        seen = models.see(image)
        found[0] = len(seen.faces)
        return seen.timings_ms

    def finish(stages: dict[str, list[float]]) -> BenchResult:
        ran = models.detector.engine.ran
        return BenchResult(
            ran.engine,
            "mediapipe person models (faces found)",
            spec.size,
            spec.request.threads,
            ran.device,
            ran.precision,
            None,
            found[0],
            stages,
            peak_rss_mb(),
        )

    return Timed(decoding_then(spec, photo, work), finish)
