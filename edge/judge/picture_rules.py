"""The picture itself, judged before anything in it: its exposure, focus and noise over the
whole frame, and the camera's resolution and frame rate. A picture too dark, too bright or too
blurred to see into says so, and the criteria that need to see are "not checked" with that
reason instead of passing on what the detector could not find."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from edge.core.results import Verdict
from edge.core.results import VerdictStatus as Status
from edge.judge.check_thresholds import CameraThresholds, PictureThresholds

WORKING_SIDE = 512  # focus is measured on the frame shrunk to this (its longest side)
FOCUS_GRID = 4  # ... in 4×4 tiles: the sharpest tile with some contrast counts
TILE_CONTRAST = 8.0  # a tile flatter than this (gray standard deviation) has no focus to judge
# Immerkær's noise estimator: this kernel cancels smooth gradients and keeps pixel noise.
NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
NOISE_SCALE = float(np.sqrt(np.pi / 2) / 6)
NOISE_BLOCK = 16

PICTURE_TITLE = "The picture itself"
CAMERA_TITLE = "Camera resolution and frame rate"
# What a picture too poor to see into leaves unjudged: what vouches for something's absence
# (nobody else, no bed, no clutter, nothing that helps) always; what is about you when you were
# not found in it (found, you are judged: your face is too dark, say).
VOUCHES_FOR_ABSENCE = frozenset({"people", "private", "clutter", "helps"})
ABOUT_YOU = frozenset({"lighting", "backlight", "framing", "camera_angle", "distance", "sharpness"})


@dataclass(frozen=True)
class PictureStats:
    """Luminance over the whole frame (its mean, 99th percentile and the share at or above
    250), contrast (the most contrasted tile's standard deviation: a plain wall behind you is
    not a washed-out picture), focus (the sharpest tile's Laplacian variance at unit contrast),
    noise (the estimated standard deviation of pixel noise, in gray levels), the frame's size."""

    mean: float
    brightest: float
    clipped: float
    contrast: float
    focus: float
    noise: float
    width: int
    height: int


def picture_stats(gray: np.ndarray, clipped_at: int) -> PictureStats:
    """`clipped_at`: the luminance from which a pixel counts as blown out."""
    histogram = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(histogram) / max(histogram.sum(), 1.0)
    brightest = float(np.searchsorted(cumulative, 0.99))
    mean = float(np.dot(histogram, np.arange(256)) / max(histogram.sum(), 1.0))
    height, width = gray.shape
    contrast, focus = _tiles(gray)
    return PictureStats(
        mean=round(mean, 1),
        brightest=brightest,
        clipped=round(float(cumulative[-1] - cumulative[clipped_at - 1]), 3),
        contrast=round(contrast, 1),
        focus=round(focus, 3),
        noise=round(_noise(gray), 2),
        width=width,
        height=height,
    )


def _tiles(gray: np.ndarray) -> tuple[float, float]:
    """The most contrasted tile's gray standard deviation, and the sharpest tile's focus."""
    height, width = gray.shape
    scale = min(1.0, WORKING_SIDE / max(height, width))
    small = cv2.resize(
        gray,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    ).astype(np.float32)
    laplacian = cv2.Laplacian(small, cv2.CV_32F)
    rows = np.array_split(np.arange(small.shape[0]), FOCUS_GRID)
    columns = np.array_split(np.arange(small.shape[1]), FOCUS_GRID)
    sharpest, most_contrast = 0.0, 0.0
    for r in rows:
        for c in columns:
            tile = small[r[0] : r[-1] + 1, c[0] : c[-1] + 1]
            contrast = float(tile.std())
            most_contrast = max(most_contrast, contrast)
            if contrast >= TILE_CONTRAST:
                detail = float(laplacian[r[0] : r[-1] + 1, c[0] : c[-1] + 1].var())
                sharpest = max(sharpest, detail / contrast**2)
    return most_contrast, sharpest


def _noise(gray: np.ndarray) -> float:
    """Pixel noise in the flattest blocks of the picture (the 5th percentile of 16×16 blocks),
    so that edges and texture are not taken for noise."""
    response = np.abs(cv2.filter2D(gray.astype(np.float32), -1, NOISE_KERNEL))[1:-1, 1:-1]
    height = response.shape[0] - response.shape[0] % NOISE_BLOCK
    width = response.shape[1] - response.shape[1] % NOISE_BLOCK
    if height == 0 or width == 0:
        return 0.0
    blocks = response[:height, :width].reshape(
        height // NOISE_BLOCK, NOISE_BLOCK, width // NOISE_BLOCK, NOISE_BLOCK
    )
    return NOISE_SCALE * float(np.percentile(blocks.mean(axis=(1, 3)), 5))


@dataclass(frozen=True)
class Problem:
    status: Status
    reason: str
    blinds: str | None = None  # what the picture is, where it is too poor to see into


def _exposure(stats: PictureStats, config: PictureThresholds) -> list[Problem]:
    mean = stats.mean
    if stats.brightest < config.black_below:
        return [
            Problem("fail", "the picture is black: is the lens covered or the camera off?", "black")
        ]
    if mean < config.warn_dark:
        status: Status = "fail" if mean < config.fail_dark else "warn"
        return [
            Problem(
                status,
                f"the picture is too dark (luminance {mean:.0f} of 255): turn on "
                "a light, or face the window",
                "too dark" if status == "fail" else None,
            )
        ]
    clipped = stats.clipped
    # a bright picture is blown out where much of it is clipped; a white wall is not
    bright = mean >= config.warn_bright and clipped >= config.bright_clipped
    if clipped >= config.warn_clipped or bright:
        very_bright = mean >= config.fail_bright and clipped >= config.warn_clipped
        status = "fail" if clipped >= config.fail_clipped or very_bright else "warn"
        return [
            Problem(
                status,
                f"the picture is blown out ({stats.clipped:.0%} of it at full "
                "white): lower the camera's exposure, or close the blinds",
                "blown out" if status == "fail" else None,
            )
        ]
    if stats.contrast < config.warn_contrast:
        status = "fail" if stats.contrast < config.fail_contrast else "warn"
        return [
            Problem(
                status,
                f"the picture is flat and washed out (contrast {stats.contrast:.0f} at "
                "most): wipe the lens, keep direct light off it",
                "washed out" if status == "fail" else None,
            )
        ]
    return []


def judge_picture(stats: PictureStats, config: PictureThresholds) -> tuple[Verdict, str | None]:
    """The picture criterion, and what blinds the criteria that need to see (or None)."""
    problems = _exposure(stats, config)
    if stats.focus < config.warn_focus and not any(p.blinds for p in problems):
        status: Status = "fail" if stats.focus < config.fail_focus else "warn"
        problems.append(
            Problem(
                status,
                f"the whole picture is out of focus or smeared (focus "
                f"{stats.focus:.2f}): clean the lens, refocus, hold the camera "
                "still",
                "too blurred" if status == "fail" else None,
            )
        )
    if stats.noise > config.warn_noise:
        status = "fail" if stats.noise > config.fail_noise else "warn"
        problems.append(
            Problem(
                status,
                f"the picture is grainy (noise {stats.noise:.1f} gray "
                "levels): more light lets the camera keep it clean",
            )
        )
    evidence = asdict(stats)
    if not problems:
        reason = "exposed well, in focus, little noise"
        return Verdict("picture", PICTURE_TITLE, "pass", reason, evidence), None
    problems.sort(key=lambda p: p.status != "fail")
    worst: Status = "fail" if problems[0].status == "fail" else "warn"
    blinds = next((p.blinds for p in problems if p.blinds), None)
    reason = "; ".join(p.reason for p in problems)
    return Verdict("picture", PICTURE_TITLE, worst, reason, evidence), blinds


def judge_resolution(stats: PictureStats, config: CameraThresholds, live: bool) -> Verdict:
    """The camera criterion from one frame: its size (live, the frame rate joins it later)."""
    size = f"{stats.width}×{stats.height}"
    floor = config.live_warn_below if live else config.photo_warn_below
    evidence: dict[str, Any] = {"width": stats.width, "height": stats.height}
    if stats.height < config.fail_below:
        return Verdict(
            "camera",
            CAMERA_TITLE,
            "fail",
            f"{size} is too small to show you: use 1280×720 or more",
            evidence,
        )
    if stats.height < floor:
        return Verdict(
            "camera",
            CAMERA_TITLE,
            "warn",
            f"{size} is below {floor}p and will "
            "look soft: choose 1280×720 or more in the camera's settings",
            evidence,
        )
    aside = "" if live else " (the frame rate is judged live)"
    return Verdict("camera", CAMERA_TITLE, "pass", f"{size}{aside}", evidence)


def judge_frame_rate(
    resolution: Verdict, fps: float | None, longest_gap_s: float, config: CameraThresholds
) -> Verdict:
    """The camera criterion live: the frames the camera delivered a second over the window
    and its longest pause, beside the resolution verdict of the newest frame."""
    if fps is None:
        return resolution
    evidence = resolution.evidence | {
        "fps": round(fps, 1),
        "longest_gap_s": round(longest_gap_s, 2),
    }
    reasons = [resolution.reason] if resolution.status != "pass" else []
    statuses: list[Status] = [resolution.status]
    if longest_gap_s >= config.stall_s:
        statuses.append("fail")
        reasons.append(
            f"the camera stalled for {longest_gap_s:.1f} s: check its cable or "
            "close other programs using it"
        )
    elif fps < config.warn_fps:
        statuses.append("fail" if fps < config.fail_fps else "warn")
        reasons.append(
            f"the camera delivers {fps:.0f} frames a second: below "
            f"{config.warn_fps:g} a call looks choppy; add light or lower the "
            "resolution"
        )
    else:
        reasons.append(f"{fps:.0f} frames a second")
    order = ("not_checked", "pass", "warn", "fail")
    status = max(statuses, key=order.index)
    if status == "pass":
        reasons = [f"{resolution.reason}, {fps:.0f} frames a second"]
    return Verdict("camera", CAMERA_TITLE, status, "; ".join(reasons), evidence)


def blinded(verdict: Verdict, blinds: str) -> Verdict:
    """A criterion that needs to see, on a picture too poor to see into."""
    return Verdict(verdict.id, verdict.title, "not_checked", f"the picture is {blinds}")
