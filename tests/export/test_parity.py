"""Parity's mask comparison: robust to pixels at the threshold, strict on real disagreement."""

from __future__ import annotations

import numpy as np

from export.parity import ParityReport, compare


def one_detection(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "boxes": np.array([[10.0, 10.0, 90.0, 70.0]], np.float32),
        "labels": np.array([62]),
        "scores": np.array([0.9], np.float32),
        "masks": probabilities[None, None].astype(np.float32),
    }


def parity_of(probabilities: np.ndarray, onnx_mask: np.ndarray) -> ParityReport:
    expected = one_detection(probabilities)
    row = compare(
        "image",
        expected,
        expected["boxes"].copy(),
        expected["labels"].copy(),
        expected["scores"].copy(),
        onnx_mask[None],
        box_score_thresh=0.05,
    )
    return ParityReport([row], "native")


def test_masks_at_the_threshold_do_not_fail_on_rounding_noise() -> None:
    rng = np.random.default_rng(0)
    near_half = 0.5 + rng.uniform(-0.01, 0.01, (80, 100))  # a raw random model's masks
    onnx = (near_half + rng.uniform(-0.01, 0.01, near_half.shape)) >= 0.5  # same, re-rounded
    naive = (
        np.logical_and(near_half >= 0.5, onnx).sum() / np.logical_or(near_half >= 0.5, onnx).sum()
    )
    assert naive < 0.8  # a thresholded IoU flips on this noise
    report = parity_of(near_half, onnx)
    assert report.passed, report.failures
    assert report.images[0].uncertain_mask_pixels > 0.99  # and says how much it left out


def test_a_real_mask_disagreement_still_fails() -> None:
    decisive = np.zeros((80, 100))
    decisive[10:70, 10:50] = 0.9  # the source says: the left half of the box
    onnx = np.zeros((80, 100), bool)
    onnx[10:70, 50:90] = True  # the export says: the right half
    report = parity_of(decisive, onnx)
    assert not report.passed and "mask IoU down to 0.000" in report.failures[0]
    assert report.images[0].uncertain_mask_pixels == 0.0
