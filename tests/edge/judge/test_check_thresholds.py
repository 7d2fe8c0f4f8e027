"""models/check.toml as typed sections: every key required and typed, one line naming the file,
section and key where one is wrong, and `--explain` written from the values the rules use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import bundled_dir
from edge.judge.check_thresholds import SECTIONS, load_check_thresholds
from officescore.cli import app
from tests.helpers import runner

BUNDLED = (bundled_dir() / "check.toml").read_text(encoding="utf-8")


def edited(tmp_path: Path, old: str, new: str) -> Path:
    assert re.search(old, BUNDLED, re.MULTILINE), old
    path = tmp_path / "check.toml"
    path.write_text(re.sub(old, new, BUNDLED, count=1, flags=re.MULTILINE), encoding="utf-8")
    return path


def test_the_bundled_thresholds_load_typed() -> None:
    thresholds = load_check_thresholds(bundled_dir() / "check.toml", ())
    assert thresholds.lighting.fail_below == 50 and thresholds.picture.clipped_at == 250
    assert thresholds.clutter.objects[0] == "cup" and thresholds.people.pet == "warn"
    assert thresholds.you.face_reach == 2.5 and thresholds.sharpness.side == 128


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (r"^warn_balance = .*$", "", "[lighting] lacks the key 'warn_balance'"),
        (r"^face_reach = .*$", "face_rech = 2.5", "[you] has an unknown key 'face_rech'"),
        (r'^pet = "warn"$', 'pet = "maybe"', "[people] pet must be 'warn' or 'fail', got 'maybe'"),
        (r"^side = 128.*$", "side = 12.8", "[sharpness] side must be a whole number, got 12.8"),
        (r"^warn_fps = .*$", 'warn_fps = "15"', "[camera] warn_fps must be a number, got '15'"),
        (
            r'^objects = \["plant"',
            'objects = ["fern"',
            "[helps] objects: unknown object name 'fern'",
        ),
        (r"^\[distance\]$", "[distant]", "unknown section [distant]"),
    ],
)
def test_a_wrong_key_is_one_line_naming_file_section_and_key(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    path = edited(tmp_path, old, new)
    with pytest.raises(OfficeScoreError) as raised:
        load_check_thresholds(path, ())
    assert str(raised.value) == f"{path}: {said}"


def test_the_check_with_a_key_removed_says_so_and_exits_2(tmp_path: Path) -> None:
    path = edited(tmp_path, r"^warn_below = 80$", "")
    photo = str(Path(__file__).parents[2] / "data" / "photos" / "000000000599.jpg")
    for args in (["--explain"], [photo]):
        result = runner.invoke(app, ["check", *args, "--thresholds", str(path)])
        assert result.exit_code == 2, result.stderr
        assert result.stderr.strip() == f"error: {path}: [lighting] lacks the key 'warn_below'"


def test_explain_is_written_from_the_values(tmp_path: Path) -> None:
    bundled = runner.invoke(app, ["check", "--explain"])
    assert bundled.exit_code == 0, bundled.stderr
    for section in SECTIONS:
        assert f"\n{section}: " in f"\n{bundled.stdout}"
    assert "Mean luminance of your face: fail below 50, warn below 80." in bundled.stdout
    assert "fail_below=50" in bundled.stdout and "{" not in bundled.stdout
    assert "(the rubric's: bed, toilet, sink): fail." in bundled.stdout
    path = edited(tmp_path, r"^fail_below = 50$", "fail_below = 42")
    changed = runner.invoke(app, ["check", "--explain", "--thresholds", str(path)])
    assert "Mean luminance of your face: fail below 42, warn below 80." in changed.stdout


def test_a_sentence_naming_no_value_is_refused(tmp_path: Path) -> None:
    path = edited(tmp_path, r"fail below \{fail_below\}, warn", "fail below {fail_bellow}, warn")
    with pytest.raises(OfficeScoreError, match=r"\[lighting\] explain names no value"):
        load_check_thresholds(path, ())
