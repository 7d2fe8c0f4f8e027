"""The person models (MediaPipe's, converted to ONNX by scripts/make_person_models.py): a face
detector (BlazeFace, short range), 468 face landmarks and a selfie segmenter. They run on the
same engines as the detector (`--engine`, `--device`, `--threads`); this module turns frames
into their inputs and their outputs into a `Person`: faces in image pixels, the landmarks of the
largest one, and the probability that each pixel is a person."""

from __future__ import annotations

import functools
import math
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tomllib

from edge.core.boxes import box_iou
from edge.core.errors import OfficeScoreError
from edge.core.types import LEFT_EYE, RIGHT_EYE, Face, Person
from edge.inference.engines import Engine, EngineRequest, open_engine
from edge.inference.modelcard import bundled_dir, verify_sha256

CARDS = "person_models.toml"


def load_cards(path: Path | None = None) -> dict[str, dict[str, Any]]:
    try:
        return tomllib.loads((path or bundled_dir() / CARDS).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise OfficeScoreError(f"cannot read the person models' cards: {error}") from None


class _Model:
    def __init__(
        self, card: dict[str, Any], request: EngineRequest, decode: tuple[str, ...] = ()
    ) -> None:
        path = bundled_dir() / card["file"]
        if not path.is_file():
            raise OfficeScoreError(f"person model not found: {path}")
        verify_sha256(path, card["sha256"])
        self.engine: Engine = open_engine(request, path)
        self.height, self.width = card["input"]["size"]
        self.low, self.high = card["input"]["range"]
        self.decode: dict[str, float] = card.get("decode", {})  # the card's decoding numbers
        missing = [key for key in decode if not isinstance(self.decode.get(key), int | float)]
        if missing:
            raise OfficeScoreError(f"person model card {card['file']}: decode lacks {missing[0]!r}")
        self.input_name = self.engine.input_names[0]

    def tensor(self, rgb: np.ndarray) -> np.ndarray:
        """An RGB uint8 image already at the model's size → its normalized NHWC input."""
        scale = (self.high - self.low) / 255.0
        return (rgb.astype(np.float32) * scale + self.low)[None]

    def run(self, rgb: np.ndarray) -> list[np.ndarray]:
        return self.engine.run({self.input_name: self.tensor(rgb)})


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits, in float64 so that large logits do not overflow."""
    return 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -80, 80)))


@functools.cache
def blazeface_anchors(size: int = 128) -> np.ndarray:
    """The 896 anchor centres of the short-range detector (SSD anchors, strides 8 and 16)."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = size // stride
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, points: np.ndarray, iou_above: float
) -> list[int]:
    """MediaPipe's blending NMS, simplified: boxes overlapping by more than `iou_above` are
    averaged, weighted by score. Returns the kept indices; `boxes` and `points` are blended in
    place."""
    order = list(np.argsort(-scores))
    kept = []
    while order:
        best = order[0]
        iou = box_iou(boxes[best : best + 1], boxes[order])[0]
        group = [order[i] for i in np.flatnonzero(iou > iou_above)]
        weights = scores[group][:, None]
        boxes[best] = (boxes[group] * weights).sum(0) / weights.sum()
        points[best] = (points[group] * weights[:, :, None]).sum(0) / weights.sum()
        kept.append(best)
        order = [i for i in order if i not in group]
    return kept


