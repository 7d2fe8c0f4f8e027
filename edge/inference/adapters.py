"""Adapters: one per model family, turning frames into model inputs and raw outputs into
`Detections`. Everything downstream of an adapter is model-agnostic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.types import Detections
from edge.inference import postprocess
from edge.inference.modelcard import ModelCard


@dataclass(frozen=True)
class Prepared:
    """A frame turned into model inputs, with what decoding needs to map back."""

    inputs: dict[str, np.ndarray]
    scale_xy: tuple[float, float]
    frame_hw: tuple[int, int]


class Adapter(Protocol):
    def prepare(self, frame: np.ndarray) -> Prepared: ...

    def decode(
        self, outputs: list[np.ndarray], prepared: Prepared, conf: np.ndarray
    ) -> Detections: ...


class YoloxAdapter:
    """YOLOX-style anchor-free heads: letterboxed BGR 0–255 input, [1, A, 5 + classes] output.

    A card with `photo_size`/`live_size` describes a size-agnostic graph: it runs at any
    multiple of 32. A card with `height`/`width` describes a graph fixed at that size.
    """

    def __init__(self, card: ModelCard, size: int | None = None) -> None:
        spec, decode = card.settings.get("input", {}), card.settings.get("decode", {})
        try:
            self.input_name = str(spec.get("name", "images"))
            height, width = input_size(card, size)
            self.pad_value = int(spec.get("pad_value", 114))
            strides = [int(s) for s in decode["strides"]]
            self.nms_iou = float(decode.get("nms_iou", 0.45))
        except (KeyError, TypeError, ValueError) as error:
            raise OfficeScoreError(
                f"model card {card.name}: bad [input]/[decode]: {error}"
            ) from None
        self.card = card
        self.size = (height, width)
        self.offsets, self.strides = postprocess.grid_points(height, width, strides)
        self.letterbox = postprocess.Letterbox(height, width, self.pad_value)
        self.labels = np.asarray(card.labels)

    def prepare(self, frame: np.ndarray) -> Prepared:
        scale = self.letterbox(frame)
        return Prepared({self.input_name: self.letterbox.tensor}, (scale, scale), frame.shape[:2])

    def decode(self, outputs: list[np.ndarray], prepared: Prepared, conf: np.ndarray) -> Detections:
        """`conf`: the confidence each label must reach."""
        raw = outputs[0].reshape(-1, outputs[0].shape[-1])
        if raw.shape != (len(self.offsets), 5 + len(self.card.labels)):
            raise OfficeScoreError(
                f"model output {outputs[0].shape} does not fit card {self.card.name} "
                f"({len(self.offsets)} points × {5 + len(self.card.labels)} values)"
            )
        boxes, scores, class_index = postprocess.decode_yolox(
            raw, self.offsets, self.strides, conf.min()
        )
        confident = scores >= conf[class_index]
        boxes, scores, class_index = boxes[confident], scores[confident], class_index[confident]
        keep = postprocess.nms_per_class(boxes, scores, class_index, self.nms_iou)
        return Detections(
            xyxy=postprocess.scale_boxes(boxes[keep], prepared.scale_xy, prepared.frame_hw),
            confidence=scores[keep],
            class_id=self.card.canonical_of_label[class_index[keep]],
            label=self.labels[class_index[keep]],
        )


class MaskRCNNAdapter:
    """Mask R-CNN exported by `officescore export`: CHW float RGB 0..1 in; boxes (input
    pixels), labels, scores and M×M mask probabilities out. Masks are pasted here, at frame
    resolution, for the detections that pass the confidence threshold only.
    """

    def __init__(self, card: ModelCard) -> None:
        spec = card.settings.get("input", {})
        try:
            self.input_name = str(spec["name"])
            self.size = (int(spec.get("height", 0)), int(spec.get("width", 0)))
        except (KeyError, TypeError, ValueError) as error:
            raise OfficeScoreError(f"model card {card.name}: bad [input]: {error}") from None
        self.card = card
        self.labels = np.asarray(card.labels)
        self._tensor = np.empty((3, 0, 0), np.float32)  # CHW RGB 0..1, reused while sizes hold
        self.uncertain_band = 0.0  # > 0: masks keep the pixels this near the threshold (bench)

    def prepare(self, frame: np.ndarray) -> Prepared:
        height, width = frame.shape[:2]
        if min(self.size) > 0 and self.size != (height, width):
            frame = cv2.resize(frame, (self.size[1], self.size[0]), interpolation=cv2.INTER_AREA)
        if self._tensor.shape[1:] != frame.shape[:2]:
            self._tensor = np.empty((3, *frame.shape[:2]), np.float32)
        blue, green, red = cv2.split(frame)
        for plane, channel in zip(self._tensor, (red, green, blue), strict=True):
            np.multiply(channel, np.float32(1 / 255), out=plane)
        scale = (frame.shape[1] / width, frame.shape[0] / height)
        return Prepared({self.input_name: self._tensor}, scale, (height, width))

    def decode(self, outputs: list[np.ndarray], prepared: Prepared, conf: np.ndarray) -> Detections:
        if len(outputs) != 4:
            raise OfficeScoreError(
                f"{self.card.name}: expected 4 outputs (boxes, labels, scores, masks), "
                f"got {len(outputs)}"
            )
        boxes, labels, scores, masks = outputs
        known = (labels >= 0) & (labels < len(self.labels))
        keep = known & (scores >= conf[np.where(known, labels, 0)])
        keep &= np.isfinite(boxes).all(axis=1)
        class_index = labels[keep].astype(np.int64)
        frame_boxes = postprocess.scale_boxes(boxes[keep], prepared.scale_xy, prepared.frame_hw)
        return Detections(
            xyxy=frame_boxes,
            confidence=scores[keep].astype(np.float32),
            class_id=self.card.canonical_of_label[class_index],
            label=self.labels[class_index],
            mask=postprocess.paste_masks(
                masks[keep], frame_boxes, prepared.frame_hw, band=self.uncertain_band
            ),
        )


def input_size(card: ModelCard, size: int | None) -> tuple[int, int]:
    """The (height, width) a YOLOX card runs at: `size` (`--imgsz`, or the photo or live size
    the caller chose) on a size-agnostic graph, else the card's fixed size."""
    spec = card.settings.get("input", {})
    if "height" in spec or "width" in spec:
        fixed = (int(spec["height"]), int(spec["width"]))
        if size is not None and (size, size) != fixed:
            raise OfficeScoreError(
                f"{card.name} is fixed at {fixed[1]}×{fixed[0]} px; --imgsz {size} needs a "
                "size-agnostic model"
            )
        return fixed
    if size is None:
        size = int(spec["photo_size"])
    if size < 32 or size % 32:
        raise OfficeScoreError(f"--imgsz must be a multiple of 32 (at least 32), got {size}")
    return size, size


ADAPTERS: dict[str, type] = {"yolox": YoloxAdapter, "maskrcnn": MaskRCNNAdapter}


def make_adapter(card: ModelCard, size: int | None = None) -> Adapter:
    try:
        factory = ADAPTERS[card.adapter]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise OfficeScoreError(
            f"model card {card.name} asks for adapter {card.adapter!r}; known: {known}"
        ) from None
    if size is not None and factory is not YoloxAdapter:
        raise OfficeScoreError(f"{card.name}: --imgsz is for YOLOX-style models only")
    adapter: Adapter = factory(card, size) if factory is YoloxAdapter else factory(card)
    return adapter
