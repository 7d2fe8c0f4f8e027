"""Build models/demo.mp4: a slow pan and zoom over the two CC BY photos in ../shared/photos.

Credits are in models/SOURCES.md. Run from the repository root:
    python scripts/make_demo_clip.py ../shared/photos models/demo.mp4
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

PHOTOS = ("cctv_office_train283.jpg", "000000000599.jpg")
SIZE = (640, 480)
FPS = 15
SECONDS_PER_PHOTO = 5


def crops(image: np.ndarray, count: int) -> list[np.ndarray]:
    """`count` frames zooming from the whole photo to its centre-right 80 %."""
    height, width = image.shape[:2]
    frames = []
    for step in np.linspace(0.0, 1.0, count):
        zoom = 1.0 - 0.2 * step
        crop_w, crop_h = int(width * zoom), int(height * zoom)
        x0 = int((width - crop_w) * (0.5 + 0.5 * step))
        y0 = int((height - crop_h) * 0.5)
        frames.append(cv2.resize(image[y0 : y0 + crop_h, x0 : x0 + crop_w], SIZE))
    return frames


def main(photo_dir: Path, target: Path) -> None:
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter.fourcc(*"mp4v"), FPS, SIZE)
    for name in PHOTOS:
        image = cv2.imread(str(photo_dir / name))
        for frame in crops(image, FPS * SECONDS_PER_PHOTO):
            writer.write(frame)
    writer.release()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
