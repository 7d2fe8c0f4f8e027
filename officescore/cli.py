"""The root command line. It only assembles: each package defines its own commands, and
none of them imports this module or each other's commands."""

from __future__ import annotations

import gc
import sys
from typing import Any

import typer
from typer._click import exceptions as click_errors  # typer's own click

from benchmarks.commands import bench
from edge.cli.check_command import check
from edge.cli.cli_common import (
    EXIT_BAD_INPUT,
    EXIT_CLOSED_PIPE,
    FlagHelpCommand,
    FlagHelpGroup,
    quiet_closed_stdout,
    say,
)
from edge.cli.commands import live, score, web
from edge.cli.serve_commands import serve
from edge.cli.zoo_commands import models_app
from export.commands import evaluate, export_app
from export.zoo_build import register_builders


class OneLineErrors(FlagHelpGroup):
    """Usage errors (a bad option value, a missing argument) as one `error:` line, exit 2,
    like every other error, instead of click's usage box."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        standalone_mode = kwargs.pop("standalone_mode", True)
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except click_errors.UsageError as error:
            if type(error).__name__ == "NoArgsIsHelpError" and error.ctx is not None:
                typer.echo(error.ctx.get_help())
            else:
                say(f"error: {error.format_message()}")
            code = EXIT_BAD_INPUT
        except click_errors.ClickException as error:
            say(f"error: {error.format_message()}")
            code = error.exit_code
        except typer.Abort:
            code = 130
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # `officescore score DIR --json | head -1`: the reader is done
            quiet_closed_stdout()
            raise typer.Exit(EXIT_CLOSED_PIPE) from None


def build_app() -> typer.Typer:
    app = typer.Typer(
        cls=OneLineErrors,
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        help="Score a home office or video-call background from photos, videos or a webcam.",
    )
    for command in (score, live, check, web, serve, evaluate, bench):
        app.command(cls=FlagHelpCommand)(command)
    app.add_typer(models_app, name="models")
    app.add_typer(export_app, name="export")
    return app


app = build_app()


def main() -> None:
    register_builders()
    gc.freeze()  # the modules live until exit: the collector need not walk them on every pass
    try:
        app(prog_name="officescore")
    finally:
        gc.freeze()  # nor once more while the interpreter shuts down (~40 ms of a photo's start)
