"""Running the video-call background check on photos (live: edge.runs.live_check); results
are `Result`s."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.results import Kind, Result, Score
from edge.core.types import Detections, Person
from edge.core.vocabulary import CANONICAL_ID
from edge.inference.modelcard import bundled_dir
from edge.inference.person import PersonModels
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.judge.background_rules import check_frame, load_check_config
from edge.judge.frame_facts import ImageFacts, image_facts
from edge.judge.rubric import load_rubric
from edge.video.batch import read_image
from edge.video.overlay import draw_check_panel

Looked = tuple[Person, ImageFacts]  # what the person models saw, and the picture's statistics


@dataclass(frozen=True)
class CheckConfig:
    pipeline: PipelineConfig
    thresholds: Path | None = None
    window_s: float = 3.0


class Checker:
    def __init__(self, config: CheckConfig) -> None:
        self.config = config
        # the detector's idle threads must not spin: the person models run beside it
        session = replace(config.pipeline.session, spin=False)
        self.pipeline = Pipeline(replace(config.pipeline, session=session))
        # the small person models run best on one thread, beside the detector's
        chosen = self.pipeline.detector.engine.ran.engine  # what `auto` came to
        request = replace(session.engine_request(), engine=chosen, precision="fp32", threads=1)
        self.person_models = PersonModels(request)
        self.beside = ThreadPoolExecutor(1, thread_name_prefix="person-models")
        self._closer: tuple[Person, Person] | None = None  # the last look, looked at closer
        self.thresholds = load_check_config(
            config.thresholds or bundled_dir() / "check.toml", self.pipeline.rubric.places
        )

    def check(
        self,
        image: np.ndarray,
        source: str,
        kind: Kind = "image",
        conf: float | None = None,
        **fields: object,
    ) -> Result:
        """The verdict (and the score) for one image. The person models, and the picture's own
        statistics, run beside the detector."""
        looked = self.beside.submit(self.look, image, None, None)
        analyzed = self.pipeline.analyze(image, conf=conf)
        return self.judge(image, source, kind, analyzed, looked, True, fields)

    def look(
        self,
        image: np.ndarray,
        follow: Future[Looked] | None,
        reuse: Future[Looked] | None,
    ) -> Looked:
        """Beside the detector: the person models on `image` and the picture's statistics. On
        video, `follow` (an earlier frame's look) lets the models follow your face by its
        landmarks, and `reuse` (an earlier frame's look) stands for this frame."""
        if reuse is not None:  # the picture's statistics too: they go with the person's mask
            return reuse.result()
        previous = follow.result()[0] if follow is not None else None
        return self.person_models.see(image, previous=previous), image_facts(image)

    def judge(
        self,
        image: np.ndarray,
        source: str,
        kind: Kind,
        analyzed: tuple[Detections, Score, dict[str, float]],
        looked: Future[Looked],
        fresh: bool,
        fields: dict[str, object],
    ) -> Result:
        """The verdict from the detector's `analyzed` frame and the person models' `looked`
        (`fresh`: they ran on this frame, and their timings are this frame's)."""
        detections, score, timings = analyzed
        people = detections.xyxy[detections.class_id == CANONICAL_ID["person"]]
        seen, picture = looked.result()
        if self._closer is not None and self._closer[0] is seen:  # a reused look: searched once
            person = self._closer[1]
        else:
            person = self.person_models.look_closer(image, seen, people)
            self._closer = (seen, person)
        if fresh:
            timings |= person.timings_ms
        started = time.perf_counter()
        sight = self.pipeline.detector.card.sight
        live = kind == "frame"
        report = check_frame(picture, detections, sight, self.thresholds, person, live)
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


def explain(thresholds: Path | None) -> str:
    rubric = load_rubric(bundled_dir() / "rubric.toml")
    config = load_check_config(thresholds or bundled_dir() / "check.toml", rubric.places)
    lines = []
    for name, section in config.items():
        values = ", ".join(f"{k}={v}" for k, v in section.items() if k != "explain")
        lines.append(f"{name}: {section.get('explain', '')}\n    {values}")
    return "\n".join(lines)
