"""The video-call check's speed against plain live scoring, as a user runs them: the real
`officescore check --source VIDEO --headless --no-realtime` and `officescore live ...` processes,
taken in turns (the machine is shared and noisy), each giving its frames per second in its
closing line. The target: the check keeps at least `TARGET` of live's frame rate."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from edge.core.errors import OfficeScoreError

TARGET = 0.6
_FPS = re.compile(r"^done: .* \((?P<fps>[0-9.]+) fps\)", re.MULTILINE)


@dataclass(frozen=True)
class CallCheckSpeed:
    video: str
    live_fps: tuple[float, ...]  # one per round
    check_fps: tuple[float, ...]

    @property
    def round_shares(self) -> list[float]:
        return [c / max(live, 1e-9) for live, c in zip(self.live_fps, self.check_fps, strict=True)]

    @property
    def share(self) -> float:
        """The median of the rounds' check/live ratios (each round's two runs side by side)."""
        return statistics.median(self.round_shares)

    @property
    def met(self) -> bool:
        return self.share >= TARGET

    def line(self) -> str:
        rounds = ", ".join(f"{share:.2f}" for share in self.round_shares)
        verdict = "met" if self.met else "MISSED"
        return (
            f"video-call check on {self.video}: {statistics.median(self.check_fps):.1f} fps vs "
            f"live {statistics.median(self.live_fps):.1f} fps, {self.share:.2f} of live "
            f"(median of rounds {rounds}); target {TARGET:.2f}: {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": round(self.share, 3), "target": TARGET, "met": self.met}


def _fps(command: str, video: str, options: list[str]) -> float:
    argv = [sys.executable, "-m", "officescore", command, "--source", video, "--headless"]
    ran = subprocess.run(
        [*argv, "--no-realtime", *options], capture_output=True, text=True, check=False
    )
    found = _FPS.search(ran.stderr)
    if found is None:
        tail = ran.stderr.strip().splitlines()[-1:] or [f"exit status {ran.returncode}"]
        raise OfficeScoreError(f"officescore {command} on {video} gave no closing line: {tail[0]}")
    return float(found["fps"])


def call_check_speed(
    video: str, rounds: int, options: list[str], say: Callable[[str], None]
) -> CallCheckSpeed:
    """`rounds` turns of live then check on `video`, with the same model `options`."""
    live, check = [], []
    for round_number in range(1, rounds + 1):
        say(f"video-call check vs live on {video}: round {round_number} of {rounds}")
        live.append(_fps("live", video, options))
        check.append(_fps("check", video, options))
    return CallCheckSpeed(video, tuple(live), tuple(check))
