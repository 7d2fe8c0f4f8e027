"""`officescore train`: fine-tune a YOLOX detector on labelled photos, on the CPU or GPU there
is. Each epoch ends with a whole checkpoint (`last.pt`, written aside and renamed into
place); the best by validation AP is kept as `best.pt`; `resume` goes on from `last.pt`."""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from edge.core.errors import OfficeScoreError
from edge.inference.engines import EngineRequest
from edge.inference.modelcard import ModelCard, bundled_model_path, load_card_file
from edge.inference.session import Detector, SessionConfig
from edge.video.batch import IMAGE_SUFFIXES, expand_inputs
from train.augment import Augmentation, Sample, load_sample, mosaic, place, read_bgr, unlabelled
from train.classes import ClassPlan, plan_classes
from train.datasets import Dataset, read_dataset
from train.simota import Grid, Teacher, yolox_loss
from train.validate import ValidationResult, Validator
from train.yolox_graph import class_count, raw_logits, to_torch, with_classes

CHECKPOINT_VERSION = 1
TEACHER_CONF = 0.3  # the starting model's detections kept as targets for classes nobody labelled
WARMUP_STEPS = 100
FINAL_LR_FRACTION = 0.05
GRADIENT_CLIP = 10.0


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    data: Path
    val: Path | None = None  # None: the data's own validation split, or one held out
    model: Path | None = None  # None: the bundled detector
    run_dir: Path
    epochs: int = 30
    imgsz: int = 416
    batch: int = 8
    device: str = "auto"
    seed: int = 0
    keep_base: bool = True
    maps: dict[str, str] = field(default_factory=dict)
    attribute_classes: tuple[str, ...] = ()
    resume: bool = False
    lr: float = 1e-3
    optimizer: str = "adamw"
    val_fraction: float = 0.2
    replay: tuple[Path, ...] = ()  # photos of the starting model's world, its outputs as targets
    replay_per_step: int = 2  # replayed pictures added to each step
    augmentation: Augmentation = field(default_factory=Augmentation)


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    iou_loss: float
    objectness_loss: float
    class_loss: float
    ap: float
    ap50: float
    lr: float
    seconds: float


@dataclass
class Prepared:
    """Everything a run needs, built once: data, classes, graphs, module, validator."""

    dataset: Dataset
    base_card: ModelCard
    plan: ClassPlan
    export_graph: onnx.ModelProto
    module: torch.nn.Module
    device: torch.device
    samples: list[Sample]
    validator: Validator
    teacher_boxes: int = 0
    teacher: Teacher | None = None
    replayed: list[Sample] = field(default_factory=list)


class Progress:
    """What the loop tells as it goes; the command line draws it."""

    def note(self, text: str) -> None: ...

    def step(self, epoch: int, step: int, steps: int, loss: float) -> None: ...

    def epoch_done(self, record: EpochRecord, best: bool) -> None: ...


