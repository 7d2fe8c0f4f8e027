"""The options every model command shares (`score`, `live`, `check`): declared once, as the
fields of `ModelOptions`, and given to a command by `@with_model_options()`. Adding an option
is one field here."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from edge.cli.cli_common import (
    CardOption,
    ConfOption,
    DeviceOption,
    EngineOption,
    ImgszOption,
    ModelOption,
    PrecisionOption,
    ProtocolOption,
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


def with_model_options(*left_out: str) -> Callable[[Command], Command]:
    """Add the shared options (less `left_out`) to a typer command, after its own; the command
    receives them as one keyword argument, `options: ModelOptions`."""
    hints = typing.get_type_hints(ModelOptions, include_extras=True)
    shared = [field for field in dataclasses.fields(ModelOptions) if field.name not in left_out]

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "options"]
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
            return command(*args, options=ModelOptions(**chosen), **kwargs)

        parameters = own + added
        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return typing.cast(Command, run)

    return decorate
