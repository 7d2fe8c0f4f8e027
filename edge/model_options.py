"""The options every model command shares (`score`, `live`, `check`), turned into a pipeline
config in one place."""

from __future__ import annotations

from pathlib import Path

from edge.cli_common import Device, EngineName, Precision, Protocol, say
from edge.pipeline import PipelineConfig
from edge.session import Purpose, SessionConfig
from edge.zoo import resolve_model


def pipeline_config(
    model: str | None,
    card: Path | None,
    device: Device,
    strict: bool,
    threads: int,
    conf: float | None,
    rubric: Path | None,
    imgsz: int | None,
    purpose: Purpose,
    engine: EngineName = EngineName.onnxruntime,
    precision: Precision = Precision.fp32,
    server: str | None = None,
    protocol: Protocol = Protocol.http,
) -> PipelineConfig:
    """The options every model command shares, as a config (a zoo name is resolved here)."""
    session = SessionConfig(
        model_path=resolve_model(model, say),
        card_path=card,
        device=device.value,
        strict=strict,
        threads=threads,
        imgsz=imgsz,
        purpose=purpose,
        engine=engine.value,
        precision=precision.value,
        server=server,
        protocol=protocol.value,
    )
    return PipelineConfig(session=session, conf=conf, rubric_path=rubric)
