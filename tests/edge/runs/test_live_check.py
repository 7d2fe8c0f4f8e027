"""The live video-call check on the bundled call clip (Grace Hopper's public-domain portrait on
a wall, swaying): every frame judged, the person criteria judged from her face throughout, the
face followed as she moves, and the closing summary line."""

from __future__ import annotations

import json

from officescore.cli import app
from tests.conftest import runner

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
