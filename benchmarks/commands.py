"""`officescore bench`: latency per stage and end to end, per backend, size and thread count."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edge.cli.cli_common import (
    Device,
    DeviceOption,
    EngineOrRay,
    Precision,
    Protocol,
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
from edge.core.vocabulary import plural
from edge.inference.modelcard import bundled_dir

if TYPE_CHECKING:  # the harness loads OpenCV and the engines: imported when bench runs
    from benchmarks.call_check import CallCheckSpeed
    from benchmarks.loop import LoopResult
    from benchmarks.startup import Startup
    from benchmarks.throughput import Throughput


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
    from benchmarks.call_check import call_check_speed
    from benchmarks.environment import stamp
    from benchmarks.loop import bench_loop
    from benchmarks.parity import attach_parity
    from benchmarks.report import as_table, rows, write_csv, write_plot
    from benchmarks.runners import (
        TURNS,
        BenchSpec,
        Timed,
        bench_onnx,
        bench_person,
        bench_torchscript,
        time_in_turns,
    )
    from benchmarks.throughput import demo_frames, ray_throughput, triton_throughput
    from edge.inference.engines import UnsupportedPrecision
    from edge.inference.pipeline import Pipeline, PipelineConfig
    from edge.inference.session import SessionConfig
    from edge.video.capture import resolve_source

    timed: list[Timed] = []
    skipped: list[dict[str, str]] = []  # rows this machine cannot run, with the reason
    throughput: list[Throughput] = []
    loop: LoopResult | None = None
    call_speed: CallCheckSpeed | None = None
    started: Startup | None = None
    model_paths: list[Path | None] = list(model) if model else [None]
    with user_errors(), optional_dependencies():
        if call is not None:
            resolve_source(call)  # a missing video is said before anything is timed
        sizes = [parse_size(s) for s in size or ["480x640"]]
        for frame_size in sizes:
            if frame_size is None:
                raise OfficeScoreError("bench needs concrete sizes, not dynamic")
            size_text = f"{frame_size[0]}x{frame_size[1]}"
            input_sizes: list[int | None] = list(imgsz) if imgsz else [None]
            for thread_count in threads or [2]:
                for input_size in input_sizes:
                    spec = BenchSpec(
                        frame_size,
                        thread_count,
                        device.value,
                        input_size,
                        strict=strict,
                        server=server,
                        protocol=protocol.value,
                    )
                    if torchscript is not None and input_size == input_sizes[0]:
                        say(
                            f"loading {torchscript.name} (TorchScript) for {size_text} frames, "
                            f"{thread_count} threads"
                        )
                        timed.append(bench_torchscript(torchscript, spec, photo))
                    for path in model_paths:
                        for engine_name, precision_name in engine_rows(engine, precision):
                            at = f"{input_size} px" if input_size else "the model's live size"
                            say(
                                f"loading {path or 'the bundled detector'} on {engine_name} "
                                f"{precision_name} for {size_text} frames (model input: {at}), "
                                f"{thread_count} threads"
                            )
                            row_spec = replace(spec, engine=engine_name, precision=precision_name)
                            try:
                                timed.append(bench_onnx(path, row_spec, photo))
                            except UnsupportedPrecision as error:
                                say(f"skipped: {engine_name} {precision_name}: {error}")
                                skipped.append(
                                    {
                                        "backend": engine_name,
                                        "precision": precision_name,
                                        "size": size_text,
                                        "reason": str(error),
                                    }
                                )
        if person:
            for frame_size in sizes:
                assert frame_size is not None  # refused above
                say(f"loading the person models at {frame_size[0]}x{frame_size[1]}")
                person_spec = BenchSpec(frame_size, (threads or [2])[0], device.value)
                timed.append(bench_person(person_spec, photo))
        if len(timed) > 1:
            say(f"timing {len(timed)} rows in {min(TURNS, iterations)} turns")
        results = time_in_turns(timed, warmup, iterations)
        attach_parity(results)
        engines = engine or []
        first_config = PipelineConfig(  # the first model, for throughput and the loop
            session=SessionConfig(
                model_path=model_paths[0],
                device=device.value,
                strict=strict,
                threads=(threads or [2])[0],
                purpose="live",
                server=server,
                protocol=protocol.value,
            )
        )
        if EngineOrRay.triton in engines:
            say(f"throughput: triton {protocol.value} against local, {frames} frames")
            throughput += triton_throughput(
                replace(first_config, session=replace(first_config.session, engine="triton")),
                demo_frames(frames),
                clients or [1, 8],
            )
        if EngineOrRay.ray in engines:
            say(f"throughput: ray ({actors} actors) against the plain loop, {frames} photos")
            throughput += ray_throughput(first_config, frames, actors)
        if video is not None:
            loop = bench_loop(
                Path(str(resolve_source(video))),
                Pipeline(first_config),
                realtime,
                loop_frames,
                loop_rounds,
            )
        if call is not None:
            options = ["--device", device.value, "--threads", str((threads or [2])[0])]
            if model_paths[0] is not None:
                options += ["--model", str(model_paths[0])]
            call_speed = call_check_speed(call, call_rounds, options, say)
        if startup:
            from benchmarks.startup import STARTUP_ROUNDS, measure_startup
            from edge.video.capture import DEMO_CLIP

            startup_photo = photo or _first_frame_file(bundled_dir() / DEMO_CLIP)
            started = measure_startup(startup_photo, STARTUP_ROUNDS, say)
        if csv_path:
            write_csv(results, csv_path)
        if plot:
            write_plot(results, plot)
    if json_output:
        print(
            json.dumps(
                {
                    "environment": stamp(),
                    "results": rows(results),
                    "skipped": skipped,
                    "loop": loop.to_dict() if loop else None,
                    "call_check": call_speed.to_dict() if call_speed else None,
                    "startup": started.to_dict() if started else None,
                    "throughput": [row.to_dict() for row in throughput],
                }
            )
        )
        return
    console = stdout()
    console.print(as_table(results, skipped))
    if loop:
        console.print(
            f"loop on {loop.video} ({'realtime' if loop.realtime else 'every frame'}): "
            f"{loop.frames} frames, {loop.displayed_fps:.1f} fps shown "
            f"({loop.displayed_share_of_source:.0%} of the source), "
            f"{loop.processed_fps:.1f} fps scored vs "
            f"{loop.model_only_fps:.1f} fps model alone ({loop.share_of_model_throughput:.0%}, "
            f"median of rounds {', '.join(f'{share:.2f}' for share in loop.round_shares)}), "
            f"source {loop.source_fps:.0f} fps, dropped {loop.dropped}, "
            f"result age p50 {loop.result_age_p50_ms:.1f} ms; CPU a frame: loop "
            f"{loop.cpu_ms_per_frame:.2f} ms, model alone {loop.model_cpu_ms_per_frame:.2f} ms "
            f"({loop.cpu_share:.0%})",
            markup=False,
        )
    if call_speed:
        console.print(call_speed.line(), markup=False)
    if started:
        console.print(started.line(), markup=False)
    for row in throughput:
        console.print(
            f"throughput: {row.engine}, {plural(row.clients, row.unit)}: {row.frames} frames in "
            f"{row.seconds:.1f} s, {row.fps:.1f} fps",
            markup=False,
        )
    environment = stamp()
    console.print(
        f"{environment['cpu']}, {environment['cores']} cores, {environment['os']}; "
        + ", ".join(f"{name} {version}" for name, version in environment["packages"].items()),
        markup=False,
    )


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
