"""Which output of the trained model each labelled class becomes.

A labelled name the starting model already has (`chair`, or `monitor`, which means COCO's
`tv` through the canonical vocabulary, or whatever `--map NAME=CLASS` says) trains that
output; any other name (`desk`, `lamp`, `chair:raiseable`) becomes a new output. With
`keep_base` the starting model's other classes stay; without it the model has the labelled
classes alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import tomllib

from edge.core.errors import OfficeScoreError
from edge.core.vocabulary import CANONICAL_ID
from edge.inference.modelcard import ModelCard, bundled_dir

SYNONYMS_FILE = "label_synonyms.toml"


@dataclass(frozen=True)
class ClassPlan:
    """The trained model's outputs: `labels[i]` is output i, `source_row[i]` the starting
    model's output whose weights it starts from (-1: a new class), `canonical[i]` its
    canonical name; `output_of_class[c]` is the output labelled class c trains."""

    labels: tuple[str, ...]
    source_row: tuple[int, ...]
    canonical: tuple[str, ...]
    output_of_class: tuple[int, ...]
    class_names: tuple[str, ...]

    @property
    def new_labels(self) -> tuple[str, ...]:
        return tuple(
            label for label, row in zip(self.labels, self.source_row, strict=True) if row < 0
        )

    def uncovered_base_rows(self) -> frozenset[int]:
        """Outputs kept from the starting model that no labelled class trains: the starting
        model's own detections teach them (they must not be learnt as background)."""
        trained = set(self.output_of_class)
        return frozenset(
            i for i, row in enumerate(self.source_row) if row >= 0 and i not in trained
        )

    def describe(self) -> list[str]:
        lines = []
        for name, output in zip(self.class_names, self.output_of_class, strict=True):
            row = self.source_row[output]
            start = f"its {self.labels[output]!r} output" if row >= 0 else "a new output"
            if row >= 0 and self.labels[output] == name:
                start = "the output of that name"
            lines.append(f"{name} → {start} (canonical {self.canonical[output]})")
        return lines


def plan_classes(
    class_names: tuple[str, ...],
    base: ModelCard,
    *,
    keep_base: bool = True,
    mapping: dict[str, str] | None = None,
) -> ClassPlan:
    mapping = {k.lower(): v for k, v in (mapping or {}).items()}
    unknown = sorted(set(mapping) - {name.lower() for name in class_names})
    if unknown:
        raise OfficeScoreError(f"--map names {unknown[0]!r}, which is not a labelled class")
    base_rows = {label.lower(): i for i, label in enumerate(base.labels)}
    base_canonical = [canonical_names_of(base)[i] for i in range(len(base.labels))]
    rows_of_class = []
    for name in class_names:
        target = mapping.get(name.lower())
        if target is not None and target.lower() not in base_rows:
            raise OfficeScoreError(f"--map {name}={target}: {base.name} has no class {target!r}")
        rows_of_class.append(_base_row(name, target, base_rows, base_canonical))
    labels: list[str] = list(base.labels) if keep_base else []
    source_row: list[int] = list(range(len(base.labels))) if keep_base else []
    canonical: list[str] = list(base_canonical) if keep_base else []
    output_of_class = []
    for name, row in zip(class_names, rows_of_class, strict=True):
        if row >= 0 and keep_base:
            output_of_class.append(row)
            continue
        if row >= 0 and row in source_row:  # two labelled names on one base class
            output_of_class.append(source_row.index(row))
            continue
        output_of_class.append(len(labels))
        labels.append(name if row < 0 or not keep_base else base.labels[row])
        source_row.append(row)
        canonical.append(base_canonical[row] if row >= 0 else canonical_name(name))
    return ClassPlan(
        tuple(labels), tuple(source_row), tuple(canonical), tuple(output_of_class), class_names
    )


def canonical_names_of(card: ModelCard) -> list[str]:
    from edge.core.vocabulary import CANONICAL_NAMES

    return [CANONICAL_NAMES[int(i)] for i in card.canonical_of_label]


def _base_row(
    name: str, target: str | None, base_rows: dict[str, int], base_canonical: list[str]
) -> int:
    """The starting model's output `name` means, or -1: the same label, else the one label
    whose canonical name `name` is (monitor → tv, phone → cell phone)."""
    if target is not None:
        return base_rows[target.lower()]
    if name.lower() in base_rows:
        return base_rows[name.lower()]
    if name.lower() in CANONICAL_ID and name.lower() != "other":
        rows = [i for i, c in enumerate(base_canonical) if c == name.lower()]
        if len(rows) == 1:
            return rows[0]
    return -1


def canonical_name(label: str) -> str:
    """A new label's canonical name: itself where it is one, else the bundled synonyms
    (`desk` → table), else its part before a colon (`chair:raiseable` → chair), else other."""
    synonyms = _synonyms()
    for word in (label.lower(), label.split(":")[0].lower()):
        word = synonyms.get(word, word)
        if word in CANONICAL_ID:
            return word
    return "other"


def _synonyms() -> dict[str, str]:
    path = bundled_dir() / SYNONYMS_FILE
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = sorted(set(table.values()) - set(CANONICAL_ID))
    if unknown:
        raise OfficeScoreError(f"{path}: unknown canonical names {unknown}")
    return {str(k).lower(): str(v) for k, v in table.items()}


def parse_maps(values: list[str]) -> dict[str, str]:
    """`--map NAME=CLASS` options."""
    pairs = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise OfficeScoreError(f"--map takes NAME=CLASS, got {value!r}")
        pairs[name.strip()] = target.strip()
    return pairs
