"""The image readers every command shares: what a camera, a scanner or a phone writes becomes
8-bit BGR (grayscale, alpha, 16-bit), and what cannot be scored says why in one line."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.core.errors import OfficeScoreError
from edge.video.batch import expand_inputs, read_image, to_bgr8
from tests.helpers import PHOTOS


def test_a_photo_reads_as_8_bit_bgr() -> None:
    image, notes = read_image(PHOTOS / "000000000599.jpg")
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and notes == []


@pytest.mark.parametrize(
    ("written", "shape"),
    [
        (np.full((40, 60), 128, np.uint8), (40, 60, 3)),  # grayscale
        (np.full((40, 60, 4), 128, np.uint8), (40, 60, 3)),  # with alpha
        (np.full((40, 60, 3), 128 * 257, np.uint16), (40, 60, 3)),  # 16 bits a channel
    ],
)
def test_other_layouts_become_8_bit_bgr(tmp_path: Path, written: np.ndarray, shape: tuple) -> None:
    path = tmp_path / "photo.png"
    assert cv2.imwrite(str(path), written)
    image, _ = read_image(path)
    assert image.shape == shape and image.dtype == np.uint8
    assert abs(int(image.mean()) - 128) <= 1


def test_what_cannot_be_scored_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(OfficeScoreError, match=r"broken.jpg: not a readable image$"):
        read_image(broken)
    with pytest.raises(OfficeScoreError, match=r"^input not found: .*nope.jpg$"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(OfficeScoreError, match=r"tiny: image is 8×8, too small to score"):
        to_bgr8(np.zeros((8, 8, 3), np.uint8), "tiny")


def test_a_folder_gives_its_photos_and_videos_sorted(tmp_path: Path) -> None:
    for name in ("b.jpg", "a.mp4", "notes.txt", "c.PNG"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.mp4", "b.jpg", "c.PNG"]
