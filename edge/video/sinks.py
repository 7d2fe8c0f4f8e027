"""Where the live runner's results go: a window, a recording, and headless either JSON lines
(into a pipe, or with --json) or a status line a second (on a terminal)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TextIO

import numpy as np

from edge.core.results import Result
from edge.core.types import Detections
from edge.video.display import Recorder, Window
from edge.video.overlay import MaskLayer, annotate, annotated_size, draw_check_panel, mask_layer


class Sinks:
    """The window and the recording (each drawn frame), and the lines on `out` (each result)."""

    def __init__(
        self,
        out: TextIO,
        *,
        frame_size: tuple[int, int],
        fps: float,
        window: bool,
        record: Path | None,
        json_lines: bool,
        records_every_s: float,
    ) -> None:
        self.out = out
        size = annotated_size(frame_size)
        self.recorder = Recorder(record, fps, size) if record else None
        self.window = Window(size) if window else None
        self.json_lines = json_lines
        self.records_every_s = records_every_s
        self.started = time.perf_counter()
        self._next_line_s = 0.0
        self._layer_of: Result | None = None  # the result `_layer` was drawn from
        self._layer: MaskLayer | None = None

    @property
    def draws(self) -> bool:
        return self.window is not None or self.recorder is not None

    def emit(self, result: Result, scored: int, dropped: int) -> None:
        """Headless: every result as a JSON line (or one per `records_every_s` of the video),
        or on a terminal a status line a second; `scored`: frames judged so far."""
        if self.window is not None:
            return
        elapsed = time.perf_counter() - self.started
        if self.json_lines:
            t = result.timestamp or 0.0
            if self.records_every_s and t < self._next_line_s:
                return
            self.out.write(json.dumps(result.to_record()) + "\n")
            if self.records_every_s:
                self._next_line_s = (int(t / self.records_every_s) + 1) * self.records_every_s
        elif elapsed >= self._next_line_s:
            fps = scored / elapsed if elapsed > 0 else 0.0
            self.out.write(status_line(result, fps, dropped) + "\n")
            self._next_line_s = float(int(elapsed) + 1)
        else:
            return
        self.out.flush()

    def show(self, image: np.ndarray, result: Result | None, status: str) -> bool:
        """Draw `result` on `image`, record and show it (where `draws`); False once the user
        closed the window."""
        if result is not None and result.check is not None:
            drawn = draw_check_panel(image, result.detections, result.check, result.person)
        elif result is not None and result.score is not None:
            if result is not self._layer_of:
                self._layer_of, self._layer = result, mask_layer(result.detections)
            drawn = annotate(image, result.detections, result.score, status, self._layer)
        else:
            drawn = annotate(image, Detections.empty(), None, status)
        if self.recorder:
            self.recorder.write(drawn)
        return self.window.show(drawn) if self.window else True

    def close(self) -> None:
        if self.recorder:
            self.recorder.close()
        if self.window:
            self.window.close()
        self.out.flush()


def status_line(result: Result, fps: float, dropped: int) -> str:
    """One short line for a person watching a terminal: time, frame, the score or the check's
    verdict with what is not passing, the rate, and what is in view."""
    score, check = result.score, result.check
    if check is not None:
        failing = check.failures + check.warnings
        verdict = "fail" if check.failures else "warn" if failing else "pass"
        verdict += ": " + ", ".join(f"{v.title} {v.status}" for v in failing) if failing else ""
    elif score is not None:
        verdict = f"score {score.value:3d}"
    else:
        verdict = f"not scored ({'; '.join(result.notes)})"
    seen = ", ".join(f"{name} ×{n}" for name, n in score.counts.items()) if score else ""
    return (
        f"{result.timestamp or 0.0:6.1f} s  frame {result.frame_index}  {verdict}  "
        f"{fps:4.1f} fps  dropped {dropped}  {seen or 'nothing in view'}"
    )
