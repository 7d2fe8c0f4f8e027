"""What the local web page shows for one uploaded photo. No Streamlit here: the page
(edge/web_app.py) only renders this, so the logic is testable on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from edge.batch import to_bgr8
from edge.check import CheckReport, check_frame, load_check_config
from edge.errors import OfficeScoreError
from edge.modelcard import bundled_dir
from edge.output import detections_to_list
from edge.overlay import annotate
from edge.scorer import Scorer
from edge.scoring import Score

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
UPLOAD_TYPES = ("jpg", "jpeg", "png", "webp", "bmp")


@dataclass(frozen=True)
class PageResult:
    annotated_rgb: np.ndarray
    score: Score
    objects: list[dict[str, Any]]
    check: CheckReport
    provider: str
    model: str
    inference_ms: float
    notes: tuple[str, ...]


def decode_upload(data: bytes, name: str) -> tuple[np.ndarray, list[str]]:
    """Decode an uploaded photo in memory; a readable OfficeScoreError for anything else."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise OfficeScoreError(f"{name} is {len(data) / 1e6:.1f} MB; the limit is 10 MB")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if image is None:
        raise OfficeScoreError(f"{name} is not a photo this page can read (JPEG, PNG, WebP, BMP)")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise OfficeScoreError(f"{name} has more than 40 megapixels")
    return to_bgr8(image, name)


class Page:
    """The detector, rubric and check thresholds, loaded once per server."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.thresholds = load_check_config(bundled_dir() / "check.toml")

    def analyze(self, data: bytes, name: str, conf: float) -> PageResult:
        image, notes = decode_upload(data, name)
        detections, score, timings = self.scorer.analyze(image, conf=conf)
        card = self.scorer.detector.card
        check = check_frame(image, detections, card.visible_names, self.thresholds)
        annotated = annotate(image, detections, score, self.scorer.provider)
        return PageResult(
            annotated_rgb=cv2.cvtColor(annotated, cv2.COLOR_BGR2RGB),
            score=score,
            objects=detections_to_list(detections),
            check=check,
            provider=self.scorer.provider,
            model=card.name,
            inference_ms=timings["inference"],
            notes=tuple(notes),
        )
