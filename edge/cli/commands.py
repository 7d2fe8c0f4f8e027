"""The runtime's commands: `score`, `live`, `web` (`check`: edge/cli/check_command.py). Each
parses options, builds a config, calls one library function and prints; the root CLI
(officescore/cli.py) adds them."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edge.cli.cli_common import (
    EXIT_BAD_INPUT,
    DeviceOption,
    EachInput,
    ModelOption,
    flag,
    optional_dependencies,
    say,
    stdout,
    user_errors,
)
from edge.cli.model_options import LiveOptions, ModelOptions, with_live_options, with_model_options
from edge.core.vocabulary import plural
from edge.inference.engine_names import Device, EngineName, EngineOrRay
from edge.inference.zoo import BUNDLED_NAME, resolve_model

if TYPE_CHECKING:  # the modules that load OpenCV and the engines are imported when a command runs
    from edge.core.results import Result
    from edge.inference.pipeline import PipelineConfig

STRONGER_MODEL_HINT = (
    "the bundled YOLOX-Nano misses many small office objects; "
    "`officescore models pull yolox-s` gets a stronger detector (36 MB)"
)


@with_model_options("engine")  # score's --engine can also be ray
def score(
    paths: Annotated[list[Path], typer.Argument(help="Photos, videos or folders of them.")],
    json_output: Annotated[
        bool, flag("--json", help="One JSON object per input on stdout.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write annotated images/videos to this folder (with --engine ray: the "
            "results file, .jsonl or .parquet)."
        ),
    ] = None,
    sample_fps: Annotated[
        float, typer.Option(min=0.1, help="Video frames scored per second.")
    ] = 5.0,
    engine: Annotated[
        EngineOrRay,
        typer.Option(
            help="Inference engine (auto: the faster of ONNX Runtime and OpenVINO on this CPU, "
            "measured once), or ray: score the inputs on Ray Data actors."
        ),
    ] = EngineOrRay.auto,
    ray_address: Annotated[
        str | None,
        typer.Option(help="With --engine ray: 'auto' or HOST:PORT of a cluster (default: local)."),
    ] = None,
    actors: Annotated[
        int, typer.Option(min=1, help="With --engine ray: actors, each holding one session.")
    ] = 2,
    *,
    options: ModelOptions,
) -> None:
    """Score photos and videos; print a breakdown per input (or JSON with --json)."""
    from edge.inference.pipeline import Pipeline
    from edge.video.batch import expand_inputs, prepare_out_dir, score_path

    with user_errors():
        inference = (
            EngineName.onnxruntime if engine is EngineOrRay.ray else EngineName(engine.value)
        )
        config = replace(options, engine=inference).pipeline_config("photo")
        if engine is EngineOrRay.ray:
            _score_on_ray(paths, config, out, sample_fps, ray_address, actors)
            return
        pipeline = Pipeline(config)
        if out:
            prepare_out_dir(out)
        tables = 0
        inputs = EachInput()
        scored = inputs.judge(
            expand_inputs(paths), lambda p: score_path(p, pipeline, out, sample_fps)
        )
        for path, result in scored:
            for note in result.notes:
                say(f"note: {path}: {note}")
            if json_output:
                sys.stdout.write(json.dumps(result.to_record()) + "\n")
                sys.stdout.flush()
            else:
                _print_result(result)
                tables += 1
        if tables and options.model in (None, BUNDLED_NAME):
            stdout().print(f"tip: {STRONGER_MODEL_HINT}", markup=False)  # once per run
        if inputs.failed:
            raise typer.Exit(EXIT_BAD_INPUT)


def _score_on_ray(
    paths: list[Path],
    config: PipelineConfig,
    out: Path | None,
    sample_fps: float,
    address: str | None,
    actors: int,
) -> None:
    from edge.video.batch import expand_inputs

    with optional_dependencies():
        from edge.scale.ray_scoring import RayJob, run_ray_job

        job = RayJob(tuple(expand_inputs(paths)), config, out, sample_fps, address, actors)
        say(f"scoring {plural(len(job.paths), 'input')} on Ray with {plural(actors, 'actor')}")
        records = run_ray_job(job)
    errors = [record["error"] for record in records if "error" in record]
    for error in errors:
        say(f"error: {error}")
    say(f"wrote {plural(len(records) - len(errors), 'record')} to {out}")
    if errors:
        raise typer.Exit(EXIT_BAD_INPUT)


def _print_result(result: Result) -> None:
    from rich.table import Table

    console = stdout()
    score = result.score
    assert score is not None
    frames = f", {plural(result.frames, 'frame')}" if result.kind == "video" else ""
    table = Table(
        title=f"{result.source}: office score {score.value}/100{frames}"
        + (f", {score.place.lower()}" if score.place else "")
        + f" ({score.coverage})",
        title_justify="left",
    )
    for column in ("criterion", "status", "points", "reason"):
        table.add_column(column)
    for c in score.criteria:
        points = "—" if c.status == "not_checked" else f"{c.points:+d}"
        table.add_row(c.title, c.status.replace("_", " "), points, c.reason)
    console.print(table)
    objects = ", ".join(f"{name} ×{n}" for name, n in score.counts.items()) or "none"
    objects += "".join(f"\nread as a scene: {note}" for note in score.scene)
    timing = " ".join(f"{k} {v:.1f}" for k, v in result.timings_ms.items())
    console.print(
        f"objects: {objects}\njudged by {result.model} on {result.engine} {result.device} "
        f"{result.precision}; ms: {timing}"
        + (f"\nengine: {result.engine_why}" if result.engine_why else ""),
        markup=False,
    )
    console.print()


@with_model_options()
@with_live_options()
def live(
    source: Annotated[
        str,
        typer.Option(
            help="Camera index, video file, stream URL, 'demo', or 'auto' (camera 0, else demo)."
        ),
    ] = "auto",
    json_output: Annotated[
        bool, flag("--json", help="No window: a JSON line per frame, even on a terminal.")
    ] = False,
    *,
    options: ModelOptions,
    live: LiveOptions,
) -> None:
    """Score a webcam, stream or video live, in a window or as JSON lines."""
    from edge.inference.pipeline import Pipeline
    from edge.video.stages import ScoreStage

    with user_errors():
        live.run(ScoreStage(Pipeline(options.pipeline_config("live"))), source, json_output)


def web(
    port: Annotated[int, typer.Option(help="Port of the local page.")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes it to your network.")
    ] = "127.0.0.1",
    model: ModelOption = None,
    device: DeviceOption = Device.auto,
) -> None:
    """Start the local web page: upload a photo, get it annotated and scored.

    This process becomes the Streamlit server (exec), so Ctrl-C and SIGTERM reach it directly
    and nothing is left running behind it.
    """
    from edge.web.photo_page import MAX_PIXELS, MAX_UPLOAD_BYTES

    with user_errors(), optional_dependencies():
        import streamlit  # noqa: F401  (only to say early that the `web` extra is missing)

        model_path = resolve_model(model, say)
        script = Path(__file__).parents[1] / "web" / "streamlit_page.py"
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.address",
            host,
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--client.toolbarMode",
            "minimal",
            "--server.maxUploadSize",
            str(MAX_UPLOAD_BYTES // (1024 * 1024)),
            "--",
            "--device",
            device.value,
            *(["--model", str(model_path.resolve())] if model_path else []),
        ]
        environment = {**os.environ, "CV_IO_MAX_IMAGE_PIXELS": str(MAX_PIXELS)}
        say(f"officescore web on http://{host}:{port} (Ctrl-C stops it)")
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, command, environment)
