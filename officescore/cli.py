"""The root command line. It only assembles: each package defines its own commands, and
none of them imports this module or each other's commands."""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Any

import typer
from typer._click import exceptions as click_errors  # typer's own click

from edge.cli.cli_common import (
    EXIT_BAD_INPUT,
    EXIT_CLOSED_PIPE,
    FlagHelpCommand,
    FlagHelpGroup,
    quiet_closed_stdout,
    say,
)
from export.zoo_build import register_builders

COMMANDS: dict[str, str] = {  # each command, in --help's order, and the module defining it
    "score": "edge.cli.commands",
    "live": "edge.cli.commands",
    "check": "edge.cli.check_command",
    "web": "edge.cli.commands",
    "serve": "edge.cli.serve_commands",
    "evaluate": "export.commands",
    "train": "train.commands",
    "label": "train.data_commands",
    "bench": "benchmarks.commands",
}
GROUPS: dict[str, tuple[str, str]] = {  # each command group: its module and its typer app
    "models": ("edge.cli.zoo_commands", "models_app"),
    "export": ("export.commands", "export_app"),
    "data": ("train.data_commands", "data_app"),
}


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


def build_app(named: str | None = None) -> typer.Typer:
    """Every command; or, where `named` is one of them, that one alone: importing every
    command's module and building all their options is ~20 ms of each start. Any other name
    (an option, a typo) gets them all, for the help or the "no such command" it asks for."""
    if named not in COMMANDS and named not in GROUPS:
        named = None
    app = typer.Typer(
        cls=OneLineErrors,
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        help="Score a home office or video-call background from photos, videos or a webcam.",
    )
    app.callback()(_root)  # a group even when it holds one command
    for name, module in COMMANDS.items():
        if named in (None, name):
            app.command(cls=FlagHelpCommand)(getattr(importlib.import_module(module), name))
    for name, (module, attribute) in GROUPS.items():
        if named in (None, name):
            app.add_typer(getattr(importlib.import_module(module), attribute), name=name)
    return app


def _root() -> None:
    """The root command's own options: --help alone."""


def __getattr__(name: str) -> Any:
    """`app`: the whole command line, built when first asked for (tests, documentation)."""
    if name == "app":
        globals()["app"] = built = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    register_builders()
    app = build_app(sys.argv[1] if len(sys.argv) > 1 else None)
    gc.freeze()  # the modules live until exit: the collector need not walk them on every pass
    try:
        app(prog_name="officescore")
    finally:
        gc.freeze()  # nor once more while the interpreter shuts down (~40 ms of a photo's start)
