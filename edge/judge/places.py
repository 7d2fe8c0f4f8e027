"""The kind of place the objects say a photo shows (a living room, a kitchen, outdoors, a laptop
on its own) and how it weighs on the score: data, the [[place]] tables of models/rubric.toml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.core.errors import OfficeScoreError
from edge.core.vocabulary import CANONICAL_ID, CANONICAL_NAMES


@dataclass(frozen=True)
class Place:
    id: str
    title: str
    signs: tuple[int, ...]  # at least `at_least` of these in view ...
    at_least: int
    unless: tuple[int, ...]  # ... and none of these (a work set-up in view) make it this place
    cap: int  # the score is at most this here (100: no cap)
    penalty: int  # points off here
    private: bool  # the video-call check fails it behind you
    room: bool  # a kind of room: the first that applies is the place; else a set-up, always weighed
    reason: str  # {found}: the signs seen, e.g. "television, couch"; {count}: how many

    def found(self, count_of: list[int]) -> list[str]:
        """The names of this place's signs in view, or [] when it is not this place."""
        if sum(count_of[i] for i in self.signs) < self.at_least:
            return []
        if any(count_of[i] for i in self.unless):
            return []
        return [CANONICAL_NAMES[i] for i in self.signs if count_of[i]]


def load_places(entries: list[Any], path: object) -> tuple[Place, ...]:
    places = []
    for entry in entries:
        try:
            named = [*entry["signs"], *entry.get("unless", [])]
            unknown = [name for name in named if name not in CANONICAL_ID]
            if unknown:
                raise OfficeScoreError(f"rubric {path}: place {entry['id']}: unknown {unknown}")
            place = Place(
                id=str(entry["id"]),
                title=str(entry["title"]),
                signs=tuple(CANONICAL_ID[name] for name in entry["signs"]),
                at_least=int(entry.get("at_least", 1)),
                unless=tuple(CANONICAL_ID[name] for name in entry.get("unless", [])),
                cap=int(entry.get("cap", 100)),
                penalty=int(entry.get("penalty", 0)),
                private=bool(entry.get("private", False)),
                room=bool(entry.get("room", True)),
                reason=str(entry["reason"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise OfficeScoreError(f"rubric {path}: bad place {entry!r}: {error}") from None
        if not 0 <= place.cap <= 100 or place.penalty < 0 or place.at_least < 1:
            raise OfficeScoreError(
                f"rubric {path}: place {place.id} needs cap in 0..100, penalty >= 0, at_least >= 1"
            )
        places.append(place)
    return tuple(places)


def private_signs(places: tuple[Place, ...]) -> list[str]:
    """The names that make a place private (a bed, a toilet): the check fails them behind you."""
    return [CANONICAL_NAMES[i] for place in places if place.private for i in place.signs]
