"""The `officescore` command line: parse options, build a config, call one function, print."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from edge.batch import InputReport, expand_inputs, prepare_out_dir, score_path
from edge.errors import OfficeScoreError
from edge.loop import LiveConfig, LiveSummary, run_live
from edge.scorer import Scorer, ScorerConfig
from edge.session import DEVICES, SessionConfig

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Score a home office or video-call background from photos, videos or a webcam.",
)
EXIT_BAD_INPUT = 2

ModelOption = Annotated[
    Path | None, typer.Option(help="ONNX detector (default: bundled YOLOX-Nano).")
]
CardOption = Annotated[
    Path | None,
    typer.Option(help="Model card TOML (default: beside the model or in its metadata)."),
]
DeviceOption = Annotated[str, typer.Option(help=f"Where to run: {'|'.join(DEVICES)}.")]
StrictOption = Annotated[bool, typer.Option(help="Fail instead of falling back to CPU.")]
ThreadsOption = Annotated[
    int, typer.Option(min=0, help="CPU threads for inference (0: ONNX Runtime decides).")
]
ConfOption = Annotated[float, typer.Option(help="Minimum detection confidence.")]
RubricOption = Annotated[
    Path | None, typer.Option(help="Score rubric TOML (default: the model card's).")
]


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn user-caused errors into one line on stderr and a non-zero exit."""
    try:
        yield
    except OfficeScoreError as error:
        _stderr().print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as error:  # writing output: a full disk, a closed pipe
        _stderr().print(f"error: cannot write output: {error.strerror or error}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _scorer(
    model: Path | None,
    card: Path | None,
    device: str,
    strict: bool,
    threads: int,
    conf: float,
    rubric: Path | None,
) -> Scorer:
    session = SessionConfig(
        model_path=model, card_path=card, device=device, strict=strict, threads=threads
    )
    return Scorer(ScorerConfig(session=session, conf=conf, rubric_path=rubric))


@app.command()
def score(
    paths: Annotated[list[Path], typer.Argument(help="Photos, videos or folders of them.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object per input on stdout.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write annotated images/videos to this folder.")
    ] = None,
    conf: ConfOption = 0.4,
    sample_fps: Annotated[
        float, typer.Option(min=0.1, help="Video frames scored per second.")
    ] = 5.0,
    model: ModelOption = None,
    card: CardOption = None,
    device: DeviceOption = "auto",
    strict: StrictOption = False,
    threads: ThreadsOption = 0,
    rubric: RubricOption = None,
) -> None:
    """Score photos and videos; print a breakdown per input (or JSON with --json)."""
    with user_errors():
        scorer = _scorer(model, card, device, strict, threads, conf, rubric)
        if out:
            prepare_out_dir(out)
        failures = 0
        for path in expand_inputs(paths):
            try:
                report = score_path(path, scorer, out, sample_fps)
            except OfficeScoreError as error:
                _stderr().print(f"error: {error}", markup=False)
                failures += 1
                continue
            for note in report.notes:
                _stderr().print(f"note: {path}: {note}", markup=False)
            if json_output:
                sys.stdout.write(json.dumps(report.to_dict()) + "\n")
                sys.stdout.flush()
            else:
                _print_report(report)
        if failures:
            raise typer.Exit(EXIT_BAD_INPUT)


def _print_report(report: InputReport) -> None:
    console = Console(highlight=False)
    frames = f", {report.frames} frames" if report.kind == "video" else ""
    table = Table(
        title=f"{report.path}: office score {report.score.value}/100{frames}", title_justify="left"
    )
    for column in ("criterion", "status", "points", "reason"):
        table.add_column(column)
    for c in report.score.criteria:
        points = "—" if c.status == "not_checked" else f"{c.points:+d}"
        table.add_row(c.title, c.status.replace("_", " "), points, c.reason)
    console.print(table)
    objects = ", ".join(f"{name} ×{n}" for name, n in report.score.counts.items()) or "none"
    timing = " ".join(f"{k} {v:.1f}" for k, v in report.timings_ms.items())
    console.print(f"objects: {objects}\nprovider: {report.provider}; ms: {timing}\n", markup=False)


@app.command()
def live(
    source: Annotated[
        str,
        typer.Option(
            help="Camera index, video file, stream URL, 'demo', or 'auto' (camera 0, else demo)."
        ),
    ] = "auto",
    headless: Annotated[
        bool, typer.Option(help="No window: one JSON line per processed frame.")
    ] = False,
    max_frames: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many frames.")
    ] = None,
    record: Annotated[
        Path | None, typer.Option(help="Record the annotated video to this file (.mp4).")
    ] = None,
    loop: Annotated[
        bool, typer.Option(help="Play a video file again and again (stop with Ctrl-C).")
    ] = False,
    realtime: Annotated[
        bool,
        typer.Option(
            help="Play files at their own frame rate; --no-realtime takes every frame "
            "as fast as the pipeline can."
        ),
    ] = True,
    conf: ConfOption = 0.4,
    model: ModelOption = None,
    card: CardOption = None,
    device: DeviceOption = "auto",
    strict: StrictOption = False,
    threads: ThreadsOption = 0,
    rubric: RubricOption = None,
) -> None:
    """Score a webcam, stream or video live, in a window or as JSON lines."""
    err = _stderr()
    with user_errors():
        scorer = _scorer(model, card, device, strict, threads, conf, rubric)
        err.print(f"model {scorer.detector.card.name} on {scorer.provider}", markup=False)
        config = LiveConfig(
            source=source,
            realtime=realtime,
            headless=headless,
            max_frames=max_frames,
            record=record,
            loop=loop,
        )
        summary = run_live(
            config, scorer, sys.stdout, lambda text: err.print(f"note: {text}", markup=False)
        )
        _print_summary(summary, err)


