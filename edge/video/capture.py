"""Frame capture on its own thread, keeping only the newest frame (a one-slot buffer).

The loop never waits on the camera longer than one frame, and a slow model never makes
the camera queue up stale frames: frames nobody took are counted as dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edge.core.errors import OfficeScoreError
from edge.inference.modelcard import DEMO_CLIP, bundled_dir

CALL_DEMO_CLIP = "call_demo.mp4"  # someone on a call: for `check --source call-demo`
URL_PREFIXES = ("rtsp://", "rtmp://", "http://", "https://", "udp://", "tcp://")
OPEN_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Frame:
    image: np.ndarray
    index: int
    timestamp: float  # seconds into the video, or since the camera opened
    captured_at: float  # time.perf_counter() when it was read


@dataclass
class CaptureStats:
    read: int = 0
    dropped: int = 0
    reconnects: int = 0
    replays: int = 0  # a looped file starting again: not a fault
    gap_seconds: float = 0.0
    lost: str | None = None
    gaps: list[tuple[float, float]] = field(default_factory=list)


def resolve_source(spec: str) -> int | str:
    """`0`/`1`… → camera index, `demo` / `call-demo` → a bundled clip (home offices / someone on
    a call), URL → as is, else an existing file."""
    if spec.isdigit():
        return int(spec)
    if spec in ("demo", "call-demo"):
        return str(bundled_dir() / (DEMO_CLIP if spec == "demo" else CALL_DEMO_CLIP))
    if spec.startswith(URL_PREFIXES):
        return spec
    path = Path(spec)
    if not path.is_file():
        raise OfficeScoreError(f"video source not found: {spec}")
    return str(path)


@contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV's backends log a dozen lines for a camera that is not there; our one-line error
    says it better."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def open_capture(source: int | str) -> cv2.VideoCapture:
    with quiet_opencv():
        if isinstance(source, int):
            return cv2.VideoCapture(source)
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            OPEN_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            OPEN_TIMEOUT_MS,
            # one decoding thread: the detector's threads have the cores (FFmpeg's own threads
            # took 0.82 ms of CPU a frame of the demo clip against 0.51 ms for one)
            cv2.CAP_PROP_N_THREADS,
            1,
        ]
        return cv2.VideoCapture(source, cv2.CAP_ANY, params)


class FrameSource:
    """A camera, video file or stream read on a background thread.

    realtime: a file is paced at its own frame rate, like a camera, and frames the consumer
    did not take in time are dropped. Otherwise every frame is handed over (no drops).
    reconnect: when reading fails, reopen with exponential backoff up to `max_retries`
    times (cameras and streams); a file simply ends.
    loop: a file that ends starts again at once, counted as a replay, not a reconnect.
    """

    def __init__(
        self,
        spec: str,
        realtime: bool = True,
        reconnect: bool | None = None,
        max_retries: int = 6,
        backoff_s: float = 0.5,
        loop: bool = False,
    ) -> None:
        self.source = resolve_source(spec)
        self.name = spec
        self.is_file = isinstance(self.source, str) and not self.source.startswith(URL_PREFIXES)
        self.realtime = realtime
        self.reconnect = (not self.is_file) if reconnect is None else reconnect
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.loop = loop and self.is_file
        self.stats = CaptureStats()
        self._capture = self._open_checked()
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self.frame_size = (
            int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self._slot: Frame | None = None
        self._ended = False
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="officescore-capture", daemon=True)

    def _open_checked(self) -> cv2.VideoCapture:
        capture = open_capture(self.source)
        if not capture.isOpened():
            what = f"camera {self.source}" if isinstance(self.source, int) else self.name
            raise OfficeScoreError(f"cannot open {what}")
        return capture

    def __enter__(self) -> FrameSource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._capture.release()

    def frames(self) -> Iterator[Frame]:
        """The newest frame each time the consumer asks, until the source ends."""
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._slot is not None or self._ended)
                frame, self._slot = self._slot, None
                self._changed.notify_all()
            if frame is None:
                return
            yield frame

    def _run(self) -> None:
        started = time.monotonic()
        index = 0
        try:
            while not self._stop.is_set():
                ok, image = self._capture.read()
                if not ok or image is None:
                    if self.loop and self._replay():
                        continue
                    if not self.reconnect or not self._reopen():
                        return
                    continue
                if self.is_file:
                    timestamp = index / self.fps
                    if self.realtime:
                        delay = started + timestamp - time.monotonic()
                        if delay > 0 and self._stop.wait(delay):
                            return
                else:
                    timestamp = time.monotonic() - started
                self._put(Frame(image, index, timestamp, time.perf_counter()))
                index += 1
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def _put(self, frame: Frame) -> None:
        with self._changed:
            if not self.realtime:
                self._changed.wait_for(lambda: self._slot is None or self._stop.is_set())
            elif self._slot is not None:
                self.stats.dropped += 1
            self._slot = frame
            self.stats.read += 1
            self._changed.notify_all()

    def _replay(self) -> bool:
        self._capture.release()
        self._capture = open_capture(self.source)
        if not self._capture.isOpened():
            return False
        self.stats.replays += 1
        return True

    def _reopen(self) -> bool:
        lost_at = time.monotonic()
        for attempt in range(self.max_retries):
            if self._stop.wait(self.backoff_s * 2**attempt):
                return False
            self._capture.release()
            self._capture = open_capture(self.source)
            if self._capture.isOpened():
                gap = time.monotonic() - lost_at
                self.stats.reconnects += 1
                self.stats.gap_seconds += gap
                self.stats.gaps.append((lost_at, gap))
                return True
        self.stats.lost = (
            f"{self.name} stopped giving frames; gave up after {self.max_retries} retries"
        )
        return False
