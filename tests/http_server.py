"""A real HTTP server on 127.0.0.1 for download tests: files by path, with the behaviours a
download must survive (truncation, slowness, redirects, ranges), and a log of requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
