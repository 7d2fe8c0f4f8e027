"""`officescore train DATA`: teach the detector your own labelled photos. torch is imported
only when the command runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edge.cli.cli_common import (
    EXIT_INTERRUPTED,
    ModelOption,
    flag,
    optional_dependencies,
    parse_size,
    say,
    user_errors,
)
from edge.core.errors import OfficeScoreError
from edge.inference.zoo import resolve_model

if TYPE_CHECKING:
    from train.loop import EpochRecord, TrainConfig
    from train.run_folder import RunSummary

KEEP_CHOICES = ("coco", "base", "none")
DataArgument = Annotated[
    Path,
    typer.Argument(
        help="Labelled photos: a COCO instances .json, a YOLO data.yaml, or a folder holding "
        "either.",
        show_default=False,
    ),
]


def train(
    data: DataArgument,
    val: Annotated[
        Path | None,
        typer.Option(help="Validation photos, labelled like DATA (default: DATA's own split)."),
    ] = None,
    model: ModelOption = None,
    name: Annotated[
        str | None, typer.Option(help="The run's name (runs/train/NAME); default: the data's.")
    ] = None,
    runs: Annotated[Path, typer.Option(help="Where run folders go.")] = Path("runs/train"),
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training photos.")] = 30,
    imgsz: Annotated[int, typer.Option(help="Training size in pixels, a multiple of 32.")] = 416,
    batch: Annotated[int, typer.Option(min=1, help="Photos per step.")] = 8,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the split, order and augmentation.")] = 0,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 1e-3,
    optimizer: Annotated[str, typer.Option(help="adamw or sgd.")] = "adamw",
    keep: Annotated[
        str,
        typer.Option(
            help="Keep the starting model's other classes working: coco (or base), or none."
        ),
    ] = "coco",
    only: Annotated[bool, flag(help="Train your classes alone (the same as --keep none).")] = False,
    maps: Annotated[
        list[str] | None,
        typer.Option("--map", help="NAME=CLASS: your class NAME is the model's CLASS."),
    ] = None,
    attribute_classes: Annotated[
        list[str] | None,
        typer.Option(
            "--attribute-classes",
            help="A COCO attribute that makes a class of its own (raiseable → chair:raiseable).",
        ),
    ] = None,
    val_fraction: Annotated[
        float, typer.Option(help="Photos held out for validation where the data has no split.")
    ] = 0.2,
    replay: Annotated[
        list[Path] | None,
        typer.Option(
            help="Photos of the starting model's world (home photos, not labelled), replayed "
            "with its own outputs as targets so it keeps seeing them as it did."
        ),
    ] = None,
    replay_per_step: Annotated[
        int, typer.Option(help="Replayed photos added to each step of --batch.")
    ] = 2,
    resume: Annotated[bool, flag(help="Go on from the run's last checkpoint.")] = False,
    from_torchscript: Annotated[
        Path | None,
        typer.Option(
            "--from", help="With --model maskrcnn: the TorchScript Mask R-CNN to start from."
        ),
    ] = None,
    size: Annotated[
        str, typer.Option(help="With --model maskrcnn: the ONNX export's HEIGHTxWIDTH, or dynamic.")
    ] = "480x640",
) -> None:
    """Fine-tune the detector on your labelled photos: a model that sees what you labelled."""
    with user_errors(), optional_dependencies():
        if keep not in KEEP_CHOICES:
            raise OfficeScoreError(f"--keep takes {', '.join(KEEP_CHOICES)}, got {keep!r}")
        from train.classes import parse_maps
        from train.loop import TrainConfig

        maskrcnn = model == "maskrcnn"
        if maskrcnn != (from_torchscript is not None):
            raise OfficeScoreError("--model maskrcnn and --from model.pt go together")
        run_dir = run_folder(runs, name or data_name(data), resume)
        config = TrainConfig(
            data=data,
            val=val,
            model=None if maskrcnn else resolve_model(model, say),
            run_dir=run_dir,
            epochs=epochs,
            imgsz=imgsz,
            batch=batch,
            device=device,
            seed=seed,
            lr=lr,
            optimizer=optimizer,
            keep_base=keep != "none" and not only,
            maps=parse_maps(maps or []),
            attribute_classes=tuple(attribute_classes or ()),
            resume=resume,
            val_fraction=val_fraction,
            replay=tuple(replay or ()),
            replay_per_step=replay_per_step,
        )
        if from_torchscript is not None:
            _run_maskrcnn(config, from_torchscript, parse_size(size))
            return
        summary = _run(config)
        print_summary(summary)


def _run(config: TrainConfig) -> RunSummary:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from train.loop import Progress as LoopProgress
    from train.loop import prepare, train, validate_start
    from train.run_folder import write_run

    console = Console(stderr=True)

    class Bar(LoopProgress):
        def __init__(self, bar: Progress) -> None:
            self.bar, self.task = bar, bar.add_task("preparing", total=None)
            self.started = time.perf_counter()

        def note(self, text: str) -> None:
            self.bar.console.print(text, markup=False, highlight=False)

        def step(self, epoch: int, step: int, steps: int, loss: float) -> None:
            done = (epoch - 1) * steps + step
            self.bar.update(
                self.task,
                completed=done,
                total=steps * config.epochs,
                description=f"epoch {epoch}/{config.epochs} loss {loss:.2f}",
            )

        def epoch_done(self, record: EpochRecord, best: bool) -> None:
            mark = " (best so far)" if best else ""
            self.note(
                f"epoch {record.epoch}: loss {record.loss:.3f}, validation AP50 "
                f"{record.ap50:.3f}, AP {record.ap:.3f}, {record.seconds:.0f} s{mark}"
            )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("time left"),
        TimeRemainingColumn(),
    )
    # into a file or a pipe the epochs' lines say it all; a bar there is noise
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        progress = Bar(bar)
        prepared = prepare(config, progress)
        config.run_dir.mkdir(parents=True, exist_ok=True)  # only once the data and model read
        before = validate_start(prepared)
        progress.note(
            f"the starting model on the {len(prepared.dataset.val.images)} validation photos: "
            f"AP50 {before.ap50:.3f}, AP {before.ap:.3f}"
        )
        try:
            history = train(config, prepared, progress)
        except KeyboardInterrupt:
            say(
                f"interrupted: the last whole checkpoint is {config.run_dir / 'last.pt'}; "
                f"go on with the same command and --resume --name {config.run_dir.name}"
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
    return write_run(config, prepared, history, before)


def _run_maskrcnn(config: TrainConfig, source: Path, size: tuple[int, int] | None) -> None:
    from train.loop import Progress as LoopProgress
    from train.maskrcnn import train_maskrcnn

    class Lines(LoopProgress):
        def note(self, text: str) -> None:
            say(text)

    run = train_maskrcnn(config, source, size, Lines())
    export = run.export
    verdict = "passed" if export.report.passed else "FAILED"
    say(f"TorchScript: {run.torchscript}")
    say(
        f"validation AP50 {run.before['AP50']:.3f} before, {run.after['AP50']:.3f} after; "
        f"ONNX parity {verdict} ({export.report_path})"
    )
    if export.model is None:
        raise typer.Exit(1)
    say(f"use it: officescore score PHOTO --model {export.model}")


def run_folder(runs: Path, name: str, resume: bool) -> Path:
    """`runs/NAME`; a new run never writes into an old one (NAME-2, NAME-3, …)."""
    if resume:
        if not (runs / name).is_dir():
            raise OfficeScoreError(f"--resume: no run {runs / name}")
        return runs / name
    candidate, number = runs / name, 1
    while candidate.exists():
        number += 1
        candidate = runs / f"{name}-{number}"
    return candidate


def data_name(data: Path) -> str:
    folder = data if data.is_dir() else data.parent
    return folder.resolve().name or "run"


def print_summary(summary: RunSummary) -> None:
    from train.run_folder import class_table

    say(f"model: {summary.model} (best epoch {summary.best_epoch})")
    say(f"{'class':<18} {'instances':>9} {'AP50 before':>12} {'AP50 after':>11}")
    for row in class_table(summary.before, summary.after):
        say(
            f"{row['class']:<18} {row['instances']:>9} {row['AP50_before']:>12.3f} "
            f"{row['AP50_after']:>11.3f}"
        )
    say(f"use it: officescore score PHOTO --model {summary.model}")
