"""How scores compare with a person's judgment: each rated photo's score beside its rating
band, and, where COCO ground truth exists, how often each criterion agrees with what a
perfect detector (the ground truth itself) would have scored."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.results import Score
from edge.core.types import Detections
from edge.core.vocabulary import CANONICAL_ID
from edge.inference.pipeline import Pipeline
from edge.judge.rubric import score_detections
from edge.video.batch import read_image


@dataclass(frozen=True)
class Rating:
    file: str
    low: int
    high: int
    why: str


@dataclass(frozen=True)
class CalibrationRow:
    rating: Rating
    score: int
    within: bool
    counted: tuple[str, ...]  # the criteria that earned or took points
    truth_score: int | None  # the same rubric on the ground-truth objects, where known
    agreement: dict[str, bool] = field(default_factory=dict)  # criterion → same status as truth


@dataclass(frozen=True)
class CalibrationReport:
    model: str
    tolerance: int
    rows: tuple[CalibrationRow, ...]

    @property
    def within(self) -> int:
        return sum(row.within for row in self.rows)

    def criterion_agreement(self) -> dict[str, tuple[int, int]]:
        """criterion → (photos where it agrees with the ground truth, photos with truth)."""
        table: dict[str, tuple[int, int]] = {}
        for row in self.rows:
            for criterion, same in row.agreement.items():
                agree, total = table.get(criterion, (0, 0))
                table[criterion] = (agree + same, total + 1)
        return table

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tolerance": self.tolerance,
            "within": self.within,
            "photos": len(self.rows),
            "rows": [
                {
                    "file": row.rating.file,
                    "band": [row.rating.low, row.rating.high],
                    "score": row.score,
                    "within": row.within,
                    "counted": list(row.counted),
                    "truth_score": row.truth_score,
                    "why": row.rating.why,
                }
                for row in self.rows
            ],
            "criterion_agreement": {
                name: {"agree": agree, "photos": total}
                for name, (agree, total) in self.criterion_agreement().items()
            },
        }


def read_ratings(path: Path) -> list[Rating]:
    """`file<TAB>low<TAB>high<TAB>why` per line; lines starting with # are comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise OfficeScoreError(f"cannot read ratings {path}: {error}") from None
    ratings = []
    for number, fields in enumerate(csv.reader(lines, delimiter="\t"), start=1):
        if not fields or fields[0].startswith("#"):
            continue
        try:
            file, low, high = fields[0], int(fields[1]), int(fields[2])
        except (IndexError, ValueError):
            raise OfficeScoreError(
                f"{path}:{number}: expected file, low, high (tab-separated)"
            ) from None
        if not 0 <= low <= high <= 100:
            raise OfficeScoreError(f"{path}:{number}: the band {low}-{high} is not within 0-100")
        ratings.append(Rating(file, low, high, fields[3] if len(fields) > 3 else ""))
    if not ratings:
        raise OfficeScoreError(f"{path} holds no ratings")
    return ratings


def truth_detections(coco: Path, canonical_of: dict[str, int]) -> dict[str, Detections]:
    """file name → its COCO ground truth as detections (canonical names, confidence 1)."""
    try:
        data = json.loads(coco.read_text(encoding="utf-8"))
        names = {c["id"]: c["name"] for c in data["categories"]}
        files = {image["id"]: image["file_name"] for image in data["images"]}
        rows: dict[str, list[tuple[list[float], int, str]]] = {name: [] for name in files.values()}
        for annotation in data["annotations"]:
            label = names[annotation["category_id"]]
            x, y, w, h = (float(v) for v in annotation["bbox"])
            canonical = canonical_of.get(label, CANONICAL_ID["other"])
            rows[files[annotation["image_id"]]].append(([x, y, x + w, y + h], canonical, label))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise OfficeScoreError(f"{coco} is not COCO-format annotations: {error}") from None
    return {name: _as_detections(found) for name, found in rows.items()}


def _as_detections(rows: list[tuple[list[float], int, str]]) -> Detections:
    if not rows:
        return Detections.empty()
    boxes, classes, labels = zip(*rows, strict=True)
    return Detections(
        xyxy=np.array(boxes, np.float32),
        confidence=np.ones(len(rows), np.float32),
        class_id=np.array(classes, np.int32),
        label=np.array(labels),
    )


def calibrate(
    pipeline: Pipeline,
    folder: Path,
    ratings: list[Rating],
    tolerance: int = 5,
    coco: Path | None = None,
) -> CalibrationReport:
    card = pipeline.detector.card
    canonical_of = dict(zip(card.labels, card.canonical_of_label.tolist(), strict=True))
    truths = truth_detections(coco, canonical_of) if coco else {}
    rows = []
    for rating in ratings:
        path = folder / rating.file
        if not path.is_file():
            raise OfficeScoreError(f"rated photo not found: {path}")
        score = pipeline.analyze(read_image(path)[0]).score
        assert score is not None
        truth: Score | None = None
        if rating.file in truths:
            truth = score_detections(truths[rating.file], pipeline.rubric, card.sight)
        rows.append(
            CalibrationRow(
                rating=rating,
                score=score.value,
                within=rating.low - tolerance <= score.value <= rating.high + tolerance,
                counted=tuple(c.title for c in score.criteria if c.points or c.status == "hit"),
                truth_score=None if truth is None else truth.value,
                agreement={} if truth is None else _agreement(score, truth),
            )
        )
    return CalibrationReport(pipeline.model_name, tolerance, tuple(rows))


def _agreement(score: Score, truth: Score) -> dict[str, bool]:
    """criterion → whether it came out as it does on the ground truth (a place row, present
    on one side only, disagrees)."""
    theirs = {c.id: c.status for c in truth.criteria}
    mine = {c.id: c for c in score.criteria}
    titles = {c.id: c.title for c in (*truth.criteria, *score.criteria)}
    return {
        titles[i]: (mine[i].status if i in mine else None) == theirs.get(i)
        for i in titles
        if i not in mine or mine[i].status != "not_checked"
    }
