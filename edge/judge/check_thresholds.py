"""The check's thresholds (models/check.toml) as one frozen dataclass per section, validated at
load: a missing, unknown or mistyped key is one line naming the file, the section and the key.
Each section's `explain` is a sentence with `{key}` placeholders: `check --explain` fills them
with the values the rules use."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomllib

from edge.core.errors import OfficeScoreError
from edge.core.vocabulary import CANONICAL_ID
from edge.judge.places import Place, private_signs

Severity = Literal["warn", "fail"]


@dataclass(frozen=True)
class PictureThresholds:
    explain: str
    clipped_at: int  # luminance at which a webcam's highlights lose detail
    black_below: float
    fail_dark: float
    warn_dark: float
    fail_clipped: float
    warn_clipped: float
    bright_clipped: float
    fail_bright: float
    warn_bright: float
    fail_contrast: float
    warn_contrast: float
    fail_focus: float
    warn_focus: float
    fail_noise: float
    warn_noise: float


@dataclass(frozen=True)
class CameraThresholds:
    explain: str
    live_warn_below: int
    photo_warn_below: int
    fail_below: int
    warn_fps: float
    fail_fps: float
    stall_s: float


@dataclass(frozen=True)
class YouThresholds:
    explain: str
    face_reach: float
    own_share: float


@dataclass(frozen=True)
class PeopleThresholds:
    explain: str
    other_person: Severity
    pet: Severity
    absent_s: float


@dataclass(frozen=True)
class PrivateThresholds:
    explain: str
    status: Severity
    objects: tuple[str, ...] = ()  # the rubric's private places' signs, never the file's


@dataclass(frozen=True)
class ClutterThresholds:
    explain: str
    objects: tuple[str, ...]
    warn_items: int
    fail_items: int
    warn_edges: float
    fail_edges: float


@dataclass(frozen=True)
class LightingThresholds:
    explain: str
    fail_below: float
    warn_below: float
    warn_balance: float
    fail_balance: float
    warn_clipped: float
    fail_clipped: float


@dataclass(frozen=True)
class BacklightThresholds:
    explain: str
    warn_ratio: float
    fail_ratio: float
    warn_near_ratio: float
    fail_near_ratio: float
    warn_near_clipped: float
    fail_near_clipped: float


@dataclass(frozen=True)
class FramingThresholds:
    explain: str
    warn_offset: float
    fail_offset: float
    warn_eyes: float
    fail_eyes: float
    cut_headroom: float
    warn_headroom: float
    fail_area_below: float
    warn_area_below: float
    warn_area_above: float


@dataclass(frozen=True)
class CameraAngleThresholds:
    explain: str
    warn_pitch: float
    fail_pitch: float
    warn_yaw: float
    fail_yaw: float
    warn_roll: float
    fail_roll: float


@dataclass(frozen=True)
class DistanceThresholds:
    explain: str
    fail_below: float
    warn_below: float
    warn_above: float
    close_outline: float


@dataclass(frozen=True)
class SharpnessThresholds:
    explain: str
    side: int  # the face is resized to side × side before its focus is measured
    warn_below: float
    fail_below: float


@dataclass(frozen=True)
class HelpsThresholds:
    explain: str
    objects: tuple[str, ...]


@dataclass(frozen=True)
class CheckThresholds:
    picture: PictureThresholds
    camera: CameraThresholds
    you: YouThresholds
    people: PeopleThresholds
    private: PrivateThresholds
    clutter: ClutterThresholds
    lighting: LightingThresholds
    backlight: BacklightThresholds
    framing: FramingThresholds
    camera_angle: CameraAngleThresholds
    distance: DistanceThresholds
    sharpness: SharpnessThresholds
    helps: HelpsThresholds

    def sections(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    def explained(self) -> str:
        """Each section's sentence with its values, and the values themselves."""
        lines = []
        for name, section in self.sections().items():
            values = {k: v for k, v in vars(section).items() if k != "explain"}
            sentence = section.explain.format(**{k: _shown(v) for k, v in values.items()})
            shown = ", ".join(f"{k}={_shown(v)}" for k, v in values.items())
            lines.append(f"{name}: {sentence}\n    {shown}")
        return "\n".join(lines)


SECTIONS = tuple(field.name for field in dataclasses.fields(CheckThresholds))


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def load_check_thresholds(path: Path, places: tuple[Place, ...]) -> CheckThresholds:
    """The check's thresholds from `path`; the private objects are those of the score's
    private `places` (one source of truth: models/rubric.toml)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise OfficeScoreError(f"cannot read check thresholds {path}: {error}") from None
    hints = typing.get_type_hints(CheckThresholds)
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise OfficeScoreError(f"{path}: unknown section [{unknown[0]}]")
    sections = {}
    for name in SECTIONS:
        table = data.get(name)
        if not isinstance(table, dict):
            raise OfficeScoreError(f"{path}: section [{name}] is missing")
        sections[name] = _section(path, name, hints[name], table)
    thresholds = CheckThresholds(**sections)
    private = dataclasses.replace(thresholds.private, objects=tuple(private_signs(places)))
    return dataclasses.replace(thresholds, private=private)


def _section(path: Path, name: str, kind: type, table: dict[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(kind)}
    hints = typing.get_type_hints(kind)
    settable = {key for key, f in fields.items() if f.default is dataclasses.MISSING}
    unknown = sorted(set(table) - settable)
    if unknown:
        raise OfficeScoreError(f"{path}: [{name}] has an unknown key {unknown[0]!r}")
    values = {}
    for key in fields:
        if key not in settable:
            continue
        if key not in table:
            raise OfficeScoreError(f"{path}: [{name}] lacks the key {key!r}")
        values[key] = _typed(path, name, key, hints[key], table[key])
    section = kind(**values)
    try:
        section.explain.format(**{k: "" for k in fields})
    except (KeyError, IndexError, ValueError) as error:
        raise OfficeScoreError(f"{path}: [{name}] explain names no value: {error}") from None
    return section


def _typed(path: Path, name: str, key: str, hint: Any, value: Any) -> Any:
    where = f"{path}: [{name}] {key}"
    if hint is str:
        if not isinstance(value, str):
            raise OfficeScoreError(f"{where} must be text, got {value!r}")
        return value
    if typing.get_origin(hint) is Literal:
        if value not in typing.get_args(hint):
            choices = " or ".join(repr(v) for v in typing.get_args(hint))
            raise OfficeScoreError(f"{where} must be {choices}, got {value!r}")
        return value
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise OfficeScoreError(f"{where} must be a list of object names, got {value!r}")
        for item in value:
            if item not in CANONICAL_ID:
                raise OfficeScoreError(f"{where}: unknown object name {item!r}")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OfficeScoreError(f"{where} must be a number, got {value!r}")
    if hint is int and not isinstance(value, int):
        raise OfficeScoreError(f"{where} must be a whole number, got {value!r}")
    return value
