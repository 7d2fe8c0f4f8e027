"""The pure-torch fallback kernels against torchvision's native ones, on the same inputs."""

from __future__ import annotations

import torch

from export import torchvision_setup
from export.torchvision_setup import load_torchvision


def test_native_kernels_load_here() -> None:
    assert load_torchvision() == "native"


def test_fallback_nms_keeps_what_native_nms_keeps() -> None:
    generator = torch.Generator().manual_seed(0)
    for count in (0, 1, 50, 400):
        boxes = torch.rand(count, 4, generator=generator) * 200
        boxes[:, 2:] += boxes[:, :2] + 1
        scores = torch.rand(count, generator=generator)
        for threshold in (0.3, 0.5, 0.7):
            expected = torch.ops.torchvision.nms(boxes, scores, threshold)
            assert torch.equal(torchvision_setup._nms(boxes, scores, threshold), expected)


def test_fallback_roi_align_matches_native_inside_the_feature_map() -> None:
    generator = torch.Generator().manual_seed(1)
    features = torch.rand(2, 8, 40, 48, generator=generator)
    boxes = torch.rand(30, 4, generator=generator) * 30
    boxes[:, 2:] += boxes[:, :2] + 2
    rois = torch.cat([torch.randint(0, 2, (30, 1), generator=generator).float(), boxes], dim=1)
    for sampling_ratio, aligned in ((2, False), (0, True), (-1, False)):
        native = torch.ops.torchvision.roi_align(features, rois, 0.5, 7, 7, sampling_ratio, aligned)
        fallback = torchvision_setup._roi_align(features, rois, 0.5, 7, 7, sampling_ratio, aligned)
        torch.testing.assert_close(fallback, native, atol=1e-5, rtol=1e-5)
