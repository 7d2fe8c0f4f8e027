"""Where officescore keeps what it makes for the user: downloaded models, TensorRT engines."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def user_cache_root(environ: Mapping[str, str] = os.environ) -> Path:
    """OFFICESCORE_CACHE, else the platform's per-user cache folder for officescore."""
    import platformdirs

    return Path(environ.get("OFFICESCORE_CACHE") or platformdirs.user_cache_dir("officescore"))
