"""End to end on a real Triton server (`officescore serve`: PyTriton's bundled tritonserver,
Python backend) on 127.0.0.1, started and stopped by the tests: scores over HTTP and gRPC equal
local scoring, a server that goes away and comes back, and a clean stop on SIGTERM.

The server runs from its own environment (`officescore serve --setup`, done by `make test`).
Where it is missing the tests skip locally, and fail under CI.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import cv2
import numpy as np
import psutil
import pytest

from edge.core.errors import OfficeScoreError
from edge.inference.engines import EngineRequest
from edge.inference.session import Detector, SessionConfig
from edge.scale.triton_server import ServerEnvironment, environment_folder, find_environment
from officescore.cli import app
from tests.edge.web.test_web import free_port
from tests.helpers import HOMES, REPO, runner


@pytest.fixture(scope="module")
def triton_environment() -> ServerEnvironment:
    try:
        return find_environment(environment_folder())
    except OfficeScoreError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Triton tests: {error}")
        pytest.skip(str(error))


class Server:
    """`officescore serve` as a real process, on free ports."""

    def __init__(self, http_port: int | None = None, grpc_port: int | None = None) -> None:
        self.http_port = http_port or free_port()
        self.grpc_port = grpc_port or free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "officescore",
                "serve",
                "--port",
                str(self.http_port),
                "--grpc-port",
                str(self.grpc_port),
                "--threads",
                "1",
            ],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        first = self.process.stderr.readline()  # printed once the server is ready
        assert first.startswith(
            "serving yolox_nano and the video-call check's person models on "
        ), first
        self.family = [self.process.pid] + [
            child.pid for child in psutil.Process(self.process.pid).children(recursive=True)
        ]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()
        return code


def alive(pids: list[int]) -> list[int]:
    return [
        pid
        for pid in pids
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def server(triton_environment: ServerEnvironment) -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


def scored(args: list[str]) -> list[dict[str, object]]:
    result = runner.invoke(app, ["score", str(HOMES), "--json", *args])
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_scores_on_triton_equal_local_scoring(server: Server, protocol: str) -> None:
    port = server.http_port if protocol == "http" else server.grpc_port
    local = scored(["--engine", "onnxruntime"])  # the server runs ONNX Runtime too
    remote = scored(["--engine", "triton", "--server", f"127.0.0.1:{port}", "--protocol", protocol])
    assert len(remote) == len(local) == 10
    assert {record["engine"] for record in remote} == {"triton"}
    assert remote[0]["device"] == f"{protocol}://127.0.0.1:{port}"
    largest = 0.0
    for near, far in zip(local, remote, strict=True):
        assert far["score"] == near["score"] and far["criteria"] == near["criteria"]
        assert [d["label"] for d in far["detections"]] == [d["label"] for d in near["detections"]]
        for a, b in zip(near["detections"], far["detections"], strict=True):
            largest = max(largest, float(np.abs(np.subtract(a["box"], b["box"])).max()))
    assert sum(len(record["detections"]) for record in local) > 20
    assert largest <= 1e-5


def test_a_server_that_is_not_there_is_one_line_and_exit_2(triton_environment: object) -> None:
    port = free_port()
    for protocol in ("http", "grpc"):
        result = runner.invoke(
            app,
            [
                "score",
                str(HOMES),
                "--engine",
                "triton",
                "--server",
                f"127.0.0.1:{port}",
                "--protocol",
                protocol,
            ],
        )
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            f"error: the Triton server at 127.0.0.1:{port} is not answering"
        )


def test_serve_stops_on_sigterm_leaving_no_process_and_no_open_port(
    triton_environment: object,
) -> None:
    started = Server()
    assert listening(started.http_port) and listening(started.grpc_port)
    assert len(started.family) >= 2  # officescore, tritonserver (and its Python stub)
    assert started.stop() == 0
    assert "stopping the Triton server" in started.stderr
    assert not alive(started.family)
    assert not listening(started.http_port) and not listening(started.grpc_port)


def test_a_killed_tritonserver_takes_its_stubs_along_and_serve_says_so(
    triton_environment: object,
) -> None:
    """SIGKILL to the tritonserver under `serve`: its Python-backend stub (which ignores SIGTERM)
    must not outlive it, and `serve` ends with one error line and a non-zero exit."""
    started = Server()
    family = {pid: psutil.Process(pid) for pid in started.family}
    servers = [pid for pid, p in family.items() if p.name() == "tritonserver"]
    stubs = [pid for pid, p in family.items() if "triton_python_backend_stub" in p.name()]
    assert len(servers) == 1 and stubs, {pid: p.name() for pid, p in family.items()}
    os.kill(servers[0], signal.SIGKILL)
    code = started.process.wait(timeout=60)
    assert started.process.stderr is not None
    lines = started.process.stderr.read().strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("error: the Triton server died"), lines
    deadline = time.monotonic() + 10
    while alive(started.family) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(started.family)
    assert not listening(started.http_port) and not listening(started.grpc_port)


# live: a JSON line a frame, in real time; the check: a line a second of the video, taken as
# fast as it goes (its person models are served too, and wait with the detector)
RESTARTS = {
    "live": (["live", "--source", "demo"], 10, 5),
    "check": (["check", "--source", "call-demo", "--no-realtime"], 4, 2),
}


@pytest.mark.parametrize("command", sorted(RESTARTS))
def test_a_live_run_keeps_going_while_the_server_restarts(
    triton_environment: object, command: str
) -> None:
    args, scored, unscored = RESTARTS[command]
    first = Server()
    live = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "officescore",
            *args,
            "--loop",
            "--headless",
            "--engine",
            "triton",
            "--server",
            f"127.0.0.1:{first.http_port}",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: Queue[dict[str, object]] = Queue()

    def read() -> None:
        assert live.stdout is not None
        for line in live.stdout:
            lines.put(json.loads(line))

    threading.Thread(target=read, daemon=True).start()

    def wait_for(unscored: bool, count: int) -> int:
        seen = 0
        deadline = time.monotonic() + 60
        while seen < count:
            try:
                record = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except Empty:
                pytest.fail(f"no {'unscored' if unscored else 'scored'} frames within 60 s")
            is_unscored = any(str(note).startswith("not scored") for note in record["notes"])
            seen += is_unscored == unscored
        return seen

    try:
        wait_for(unscored=False, count=scored)
        first.stop()
        wait_for(unscored=True, count=unscored)
        second = Server(first.http_port, first.grpc_port)  # the server comes back
        wait_for(unscored=False, count=scored)
    finally:
        live.send_signal(signal.SIGINT)
        code = live.wait(timeout=60)
        if "second" in locals():
            second.stop()
    assert live.stderr is not None
    notes = live.stderr.read()
    assert code == 0, notes
    assert "is not answering" in notes and "showing frames unscored and retrying" in notes
    assert "the engine answers again: scoring resumes" in notes
    assert "Traceback" not in notes


def test_bench_gives_triton_rows_beside_local_ones(server: Server) -> None:
    result = runner.invoke(
        app,
        [
            "bench",
            "--engine",
            "triton",
            "--server",
            f"127.0.0.1:{server.http_port}",
            "--frames",
            "16",
            "--clients",
            "1",
            "--clients",
            "4",
            "--iterations",
            "3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    triton_row = next(row for row in report["results"] if row["backend"] == "triton")
    assert triton_row["parity_vs_onnxruntime_fp32"]["at_parity"]
    pairs = [(row["engine"], row["clients"]) for row in report["throughput"]]
    assert pairs == [
        ("onnxruntime (local)", 1),
        ("triton http", 1),
        ("onnxruntime (local)", 4),
        ("triton http", 4),
    ]
    assert all(row["frames"] == 16 and row["fps"] > 0 for row in report["throughput"])


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_the_servers_raw_outputs_equal_onnx_runtimes(server: Server, protocol: str) -> None:
    port = server.http_port if protocol == "http" else server.grpc_port
    local = Detector(SessionConfig(purpose="live"))
    remote = Detector(
        SessionConfig(
            purpose="live",
            request=EngineRequest(engine="triton", server=f"127.0.0.1:{port}", protocol=protocol),
        )
    )
    frame = cv2.imread(str(HOMES / "000000255165.jpg"))
    inputs = local.adapter.prepare(frame).inputs
    near, far = local.engine.run(inputs), remote.engine.run(inputs)
    assert [a.shape for a in far] == [a.shape for a in near]
    assert max(float(np.abs(a - b).max()) for a, b in zip(near, far, strict=True)) <= 1e-5


def test_the_video_call_check_on_triton_equals_the_local_check(
    server: Server, portrait_path: Path
) -> None:
    """`serve` serves the person models beside the detector: the check's face, landmarks and
    segmentation come from the server and give the local verdicts and evidence."""

    def checked(args: list[str]) -> dict[str, object]:
        result = runner.invoke(app, ["check", str(portrait_path), "--json", *args])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    local = checked(["--engine", "onnxruntime"])  # the server runs ONNX Runtime too
    remote = checked(["--engine", "triton", "--server", f"127.0.0.1:{server.http_port}"])
    assert remote["engine"] == "triton"
    assert remote["check"]["criteria"] == local["check"]["criteria"]
    statuses = {c["id"]: c["status"] for c in remote["check"]["criteria"]}
    assert statuses["camera_angle"] == statuses["sharpness"] == "pass"
