"""Build models/call_demo.mp4, the clip `officescore check --source call-demo` plays without a
camera: someone on a video call, made from Grace Hopper's portrait (a US Navy photograph, public
domain, shipped with matplotlib as sample_data/grace_hopper.jpg) on a plain wall, swaying a
little from side to side as people do.

Run from the repository root (matplotlib: in the test install):
    python scripts/make_call_clip.py models/call_demo.mp4
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import cv2
import matplotlib
import numpy as np

SIZE = (640, 480)
FPS = 15
SECONDS = 10
WALL = (150, 160, 165)  # a light grey-beige wall, BGR


def frames(portrait: np.ndarray) -> list[np.ndarray]:
    width, height = SIZE
    scaled = cv2.resize(portrait, (round(portrait.shape[1] * height / portrait.shape[0]), height))
    out = []
    for index in range(FPS * SECONDS):
        sway = round(24 * math.sin(2 * math.pi * index / (FPS * 4)))  # one sway in 4 s
        canvas = np.full((height, width, 3), WALL, np.uint8)
        left = (width - scaled.shape[1]) // 2 + sway
        canvas[:, left : left + scaled.shape[1]] = scaled
        out.append(canvas)
    return out


def main(target: Path) -> None:
    portrait = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data/grace_hopper.jpg"))
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for frame in frames(portrait):
        writer.write(frame)
    writer.release()
    print(f"wrote {target}: {FPS * SECONDS} frames, {SIZE[0]}x{SIZE[1]} at {FPS} fps")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
