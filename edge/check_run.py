"""Running `officescore check` on photos or live, with its output as plain data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from edge.batch import read_image
from edge.check import CheckReport, RollingCheck, check_frame, load_check_config
from edge.errors import OfficeScoreError
from edge.loop import Window, has_display, open_live_source
from edge.modelcard import bundled_dir
from edge.overlay import draw_check_panel, draw_detections
from edge.session import Detector, SessionConfig
from edge.types import Detections


@dataclass(frozen=True)
class CheckConfig:
    session: SessionConfig
    conf: float = 0.4
    thresholds: Path | None = None
    window_s: float = 3.0


def report_to_dict(report: CheckReport, **extra: Any) -> dict[str, Any]:
    worst = report.worst
    return {
        **extra,
        "failed": report.failed,
        "worst": None if worst is None else {"id": worst.id, "reason": worst.reason},
        "criteria": [asdict(v) for v in report.verdicts],
    }


def draw_verdict(image: np.ndarray, detections: Detections, report: CheckReport) -> np.ndarray:
    """A copy of `image` with the detections and the verdict's traffic lights."""
    annotated = image.copy()
    draw_detections(annotated, detections)
    return draw_check_panel(annotated, report)


class Checker:
    def __init__(self, config: CheckConfig) -> None:
        self.config = config
        self.detector = Detector(config.session)
        self.thresholds = load_check_config(config.thresholds or bundled_dir() / "check.toml")

    def check(self, image: np.ndarray) -> tuple[CheckReport, Detections]:
        """The verdict for one image, and the detections it rests on."""
        detections, _ = self.detector.detect(image, self.config.conf)
        report = check_frame(image, detections, self.detector.card.visible_names, self.thresholds)
        return report, detections

    def check_photo(self, path: Path, out_path: Path | None) -> CheckReport:
        """The verdict for one photo; with `out_path`, write it annotated there."""
        image = read_image(path)[0]
        report, detections = self.check(image)
        if out_path and not cv2.imwrite(str(out_path), draw_verdict(image, detections, report)):
            raise OfficeScoreError(f"cannot write {out_path}")
        return report

    def check_live(
        self,
        source: str,
        headless: bool,
        max_frames: int | None,
        out: TextIO,
        notice: Callable[[str], None],
    ) -> CheckReport | None:
        """A running verdict over the last seconds; JSON once per second when headless."""
        if not headless and not has_display():
            notice("no display found: printing one JSON object per second instead of a window")
            headless = True
        frames = open_live_source(source, realtime=True, notice=notice)
        window = None if headless else Window(frames.frame_size)
        rolling = RollingCheck(self.config.window_s)
        rolled: CheckReport | None = None
        next_second, count = 0.0, 0
        try:
            with frames:
                for frame in frames.frames():
                    report, detections = self.check(frame.image)
                    rolled = rolling.update(report, frame.timestamp)
                    count += 1
                    if window and not window.show(draw_verdict(frame.image, detections, rolled)):
                        break
                    if window is None and frame.timestamp >= next_second:
                        out.write(
                            json.dumps(report_to_dict(rolled, t=round(frame.timestamp, 2))) + "\n"
                        )
                        out.flush()
                        next_second = float(int(frame.timestamp) + 1)
                    if max_frames and count >= max_frames:
                        break
        except KeyboardInterrupt:
            notice("stopped by user")
        finally:
            if window:
                window.close()
            out.flush()
        if count == 0:
            raise OfficeScoreError(f"no frames could be read from {frames.name}")
        return rolled


def explain(thresholds: Path | None) -> str:
    config = load_check_config(thresholds or bundled_dir() / "check.toml")
    lines = []
    for name, section in config.items():
        values = ", ".join(f"{k}={v}" for k, v in section.items() if k != "explain")
        lines.append(f"{name}: {section.get('explain', '')}\n    {values}")
    return "\n".join(lines)
