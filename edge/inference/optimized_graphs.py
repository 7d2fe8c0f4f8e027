"""ONNX Runtime's optimized graph of a model, kept between runs. A CPU session spends about a
third of its creation optimizing the graph (fusions, CPU-specific layouts), the same way every
time on the same CPU and ONNX Runtime: the first session saves the result in the user cache,
later ones load it as it is (~15 ms of every start of a photo's scoring here). Keyed by the
model's sha256, ONNX Runtime's version and the CPU's flags; a file that will not load is
dropped and made again."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from edge.core.machine import cpu_flags_digest
from edge.core.paths import user_cache_root
from edge.inference.modelcard import file_sha256

FOLDER = "onnxruntime-graphs"
LARGEST_KEPT_BYTES = 64 << 20  # a large model's load is its weights, not the optimization


@dataclass(frozen=True)
class GraphSource:
    """What to load: `path`, already optimized or not; with `save_to`, ONNX Runtime writes its
    optimized graph there (a scratch file that `keep` moves into place once the session loaded)."""

    path: Path
    optimized: bool
    save_to: Path | None = None
    cached: Path | None = None

    def keep(self) -> None:
        if self.save_to is not None and self.cached is not None:
            with contextlib.suppress(OSError):
                os.replace(self.save_to, self.cached)

    def discard(self) -> None:
        for path in (self.save_to, self.cached if self.optimized else None):
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()


def graph_source(model_path: Path, onnxruntime_version: str) -> GraphSource:
    """The cached optimized graph of this model where there is one; else the model itself, with
    where to save its optimized graph. A model that cannot be keyed loads as it is."""
    try:
        if model_path.stat().st_size > LARGEST_KEPT_BYTES:
            return GraphSource(model_path, optimized=False)
        digest = file_sha256(model_path)
        folder = user_cache_root() / FOLDER
        cached = folder / f"{digest[:24]}-ort{onnxruntime_version}-{cpu_flags_digest()}.onnx"
        if cached.is_file():
            return GraphSource(cached, optimized=True, cached=cached)
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return GraphSource(model_path, optimized=False)
    scratch = cached.with_suffix(f".{os.getpid()}.tmp")
    return GraphSource(model_path, optimized=False, save_to=scratch, cached=cached)
