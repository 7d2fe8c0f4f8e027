"""`officescore label`: the bundled model's detections on real photos as COCO JSON or a YOLO
folder, which `train`'s readers take back; bad photos, existing outputs and --classes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from officescore.cli import app
from tests.helpers import DATA, runner
from train.datasets import read_splits

HOMES2 = DATA / "homes2"
DESKS = ["000000465718.jpg", "000000340894.jpg", "000000363840.jpg"]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in DESKS:
        shutil.copy(HOMES2 / name, folder / name)
    return folder


def test_coco_pre_labels_read_back_as_training_data(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "labels" / "pre.json"
    args = [
        "label",
        str(photos),
        "--out",
        str(out),
        "--classes",
        "monitor,keyboard",
        "--conf",
        "0.5",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    document = json.loads(out.read_text())
    assert [c["name"] for c in document["categories"]] == ["tv", "keyboard"]  # monitor is COCO's tv
    assert len(document["images"]) == 3 and document["images"][0]["file_name"].startswith(
        "../photos/"
    )
    scores = [a["score"] for a in document["annotations"]]
    assert scores and min(scores) >= 0.5
    splits, _, _ = read_splits(out)
    read = splits["train"]
    assert read.names == ("tv", "keyboard")
    assert sum(len(image.boxes) for image in read.images) == len(document["annotations"])
    assert f"{len(scores)} boxes on 3 photos written to {out}" in result.stderr


def test_yolo_pre_labels_are_a_folder_train_reads(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "yolo"
    result = runner.invoke(app, ["label", str(photos), "--out", str(out), "--format", "yolo"])
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(DESKS)
    splits, _, _ = read_splits(out)
    labelled = splits["train"]
    assert len(labelled.names) == 80 and len(labelled.images) == 3
    assert {"tv", "keyboard", "laptop"} <= {
        labelled.names[int(c)] for i in labelled.images for c in i.classes
    }


def test_a_bad_photo_is_one_line_the_rest_are_written_and_exit_2(
    photos: Path, tmp_path: Path
) -> None:
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "pre.json"
    result = runner.invoke(app, ["label", str(photos), "--out", str(out)])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.jpg" in errors[0]
    assert len(json.loads(out.read_text())["images"]) == 3


def test_an_existing_output_is_kept_without_force(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "pre.json"
    out.write_text("mine")
    refused = runner.invoke(app, ["label", str(photos), "--out", str(out)])
    assert refused.exit_code == 2 and "add --force" in refused.stderr and out.read_text() == "mine"
    forced = runner.invoke(app, ["label", str(photos), "--out", str(out), "--force"])
    assert forced.exit_code == 0 and json.loads(out.read_text())["images"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos", "pre.json"]  # nothing aside


@pytest.mark.parametrize(
    "args, message",
    [
        (["--classes", "desk"], "--classes: the model has no desk"),
        (["--format", "voc"], "--format takes coco or yolo"),
        (["--conf", "1.5"], "--conf must be in (0, 1]"),
    ],
)
def test_bad_options_are_one_line(
    photos: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["label", str(photos), "--out", str(tmp_path / "x.json"), *args])
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "x.json").exists()
