"""`officescore data audit`: what a labelled set holds, which of its photos are one photo (and
leak across its splits), and which labels a model disagrees with, ranked. torch-free: the
readers are `train`'s, the model runs on ONNX Runtime."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge.core.boxes import box_iou
from edge.core.errors import OfficeScoreError
from edge.core.types import Detections
from edge.core.vocabulary import CANONICAL_ID, OTHER_ID
from edge.inference.engines import EngineRequest
from edge.inference.session import Detector, SessionConfig
from edge.video.batch import read_image
from train.classes import canonical_name
from train.copies import find_copies
from train.datasets import read_splits
from train.labels import LabelledImage, LabelledSet

SMALL, MEDIUM = 32**2, 96**2  # COCO's area bounds, in pixels of the photo as stored
SAME_PLACE = 0.5  # IoU: a label and a detection of the same object
UNLABELLED = 0.3  # a detection overlapping no label by this much has none
DUPLICATE = 0.9  # two labels of one class overlapping this much are one object twice

Kind = Literal["wrong class", "missing label", "duplicate label"]


@dataclass(frozen=True)
class AuditConfig:
    data: Path
    model: Path | None = None  # None: the bundled detector
    imgsz: int | None = None  # None: the card's photo size
    conf: float = 0.2  # how sure the model must be that a label's class is another
    missing_conf: float = 0.5  # how sure it must be of an object nobody labelled
    attribute_classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suspect:
    kind: Kind
    split: str
    image: Path
    label: str  # what the label says ("" for a missing one)
    seen: str  # what the model sees there ("" for a duplicate)
    confidence: float  # how sure the model is (1 for a duplicate)
    label_confidence: float  # how sure it is of the labelled class there (0: it does not see it)
    label_box: tuple[float, ...] | None
    model_box: tuple[float, ...] | None

    def line(self) -> str:
        if self.kind == "wrong class":
            return (
                f"labelled {self.label} ({self.label_confidence:.2f} to the model), "
                f"the model sees a {self.seen} ({self.confidence:.2f})"
            )
        if self.kind == "missing label":
            return f"no label where the model sees a {self.seen} ({self.confidence:.2f})"
        return f"two {self.label} labels on one object"


@dataclass(frozen=True)
class SplitCounts:
    images: int
    unlabelled: int
    instances: dict[str, int]
    sizes: dict[str, int]  # small / medium / large
    boxes_per_image: tuple[float, int]  # mean, most
    image_sizes: dict[str, int]  # "640x640" -> photos


@dataclass
class AuditReport:
    origin: str
    model: str
    names: tuple[str, ...]
    splits: dict[str, SplitCounts]
    copy_groups: list[list[tuple[str, Path]]]  # (split, photo) per member
    named_groups: int  # groups of copies the file names declare (Roboflow's `_jpg.rf.`)
    leaks: list[tuple[Path, Path]]  # (a validation photo, its copy in training)
    named_leaks: int  # validation photos whose file name says they are a training photo's copy
    suspects: list[Suspect] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.origin,
            "model": self.model,
            "classes": list(self.names),
            "thresholds": self.thresholds,
            "splits": {name: counts.__dict__ for name, counts in self.splits.items()},
            "copies": {
                "groups": [[str(path) for _, path in group] for group in self.copy_groups],
                "named_groups": self.named_groups,
                "named_across_splits": self.named_leaks,
                "across_splits": [
                    {"validation": str(val), "training": str(train)} for val, train in self.leaks
                ],
            },
            "suspects": [
                {
                    "kind": s.kind,
                    "split": s.split,
                    "image": str(s.image),
                    "label": s.label,
                    "seen": s.seen,
                    "confidence": round(s.confidence, 4),
                    "label_confidence": round(s.label_confidence, 4),
                    "label_box": s.label_box,
                    "model_box": s.model_box,
                    "why": s.line(),
                }
                for s in self.suspects
            ],
        }


def count_split(labelled: LabelledSet) -> SplitCounts:
    boxes = [image.boxes for image in labelled.images]
    areas = np.concatenate([(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) for b in boxes] or [[]])
    per_image = [len(b) for b in boxes]
    return SplitCounts(
        images=len(labelled.images),
        unlabelled=sum(n == 0 for n in per_image),
        instances=dict(sorted(labelled.instances().items())),
        sizes={
            "small": int((areas < SMALL).sum()),
            "medium": int(((areas >= SMALL) & (areas < MEDIUM)).sum()),
            "large": int((areas >= MEDIUM).sum()),
        },
        boxes_per_image=(
            round(float(np.mean(per_image)), 2) if per_image else 0.0,
            max(per_image, default=0),
        ),
        image_sizes=dict(Counter(f"{i.width}x{i.height}" for i in labelled.images).most_common()),
    )


def suspects_in(
    image: LabelledImage,
    split: str,
    seen: Detections,
    canonical_of_class: np.ndarray,
    names: tuple[str, ...],
    config: AuditConfig,
) -> list[Suspect]:
    """What `seen` (the model's detections, canonical, in the photo's pixels) disputes in the
    photo's labels. Only classes the set labels and the model sees are compared."""
    comparable = set(canonical_of_class.tolist()) - {OTHER_ID}
    seen = seen[np.isin(seen.class_id, list(comparable))]
    labels = canonical_of_class[image.classes] if len(image.classes) else np.zeros(0, np.int64)
    found: list[Suspect] = []
    overlap = box_iou(image.boxes, seen.xyxy) if len(image.boxes) and len(seen) else None
    if overlap is not None:  # a detection its own label explains disputes no other label
        explained = ((overlap >= UNLABELLED) & (labels[:, None] == seen.class_id[None, :])).any(0)
    for index, label_class in enumerate(labels.tolist()):
        if overlap is None or label_class not in comparable:
            continue
        here = overlap[index] >= SAME_PLACE
        same = seen.confidence[here & (seen.class_id == label_class)]
        other = np.flatnonzero(here & (seen.class_id != label_class) & ~explained)
        if not len(other):
            continue
        best = other[np.argmax(seen.confidence[other])]
        if seen.confidence[best] >= config.conf and seen.confidence[best] > same.max(initial=0.0):
            found.append(
                _suspect(
                    "wrong class",
                    split,
                    image,
                    names[image.classes[index]],
                    seen,
                    best,
                    index,
                    same,
                )
            )
    for index in range(len(seen)):
        labelled_near = overlap is not None and (overlap[:, index] >= UNLABELLED).any()
        if seen.confidence[index] >= config.missing_conf and not labelled_near:
            found.append(_suspect("missing label", split, image, "", seen, index, None, []))
    if len(image.boxes) > 1:
        twice = np.triu(box_iou(image.boxes, image.boxes) >= DUPLICATE, 1)
        twice &= image.classes[:, None] == image.classes[None, :]
        for first, _ in np.argwhere(twice).tolist():
            found.append(
                Suspect(
                    "duplicate label",
                    split,
                    image.path,
                    names[image.classes[first]],
                    "",
                    1.0,
                    1.0,
                    tuple(float(v) for v in image.boxes[first]),
                    None,
                )
            )
    return found


