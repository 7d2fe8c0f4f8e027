"""What the commands print into pipes and terminals, as real processes: a closed pipe ends the
command quietly, tables into a pipe are not wrapped, one tip per run, and `live --headless`
gives a person a status line and a script JSON lines."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from officescore.cli import app
from tests.conftest import HOMES, REPO, runner

OFFICESCORE = [sys.executable, "-m", "officescore"]


def without_columns() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "COLUMNS"}


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    """`officescore score DIR --json | head -1`: no error, no traceback, exit 141 like grep's."""
    process = subprocess.Popen(
        [*OFFICESCORE, "score", str(HOMES), "--json"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = json.loads(process.stdout.readline())
    process.stdout.close()  # what `head -1` does after its line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert first["kind"] == "image"
    assert stderr == "", stderr


def test_tables_into_a_pipe_keep_whole_words() -> None:
    listed = subprocess.run(
        [*OFFICESCORE, "models", "list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=without_columns(),
        check=True,
    )
    rows = [line for line in listed.stdout.splitlines() if "yolox-s-int8" in line]
    assert len(rows) == 1 and "Apache-2.0" in rows[0], listed.stdout
    assert any(
        "maskrcnn-v2" in line and "BSD-3-Clause" in line for line in listed.stdout.split("\n")
    )


def test_a_folder_gets_one_tip_not_one_per_photo() -> None:
    result = runner.invoke(app, ["score", str(HOMES)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("office score") == 10
    assert result.stdout.count("tip: ") == 1
    assert result.stdout.rstrip().splitlines()[-1].startswith("tip: the bundled YOLOX-Nano")


def test_bench_without_options_times_a_frame_with_objects_in_it() -> None:
    result = runner.invoke(app, ["bench", "--iterations", "1", "--warmup", "0", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["results"][0]["detections"] >= 3


def run_in_terminal(args: list[str]) -> str:
    """Run officescore with a pseudo-terminal as its stdout; what it printed there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*OFFICESCORE, *args], cwd=REPO, stdout=follower, stderr=subprocess.DEVNULL
    )
    os.close(follower)
    printed = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the process closed its side
            break
        if not chunk:
            break
        printed += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return printed.decode()


def test_live_headless_on_a_terminal_prints_a_status_line_a_second(office_video: Path) -> None:
    args = ["live", "--source", str(office_video), "--headless", "--max-frames", "40"]
    lines = [line for line in run_in_terminal(args).splitlines() if line.strip()]
    assert 1 <= len(lines) < 40  # once a second, not once a frame
    assert "score" in lines[0] and "fps" in lines[0] and "dropped" in lines[0]
    assert all(len(line) < 200 and not line.startswith("{") for line in lines)
    as_json = run_in_terminal([*args, "--json", "--no-realtime", "--max-frames", "5"])
    assert [json.loads(line)["kind"] for line in as_json.splitlines()] == ["frame"] * 5
