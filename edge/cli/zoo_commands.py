"""`officescore models list|pull|add|remove|info`: the model zoo from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edge.cli.cli_common import FlagHelpCommand, FlagHelpGroup, say, stdout, user_errors
from edge.inference.zoo import Zoo, default_config

models_app = typer.Typer(
    cls=FlagHelpGroup,
    no_args_is_help=True,
    help="The model zoo: list, pull, add, remove and describe models.",
)
NameArgument = Annotated[str, typer.Argument(help="A zoo name (see `officescore models list`).")]


def _zoo() -> Zoo:
    return Zoo(default_config(), say)


@models_app.command("list", cls=FlagHelpCommand)
def list_models() -> None:
    """Every model the zoo knows, and whether it is here."""
    with user_errors():
        from rich import box
        from rich.table import Table

        zoo = _zoo()
        table = Table(title="officescore models", box=box.SIMPLE_HEAD)
        for column in ("name", "task", "size", "COCO AP", "licence", "here"):
            table.add_column(column, no_wrap=True, overflow="ellipsis")
        for entry in zoo.entries.values():
            here = "bundled" if entry.kind == "bundled" else "yes" if zoo.is_ready(entry) else "no"
            task, coco_ap, licence = entry.brief
            table.add_row(entry.name, task, entry.size_text, coco_ap, licence, here)
        console = stdout()
        console.print(table)
        console.print(f"cache: {zoo.config.cache}", markup=False, soft_wrap=True)
        console.print("each model in full: officescore models info NAME", markup=False)


@models_app.command(cls=FlagHelpCommand)
def pull(name: NameArgument) -> None:
    """Download (or build) a model into the cache, checked by size and sha256."""
    with user_errors():
        path = _zoo().pull(name)
        say(f"{name}: {path}")


@models_app.command(cls=FlagHelpCommand)
def add(
    name: NameArgument,
    file: Annotated[Path, typer.Argument(help="The model file, fetched by other means.")],
) -> None:
    """Put a model file into the cache: a zoo model fetched elsewhere, or your own.

    A name the zoo does not know adds your own model (one `officescore train` made, say) for
    `--model NAME`; its card, inside the file or beside it, says what it detects."""
    with user_errors():
        path = _zoo().add(name, file)
        say(f"{name}: checked and added as {path}")


@models_app.command(cls=FlagHelpCommand)
def remove(name: NameArgument) -> None:
    """Delete a cached model."""
    with user_errors():
        removed = _zoo().remove(name)
        say(f"{name}: removed" if removed else f"{name}: not in the cache")


@models_app.command(cls=FlagHelpCommand)
def info(name: NameArgument) -> None:
    """What a model is: task, classes, licence, source, size, sha256, published AP, input."""
    with user_errors():
        zoo = _zoo()
        entry = zoo.entry(name)
        console = stdout()
        for key, value in entry.describe():
            console.print(f"{key}: {value}", markup=False)
        state = (
            "bundled"
            if entry.kind == "bundled"
            else "cached"
            if zoo.is_ready(entry)
            else "not downloaded"
        )
        console.print(f"path: {zoo.path(entry)} ({state})", markup=False)
