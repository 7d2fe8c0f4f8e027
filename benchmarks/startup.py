"""How long the command line takes to start, as a user waits for it: the real processes, each
timed from spawn to exit, in turns (medians of the rounds). Issue #21's targets: `score PHOTO
--json` within 2x the wall time of importing NumPy, OpenCV and ONNX Runtime alone, and
`officescore --help` within 0.5 s."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCORE_TARGET = 2.0  # × the bare imports
HELP_TARGET_S = 0.5
STARTUP_ROUNDS = 9


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Startup:
    photo: str
    imports_s: tuple[float, ...]  # python -c "import numpy, cv2, onnxruntime"
    score_s: tuple[float, ...]  # officescore score PHOTO --json
    help_s: tuple[float, ...]  # officescore --help

    @property
    def score_ratio(self) -> float:
        """The median of the rounds' ratios: each round times both back to back, so a busy
        moment of the shared machine slows both sides of one ratio."""
        pairs = zip(self.score_s, self.imports_s, strict=True)
        return statistics.median(score / imports for score, imports in pairs)

    def line(self) -> str:
        imports, score = statistics.median(self.imports_s), statistics.median(self.score_s)
        shown = statistics.median(self.help_s)
        return (
            f"start-up (medians of {len(self.score_s)} rounds): score {self.photo} --json "
            f"{score:.2f} s = {self.score_ratio:.2f}x the bare imports ({imports:.2f} s; target "
            f"{SCORE_TARGET:.0f}x: {'met' if self.score_ratio <= SCORE_TARGET else 'MISSED'}); "
            f"--help {shown:.2f} s (target {HELP_TARGET_S} s: "
            f"{'met' if shown <= HELP_TARGET_S else 'MISSED'})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "photo": self.photo,
            "imports_s": [round(v, 3) for v in self.imports_s],
            "score_s": [round(v, 3) for v in self.score_s],
            "help_s": [round(v, 3) for v in self.help_s],
            "score_ratio": round(self.score_ratio, 2),
        }


def measure_startup(photo: Path, rounds: int, say: Callable[[str], None]) -> Startup:
    cli = [sys.executable, "-m", "officescore"]
    imports, score, shown = [], [], []
    for round_number in range(1, rounds + 1):
        say(f"start-up: round {round_number} of {rounds}")
        imports.append(_wall([sys.executable, "-c", "import numpy, cv2, onnxruntime"]))
        score.append(_wall([*cli, "score", str(photo), "--json"]))
        shown.append(_wall([*cli, "--help"]))
    return Startup(str(photo), tuple(imports), tuple(score), tuple(shown))
