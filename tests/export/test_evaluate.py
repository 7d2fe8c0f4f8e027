from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import pytest
import torch
from pycocotools import mask as mask_utils

from export.parity import to_tensor
from export.source import run_reference
from officescore.cli import app
from tests.helpers import HOMES, runner


@pytest.fixture(scope="module")
def generated_coco(
    scripted_model: Path, photos: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """Three 320×240 photos annotated with the source model's confident detections."""
    folder = tmp_path_factory.mktemp("coco")
    model = torch.jit.load(str(scripted_model))
    images, annotations = [], []
    sources = [photos / "000000000599.jpg", photos / "cctv_office_train283.jpg"]
    for image_id, path in enumerate([*sources, HOMES / "000000255165.jpg"], 1):
        name = path.name
        image = cv2.resize(cv2.imread(str(path)), (320, 240), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / name), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
        image = cv2.imread(str(folder / name))
        images.append({"id": image_id, "file_name": name, "height": 240, "width": 320})
        found = run_reference(model, torch.from_numpy(to_tensor(image)))
        for box, score, mask in zip(
            found["boxes"], found["scores"], found["masks"][:, 0], strict=True
        ):
            if score < 0.5:
                continue
            x0, y0, x1, y1 = box.tolist()
            rle = mask_utils.encode((mask.numpy() >= 0.5).astype("uint8").copy(order="F"))
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": 62,
                    "iscrowd": 0,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                }
            )
    coco = folder / "annotations.json"
    coco.write_text(
        json.dumps(
            {
                "images": images,
                "annotations": annotations,
                "categories": [{"id": 62, "name": "chair"}],
            }
        )
    )
    return coco, folder


def test_evaluate_reports_onnx_and_torchscript_map_and_their_delta(
    exported: tuple[Path, str], scripted_model: Path, generated_coco: tuple[Path, Path]
) -> None:
    model, _ = exported
    coco, images = generated_coco
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--model",
            str(model),
            "--coco",
            str(coco),
            "--images",
            str(images),
            "--torchscript",
            str(scripted_model),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)["coco"]
    assert report["onnx"]["images"] == 3 and report["torchscript"]["images"] == 3
    assert report["torchscript"]["bbox"]["AP50"] == pytest.approx(1.0, abs=0.01)
    assert report["onnx"]["bbox"]["AP"] >= 0.95 and report["onnx"]["segm"]["AP"] >= 0.9
    assert abs(report["delta"]["bbox"]["AP"]) <= 0.05 and abs(report["delta"]["segm"]["AP"]) <= 0.1


def evaluate_bundled(coco: Path, images: Path, *extra: str) -> list[str]:
    """`officescore evaluate` arguments for the bundled detector."""
    return [
        "evaluate",
        "--model",
        "models/yolox_nano.onnx",
        "--coco",
        str(coco),
        "--images",
        str(images),
        *extra,
    ]


def test_evaluate_bundled_detector_on_real_coco_photos(photos: Path) -> None:
    result = runner.invoke(app, evaluate_bundled(photos / "annotations.json", photos, "--json"))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)["coco"]
    assert report["onnx"]["segm"] is None and report["torchscript"] is None
    assert 0.1 < report["onnx"]["bbox"]["AP50"] < 1.0
    assert report["onnx"]["name"].startswith("yolox-nano-coco@640")  # the photo size
    assert report["onnx"]["per_class"]["remote"]["recall50"] == 1.0  # both remotes are found


def test_the_photo_size_beats_416_px_on_real_photos(photos: Path) -> None:
    """Box AP of the bundled detector at its photo size (640) against its old fixed 416."""
    ap = {}
    for size in ("416", "640"):
        args = evaluate_bundled(HOMES / "annotations.json", HOMES, "--json", "--imgsz", size)
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
        ap[size] = json.loads(result.stdout)["coco"]["onnx"]["bbox"]["AP"]
    assert ap["640"] > ap["416"], ap


@pytest.mark.parametrize(
    "coco_text, message",
    [(None, "annotations not found"), ("[1, 2]", "is not COCO-format annotations")],
)
def test_evaluate_bad_annotations_exit_2(
    tmp_path: Path, photos: Path, coco_text: str | None, message: str
) -> None:
    coco = tmp_path / "ann.json"
    if coco_text is not None:
        coco.write_text(coco_text)
    result = runner.invoke(app, evaluate_bundled(coco, photos))
    assert result.exit_code == 2 and message in result.stderr


def test_missing_optional_dependency_gives_an_install_hint(
    photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pycocotools", None)
    monkeypatch.setitem(sys.modules, "pycocotools.coco", None)
    result = runner.invoke(app, evaluate_bundled(photos / "annotations.json", photos))
    assert result.exit_code == 2
    assert "this command needs pycocotools: pip install 'officescore[eval]'" in result.stderr