def choose_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise OfficeScoreError("--device cuda: no CUDA device is available here")
    if name not in ("cpu", "cuda"):
        raise OfficeScoreError(f"--device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def read_training_data(config: TrainConfig, progress: Progress) -> tuple[torch.device, Dataset]:
    """The device and the labelled photos a run asks for, its options checked first."""
    if config.epochs < 1 or config.batch < 1:
        raise OfficeScoreError("--epochs and --batch must be at least 1")
    if config.replay_per_step < 1:
        raise OfficeScoreError("--replay-per-step must be at least 1")
    if config.replay and not config.keep_base:
        raise OfficeScoreError("--replay keeps the starting model's classes: not with --keep none")
    device = choose_device(config.device)
    dataset = read_dataset(
        config.data,
        val_path=config.val,
        attribute_classes=config.attribute_classes,
        val_fraction=config.val_fraction,
        seed=config.seed,
    )
    for line in dataset.notes:
        progress.note(line)
    return device, dataset


def prepare(config: TrainConfig, progress: Progress) -> Prepared:
    if config.imgsz < 64 or config.imgsz % 32:
        raise OfficeScoreError(f"--imgsz must be a multiple of 32 (64 or more), got {config.imgsz}")
    device, dataset = read_training_data(config, progress)
    model_path = config.model or bundled_model_path()
    base_card = load_card_file(model_path, None)
    if base_card is None or base_card.adapter != "yolox":
        raise OfficeScoreError(f"{model_path}: training needs a YOLOX model with a card beside it")
    base = onnx.load(str(model_path))
    if class_count(base) != len(base_card.labels):
        raise OfficeScoreError(f"{model_path}: its card and its class outputs differ in number")
    plan = plan_classes(dataset.names, base_card, keep_base=config.keep_base, mapping=config.maps)
    for line in plan.describe():
        progress.note(line)
    export_graph = with_classes(base, plan.source_row)
    module = to_torch(raw_logits(export_graph)).to(device)
    uncovered = sorted(plan.uncovered_base_rows())
    distiller = None
    if config.keep_base and (uncovered or config.replay):
        distilled = torch.zeros(len(plan.labels), dtype=torch.bool, device=device)
        distilled[uncovered] = True
        distiller = Teacher(copy.deepcopy(module), distilled)
    teacher = _teacher_targets(dataset, plan, model_path, config.imgsz)
    longest = math.ceil(config.imgsz * config.augmentation.scale[1])
    samples = [
        load_sample(image, plan.output_of_class, longest, teacher.get(image.path))
        for image in dataset.train.images
    ]
    replayed = (
        [
            load_sample(unlabelled(path), plan.output_of_class, longest)
            for path in expand_inputs(config.replay, IMAGE_SUFFIXES, "images")
        ]
        if config.replay
        else []
    )
    if replayed:
        progress.note(
            f"{len(replayed)} photos replayed with the starting model's outputs as targets "
            f"({config.replay_per_step} a step)"
        )
    validator = Validator(dataset.val, config.imgsz, plan.output_of_class)
    taught = sum(len(boxes) for boxes, _ in teacher.values())
    if taught:
        progress.note(
            f"{taught} boxes of classes nobody labelled come from the starting model "
            f"(confidence ≥ {TEACHER_CONF}), so they are not learnt as background"
        )
    return Prepared(
        dataset,
        base_card,
        plan,
        export_graph,
        module,
        device,
        samples,
        validator,
        taught,
        distiller,
        replayed,
    )


def _teacher_targets(
    dataset: Dataset, plan: ClassPlan, model_path: Path, imgsz: int
) -> dict[Path, tuple[np.ndarray, np.ndarray]]:
    rows = plan.uncovered_base_rows()
    if not rows:
        return {}
    detector = Detector(
        SessionConfig(model_path=model_path, imgsz=imgsz, request=EngineRequest(device="cpu"))
    )
    row_of_label = {label: i for i, label in enumerate(detector.card.labels)}
    targets = {}
    for image in dataset.train.images:
        pixels = read_bgr(image.path)
        found, _ = detector.detect(pixels, TEACHER_CONF)
        outputs = np.array([row_of_label[str(label)] for label in found.label], np.int64)
        keep = np.isin(outputs, list(rows))
        ratio = np.array([image.width / pixels.shape[1], image.height / pixels.shape[0]] * 2)
        targets[image.path] = ((found.xyxy[keep] * ratio).astype(np.float32), outputs[keep])
    return targets


def train(config: TrainConfig, prepared: Prepared, progress: Progress) -> list[EpochRecord]:
    """Run the epochs (from the last checkpoint when resuming); returns every epoch's record."""
    torch.manual_seed(config.seed)
    module, device = prepared.module, prepared.device
    optimizer: torch.optim.Optimizer = (
        torch.optim.SGD(_parameter_groups(module), lr=config.lr, momentum=0.9, nesterov=True)
        if config.optimizer == "sgd"
        else torch.optim.AdamW(_parameter_groups(module), lr=config.lr)
    )
    history: list[EpochRecord] = []
    best_ap = -1.0
    start = 1
    last, best_path = config.run_dir / "last.pt", config.run_dir / "best.pt"
    if config.resume:
        state = load_checkpoint(last, prepared.plan, config)
        module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history = [EpochRecord(**record) for record in state["history"]]
        best_ap, start = float(state["best_ap"]), int(state["epoch"]) + 1
        progress.note(f"resuming after epoch {state['epoch']} of {config.epochs}")
    steps_per_epoch = math.ceil(len(prepared.samples) / config.batch)
    total_steps = steps_per_epoch * config.epochs
    grid = Grid.of(config.imgsz, config.imgsz).to(device)
    for epoch in range(start, config.epochs + 1):
        started = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        order = rng.permutation(len(prepared.samples))
        module.train()
        sums = np.zeros(4)
        for step in range(steps_per_epoch):
            global_step = (epoch - 1) * steps_per_epoch + step
            lr = _learning_rate(config.lr, global_step, total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            picked = order[step * config.batch : (step + 1) * config.batch]
            images, boxes, classes = _batch(prepared.samples, picked, config, rng, device)
            replayed = None
            if prepared.replayed:
                images, boxes, classes, replayed = _with_replay(
                    prepared.replayed, (images, boxes, classes), config, rng, device
                )
            if prepared.teacher is not None:
                prepared.teacher.see(images, replayed)
            losses = yolox_loss(module(images), boxes, classes, grid, prepared.teacher)
            optimizer.zero_grad(set_to_none=True)
            losses.total.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), GRADIENT_CLIP)
            optimizer.step()
            sums += (losses.total.item(), losses.iou, losses.objectness, losses.classes)
            progress.step(epoch, step + 1, steps_per_epoch, losses.total.item())
        result = prepared.validator.run(module, device)
        means = sums / steps_per_epoch
        record = EpochRecord(
            epoch=epoch,
            loss=round(float(means[0]), 4),
            iou_loss=round(float(means[1]), 4),
            objectness_loss=round(float(means[2]), 4),
            class_loss=round(float(means[3]), 4),
            ap=result.ap,
            ap50=result.ap50,
            lr=lr,
            seconds=round(time.perf_counter() - started, 1),
        )
        history.append(record)
        improved = result.ap > best_ap
        if improved:
            best_ap = result.ap
            save_atomically({"model": module.state_dict(), "epoch": epoch}, best_path)
        save_atomically(
            {
                "version": CHECKPOINT_VERSION,
                "epoch": epoch,
                "model": module.state_dict(),
                "optimizer": optimizer.state_dict(),
                "history": [asdict(r) for r in history],
                "best_ap": best_ap,
                "labels": prepared.plan.labels,
                "imgsz": config.imgsz,
            },
            last,
        )
        progress.epoch_done(record, improved)
    return history


