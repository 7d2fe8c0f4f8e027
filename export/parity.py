"""Parity of an exported ONNX Mask R-CNN against its source model, image by image."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import torch

from edge.core.errors import OfficeScoreError, first_line
from edge.inference.parity import PARITY, ParityThresholds
from edge.inference.postprocess import mask_iou, match_detections, paste_masks
from export.source import MaskRCNNModel, run_reference

BORDERLINE_SCORE = 0.02  # detections this close to the score threshold may flip either way
MIN_MASK_PIXELS = 64  # IoU of masks smaller than 8×8 pixels says nothing; they are counted apart
# Pixels whose source mask probability lies this close to the 0.5 threshold flip on rounding
# noise (a random-initialised model's masks sit near 0.5 everywhere); they are left out of the
# mask IoU and counted instead.
UNCERTAIN_BAND = 0.05


@dataclass
class ImageParity:
    image: str
    source_detections: int
    onnx_detections: int
    matched: int
    borderline_unmatched: int
    tiny_masks: int
    label_agreement: float
    max_box_error_px: float
    max_score_diff: float
    min_mask_iou: float
    mean_mask_iou: float
    uncertain_mask_pixels: float = 0.0  # share of the matched masks' pixels left out


@dataclass
class ParityReport:
    images: list[ImageParity]
    torchvision_kernels: str
    thresholds: ParityThresholds = PARITY  # written to the report, and what decides

    @property
    def failures(self) -> list[str]:
        return [
            f"{row.image}: {failure}"
            for row in self.images
            for failure in self.thresholds.failures(
                row.label_agreement, row.max_box_error_px, row.min_mask_iou
            )
        ]

    @property
    def passed(self) -> bool:
        return not self.failures

    def write(self, path: Path) -> None:
        data = {"passed": self.passed, "failures": self.failures, **asdict(self)}
        path.write_text(json.dumps(data, indent=2) + "\n")


def generated_images(size: tuple[int, int]) -> dict[str, np.ndarray]:
    """Two images anyone can regenerate: smooth colour noise and a flat 'desk' scene."""
    height, width = size
    rng = np.random.default_rng(0)
    noise = cv2.resize(
        rng.integers(0, 255, (height // 16, width // 16, 3), dtype=np.uint8),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    scene = np.full((height, width, 3), (200, 210, 220), np.uint8)
    cv2.rectangle(scene, (0, height * 2 // 3), (width, height), (60, 90, 140), -1)
    cv2.rectangle(scene, (width // 3, height // 4), (width * 2 // 3, height // 2), (30, 30, 30), -1)
    cv2.circle(scene, (width // 6, height // 2), height // 8, (40, 140, 60), -1)
    return {"generated-noise": noise, "generated-desk": scene}


def to_tensor(image_bgr: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), np.float32) / 255.0


def model_input(image_bgr: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """An image as the exported model takes it: resized to a fixed export's size, CHW RGB 0..1."""
    if size is not None:
        image_bgr = cv2.resize(image_bgr, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return to_tensor(image_bgr)


def measure_parity(
    reference: MaskRCNNModel,
    onnx_path: Path,
    images: dict[str, np.ndarray],
    size: tuple[int, int] | None,
    box_score_thresh: float,
    kernels: str,
    detections_per_img: int | None = None,
) -> ParityReport:
    try:
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    except Exception as error:  # ORT's own exception types
        first = first_line(error)
        raise OfficeScoreError(
            f"cannot run {onnx_path.name} on ONNX Runtime CPU to measure parity ({first})"
        ) from None
    rows = []
    for name, image in images.items():
        tensor = model_input(image, size)
        expected = {
            k: v.numpy() for k, v in run_reference(reference, torch.from_numpy(tensor)).items()
        }
        boxes, labels, scores, masks = session.run(None, {"image": tensor})
        pasted = paste_masks(masks, boxes, tensor.shape[1:]).dense()
        rows.append(
            compare(
                name, expected, boxes, labels, scores, pasted, box_score_thresh, detections_per_img
            )
        )
    return ParityReport(rows, kernels)


def compare(
    name: str,
    expected: dict[str, np.ndarray],
    boxes: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    masks: np.ndarray,
    box_score_thresh: float,
    detections_per_img: int | None = None,
) -> ImageParity:
    """Match detections greedily (same label, IoU ≥ 0.5, best source score first) and compare.

    Source detections scoring below the export's threshold, or beyond its `detections_per_img`
    best, are not expected in the export; unmatched detections within BORDERLINE_SCORE of
    either cut-off, on either side, are counted apart.
    """
    expected_rows = np.flatnonzero(expected["scores"] >= box_score_thresh - BORDERLINE_SCORE)
    cutoffs = [box_score_thresh]
    if detections_per_img is not None and len(expected_rows) > detections_per_img:
        best_first = expected_rows[np.argsort(-expected["scores"][expected_rows], kind="stable")]
        expected_rows = best_first[:detections_per_img]
        cutoffs.append(float(expected["scores"][best_first[detections_per_img - 1]]))
    source_boxes, source_labels = (
        expected["boxes"][expected_rows],
        expected["labels"][expected_rows],
    )
    source_scores = expected["scores"][expected_rows]
    probabilities = expected["masks"][expected_rows, 0]
    source_masks = probabilities >= 0.5
    certain = np.abs(probabilities - 0.5) >= UNCERTAIN_BAND
    pairs = match_detections(source_boxes, source_labels, source_scores, boxes, labels)
    matched_source = np.array([i for i, _ in pairs], int)
    matched_onnx = np.array([j for _, j in pairs], int)
    unmatched_scores = np.concatenate(
        [np.delete(source_scores, matched_source), np.delete(scores, matched_onnx)]
    )
    distance = np.abs(unmatched_scores[:, None] - np.asarray(cutoffs)[None, :]).min(axis=1)
    borderline = int((distance < BORDERLINE_SCORE).sum())
    decisive = len(unmatched_scores) - borderline
    total = len(pairs) + decisive
    sized = [
        (i, j)
        for i, j in pairs
        if np.logical_or(source_masks[i], masks[j]).sum() >= MIN_MASK_PIXELS
    ]
    ious = [mask_iou(source_masks[i], masks[j], certain[i]) for i, j in sized]
    region = [np.logical_or(source_masks[i], masks[j]) for i, j in sized]
    left_out = sum(int((r & ~certain[i]).sum()) for r, (i, _) in zip(region, sized, strict=True))
    in_masks = sum(int(r.sum()) for r in region)
    return ImageParity(
        image=name,
        source_detections=len(expected["boxes"]),
        onnx_detections=len(boxes),
        matched=len(pairs),
        borderline_unmatched=borderline,
        tiny_masks=len(pairs) - len(sized),
        label_agreement=len(pairs) / total if total else 1.0,
        max_box_error_px=float(np.abs(source_boxes[matched_source] - boxes[matched_onnx]).max())
        if pairs
        else 0.0,
        max_score_diff=float(np.abs(source_scores[matched_source] - scores[matched_onnx]).max())
        if pairs
        else 0.0,
        min_mask_iou=float(min(ious)) if ious else 1.0,
        mean_mask_iou=float(np.mean(ious)) if ious else 1.0,
        uncertain_mask_pixels=left_out / in_masks if in_masks else 0.0,
    )
