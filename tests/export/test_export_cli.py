from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tomllib

from edge.core.boxes import box_iou
from edge.inference.modelcard import CARD_METADATA_KEY
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.inference.session import SessionConfig
from officescore.cli import app
from tests.helpers import MASKRCNN_SIZE as SIZE
from tests.helpers import export_args, runner


def test_export_writes_metadata_and_a_card_the_runtime_reads(exported: tuple[Path, str]) -> None:
    model, _ = exported
    metadata = {
        p.key: p.value for p in onnx.load(str(model), load_external_data=False).metadata_props
    }
    card = tomllib.loads(metadata[CARD_METADATA_KEY])
    assert card["model"]["adapter"] == "maskrcnn" and card["input"]["height"] == 240
    labels = json.loads(metadata["officescore.labels"])
    assert len(labels) == 91 and labels[62] == "chair"
    assert json.loads(metadata["officescore.input"])["size"] == [240, 320]
    assert len(metadata["officescore.source_sha256"]) == 64
    versions = json.loads(metadata["officescore.versions"])
    assert versions["torchvision_kernels"] == "native" and "onnxruntime" in versions
    assert json.loads(metadata["officescore.export_options"])["box_score_thresh"] == 0.05
    session = ort.InferenceSession(str(model))
    assert [i.shape for i in session.get_inputs()] == [[3, 240, 320]]


def test_parity_report_passes_on_generated_and_real_images(
    exported: tuple[Path, str], photos: Path
) -> None:
    model, printed = exported
    report = json.loads(model.with_suffix(".parity.json").read_text())
    assert report["passed"] and report["failures"] == []
    names = [row["image"] for row in report["images"]]
    assert names[:2] == ["generated-noise", "generated-desk"]
    assert set(names[2:]) == {p.name for p in photos.glob("*.jpg")}
    for row in report["images"]:
        assert row["matched"] > 0 and row["label_agreement"] == 1.0
        assert row["max_box_error_px"] <= 1.0 and row["min_mask_iou"] >= 0.95
    assert "parity passed" in printed and "box px" in printed and "generated-desk" in printed


def test_runtime_scores_a_photo_with_the_exported_model(
    exported: tuple[Path, str], photos: Path
) -> None:
    model, _ = exported
    pipeline = Pipeline(PipelineConfig(session=SessionConfig(model_path=model), conf=0.5))
    assert pipeline.detector.card.adapter == "maskrcnn"
    image = cv2.imread(str(photos / "000000000599.jpg"))
    result = pipeline.analyze(image)
    detections, score = result.detections, result.score
    assert len(detections) > 0 and set(detections.names) == {"chair"}  # the favoured class
    assert detections.mask is not None and len(detections.mask) == len(detections)
    dense = detections.mask.dense()
    assert dense.shape == (len(detections), *image.shape[:2])
    assert dense.any(axis=(1, 2)).all()
    for mask, (x0, y0, x1, y1) in zip(dense, detections.xyxy, strict=True):
        margin_x, margin_y = (x1 - x0) / 28 + 2, (y1 - y0) / 28 + 2  # pasting widens by 1/28
        ys, xs = mask.nonzero()
        assert xs.min() >= x0 - margin_x and xs.max() <= x1 + margin_x
        assert ys.min() >= y0 - margin_y and ys.max() <= y1 + margin_y
    assert next(c for c in score.criteria if c.id == "chair").status == "met"


