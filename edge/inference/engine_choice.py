"""`--engine auto`: on this CPU, for this model, the faster of the installed engines, measured
once (a few runs of each, in turns, at parity with ONNX Runtime) and remembered in the user
cache by the model's sha256, the CPU, the engines' versions, the input and the threads. A tie
(within `TIE`) goes to ONNX Runtime; a GPU, a Triton server or a reduced precision needs no
measurement."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib.util
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import numpy as np

from edge.core.errors import first_line
from edge.core.paths import user_cache_root
from edge.inference.engines import Engine, EngineRequest, OpenVinoEngine

TIE = 1.10  # OpenVINO must be this much faster to be chosen
RUNS = 7  # timed runs per engine, in turns, after two untimed ones
CACHE_FILE = "engine-choice.json"

Parity = Callable[[list[np.ndarray], list[np.ndarray]], bool]


def auto_without_measuring(request: EngineRequest) -> tuple[str, str] | None:
    """The engine `auto` means without a measurement, and why; None: measure."""
    if request.server:
        return "triton", "triton: a --server was given"
    if request.precision != "fp32":
        return (
            "openvino",
            f"openvino: the only engine here that runs --precision {request.precision}",
        )
    return None


def cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what the platform says."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _cpu_flags() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return hashlib.sha256(line.encode()).hexdigest()[:12]
    return ""


def _version(package: str) -> str:
    for name in (package, f"{package}-gpu"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            return metadata.version(name)
    return "none"


def cache_key(model_sha256: str, request: EngineRequest, inputs: dict[str, np.ndarray]) -> str:
    shapes = ",".join(f"{name}{list(array.shape)}" for name, array in sorted(inputs.items()))
    return "|".join(
        [
            model_sha256,
            cpu_name(),
            _cpu_flags(),
            f"cores={os.cpu_count()}",
            f"onnxruntime={_version('onnxruntime')}",
            f"openvino={_version('openvino')}",
            shapes,
            f"threads={request.threads}",
            f"spin={request.spin}",
        ]
    )


def _cache_path() -> Path:
    return user_cache_root() / CACHE_FILE


def read_cache() -> dict[str, dict[str, str]]:
    try:
        loaded = json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _remember(key: str, choice: dict[str, str]) -> None:
    """Add one choice to the cache, written whole or not at all."""
    path = _cache_path()
    entries = {**read_cache(), key: choice}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps(entries, indent=1), encoding="utf-8")
        os.replace(scratch, path)


def _timed_run(engine: Engine, inputs: dict[str, np.ndarray], times: list[float]) -> None:
    started = time.perf_counter()
    engine.run(inputs)
    times.append((time.perf_counter() - started) * 1e3)


def measure(
    reference: Engine, candidate: Engine, inputs: dict[str, np.ndarray]
) -> tuple[float, float]:
    """Median milliseconds of each, timed in turns so that the machine's drift hits both."""
    for _ in range(2):
        reference.run(inputs)
        candidate.run(inputs)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(RUNS):
        _timed_run(reference, inputs, ours)
        _timed_run(candidate, inputs, theirs)
    return statistics.median(ours), statistics.median(theirs)


def choose_engine(
    reference: Engine,
    request: EngineRequest,
    model_path: Path,
    model_sha256: str,
    inputs: dict[str, np.ndarray],
    probe: Callable[[], tuple[dict[str, np.ndarray], Parity]],
) -> tuple[Engine, str]:
    """`reference` (ONNX Runtime, already open) or OpenVINO, whichever runs this model faster
    on this CPU at parity, and why in words. `inputs` name the measurement in the cache (their
    shapes); `probe`, called only when a measurement is due, gives the real inputs to measure on
    and the test of whether two engines' outputs on them agree."""
    if reference.ran.device != "CPUExecutionProvider":
        return reference, f"onnxruntime: it runs on {reference.ran.device}"
    try:  # found, not imported: importing OpenVINO alone takes longer than most photos
        installed = importlib.util.find_spec("openvino") is not None
    except (ImportError, ValueError):  # a package set to None, or one without a spec
        installed = False
    if not installed:
        return reference, "onnxruntime: openvino is not installed"
    key = cache_key(model_sha256, request, inputs)
    cached = read_cache().get(key)
    if cached is not None and cached.get("engine") in ("onnxruntime", "openvino"):
        why = f"{cached['why']} (remembered)"
        if cached["engine"] == "openvino":
            return OpenVinoEngine(replace(request, engine="openvino"), model_path), why
        return reference, why
    measured, parity = probe()
    try:
        candidate = OpenVinoEngine(replace(request, engine="openvino"), model_path)
        same = parity(reference.run(measured), candidate.run(measured))
        ours, theirs = measure(reference, candidate, measured)
    except Exception as error:  # OpenVINO's own types: a graph it cannot compile or run
        return reference, f"onnxruntime: openvino cannot run this model ({first_line(error)})"
    speedup = ours / max(theirs, 1e-6)
    on = f"on this CPU ({cpu_name()}), measured {datetime.date.today().isoformat()}"
    if not same:
        chosen, why = reference, f"onnxruntime: openvino's outputs differ from its {on}"
    elif speedup >= TIE:
        chosen, why = candidate, f"openvino: {speedup:.2f}× onnxruntime's speed {on}"
    elif speedup >= 1.0:
        chosen, why = reference, f"onnxruntime: openvino only {speedup:.2f}× its speed (a tie) {on}"
    else:
        chosen, why = reference, f"onnxruntime: openvino ran at {speedup:.2f}× its speed {on}"
    _remember(key, {"engine": chosen.ran.engine, "why": why, **_numbers(ours, theirs)})
    return chosen, why


def _numbers(ours: float, theirs: float) -> dict[str, str]:
    return {"onnxruntime_ms": f"{ours:.2f}", "openvino_ms": f"{theirs:.2f}"}
