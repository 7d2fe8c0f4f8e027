"""Throughput of the scale-out engines against the plain local loop, in one run.

- Triton: frames per second with 1 and N concurrent clients, each client a thread with its own
  pipeline (its own connection); the same frames through local ONNX Runtime pipelines as the
  baseline.
- Ray: photos per second over N photo files (cluster start-up included, as a user waits for
  it), against the plain loop scoring the same files one after another.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.loop import read_frames
from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import bundled_dir
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.scale.ray_scoring import RayJob, run_ray_job
from edge.video.batch import score_path
from edge.video.capture import DEMO_CLIP


@dataclass(frozen=True)
class Throughput:
    engine: str  # "onnxruntime (local)", "triton http", "ray", "plain loop"
    clients: int  # concurrent clients, threads or actors
    frames: int
    seconds: float

    @property
    def unit(self) -> str:
        return "actor" if self.engine == "ray" else "client"

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fps": round(self.fps, 1)}


def demo_frames(count: int) -> list[np.ndarray]:
    """`count` frames of the bundled demo clip (real home offices), looping if needed."""
    return read_frames(bundled_dir() / DEMO_CLIP, count, repeat=True)


def concurrent_throughput(
    config: PipelineConfig, frames: list[np.ndarray], clients: int, label: str
) -> Throughput:
    """Every frame scored once, shared round-robin among `clients` threads."""
    pipelines = [Pipeline(config) for _ in range(clients)]  # connected and warm before timing
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for frame in frames[index::clients]:
                pipelines[index].analyze(frame)
        except BaseException as error:  # handed to the caller below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return Throughput(label, clients, len(frames), seconds)


def triton_throughput(
    config: PipelineConfig, frames: list[np.ndarray], client_counts: list[int]
) -> list[Throughput]:
    local_request = replace(config.session.request, engine="onnxruntime")
    local = replace(config, session=replace(config.session, request=local_request))
    remote = f"triton {config.session.request.protocol}"
    results = []
    for clients in client_counts:
        results.append(concurrent_throughput(local, frames, clients, "onnxruntime (local)"))
        results.append(concurrent_throughput(config, frames, clients, remote))
    return results


def ray_throughput(config: PipelineConfig, count: int, actors: int) -> list[Throughput]:
    """`count` photo files scored by the plain loop, then on Ray Data with `actors` actors."""
    with tempfile.TemporaryDirectory(prefix="officescore-bench-ray-") as folder:
        paths = []
        for index, frame in enumerate(demo_frames(count)):
            path = Path(folder) / f"photo-{index:05d}.jpg"
            cv2.imwrite(str(path), frame)
            paths.append(path)
        pipeline = Pipeline(config)
        started = time.perf_counter()
        for path in paths:
            score_path(path, pipeline, None, 1.0)
        plain = Throughput("plain loop", 1, count, time.perf_counter() - started)
        job = RayJob(tuple(paths), config, Path(folder) / "results.jsonl", actors=actors)
        started = time.perf_counter()
        records = run_ray_job(job)
        on_ray = Throughput("ray", actors, count, time.perf_counter() - started)
    failed = [record for record in records if "error" in record]
    if failed:
        raise OfficeScoreError(f"ray: {len(failed)} photos failed: {failed[0]['error']}")
    return [plain, on_ray]
