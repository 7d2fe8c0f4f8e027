"""Canonical object names: the closed vocabulary every model card maps its labels into.

Scoring, overlays and JSON only ever see these names, never a model's own labels.
"""

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
)

CANONICAL_ID: dict[str, int] = {name: index for index, name in enumerate(CANONICAL_NAMES)}
OTHER_ID = CANONICAL_ID["other"]


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 loose item`, `2 loose items`, `1 other person`, `3 other people`."""
    return f"{count} {word if count == 1 else many or word + 's'}"
