"""Shared fixtures: the real photos in tests/data, a real pipeline, real video files."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest

from edge.core.paths import user_cache_root
from edge.core.vocabulary import plural
from edge.inference.pipeline import Pipeline, PipelineConfig
from edge.inference.session import SessionConfig
from officescore.cli import app
from tests.helpers import (
    MASKRCNN_SIZE,
    PHOTOS,
    SHARED_PHOTOS,
    SMALL_MASKRCNN,
    export_args,
    runner,
    write_video,
)

LEFTOVER_GRACE_S = 15.0  # for servers and clusters that are still shutting down


USER_CACHE = user_cache_root()  # the user's own, before the suite points elsewhere
SHM = Path("/dev/shm")  # where Triton's Python backend keeps its shared memory
SUITE_CACHE = Path(tempfile.mkdtemp(prefix="officescore-test-cache-"))
_CACHE_BEFORE: dict[str, int] = {}
_MEMORY_BEFORE: set[Path] = set()


def _files(folder: Path) -> dict[str, int]:
    """Every file under `folder` and when it last changed."""
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()
    }


def _triton_memory() -> set[Path]:
    return set(SHM.glob("*triton*")) if SHM.is_dir() else set()


def pytest_configure(config: pytest.Config) -> None:
    """Orphans of the tests' processes (a Triton stub whose server died) become this process's
    children instead of init's, so the check at the end of the session sees them. The suite
    (and every process it starts) keeps its cache in a folder of its own, never the user's."""
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    _CACHE_BEFORE.update(_files(USER_CACHE))
    _MEMORY_BEFORE.update(_triton_memory())
    os.environ["OFFICESCORE_CACHE"] = str(SUITE_CACHE)


def _left_on_the_machine() -> list[str]:
    """What the suite changed outside its own folders: the user's cache, Triton's shared memory
    (removed, so the next run starts clean)."""
    left = []
    cache = _files(USER_CACHE)
    changed = sorted(k for k, v in cache.items() if _CACHE_BEFORE.get(k) != v)
    if changed:
        left.append(f"wrote the user's cache {USER_CACHE}: {', '.join(changed)[:300]}")
    memory = sorted(_triton_memory() - _MEMORY_BEFORE)
    for region in memory:
        region.unlink(missing_ok=True)
    if memory:
        left.append(f"left {plural(len(memory), 'Triton shared-memory file')} in {SHM}")
    shutil.rmtree(SUITE_CACHE, ignore_errors=True)
    return left


def _descendants() -> list[psutil.Process]:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:  # reap zombies: they are gone, not left
            pass
    alive = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
    return alive


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite fails if it leaves any process running (the leftovers are then killed), writes
    the user's cache, or leaves Triton's shared memory behind."""
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    left = _descendants()
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = _descendants()
    for line in _left_on_the_machine():
        print(f"\nERROR: the tests {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if not left:
        return
    described = []
    for process in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            described.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
            process.kill()  # so the next run starts clean
    print(f"\nERROR: the tests left {plural(len(described), 'process', 'processes')} running:")
    print("\n".join(f"  {line}" for line in described))
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def photos() -> Path:
    return PHOTOS


@pytest.fixture(scope="session")
def portrait_path() -> Path:
    """Grace Hopper's portrait, a public-domain US Navy photograph that matplotlib ships."""
    matplotlib = pytest.importorskip("matplotlib", reason="the portrait ships with matplotlib")
    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


@pytest.fixture(scope="session")
def portrait(portrait_path: Path) -> np.ndarray:
    image = cv2.imread(str(portrait_path))
    image.flags.writeable = False
    return image


@pytest.fixture(scope="session")
def shared_photos() -> Path:
    """The project's shared photos beside the repository, NC/ND ones among them (not copied in)."""
    if not (SHARED_PHOTOS / "annotations.json").is_file():
        pytest.skip(f"{SHARED_PHOTOS} is not beside this clone (NC/ND photos are not bundled)")
    return SHARED_PHOTOS


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    """The bundled detector as photos use it (the card's photo size)."""
    return Pipeline(PipelineConfig())


@pytest.fixture(scope="session")
def live_pipeline() -> Pipeline:
    """The bundled detector as the live loop uses it (the card's live size)."""
    return Pipeline(PipelineConfig(session=SessionConfig(purpose="live")))


@pytest.fixture(scope="session")
def office_video(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 640×480 video: 20 frames of the living-room photo, then 20 of the office photo."""
    frames = []
    for name in ("000000000599.jpg", "cctv_office_train283.jpg"):
        image = cv2.resize(cv2.imread(str(photos / name)), (640, 480))
        frames += [image] * 20
    return write_video(tmp_path_factory.mktemp("video") / "office.mp4", frames)


@pytest.fixture(scope="session")
def scripted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-initialised Mask R-CNN (see export/random_model.py), scripted and saved."""
    import warnings

    import torch

    from export.random_model import random_maskrcnn
    from export.torchvision_setup import load_torchvision

    load_torchvision()
    warnings.filterwarnings("ignore", module="torch")
    warnings.filterwarnings("ignore", category=FutureWarning)
    path = tmp_path_factory.mktemp("source") / "maskrcnn.pt"
    torch.jit.script(random_maskrcnn(**SMALL_MASKRCNN)).save(str(path))
    return path


@pytest.fixture(scope="session")
def exported(
    scripted_model: Path, photos: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """That model exported through the CLI, and what the CLI printed."""
    out = tmp_path_factory.mktemp("onnx") / "maskrcnn.onnx"
    args = [
        *export_args(scripted_model, str(out)),
        "--size",
        MASKRCNN_SIZE,
        "--parity-images",
        str(photos),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return out, result.stdout + result.stderr
