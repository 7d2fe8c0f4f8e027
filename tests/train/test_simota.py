"""YOLOX's objective: SimOTA picks points in and near a box, and minimising the loss makes
the head find the box."""

from __future__ import annotations

import torch

from train.simota import Grid, Teacher, assign, box_iou, to_xyxy, yolox_loss

SIZE = 128


def test_assignment_takes_points_inside_and_near_the_box_only() -> None:
    grid = Grid.of(SIZE, SIZE)
    raw = torch.zeros(len(grid.offsets), 5 + 3)
    boxes = torch.tensor([[30.0, 40.0, 90.0, 100.0]])
    foreground, matched, ious = assign(
        grid.decode(raw), raw[:, 4], raw[:, 5:], boxes, torch.tensor([1]), grid
    )
    assert foreground.sum() >= 1 and len(matched) == foreground.sum() == len(ious)
    centres = (grid.offsets[foreground] + 0.5) * grid.strides[foreground]
    assert ((centres > boxes[0, :2]) & (centres < boxes[0, 2:])).all()
    assert (matched == 0).all()


def test_each_box_gets_its_own_points_and_no_point_serves_two() -> None:
    grid = Grid.of(SIZE, SIZE)
    raw = torch.zeros(len(grid.offsets), 5 + 2)
    raw[:, 2:4] = 1.5  # predicted boxes about 4.5 strides wide: several points overlap each box
    boxes = torch.tensor([[10.0, 10.0, 60.0, 60.0], [40.0, 40.0, 120.0, 120.0]])
    foreground, matched, _ = assign(
        grid.decode(raw), raw[:, 4], raw[:, 5:], boxes, torch.tensor([0, 1]), grid
    )
    assert set(matched.tolist()) == {0, 1}
    assert int(foreground.sum()) == len(matched) > 2


def test_minimising_the_loss_finds_the_box_with_its_class() -> None:
    torch.manual_seed(0)
    grid = Grid.of(SIZE, SIZE)
    raw = (0.1 * torch.randn(1, len(grid.offsets), 5 + 3)).requires_grad_()
    boxes = [torch.tensor([[30.0, 40.0, 90.0, 100.0]])]
    classes = [torch.tensor([2])]
    optimizer = torch.optim.Adam([raw], lr=0.05)
    first = yolox_loss(raw, boxes, classes, grid)
    for _ in range(150):
        losses = yolox_loss(raw, boxes, classes, grid)
        optimizer.zero_grad()
        losses.total.backward()
        optimizer.step()
    assert losses.total.item() < first.total.item() / 3
    with torch.no_grad():
        scores = torch.sigmoid(raw[0, :, 4]) * torch.sigmoid(raw[0, :, 5:]).max(1).values
        best = int(scores.argmax())
        assert int(torch.sigmoid(raw[0, best, 5:]).argmax()) == 2
        box = to_xyxy(grid.decode(raw[0, :, :4]))[best : best + 1]
        assert box_iou(box, boxes[0]).item() > 0.8
        assert scores[best] > 0.5 and (scores > 0.3).sum() <= 12  # few points claim it


def test_an_image_without_boxes_teaches_nothing_here() -> None:
    grid = Grid.of(SIZE, SIZE)
    raw = torch.zeros(1, len(grid.offsets), 6, requires_grad=True)
    losses = yolox_loss(raw, [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)], grid)
    losses.total.backward()
    assert losses.foreground == 0
    assert raw.grad is not None and (raw.grad[..., 4] > 0).all()  # objectness pushed down


def test_the_teacher_holds_what_nobody_labelled_where_it_already_agrees() -> None:
    """A student that equals its teacher feels no pull from the distillation on the classes
    nobody labelled; one that drifted away from it is pulled back."""
    torch.manual_seed(0)
    grid = Grid.of(SIZE, SIZE)
    head = torch.nn.Conv2d(3, 5 + 3, 1)  # a stand-in detector: the same raw outputs, any input
    teacher_raw = torch.randn(1, len(grid.offsets), 5 + 3)
    distilled = torch.tensor([False, True, True])  # class 0 is labelled, 1 and 2 are not
    teacher = Teacher(head, distilled)
    teacher.raw = teacher_raw
    background = torch.zeros(1, len(grid.offsets), dtype=torch.bool)
    same = teacher_raw.clone().requires_grad_()
    _, loss = teacher.targets(same, background)
    loss.backward()
    assert same.grad is not None
    assert same.grad[..., 5 + 1 :].abs().max() < 1e-5  # already where the teacher is
    assert same.grad[..., 5].abs().max() == 0  # the labelled class is left to the labels
    drifted = (teacher_raw + 2.0).requires_grad_()
    _, pulled = teacher.targets(drifted, background)
    pulled.backward()
    assert drifted.grad is not None and (drifted.grad[..., 5 + 1 :] >= 0).all()
    targets, _ = teacher.targets(same, background)
    objectness = torch.sigmoid(teacher_raw[..., 4])
    assert (targets <= objectness + 1e-6).all()  # never more sure than the teacher


def test_on_a_replayed_picture_every_class_is_distilled() -> None:
    grid = Grid.of(SIZE, SIZE)
    teacher = Teacher(torch.nn.Conv2d(3, 5 + 3, 1), torch.tensor([False, True, True]))
    teacher_raw = torch.randn(2, len(grid.offsets), 5 + 3)
    teacher.raw, teacher.replayed = teacher_raw, torch.tensor([False, True])
    drifted = (teacher_raw + 2.0).requires_grad_()
    background = torch.zeros(2, len(grid.offsets), dtype=torch.bool)
    targets, loss = teacher.targets(drifted, background)
    loss.backward()
    assert drifted.grad is not None
    assert drifted.grad[0, :, 5].abs().max() == 0  # a labelled picture: class 0 is the labels'
    assert drifted.grad[1, :, 5].abs().max() > 0  # a replayed one: the teacher's, class 0 too
    objectness = torch.sigmoid(teacher_raw[1, :, 4])
    assert torch.allclose(targets[1], objectness)  # its objectness is the teacher's, whole
