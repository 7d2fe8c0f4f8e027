"""Where frames go: a recording on a disk that fills up stays playable and says so."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers import write_video


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 6 MiB file system (tmpfs), where this machine lets us mount one (root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_recording_playable_and_exits_2(
    small_disk: Path, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 255, (480, 640, 3), np.uint8) for _ in range(8)]
    video = write_video(tmp_path / "noise.mp4", noise * 25)  # noise: large encoded frames
    recording = small_disk / "session.mp4"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "officescore",
            "live",
            "--source",
            str(video),
            "--headless",
            "--no-realtime",
            "--record",
            str(recording),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "disk full while recording" in errors[0], result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]  # every line complete
    capture = cv2.VideoCapture(str(recording))
    kept = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    assert 0 < kept < 200 and f"stopped after {kept} frames" in errors[0]
    ok, frame = capture.read()
    assert ok and frame.shape[0] == 480  # playable
    assert len(lines) >= kept
