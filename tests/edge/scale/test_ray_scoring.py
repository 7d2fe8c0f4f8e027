"""`score --engine ray` on a real local Ray cluster: the same records as local scoring."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import HOMES, PHOTOS, write_video

pytest.importorskip("ray")
pytest.importorskip("pyarrow")


def officescore(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """A real process: Ray's cluster starts and stops with it (each test bounded in time)."""
    return subprocess.run(
        [sys.executable, "-m", "officescore", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            "RAY_USAGE_STATS_ENABLED": "0",
            "PATH": "/usr/bin:/bin",
            "OFFICESCORE_CACHE": os.environ["OFFICESCORE_CACHE"],  # the suite's, not the user's
        },
    )


def comparable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "timings_ms"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ten rated home photos, a CC BY photo and a short video of it."""
    import cv2

    folder = tmp_path_factory.mktemp("inputs")
    for photo in [*sorted(HOMES.glob("*.jpg")), PHOTOS / "000000000599.jpg"]:
        shutil.copy(photo, folder / photo.name)
    frame = cv2.resize(cv2.imread(str(PHOTOS / "000000000599.jpg")), (320, 240))
    write_video(folder / "clip.mp4", [frame] * 15)
    return folder


def test_ray_records_equal_local_scoring(inputs: Path, tmp_path: Path) -> None:
    local = officescore("score", str(inputs), "--json", "--engine", "onnxruntime")  # as on Ray
    assert local.returncode == 0, local.stderr
    expected = [comparable(json.loads(line)) for line in local.stdout.splitlines()]
    out = tmp_path / "results.jsonl"
    ray = officescore("score", str(inputs), "--engine", "ray", "--out", str(out))
    assert ray.returncode == 0, ray.stderr
    assert f"wrote 12 records to {out}" in ray.stderr
    found = [comparable(json.loads(line)) for line in out.read_text().splitlines()]
    assert found == expected  # same order, same scores, detections, criteria; video included
    assert {record["kind"] for record in found} == {"image", "video"}


def test_parquet_output_and_a_bad_file(inputs: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    bad = tmp_path / "broken.jpg"
    bad.write_text("not a photo")
    out = tmp_path / "results.parquet"
    args = ["score", str(inputs / "000000255165.jpg"), str(bad), "--engine", "ray"]
    result = officescore(*args, "--out", str(out))
    assert result.returncode == 2
    assert f"error: {bad}: not a readable image" in result.stderr
    table = pq.read_table(out).to_pylist()
    assert [row["score"] for row in table] == [84, None]
    assert json.loads(table[0]["record"])["model"] == "yolox-nano-coco@640"


def test_ray_needs_a_results_file(inputs: Path) -> None:
    result = officescore("score", str(inputs), "--engine", "ray", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: --engine ray writes its results to --out FILE.jsonl or .parquet"
    )


def test_bench_gives_ray_throughput_beside_the_plain_loop() -> None:
    run = officescore("bench", "--engine", "ray", "--frames", "12", "--iterations", "2", "--json")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)["throughput"]
    assert [(row["engine"], row["clients"], row["frames"]) for row in rows] == [
        ("plain loop", 1, 12),
        ("ray", 2, 12),
    ]
    assert all(row["fps"] > 0 for row in rows)
