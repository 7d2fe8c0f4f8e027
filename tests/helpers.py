"""What the tests share besides fixtures: the data's paths, the CLI runner, video and frame
makers, and a real HTTP server on 127.0.0.1 for the download tests (files by path, with the
behaviours a download must survive: truncation, slowness, redirects, ranges; a log of
requests)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from edge.core.types import Detections
from edge.core.vocabulary import CANONICAL_ID

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
PHOTOS = DATA / "photos"  # the two CC BY photos, with COCO ground truth
HOMES = DATA / "homes"  # ten home offices and bedrooms, CC BY / CC BY-SA, with ratings
SHARED_PHOTOS = REPO.parent / "shared" / "photos"  # NC/ND photos: only used when present
MASKRCNN_SIZE = "240x320"
SMALL_MASKRCNN = {"min_size": 240, "max_size": 320, "rpn_post_nms_top_n_test": 100}

runner = CliRunner()


def load_ground_truth(folder: Path) -> dict[str, list[tuple[str, list[float]]]]:
    """file name → [(COCO category name, xyxy box)] from `folder`/annotations.json."""
    data = json.loads((folder / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    files = {image["id"]: image["file_name"] for image in data["images"]}
    truth: dict[str, list[tuple[str, list[float]]]] = {name: [] for name in files.values()}
    for a in data["annotations"]:
        x, y, w, h = a["bbox"]
        truth[files[a["image_id"]]].append((names[a["category_id"]], [x, y, x + w, y + h]))
    return truth


def placed(*objects: tuple[str, list[float]]) -> Detections:
    """Detections of `(name, box)` pairs, at confidence 0.9 each."""
    return Detections(
        xyxy=np.array([box for _, box in objects], np.float32).reshape(-1, 4),
        confidence=np.full(len(objects), 0.9, np.float32),
        class_id=np.array([CANONICAL_ID[name] for name, _ in objects], np.int32),
        label=np.array([name for name, _ in objects]),
    )


def write_video(path: Path, frames: list[np.ndarray], fps: float = 15.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


BITS = 8


def numbered_frames(count: int, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """Frames whose index is written as 8 black/white vertical bands (most significant first)."""
    width, height = size
    band = width // BITS
    frames = []
    for index in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        for bit in range(BITS):
            if index >> (BITS - 1 - bit) & 1:
                frame[:, bit * band : (bit + 1) * band] = 255
        frames.append(frame)
    return frames


def frame_number(frame: np.ndarray) -> int:
    band = frame.shape[1] // BITS
    bits = [frame[:, b * band + 4 : (b + 1) * band - 4].mean() > 128 for b in range(BITS)]
    return int("".join("1" if bit else "0" for bit in bits), 2)


def export_args(source: Path, out: Path | str, *extra: str) -> list[str]:
    """`officescore export maskrcnn` arguments for a TorchScript source."""
    return ["export", "maskrcnn", "--from", str(source), "--out", str(out), *extra]


@dataclass
class Served:
    """What the server answers for one path."""

    data: bytes = b""
    status: int = 200
    cut_after: int | None = None  # close the connection after this many bytes
    delay_s: float = 0.0  # pause between 64 KiB chunks
    redirect_to: str | None = None
    ranges: bool = True  # honour Range requests


@dataclass
class FileServer:
    routes: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            server.requests.append((self.path, self.headers.get("Range")))
            served = server.routes.get(self.path)
            if served is None:
                self.send_error(404)
                return
            if served.redirect_to:
                self.send_response(302)
                self.send_header("Location", served.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data, start = served.data, 0
            wanted = self.headers.get("Range")
            if wanted and served.ranges:
                start = int(wanted.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(served.status)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            body = data[start:] if served.cut_after is None else data[start : served.cut_after]
            for offset in range(0, len(body), 1 << 16):
                self.wfile.write(body[offset : offset + (1 << 16)])
                if served.delay_s:
                    time.sleep(served.delay_s)
            if served.cut_after is not None:
                self.close_connection = True

    return Handler


@contextmanager
def file_server() -> Iterator[FileServer]:
    """Started on a free port of 127.0.0.1, stopped (and its thread joined) on exit."""
    state = FileServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
