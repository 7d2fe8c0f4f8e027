"""A bench run as a person reads it (the table, then a line per extra measurement and the
machine) or as one JSON object."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from benchmarks.environment import stamp
from benchmarks.plan import BenchRun
from benchmarks.report import as_table, rows
from edge.core.vocabulary import plural


def run_record(run: BenchRun) -> dict[str, Any]:
    return {
        "environment": stamp(),
        "results": rows(run.results),
        "skipped": run.skipped,
        "loop": run.loop.to_dict() if run.loop else None,
        "call_check": run.call_speed.to_dict() if run.call_speed else None,
        "startup": run.startup.to_dict() if run.startup else None,
        "throughput": [row.to_dict() for row in run.throughput],
    }


def print_run(run: BenchRun, console: Console) -> None:
    console.print(as_table(run.results, run.skipped))
    lines = []
    if (loop := run.loop) is not None:
        lines.append(
            f"loop on {loop.video} ({'realtime' if loop.realtime else 'every frame'}): "
            f"{loop.frames} frames, {loop.displayed_fps:.1f} fps shown "
            f"({loop.displayed_share_of_source:.0%} of the source), "
            f"{loop.processed_fps:.1f} fps scored vs "
            f"{loop.model_only_fps:.1f} fps model alone ({loop.share_of_model_throughput:.0%}, "
            f"median of rounds {', '.join(f'{share:.2f}' for share in loop.round_shares)}), "
            f"source {loop.source_fps:.0f} fps, dropped {loop.dropped}, "
            f"result age p50 {loop.result_age_p50_ms:.1f} ms; CPU a frame: loop "
            f"{loop.cpu_ms_per_frame:.2f} ms, model alone {loop.model_cpu_ms_per_frame:.2f} ms "
            f"({loop.cpu_share:.0%})"
        )
    if run.call_speed:
        lines.append(run.call_speed.line())
    if run.startup:
        lines.append(run.startup.line())
    lines += [
        f"throughput: {row.engine}, {plural(row.clients, row.unit)}: {row.frames} frames in "
        f"{row.seconds:.1f} s, {row.fps:.1f} fps"
        for row in run.throughput
    ]
    environment = stamp()
    lines.append(
        f"{environment['cpu']}, {environment['cores']} cores, {environment['os']}; "
        + ", ".join(f"{name} {version}" for name, version in environment["packages"].items())
    )
    for line in lines:
        console.print(line, markup=False)
