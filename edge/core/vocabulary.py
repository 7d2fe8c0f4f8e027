"""Canonical object names: the closed vocabulary every model card maps its labels into.

Scoring, overlays and JSON only ever see these names, never a model's own labels.
"""

from collections.abc import Iterable
from dataclasses import dataclass

CANONICAL_NAMES: tuple[str, ...] = (
    "other",
    "person",
    "pet",
    "monitor",
    "laptop",
    "keyboard",
    "mouse",
    "phone",
    "chair",
    "table",
    "couch",
    "bed",
    "plant",
    "book",
    "lamp",
    "clock",
    "decor",
    "cup",
    "bottle",
    "dishware",
    "food",
    "small_item",
    "bag",
    "appliance",
    "sink",
    "toilet",
    "television",  # never a model's label: a screen the scene says is a TV (edge/judge/scene.py)
    "outdoor",  # vehicles, street furniture, farm and wild animals: things seen outside
)

CANONICAL_ID: dict[str, int] = {name: index for index, name in enumerate(CANONICAL_NAMES)}
OTHER_ID = CANONICAL_ID["other"]
# Names the scene gives detections of another name: a model that sees the second sees the first.
DERIVED_FROM: dict[str, str] = {"television": "monitor"}


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 loose item`, `2 loose items`, `1 other person`, `3 other people`."""
    return f"{count} {word if count == 1 else many or word + 's'}"


CANNOT_SEE = "the model cannot see this"
TOO_RARE = "the model finds this too rarely on real photos to judge it"


@dataclass(frozen=True)
class Sight:
    """What the loaded model can judge, one answer for the rubric and the check: `visible`, the
    names it detects at all (a penalty or a warning counts any of them); `judged`, those it
    finds often enough on real photos to reward their presence (not `unreliable`)."""

    visible: frozenset[str]
    unreliable: frozenset[str] = frozenset()

    @property
    def judged(self) -> frozenset[str]:
        return self.visible - self.unreliable

    def why_not(self, names: Iterable[str]) -> str:
        """Why a reward over `names` is not checked."""
        return TOO_RARE if self.visible.intersection(names) else CANNOT_SEE
