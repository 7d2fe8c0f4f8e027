"""YOLOX's training objective on its raw outputs (Ge et al., 2021, "YOLOX: Exceeding YOLO
Series in 2021", section 2.1): SimOTA picks, for each labelled box, the k grid points whose
predictions cost least (class cost + 3 × IoU cost, among points inside the box and near its
centre; k from the sum of the ten best IoUs); those points learn the box (IoU loss), their
class (BCE against the IoU) and objectness, every other point learns "nothing here".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

CENTRE_RADIUS = 2.5  # strides around a box's centre where points may take it
IOU_WEIGHT_IN_COST = 3.0
IOU_LOSS_WEIGHT = 5.0
TOP_IOUS = 10
OUTSIDE_COST = 1e5
DISTILL_WEIGHT = 1.0  # 2 or 5 forgot more COCO on home photos (docs/training.md)
TEACHER_BOX_SCORE = 0.3  # where the starting model is this sure, its box is distilled too


@dataclass(frozen=True)
class Grid:
    """The points of a YOLOX head at one input size: cell offsets (A×2) and strides (A×1)."""

    offsets: torch.Tensor
    strides: torch.Tensor

    @classmethod
    def of(cls, height: int, width: int, strides: tuple[int, ...] = (8, 16, 32)) -> Grid:
        offsets, steps = [], []
        for stride in strides:
            ys, xs = torch.meshgrid(
                torch.arange(height // stride), torch.arange(width // stride), indexing="ij"
            )
            offsets.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], 1))
            steps.append(torch.full((xs.numel(), 1), stride))
        return cls(torch.cat(offsets).float(), torch.cat(steps).float())

    def to(self, device: torch.device | str) -> Grid:
        return Grid(self.offsets.to(device), self.strides.to(device))

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw (…, A, 4) regressions → centre-x, centre-y, width, height in input pixels."""
        centres = (raw[..., :2] + self.offsets) * self.strides
        sizes = torch.exp(raw[..., 2:4].clamp(max=10.0)) * self.strides
        return torch.cat([centres, sizes], -1)


@dataclass(frozen=True)
class Losses:
    total: torch.Tensor
    iou: float
    objectness: float
    classes: float
    foreground: int


def yolox_loss(
    raw: torch.Tensor,
    boxes: list[torch.Tensor],
    classes: list[torch.Tensor],
    grid: Grid,
    teacher: Teacher | None = None,
) -> Losses:
    """`raw`: B×A×(5+K) logits; `boxes[b]`: M×4 xyxy in input pixels; `classes[b]`: M outputs.
    With a `teacher`, the points no labelled box takes learn what the starting model says
    about the classes nobody labelled, instead of "nothing here" (see `Teacher`)."""
    batch, points, width = raw.shape
    class_count = width - 5
    predicted = grid.decode(raw[..., :4])
    objectness_target = torch.zeros(batch, points, device=raw.device)
    foreground_mask = torch.zeros(batch, points, dtype=torch.bool, device=raw.device)
    fg_predicted, fg_boxes, fg_class_targets = [], [], []
    for b in range(batch):
        if len(boxes[b]) == 0:
            continue
        with torch.no_grad():
            foreground, matched, ious = assign(
                predicted[b].detach(),
                raw[b, :, 4].detach(),
                raw[b, :, 5:].detach(),
                boxes[b],
                classes[b],
                grid,
            )
        if not foreground.any():
            continue
        foreground_mask[b] = foreground
        fg_predicted.append(predicted[b, foreground])
        fg_boxes.append(boxes[b][matched])
        onehot = F.one_hot(classes[b][matched], class_count).float()
        fg_class_targets.append((b, foreground, onehot * ious[:, None]))
    distilled = torch.zeros((), device=raw.device)
    if teacher is not None:
        objectness_target, distilled = teacher.targets(raw, foreground_mask)
    objectness_target = torch.where(foreground_mask, 1.0, objectness_target)
    count = sum(len(p) for p in fg_predicted)
    objectness = F.binary_cross_entropy_with_logits(raw[..., 4], objectness_target, reduction="sum")
    if count == 0:
        total = (objectness + distilled) / max(batch, 1)
        return Losses(total, 0.0, objectness.item() / max(batch, 1), 0.0, 0)
    iou = 1 - box_iou_paired(torch.cat(fg_predicted), torch.cat(fg_boxes)) ** 2
    class_loss = sum(
        F.binary_cross_entropy_with_logits(raw[b, fg, 5:], target, reduction="sum")
        for b, fg, target in fg_class_targets
    )
    assert isinstance(class_loss, torch.Tensor)
    total = (IOU_LOSS_WEIGHT * iou.sum() + objectness + class_loss + distilled) / count
    return Losses(
        total, iou.sum().item() / count, objectness.item() / count, class_loss.item() / count, count
    )


