"""The video-call background check on one frame: the detector and the person models side by side,
and the verdict from both. Photos: `check(image)`; live, `look` and `judge` are pipelined by
the live runner's check stage (edge.video.stages)."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from edge.core.results import Kind, Result
from edge.core.types import Person
from edge.core.vocabulary import CANONICAL_ID
from edge.inference.modelcard import bundled_dir
from edge.inference.person import PersonModels
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.judge.background_rules import check_frame
from edge.judge.check_thresholds import CheckThresholds, load_check_thresholds
from edge.judge.frame_facts import ImageFacts, image_facts
from edge.judge.places import Place
from edge.judge.rubric import load_rubric

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
        session = config.pipeline.session
        session = replace(session, request=replace(session.request, spin=False))
        self.pipeline = Pipeline(replace(config.pipeline, session=session))
        # the small person models run best on one thread, beside the detector's
        chosen = self.pipeline.detector.engine.ran.engine  # what `auto` came to
        request = replace(session.request, engine=chosen, precision="fp32", threads=1)
        self.person_models = PersonModels(request)
        self.beside = ThreadPoolExecutor(1, thread_name_prefix="person-models")
        self._closer: tuple[Person, Person] | None = None  # the last look, looked at closer
        self.thresholds = self.load_thresholds(config.thresholds, self.pipeline.rubric.places)

    @staticmethod
    def load_thresholds(
        path: Path | None, places: tuple[Place, ...] | None = None
    ) -> CheckThresholds:
        """The check's thresholds (default: bundled) with the private `places` (default: the
        bundled rubric's, so `check --explain` loads no model)."""
        if places is None:
            places = load_rubric(bundled_dir() / "rubric.toml").places
        return load_check_thresholds(path or bundled_dir() / "check.toml", places)

    def check(
        self,
        image: np.ndarray,
        source: str,
        *,
        kind: Kind = "image",
        conf: float | None = None,
        notes: tuple[str, ...] = (),
    ) -> Result:
        """The verdict (and the score) for one photo. The person models, and the picture's own
        statistics, run beside the detector."""
        looked = self.beside.submit(self.look, image, None, None)
        scored = self.pipeline.analyze(image, source=source, kind=kind, conf=conf, notes=notes)
        return self.judge(image, scored, looked, fresh=True)

    def look(
        self,
        image: np.ndarray,
        follow: Future[Looked] | None,
        reuse: Future[Looked] | None,
    ) -> Looked:
        """Beside the detector: the person models on `image` and the picture's statistics. On
        video, `follow` (an earlier frame's look) lets the models follow your face by its
        landmarks, and `reuse` (an earlier frame's look) stands for this frame. An earlier look
        that failed (the engine went away) is looked at afresh."""
        reused = _earlier(reuse)
        if reused is not None:  # the picture's statistics too: they go with the person's mask
            return reused
        previous = _earlier(follow)
        person = self.person_models.see(image, previous=previous[0] if previous else None)
        return person, image_facts(image, self.thresholds.picture.clipped_at)

    def judge(
        self, image: np.ndarray, scored: Result, looked: Future[Looked], fresh: bool
    ) -> Result:
        """The verdict from the detector's `scored` frame and the person models' `looked`
        (`fresh`: they ran on this frame, and their timings are this frame's)."""
        detections = scored.detections
        people = detections.xyxy[detections.class_id == CANONICAL_ID["person"]]
        seen, picture = looked.result()
        if self._closer is not None and self._closer[0] is seen:  # a reused look: searched once
            person = self._closer[1]
        else:
            person = self.person_models.look_closer(image, seen, people)
            self._closer = (seen, person)
        started = time.perf_counter()
        sight = self.pipeline.detector.card.sight
        live = scored.kind == "frame"
        report = check_frame(picture, detections, sight, self.thresholds, person, live)
        timings = {
            **scored.timings_ms,
            **(person.timings_ms if fresh else {}),
            "check": (time.perf_counter() - started) * 1e3,
        }
        return replace(scored, check=report, person=person, timings_ms=timings)


def _earlier(look: Future[Looked] | None) -> Looked | None:
    if look is None or look.exception() is not None:
        return None
    return look.result()
