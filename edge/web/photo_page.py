"""What the local web page shows for one uploaded photo. No Streamlit here: the page
(edge/web/streamlit_page.py) only renders this, so the logic is testable on its own."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.results import Result
from edge.inference.checker import CheckConfig, Checker
from edge.inference.pipeline import PipelineConfig
from edge.video.batch import to_bgr8
from edge.video.overlay import annotate

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
UPLOAD_TYPES = ("jpg", "jpeg", "png", "webp", "bmp")


@dataclass(frozen=True)
class PageResult:
    """The shared `Result` of an upload, and its annotated picture for the page."""

    result: Result
    annotated_rgb: np.ndarray


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

    def __init__(self, config: PipelineConfig) -> None:
        self.checker = Checker(CheckConfig(config))

    def analyze(self, data: bytes, name: str, conf: float | None) -> PageResult:
        image, notes = decode_upload(data, name)
        result = self.checker.check(image, name, kind="upload", conf=conf, notes=tuple(notes))
        model = self.checker.pipeline.model_name
        annotated = annotate(image, result.detections, result.score, model)
        return PageResult(result, cv2.cvtColor(annotated, cv2.COLOR_BGR2RGB))
