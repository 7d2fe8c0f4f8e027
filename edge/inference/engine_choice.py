"""`--engine auto`: on this CPU, for this model, the faster of the installed engines, measured
once (a few runs of each, in turns, at parity with ONNX Runtime) and remembered in the user
cache by the model's sha256, the CPU, the engines' builds, the input and the threads. A tie
(within `TIE`) goes to ONNX Runtime; a GPU, a Triton server or a reduced precision needs no
measurement."""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from importlib.machinery import ModuleSpec
from pathlib import Path

import numpy as np

from edge.core.errors import first_line
from edge.core.machine import cpu_flags_digest, cpu_name
from edge.core.paths import user_cache_root
from edge.inference.engines import Engine, EngineRequest, OpenVinoEngine

TIE = 1.10  # OpenVINO must be this much faster to be chosen
RUNS = 7  # timed runs per engine, in turns, each after an untimed one
CACHE_FILE = "engine-choice-2.json"  # 2: the reasons name both engines in their ratio

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


def _build(spec: ModuleSpec) -> str:
    """Which OpenVINO is installed, without importing it (its import takes longer than most
    photos) or reading package metadata (importlib.metadata's import, ~10 ms of every start):
    its files' size and time, which any install or upgrade changes."""
    where = Path(spec.origin or "")
    with contextlib.suppress(OSError):
        stat = where.stat()
        return f"{where.parent}:{stat.st_size}:{stat.st_mtime_ns}"
    return "unknown"


def cache_key(
    model_sha256: str, request: EngineRequest, inputs: dict[str, np.ndarray], openvino: ModuleSpec
) -> str:
    import onnxruntime  # the reference engine is open: imported already

    shapes = ",".join(f"{name}{list(array.shape)}" for name, array in sorted(inputs.items()))
    return "|".join(
        [
            model_sha256,
            cpu_name(),
            cpu_flags_digest(),
            f"cores={os.cpu_count()}",
            f"onnxruntime={onnxruntime.__version__}",
            f"openvino={_build(openvino)}",
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
    """Median milliseconds of each, timed in turns so that the machine's drift hits both. Each
    turn starts with an untimed run: the other engine's idle threads still spin for a while after
    its run (ONNX Runtime's do), and would be timed as this one's slowness."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(RUNS):
        reference.run(inputs)
        _timed_run(reference, inputs, ours)
        candidate.run(inputs)
        _timed_run(candidate, inputs, theirs)
    import statistics  # ~3 ms to import (decimal, fractions): only a measurement needs it

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
        openvino_spec = importlib.util.find_spec("openvino")
    except (ImportError, ValueError):  # a package set to None, or one without a spec
        openvino_spec = None
    if openvino_spec is None:
        return reference, "onnxruntime: openvino is not installed"
    key = cache_key(model_sha256, request, inputs, openvino_spec)
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
        chosen, why = candidate, f"openvino: it ran {speedup:.2f}× as fast as onnxruntime {on}"
    elif speedup >= 1.0:
        chosen, why = (
            reference,
            f"onnxruntime: openvino ran only {speedup:.2f}× as fast as onnxruntime (a tie) {on}",
        )
    else:
        chosen, why = (
            reference,
            f"onnxruntime: openvino ran {speedup:.2f}× as fast as onnxruntime {on}",
        )
    import onnxruntime
    import openvino  # the candidate ran: both are imported

    versions = f"onnxruntime {onnxruntime.__version__}, openvino {openvino.__version__}"
    _remember(
        key,
        {"engine": chosen.ran.engine, "why": why, "versions": versions, **_numbers(ours, theirs)},
    )
    return chosen, why


def _numbers(ours: float, theirs: float) -> dict[str, str]:
    return {"onnxruntime_ms": f"{ours:.2f}", "openvino_ms": f"{theirs:.2f}"}
