from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from edge.core.errors import OfficeScoreError
from edge.core.vocabulary import CANONICAL_ID
from edge.inference.modelcard import (
    CARD_METADATA_KEY,
    bundled_model_path,
    load_card_file,
    verify_sha256,
)
from edge.inference.session import Detector, SessionConfig
from tests.helpers import REPO

BUNDLED_CARD = bundled_model_path().with_suffix(".toml")


def test_bundled_card_maps_coco_names_to_canonical_ones() -> None:
    card = load_card_file(bundled_model_path(), None)
    assert card is not None
    assert len(card.labels) == 80 and card.adapter == "yolox"
    label_index = {label: i for i, label in enumerate(card.labels)}
    for label, canonical in [
        ("tv", "monitor"),
        ("dining table", "table"),
        ("potted plant", "plant"),
        ("zebra", "outdoor"),
        ("bench", "outdoor"),
    ]:
        assert card.canonical_of_label[label_index[label]] == CANONICAL_ID[canonical]
    assert "lamp" not in card.visible_names and "monitor" in card.visible_names
    assert "television" in card.visible_names  # the scene reads a screen as one
    verify_sha256(bundled_model_path(), card.sha256 or "")


def test_sha256_mismatch_is_reported(tmp_path: Path) -> None:
    damaged = tmp_path / "yolox_nano.onnx"
    data = bytearray(bundled_model_path().read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    shutil.copy(BUNDLED_CARD, tmp_path / "yolox_nano.toml")
    with pytest.raises(OfficeScoreError, match="does not match its model card"):
        Detector(SessionConfig(model_path=damaged))


def test_model_without_card_names_the_ways_to_give_one(tmp_path: Path) -> None:
    model = tmp_path / "detector.onnx"
    shutil.copy(bundled_model_path(), model)
    with pytest.raises(OfficeScoreError, match=r"no model card .*--card"):
        Detector(SessionConfig(model_path=model))


def test_card_embedded_in_onnx_metadata_is_used(tmp_path: Path) -> None:
    proto = onnx.load(str(bundled_model_path()))
    text = BUNDLED_CARD.read_text().replace('sha256 = "', 'old_sha256 = "')
    entry = proto.metadata_props.add()
    entry.key, entry.value = CARD_METADATA_KEY, text
    model = tmp_path / "with_card.onnx"
    onnx.save(proto, str(model))
    detector = Detector(SessionConfig(model_path=model))
    assert detector.card.name == "yolox-nano-coco" and len(detector.card.labels) == 80


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda t: t.replace('canonical = "coco"', 'canonical = { tv = "screen" }'),
            "unknown canonical names",
        ),
        (lambda t: t.replace('canonical = "coco"', 'canonical = "lvis"'), "no shared canonical"),
        (lambda t: t.replace('adapter = "yolox"', 'adapter = "detr"'), "adapter 'detr'"),
        (lambda t: t.replace("labels = [", "labelz = ["), "list of string `labels`"),
        (lambda t: t + "\n[[[", "not valid TOML"),
        (lambda t: t.replace("photo_size = 640", 'photo_size = "big"'), "bad \\[input\\]"),
    ],
)
def test_invalid_cards_give_one_line_errors(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    card = tmp_path / "card.toml"
    card.write_text(edit(BUNDLED_CARD.read_text()))
    with pytest.raises(OfficeScoreError, match=message) as caught:
        Detector(SessionConfig(card_path=card))
    assert "\n" not in str(caught.value)


def test_bundled_files_are_found_even_behind_a_models_folder(tmp_path: Path) -> None:
    """A `models/` package earlier on sys.path (here: the working directory) cannot hide them."""
    shadow = tmp_path / "models"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("")
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from edge.inference.modelcard import bundled_model_path as b; print(b())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"},
    )
    assert Path(found.stdout.strip()) == REPO / "models" / "yolox_nano.onnx"
