"""What this machine's CPU is, for the caches whose contents depend on it (the engine chosen per
CPU, ONNX Runtime's graphs optimized for it)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import platform
from pathlib import Path


@functools.lru_cache(maxsize=8)
def _cpuinfo_line(key: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    return None


def cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what the platform says."""
    return _cpuinfo_line("model name") or platform.processor() or platform.machine()


def cpu_flags_digest() -> str:
    """A short digest of the CPU's feature flags (AVX2, AVX-512, AMX…): two CPUs of one name
    in different virtual machines may show different ones."""
    flags = _cpuinfo_line("flags")
    return hashlib.sha256(flags.encode()).hexdigest()[:12] if flags else ""
