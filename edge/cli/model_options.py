"""The options every model command shares (`score`, `live`, `check`): declared once, as the
fields of `ModelOptions`, and given to a command by `@with_model_options()`. Adding an option
is one field here."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from edge.cli.cli_common import (
    CardOption,
    ConfOption,
    DeviceOption,
    EngineOption,
    HeadlessOption,
    ImgszOption,
    LoopOption,
    MaxFramesOption,
    ModelOption,
    PrecisionOption,
    ProtocolOption,
    RealtimeOption,
    RecordOption,
    RubricOption,
    ServerOption,
    StrictOption,
    ThreadsOption,
    say,
)
from edge.inference.engine_names import Device, EngineName, Precision, Protocol
from edge.inference.zoo import resolve_model

if typing.TYPE_CHECKING:
    from edge.inference.engines import EngineRequest
    from edge.inference.pipeline import PipelineConfig
    from edge.inference.session import Purpose
    from edge.video.loop import LiveSummary
    from edge.video.stages import Stage

Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass(frozen=True)
class ModelOptions:
    """One field per shared option; its annotation is the typer option the command shows."""

    model: ModelOption = None
    card: CardOption = None
    device: DeviceOption = Device.auto
    strict: StrictOption = False
    threads: ThreadsOption = 0
    conf: ConfOption = None
    rubric: RubricOption = None
    imgsz: ImgszOption = None
    engine: EngineOption = EngineName.auto
    precision: PrecisionOption = Precision.fp32
    server: ServerOption = None
    protocol: ProtocolOption = Protocol.http

    def pipeline_config(self, purpose: Purpose) -> PipelineConfig:
        """These options as a pipeline config (a zoo name is resolved, and pulled, here)."""
        from edge.inference.pipeline import PipelineConfig
        from edge.inference.session import SessionConfig

        session = SessionConfig(
            model_path=resolve_model(self.model, say),
            card_path=self.card,
            imgsz=self.imgsz,
            purpose=purpose,
            request=self.engine_request(),
        )
        return PipelineConfig(session=session, conf=self.conf, rubric_path=self.rubric)

    def engine_request(self) -> EngineRequest:
        """The engine options as the one request every layer holds."""
        from edge.inference.engines import EngineRequest

        return EngineRequest(
            engine=self.engine.value,
            device=self.device.value,
            precision=self.precision.value,
            strict=self.strict,
            threads=self.threads,
            server=self.server,
            protocol=self.protocol.value,
        )


@dataclass(frozen=True)
class LiveOptions:
    """The live runner's options, shared by `live` and `check --source`."""

    headless: HeadlessOption = False
    max_frames: MaxFramesOption = None
    record: RecordOption = None
    loop: LoopOption = False
    realtime: RealtimeOption = True

    def run(self, stage: Stage, source: str, json_output: bool) -> LiveSummary:
        """The live runner with `stage` on `source`; its notes and closing line on stderr.
        Headless, JSON lines go into a pipe or a file (or with `json_output`), else a status
        line a second."""
        from edge.video.loop import LiveConfig, run_live

        config = LiveConfig(
            source=source,
            realtime=self.realtime,
            headless=self.headless or json_output,
            max_frames=self.max_frames,
            record=self.record,
            loop=self.loop,
            json_lines=json_output or not sys.stdout.isatty(),
        )
        summary = run_live(config, stage, sys.stdout, lambda text: say(f"note: {text}"))
        say(summary.line())
        if summary.lost:
            say(f"warning: {summary.lost}")
        return summary


def with_model_options(*left_out: str) -> Callable[[Command], Command]:
    """Add the shared model options (less `left_out`) to a typer command, after its own; the
    command receives them as one keyword argument, `options: ModelOptions`."""
    return _with_group(ModelOptions, "options", left_out)


def with_live_options() -> Callable[[Command], Command]:
    """Add the live runner's options; the command receives them as `live: LiveOptions`."""
    return _with_group(LiveOptions, "live", ())


def _with_group(
    group: type[Any], parameter: str, left_out: tuple[str, ...]
) -> Callable[[Command], Command]:
    hints = typing.get_type_hints(group, include_extras=True)
    shared = [field for field in dataclasses.fields(group) if field.name not in left_out]

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != parameter]
        added = [
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=field.default,
                annotation=hints[field.name],
            )
            for field in shared
        ]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            chosen = {field.name: kwargs.pop(field.name, field.default) for field in shared}
            return command(*args, **{parameter: group(**chosen)}, **kwargs)

        parameters = own + added
        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return typing.cast(Command, run)

    return decorate
