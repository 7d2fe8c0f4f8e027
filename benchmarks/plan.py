"""`officescore bench` as a plan and its run: the plan lists what the options ask for (latency
rows of three kinds, throughput, the live loop, the check against live, start-up); each kind of
latency row has its runner; the run returns everything measured as one `BenchRun`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from benchmarks.call_check import CallCheckSpeed, call_check_speed
from benchmarks.loop import LoopResult, bench_loop
from benchmarks.parity import attach_parity
from benchmarks.runners import (
    TURNS,
    BenchResult,
    BenchSpec,
    Timed,
    bench_onnx,
    bench_person,
    bench_torchscript,
    time_in_turns,
)
from benchmarks.startup import Startup
from benchmarks.throughput import Throughput, demo_frames, ray_throughput, triton_throughput
from edge.inference.engines import EngineRequest, UnsupportedPrecision
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.inference.session import SessionConfig
from edge.video.capture import resolve_source

RowKind = Literal["onnx", "torchscript", "person"]


@dataclass(frozen=True)
class LatencyRow:
    kind: RowKind
    spec: BenchSpec
    model: Path | None = None  # onnx: None is the bundled detector; torchscript: the file

    def loading(self) -> str:
        """What the row loads, said before it is timed."""
        height, width = self.spec.size
        request = self.spec.request
        if self.kind == "person":
            return f"loading the person models at {height}x{width}"
        if self.kind == "torchscript":
            assert self.model is not None
            return (
                f"loading {self.model.name} (TorchScript) for {height}x{width} frames, "
                f"{request.threads} threads"
            )
        at = f"{self.spec.imgsz} px" if self.spec.imgsz else "the model's live size"
        return (
            f"loading {self.model or 'the bundled detector'} on {request.engine} "
            f"{request.precision} for {height}x{width} frames (model input: {at}), "
            f"{request.threads} threads"
        )


def _torchscript(row: LatencyRow, photo: Path | None) -> Timed:
    assert row.model is not None  # latency_rows gives every TorchScript row its file
    return bench_torchscript(row.model, row.spec, photo)


RUNNERS: dict[RowKind, Callable[[LatencyRow, Path | None], Timed]] = {
    "onnx": lambda row, photo: bench_onnx(row.model, row.spec, photo),
    "torchscript": _torchscript,
    "person": lambda row, photo: bench_person(row.spec, photo),
}


def latency_rows(
    *,
    models: list[Path | None],
    torchscript: Path | None,
    sizes: list[tuple[int, int]],
    threads: list[int],
    input_sizes: list[int | None],
    engines: list[tuple[str, str]],
    request: EngineRequest,
    person: bool,
) -> tuple[LatencyRow, ...]:
    """Per frame size, thread count and input size: the TorchScript baseline (once per size
    and thread count), then each model on each engine and precision; the person models last."""
    rows: list[LatencyRow] = []
    for size in sizes:
        for thread_count in threads:
            threaded = replace(request, threads=thread_count)
            if torchscript is not None:
                rows.append(LatencyRow("torchscript", BenchSpec(size, None, threaded), torchscript))
            for input_size in input_sizes:
                for model in models:
                    for engine, precision in engines:
                        row_request = replace(threaded, engine=engine, precision=precision)
                        spec = BenchSpec(size, input_size, row_request)
                        rows.append(LatencyRow("onnx", spec, model))
    if person:
        people = EngineRequest(device=request.device, threads=threads[0])
        rows += [LatencyRow("person", BenchSpec(size, None, people)) for size in sizes]
    return tuple(rows)


@dataclass(frozen=True)
class BenchPlan:
    rows: tuple[LatencyRow, ...]
    live: SessionConfig  # the first model as `live` runs it: throughput, the loop, --call
    photo: Path | None = None
    warmup: int = 3
    iterations: int = 20
    triton_clients: tuple[int, ...] = ()  # empty: no Triton throughput rows
    ray_actors: int = 0  # 0: no Ray throughput rows
    frames: int = 200  # frames or photos per throughput row
    video: str | None = None  # the live loop on this video
    realtime: bool = False
    loop_frames: int | None = None
    loop_rounds: int = 3
    call: str | None = None  # `check` against `live` on this video
    call_rounds: int = 5
    startup: Path | None = None  # time the command line's start-up scoring this photo


@dataclass
class BenchRun:
    results: list[BenchResult] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # with the reason
    throughput: list[Throughput] = field(default_factory=list)
    loop: LoopResult | None = None
    call_speed: CallCheckSpeed | None = None
    startup: Startup | None = None


def run_plan(plan: BenchPlan, say: Callable[[str], None]) -> BenchRun:
    run = BenchRun()
    if plan.call is not None:
        resolve_source(plan.call)  # a missing video is said before anything is timed
    timed: list[Timed] = []
    for row in plan.rows:
        say(row.loading())
        try:
            timed.append(RUNNERS[row.kind](row, plan.photo))
        except UnsupportedPrecision as error:
            request = row.spec.request
            say(f"skipped: {request.engine} {request.precision}: {error}")
            height, width = row.spec.size
            run.skipped.append(
                {
                    "backend": request.engine,
                    "precision": request.precision,
                    "size": f"{height}x{width}",
                    "reason": str(error),
                }
            )
    if len(timed) > 1:
        say(f"timing {len(timed)} rows in {min(TURNS, plan.iterations)} turns")
    run.results = time_in_turns(timed, plan.warmup, plan.iterations)
    attach_parity(run.results)
    live = PipelineConfig(session=plan.live)
    if plan.triton_clients:
        request = plan.live.request
        say(f"throughput: triton {request.protocol} against local, {plan.frames} frames")
        on_triton = replace(plan.live, request=replace(request, engine="triton"))
        run.throughput += triton_throughput(
            PipelineConfig(session=on_triton), demo_frames(plan.frames), list(plan.triton_clients)
        )
    if plan.ray_actors:
        say(
            f"throughput: ray ({plan.ray_actors} actors) against the plain loop, "
            f"{plan.frames} photos"
        )
        run.throughput += ray_throughput(live, plan.frames, plan.ray_actors)
    if plan.video is not None:
        video = Path(str(resolve_source(plan.video)))
        pipeline = Pipeline(live)
        run.loop = bench_loop(video, pipeline, plan.realtime, plan.loop_frames, plan.loop_rounds)
    if plan.call is not None:
        request = plan.live.request
        options = ["--device", request.device, "--threads", str(request.threads)]
        if plan.live.model_path is not None:
            options += ["--model", str(plan.live.model_path)]
        run.call_speed = call_check_speed(plan.call, plan.call_rounds, options, say)
    if plan.startup is not None:
        from benchmarks.startup import STARTUP_ROUNDS, measure_startup

        run.startup = measure_startup(plan.startup, STARTUP_ROUNDS, say)
    return run
