"""The live runner with the check's stage, on the bundled call clip (Grace Hopper's public-domain
portrait on a wall, swaying): every frame judged, the person criteria judged from her face
throughout, the face followed as she moves, the closing summary line, and a recording that
survives Ctrl-C. (Its Triton server restarting: tests/edge/scale/test_triton.py.)"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import cv2

from edge.video.overlay import annotated_size
from officescore.cli import app
from tests.helpers import REPO, runner

PERSON_CRITERIA = ("lighting", "backlight", "framing", "camera_angle", "distance", "sharpness")


def test_the_live_check_follows_the_face_on_the_call_clip() -> None:
    result = runner.invoke(app, ["check", "--source", "call-demo", "--headless", "--no-realtime"])
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["t"] for line in lines] == [float(second) for second in range(10)]
    offsets = []
    for line in lines:
        criteria = {c["id"]: c for c in line["check"]["criteria"]}
        assert {name: criteria[name]["status"] for name in PERSON_CRITERIA} == dict.fromkeys(
            PERSON_CRITERIA, "pass"
        ), line["t"]
        offsets.append(criteria["framing"]["evidence"]["offset"])
    assert max(offsets) - min(offsets) > 0.02  # she sways 24 px either way: followed, not frozen
    (closing,) = [x for x in result.stderr.splitlines() if x.startswith("done: ")]
    assert closing.startswith("done: 150 frames from call-demo in ")
    for stage in ("inference", "faces", "landmarks", "segmentation", "check"):
        assert f" {stage} " in closing
    assert "final score" not in closing  # the check ends with its verdict, not a score
    # the clip is 640×480 (below 720p) and her wall has no plant: warnings, nothing fails
    assert result.stderr.rstrip().endswith(
        "verdict: warn: Camera resolution and frame rate (live); Plants, books, art (live) (exit 0)"
    )


def test_the_live_check_stops_after_max_frames_with_every_frame_judged() -> None:
    args = ["check", "--source", "call-demo", "--headless", "--no-realtime", "--max-frames", "7"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "done: 7 frames from call-demo" in result.stderr
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]  # t=0 only: 7 frames < 1 s
    assert line["frame"] == 0


def test_ctrl_c_leaves_a_playable_check_recording(tmp_path: Path) -> None:
    recording = tmp_path / "check.mp4"
    args = ["check", "--source", "call-demo", "--loop", "--headless", "--no-realtime"]
    check = subprocess.Popen(
        [sys.executable, "-m", "officescore", *args, "--record", str(recording)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert check.stdout is not None and check.stderr is not None
    seconds = [json.loads(check.stdout.readline())["t"] for _ in range(3)]
    check.send_signal(signal.SIGINT)
    code = check.wait(timeout=60)
    notes = check.stderr.read()
    assert code == 0 and "Traceback" not in notes, notes
    assert seconds == [0.0, 1.0, 2.0]
    found = re.search(r"^stopped by user: (\d+) frames from call-demo", notes, re.MULTILINE)
    assert found, notes
    frames = int(found[1])
    capture = cv2.VideoCapture(str(recording))
    recorded = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = capture.read()
    capture.release()
    assert frames >= 30 and frames <= recorded <= frames + 1  # each judged frame, drawn first
    assert ok and (first.shape[1], first.shape[0]) == annotated_size((640, 480))
