"""Models a user adds under a name of their own (`officescore models add NAME FILE`), such as
one `officescore train` made: copied into the cache and listed in its `local.toml`, so
`--model NAME` finds them like any zoo model."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import tomllib

from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import (
    CARD_METADATA_KEY,
    ModelCard,
    file_sha256,
    load_card_file,
    parse_card,
)

LOCAL_REGISTRY = "local.toml"
LOCAL_KIND = "local"
MODEL_FILE = "model.onnx"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def local_registry(cache: Path) -> Path:
    return cache / LOCAL_REGISTRY


def model_card(file: Path) -> ModelCard:
    """The card of a model file: beside it, else in its ONNX metadata; none is an error."""
    import onnx

    if not file.is_file():
        raise OfficeScoreError(f"file not found: {file}")
    beside = load_card_file(file, None)
    if beside is not None:
        return beside
    try:
        model = onnx.load(str(file), load_external_data=False)
    except Exception as error:  # onnx raises DecodeError and others for a file that is no model
        raise OfficeScoreError(f"{file} is not an ONNX model ({error})") from None
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    if CARD_METADATA_KEY not in metadata:
        raise OfficeScoreError(
            f"{file} has no model card (inside it or as {file.with_suffix('.toml').name} beside "
            "it): officescore cannot tell what it detects"
        )
    return parse_card(metadata[CARD_METADATA_KEY], file, f"in {file.name}")


def register(cache: Path, name: str, file: Path) -> Path:
    """Copy `file` (and its card file, if beside it) into `cache/NAME/` and list it."""
    if not NAME_PATTERN.match(name):
        raise OfficeScoreError(
            f"model name {name!r}: use letters, digits, '.', '_' and '-' (64 at most)"
        )
    card = model_card(file)
    folder = cache / name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MODEL_FILE
    copy_into_place(file, target)
    beside = file.with_suffix(".toml")
    if beside.is_file():
        copy_into_place(beside, target.with_suffix(".toml"))
    labels = list(card.labels)
    shown = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
    entry = {
        "kind": LOCAL_KIND,
        "task": "detection",
        "classes": f"{len(labels)}: {shown}",
        "licence": "see its card",
        "source": f"added from {file.resolve()}",
        "file": MODEL_FILE,
        "size": target.stat().st_size,
        "sha256": file_sha256(target),
        "coco_ap": "not measured",
        "input": f"{card.adapter} model {card.name}",
    }
    entries = _read(cache)
    entries[name] = entry
    _write(cache, entries)
    return target


def unregister(cache: Path, name: str) -> None:
    entries = _read(cache)
    if entries.pop(name, None) is not None:
        _write(cache, entries)


def _read(cache: Path) -> dict[str, dict[str, object]]:
    path = local_registry(cache)
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise OfficeScoreError(f"cannot read model registry {path}: {error}") from None


def _write(cache: Path, entries: dict[str, dict[str, object]]) -> None:
    lines = ["# Models added with `officescore models add NAME FILE`."]
    for name, entry in entries.items():
        lines += ["", f"[{json.dumps(name)}]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in entry.items()]
    cache.mkdir(parents=True, exist_ok=True)
    _replace(local_registry(cache), ("\n".join(lines) + "\n").encode())


def copy_into_place(source: Path, target: Path) -> None:
    """Copy aside in the target's folder, then rename: never a half file where a whole one
    should be."""
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".tmp") as handle:
        temporary = Path(handle.name)
    try:
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _replace(target: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".tmp") as handle:
        handle.write(data)
    os.replace(handle.name, target)
