"""`officescore score` and `check` on files: photos, videos and folders of them, one report per
input."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from edge.core.errors import OfficeScoreError
from edge.core.results import Result
from edge.inference.checker import Checker
from edge.inference.pipeline import Pipeline
from edge.video.capture import FrameSource
from edge.video.overlay import annotate, annotated_size, draw_check_panel

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"})
MIN_SIDE = 16


def expand_inputs(
    paths: Iterable[Path],
    suffixes: frozenset[str] = IMAGE_SUFFIXES | VIDEO_SUFFIXES,
    kinds: str = "images or videos",
) -> Iterator[Path]:
    """Files as given; folders become their files with one of `suffixes` (images and videos),
    sorted (not recursive).

    A folder with no such file in it is an error naming the `kinds`, never silently nothing.
    """
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes
            )
            if not found:
                raise OfficeScoreError(f"no {kinds} in {path}")
            yield from found
        else:
            yield path


def to_bgr8(image: np.ndarray, name: str) -> tuple[np.ndarray, list[str]]:
    """Bring gray, BGRA and 16-bit images to 8-bit BGR, saying what was converted."""
    notes = []
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
        notes.append("16-bit image scaled to 8 bits")
    elif image.dtype != np.uint8:
        raise OfficeScoreError(f"{name}: unsupported pixel type {image.dtype}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        notes.append("gray image scored as colour")
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        notes.append("alpha channel ignored")
    elif image.ndim != 3 or image.shape[2] != 3:
        raise OfficeScoreError(f"{name}: unsupported image layout {image.shape}")
    if min(image.shape[:2]) < MIN_SIDE:
        height, width = image.shape[:2]
        raise OfficeScoreError(f"{name}: image is {width}×{height}, too small to score")
    return image, notes


def read_image(path: Path) -> tuple[np.ndarray, list[str]]:
    try:
        data = np.fromfile(path, np.uint8)
    except FileNotFoundError:
        raise OfficeScoreError(f"input not found: {path}") from None
    except OSError as error:
        raise OfficeScoreError(f"cannot read {path}: {error.strerror or error}") from None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise OfficeScoreError(f"{path}: not a readable image")
    return to_bgr8(image, str(path))


def score_image(path: Path, pipeline: Pipeline, out_path: Path | None) -> Result:
    """Score one photo; with `out_path`, write it annotated there."""
    image, notes = read_image(path)
    result = pipeline.analyze(image, source=str(path), notes=tuple(notes))
    if out_path and not cv2.imwrite(
        str(out_path), annotate(image, result.detections, result.score, pipeline.model_name)
    ):
        raise OfficeScoreError(f"cannot write {out_path}")
    return result


def check_image(path: Path, checker: Checker, out_path: Path | None) -> Result:
    """The video-call check's verdict for one photo; with `out_path`, write it annotated there."""
    image, notes = read_image(path)
    result = checker.check(image, str(path), notes=tuple(notes))
    assert result.check is not None
    if out_path and not cv2.imwrite(
        str(out_path), draw_check_panel(image, result.detections, result.check, result.person)
    ):
        raise OfficeScoreError(f"cannot write {out_path}")
    return result


def score_video(path: Path, pipeline: Pipeline, sample_fps: float, out_path: Path | None) -> Result:
    """Score sampled frames with the rolling score; the report holds the final, smoothed score."""
    source = FrameSource(str(path), realtime=False)
    step = max(1, round(source.fps / sample_fps))
    writer = None
    if out_path:
        fourcc = cv2.VideoWriter.fourcc(*"mp4v")
        writer = cv2.VideoWriter(
            str(out_path), fourcc, source.fps / step, annotated_size(source.frame_size)
        )
    rolling = pipeline.rolling()
    timings_per_frame: list[Mapping[str, float]] = []
    last: Result | None = None
    try:
        with source:
            for frame in source.frames():
                if frame.index % step:
                    continue
                last = pipeline.analyze(frame.image, rolling=rolling, timestamp=frame.timestamp)
                timings_per_frame.append(last.timings_ms)
                if writer:
                    caption = f"t={frame.timestamp:.1f}s"
                    writer.write(annotate(frame.image, last.detections, last.score, caption))
    finally:
        if writer:
            writer.release()
    if last is None:
        raise OfficeScoreError(f"{path}: no frames could be read")
    p50 = {k: float(np.median([t[k] for t in timings_per_frame])) for k in timings_per_frame[0]}
    return replace(
        last,
        source=str(path),
        kind="video",
        timings_ms=p50,
        frames=len(timings_per_frame),
        frame_index=None,
        timestamp=None,
    )


def score_path(path: Path, pipeline: Pipeline, out_dir: Path | None, sample_fps: float) -> Result:
    if not path.exists():
        raise OfficeScoreError(f"input not found: {path}")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        out_path = out_dir / f"{path.stem}.scored.mp4" if out_dir else None
        return score_video(path, pipeline, sample_fps, out_path)
    return score_image(path, pipeline, out_dir / f"{path.stem}.scored.jpg" if out_dir else None)


def prepare_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OfficeScoreError(f"cannot create output folder {out_dir}: {error.strerror}") from None
    if not out_dir.is_dir() or not _writable(out_dir):
        raise OfficeScoreError(f"output folder {out_dir} is not writable")


def _writable(folder: Path) -> bool:
    probe = folder / ".officescore-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return False
    return True
