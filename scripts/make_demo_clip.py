"""Build models/demo.mp4, the clip `officescore live` plays without a camera: a slow zoom over
four real home offices and a bedroom, CC BY 2.0 photos from MS COCO 2017 (credits in
models/SOURCES.md; CC BY-SA photos are left out, since an edited video is an adaptation).

Run from the repository root:
    python scripts/make_demo_clip.py tests/data/homes models/demo.mp4
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

PHOTOS = (
    "000000255165.jpg",  # home office corner: two monitors, laptop, keyboards, books
    "000000516008.jpg",  # laptop on a stand, ergonomic keyboard, mouse
    "000000066635.jpg",  # tidy desk, large screen, keyboard and mouse
    "000000301421.jpg",  # desk with monitor, keyboard, mouse, office chair
    "000000403353.jpg",  # a bedroom: what a workplace is not
)
SIZE = (640, 480)
FPS = 15
SECONDS_PER_PHOTO = 4


def four_by_three(image: np.ndarray) -> np.ndarray:
    """The largest centred 4:3 part of the photo."""
    height, width = image.shape[:2]
    if width * 3 > height * 4:
        keep = height * 4 // 3
        return image[:, (width - keep) // 2 : (width - keep) // 2 + keep]
    keep = width * 3 // 4
    return image[(height - keep) // 2 : (height - keep) // 2 + keep]


def zoom(image: np.ndarray, count: int) -> list[np.ndarray]:
    """`count` frames zooming slowly from the whole photo to its centre 90 %."""
    height, width = image.shape[:2]
    frames = []
    for step in np.linspace(0.0, 1.0, count):
        scale = 1.0 - 0.1 * step
        crop_w, crop_h = int(width * scale), int(height * scale)
        x0, y0 = (width - crop_w) // 2, (height - crop_h) // 2
        crop = image[y0 : y0 + crop_h, x0 : x0 + crop_w]
        frames.append(cv2.resize(crop, SIZE, interpolation=cv2.INTER_AREA))
    return frames


def main(photo_dir: Path, target: Path) -> None:
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), FPS, SIZE)
    for name in PHOTOS:
        image = four_by_three(cv2.imread(str(photo_dir / name)))
        for frame in zoom(image, FPS * SECONDS_PER_PHOTO):
            writer.write(frame)
    writer.release()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
