from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from edge.core.errors import OfficeScoreError
from edge.video.capture import FrameSource, resolve_source
from tests.helpers import frame_number, numbered_frames, write_video


@pytest.fixture(scope="module")
def numbered_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(
        tmp_path_factory.mktemp("capture") / "numbered.mp4", numbered_frames(30), fps=30
    )


def test_no_realtime_hands_over_every_frame_in_order(numbered_video: Path) -> None:
    with FrameSource(str(numbered_video), realtime=False) as source:
        frames = list(source.frames())
    assert [f.index for f in frames] == list(range(30))
    assert [frame_number(f.image) for f in frames] == list(range(30))
    assert source.stats.dropped == 0 and source.stats.read == 30
    assert frames[15].timestamp == pytest.approx(0.5)
    assert source.fps == pytest.approx(30) and source.frame_size == (640, 480)


def test_realtime_keeps_only_the_newest_frame_for_a_slow_consumer(numbered_video: Path) -> None:
    with FrameSource(str(numbered_video), realtime=True) as source:
        taken = []
        for frame in source.frames():
            taken.append(frame.index)
            time.sleep(0.1)  # a model three frames slow
    assert len(taken) < 20
    assert source.stats.dropped + len(taken) == 30
    assert taken == sorted(taken) and taken[-1] >= 25


def test_realtime_plays_a_file_at_its_own_frame_rate(numbered_video: Path) -> None:
    started = time.monotonic()
    with FrameSource(str(numbered_video), realtime=True) as source:
        count = sum(1 for _ in source.frames())
    assert time.monotonic() - started >= 0.9  # 30 frames at 30 fps
    assert count + source.stats.dropped == 30


def test_lost_source_is_reopened_with_backoff(numbered_video: Path) -> None:
    source = FrameSource(str(numbered_video), realtime=False, reconnect=True, backoff_s=0.01)
    with source:
        frames = [frame for _, frame in zip(range(75), source.frames(), strict=False)]
    assert source.stats.reconnects == 2
    assert [f.index for f in frames] == list(range(75))
    assert [frame_number(f.image) for f in frames] == [i % 30 for i in range(75)]
    assert len(source.stats.gaps) == 2


def test_source_that_cannot_reopen_reports_it_lost(tmp_path: Path) -> None:
    video = write_video(tmp_path / "short.mp4", numbered_frames(3))
    source = FrameSource(str(video), realtime=False, reconnect=True, max_retries=2, backoff_s=0.01)
    with source:
        for _ in source.frames():
            video.unlink(missing_ok=True)
    assert source.stats.lost is not None and "gave up after 2 retries" in source.stats.lost


def test_close_stops_the_thread_mid_stream(numbered_video: Path) -> None:
    source = FrameSource(str(numbered_video), realtime=True)
    with source:
        next(iter(source.frames()))
    assert not source._thread.is_alive()


@pytest.mark.parametrize(
    "spec, message",
    [("missing.mp4", "video source not found"), ("99", "cannot open camera 99")],
)
def test_unopenable_sources_fail_with_one_line(spec: str, message: str) -> None:
    with pytest.raises(OfficeScoreError, match=message):
        FrameSource(spec)


def test_corrupt_video_file_is_rejected(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(OfficeScoreError, match="cannot open"):
        FrameSource(str(corrupt))


def test_resolve_source_kinds() -> None:
    assert resolve_source("2") == 2
    assert resolve_source("rtsp://127.0.0.1:9/x") == "rtsp://127.0.0.1:9/x"
    assert Path(str(resolve_source("demo"))).is_file()
