"""`officescore bench`: latency per stage and end to end, per backend, size and thread count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edge.cli.cli_common import (
    DeviceOption,
    ProtocolOption,
    ServerOption,
    StrictOption,
    flag,
    optional_dependencies,
    parse_size,
    say,
    stdout,
    user_errors,
)
from edge.core.errors import OfficeScoreError
from edge.inference.engine_names import Device, EngineOrRay, Precision, Protocol
from edge.inference.modelcard import bundled_dir


def engine_rows(
    engines: list[EngineOrRay] | None, precisions: list[Precision] | None
) -> list[tuple[str, str]]:
    """ONNX Runtime fp32 first (the reference), then every asked engine × precision it runs."""
    rows = [("onnxruntime", "fp32")]
    for engine in engines or [EngineOrRay.onnxruntime]:
        if engine in (EngineOrRay.ray, EngineOrRay.auto):
            continue  # ray: throughput only; auto: bench compares the engines themselves
        for precision in precisions or [Precision.fp32]:
            runs = engine is EngineOrRay.openvino or precision is Precision.fp32
            if runs and (engine.value, precision.value) not in rows:
                rows.append((engine.value, precision.value))
    return rows


def bench(
    model: Annotated[
        list[Path] | None, typer.Option(help="ONNX models to time (default: the bundled detector).")
    ] = None,
    torchscript: Annotated[
        Path | None, typer.Option(help="A TorchScript Mask R-CNN: the baseline for speed-ups.")
    ] = None,
    size: Annotated[list[str] | None, typer.Option(help="Frame sizes HEIGHTxWIDTH.")] = None,
    threads: Annotated[list[int] | None, typer.Option(help="CPU thread counts.")] = None,
    engine: Annotated[
        list[EngineOrRay] | None,
        typer.Option(help="Engines to compare (ONNX Runtime fp32 always runs: the reference)."),
    ] = None,
    server: ServerOption = None,
    protocol: ProtocolOption = Protocol.http,
    clients: Annotated[
        list[int] | None, typer.Option(min=1, help="Triton: concurrent clients (default 1, 8).")
    ] = None,
    frames: Annotated[
        int, typer.Option(min=1, help="Triton and Ray: frames or photos per throughput row.")
    ] = 200,
    actors: Annotated[int, typer.Option(min=1, help="Ray: actors.")] = 2,
    precision: Annotated[
        list[Precision] | None,
        typer.Option(help="Precisions to compare, where the engine supports them."),
    ] = None,
    imgsz: Annotated[
        list[int] | None,
        typer.Option(help="Model input sizes (YOLOX-style models; default: the card's live size)."),
    ] = None,
    device: DeviceOption = Device.auto,
    strict: StrictOption = False,
    warmup: Annotated[
        int, typer.Option(min=0, help="Untimed runs first, per row (caches, lazy init).")
    ] = 3,
    iterations: Annotated[
        int, typer.Option(min=1, help="Timed runs per row; rows are timed in turns.")
    ] = 20,
    photo: Annotated[
        Path | None, typer.Option(help="Time on this photo (default: the demo clip's first frame).")
    ] = None,
    video: Annotated[
        str | None,
        typer.Option(help="Also run the live loop on this video ('demo': bundled clip)."),
    ] = None,
    realtime: Annotated[bool, flag(help="Loop: play the video at its frame rate.")] = False,
    loop_frames: Annotated[
        int | None, typer.Option(help="Loop: stop after this many frames.")
    ] = None,
    loop_rounds: Annotated[
        int,
        typer.Option(min=1, help="Loop: rounds of loop, then model alone (medians)."),
    ] = 3,
    person: Annotated[
        bool, flag("--person", help="Also time the video-call check's person models.")
    ] = False,
    call: Annotated[
        str | None,
        typer.Option(
            help="Compare `check` with `live` on this video, every frame ('demo': bundled "
            "clip): the video-call check's speed target."
        ),
    ] = None,
    startup: Annotated[
        bool, flag("--startup", help="Also time the command line's start-up (9 rounds).")
    ] = False,
    call_rounds: Annotated[
        int, typer.Option(min=1, help="--call: turns of live then check (median ratio).")
    ] = 5,
    json_output: Annotated[bool, flag("--json", help="Print everything as JSON.")] = False,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the table as CSV.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a stage-latency plot (PNG).")] = None,
) -> None:
    """Time the pipeline per stage; compare backends within one run."""
    from benchmarks.plan import BenchPlan, latency_rows, run_plan
    from benchmarks.report import write_csv, write_plot
    from benchmarks.summary import print_run, run_record
    from edge.inference.engines import EngineRequest
    from edge.inference.session import SessionConfig
    from edge.video.capture import DEMO_CLIP

    with user_errors(), optional_dependencies():
        parsed = [parse_size(s) for s in size or ["480x640"]]
        sizes = [s for s in parsed if s is not None]
        if len(sizes) < len(parsed):
            raise OfficeScoreError("bench needs concrete sizes, not dynamic")
        thread_counts = threads or [2]
        request = EngineRequest(
            device=device.value,
            strict=strict,
            threads=thread_counts[0],
            server=server,
            protocol=protocol.value,
        )
        models: list[Path | None] = list(model) if model else [None]
        engines = engine or []
        plan = BenchPlan(
            rows=latency_rows(
                models=models,
                torchscript=torchscript,
                sizes=sizes,
                threads=thread_counts,
                input_sizes=list(imgsz) if imgsz else [None],
                engines=engine_rows(engine, precision),
                request=request,
                person=person,
            ),
            live=SessionConfig(model_path=models[0], purpose="live", request=request),
            photo=photo,
            warmup=warmup,
            iterations=iterations,
            triton_clients=tuple(clients or [1, 8]) if EngineOrRay.triton in engines else (),
            ray_actors=actors if EngineOrRay.ray in engines else 0,
            frames=frames,
            video=video,
            realtime=realtime,
            loop_frames=loop_frames,
            loop_rounds=loop_rounds,
            call=call,
            call_rounds=call_rounds,
            startup=(photo or _first_frame_file(bundled_dir() / DEMO_CLIP)) if startup else None,
        )
        run = run_plan(plan, say)
        if csv_path:
            write_csv(run.results, csv_path)
        if plot:
            write_plot(run.results, plot)
    if json_output:
        print(json.dumps(run_record(run)))
        return
    print_run(run, stdout())


def _first_frame_file(video: Path) -> Path:
    """The video's first frame as a photo in the temporary folder (what `score` times)."""
    import tempfile

    import cv2

    ok, frame = cv2.VideoCapture(str(video)).read()
    if not ok:
        raise OfficeScoreError(f"cannot read {video}")
    path = Path(tempfile.gettempdir()) / "officescore-startup-frame.jpg"
    cv2.imwrite(str(path), frame)
    return path
