"""Benchmark results as a table, JSON, CSV and a plot, with speed-ups computed in-run."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks.runners import STAGES, BenchResult


def speedup(result: BenchResult, results: list[BenchResult]) -> float | None:
    """End-to-end p50 of the TorchScript baseline at the same size and threads over this one's.

    None when there is no such baseline, or it ran on fallback kernels (not a fair baseline).
    """
    baseline = next(
        (
            r
            for r in results
            if r.backend == "torchscript" and r.size == result.size and r.threads == result.threads
        ),
        None,
    )
    if baseline is None or baseline is result or baseline.kernels != "native":
        return None
    return baseline.summary("end_to_end")["p50"] / result.summary("end_to_end")["p50"]


def rows(results: list[BenchResult]) -> list[dict[str, Any]]:
    table = []
    for result in results:
        end_to_end = result.summary("end_to_end")
        row: dict[str, Any] = {
            "backend": result.backend,
            "model": result.model,
            "size": f"{result.size[0]}x{result.size[1]}",
            "threads": result.threads,
            "provider": result.provider,
            "precision": result.precision,
            "torchvision_kernels": result.kernels,
            "detections": result.detections,
            **{
                f"{stage}_{measure}_ms": round(value, 3)
                for stage in STAGES
                if stage in result.stages_ms
                for measure, value in result.summary(stage).items()
                if measure != "fps"
            },
            **_overhead(result),
            **{f"end_to_end_{k}": round(v, 3) for k, v in end_to_end.items()},
            "speedup_vs_torchscript": _round(speedup(result, results)),
            "parity_vs_onnxruntime_fp32": result.parity.to_dict() if result.parity else None,
            "peak_rss_mb": round(result.peak_rss_mb, 1),
        }
        table.append(row)
    return table


def _overhead(result: BenchResult) -> dict[str, float]:
    """Pre-processing, post-processing, score and overlay together, per frame."""
    if "overhead" not in result.stages_ms:
        return {}
    summary = result.summary("overhead")
    return {f"overhead_{k}_ms": round(summary[k], 3) for k in ("p50", "p95")}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def as_table(results: list[BenchResult], skipped: list[dict[str, str]] | None = None) -> Table:
    """One column per result, one row per measure: fits a terminal for a handful of results.
    A row this machine cannot run (`skipped`) is a column of its own, with the reason."""
    table = Table(
        title="officescore bench: ms per frame, p50 / p95",
        caption="--json and --csv add the mean, p90 and p99",
    )
    table.add_column("")
    skipped = skipped or []
    for index in range(1, len(results) + len(skipped) + 1):
        table.add_column(f"#{index}")
    data = rows(results)

    def line(name: str, cell: Callable[[dict[str, Any]], str]) -> None:
        known = {"backend": "backend", "precision": "precision", "size, threads": "size"}
        table.add_row(
            name,
            *(cell(row) for row in data),
            *(s.get(known.get(name, ""), "—") for s in skipped),
        )

    line("backend", lambda r: r["backend"])
    if skipped:
        table.add_row("skipped", *("—" for _ in data), *(s["reason"] for s in skipped))
    line("model", lambda r: r["model"])
    line("size, threads", lambda r: f"{r['size']}, {r['threads']}")
    line("provider", lambda r: r["provider"])
    line("precision", lambda r: r["precision"])
    line("torchvision kernels", lambda r: r["torchvision_kernels"] or "—")
    line("detections", lambda r: str(r["detections"]))
    for stage in STAGES:
        line(stage, _stage_cell(stage))
    line(
        "overhead p50 / p95",
        lambda r: (
            f"{r['overhead_p50_ms']:.2f} / {r['overhead_p95_ms']:.2f}"
            if "overhead_p50_ms" in r
            else "—"
        ),
    )
    line("end to end p50", lambda r: f"{r['end_to_end_p50']:.1f}")
    line("end to end p90 / p99", lambda r: f"{r['end_to_end_p90']:.1f} / {r['end_to_end_p99']:.1f}")
    line("fps (1 / p50)", lambda r: f"{r['end_to_end_fps']:.1f}")
    line(
        "speed-up vs TorchScript",
        lambda r: f"{r['speedup_vs_torchscript']:.2f}×" if r["speedup_vs_torchscript"] else "—",
    )
    line("vs onnxruntime fp32", _parity_cell)
    line("peak RSS so far (MB)", lambda r: f"{r['peak_rss_mb']:.0f}")
    return table


def _parity_cell(row: dict[str, Any]) -> str:
    parity = row["parity_vs_onnxruntime_fp32"]
    if parity is None:
        detector = "inference_p50_ms" in row  # the person models' rows have no counterpart
        reference = detector and row["backend"] == "onnxruntime" and row["precision"] == "fp32"
        return "reference" if reference else "—"
    masks = "" if parity["min_mask_iou"] is None else f", mask IoU ≥ {parity['min_mask_iou']:.3f}"
    if parity.get("uncertain_share") is not None:
        masks += f" ({parity['uncertain_share']:.1%} of mask pixels near p = 0.5 left out)"
    verdict = "at parity" if parity["at_parity"] else "NOT at parity"
    return (
        f"{verdict}: labels {parity['label_agreement']:.0%}, "
        f"boxes ≤ {parity['max_box_error_px']:.2f} px{masks}"
    )


def _stage_cell(stage: str) -> Callable[[dict[str, Any]], str]:
    p50, p95 = f"{stage}_p50_ms", f"{stage}_p95_ms"
    return lambda row: f"{row[p50]:.2f} / {row[p95]:.2f}" if p50 in row else "—"


def write_csv(results: list[BenchResult], path: Path) -> None:
    table = rows(results)
    columns = sorted(
        {key for row in table for key in row},
        key=lambda k: list(table[0]).index(k) if k in table[0] else len(table[0]),
    )
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(table)


def write_plot(results: list[BenchResult], path: Path) -> None:
    """Stacked p50 latency per stage, one bar per backend and size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.backend}\n{r.model}\n{r.size[0]}x{r.size[1]} t{r.threads}" for r in results]
    figure, axis = plt.subplots(figsize=(max(6, 2.2 * len(results)), 4.5))
    bottoms = [0.0] * len(results)
    for stage in STAGES:
        values = [r.summary(stage)["p50"] if stage in r.stages_ms else 0.0 for r in results]
        axis.bar(labels, values, bottom=bottoms, label=stage)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axis.set_ylabel("p50 latency per frame (ms)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
