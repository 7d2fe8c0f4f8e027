"""Reduced-precision models written beside an exported fp32 model, never instead of it.

Each variant (NAME.int8.onnx, NAME.fp16.onnx) carries the fp32 model's metadata with its card
renamed (`-int8`, `-fp16`) and an `officescore.precision` entry, so every record it scores
says what ran. Its parity is measured and shown, but does not gate the export.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import onnx

from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import CARD_METADATA_KEY, PRECISION_METADATA_KEY


def variant_path(fp32_path: Path, precision: str) -> Path:
    return fp32_path.with_name(f"{fp32_path.stem}.{precision}.onnx")


def relabel(
    proto: onnx.ModelProto, fp32: onnx.ModelProto, precision: str, details: dict[str, Any]
) -> None:
    """Carry the fp32 metadata over; the card's name and a precision entry name the variant."""
    del proto.metadata_props[:]
    for entry in fp32.metadata_props:
        value = entry.value
        if entry.key == CARD_METADATA_KEY:
            value = _renamed(value, precision)
        proto.metadata_props.add(key=entry.key, value=value)
    proto.metadata_props.add(key=PRECISION_METADATA_KEY, value=precision)
    proto.metadata_props.add(key=f"officescore.{precision}", value=json.dumps(details))


def _renamed(card: str, precision: str) -> str:
    lines = card.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("name = ") and line.endswith('"'):
            lines[index] = f'{line[:-1]}-{precision}"'
            break
    return "\n".join(lines) + "\n"


@contextmanager
def scratch_beside(target: Path, precision: str) -> Iterator[Path]:
    """A temporary folder beside the target (same file system, so the final rename is atomic)."""
    try:
        with tempfile.TemporaryDirectory(prefix=f".{precision}-", dir=target.parent) as path:
            yield Path(path)
    except OSError as error:
        raise OfficeScoreError(
            f"--{precision}: cannot write in {target.parent}: {error.strerror}"
        ) from None


def save_atomically(proto: onnx.ModelProto, target: Path, scratch: Path) -> None:
    staged = scratch / "staged.onnx"
    onnx.save(proto, str(staged))
    os.replace(staged, target)
