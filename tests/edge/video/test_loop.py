from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import cv2

from edge.inference.pipeline import Pipeline
from edge.video.loop import LiveConfig, run_live
from edge.video.stages import ScoreStage


class InterruptingStream(io.StringIO):
    """stdout that receives Ctrl-C while the loop writes its `after`-th line."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after
        self.lines = 0

    def write(self, text: str) -> int:
        if text.endswith("\n"):
            self.lines += 1
            if self.lines == self.after:
                raise KeyboardInterrupt
        return super().write(text)


def test_ctrl_c_leaves_a_playable_recording_and_complete_lines(
    live_pipeline: Pipeline, office_video: Path, tmp_path: Path
) -> None:
    recording = tmp_path / "interrupted.mp4"
    out = InterruptingStream(after=8)
    config = LiveConfig(source=str(office_video), realtime=False, headless=True, record=recording)
    summary = run_live(config, ScoreStage(live_pipeline), out, notice=lambda _: None)
    assert summary.interrupted and summary.frames == 8
    lines = out.getvalue().splitlines()
    assert len(lines) == 7 and all(json.loads(line)["frame"] == i for i, line in enumerate(lines))
    capture = cv2.VideoCapture(str(recording))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 8
    assert capture.read()[0]


def test_summary_reports_stage_timings_and_leaves_no_thread(
    live_pipeline: Pipeline, office_video: Path
) -> None:
    before = set(threading.enumerate())
    config = LiveConfig(source=str(office_video), realtime=False, headless=True)
    summary = run_live(config, ScoreStage(live_pipeline), io.StringIO(), notice=lambda _: None)
    assert summary.frames == 40 and summary.dropped == 0 and summary.fps > 0
    assert set(summary.stage_p50_ms) == {
        "capture",
        "preprocess",
        "inference",
        "postprocess",
        "score",
    }
    assert summary.last is not None and summary.last.score is not None
    assert set(threading.enumerate()) <= before


def test_realtime_playback_drops_frames_rather_than_lagging(
    live_pipeline: Pipeline, office_video: Path
) -> None:
    out = io.StringIO()
    paced = LiveConfig(source=str(office_video), realtime=True, headless=True)
    summary = run_live(paced, ScoreStage(live_pipeline), out, notice=lambda _: None)
    frames = [json.loads(line)["frame"] for line in out.getvalue().splitlines()]
    assert summary.frames + summary.dropped == 40
    assert frames == sorted(frames) and frames[-1] == 39  # the newest frame is always shown


def test_slow_model_runs_beside_the_display(
    exported: tuple[Path, str], photos: Path, tmp_path: Path
) -> None:
    from edge.inference.engines import EngineRequest
    from edge.inference.pipeline import PipelineConfig
    from edge.inference.session import SessionConfig
    from tests.helpers import write_video

    model, _ = exported
    slow = Pipeline(
        PipelineConfig(session=SessionConfig(model_path=model, request=EngineRequest(threads=1)))
    )
    image = cv2.resize(cv2.imread(str(photos / "000000000599.jpg")), (320, 240))
    video = write_video(tmp_path / "call.mp4", [image] * 45, fps=15)
    recording = tmp_path / "shown.mp4"
    out = io.StringIO()
    config = LiveConfig(source=str(video), realtime=True, headless=True, record=recording)
    summary = run_live(config, ScoreStage(slow), out, notice=lambda _: None)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert summary.displayed + summary.dropped == 45
    assert 0 < summary.frames == len(lines) < summary.displayed
    assert [line["frame"] for line in lines] == sorted(line["frame"] for line in lines)
    assert cv2.VideoCapture(str(recording)).get(cv2.CAP_PROP_FRAME_COUNT) == summary.displayed
