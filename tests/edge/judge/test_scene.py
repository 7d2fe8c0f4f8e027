"""The objects read as a scene and the kind of place they make: screens in context, a laptop's
own keyboard, rooms, a laptop on its own, on real photos (tests/data/homes, homes2, photos)
and on boxes placed by hand where a photo of the case is not in the repository."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.core.errors import OfficeScoreError
from edge.core.types import Detections
from edge.core.vocabulary import CANONICAL_NAMES, Sight
from edge.inference.modelcard import bundled_dir
from edge.inference.pipeline import Pipeline
from edge.judge.check_thresholds import load_check_thresholds
from edge.judge.rubric import load_rubric, score_counts
from edge.judge.scene import read_scene
from edge.video.batch import read_image
from tests.edge.judge.test_rubric import by_id, counts
from tests.helpers import DATA, HOMES, placed

HOMES2 = DATA / "homes2"
OFFICESCORE = [sys.executable, "-m", "officescore"]
RUBRIC = load_rubric(bundled_dir() / "rubric.toml")
assert RUBRIC.screens is not None
SCREENS = RUBRIC.screens
ALL = Sight(frozenset(CANONICAL_NAMES))


SCREEN = [200.0, 50.0, 400.0, 200.0]  # 200 px wide


@pytest.mark.parametrize(
    "beside, read_as",
    [
        ([], "television"),
        ([("keyboard", [220.0, 260.0, 380.0, 300.0])], "monitor"),  # 60 px below
        ([("mouse", [700.0, 260.0, 720.0, 280.0])], "television"),  # 300 px away: not near
        ([("person", [420.0, 20.0, 600.0, 400.0])], "monitor"),  # someone sits at it
        ([("person", [420.0, 20.0, 600.0, 400.0]), ("couch", [0, 300, 640, 480])], "television"),
        ([("person", [420.0, 150.0, 460.0, 190.0])], "television"),  # far smaller: across a room
        ([("laptop", [250.0, 260.0, 350.0, 330.0])], "monitor"),
        ([("laptop", [250.0, 260.0, 350.0, 330.0]), ("couch", [0, 300, 640, 480])], "television"),
        ([("mouse", [380.0, 260.0, 400.0, 280.0]), ("couch", [0, 300, 640, 480])], "monitor"),
    ],
)
def test_a_screen_is_a_monitor_only_where_the_scene_says_so(
    beside: list[tuple[str, list[float]]], read_as: str
) -> None:
    scene = read_scene(placed(("monitor", SCREEN), *beside), SCREENS)
    assert scene.detections.names[0] == read_as
    assert any("is a TV" in note for note in scene.notes) == (read_as == "television")


def test_a_keyboard_inside_a_laptop_is_its_own_and_one_screen_counts_once() -> None:
    laptop = [100.0, 100.0, 300.0, 260.0]
    scene = read_scene(
        placed(
            ("laptop", laptop),
            ("keyboard", [120.0, 190.0, 280.0, 250.0]),  # inside the laptop: its own
            ("keyboard", [320.0, 220.0, 520.0, 270.0]),  # beside it: a separate one
            ("monitor", [105.0, 100.0, 295.0, 200.0]),  # the laptop's screen seen as a monitor
        ),
        SCREENS,
    )
    assert scene.detections.names == ["laptop", "keyboard"]
    assert scene.detections.xyxy[1].tolist() == [320.0, 220.0, 520.0, 270.0]
    assert len(scene.notes) == 2


def test_nothing_to_read_leaves_the_detections_as_they_are() -> None:
    detections = placed(("chair", [0, 0, 50, 50]), ("plant", [60, 0, 90, 40]))
    scene = read_scene(detections, SCREENS)
    assert scene.detections is detections and scene.notes == ()
    assert read_scene(Detections.empty(), SCREENS).notes == ()


@pytest.mark.parametrize(
    "objects, place, at_most",
    [
        ({"television": 1, "chair": 1, "plant": 1}, "Living room", 20),
        ({"couch": 1, "laptop": 1, "mouse": 1}, "Living room", 20),
        ({"appliance": 2, "laptop": 1, "chair": 1, "table": 1}, "Kitchen", 30),
        ({"food": 1, "dishware": 2, "laptop": 1, "table": 1, "chair": 1}, "Dining table", 30),
        ({"person": 4, "laptop": 2, "mouse": 1, "chair": 3}, "Public place", 25),
        ({"outdoor": 2, "laptop": 1, "mouse": 1, "table": 1}, "Outdoors", 20),
        ({"laptop": 1, "table": 1}, "", 40),  # a laptop on its own: a set-up, not a room
    ],
)
def test_the_place_weighs_on_the_score(objects: dict, place: str, at_most: int) -> None:
    score = score_counts(counts(**objects), RUBRIC, ALL)
    assert score.place == place and score.value <= at_most
    hit = [c for c in score.criteria if c.status == "hit" and c.id != "clutter"]
    assert hit and all(c.points <= 0 and f"at most {at_most}" in c.reason for c in hit[:1])


def test_a_work_set_up_is_not_a_living_room_and_only_the_first_room_counts() -> None:
    office = {"monitor": 1, "keyboard": 1, "mouse": 1, "laptop": 1, "chair": 1}
    with_couch = score_counts(counts(**office, couch=1), RUBRIC, ALL)
    assert (
        with_couch.place == ""
        and with_couch.value == score_counts(counts(**office), RUBRIC, ALL).value
    )
    both = score_counts(counts(person=5, television=1, laptop=1), RUBRIC, ALL)
    assert both.place == "Public place"
    assert [c.id for c in both.criteria if c.status == "hit"] == ["public", "bare_laptop"]


def test_the_checks_private_places_are_the_rubrics() -> None:
    config = load_check_thresholds(bundled_dir() / "check.toml", RUBRIC.places)
    assert config.private.objects == ("bed", "toilet", "sink")
    assert load_check_thresholds(bundled_dir() / "check.toml", ()).private.objects == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[place]]\nid = 'x'\n", "bad place"),
        ("[[place]]\nid='x'\ntitle='X'\nsigns=['sofa']\nreason='r'\n", "unknown"),
        ("[[place]]\nid='x'\ntitle='X'\nsigns=['bed']\nreason='r'\ncap=120\n", "cap in 0..100"),
        ("[screens]\nwork_near = ['mouse']\n", r"\[screens\] needs"),
        (
            "[screens]\nwork_near=['mouse']\nnear=1\nsame_screen=2\nlaptop_keyboard=0.5\n"
            "user_near=0.5\nrest=[]\nwork_near_at_rest=[]\n",
            r"same_screen and laptop_keyboard in \(0, 1\]",
        ),
    ],
)
def test_bad_places_and_screens_are_refused_in_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    reward = "[[reward]]\nid='c'\ntitle='C'\nobjects=['chair']\npoints=1\nmet='a'\nmissing='b'\n"
    path = tmp_path / "rubric.toml"
    path.write_text(reward + text)
    with pytest.raises(OfficeScoreError, match=message) as refused:
        load_rubric(path)
    assert "\n" not in str(refused.value)


# Real photos, end to end through the bundled detector.


def test_a_desk_keeps_its_monitor_and_the_same_screen_cut_out_alone_is_a_tv(
    pipeline: Pipeline,
) -> None:
    desk = read_image(HOMES / "000000066635.jpg")[0]
    result = pipeline.analyze(desk)
    detections, score = result.detections, result.score
    assert "monitor" in detections.names and score.value >= 60 and score.place == ""
    screen_alone = np.ascontiguousarray(desk[:340])  # the keyboard and mouse cut off
    result = pipeline.analyze(screen_alone)
    detections, score = result.detections, result.score
    assert detections.names == ["television"] and str(detections.label[0]) == "tv"
    assert score.value <= 20 and score.place == "Living room"
    assert by_id(score)["monitor"].status == "missing"
    assert any("is a TV" in note for note in score.scene)


@pytest.mark.parametrize(
    "photo, seen",
    [
        ("000000119828.jpg", "a laptop and a cat on a desk"),
        ("000000147415.jpg", "a laptop whose keyboard is its own"),
    ],
)
def test_a_laptop_on_its_own_is_at_most_fair(pipeline: Pipeline, photo: str, seen: str) -> None:
    result = pipeline.analyze(read_image(HOMES2 / photo)[0])
    detections, score = result.detections, result.score
    assert score.value <= 40, seen
    assert by_id(score)["bare_laptop"].status == "hit"
    assert "keyboard" not in detections.names


def test_many_people_make_a_public_place(pipeline: Pipeline) -> None:
    score = pipeline.analyze(read_image(HOMES2 / "000000013659.jpg")[0]).score  # a makerspace
    assert score.place == "Public place" and score.value <= 25


@pytest.mark.parametrize(
    "folder, photo",
    [
        (DATA / "photos", "000000000599.jpg"),  # a cat on a living-room couch
        (HOMES2, "000000520531.jpg"),  # a den: a couch, remotes, a cat on the table
        (HOMES, "000000404484.jpg"),  # a living room with a TV, a dog and plants
    ],
)
def test_living_rooms_score_at_most_20(pipeline: Pipeline, folder: Path, photo: str) -> None:
    assert pipeline.analyze(read_image(folder / photo)[0]).score.value <= 20


@pytest.mark.parametrize(
    "folder, photo",
    [
        (HOMES, "000000066635.jpg"),
        (HOMES, "000000255165.jpg"),
        (HOMES, "000000555009.jpg"),
        (HOMES2, "000000465718.jpg"),
        (HOMES2, "000000340894.jpg"),
    ],
)
def test_well_equipped_desks_score_at_least_60(
    pipeline: Pipeline, folder: Path, photo: str
) -> None:
    assert pipeline.analyze(read_image(folder / photo)[0]).score.value >= 60


def test_the_demo_clip_goes_high_for_the_offices_and_to_0_on_the_bedroom() -> None:
    live = subprocess.run(
        [*OFFICESCORE, "live", "--source", "demo", "--headless", "--no-realtime", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    records = [json.loads(line) for line in live.stdout.splitlines()]
    assert len(records) == 300
    assert min(r["score"] for r in records[:250]) >= 60
    assert records[-1]["score"] == 0 and records[-1]["place"] == "Bedroom"