class PersonModels:
    """The three person models on one engine request; `see(frame)` → `Person`."""

    def __init__(self, request: EngineRequest, cards_path: Path | None = None) -> None:
        cards = load_cards(cards_path)
        self.detector = _Model(cards["face_detector"], request, ("score", "nms_iou", "head_margin"))
        self.landmarker = _Model(cards["face_landmarks"], request, ("presence",))
        self.segmenter = _Model(cards["segmenter"], request)
        self.segmenter_landscape = _Model(cards["segmenter_landscape"], request)

    def see(self, image: np.ndarray, previous: Person | None = None) -> Person:
        """What the models see in a BGR frame. With the `previous` frame's landmarks, your face
        is followed from them without the face detector (as MediaPipe does on video); the
        other faces are the previous frame's. `look_closer` searches a person's head for a
        face too small at frame scale."""
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        followed = self.follow(rgb, previous) if previous is not None else None
        landmarks: np.ndarray | None
        if followed is not None:
            faces, landmarks = followed
            timings["faces"], timings["landmarks"] = 0.0, (time.perf_counter() - started) * 1e3
        else:
            faces = self.faces(rgb)
            timings["faces"] = (time.perf_counter() - started) * 1e3
            started = time.perf_counter()
            faces, landmarks = self.confirmed(rgb, faces)
            timings["landmarks"] = (time.perf_counter() - started) * 1e3
        started = time.perf_counter()
        mask = self.person_mask(rgb)
        timings["segmentation"] = (time.perf_counter() - started) * 1e3
        return Person(tuple(faces), landmarks, mask, timings)

    def confirmed(self, rgb: np.ndarray, faces: list[Face]) -> tuple[list[Face], np.ndarray | None]:
        """The faces and the landmarks of the largest, once the landmark model agrees it is a
        face: a detection it finds no face in is dropped (and the next one tried)."""
        for tried in range(min(len(faces), 2)):
            landmarks = self.landmarks(rgb, faces[tried])
            if landmarks is not None:
                return faces[tried:], landmarks
        return faces[2:] if len(faces) > 2 else [], None

    def follow(self, rgb: np.ndarray, previous: Person) -> tuple[list[Face], np.ndarray] | None:
        """Your face and its landmarks in this frame, from the region of the previous frame's:
        the face box keeps its size and moves with the landmarks. None when there is no
        previous face or the landmark model no longer finds one there."""
        face = previous.face
        if face is None or previous.landmarks is None:
            return None
        landmarks = self.landmarks(rgb, face)
        if landmarks is None:
            return None
        moved = landmarks[:, :2].mean(axis=0) - previous.landmarks[:, :2].mean(axis=0)
        eyes = np.stack(
            [
                landmarks[list(RIGHT_EYE), :2].mean(axis=0),
                landmarks[list(LEFT_EYE), :2].mean(axis=0),
            ]
        )
        keypoints = face.keypoints + moved
        keypoints[:2] = eyes
        followed = Face(face.box + np.tile(moved, 2), face.score, keypoints.astype(np.float32))
        return [followed, *previous.faces[1:]], landmarks

    def look_closer(self, image: np.ndarray, seen: Person, person_boxes: np.ndarray) -> Person:
        """`seen`, or where it has no face but the detector found people, the faces in the head
        of the largest person box (searched up close) and their landmarks."""
        if seen.faces or not len(person_boxes):
            return seen
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        started = time.perf_counter()
        faces, landmarks = self.confirmed(rgb, self.faces_in_head(rgb, person_boxes))
        spent = (time.perf_counter() - started) * 1e3
        timings = dict(seen.timings_ms)
        timings["faces"] = timings.get("faces", 0.0) + spent
        return Person(tuple(faces), landmarks, seen.mask, timings)

    def faces(self, rgb: np.ndarray) -> list[Face]:
        """Faces, largest first: the frame letterboxed to a square, as MediaPipe feeds it."""
        height, width = rgb.shape[:2]
        side = max(height, width)
        size = self.detector.width
        small_w, small_h = max(round(width * size / side), 1), max(round(height * size / side), 1)
        small = cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA)
        pad_top, pad_left = (size - small_h) // 2, (size - small_w) // 2
        square = cv2.copyMakeBorder(
            small,
            pad_top,
            size - small_h - pad_top,
            pad_left,
            size - small_w - pad_left,
            cv2.BORDER_CONSTANT,
        )
        top, left = pad_top * side / size, pad_left * side / size
        regressors, logits = self.detector.run(square)
        scores = sigmoid(logits[0, :, 0])
        chosen = np.flatnonzero(scores >= self.detector.decode["score"])
        if not len(chosen):
            return []
        raw = regressors[0, chosen] / size
        centres = blazeface_anchors(size)[chosen]
        cx, cy = centres[:, 0] + raw[:, 0], centres[:, 1] + raw[:, 1]
        w, h = raw[:, 2], raw[:, 3]
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        points = raw[:, 4:16].reshape(-1, 6, 2) + centres[:, None, :]
        kept = weighted_nms(boxes, scores[chosen], points, self.detector.decode["nms_iou"])
        offset = np.array([left, top], np.float32)
        faces = [
            Face(
                (boxes[i].reshape(2, 2) * side - offset).reshape(4),
                float(scores[chosen][i]),
                points[i] * side - offset,
            )
            for i in kept
        ]
        return sorted(faces, key=lambda face: -face.height)

    def faces_in_head(self, rgb: np.ndarray, person_boxes: np.ndarray) -> list[Face]:
        """Faces in a square around the top of the largest person box (where a head is)."""
        sizes = person_boxes[:, 2:] - person_boxes[:, :2]
        x0, y0, x1, _ = person_boxes[int(sizes.prod(axis=1).argmax())].tolist()
        side = max(x1 - x0, 8.0)
        height, width = rgb.shape[:2]
        left = int(max(min((x0 + x1 - side) / 2, width - side), 0))
        margin = self.detector.decode["head_margin"]  # above the box's top, a share of its width
        top = int(max(min(y0 - side * margin, height - side), 0))
        crop = rgb[top : top + int(side), left : left + int(side)]
        if min(crop.shape[:2]) < 8:
            return []
        shift = np.array([left, top], np.float32)
        return [
            Face(face.box + np.tile(shift, 2), face.score, face.keypoints + shift)
            for face in self.faces(crop)
        ]

    def landmarks(self, rgb: np.ndarray, face: Face) -> np.ndarray | None:
        """468 landmarks in image pixels, from a crop around `face` turned so its eyes are level
        (MediaPipe's region: the box's centre, 1.5× its size, rotated by the eye line)."""
        right_eye, left_eye = face.keypoints[0], face.keypoints[1]
        angle = math.degrees(math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0]))
        centre = ((face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2)
        side = 1.5 * max(face.box[2] - face.box[0], face.box[3] - face.box[1])
        size = self.landmarker.width
        rotation = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)
        scale = size / side
        to_crop = rotation * scale
        to_crop[:, 2] += size / 2 - scale * np.array(centre)
        crop = cv2.warpAffine(rgb, to_crop, (size, size), flags=cv2.INTER_LINEAR)
        points, presence = self.landmarker.run(crop)
        if sigmoid(presence.reshape(-1)[:1])[0] < self.landmarker.decode["presence"]:
            return None
        points = points.reshape(-1, 3).astype(np.float32)
        back = cv2.invertAffineTransform(to_crop)
        xy = points[:, :2] @ back[:, :2].T + back[:, 2]
        return np.concatenate([xy, points[:, 2:3] / scale], axis=1)

    def person_mask(self, rgb: np.ndarray) -> np.ndarray:
        """The probability that each pixel is a person, at the frame's size."""
        height, width = rgb.shape[:2]
        model = self.segmenter_landscape if width > height * 1.2 else self.segmenter
        small = cv2.resize(rgb, (model.width, model.height), interpolation=cv2.INTER_AREA)
        mask = model.run(small)[0][0, :, :, 0]
        return cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