def _batch(
    samples: list[Sample],
    picked: np.ndarray,
    config: TrainConfig,
    rng: np.random.Generator,
    device: torch.device,
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    size, augmentation = config.imgsz, config.augmentation
    pictures = []
    for index in picked:
        if len(samples) >= 4 and rng.random() < augmentation.mosaic:
            others = rng.choice(len(samples), 3, replace=False)
            quarters = [place(samples[i], size, rng, augmentation) for i in (index, *others)]
            pictures.append(mosaic(quarters, size, rng))
        else:
            pictures.append(place(samples[index], size, rng, augmentation))
    images = torch.from_numpy(
        np.stack([p.image.transpose(2, 0, 1) for p in pictures]).astype(np.float32)
    ).to(device)
    boxes = [torch.from_numpy(p.boxes).to(device) for p in pictures]
    classes = [torch.from_numpy(p.classes).to(device) for p in pictures]
    return images, boxes, classes


def _with_replay(
    replayed: list[Sample],
    batch: tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]],
    config: TrainConfig,
    rng: np.random.Generator,
    device: torch.device,
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
    """The batch with `replay_per_step` replayed pictures after it (placed alone, never in a
    mosaic: their every output is the starting model's), and which pictures those are."""
    images, boxes, classes = batch
    picked = rng.choice(
        len(replayed), config.replay_per_step, replace=len(replayed) < config.replay_per_step
    )
    pictures = [place(replayed[i], config.imgsz, rng, config.augmentation) for i in picked]
    extra = torch.from_numpy(
        np.stack([p.image.transpose(2, 0, 1) for p in pictures]).astype(np.float32)
    ).to(device)
    nothing = [torch.zeros((0, 4), device=device) for _ in pictures]
    none = [torch.zeros(0, dtype=torch.int64, device=device) for _ in pictures]
    flags = torch.zeros(len(images) + len(pictures), dtype=torch.bool, device=device)
    flags[len(images) :] = True
    return torch.cat([images, extra]), boxes + nothing, classes + none, flags


def _parameter_groups(module: torch.nn.Module) -> list[dict[str, Any]]:
    """Weight decay on convolution weights, none on biases."""
    weights = [p for name, p in module.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in module.named_parameters() if not name.endswith("weight")]
    return [{"params": weights, "weight_decay": 5e-4}, {"params": biases, "weight_decay": 0.0}]


def _learning_rate(peak: float, step: int, total: int) -> float:
    """Linear warm-up, then a cosine down to a twentieth."""
    warmup = min(WARMUP_STEPS, max(1, total // 10))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (
        FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress))
    )


def save_atomically(state: dict[str, Any], path: Path) -> None:
    """Write aside, then rename: a crash or Ctrl-C mid-write leaves the previous file whole."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        torch.save(state, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def load_checkpoint(path: Path, plan: ClassPlan, config: TrainConfig) -> dict[str, Any]:
    if not path.is_file():
        raise OfficeScoreError(f"--resume: no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise OfficeScoreError(f"--resume: {path} is not a whole checkpoint ({error})") from None
    if state.get("version") != CHECKPOINT_VERSION:
        raise OfficeScoreError(f"--resume: {path} is from another version of officescore")
    if tuple(state["labels"]) != plan.labels or int(state["imgsz"]) != config.imgsz:
        raise OfficeScoreError(
            f"--resume: {path} was trained with other classes or size; start a new run"
        )
    if int(state["epoch"]) >= config.epochs:
        raise OfficeScoreError(
            f"--resume: {path} already finished epoch {state['epoch']}; ask for more --epochs"
        )
    return dict(state)


def validate_start(prepared: Prepared) -> ValidationResult:
    """The starting model's validation AP (before any training): the 'before' of the table."""
    return prepared.validator.run(prepared.module, prepared.device)
