"""A random-initialised Mask R-CNN that still behaves like a trained one in shape: for tests
and benchmarks where no trained weights can be downloaded.

Random regression heads send boxes anywhere, including sub-pixel slivers no trained model
makes; shrinking them keeps boxes near the well-formed anchors (but not on them: boxes that
copy anchors overlap at exact IoUs and make every NMS decision a tie). One class is favoured so the
classifier clears the score threshold. A random mask head gives probabilities within 1e-6
of 0.5 (or, scaled up, salt and pepper); trained masks are smooth blobs with sharp edges, so
the mask head here blurs each channel and takes a scaled difference of two random channel
halves, shifted so that about half of each mask is set.
"""

from __future__ import annotations

from typing import Any

import torch

from export.source import MaskRCNNModel, build

CHAIR = 62  # COCO id, so a favoured detection means something to the scorer


def random_maskrcnn(
    architecture: str = "maskrcnn_resnet50_fpn",
    favoured_class: int = CHAIR,
    seed: int = 0,
    mask_sharpness: float = 20.0,
    **kwargs: Any,
) -> MaskRCNNModel:
    torch.manual_seed(seed)
    model = build(architecture, **{"num_classes": 91, **kwargs})
    with torch.no_grad():
        for regression in (model.rpn.head.bbox_pred, model.roi_heads.box_predictor.bbox_pred):
            regression.weight.mul_(0.1)
            regression.bias.zero_()
        classifier = model.roi_heads.box_predictor.cls_score
        classifier.weight.mul_(0.1)  # random logits otherwise outweigh the favoured class
        classifier.bias[min(favoured_class, classifier.out_features - 1)] += 6.0
        _smooth_mask_head(model, sharpness=mask_sharpness)
    return model


def _smooth_mask_head(model: MaskRCNNModel, sharpness: float) -> None:
    channels = model.roi_heads.mask_predictor.conv5_mask.in_channels
    identity = torch.eye(channels)
    for block in model.roi_heads.mask_head:
        conv = block[0]
        conv.weight.copy_(identity[:, :, None, None].expand_as(conv.weight) / 9)
        if conv.bias is not None:
            conv.bias.zero_()
    upsample = model.roi_heads.mask_predictor.conv5_mask
    upsample.weight.copy_(identity[:, :, None, None].expand_as(upsample.weight))
    upsample.bias.zero_()
    logits = model.roi_heads.mask_predictor.mask_fcn_logits
    signs = torch.randint(0, 2, (channels,), generator=torch.Generator().manual_seed(1)) * 2 - 1
    logits.weight.copy_(
        (sharpness * signs / channels)[None, :, None, None].expand_as(logits.weight)
    )
    logits.bias.zero_()
    logits.bias.sub_(_median_logit(model))


def _median_logit(model: MaskRCNNModel) -> float:
    """The median mask logit on a generated image, so that about half of each mask is set."""
    seen: list[torch.Tensor] = []
    predictor = model.roi_heads.mask_predictor
    hook = predictor.mask_fcn_logits.register_forward_hook(lambda *args: seen.append(args[2]))
    ramp = torch.linspace(0, 1, 320)
    image = torch.stack(
        [
            ramp[None, :].expand(240, 320),
            ramp[:240, None].expand(240, 320),
            torch.rand(240, 320, generator=torch.Generator().manual_seed(2)),
        ]
    )
    model.eval()
    model([image])
    hook.remove()
    return float(torch.cat([s.flatten() for s in seen]).median()) if seen else 0.0
