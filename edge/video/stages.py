"""What the live runner does with each frame: the office score, or the video-call check (the
score plus the person models, pipelined one frame deep). A stage takes a frame and hands back a
way to wait for its `Result`; the runner keeps `depth` frames in flight."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Protocol

from edge.core.results import Result
from edge.inference.checker import Checker, Looked
from edge.inference.pipeline import Pipeline
from edge.judge.background_rules import RollingCheck
from edge.judge.rubric import RollingScore
from edge.video.capture import Frame

# The person models see every third frame (5 times a second on a 15 fps camera: the verdict
# covers seconds, and a face on a call moves little in 0.2 s); between face detections they
# follow the face by its landmarks, as MediaPipe does on video.
PERSON_MODELS_EVERY = 3
REDETECT_FACES_EVERY = 15  # frames

Pending = Callable[[], Result]


@dataclass(frozen=True)
class StageTraits:
    """How the runner treats a stage."""

    depth: int  # frames in flight before the first result comes out
    records_every_s: float  # headless: a JSON line per frame (0), or one per so many seconds
    verb: str  # "scoring" or "checking", for the notice that starts a run
    ends_with_score: bool  # the closing line names the final score (the check: its verdict)


class Stage(Protocol):
    pipeline: Pipeline
    traits: StageTraits

    def submit(self, frame: Frame, source: str) -> Pending:
        """Start on `frame`; the detector may run here, the rest beside. EngineUnavailable
        may come from here or from waiting on the result."""
        ...


def scored(
    pipeline: Pipeline, frame: Frame, source: str, rolling: RollingScore | None = None
) -> Result:
    """The detector and the score on one live frame (`rolling`: smoothed over time)."""
    return pipeline.analyze(
        frame.image,
        source=source,
        kind="frame",
        rolling=rolling,
        frame_index=frame.index,
        timestamp=frame.timestamp,
    )


class ScoreStage:
    """The office score, smoothed over time; one frame at a time."""

    traits = StageTraits(depth=0, records_every_s=0.0, verb="scoring", ends_with_score=True)

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.rolling = pipeline.rolling()

    def submit(self, frame: Frame, source: str) -> Pending:
        result = scored(self.pipeline, frame, source, self.rolling)
        return lambda: result


class CheckStage:
    """The check: while the detector runs on a frame, the person models and the verdict of the
    frame before run beside it (one thread each), so the check keeps most of the detector's
    frame rate. The verdict is rolled over the last `window_s` seconds, in frame order."""

    traits = StageTraits(depth=1, records_every_s=1.0, verb="checking", ends_with_score=False)

    def __init__(self, checker: Checker) -> None:
        self.checker = checker
        self.pipeline = checker.pipeline
        self.rolling = RollingCheck(checker.config.window_s, checker.thresholds)
        self._looked: Future[Looked] | None = None
        self._count = 0

    def submit(self, frame: Frame, source: str) -> Pending:
        checker, count = self.checker, self._count
        fresh = self._looked is None or count % PERSON_MODELS_EVERY == 0
        follow = self._looked if fresh and count % REDETECT_FACES_EVERY else None
        reuse = None if fresh else self._looked
        self._looked = looked = checker.beside.submit(checker.look, frame.image, follow, reuse)
        self._count += 1
        judged = checker.beside.submit(
            self._judge, frame, scored(self.pipeline, frame, source), looked, fresh
        )
        return judged.result

    def _judge(self, frame: Frame, detected: Result, looked: Future[Looked], fresh: bool) -> Result:
        """On the person models' thread, so the rolling verdict sees frames in order."""
        result = self.checker.judge(frame.image, detected, looked, fresh)
        assert result.check is not None
        rolled = self.rolling.update(result.check, frame.timestamp, frame.index)
        return replace(result, check=rolled)
