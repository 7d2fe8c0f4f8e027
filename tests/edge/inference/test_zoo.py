"""The model zoo against a real HTTP server on 127.0.0.1: pulls, bad files, resumes, locks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from edge.inference.modelcard import bundled_model_path
from officescore.cli import app
from tests.helpers import FileServer, Served, file_server, runner

MODEL = bundled_model_path().read_bytes()  # a real model, so a pulled one can score a photo
LIVING_ROOM = "000000000599.jpg"


def registry(path: Path, url: str, data: bytes = MODEL, name: str = "testnet") -> Path:
    path.write_text(
        f"""[{name}]
kind = "onnx"
task = "detection"
classes = "COCO 80"
licence = "Apache-2.0"
source = "{url}"
file = "testnet.onnx"
size = {len(data)}
sha256 = "{hashlib.sha256(data).hexdigest()}"
coco_ap = "25.8"
input = "any multiple of 32"
card = "yolox_nano.toml"
"""
    )
    return path


@pytest.fixture
def server() -> Iterator[FileServer]:
    with file_server() as running:
        yield running


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def run(cache: Path, zoo: Path | None, *args: str, mirror: str | None = None) -> Result:
    env = {"OFFICESCORE_CACHE": str(cache), "OFFICESCORE_ZOO": str(zoo or "")}
    if mirror:
        env["OFFICESCORE_MODEL_MIRROR"] = mirror
    return runner.invoke(app, list(args), env=env)


def files_in(cache: Path) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*")) if cache.exists() else []


def one_error(result: Result, *parts: str) -> None:
    assert result.exit_code == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and all(part in errors[0] for part in parts), result.stderr
    assert "Traceback" not in result.stderr


def test_pull_checks_the_file_and_the_model_then_scores(
    server: FileServer, cache: Path, tmp_path: Path, photos: Path
) -> None:
    server.routes["/m/testnet.onnx"] = Served(MODEL)
    zoo = registry(tmp_path / "zoo.toml", server.url("/m/testnet.onnx"))
    pulled = run(cache, zoo, "models", "pull", "testnet")
    assert pulled.exit_code == 0, pulled.stderr
    said = f"downloading testnet ({len(MODEL) / 1e6:.1f} MB) from {server.url('/m/testnet.onnx')}"
    assert pulled.stderr.startswith(said)
    assert files_in(cache) == [
        "models",
        "models/testnet",
        *[f"models/testnet/testnet.{ext}" for ext in ("onnx", "toml")],
    ]
    assert (cache / "models/testnet/testnet.onnx").read_bytes() == MODEL
    listed = run(cache, zoo, "models", "list")
    assert "testnet" in listed.stdout and "yolox-s" in listed.stdout
    scored = run(cache, zoo, "score", str(photos / LIVING_ROOM), "--model", "testnet", "--json")
    assert scored.exit_code == 0, scored.stderr
    assert json.loads(scored.stdout)["model"] == "yolox-nano-coco@640"
    assert len(server.requests) == 1  # the second use found it in the cache
    info = run(cache, zoo, "models", "info", "testnet")
    assert "sha256: " + hashlib.sha256(MODEL).hexdigest() in info.stdout
    assert "(cached)" in info.stdout
    removed = run(cache, zoo, "models", "remove", "testnet")
    assert removed.exit_code == 0 and not (cache / "models/testnet").exists()


@pytest.mark.parametrize(
    "served, message",
    [
        (Served(MODEL[:-10] + b"0123456789"), "sha256 differs"),
        (Served(MODEL[:1000]), "is 1,000 bytes, expected"),
        (Served(status=404), "404"),
    ],
    ids=["wrong-hash", "wrong-size", "not-found"],
)
def test_a_wrong_file_is_deleted_and_exits_2(
    server: FileServer, cache: Path, tmp_path: Path, served: Served, message: str
) -> None:
    if served.status == 200:
        server.routes["/m/testnet.onnx"] = served
    zoo = registry(tmp_path / "zoo.toml", server.url("/m/testnet.onnx"))
    result = run(cache, zoo, "models", "pull", "testnet")
    one_error(result, message)
    assert not (cache / "models/testnet").exists()


def test_without_network_the_error_names_the_url_and_models_add(cache: Path) -> None:
    """The real yolox-s entry, on a machine that cannot reach it (this one)."""
    result = run(cache, None, "score", "x.jpg", "--model", "yolox-s")
    one_error(result, "object_detection_yolox_2022nov.onnx", "officescore models add yolox-s FILE")
    assert files_in(cache) in ([], ["models"])


def test_closed_port_is_a_network_error(cache: Path, tmp_path: Path) -> None:
    zoo = registry(tmp_path / "zoo.toml", "http://127.0.0.1:9/testnet.onnx")
    one_error(run(cache, zoo, "models", "pull", "testnet"), "models add testnet FILE")
    assert not (cache / "models/testnet").exists()


def test_an_interrupted_download_resumes_with_range(
    server: FileServer, cache: Path, tmp_path: Path
) -> None:
    half = len(MODEL) // 2
    server.routes["/m/testnet.onnx"] = Served(MODEL, cut_after=half)
    zoo = registry(tmp_path / "zoo.toml", server.url("/m/testnet.onnx"))
    first = run(cache, zoo, "models", "pull", "testnet")
    one_error(first, f"of {len(MODEL):,} bytes", "again to resume")
    part = cache / "models/testnet/testnet.onnx.part"
    kept = part.stat().st_size
    assert 0 < kept <= half and f"stopped at {kept:,} of" in first.stderr
    assert part.read_bytes() == MODEL[:kept]
    server.routes["/m/testnet.onnx"] = Served(MODEL)
    second = run(cache, zoo, "models", "pull", "testnet")
    assert second.exit_code == 0, second.stderr
    assert server.requests[-1] == ("/m/testnet.onnx", f"bytes={kept}-")
    assert (cache / "models/testnet/testnet.onnx").read_bytes() == MODEL


def test_slow_and_redirected_downloads_arrive_whole(
    server: FileServer, cache: Path, tmp_path: Path
) -> None:
    server.routes["/old/testnet.onnx"] = Served(redirect_to=server.url("/slow/testnet.onnx"))
    server.routes["/slow/testnet.onnx"] = Served(MODEL, delay_s=0.01)
    zoo = registry(tmp_path / "zoo.toml", server.url("/old/testnet.onnx"))
    result = run(cache, zoo, "models", "pull", "testnet")
    assert result.exit_code == 0, result.stderr
    assert [path for path, _ in server.requests] == ["/old/testnet.onnx", "/slow/testnet.onnx"]
    assert (cache / "models/testnet/testnet.onnx").read_bytes() == MODEL


def test_a_mirror_serves_the_same_file_names(
    server: FileServer, cache: Path, tmp_path: Path
) -> None:
    server.routes["/mirror/testnet.onnx"] = Served(MODEL)
    zoo = registry(tmp_path / "zoo.toml", "https://models.example.invalid/x/testnet.onnx")
    result = run(cache, zoo, "models", "pull", "testnet", mirror=server.url("/mirror"))
    assert result.exit_code == 0, result.stderr
    assert server.requests == [("/mirror/testnet.onnx", None)]


def test_add_checks_size_and_hash(cache: Path, tmp_path: Path) -> None:
    zoo = registry(tmp_path / "zoo.toml", "https://models.example.invalid/testnet.onnx")
    wrong = tmp_path / "wrong.onnx"
    wrong.write_bytes(MODEL[:-1] + b"x")
    one_error(run(cache, zoo, "models", "add", "testnet", str(wrong)), "sha256", "differs")
    assert not (cache / "models/testnet/testnet.onnx").exists()
    right = tmp_path / "right.onnx"
    right.write_bytes(MODEL)
    added = run(cache, zoo, "models", "add", "testnet", str(right))
    assert added.exit_code == 0, added.stderr
    assert (cache / "models/testnet/testnet.onnx").read_bytes() == MODEL
    assert (cache / "models/testnet/testnet.toml").is_file()  # the card beside it


def test_two_processes_pulling_at_once_download_once(
    server: FileServer, cache: Path, tmp_path: Path
) -> None:
    server.routes["/m/testnet.onnx"] = Served(MODEL, delay_s=0.02)
    zoo = registry(tmp_path / "zoo.toml", server.url("/m/testnet.onnx"))
    env = {"OFFICESCORE_CACHE": str(cache), "OFFICESCORE_ZOO": str(zoo), "PATH": "/usr/bin"}
    command = [sys.executable, "-m", "officescore", "models", "pull", "testnet"]
    pulls = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE) for _ in range(2)]
    assert [pull.wait(timeout=120) for pull in pulls] == [0, 0]
    assert [path for path, _ in server.requests] == ["/m/testnet.onnx"]
    assert (cache / "models/testnet/testnet.onnx").read_bytes() == MODEL


def test_unknown_names_and_the_bundled_model(cache: Path) -> None:
    one_error(run(cache, None, "models", "pull", "nosuch"), "no model named 'nosuch'")
    one_error(run(cache, None, "models", "remove", "yolox-nano"), "bundled")
    info = run(cache, None, "models", "info", "yolox-s")
    assert "c5c2d13e59ae883e6af3b45daea64af4833a4951c92d116ec270d9ddbe998063" in info.stdout
    assert "Apache-2.0" in info.stdout and "40.5" in info.stdout


def test_torchvision_weights_with_a_wrong_hash_prefix_are_refused(
    server: FileServer, cache: Path, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    server.routes["/tv/maskrcnn_tiny-deadbeef.pth"] = Served(b"not the weights" * 100)
    zoo = tmp_path / "zoo.toml"
    zoo.write_text(
        f"""[tiny-maskrcnn]
kind = "torchvision"
needs = "export"
task = "instance segmentation"
classes = "COCO 91"
licence = "BSD-3-Clause"
source = "{server.url("/tv/maskrcnn_tiny-deadbeef.pth")}"
file = "tiny.onnx"
approx_mb = 0.1
sha256 = "deadbeef"
coco_ap = "none"
input = "240x320"
settings = {{ architecture = "maskrcnn_resnet50_fpn", size = "240x320" }}
"""
    )
    env = {"OFFICESCORE_CACHE": str(cache), "OFFICESCORE_ZOO": str(zoo), "PATH": "/usr/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "officescore", "models", "pull", "tiny-maskrcnn"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot download tiny-maskrcnn weights" in result.stderr
    assert "export maskrcnn --torchvision maskrcnn_resnet50_fpn" in result.stderr
    assert not (cache / "models/tiny-maskrcnn").exists()