def _print_summary(summary: LiveSummary, err: Console) -> None:
    stages = " ".join(f"{k} {v:.1f}" for k, v in summary.stage_p50_ms.items())
    final = summary.last_score.value if summary.last_score else "n/a"
    ending = "stopped by user" if summary.interrupted else "done"
    err.print(
        f"{ending}: {summary.frames} frames from {summary.source} in {summary.elapsed_s:.1f} s "
        f"({summary.fps:.1f} fps), dropped {summary.dropped}, reconnects {summary.reconnects} "
        f"(gaps {summary.gap_seconds:.1f} s), "
        f"final score {final}; p50 ms: {stages}",
        markup=False,
    )
    if summary.lost:
        err.print(f"warning: {summary.lost}", markup=False)


EXIT_CHECK_FAILED = 1
_CHECK_MARKS = {
    "pass": "[green]● pass[/]",
    "warn": "[yellow]● warn[/]",
    "fail": "[red]● fail[/]",
    "not_checked": "[dim]○ not checked[/]",
}


@app.command()
def check(
    photos: Annotated[list[Path] | None, typer.Argument(help="Photos of your background.")] = None,
    source: Annotated[
        str | None, typer.Option(help="Check live instead: camera index, video, URL or 'demo'.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object per photo, or per second live.")
    ] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the thresholds and stop.")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write annotated photos to this folder.")] = None,
    window: Annotated[float, typer.Option(min=0.1, help="Live: seconds the verdict covers.")] = 3.0,
    headless: Annotated[bool, typer.Option(help="Live: no window, JSON per second.")] = False,
    max_frames: Annotated[
        int | None, typer.Option(min=1, help="Live: stop after N frames.")
    ] = None,
    thresholds: Annotated[
        Path | None, typer.Option(help="Thresholds TOML (default: bundled).")
    ] = None,
    conf: ConfOption = 0.4,
    model: ModelOption = None,
    card: CardOption = None,
    device: DeviceOption = "auto",
    strict: StrictOption = False,
    threads: ThreadsOption = 0,
) -> None:
    """Check your video-call background. Exit 0: nothing fails, 1: something does, 2: bad input."""
    from edge.check_run import CheckConfig, Checker, report_to_dict
    from edge.check_run import explain as explain_thresholds

    failed = False
    with user_errors():
        if explain:
            Console(highlight=False).print(explain_thresholds(thresholds), markup=False)
            return
        if not photos and source is None:
            raise OfficeScoreError("give photos to check, or --source for a live check")
        session = SessionConfig(
            model_path=model, card_path=card, device=device, strict=strict, threads=threads
        )
        checker = Checker(CheckConfig(session, conf, thresholds, window))
        if out:
            prepare_out_dir(out)
        if source is not None:
            err = _stderr()
            final = checker.check_live(
                source,
                headless or json_output,
                max_frames,
                sys.stdout,
                lambda text: err.print(f"note: {text}", markup=False),
            )
            failed = bool(final and final.failed)
        for path in expand_inputs(photos or []):
            report = checker.check_photo(path, out / f"{path.stem}.check.jpg" if out else None)
            failed |= report.failed
            if json_output:
                sys.stdout.write(json.dumps(report_to_dict(report, input=str(path))) + "\n")
                sys.stdout.flush()
                continue
            table = Table(title=f"{path}: background check", title_justify="left")
            for column in ("criterion", "verdict", "reason"):
                table.add_column(column)
            for verdict in report.verdicts:
                table.add_row(verdict.title, _CHECK_MARKS[verdict.status], verdict.reason)
            Console(highlight=False).print(table)
    if failed:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def web(
    port: Annotated[int, typer.Option(help="Port of the local page.")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes it to your network.")
    ] = "127.0.0.1",
    model: ModelOption = None,
    device: DeviceOption = "auto",
) -> None:
    """Start the local web page: upload a photo, get it annotated and scored."""
    import os
    import subprocess

    from edge.webpage import MAX_PIXELS, MAX_UPLOAD_BYTES
    from export.cli import optional_dependencies

    with user_errors(), optional_dependencies():
        import streamlit  # noqa: F401  (only to say early that the `web` extra is missing)

        if model is not None and not model.is_file():
            raise OfficeScoreError(f"model file not found: {model}")
        script = Path(__file__).with_name("web_app.py")
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
            device,
            *(["--model", str(model.resolve())] if model else []),
        ]
        environment = {**os.environ, "CV_IO_MAX_IMAGE_PIXELS": str(MAX_PIXELS)}
        _stderr().print(f"officescore web on http://{host}:{port} (Ctrl-C stops it)", markup=False)
        try:
            code = subprocess.run(command, env=environment, check=False).returncode
        except KeyboardInterrupt:
            code = 0
    if code:
        raise typer.Exit(code)


def main() -> None:
    from export.cli import register

    register(app)
    app()
