"""The label readers on real labelled photos (tests/data/office-cctv, tests/data/homes) and the
bad inputs people actually have."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.core.errors import OfficeScoreError
from tests.helpers import DATA, HOMES
from train.datasets import read_coco, read_dataset

CCTV = DATA / "office-cctv"
DESK_LAMP = HOMES / "desk_lamp.json"


def test_yolo_folder_reads_names_boxes_and_source_photos() -> None:
    dataset = read_dataset(CCTV)
    assert dataset.names == ("chair", "keyboard", "laptop", "monitor", "person", "phone")
    assert len(dataset.train.images) == 12 and len(dataset.val.images) == 2
    # Roboflow's three augmented copies of each photo share one source
    assert len({image.source for image in dataset.train.images}) == 4
    first = dataset.train.images[0]
    assert (first.width, first.height) == (640, 640)
    assert first.boxes.dtype == np.float32 and first.boxes.shape[1] == 4
    assert (first.boxes[:, 2:] > first.boxes[:, :2]).all()
    assert (first.boxes >= 0).all() and (first.boxes <= 640).all()
    # the first label line of that photo, read back in pixels
    line = (CCTV / "train/labels" / f"{first.path.stem}.txt").read_text().splitlines()[0]
    cls, cx, cy, w, h = (float(v) for v in line.split())
    np.testing.assert_allclose(
        first.boxes[0],
        [(cx - w / 2) * 640, (cy - h / 2) * 640, (cx + w / 2) * 640, (cy + h / 2) * 640],
        atol=0.01,
    )
    assert first.classes[0] == int(cls)
    assert dataset.val.instances()["person"] == 20


def test_a_data_yaml_file_reads_like_its_folder() -> None:
    assert (
        read_dataset(CCTV / "data.yaml").train.instances() == read_dataset(CCTV).train.instances()
    )


def test_a_validation_copy_of_a_training_photo_is_left_out(tmp_path: Path) -> None:
    data = shutil.copytree(CCTV, tmp_path / "cctv")
    copy = next((data / "train/images").iterdir())
    shutil.copy(copy, data / "valid/images" / f"{copy.stem.split('_jpg.rf.')[0]}_jpg.rf.0a1b2c.jpg")
    dataset = read_dataset(data)
    assert len(dataset.val.images) == 2
    assert any("1 photos are copies of training photos" in note for note in dataset.notes)


def test_coco_json_with_a_held_out_split_by_source_photo() -> None:
    dataset = read_dataset(DESK_LAMP, val_fraction=0.3, seed=1)
    assert dataset.names == ("desk", "lamp")
    assert len(dataset.train.images) == 7 and len(dataset.val.images) == 3
    assert not {i.path for i in dataset.train.images} & {i.path for i in dataset.val.images}
    assert sum(dataset.train.instances().values()) + sum(dataset.val.instances().values()) == 11
    assert "held out by source photo" in dataset.notes[0]


def _coco(tmp_path: Path, **changes: object) -> Path:
    data = json.loads(DESK_LAMP.read_text())
    data.update(changes)
    for image in data["images"]:
        shutil.copy(HOMES / image["file_name"], tmp_path / image["file_name"])
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(data))
    return path


def test_attribute_classes_polygons_clipping_and_zero_area_are_counted(tmp_path: Path) -> None:
    data = json.loads(DESK_LAMP.read_text())
    desk = data["annotations"][0]
    desk["attributes"] = {"raiseable": True}
    image = next(i for i in data["images"] if i["id"] == desk["image_id"])
    x, y, w, h = desk["bbox"]
    data["annotations"] += [
        {"id": 90, "image_id": image["id"], "category_id": 2, "bbox": [x, y, w + 5000, h]},
        {"id": 91, "image_id": image["id"], "category_id": 2, "bbox": [x, y, 0, h]},
        {"id": 92, "image_id": image["id"], "category_id": 2, "iscrowd": 1, "bbox": [x, y, 9, 9]},
        {
            "id": 93,
            "image_id": image["id"],
            "category_id": 1,
            "segmentation": [[10, 20, 110, 20, 110, 80, 10, 80]],
        },
    ]
    path = _coco(tmp_path, annotations=data["annotations"])
    dataset = read_dataset(path, attribute_classes=("raiseable",))
    assert dataset.names == ("desk", "lamp", "desk:raiseable", "lamp:raiseable")
    assert (dataset.counts.clipped, dataset.counts.zero_area, dataset.counts.crowd) == (1, 1, 1)
    labelled = read_coco(path, ("raiseable",))
    photo = next(i for i in labelled.images if i.path.name == image["file_name"])
    assert "desk:raiseable" in [labelled.names[c] for c in photo.classes]
    assert photo.boxes[:, 2].max() <= image["width"]
    assert [10, 20, 110, 80] in photo.boxes.tolist()  # a box from a polygon alone


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_text("{not json"), "not valid JSON"),
        (lambda p: p.write_text(json.dumps({"categories": []})), "not COCO instances JSON"),
        (
            lambda p: _edit(
                p,
                lambda d: d["annotations"].append(
                    {"id": 77, "image_id": 999, "category_id": 1, "bbox": [0, 0, 5, 5]}
                ),
            ),
            "annotation 77: its image_id is not among the images",
        ),
        (
            lambda p: _edit(p, lambda d: d["annotations"][0].update(category_id=9)),
            "category_id 9 unknown",
        ),
        (lambda p: _edit(p, lambda d: d["annotations"][0].update(bbox=[1, 2])), "bbox must be"),
        (lambda p: (p.parent / "000000066635.jpg").unlink(), "000000066635.jpg not found"),
        (
            lambda p: (p.parent / "000000066635.jpg").write_bytes(b"not a jpeg"),
            "000000066635.jpg: not a readable image",
        ),
    ],
)
def test_bad_coco_input_is_one_line_naming_the_file_and_entry(
    tmp_path: Path, damage: object, message: str
) -> None:
    path = _coco(tmp_path)
    damage(path)  # type: ignore[operator]
    with pytest.raises(OfficeScoreError, match=message) as caught:
        read_dataset(path)
    assert "\n" not in str(caught.value)


def _edit(path: Path, change: object) -> None:
    data = json.loads(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda d: _first_label(d).write_text("9 0.5 0.5 0.1 0.1\n"),
            "line 1: class 9 is out of range",
        ),
        (lambda d: _first_label(d).write_text("0 0.5 zero 0.1 0.1\n"), "line 1: not numbers"),
        (
            lambda d: (d / "data.yaml").write_text(
                "train: nowhere\nval: valid/images\nnames: [a]\n"
            ),
            r"train points to .*nowhere, which is no folder",
        ),
        (lambda d: (d / "data.yaml").write_text("train: [unclosed\n"), "not valid YAML"),
        (
            lambda d: (d / "data.yaml").write_text("train: train/images\nnames: []\n"),
            "`names` must",
        ),
        (lambda d: [p.unlink() for p in (d / "train/images").iterdir()], "no images in"),
    ],
)
def test_bad_yolo_input_is_one_line_naming_the_file(
    tmp_path: Path, damage: object, message: str
) -> None:
    data = shutil.copytree(CCTV, tmp_path / "cctv")
    damage(data)  # type: ignore[operator]
    with pytest.raises(OfficeScoreError, match=message):
        read_dataset(data)


def _first_label(data: Path) -> Path:
    return sorted((data / "train/labels").iterdir())[0]


def test_a_folder_with_nothing_to_read_says_so(tmp_path: Path) -> None:
    with pytest.raises(OfficeScoreError, match="no data\\.yaml"):
        read_dataset(tmp_path)
    with pytest.raises(OfficeScoreError, match="data not found"):
        read_dataset(tmp_path / "missing")
