"""`officescore data audit` and `officescore label`: know your labelled photos before trusting
a number, and label new ones faster. Neither needs torch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from edge.cli import cli_common
from edge.cli.cli_common import ModelOption, flag, say, stdout, user_errors
from edge.core.errors import OfficeScoreError
from edge.inference.zoo import resolve_model
from train.commands import DataArgument, data_name, run_folder

data_app = typer.Typer(
    cls=cli_common.FlagHelpGroup,
    no_args_is_help=True,
    add_completion=False,
    help="Know your labelled photos: what they hold, their copies, their suspect labels.",
)
FORMATS = ("coco", "yolo")


@contextmanager
def _bar(what: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on a terminal (nothing in a pipe): `tell(stage, done, total)`."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(what, total=None)

        def tell(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"{what}: {stage}")

        yield tell


@data_app.command()
def audit(
    data: DataArgument,
    model: ModelOption = None,
    imgsz: Annotated[
        int | None, typer.Option(help="The model's input size (default: its card's).")
    ] = None,
    conf: Annotated[
        float, typer.Option(help="How sure the model must be that a label's class is another.")
    ] = 0.2,
    missing_conf: Annotated[
        float, typer.Option(help="How sure it must be of an object nobody labelled.")
    ] = 0.5,
    attribute_classes: Annotated[
        list[str] | None,
        typer.Option("--attribute-classes", help="As for train: an attribute that makes a class."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="The report folder (default: runs/audit/NAME, a new one).")
    ] = None,
    runs: Annotated[Path, typer.Option(help="Where report folders go.")] = Path("runs/audit"),
    top: Annotated[int, typer.Option(min=1, help="Suspects listed on the terminal.")] = 20,
    json_output: Annotated[bool, flag("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Counts, copies (across splits too) and suspected label errors, ranked, to check by eye.

    A report folder holds a picture per suspect (the label and the model's box) and an index
    page; --json prints the report."""
    with user_errors(), cli_common.optional_dependencies():
        import json

        from train.audit import AuditConfig
        from train.audit import audit as run_audit
        from train.audit_report import print_report, write_report

        for name, value in (("--conf", conf), ("--missing-conf", missing_conf)):
            if not 0 < value <= 1:
                raise OfficeScoreError(f"{name} must be in (0, 1], got {value}")
        config = AuditConfig(
            data=data,
            model=resolve_model(model, say),
            imgsz=imgsz,
            conf=conf,
            missing_conf=missing_conf,
            attribute_classes=tuple(attribute_classes or ()),
        )
        folder = out or run_folder(runs, data_name(data), resume=False)
        with _bar("audit") as tell:
            report = run_audit(config, tell)
        write_report(report, folder)
        if json_output:
            stdout().print_json(json.dumps({**report.to_dict(), "report": str(folder)}))
        else:
            print_report(report, top, folder)


def label(
    images: Annotated[
        list[Path], typer.Argument(help="Photos, or folders of them.", show_default=False)
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="The COCO .json to write (with --format yolo: a folder).", show_default=False
        ),
    ],
    model: ModelOption = None,
    imgsz: Annotated[
        int | None, typer.Option(help="The model's input size (default: its card's).")
    ] = None,
    conf: Annotated[float, typer.Option(help="The lowest confidence written.")] = 0.3,
    classes: Annotated[
        list[str] | None,
        typer.Option("--classes", help="Keep only these (the model's labels or canonical names)."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="coco or yolo.")] = "coco",
    force: Annotated[bool, flag(help="Replace --out if it exists.")] = False,
) -> None:
    """Pre-label photos with a model, to correct in CVAT or Label Studio and train on."""
    with user_errors(), cli_common.optional_dependencies():
        from train.prelabel import LabelConfig, label_photos

        if output_format not in FORMATS:
            raise OfficeScoreError(f"--format takes coco or yolo, got {output_format!r}")
        wanted = tuple(
            name.strip() for entry in classes or () for name in entry.split(",") if name.strip()
        )
        config = LabelConfig(
            images=tuple(images),
            out=out,
            model=resolve_model(model, say),
            imgsz=imgsz,
            conf=conf,
            classes=wanted,
            format="coco" if output_format == "coco" else "yolo",
            force=force,
        )
        with _bar("label") as tell:
            summary = label_photos(config, lambda done, total: tell("photos", done, total))
        for line in summary.failed:
            say(f"error: {line}")
        say(
            f"{summary.boxes} boxes on {summary.photos} photos written to {out}; "
            "correct them before training"
        )
        if summary.failed:
            raise typer.Exit(cli_common.EXIT_BAD_INPUT)
