"""`officescore check`: the video-call background check, on photos or live."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edge.cli.cli_common import EXIT_BAD_INPUT, EachInput, flag, say, stdout, user_errors
from edge.cli.model_options import LiveOptions, ModelOptions, with_live_options, with_model_options
from edge.core.errors import OfficeScoreError

if TYPE_CHECKING:
    from edge.inference.session import Purpose

EXIT_CHECK_FAILED = 1


_CHECK_MARKS = {
    "pass": "[green]● pass[/]",
    "warn": "[yellow]● warn[/]",
    "fail": "[red]● fail[/]",
    "not_checked": "[dim]○ not checked[/]",
}


@with_model_options("rubric")  # the check has its own thresholds
@with_live_options()
def check(
    photos: Annotated[list[Path] | None, typer.Argument(help="Photos of your background.")] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="Check live instead: camera index, video, URL, 'demo' or 'call-demo' "
            "(someone on a call)."
        ),
    ] = None,
    json_output: Annotated[
        bool, flag("--json", help="One JSON object per photo, or live one a second.")
    ] = False,
    explain: Annotated[bool, flag("--explain", help="Print the thresholds and stop.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write annotated photos to this folder.")] = None,
    window: Annotated[float, typer.Option(min=0.1, help="Live: seconds the verdict covers.")] = 3.0,
    thresholds: Annotated[
        Path | None, typer.Option(help="Thresholds TOML (default: bundled).")
    ] = None,
    *,
    options: ModelOptions,
    live: LiveOptions,
) -> None:
    """Check how you look on a video call: pass, warn or fail per criterion, with the reason.

    Exit 0: nothing fails, 1: something fails, 2: bad input."""
    from edge.inference.checker import CheckConfig, Checker
    from edge.video.batch import check_image, expand_inputs, prepare_out_dir
    from edge.video.stages import CheckStage

    failures: list[str] = []
    warnings: list[str] = []
    judged = 0  # photos checked
    with user_errors():
        if explain:
            stdout().print(Checker.load_thresholds(thresholds).explained(), markup=False)
            return
        if not photos and source is None:
            raise OfficeScoreError("give photos to check, or --source for a live check")
        purpose: Purpose = "photo" if source is None else "live"
        config = options.pipeline_config(purpose)
        checker = Checker(CheckConfig(config, thresholds, window))
        if out:
            prepare_out_dir(out)
        if source is not None:
            summary = live.run(CheckStage(checker), source, json_output)
            final = summary.last
            if final and final.check:
                failures += [f"{v.title} (live)" for v in final.check.failures]
                warnings += [f"{v.title} (live)" for v in final.check.warnings]
        inputs = EachInput()
        checked = inputs.judge(
            expand_inputs(photos or []),
            lambda p: check_image(p, checker, out / f"{p.stem}.check.jpg" if out else None),
        )
        for path, result in checked:
            judged += 1
            assert result.check is not None
            failures += [f"{v.title} ({path.name})" for v in result.check.failures]
            warnings += [f"{v.title} ({path.name})" for v in result.check.warnings]
            if json_output:
                sys.stdout.write(json.dumps(result.to_record()) + "\n")
                sys.stdout.flush()
                continue
            from rich.table import Table

            table = Table(title=f"{path}: background check", title_justify="left")
            for column in ("criterion", "verdict", "reason"):
                table.add_column(column)
            for verdict in result.check.verdicts:
                table.add_row(verdict.title, _CHECK_MARKS[verdict.status], verdict.reason)
            console = stdout()
            console.print(table)
            console.print(
                f"judged by {result.model} on {result.engine} {result.device}"
                + (f" ({result.engine_why})" if result.engine_why else "")
                + "\n",
                markup=False,
            )
    code = EXIT_BAD_INPUT if inputs.failed else EXIT_CHECK_FAILED if failures else 0
    if failures:
        say(f"verdict: fail: {'; '.join(failures)} (exit {code})")
    elif warnings:
        say(f"verdict: warn: {'; '.join(warnings)} (exit {code})")
    elif judged or source is not None:
        say(f"verdict: pass: nothing fails or warns (exit {code})")
    if code:
        raise typer.Exit(code)
