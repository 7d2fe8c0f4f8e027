"""What every criterion of the video-call check reads from one frame: the gray image, who "you"
are (the largest face, else the largest person box), your pixels, the background's pixels and
the other people in view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from edge.core.types import LEFT_EYE, PERSON_PROBABILITY, RIGHT_EYE, Detections, Face, Person
from edge.core.vocabulary import CANONICAL_ID
from edge.judge.check_thresholds import CheckThresholds
from edge.judge.picture_rules import PictureStats, picture_stats

FoundBy = Literal["face", "box"]

EYES = (*RIGHT_EYE, *LEFT_EYE)


def _inside(point: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x, y = float(point[0]), float(point[1])
    return (boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3])


def _box_mask(shape: tuple[int, ...], box: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    x0, y0, x1, y1 = np.clip(np.round(box).astype(int), 0, None).tolist()
    mask[y0:y1, x0:x1] = True
    return mask


@dataclass(frozen=True)
class ImageFacts:
    """What the check reads from the picture alone (computed beside the models)."""

    gray: np.ndarray
    edges: np.ndarray  # bool: Canny edges, for the background's busyness
    picture: PictureStats  # exposure, focus, noise and size of the whole frame


def image_facts(image: np.ndarray, clipped_at: int) -> ImageFacts:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return ImageFacts(gray, cv2.Canny(gray, 100, 200) > 0, picture_stats(gray, clipped_at))


@dataclass(frozen=True)
class FrameFacts:
    gray: np.ndarray
    edges: np.ndarray
    picture: PictureStats
    detections: Detections
    found_by: FoundBy | None  # None: nobody in view
    face: Face | None
    landmarks: np.ndarray | None  # 468×3 of your face
    you_box: np.ndarray | None  # the person box that is you, when the detector found one
    you_mask: np.ndarray  # bool: your pixels (your outline, else your box)
    background: np.ndarray  # bool: nobody's pixels
    others: int  # people in view besides you
    clipped_at: int  # luminance from which a pixel is blown out ([picture] clipped_at)

    def mean_over(self, values: np.ndarray, mask: np.ndarray) -> float:
        """The mean of `values` (gray or edges) where `mask` holds (OpenCV's masked mean: a
        fraction of NumPy's boolean indexing on a full frame)."""
        return float(cv2.mean(values.view(np.uint8), mask.view(np.uint8))[0])

    @property
    def you(self) -> bool:
        return self.found_by is not None and bool(self.you_mask.any())

    def face_region(self) -> tuple[np.ndarray, np.ndarray, tuple[int, int]] | None:
        """Your face as a gray crop, the mask of its oval in that crop (the landmarks' hull,
        else the whole box) and the crop's top-left corner; None without a face in the frame."""
        if self.face is None:
            return None
        height, width = self.gray.shape
        x0, y0, x1, y1 = self.face.box.tolist()
        left, top = max(int(x0), 0), max(int(y0), 0)
        right, bottom = min(int(np.ceil(x1)), width), min(int(np.ceil(y1)), height)
        if self.landmarks is not None:
            hull = cv2.convexHull(self.landmarks[:, :2].astype(np.float32)).reshape(-1, 2)
            left, top = max(int(hull[:, 0].min()), 0), max(int(hull[:, 1].min()), 0)
            right = min(int(np.ceil(hull[:, 0].max())) + 1, width)
            bottom = min(int(np.ceil(hull[:, 1].max())) + 1, height)
        if right - left < 4 or bottom - top < 4:
            return None
        crop = self.gray[top:bottom, left:right]
        oval = np.ones(crop.shape, bool)
        if self.landmarks is not None:
            canvas = np.zeros(crop.shape, np.uint8)
            shifted = np.round(hull - [left, top]).astype(np.int32)
            cv2.fillConvexPoly(canvas, shifted, 1)
            oval = canvas > 0
        return crop, oval, (left, top)


def frame_facts(
    image: np.ndarray | ImageFacts,
    detections: Detections,
    person: Person | None,
    thresholds: CheckThresholds,
) -> FrameFacts:
    """The facts of one frame. Without `person` (the person models did not run) you are the
    largest person box, as the detector alone can tell."""
    clipped_at = thresholds.picture.clipped_at
    seen = image if isinstance(image, ImageFacts) else image_facts(image, clipped_at)
    gray = seen.gray
    boxes = detections.xyxy[detections.class_id == CANONICAL_ID["person"]].astype(np.float32)
    faces = person.faces if person is not None else ()
    segmented = (
        person.mask > PERSON_PROBABILITY if person is not None else np.zeros(gray.shape, bool)
    )
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    face = faces[0] if faces else None
    you_box: np.ndarray | None = None
    if face is not None:
        centre = face.box.reshape(2, 2).mean(axis=0)
        holding = np.flatnonzero(_inside(centre, boxes))
        if len(holding):  # the smallest box around your face is yours, not the one behind you
            you_box = boxes[holding[int(areas[holding].argmin())]]
        you_mask = _outline_near_face(segmented, face, thresholds.you.face_reach)
        if not you_mask.any():
            you_mask = _box_mask(gray.shape, you_box if you_box is not None else face.box)
        found_by: FoundBy | None = "face"
    elif len(boxes):
        you_box = boxes[int(areas.argmax())]
        you_mask = _box_mask(gray.shape, you_box)
        outline = you_mask & segmented
        if outline.sum() >= thresholds.you.own_share * you_mask.sum():
            you_mask = outline
        found_by = "box" if you_mask.any() else None
    else:
        you_mask, found_by = np.zeros(gray.shape, bool), None
    other_boxes = [b for b in boxes if you_box is None or not np.array_equal(b, you_box)]
    others = len(other_boxes)
    stacked = np.array(other_boxes, np.float32).reshape(-1, 4)
    for other in faces[1:]:  # a face in nobody's box is one more person
        if not _inside(other.box.reshape(2, 2).mean(axis=0), stacked).any():
            others += 1
    return FrameFacts(
        gray=gray,
        edges=seen.edges,
        picture=seen.picture,
        detections=detections,
        found_by=found_by,
        face=face,
        landmarks=person.landmarks if person is not None and face is not None else None,
        you_box=you_box,
        you_mask=you_mask,
        # the segmenter assumes somebody is there: with nobody found, all is background
        background=~(segmented | you_mask) if found_by else np.ones(gray.shape, bool),
        others=others,
        clipped_at=clipped_at,
    )


def _outline_near_face(segmented: np.ndarray, face: Face, face_reach: float) -> np.ndarray:
    """The person pixels below and beside your face (within `face_reach` face widths): your
    head and shoulders, not the person sitting two metres to your side."""
    x0, y0, x1, y1 = face.box.tolist()
    reach = face_reach * (x1 - x0)
    centre = (x0 + x1) / 2
    near = np.zeros(segmented.shape, bool)
    top = max(int(y0 - (y1 - y0)), 0)
    near[top:, max(int(centre - reach), 0) : max(int(centre + reach), 0)] = True
    return segmented & near
