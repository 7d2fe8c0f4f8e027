"""Running the video-call background check on photos or live; results are `Result`s."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.results import Kind, Result
from edge.core.vocabulary import CANONICAL_ID
from edge.inference.modelcard import bundled_dir
from edge.inference.person import PersonModels
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.judge.background_rules import RollingCheck, check_frame, load_check_config
from edge.video.batch import read_image
from edge.video.display import Window, has_display
from edge.video.loop import TIMING_WINDOW, LiveSummary, open_live_source
from edge.video.overlay import annotated_size, draw_check_panel


@dataclass(frozen=True)
class CheckConfig:
    pipeline: PipelineConfig
    thresholds: Path | None = None
    window_s: float = 3.0


class Checker:
    def __init__(self, config: CheckConfig) -> None:
        self.config = config
        self.pipeline = Pipeline(config.pipeline)
        request = config.pipeline.session.engine_request()
        self.person_models = PersonModels(replace(request, precision="fp32"))
        self.thresholds = load_check_config(config.thresholds or bundled_dir() / "check.toml")

    def check(
        self,
        image: np.ndarray,
        source: str,
        kind: Kind = "image",
        conf: float | None = None,
        **fields: object,
    ) -> Result:
        """The verdict (and the score) for one image."""
        detections, score, timings = self.pipeline.analyze(image, conf=conf)
        people = detections.xyxy[detections.class_id == CANONICAL_ID["person"]]
        person = self.person_models.see(image, people)
        timings |= person.timings_ms
        started = time.perf_counter()
        sight = self.pipeline.detector.card.sight
        report = check_frame(image, detections, sight, self.thresholds, person)
        timings["check"] = (time.perf_counter() - started) * 1e3
        return self.pipeline.result(
            source,
            kind,
            detections,
            score=score,
            check=report,
            timings_ms=timings,
            person=person,
            **fields,
        )

    def check_photo(self, path: Path, out_path: Path | None) -> Result:
        """The verdict for one photo; with `out_path`, write it annotated there."""
        image, notes = read_image(path)
        result = self.check(image, str(path), notes=tuple(notes))
        assert result.check is not None
        if out_path and not cv2.imwrite(
            str(out_path), draw_check_panel(image, result.detections, result.check, result.person)
        ):
            raise OfficeScoreError(f"cannot write {out_path}")
        return result

    def check_live(
        self,
        source: str,
        headless: bool,
        max_frames: int | None,
        out: TextIO,
        notice: Callable[[str], None],
        realtime: bool = True,
    ) -> tuple[Result | None, LiveSummary]:
        """A running verdict over the last seconds; JSON once per second when headless. With
        `realtime` off a file gives every frame as fast as the check runs. Returns the last
        verdict and the run's summary (frames, seconds, fps, drops)."""
        if not headless and not has_display():
            notice("no display found: printing one JSON object per second instead of a window")
            headless = True
        frames = open_live_source(source, realtime=realtime, notice=notice)
        window = None if headless else Window(annotated_size(frames.frame_size))
        rolling = RollingCheck(self.config.window_s)
        rolled: Result | None = None
        next_second, count = 0.0, 0
        summary = LiveSummary(source=frames.name)
        timings: deque[dict[str, float]] = deque(maxlen=TIMING_WINDOW)
        started = time.perf_counter()
        try:
            with frames:
                for frame in frames.frames():
                    result = self.check(frame.image, frames.name)
                    assert result.check is not None
                    rolled = replace(
                        result,
                        kind="frame",
                        check=rolling.update(result.check, frame.timestamp),
                        frame_index=frame.index,
                        timestamp=frame.timestamp,
                    )
                    count += 1
                    timings.append(dict(result.timings_ms))
                    report = rolled.check
                    assert report is not None
                    if window and not window.show(
                        draw_check_panel(frame.image, result.detections, report, result.person)
                    ):
                        break
                    if window is None and frame.timestamp >= next_second:
                        out.write(json.dumps(rolled.to_record()) + "\n")
                        out.flush()
                        next_second = float(int(frame.timestamp) + 1)
                    if max_frames and count >= max_frames:
                        break
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            if window:
                window.close()
            out.flush()
        if count == 0 and not summary.interrupted:
            raise OfficeScoreError(f"no frames could be read from {frames.name}")
        summary.frames, summary.elapsed_s = count, time.perf_counter() - started
        summary.take_stats(frames.stats, timings)
        summary.last_score = rolled.score if rolled else None
        return rolled, summary


def explain(thresholds: Path | None) -> str:
    config = load_check_config(thresholds or bundled_dir() / "check.toml")
    lines = []
    for name, section in config.items():
        values = ", ".join(f"{k}={v}" for k, v in section.items() if k != "explain")
        lines.append(f"{name}: {section.get('explain', '')}\n    {values}")
    return "\n".join(lines)
