"""`officescore export ...` commands. torch is imported only when a command runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from edge.cli.cli_common import (
    DeviceOption,
    FlagHelpCommand,
    FlagHelpGroup,
    ImgszOption,
    ModelOption,
    flag,
    optional_dependencies,
    parse_size,
    say,
    stdout,
    user_errors,
)
from edge.core.errors import OfficeScoreError
from edge.inference.engine_names import Device
from edge.inference.zoo import resolve_model

if TYPE_CHECKING:
    from rich.console import Console

    from edge.runs.calibration import CalibrationReport
    from export.evaluate import EvaluationReport
    from export.run import VariantResult

export_app = typer.Typer(
    cls=FlagHelpGroup, no_args_is_help=True, help="Turn source models into verified ONNX models."
)


EXIT_PARITY_FAILED = 1


@export_app.command(cls=FlagHelpCommand)
def maskrcnn(
    out: Annotated[Path, typer.Option(help="Where to write the ONNX model.")],
    from_torchscript: Annotated[
        Path | None, typer.Option("--from", help="A TorchScript Mask R-CNN (.pt).")
    ] = None,
    torchvision: Annotated[
        str | None, typer.Option(help="maskrcnn_resnet50_fpn or maskrcnn_resnet50_fpn_v2.")
    ] = None,
    weights: Annotated[
        str, typer.Option(help="DEFAULT (COCO, downloads) or a state_dict .pth file.")
    ] = "DEFAULT",
    labels: Annotated[
        Path | None, typer.Option(help="Class names, one per line (default: COCO's 91).")
    ] = None,
    size: Annotated[str, typer.Option(help="Input size HEIGHTxWIDTH, or dynamic.")] = "480x640",
    opset: Annotated[int, typer.Option(help="ONNX opset, 11..20.")] = 17,
    box_score_thresh: Annotated[
        float, typer.Option(help="In-graph score threshold (>= 0.05).")
    ] = 0.05,
    rpn_post_nms_top_n: Annotated[
        int | None, typer.Option(help="Proposals kept after RPN NMS (default: the source's).")
    ] = None,
    detections_per_img: Annotated[
        int | None, typer.Option(help="Most detections per image.")
    ] = None,
    slim: Annotated[bool, flag(help="Simplify the graph with onnxslim.")] = False,
    fp16: Annotated[
        bool,
        flag(
            help="Also write NAME.fp16.onnx: float16 weights, float32 inputs and outputs, for "
            "CUDA; its parity is shown, not guaranteed."
        ),
    ] = False,
    int8: Annotated[
        bool,
        flag(
            help="Also write NAME.int8.onnx: static int8, calibrated on the parity images; "
            "about 2x faster on CPUs with VNNI/AMX; its accuracy is shown, not guaranteed."
        ),
    ] = False,
    parity_images: Annotated[
        Path | None, typer.Option(help="A folder of real images for the parity check.")
    ] = None,
    force: Annotated[bool, flag(help="Keep the model even when parity fails.")] = False,
) -> None:
    """Export a Mask R-CNN to ONNX and prove it matches the source, image by image."""
    from rich.console import Console
    from rich.table import Table

    err = Console(stderr=True, highlight=False)
    with user_errors(), optional_dependencies():
        from export.onnx_export import ExportOptions
        from export.run import ExportRequest, run_export

        options = ExportOptions(
            size=parse_size(size),
            opset=opset,
            box_score_thresh=box_score_thresh,
            rpn_post_nms_top_n=rpn_post_nms_top_n,
            detections_per_img=detections_per_img,
            slim=slim,
            fp16=fp16,
            int8=int8,
        )
        request = ExportRequest(
            out=out,
            from_torchscript=from_torchscript,
            torchvision=torchvision,
            weights=weights,
            labels_file=labels,
            parity_images=parity_images,
            force=force,
            options=options,
        )
        result = run_export(request)
    if result.report.torchvision_kernels == "fallback":
        err.print(
            "warning: torchvision's C++ kernels do not load beside this torch build; the "
            "source model ran on slow pure-torch nms/roi_align",
            markup=False,
        )
    table = Table(title=f"parity: ONNX Runtime CPU vs {result.report.torchvision_kernels} torch")
    table.add_column("image", no_wrap=True)
    for column in (
        "detections src/onnx",
        "labels",
        "box px",
        "score Δ",
        "mask IoU min/mean",
    ):
        table.add_column(column, overflow="fold")
    for row in result.report.images:
        table.add_row(
            row.image,
            f"{row.source_detections}/{row.onnx_detections}",
            f"{row.label_agreement:.0%}",
            f"{row.max_box_error_px:.3f}",
            f"{row.max_score_diff:.0e}",
            f"{row.min_mask_iou:.3f}/{row.mean_mask_iou:.3f}",
        )
    stdout().print(table)
    err.print(
        f"report: {result.report_path}; export took {result.seconds:.1f} s, "
        f"model {result.size_bytes / 1e6:.1f} MB",
        markup=False,
    )
    if result.report.passed:
        err.print(f"parity passed: {out}", markup=False)
    else:
        for failure in result.report.failures:
            err.print(f"parity failed: {failure}", markup=False)
        kept = (
            f"kept anyway (--force): {out}" if result.model else "model removed (--force keeps it)"
        )
        err.print(kept, markup=False)
    for variant in result.variants:
        print_variant(err, variant)
    if not result.report.passed:
        raise typer.Exit(EXIT_PARITY_FAILED)


@export_app.command(cls=FlagHelpCommand)
def triton(
    repo: Annotated[Path, typer.Option(help="The Triton model repository to write into.")],
    model: ModelOption = None,
    name: Annotated[
        str | None, typer.Option(help="Model name in the repository (default: the file's stem).")
    ] = None,
    max_batch: Annotated[int, typer.Option(min=0, help="Largest batch Triton forms.")] = 8,
    instances: Annotated[int, typer.Option(min=1, help="Model instances Triton runs.")] = 1,
    kind: Annotated[str, typer.Option(help="cpu or gpu instances.")] = "cpu",
    tensorrt: Annotated[
        bool, flag("--tensorrt", help="GPU: ONNX Runtime hands the graph to TensorRT (fp16).")
    ] = False,
    threads: Annotated[
        int, typer.Option(min=0, help="ONNX Runtime threads per instance (0: its default).")
    ] = 0,
    python_backend: Annotated[
        bool,
        flag(help="Serve through Triton's Python backend running ONNX Runtime (PyTriton)."),
    ] = False,
) -> None:
    """Write a Triton model repository for a detector.

    Triton's native ONNX Runtime backend, or its Python backend."""
    from edge.inference.modelcard import bundled_model_path
    from edge.scale.triton_repository import TritonRequest, write_repository

    with user_errors():
        path = resolve_model(model, say) or bundled_model_path()
        request = TritonRequest(
            model=path,
            repo=repo,
            name=name or path.stem,
            max_batch=max_batch,
            instances=instances,
            kind=kind,
            tensorrt=tensorrt,
            threads=threads,
            python_backend=python_backend,
        )
        folder = write_repository(request)
    files = "1/model.onnx, 1/model.py" if python_backend else "1/model.onnx"
    say(f"wrote {folder} (config.pbtxt, {files}, officescore.toml)")