def test_live_runs_the_exported_model(exported: tuple[Path, str], office_video: Path) -> None:
    model, _ = exported
    result = runner.invoke(
        app,
        [
            "live",
            "--source",
            str(office_video),
            "--model",
            str(model),
            "--headless",
            "--no-realtime",
            "--max-frames",
            "2",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2


def test_export_that_changes_the_outputs_fails_parity_and_is_removed(
    scripted_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "few_proposals.onnx"
    args = [
        *export_args(scripted_model, str(out)),
        "--size",
        SIZE,
        "--rpn-post-nms-top-n",
        "5",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "parity failed: generated-noise: labels agree on" in result.stderr
    assert "model removed" in result.stderr and not out.exists()
    assert not json.loads(out.with_suffix(".parity.json").read_text())["passed"]
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 1 and out.exists() and "kept anyway" in forced.stderr


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--size", "big"], "--size must be HEIGHTxWIDTH or dynamic"),
        (["--box-score-thresh", "0.01"], "below 0.05"),
        (["--opset", "9"], "--opset must be 11..20"),
        (["--labels", "/nonexistent/labels.txt"], "cannot read labels"),
    ],
)
def test_bad_export_options_exit_2(
    scripted_model: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, [*export_args(scripted_model, str(out)), *extra])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message in result.stderr and not out.exists()


def test_unwritable_output_leaves_nothing_behind(scripted_model: Path) -> None:
    result = runner.invoke(
        app,
        [
            *export_args(scripted_model, "/proc/officescore/m.onnx"),
            "--size",
            SIZE,
        ],
    )
    assert result.exit_code == 2 and "error: cannot create /proc/officescore" in result.stderr


def test_wrong_number_of_labels_is_refused(scripted_model: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("desk\nchair\n")
    result = runner.invoke(
        app,
        [
            *export_args(scripted_model, str(tmp_path / "m.onnx")),
            "--labels",
            str(labels),
        ],
    )
    assert result.exit_code == 2 and "2 labels for a model with 91 classes" in result.stderr
    assert list(tmp_path.glob("*.onnx*")) == []


def test_a_stricter_score_threshold_still_matches_the_detections_it_keeps(
    scripted_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "strict.onnx"
    result = runner.invoke(
        app,
        [
            *export_args(scripted_model, str(out)),
            "--size",
            SIZE,
            "--box-score-thresh",
            "0.7",
        ],
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(out.with_suffix(".parity.json").read_text())["images"]
    assert all(0 < row["onnx_detections"] < row["source_detections"] for row in rows)
    assert all(row["label_agreement"] == 1.0 for row in rows)


def test_fewer_detections_per_image_match_the_sources_best(
    scripted_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "top5.onnx"
    args = [*export_args(scripted_model, str(out)), "--size", SIZE, "--detections-per-img", "5"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(out.with_suffix(".parity.json").read_text())["images"]
    assert all(row["source_detections"] > 5 for row in rows)
    assert all(row["onnx_detections"] == row["matched"] == 5 for row in rows)
    assert all(row["label_agreement"] == 1.0 for row in rows)


def test_int8_is_written_beside_fp32_labelled_and_runs(
    scripted_model: Path, tmp_path: Path, photos: Path
) -> None:
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, [*export_args(scripted_model, str(out)), "--size", SIZE, "--int8"])
    assert result.exit_code == 0, result.stderr
    int8 = tmp_path / "m.int8.onnx"
    assert (
        "parity passed" in result.stderr and "int8 model (opt-in, not the default)" in result.stderr
    )
    proto = onnx.load(str(int8))
    assert sum(node.op_type == "QuantizeLinear" for node in proto.graph.node) > 50
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert metadata["officescore.precision"] == "int8"
    assert json.loads(metadata["officescore.int8"])["calibration"][:2] == [
        "generated-noise",
        "generated-desk",
    ]
    fp32_metadata = {e.key: e.value for e in onnx.load(str(out)).metadata_props}
    assert "officescore.precision" not in fp32_metadata
    report = json.loads(int8.with_suffix(".parity.json").read_text())
    assert len(report["images"]) == 2 and "passed" in report
    pipeline = Pipeline(PipelineConfig(session=SessionConfig(model_path=int8)))
    assert pipeline.detector.card.name.endswith("-int8")
    detections = pipeline.analyze(cv2.imread(str(photos / "000000000599.jpg"))).detections
    assert detections.mask is not None and len(detections.mask) == len(detections)
    assert oct(out.stat().st_mode & 0o777) == oct(int8.stat().st_mode & 0o777)


def test_fp16_is_a_valid_graph_with_float32_io_written_beside_fp32(
    scripted_model: Path, tmp_path: Path, photos: Path
) -> None:
    """onnxruntime's converter alone leaves Casts outside the NMS subgraphs, duplicated and
    out of order on this graph; ONNX's checker and ORT refuse that (export/float16.py)."""
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, [*export_args(scripted_model, str(out)), "--size", SIZE, "--fp16"])
    assert result.exit_code == 0, result.stderr
    assert "fp16 model (opt-in, not the default)" in result.stderr
    half = tmp_path / "m.fp16.onnx"
    proto = onnx.load(str(half))
    onnx.checker.check_model(proto)
    float_types = [init.data_type for init in proto.graph.initializer if init.data_type in (1, 10)]
    assert float_types.count(onnx.TensorProto.FLOAT16) > 0.9 * len(float_types)
    io_types = [value.type.tensor_type.elem_type for value in proto.graph.input]
    io_types += [value.type.tensor_type.elem_type for value in proto.graph.output]
    assert io_types.count(onnx.TensorProto.FLOAT) == 4  # image, boxes, scores, masks
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert metadata["officescore.precision"] == "fp16"
    assert json.loads(half.with_suffix(".parity.json").read_text())["images"]
    pipeline = Pipeline(PipelineConfig(session=SessionConfig(model_path=half)))
    assert pipeline.detector.card.name.endswith("-fp16")
    assert pipeline.detector.engine.ran.precision == "fp16"
    image = cv2.imread(str(photos / "000000000599.jpg"))
    half_detections = pipeline.analyze(image).detections
    full = Pipeline(PipelineConfig(session=SessionConfig(model_path=out)))
    full_detections = full.analyze(image).detections
    assert half_detections.mask is not None and len(half_detections) > 0
    full_boxes, half_boxes = full_detections.xyxy, half_detections.xyxy
    best_overlap = box_iou(full_boxes, half_boxes).max(axis=1)
    assert np.median(best_overlap) > 0.9  # the same objects, at half precision


def test_gather_merge_equals_torchvisions_scatter_merge() -> None:
    import torch
    from torchvision.ops import poolers

    from export.onnx_export import gather_merge_levels

    generator = torch.Generator().manual_seed(0)
    levels = torch.randint(0, 4, (50,), generator=generator)
    per_level = [
        torch.rand(int((levels == k).sum()), 8, 7, 7, generator=generator) for k in range(4)
    ]
    torch.testing.assert_close(
        gather_merge_levels(levels, per_level),
        poolers._onnx_merge_levels(levels, per_level),
        rtol=0,
        atol=0,
    )
