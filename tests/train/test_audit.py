"""`officescore data audit` on a real slice of office-cctv with planted faults (a flipped copy
of a validation frame in training, a chair relabelled `monitor`, a person's label removed),
and copies found by their pixels among real photos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from officescore.cli import app
from tests.helpers import DATA, HOMES, runner
from train.audit import AuditConfig, audit
from train.classes import canonical_name
from train.copies import find_copies
from train.datasets import read_splits

CCTV = DATA / "office-cctv"
VAL_FRAME = "172-19-19-150_05_20230221125831851_jpg.rf.b1d8dc8eebc71171d0c2fe8e90328fb3"
CHAIR_LINE = 12  # a chair the bundled model sees (0.71) in VAL_FRAME
OTHER_FRAME = "172-19-19-150_05_20230221142241201_jpg.rf.42f3e4cc3473a7b16b7a50b80a3ad5e0"
PERSON_LINE = 1  # a person the bundled model sees (0.77) in OTHER_FRAME
MONITOR = 3


def _frame(split: str, stem_start: str) -> Path:
    (found,) = (CCTV / split / "images").glob(f"{stem_start.split('_jpg')[0]}*.jpg")
    return found


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("planted") / "office-cctv"
    shutil.copytree(CCTV, data)
    val_image = _frame("valid", VAL_FRAME)
    labels = data / "valid" / "labels"
    chair_file = labels / f"{val_image.stem}.txt"
    lines = chair_file.read_text().splitlines()
    assert lines[CHAIR_LINE].split()[0] == "0"  # a chair
    lines[CHAIR_LINE] = " ".join([str(MONITOR), *lines[CHAIR_LINE].split()[1:]])
    chair_file.write_text("\n".join(lines) + "\n")
    person_file = labels / f"{_frame('valid', OTHER_FRAME).stem}.txt"
    lines = person_file.read_text().splitlines()
    assert lines[PERSON_LINE].split()[0] == "4"  # a person
    person_file.write_text("\n".join(lines[:PERSON_LINE] + lines[PERSON_LINE + 1 :]) + "\n")
    flipped = cv2.flip(cv2.imread(str(val_image)), 1)
    cv2.imwrite(str(data / "train" / "images" / "planted_copy.jpg"), flipped)
    copy_lines = []
    for line in (CCTV / "valid" / "labels" / f"{val_image.stem}.txt").read_text().splitlines():
        cls, cx, cy, w, h = line.split()[:5]
        copy_lines.append(f"{cls} {1 - float(cx):.6f} {cy} {w} {h}")
    (data / "train" / "labels" / "planted_copy.txt").write_text("\n".join(copy_lines) + "\n")
    return data


def test_the_planted_faults_are_found_and_ranked(planted: Path) -> None:
    report = audit(AuditConfig(planted), lambda *_: None)
    assert report.splits["train"].images == 13 and report.splits["val"].images == 2
    top = report.suspects[0]
    assert (top.kind, top.label, top.seen) == ("wrong class", "monitor", "chair")
    assert top.image.name.startswith(VAL_FRAME.split("_jpg")[0]) and top.confidence >= 0.5
    missing = [s for s in report.suspects if s.kind == "missing label"]
    assert any(s.seen == "person" and s.image.name.startswith(OTHER_FRAME[:30]) for s in missing)
    planted_copy = planted / "train" / "images" / "planted_copy.jpg"
    val_frame = next(
        p for p in (planted / "valid" / "images").iterdir() if p.name.startswith(VAL_FRAME[:30])
    )
    assert any({planted_copy, val_frame} <= {p for _, p in group} for group in report.copy_groups)
    assert val_frame in {val for val, _ in report.leaks}
    assert report.named_groups == 4  # four source photos, three Roboflow copies each


def test_copies_are_found_by_their_pixels_among_unrelated_photos(tmp_path: Path) -> None:
    photos = sorted(HOMES.glob("*.jpg"))
    original = cv2.imread(str(photos[4]))
    height, width = original.shape[:2]
    cropped = original[height // 10 :, : width - width // 8]  # a crop, flipped, turned, brighter
    copy = cv2.convertScaleAbs(np.rot90(cv2.flip(cropped, 1)), alpha=1.15)
    cv2.imwrite(str(tmp_path / "copy.jpg"), cv2.resize(copy, (480, 560)))
    found = find_copies([*photos, tmp_path / "copy.jpg"])
    assert found.groups == ((4, len(photos)),)


def test_the_named_copies_of_the_slice_are_found_without_their_names() -> None:
    splits, _, _ = read_splits(CCTV)
    images = splits["train"].images
    groups = find_copies([image.path for image in images]).groups
    for source in {image.source for image in images}:
        members = {i for i, image in enumerate(images) if image.source == source}
        assert any(members <= set(group) for group in groups), source


def test_the_command_writes_a_report_folder_and_json(planted: Path, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    result = runner.invoke(app, ["data", "audit", str(planted), "--out", str(folder), "--json"])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["report"] == str(folder) and record["suspects"][0]["kind"] == "wrong class"
    assert len(list((folder / "suspects").glob("*.jpg"))) == len(record["suspects"])
    page = (folder / "index.html").read_text()
    assert "labelled monitor (0.00 to the model), the model sees a chair" in page
    assert "planted_copy.jpg" in page
    again = runner.invoke(app, ["data", "audit", str(planted), "--out", str(folder)])
    assert again.exit_code == 2 and again.stderr.strip().endswith("choose another --out")
    terminal = runner.invoke(app, ["data", "audit", str(planted), "--runs", str(tmp_path / "runs")])
    assert terminal.exit_code == 0, terminal.stderr
    assert (
        "suspected label errors" in terminal.stdout and "across splits: 1 of 2" in terminal.stdout
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["no-such-folder"], "data not found"),
        ([str(CCTV), "--conf", "0"], "--conf must be in (0, 1]"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "audit", *args, "--runs", str(tmp_path)])
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


def test_a_coco_json_is_audited_through_the_canonical_names() -> None:
    report = audit(AuditConfig(HOMES / "annotations.json"), lambda *_: None)
    counts = report.splits["train"]
    assert set(report.splits) == {"train"} and counts.images == 6
    assert sum(counts.instances.values()) == 65  # 66 annotations, one a crowd region
    assert sum(counts.sizes.values()) == 65 and counts.unlabelled == 0
    assert report.copy_groups == [] and report.leaks == []  # six different homes
    disputed = [
        (canonical_name(s.label), s.seen) for s in report.suspects if s.kind == "wrong class"
    ]
    assert all(label != seen for label, seen in disputed)  # COCO's tv is the model's monitor