def _suspect(
    kind: Kind,
    split: str,
    image: LabelledImage,
    label: str,
    seen: Detections,
    index: int,
    label_index: int | None,
    label_confidences: np.ndarray | list[float],
) -> Suspect:
    return Suspect(
        kind,
        split,
        image.path,
        label,
        seen.names[index],
        float(seen.confidence[index]),
        float(np.max(label_confidences, initial=0.0)),
        None if label_index is None else tuple(float(v) for v in image.boxes[label_index]),
        tuple(float(v) for v in seen.xyxy[index]),
    )


def audit(config: AuditConfig, progress: Callable[[str, int, int], None]) -> AuditReport:
    """The whole audit; `progress(stage, done, total)` is told as it goes."""
    splits, origin, _ = read_splits(config.data, config.attribute_classes)
    names = splits["train"].names
    photos = [(split, image) for split, labelled in splits.items() for image in labelled.images]
    if not photos:
        raise OfficeScoreError(f"{origin}: no images")
    paths = [image.path for _, image in photos]
    by_source: dict[str, list[int]] = {}
    for index, (_, image) in enumerate(photos):
        by_source.setdefault(image.source, []).append(index)
    named = [members for members in by_source.values() if len(members) > 1]
    named_pairs = [(group[0], other) for group in named for other in group[1:]]
    copies = find_copies(paths, named_pairs, lambda done, total: progress("copies", done, total))
    groups = [[(photos[i][0], paths[i]) for i in group] for group in copies.groups]
    leaks = []
    for group in copies.groups:
        training = [i for i in group if photos[i][0] == "train"]
        leaks += [
            (paths[i], paths[training[0]]) for i in group if photos[i][0] != "train" and training
        ]
    detector = Detector(
        SessionConfig(
            model_path=config.model, imgsz=config.imgsz, request=EngineRequest(device="cpu")
        )
    )
    canonical_of_class = np.array([CANONICAL_ID[canonical_name(n)] for n in names], np.int64)
    suspects: list[Suspect] = []
    low = min(config.conf, config.missing_conf)
    for done, (split, image) in enumerate(photos, start=1):
        pixels, _ = read_image(image.path)
        seen, _ = detector.detect(pixels, low)
        scale = np.array([image.width / pixels.shape[1], image.height / pixels.shape[0]] * 2)
        seen = Detections(
            seen.xyxy * scale.astype(np.float32), seen.confidence, seen.class_id, seen.label
        )
        suspects += suspects_in(image, split, seen, canonical_of_class, names, config)
        progress("labels", done, len(photos))
    # surest first: a wrong class by how much more the model believes its class than the label's
    suspects.sort(key=lambda s: (s.kind != "wrong class", s.label_confidence - s.confidence))
    return AuditReport(
        origin=origin,
        model=detector.model_name,
        names=names,
        splits={split: count_split(labelled) for split, labelled in splits.items()},
        copy_groups=groups,
        named_groups=len(named),
        leaks=leaks,
        named_leaks=sum(
            1
            for members in named
            if any(photos[i][0] == "train" for i in members)
            for i in members
            if photos[i][0] != "train"
        ),
        suspects=suspects,
        thresholds={
            "wrong_class_conf": config.conf,
            "missing_label_conf": config.missing_conf,
            "same_place_iou": SAME_PLACE,
            "duplicate_iou": DUPLICATE,
        },
    )
