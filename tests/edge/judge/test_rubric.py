from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.core.errors import OfficeScoreError
from edge.core.vocabulary import CANONICAL_ID, CANONICAL_NAMES, Sight
from edge.inference.modelcard import bundled_dir
from edge.judge.rubric import RollingScore, load_rubric, score_counts
from tests.edge.core.test_types import make

RUBRIC = load_rubric(bundled_dir() / "rubric.toml")
ALL = Sight(frozenset(CANONICAL_NAMES))


def counts(**named: int) -> np.ndarray:
    vector = np.zeros(len(CANONICAL_NAMES), np.int64)
    for name, n in named.items():
        vector[CANONICAL_ID[name]] = n
    return vector


def by_id(score: object) -> dict:
    return {c.id: c for c in score.criteria}  # type: ignore[attr-defined]


def test_full_office_scores_100() -> None:
    score = score_counts(
        counts(table=1, chair=1, monitor=2, laptop=1, keyboard=1, lamp=1, plant=1, book=3),
        RUBRIC,
        ALL,
    )
    assert score.value == 100
    assert all(c.status in ("met", "clear") for c in score.criteria)


def test_partial_office_is_the_share_of_checked_points() -> None:
    score = score_counts(counts(chair=1, monitor=1), RUBRIC, ALL)
    # computer 30 + work surface 15 (implied by the monitor) + monitor 15 + chair 10, of 110
    assert score.value == round(100 * 70 / 110)
    assert by_id(score)["second_screen"].status == "missing"
    assert score.coverage == "judged on 10 of 10 criteria"


def test_the_work_surface_is_implied_by_what_stands_on_it() -> None:
    implied = by_id(score_counts(counts(keyboard=1), RUBRIC, ALL))["desk"]
    assert implied.status == "met" and implied.reason.startswith("implied by keyboard")
    seen = by_id(score_counts(counts(table=1), RUBRIC, ALL))["desk"]
    assert seen.status == "met" and seen.reason == "a desk or table is in view"
    assert by_id(score_counts(counts(bed=1), RUBRIC, ALL))["desk"].status == "missing"


def test_rewards_the_model_finds_too_rarely_are_not_checked() -> None:
    with_books = score_counts(
        counts(laptop=1, book=4), RUBRIC, Sight(ALL.visible, frozenset({"book"}))
    )
    books = by_id(with_books)["books"]
    assert books.status == "not_checked" and books.points == 0 and "too rarely" in books.reason
    without = score_counts(counts(laptop=1), RUBRIC, Sight(ALL.visible, frozenset({"book"})))
    assert with_books.value == without.value  # neither earned nor counted in "possible"
    clutter = score_counts(counts(cup=6), RUBRIC, Sight(ALL.visible, frozenset({"cup"})))
    assert by_id(clutter)["clutter"].status == "hit"  # penalties count what is found


def test_unseeable_criteria_are_not_checked_and_not_counted() -> None:
    visible = Sight(ALL.visible - {"lamp"})
    score = score_counts(
        counts(table=1, chair=1, monitor=2, laptop=1, mouse=1, plant=1, book=1), RUBRIC, visible
    )
    lamp = by_id(score)["lighting"]
    assert lamp.status == "not_checked" and lamp.points == 0
    assert score.value == 100


def test_penalties_subtract_and_clip_at_zero() -> None:
    office = {"laptop": 1, "monitor": 1, "keyboard": 1, "chair": 1}
    with_bed = score_counts(counts(**office, bed=1), RUBRIC, ALL)
    without = score_counts(counts(**office), RUBRIC, ALL)
    assert without.value - with_bed.value == 40
    bedroom = by_id(with_bed)["bedroom"]
    assert bedroom.status == "hit" and bedroom.points == -40 and with_bed.place == "Bedroom"
    assert score_counts(counts(bed=1, toilet=1), RUBRIC, ALL).value == 0


def test_clutter_counts_loose_items_across_names() -> None:
    score = score_counts(counts(cup=3, bottle=2, food=1), RUBRIC, ALL)
    clutter = by_id(score)["clutter"]
    assert clutter.status == "hit" and clutter.count == 6
    assert clutter.reason.endswith(": 6")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=len(CANONICAL_NAMES), max_size=len(CANONICAL_NAMES)),
    st.sets(st.sampled_from(CANONICAL_NAMES)),
)
def test_score_is_always_within_0_and_100(values: list[int], visible: set[str]) -> None:
    score = score_counts(np.array(values), RUBRIC, Sight(frozenset(visible)))
    assert 0 <= score.value <= 100
    judged, places = score.criteria[: len(RUBRIC.criteria)], score.criteria[len(RUBRIC.criteria) :]
    assert [c.id for c in judged] == [c.id for c in RUBRIC.criteria]
    assert all(c.status == "hit" and c.points <= 0 for c in places)


def test_rolling_score_ignores_single_frame_flicker() -> None:
    rolling = RollingScore(RUBRIC, ALL, half_life_s=1.0)
    steady = make(["chair", "table"], [0.9, 0.9])
    flicker = make(["chair", "table", "bed"], [0.9, 0.9, 0.5])
    frames = [RUBRIC.read(flicker if i % 5 == 4 else steady) for i in range(60)]
    values = {rolling.update(frame, i / 15).value for i, frame in enumerate(frames)}
    assert values == {score_counts(counts(chair=1, table=1), RUBRIC, ALL).value}


def test_rolling_score_follows_a_lasting_change_within_seconds() -> None:
    rolling = RollingScore(RUBRIC, ALL, half_life_s=1.0)
    for i in range(30):
        before = rolling.update(RUBRIC.read(make(["chair"], [0.9])), i / 15)
    after = [
        rolling.update(RUBRIC.read(make(["chair", "laptop"], [0.9, 0.9])), 2 + i / 15).value
        for i in range(45)
    ]
    assert after[0] == before.value
    assert after[-1] > before.value
    assert after.index(after[-1]) < 30  # settled within two seconds
    assert after == sorted(after)  # no back-and-forth on the way


def test_rolling_score_with_zero_half_life_follows_each_frame() -> None:
    rolling = RollingScore(RUBRIC, ALL, half_life_s=0.0)
    rolling.update(RUBRIC.read(make(["chair"], [0.9])), 0.0)
    assert rolling.update(RUBRIC.read(make(["bed"], [0.9])), 0.1).counts == {"bed": 1}


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[reward]]\nid='x'\n", "bad reward entry"),
        (
            "[[reward]]\nid='x'\ntitle='X'\nobjects=['sofa']\npoints=3\nmet='a'\nmissing='b'\n",
            "unknown object",
        ),
        ("name = 'empty'\n", "no [[reward]]"),
        ("[[penalty", "cannot read rubric"),
        (
            "[[penalty]]\nid='x'\ntitle='X'\nobjects=['bed']\npoints=-3\nhit='a'\nclear='b'\n",
            "points >= 0",
        ),
    ],
)
def test_invalid_rubrics_give_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(OfficeScoreError, match=message.replace("[", r"\[")) as caught:
        load_rubric(path)
    assert "\n" not in str(caught.value)
