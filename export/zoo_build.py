"""Zoo entries that are torchvision weights: fetched through torchvision's own download
(it checks the sha256 prefix in the file name), then exported with the parity gate."""

from __future__ import annotations

from pathlib import Path

from edge.cli.cli_common import optional_dependencies, parse_size
from edge.core.errors import OfficeScoreError, first_line
from edge.inference.zoo import BUILDERS, Notice, ZooEntry


def build_torchvision(entry: ZooEntry, url: str, out: Path, notice: Notice) -> Path:
    """Download `url` with torch.hub (hash prefix checked), export to `out`, parity-gated."""
    with optional_dependencies():
        from torch.hub import download_url_to_file, get_dir  # noqa: F401

        from export.onnx_export import ExportOptions
        from export.run import ExportRequest, run_export
    settings = dict(entry.settings)
    architecture = str(settings.pop("architecture"))
    size = parse_size(str(settings.pop("size", "480x640")))
    weights = out.parent / url.rsplit("/", 1)[-1]
    notice(
        f"downloading {entry.name} weights ({entry.size_text}) from {url}; then exporting to "
        "ONNX with the parity check (a few minutes)"
    )
    try:
        download_url_to_file(url, str(weights), hash_prefix=entry.sha256, progress=True)
    except Exception as error:  # urllib errors, and torch's hash mismatch (RuntimeError)
        weights.unlink(missing_ok=True)
        raise OfficeScoreError(
            f"cannot download {entry.name} weights from {url} ({first_line(error)}); without "
            f"internet, fetch that file elsewhere and export it with `officescore export "
            f"maskrcnn --torchvision {architecture} --weights FILE --out {out}`"
        ) from None
    try:
        request = ExportRequest(
            out=out,
            torchvision=architecture,
            weights=str(weights),
            options=ExportOptions(size=size),
            architecture_options=settings,
        )
        result = run_export(request)
    finally:
        weights.unlink(missing_ok=True)
    if result.model is None:
        failures = "; ".join(result.report.failures)
        raise OfficeScoreError(f"{entry.name} failed its parity check: {failures}")
    return out


def register_builders() -> None:
    BUILDERS["torchvision"] = build_torchvision
