"""Where annotated frames go: a window on screen and a video recording."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from edge.core.errors import OfficeScoreError

WINDOW_TITLE = "officescore"
# Kept free on the recording's disk: the space the container needs to finalize the file.
RECORDING_RESERVE_BYTES = 4 * 1024 * 1024


def has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class Recorder:
    """Annotated frames to a video file; always finalized by `close`.

    OpenCV's writer does not report a full disk, so the free space is checked before every
    frame: below `reserve_bytes` the recording is finalized (it stays playable) and writing
    stops with an error naming how much was kept.
    """

    def __init__(
        self,
        path: Path,
        fps: float,
        size: tuple[int, int],
        reserve_bytes: int = RECORDING_RESERVE_BYTES,
    ) -> None:
        self.path = path
        self._folder = path.parent.resolve()
        self.reserve_bytes = reserve_bytes
        self.frames = 0
        self._writer: cv2.VideoWriter | None = cv2.VideoWriter(
            str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size
        )
        if not self._writer.isOpened():
            raise OfficeScoreError(f"cannot write recording {path}")
        self.size = size
        self._check_space()

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            return
        self._check_space()
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size)
        self._writer.write(image)
        self.frames += 1

    def _check_space(self) -> None:
        free = shutil.disk_usage(self._folder).free
        if free < self.reserve_bytes:
            self.close()
            raise OfficeScoreError(
                f"disk full while recording {self.path} ({free // 1024} KiB free): stopped after "
                f"{self.frames} frames; what was recorded is finalized and playable"
            )

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


class Window:
    def __init__(self, size: tuple[int, int]) -> None:
        cv2.namedWindow(WINDOW_TITLE, cv2.WINDOW_NORMAL)
        if min(size) > 0:
            cv2.resizeWindow(WINDOW_TITLE, *size)

    def show(self, image: np.ndarray) -> bool:
        """Show a frame; False once the user pressed q/Esc or closed the window."""
        cv2.imshow(WINDOW_TITLE, image)
        key = cv2.waitKey(1) & 0xFF
        closed = cv2.getWindowProperty(WINDOW_TITLE, cv2.WND_PROP_VISIBLE) < 1
        return key not in (ord("q"), 27) and not closed

    def close(self) -> None:
        cv2.destroyWindow(WINDOW_TITLE)
