"""Plain-data views of results, for JSON lines and `--json`."""

from __future__ import annotations

from typing import Any

from edge.scoring import Score
from edge.types import Detections, FrameResult


def detections_to_list(detections: Detections) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "label": str(label),
            "confidence": round(float(conf), 4),
            "box": [round(float(v), 1) for v in box],
        }
        for name, label, conf, box in zip(
            detections.names,
            detections.label,
            detections.confidence,
            detections.xyxy,
            strict=True,
        )
    ]


def score_to_dict(score: Score) -> dict[str, Any]:
    return {
        "score": score.value,
        "criteria": [
            {
                "id": c.id,
                "title": c.title,
                "status": c.status,
                "points": c.points,
                "max_points": c.max_points,
                "count": c.count,
                "reason": c.reason,
            }
            for c in score.criteria
        ],
        "objects": score.counts,
    }


def frame_result_to_dict(result: FrameResult) -> dict[str, Any]:
    return {
        "frame": result.frame_index,
        "t": round(result.timestamp, 3),
        **score_to_dict(result.score),
        "detections": detections_to_list(result.detections),
        "provider": result.provider,
        "timings_ms": {stage: round(ms, 2) for stage, ms in result.timings_ms.items()},
    }