def print_variant(err: Console, variant: VariantResult) -> None:
    rows = variant.report.images
    err.print(
        f"{variant.precision} model (opt-in, not the default): {variant.model}, "
        f"{variant.seconds:.1f} s; against "
        f"the source: labels agree ≥ {min(r.label_agreement for r in rows):.0%}, boxes within "
        f"{max(r.max_box_error_px for r in rows):.2f} px, mask IoU ≥ "
        f"{min(r.min_mask_iou for r in rows):.3f} ({variant.report_path})",
        markup=False,
    )
    if not variant.report.passed:
        err.print(
            f"{variant.precision} is outside the fp32 parity thresholds here; check it on your "
            "own images (officescore evaluate) before you use it",
            markup=False,
        )


def evaluate(
    images: Annotated[Path, typer.Option(help="Folder holding the photos.")],
    coco: Annotated[
        Path | None, typer.Option(help="COCO-format annotations (instances JSON) for mAP.")
    ] = None,
    ratings: Annotated[
        Path | None,
        typer.Option(help="A person's rating band per photo (TSV): compare the scores with it."),
    ] = None,
    tolerance: Annotated[
        int, typer.Option(min=0, help="Ratings: points a score may lie outside its band.")
    ] = 5,
    model: ModelOption = None,
    torchscript: Annotated[
        Path | None, typer.Option(help="Its TorchScript source, to report the mAP delta.")
    ] = None,
    card: Annotated[
        Path | None, typer.Option(help="Model card, if not beside or inside the model.")
    ] = None,
    device: DeviceOption = Device.auto,
    conf: Annotated[float, typer.Option(help="mAP: lowest score kept (mAP wants low).")] = 0.05,
    imgsz: ImgszOption = None,
    json_output: Annotated[bool, flag("--json", help="Print the report as JSON.")] = False,
) -> None:
    """A model's COCO mAP (--coco), and its scores against a person's ratings (--ratings).

    Box (and mask) mAP with per-class AP and recall."""
    import json

    from rich.console import Console
    from rich.progress import Progress

    from edge.inference.engines import EngineRequest

    if coco is None and ratings is None:
        with user_errors():
            raise OfficeScoreError("give --coco annotations for mAP, --ratings, or both")
    output: dict[str, object] = {}
    with user_errors(), optional_dependencies():
        model_path = resolve_model(model, say)
        engine = EngineRequest(device=device.value)
        if coco is not None:
            from export.evaluate import EvaluateRequest, run_evaluation

            request = EvaluateRequest(
                model=model_path,
                coco=coco,
                images=images,
                torchscript=torchscript,
                card=card,
                engine=engine,
                conf=conf,
                imgsz=imgsz,
            )
            with Progress(console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("evaluating", total=None)
                report = run_evaluation(
                    request, lambda done, total: bar.update(task, completed=done, total=total)
                )
            output["coco"] = report.to_dict()
            if not json_output:
                print_map(report, coco)
        if ratings is not None:
            from edge.inference.pipeline import Pipeline, PipelineConfig
            from edge.inference.session import SessionConfig
            from edge.runs.calibration import calibrate, read_ratings

            session = SessionConfig(
                model_path=model_path,
                card_path=card,
                imgsz=imgsz,
                request=engine,
            )
            calibration = calibrate(
                Pipeline(PipelineConfig(session=session)),
                images,
                read_ratings(ratings),
                tolerance,
                coco,
            )
            output["ratings"] = calibration.to_dict()
            if not json_output:
                print_calibration(calibration)
    if json_output:
        print(json.dumps(output))


def print_map(report: EvaluationReport, coco: Path) -> None:
    from rich.table import Table

    from export.evaluate import METRIC_NAMES

    console = stdout()
    table = Table(title=f"COCO mAP on {coco.name}")
    table.add_column("model")
    table.add_column("type")
    for name in METRIC_NAMES:
        table.add_column(name)
    rows = [report.onnx] + ([report.torchscript] if report.torchscript else [])
    for metrics in rows:
        for kind, values in (("bbox", metrics.bbox), ("segm", metrics.segm)):
            if values is not None:
                table.add_row(metrics.name, kind, *(f"{values[n]:.3f}" for n in METRIC_NAMES))
    console.print(table)
    if report.onnx.per_class:
        classes = Table(title="objects the rubric counts: found or missed (box, IoU 0.5 recall)")
        for column in ("class", "instances", "AP", "AP50", "recall@0.5"):
            classes.add_column(column)
        for name, values in report.onnx.per_class.items():
            classes.add_row(
                name,
                str(int(values["instances"])),
                f"{values['AP']:.3f}",
                f"{values['AP50']:.3f}",
                f"{values['recall50']:.0%}",
            )
        console.print(classes)


def print_calibration(report: CalibrationReport) -> None:
    from rich.table import Table

    console = stdout()
    table = Table(title=f"scores by {report.model} beside a person's rating")
    for column in ("photo", "band", "score", "", "what counted"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        table.add_row(
            row.rating.file,
            f"{row.rating.low}–{row.rating.high}",
            str(row.score),
            "✓" if row.within else "✗",
            ", ".join(row.counted) or "nothing",
        )
    console.print(table)
    console.print(
        f"{report.within} of {len(report.rows)} photos score within their band "
        f"(± {report.tolerance} points)",
        markup=False,
    )
    agreement = report.criterion_agreement()
    if agreement:
        console.print(
            "criteria that agree with the ground truth (the same rubric on COCO's own boxes): "
            + ", ".join(f"{name} {agree}/{total}" for name, (agree, total) in agreement.items()),
            markup=False,
        )
