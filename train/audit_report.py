"""The audit as a person reads it: tables on the terminal, and a report folder with one picture
per suspect (the label and the model's box on the photo) under an index page to scroll."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import cv2
import numpy as np
from rich.table import Table

from edge.cli.cli_common import stdout
from edge.core.errors import OfficeScoreError
from edge.core.vocabulary import plural
from edge.video.batch import read_image
from train.audit import AuditReport, Suspect

LABEL_COLOUR = (40, 40, 230)  # BGR: what the label says, red
MODEL_COLOUR = (230, 120, 30)  # what the model sees, blue
SHOWN_PAIRS = 5  # cross-split copies named on the terminal (all are in the report)


def print_report(report: AuditReport, top: int, folder: Path | None) -> None:
    console = stdout()
    console.print(f"{report.origin}: audited with {report.model}", markup=False)
    table = Table(title="what the set holds", title_justify="left")
    table.add_column("")
    for split in report.splits:
        table.add_column(split, justify="right")
    counts = report.splits.values()
    table.add_row("images", *(str(c.images) for c in counts))
    table.add_row("without labels", *(str(c.unlabelled) for c in counts))
    for name in report.names:
        table.add_row(f"  {name}", *(str(c.instances.get(name, 0)) for c in counts))
    for size in ("small", "medium", "large"):
        table.add_row(f"boxes {size}", *(str(c.sizes[size]) for c in counts))
    table.add_row(
        "boxes a photo (mean, most)",
        *(f"{c.boxes_per_image[0]}, {c.boxes_per_image[1]}" for c in counts),
    )
    table.add_row("photo sizes", *(", ".join(c.image_sizes)[:30] for c in counts))
    console.print(table)
    for line in copy_lines(report):
        console.print(line, markup=False, soft_wrap=True)
    if report.suspects:
        shown = min(top, len(report.suspects))
        suspects = Table(
            title=f"suspected label errors: {len(report.suspects)}, the {shown} surest",
            title_justify="left",
        )
        for column in ("#", "photo", "split", "why"):
            suspects.add_column(column)
        for rank, suspect in enumerate(report.suspects[:top], start=1):
            suspects.add_row(str(rank), suspect.image.name, suspect.split, suspect.line())
        console.print(suspects)
    else:
        console.print("suspected label errors: none", markup=False)
    if folder is not None:
        console.print(f"report: {folder / 'index.html'}", markup=False)


def copy_lines(report: AuditReport) -> list[str]:
    """The copies, in words: groups, what the names declare, and what leaks across splits."""
    sizes = [len(group) for group in report.copy_groups]
    lines = [
        f"copies (by their pixels: flips, turns, crops, frames of one view moments apart): "
        f"{plural(len(sizes), 'group')} of {sum(sizes)} photos"
        + (f", the largest {sizes[0]}" if sizes else "")
        + (
            f"; the file names declare {report.named_groups} groups of copies"
            if report.named_groups
            else ""
        )
    ]
    held = {split: c.images for split, c in report.splits.items() if split != "train"}
    if held:
        leaked = len({val for val, _ in report.leaks})
        lines.append(
            f"across splits: {leaked} of {sum(held.values())} validation photos have a copy (or a "
            "near-identical frame) in "
            "training"
            + (": a split by these groups keeps them apart" if leaked else "")
            + (f" ({report.named_leaks} by their file names)" if report.named_groups else "")
        )
        for val, train in report.leaks[:SHOWN_PAIRS]:
            lines.append(f"  {val.name}  ~  {train.name}")
        if len(report.leaks) > SHOWN_PAIRS:
            lines.append(f"  … {len(report.leaks) - SHOWN_PAIRS} more in the report")
    return lines


def _draw(suspect: Suspect) -> np.ndarray:
    image, _ = read_image(suspect.image)
    scale = max(1.0, 640 / max(image.shape[:2]))
    if scale > 1:
        image = cv2.resize(image, None, fx=scale, fy=scale)
    height = image.shape[0]
    for box, colour, text, below in (
        (suspect.label_box, LABEL_COLOUR, f"label: {suspect.label}", True),
        (suspect.model_box, MODEL_COLOUR, f"model: {suspect.seen} {suspect.confidence:.2f}", False),
    ):
        if box is None:
            continue
        x0, y0, x1, y1 = (round(v * scale) for v in box)
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, 2)
        y = min(height - 4, y1 + 16) if below else max(14, y0 - 6)
        font = cv2.FONT_HERSHEY_SIMPLEX
        cv2.putText(image, text, (x0 + 2, y), font, 0.5, colour, 1, cv2.LINE_AA)
    return image


def write_report(report: AuditReport, folder: Path) -> None:
    """`folder/index.html`, `audit.json` and `suspects/NNNN.jpg`; written beside and renamed
    into place, so an interrupted audit leaves no half report."""
    if folder.exists():
        raise OfficeScoreError(f"{folder} exists: choose another --out")
    partial = folder.with_name(f".{folder.name}.partial")
    (partial / "suspects").mkdir(parents=True, exist_ok=True)
    try:
        rows = []
        for rank, suspect in enumerate(report.suspects, start=1):
            name = f"suspects/{rank:04d}.jpg"
            if not cv2.imwrite(str(partial / name), _draw(suspect)):
                raise OfficeScoreError(f"cannot write {folder / name}")
            rows.append(
                f"<figure><img src='{name}' loading='lazy'><figcaption>{rank}. "
                f"<b>{html.escape(suspect.kind)}</b>: {html.escape(suspect.line())}<br>"
                f"{html.escape(suspect.split)}: {html.escape(str(suspect.image))}"
                "</figcaption></figure>"
            )
        groups = "".join(
            f"<li>{len(group)} photos: "
            + ", ".join(html.escape(f"{s}/{p.name}") for s, p in group)
            + "</li>"
            for group in report.copy_groups
        )
        leaks = "".join(
            f"<li>{html.escape(str(val))} ~ {html.escape(str(train))}</li>"
            for val, train in report.leaks
        )
        page = PAGE.format(
            title=html.escape(report.origin),
            model=html.escape(report.model),
            lines="".join(f"<p>{html.escape(line)}</p>" for line in copy_lines(report)),
            groups=groups,
            leaks=leaks or "<li>none</li>",
            suspects="".join(rows) or "<p>none</p>",
        )
        (partial / "index.html").write_text(page, encoding="utf-8")
        (partial / "audit.json").write_text(
            json.dumps(report.to_dict(), indent=1), encoding="utf-8"
        )
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, folder)
    finally:
        if partial.exists():
            for path in sorted(partial.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            partial.rmdir()


PAGE = """<!doctype html><meta charset="utf-8"><title>audit: {title}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:auto}}figure{{margin:1em 0}}
img{{max-width:100%}}figcaption{{font-size:90%}}</style>
<h1>{title}</h1><p>audited with {model}; red: the label, blue: what the model sees</p>
{lines}<h2>copies that cross splits</h2><ul>{leaks}</ul>
<details><summary>every group of copies</summary><ul>{groups}</ul></details>
<h2>suspected label errors, surest first</h2>{suspects}
"""
