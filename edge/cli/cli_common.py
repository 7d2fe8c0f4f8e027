"""What every command line shares: error handling, install hints, size parsing, the common
options. Command modules import this; it imports nothing of theirs back."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from edge.core.errors import OfficeScoreError, install_hint
from edge.inference.engine_names import Device, EngineName, Precision, Protocol

if TYPE_CHECKING:  # rich is imported by the commands that print a table, when they print it
    from rich.console import Console

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `grep … | head`
PIPE_WIDTH = 1000  # tables into a pipe or a file keep their natural width, never wrapped


def _as_flag(option: Any) -> Any:
    if option is not None:
        option.metavar = ""  # typer would show `<bool>` as the type of --help
    return option


class FlagHelpCommand(TyperCommand):
    """A command whose --help shows as a plain flag, like our other flags."""

    def get_help_option(self, ctx: Any) -> Any:
        return _as_flag(super().get_help_option(ctx))


class FlagHelpGroup(TyperGroup):
    """A command group whose --help shows as a plain flag."""

    def get_help_option(self, ctx: Any) -> Any:
        return _as_flag(super().get_help_option(ctx))


def stdout() -> Console:
    """Tables and text for stdout: the terminal's width, or unwrapped into a pipe or a file
    (COLUMNS, where set, still wins)."""
    from rich.console import Console

    unwrapped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, width=PIPE_WIDTH if unwrapped else None)


def quiet_closed_stdout() -> None:
    """The reader of stdout went away (`… | head`): later writes and the final flush go
    nowhere instead of raising again."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def say(text: str) -> None:
    """One plain line on stderr (notes, warnings, errors)."""
    print(text, file=sys.stderr, flush=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn user-caused errors into one line on stderr and a non-zero exit."""
    try:
        yield
    except OfficeScoreError as error:
        say(f"error: {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except BrokenPipeError:
        raise  # not an error: the root command ends quietly
    except OSError as error:  # writing output: a full disk, a closed pipe
        say(f"error: cannot write output: {error.strerror or error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None


@contextmanager
def optional_dependencies() -> Iterator[None]:
    """A missing optional package becomes a one-line install hint, not a traceback."""
    try:
        yield
    except ImportError as error:
        name = (error.name or str(error)).split(".")[0]
        raise OfficeScoreError(f"this command needs {name}: {install_hint(name)}") from None


Judged = TypeVar("Judged")


class EachInput:
    """`score` and `check` over many inputs: a bad one is one `error:` line and the rest go on;
    `failed` says whether any was bad (the command then exits 2, once it has done the rest)."""

    def __init__(self) -> None:
        self.failed = 0

    def judge(
        self, paths: Iterable[Path], judge: Callable[[Path], Judged]
    ) -> Iterator[tuple[Path, Judged]]:
        for path in paths:
            try:
                judged = judge(path)
            except OfficeScoreError as error:
                say(f"error: {error}")
                self.failed += 1
                continue
            yield path, judged


def parse_size(text: str) -> tuple[int, int] | None:
    """`480x640` → (480, 640); `dynamic` → None."""
    if text == "dynamic":
        return None
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise OfficeScoreError(f"--size must be HEIGHTxWIDTH or dynamic, got {text!r}") from None
    return height, width


def flag(*names: str, **options: Any) -> Any:
    """A boolean option shown as a plain flag in --help (no `<bool>` type column)."""
    return typer.Option(*names, metavar="", **options)


ModelOption = Annotated[
    str | None,
    typer.Option(
        help="A zoo name (officescore models list) or an ONNX file (default: yolox-nano)."
    ),
]
CardOption = Annotated[
    Path | None,
    typer.Option(help="Model card TOML (default: beside the model or in its metadata)."),
]
DeviceOption = Annotated[
    Device, typer.Option(help="Where to run; the provider actually used is printed.")
]
StrictOption = Annotated[bool, flag("--strict", help="Fail instead of falling back to CPU.")]
ThreadsOption = Annotated[
    int, typer.Option(min=0, help="CPU threads for inference (0: the engine decides).")
]
ConfOption = Annotated[
    float | None,
    typer.Option(
        help="Minimum detection confidence for every class (default: the model card's, 0.4 "
        "with lower values for classes it measured)."
    ),
]
RubricOption = Annotated[
    Path | None, typer.Option(help="Score rubric TOML (default: the model card's).")
]
ImgszOption = Annotated[
    int | None,
    typer.Option(
        help="Model input size in pixels, a multiple of 32 (default: the card's photo or "
        "live size)."
    ),
]
EngineOption = Annotated[
    EngineName,
    typer.Option(
        help="Inference engine: auto (the faster of ONNX Runtime and OpenVINO on this CPU, "
        "measured once and remembered), onnxruntime, openvino, or triton (a server)."
    ),
]
ServerOption = Annotated[
    str | None,
    typer.Option(help="With --engine triton: the server's HOST:PORT (see officescore serve)."),
]
ProtocolOption = Annotated[
    Protocol, typer.Option(help="With --engine triton: http, or grpc (serve's --grpc-port).")
]
PrecisionOption = Annotated[
    Precision,
    typer.Option(help="Inference precision (bf16/fp16: OpenVINO; reduced precision is opt-in)."),
]

# the live runner's options, shared by `live` and `check --source`
HeadlessOption = Annotated[
    bool,
    flag(
        "--headless",
        help="No window: on a terminal a status line a second; into a pipe or a file (or "
        "with --json) JSON lines.",
    ),
]
MaxFramesOption = Annotated[int | None, typer.Option(min=1, help="Stop after this many frames.")]
RecordOption = Annotated[
    Path | None, typer.Option(help="Record the annotated video to this file (.mp4).")
]
LoopOption = Annotated[
    bool, flag("--loop", help="Play a video file again and again (stop with Ctrl-C).")
]
RealtimeOption = Annotated[
    bool,
    flag(
        "--realtime/--no-realtime",
        help="Play files at their own frame rate; --no-realtime takes every frame as fast as "
        "it can.",
    ),
]