class Teacher:
    """Learning without forgetting (Li and Hoiem, 2016) for the classes nobody labelled: the
    starting model's own outputs on the same training pictures. Where no labelled box takes a
    point, its objectness learns the starting model's, in so far as the starting model thought
    it one of those classes; its scores for those classes learn the starting model's, weighed
    by its objectness; and where it was sure, its box follows the starting model's. On a
    replayed picture (one of the starting model's world, nobody's labels) every class is
    distilled."""

    def __init__(self, model: torch.nn.Module, distilled: torch.Tensor) -> None:
        self.model = model.eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        self.distilled = distilled  # bool over the class outputs: those nobody labelled
        self.raw: torch.Tensor | None = None
        self.replayed: torch.Tensor | None = None

    def see(self, images: torch.Tensor, replayed: torch.Tensor | None = None) -> None:
        """The starting model's outputs on `images`; `replayed` (B bool) marks replayed ones."""
        with torch.no_grad():
            self.raw = self.model(images)
        self.replayed = replayed

    def targets(
        self, raw: torch.Tensor, foreground: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The objectness targets of every point (B×A) and the summed distillation loss."""
        assert self.raw is not None, "see() the batch first"
        taught = self.raw
        objectness = torch.sigmoid(taught[..., 4])
        scores = torch.sigmoid(taught[..., 5:])
        classes = self.distilled[None, :].expand(len(raw), -1)  # B×K: the classes distilled
        if self.replayed is not None:
            classes = classes | self.replayed[:, None]
        classes = classes[:, None, :].float()
        theirs = (scores * classes).amax(-1)
        share = (theirs / scores.amax(-1).clamp(min=1e-6)).clamp(max=1.0)
        objectness_target = objectness * share
        background = ~foreground
        weight = (objectness * background)[..., None] * classes
        class_loss = (
            F.binary_cross_entropy_with_logits(raw[..., 5:], scores, reduction="none") * weight
        ).sum()
        sure = (objectness * theirs >= TEACHER_BOX_SCORE) & background
        box_loss = (F.l1_loss(raw[..., :4], taught[..., :4], reduction="none").sum(-1) * sure).sum()
        return objectness_target, DISTILL_WEIGHT * (class_loss + box_loss)


def assign(
    predicted: torch.Tensor,
    objectness: torch.Tensor,
    class_logits: torch.Tensor,
    boxes: torch.Tensor,
    classes: torch.Tensor,
    grid: Grid,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """SimOTA for one image: the foreground points (A bool), the box each takes (F) and its
    predicted box's IoU with it (F)."""
    centres = (grid.offsets + 0.5) * grid.strides  # A×2
    x, y = centres[:, 0], centres[:, 1]
    in_box = (x > boxes[:, 0:1]) & (x < boxes[:, 2:3]) & (y > boxes[:, 1:2]) & (y < boxes[:, 3:4])
    box_centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    radius = CENTRE_RADIUS * grid.strides[:, 0]
    in_centre = ((x - box_centres[:, 0:1]).abs() < radius) & (
        (y - box_centres[:, 1:2]).abs() < radius
    )
    candidate = (in_box | in_centre).any(0)
    none = torch.zeros(len(centres), dtype=torch.bool, device=boxes.device)
    if not candidate.any():
        return none, torch.zeros(0, dtype=torch.long), torch.zeros(0)
    pairwise = box_iou(boxes, to_xyxy(predicted[candidate]))  # M×C
    probability = (
        (torch.sigmoid(class_logits[candidate]) * torch.sigmoid(objectness[candidate, None]))
        .sqrt()
        .clamp(1e-6, 1 - 1e-6)
    )
    negative = -torch.log1p(-probability)  # C×K: the cost of each class being "no"
    chosen = probability[:, classes].T  # M×C: the labelled class's probability
    class_cost = negative.sum(1)[None, :] - torch.log(chosen) + torch.log1p(-chosen)
    cost = (
        class_cost
        - IOU_WEIGHT_IN_COST * torch.log(pairwise + 1e-8)
        + OUTSIDE_COST * ~(in_box & in_centre)[:, candidate]
    )
    top = torch.topk(pairwise, min(TOP_IOUS, pairwise.shape[1]), dim=1).values
    dynamic_k = top.sum(1).int().clamp(min=1)
    matching = torch.zeros_like(cost, dtype=torch.bool)
    for m in range(len(boxes)):
        k = min(int(dynamic_k[m]), cost.shape[1])
        lowest = torch.topk(cost[m], k, largest=False).indices
        matching[m, lowest] = True
    taken_twice = matching.sum(0) > 1
    if taken_twice.any():
        best = cost[:, taken_twice].argmin(0)
        matching[:, taken_twice] = False
        matching[best, taken_twice.nonzero()[:, 0]] = True
    taken = matching.any(0)
    matched = matching[:, taken].float().argmax(0)
    foreground = none.clone()
    foreground[candidate.nonzero()[:, 0][taken]] = True
    ious = pairwise[:, taken][matched, torch.arange(int(taken.sum()))]
    return foreground, matched, ious


def to_xyxy(cxcywh: torch.Tensor) -> torch.Tensor:
    half = cxcywh[..., 2:] / 2
    return torch.cat([cxcywh[..., :2] - half, cxcywh[..., :2] + half], -1)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of xyxy boxes: M×N."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


def box_iou_paired(predicted_cxcywh: torch.Tensor, target_xyxy: torch.Tensor) -> torch.Tensor:
    """IoU of each predicted box (centre, size) with its own target (corners)."""
    a = to_xyxy(predicted_cxcywh)
    top_left = torch.maximum(a[:, :2], target_xyxy[:, :2])
    bottom_right = torch.minimum(a[:, 2:], target_xyxy[:, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    area_a = predicted_cxcywh[:, 2:].prod(-1)
    area_b = (target_xyxy[:, 2:] - target_xyxy[:, :2]).prod(-1)
    return inter / (area_a + area_b - inter + 1e-9)
