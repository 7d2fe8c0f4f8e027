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
from tests.helpers import HOMES, REPO, runner

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


def test_models_list_fits_80_columns_and_sizes_agree_with_the_files() -> None:
    listed = runner.invoke(app, ["models", "list"], env={"COLUMNS": "80"})
    assert listed.exit_code == 0, listed.stderr
    assert all(len(line) <= 80 for line in listed.stdout.splitlines()), listed.stdout
    for whole in ("yolox-s-int8", "segmentation", "BSD-3-Clause", "unpublished", "bundled"):
        assert whole in listed.stdout, whole
    bundled = next(line for line in listed.stdout.splitlines() if "yolox-nano" in line)
    size = f"{(REPO / 'models' / 'yolox_nano.onnx').stat().st_size / 1e6:.1f} MB"
    assert size in bundled
    assert f"bundled, {size}" in (REPO / "README.md").read_text()


def test_every_command_description_is_whole_in_the_help() -> None:
    import typer.main

    from officescore.cli import build_app

    shown = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}).stdout
    flat = " ".join(shown.replace("│", " ").split())
    for name, command in typer.main.get_command(build_app()).commands.items():  # type: ignore[attr-defined]
        first = (command.help or "").strip().split("\n\n")[0]
        assert "\n" not in first and first.endswith("."), (name, first)
        assert " ".join(first.split()) in flat, name


def test_the_live_check_on_a_terminal_prints_a_status_line_a_second() -> None:
    args = ["check", "--source", "call-demo", "--headless", "--max-frames", "40"]
    lines = [line for line in run_in_terminal(args).splitlines() if line.strip()]
    assert 1 <= len(lines) < 40 and all(not line.startswith("{") for line in lines)
    assert all(" fps" in line and " frame " in line for line in lines), lines
    assert all(any(word in line for word in ("pass", "warn", "fail")) for line in lines)
    as_json = run_in_terminal([*args, "--json", "--no-realtime", "--max-frames", "5"])
    assert json.loads(as_json.splitlines()[0])["kind"] == "frame"


def test_bench_says_one_input_size_and_a_skipped_row_is_in_the_table() -> None:
    from rich.console import Console

    from benchmarks.report import as_table

    result = runner.invoke(app, ["bench", "--iterations", "1", "--warmup", "0"])
    assert result.exit_code == 0, result.stderr
    assert "at 480x640" not in result.stderr
    assert "for 480x640 frames (model input: the model's live size)" in result.stderr
    assert "yolox-nano-coco@416" in result.stdout
    skipped = {
        "backend": "openvino",
        "precision": "bf16",
        "size": "480x640",
        "reason": "this CPU has no bf16 support: use --precision fp32",
    }
    console = Console(width=80, record=True)
    console.print(as_table([], [skipped]))
    table = console.export_text()
    assert "this CPU has no bf16" in table and "openvino" in table and "bf16" in table
    assert all(len(line) <= 80 for line in table.splitlines())
    assert table.splitlines()[0].strip() == "officescore bench: ms per frame, p50 / p95"
