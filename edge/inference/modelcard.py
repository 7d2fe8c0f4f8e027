"""Model cards: what an ONNX detector outputs and how its labels map to canonical names.

A card is TOML. It is found, in order: the path the user names, a `.toml` beside the
`.onnx`, or the ONNX metadata key `officescore.card` (written by `officescore export`).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from edge.core.errors import OfficeScoreError
from edge.core.vocabulary import CANONICAL_ID, CANONICAL_NAMES, DERIVED_FROM, OTHER_ID, Sight

CARD_METADATA_KEY = "officescore.card"
PRECISION_METADATA_KEY = "officescore.precision"  # set on int8/fp16 variants only
DEFAULT_CONF = 0.4
BUNDLED_MODEL = "yolox_nano"


@dataclass(frozen=True)
class ModelCard:
    name: str
    adapter: str
    labels: tuple[str, ...]
    canonical_of_label: np.ndarray
    model_path: Path
    sha256: str | None = None
    rubric_path: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def visible_names(self) -> frozenset[str]:
        """Canonical names this model can detect at all."""
        seen = {CANONICAL_NAMES[i] for i in set(self.canonical_of_label.tolist())}
        return frozenset(seen | {name for name, of in DERIVED_FROM.items() if of in seen})

    @functools.cached_property
    def unreliable_names(self) -> frozenset[str]:
        """Canonical names whose every label the card's [reliability] table measured below its
        `min_recall` on real photos: too rarely found to earn a reward by."""
        table = self.settings.get("reliability", {})
        recall, floor = table.get("recall", {}), float(table.get("min_recall", 0.0))
        reliable = {
            int(canonical)
            for label, canonical in zip(self.labels, self.canonical_of_label, strict=True)
            if float(recall.get(label, 1.0)) >= floor
        }
        reliable_names = {CANONICAL_NAMES[i] for i in reliable}
        reliable_names |= {name for name, of in DERIVED_FROM.items() if of in reliable_names}
        return self.visible_names - reliable_names

    @functools.cached_property
    def sight(self) -> Sight:
        return Sight(self.visible_names, self.unreliable_names)

    def class_conf(self, conf: float | None) -> np.ndarray:
        """The confidence each label must reach: `conf` for all when the user gave one, else
        the card's [decode] conf with its per-label `class_conf` exceptions."""
        decode = self.settings.get("decode", {})
        if conf is not None:
            return np.full(len(self.labels), conf, np.float32)
        default = float(decode.get("conf", DEFAULT_CONF))
        per_label = decode.get("class_conf", {})
        return np.array([float(per_label.get(x, default)) for x in self.labels], np.float32)


DEMO_CLIP = "demo.mp4"  # the bundled clip of home offices (models/SOURCES.md)


def bundled_dir() -> Path:
    """The `models/` folder installed beside this package: found from this file, not through
    sys.path, so a `models/` folder in the working directory cannot hide it."""
    return Path(__file__).resolve().parents[2] / "models"


def bundled_model_path() -> Path:
    return bundled_dir() / f"{BUNDLED_MODEL}.onnx"


def parse_card(text: str, model_path: Path, origin: str) -> ModelCard:
    """Validate a card's TOML text; `origin` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise OfficeScoreError(f"model card {origin} is not valid TOML: {error}") from None
    model = data.get("model", {})
    labels = data.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise OfficeScoreError(f"model card {origin} needs a non-empty list of string `labels`")
    mapping = data.get("canonical", {})
    if isinstance(mapping, str):
        mapping = shared_mapping(mapping, origin)
    unknown = sorted(set(mapping.values()) - set(CANONICAL_ID))
    if unknown:
        raise OfficeScoreError(f"model card {origin} maps to unknown canonical names: {unknown}")
    adapter = model.get("adapter")
    if not isinstance(adapter, str):
        raise OfficeScoreError(f"model card {origin} needs `model.adapter`")
    canonical = np.array([CANONICAL_ID.get(mapping.get(x, ""), OTHER_ID) for x in labels], np.int32)
    rubric = model.get("rubric")
    base = model_path.parent
    return ModelCard(
        name=str(model.get("name", model_path.stem)),
        adapter=adapter,
        labels=tuple(labels),
        canonical_of_label=canonical,
        model_path=model_path,
        sha256=model.get("sha256"),
        rubric_path=(base / rubric) if rubric and (base / rubric).exists() else None,
        settings={k: v for k, v in data.items() if k not in ("model", "labels", "canonical")},
    )


def shared_mapping(name: str, origin: str) -> dict[str, str]:
    """A label → canonical table bundled as `models/<name>_canonical.toml`."""
    path = bundled_dir() / f"{name}_canonical.toml"
    if not name.isidentifier() or not path.is_file():
        raise OfficeScoreError(f"model card {origin}: no shared canonical mapping {name!r}")
    return {str(k): str(v) for k, v in tomllib.loads(path.read_text(encoding="utf-8")).items()}


def load_card_file(model_path: Path, card_path: Path | None) -> ModelCard | None:
    """The card the user names, else a `.toml` beside the model, else None."""
    if card_path is not None:
        return parse_card(_read_text(card_path), model_path, str(card_path))
    sibling = model_path.with_suffix(".toml")
    if sibling.is_file():
        return parse_card(_read_text(sibling), model_path, str(sibling))
    return None


def card_from_metadata(model_path: Path, metadata: dict[str, str]) -> ModelCard:
    """The card embedded in the ONNX file by `officescore export`."""
    if CARD_METADATA_KEY in metadata:
        return parse_card(metadata[CARD_METADATA_KEY], model_path, f"in {model_path.name}")
    raise OfficeScoreError(
        f"no model card for {model_path}: pass --card, put {model_path.stem}.toml beside it, "
        f"or export it with `officescore export`"
    )


def file_sha256(path: Path) -> str:
    """The file's sha256, read in 1 MiB blocks (models run to hundreds of MB); read once per
    process while the file keeps its size and time."""
    stat = path.stat()
    return _sha256_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    digest = file_sha256(path)
    if digest != expected.lower():
        raise OfficeScoreError(
            f"{path} does not match its model card (sha256 {digest[:12]}…, "
            f"expected {expected[:12]}…): the file is corrupt or not the model the card describes"
        )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise OfficeScoreError(f"cannot read model card {path}: {error}") from None
