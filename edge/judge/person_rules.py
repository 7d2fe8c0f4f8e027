"""The video-call check's criteria about you: lighting, backlight, framing, camera angle,
distance and sharpness, judged from your face and its landmarks where one is found, from your
outline (or your person box) where only that is, and not checked with nobody in view."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from edge.core.results import Verdict
from edge.core.results import VerdictStatus as Status
from edge.core.types import (
    CHIN,
    FOREHEAD,
    LEFT_CHEEK,
    LEFT_EYE_OUTER,
    RIGHT_CHEEK,
    RIGHT_EYE_OUTER,
)
from edge.judge.check_thresholds import (
    BacklightThresholds,
    CameraAngleThresholds,
    DistanceThresholds,
    FramingThresholds,
    LightingThresholds,
    SharpnessThresholds,
)
from edge.judge.frame_facts import EYES, FrameFacts

NOBODY = "nobody in view: needs you in the frame"
NO_FACE = "no face found"


def _graded(value: float, warn: float, fail: float, above: bool = True) -> Status:
    """fail past `fail`, warn past `warn`: above them, or below them with `above` False."""
    if above:
        return "fail" if value > fail else "warn" if value > warn else "pass"
    return "fail" if value < fail else "warn" if value < warn else "pass"


def _worst(*statuses: Status) -> Status:
    order = ("pass", "warn", "fail")
    return max(statuses, key=order.index)


def _nobody(verdict_id: str, title: str) -> Verdict:
    return Verdict(verdict_id, title, "not_checked", NOBODY)


def _your_level(facts: FrameFacts) -> tuple[float, str]:
    """Your mean luminance, on your face where there is one, and what it was measured on."""
    region = facts.face_region()
    if region is not None:
        crop, oval, _ = region
        return float(crop[oval].mean()), "your face"
    rows = np.flatnonzero(facts.you_mask.any(axis=1))
    head = facts.you_mask.copy()
    head[rows[0] + max((rows[-1] - rows[0]) // 5, 1) :] = False  # the top fifth: your head
    return facts.mean_over(facts.gray, head), f"your head ({NO_FACE})"


def check_lighting(facts: FrameFacts, config: LightingThresholds) -> Verdict:
    title = "Light on your face"
    if not facts.you:
        return _nobody("lighting", title)
    region = facts.face_region()
    level, where = _your_level(facts)
    level = round(level, 1)
    status = _graded(level, config.warn_below, config.fail_below, above=False)
    evidence: dict[str, Any] = {"luminance": level, "measured_on": where}
    reasons = [f"{where} at luminance {level:.1f} of 255"]
    if status != "pass":
        reasons.append("add a lamp in front of you, or face the window")
    if region is not None and facts.landmarks is not None:
        crop, oval, (left, top) = region
        balance, clipped = _evenness(facts, crop, oval, (left, top))
        evidence |= {"balance": balance, "clipped": clipped}
        uneven = _graded(balance, config.warn_balance, config.fail_balance, above=False)
        if uneven != "pass":
            reasons.append(
                f"one side of your face is {1 - balance:.0%} darker than the other: "
                "light your face from the front"
            )
        glare = _graded(clipped, config.warn_clipped, config.fail_clipped)
        if glare != "pass":
            reasons.append(f"{clipped:.0%} of your face is blown out: soften or move the light")
        status = _worst(status, uneven, glare)
    return Verdict("lighting", title, status, "; ".join(reasons), evidence)


def _evenness(
    facts: FrameFacts, crop: np.ndarray, oval: np.ndarray, corner: tuple[int, int]
) -> tuple[float, float]:
    """The darker half's luminance over the brighter half's (halves either side of the line
    from forehead to chin) and the share of the face at clipping."""
    assert facts.landmarks is not None
    top_point = facts.landmarks[FOREHEAD, :2] - corner
    bottom_point = facts.landmarks[CHIN, :2] - corner
    ys, xs = np.mgrid[0 : crop.shape[0], 0 : crop.shape[1]]
    along = bottom_point - top_point
    side = (xs - top_point[0]) * along[1] - (ys - top_point[1]) * along[0] > 0
    halves = [crop[oval & side], crop[oval & ~side]]
    if min(len(half) for half in halves) == 0:
        return 1.0, 0.0
    means = sorted(float(half.mean()) for half in halves)
    balance = round(means[0] / max(means[1], 1.0), 3)
    clipped = round(float((crop[oval] >= facts.clipped_at).mean()), 3)
    return balance, clipped


def check_backlight(facts: FrameFacts, config: BacklightThresholds) -> Verdict:
    title = "Backlight"
    if not facts.you:
        return _nobody("backlight", title)
    if not facts.background.any():
        return Verdict("backlight", title, "not_checked", "you fill the frame: no background")
    you, where = _your_level(facts)
    background = facts.mean_over(facts.gray, facts.background)
    ratio = round(background / max(you, 1.0), 2)
    status = _graded(ratio, config.warn_ratio, config.fail_ratio)
    reason = f"the background is {ratio:.2f}× as bright as {where}"
    evidence: dict[str, Any] = {
        "ratio": ratio,
        "you": round(you, 1),
        "background": round(background, 1),
    }
    near = _around_your_head(facts)
    if near.any():
        near_ratio = round(facts.mean_over(facts.gray, near) / max(you, 1.0), 2)
        near_clipped = round(float((facts.gray[near] >= facts.clipped_at).mean()), 3)
        evidence |= {"near_ratio": near_ratio, "near_clipped": near_clipped}
        around = _worst(
            _graded(near_ratio, config.warn_near_ratio, config.fail_near_ratio),
            _graded(near_clipped, config.warn_near_clipped, config.fail_near_clipped),
        )
        if around != "pass":
            reason = (
                f"right behind your head and shoulders the background is {near_ratio:.2f}× "
                f"as bright as {where} ({near_clipped:.0%} of it blown out)"
            )
        status = _worst(status, around)
    if status != "pass":
        reason += ": close the blinds behind you, or turn so the window is in front of you"
    return Verdict("backlight", title, status, reason, evidence)


def _around_your_head(facts: FrameFacts) -> np.ndarray:
    """The background within a head's width of your outline, from the top of the frame down
    to your shoulders (a face's height below your chin): what a viewer sees around you."""
    height, width = facts.gray.shape
    if facts.face is not None:
        x0, y0, x1, y1 = facts.face.box.tolist()
        reach, bottom = max(int(x1 - x0), 4), int(y1 + (y1 - y0))
    else:
        rows = np.flatnonzero(facts.you_mask.any(axis=1))
        reach = max(width // 10, 4)
        bottom = int(rows[0] + (rows[-1] - rows[0]) // 3) if len(rows) else height
    outside = (~facts.you_mask).view(np.uint8)
    near = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_3) <= reach
    near &= facts.background
    near[max(bottom, 0) :] = False
    return near


def check_framing(facts: FrameFacts, config: FramingThresholds) -> Verdict:
    title = "Framing"
    if not facts.you:
        return _nobody("framing", title)
    if facts.face is None or facts.landmarks is None:
        return _framing_by_box(facts, config)
    height, width = facts.gray.shape
    eyes = facts.landmarks[list(EYES), :2].mean(axis=0)
    offset = round(abs(float(eyes[0]) - width / 2) / width, 3)
    eye_line = round(float(eyes[1]) / height, 3)
    columns = facts.you_mask[:, max(int(facts.face.box[0]), 0) : max(int(facts.face.box[2]), 1)]
    rows = np.flatnonzero(columns.any(axis=1))
    head_top = round(float(rows[0]) / height if len(rows) else facts.face.box[1] / height, 3)
    evidence = {"offset": offset, "eye_line": eye_line, "headroom": head_top}
    statuses = [_graded(offset, config.warn_offset, config.fail_offset)]
    reasons = [f"your eyes are {offset:.0%} of the width off centre, {eye_line:.0%} down"]
    distance_from_third = abs(eye_line - 1 / 3)
    statuses.append(_graded(distance_from_third, config.warn_eyes, config.fail_eyes))
    if statuses[-1] != "pass":
        where = "high" if eye_line < 1 / 3 else "low"
        reasons.append(f"your eyes sit {where}: aim for a third of the way down")
    if head_top <= config.cut_headroom and facts.face.box[1] >= 0:  # else: distance says
        statuses.append("warn")
        reasons.append("the top of your head is cut off: tilt the camera up or sit back")
    elif head_top > config.warn_headroom:
        statuses.append("warn")
        reasons.append(f"{head_top:.0%} of the frame is empty above your head")
    if statuses[0] != "pass":
        reasons.append("move to the middle of the picture")
    return Verdict("framing", title, _worst(*statuses), "; ".join(reasons), evidence)


def _framing_by_box(facts: FrameFacts, config: FramingThresholds) -> Verdict:
    height, width = facts.gray.shape
    ys, xs = np.nonzero(facts.you_mask)
    x0, y0, x1, y1 = float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)
    offset = round(abs((x0 + x1) / 2 - width / 2) / width, 3)
    area = round((x1 - x0) * (y1 - y0) / (width * height), 3)
    evidence = {"offset": offset, "area": area, "box": [x0, y0, x1, y1]}
    if offset > config.fail_offset or area < config.fail_area_below:
        status: Status = "fail"
    elif (
        offset > config.warn_offset
        or area < config.warn_area_below
        or area > config.warn_area_above
    ):
        status = "warn"
    else:
        status = "pass"
    reason = (
        f"{NO_FACE}: judged from your outline, {offset:.1%} of the width off centre, "
        f"filling {area:.1%} of the frame"
    )
    return Verdict("framing", "Framing", status, reason, evidence)


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in degrees from the landmarks' own depth (on MediaPipe's canonical
    face, forehead and chin, and the two cheeks, lie at the same depth). Pitch > 0: the chin is
    nearer the camera than the forehead (the camera looks up at you); yaw > 0: your left cheek
    is nearer (the camera is off to your left); roll: the eye line's tilt in the picture."""
    forehead, chin = landmarks[FOREHEAD], landmarks[CHIN]
    right, left = landmarks[RIGHT_CHEEK], landmarks[LEFT_CHEEK]
    pitch = math.degrees(math.atan2(forehead[2] - chin[2], chin[1] - forehead[1]))
    yaw = math.degrees(math.atan2(right[2] - left[2], left[0] - right[0]))
    eye_r, eye_l = landmarks[RIGHT_EYE_OUTER], landmarks[LEFT_EYE_OUTER]
    roll = math.degrees(math.atan2(eye_l[1] - eye_r[1], eye_l[0] - eye_r[0]))
    return round(pitch, 1), round(yaw, 1), round(roll, 1)


def check_camera_angle(facts: FrameFacts, config: CameraAngleThresholds) -> Verdict:
    title = "Camera angle"
    if not facts.you:
        return _nobody("camera_angle", title)
    if facts.landmarks is None:
        return Verdict("camera_angle", title, "not_checked", f"{NO_FACE}: needs your face")
    pitch, yaw, roll = head_pose(facts.landmarks)
    evidence = {"pitch": pitch, "yaw": yaw, "roll": roll}
    statuses = [
        _graded(abs(pitch), config.warn_pitch, config.fail_pitch),
        _graded(abs(yaw), config.warn_yaw, config.fail_yaw),
        _graded(abs(roll), config.warn_roll, config.fail_roll),
    ]
    advice = [
        "the camera looks up at you from below: raise it until it is level with your eyes"
        if pitch > 0
        else "the camera looks down on you: lower it to the height of your eyes",
        f"the camera is off to your {'left' if yaw > 0 else 'right'}: put it straight in "
        "front of you",
        f"the picture is tilted {abs(roll):.0f}°: level the camera",
    ]
    reasons = [words for words, status in zip(advice, statuses, strict=True) if status != "pass"]
    if not reasons:
        reasons = [f"camera at eye level and straight on (pitch {pitch:+.0f}°, yaw {yaw:+.0f}°)"]
    return Verdict("camera_angle", title, _worst(*statuses), "; ".join(reasons), evidence)


def check_distance(facts: FrameFacts, config: DistanceThresholds) -> Verdict:
    title = "Distance"
    if not facts.you:
        return _nobody("distance", title)
    height, width = facts.gray.shape
    if facts.face is None:
        share = round(float(facts.you_mask.mean()), 3)
        if share >= config.close_outline:
            return Verdict(
                "distance",
                title,
                "fail",
                f"you fill {share:.0%} of the frame and {NO_FACE}: sit back",
                {"outline_share": share},
            )
        return Verdict(
            "distance",
            title,
            "fail",
            f"too far: {NO_FACE} (your face would be a speck on a small tile); come closer",
            {"outline_share": share},
        )
    x0, y0, x1, y1 = facts.face.box.tolist()
    size = round(facts.face.height / height, 3)
    cut = x0 < 0 or y0 < 0 or x1 > width or y1 > height
    evidence = {"face_height": size, "cut": cut}
    if cut and size > config.warn_above / 2:
        reason = "too close: only part of your face fits; sit back"
        return Verdict("distance", title, "fail", reason, evidence)
    if size > config.warn_above:
        reason = f"too close: your face is {size:.0%} of the picture's height; sit back"
        return Verdict("distance", title, "warn", reason, evidence)
    status = _graded(size, config.warn_below, config.fail_below, above=False)
    reason = f"your face is {size:.0%} of the picture's height"
    if status != "pass":
        reason = f"too far: {reason}; come closer"
    return Verdict("distance", title, status, reason, evidence)


def focus(crop: np.ndarray, side: int) -> float:
    """How sharp a gray crop is: the variance of its Laplacian once it is resized to side × side
    and scaled to unit contrast (so neither its size nor its brightness counts)."""
    small = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    values = small.astype(np.float32)
    values = (values - values.mean()) / max(float(values.std()), 1.0)
    return float(cv2.Laplacian(values, cv2.CV_32F).var())


def check_sharpness(facts: FrameFacts, config: SharpnessThresholds) -> Verdict:
    title = "Sharpness"
    if not facts.you:
        return _nobody("sharpness", title)
    region = facts.face_region()
    if region is None:
        return Verdict("sharpness", title, "not_checked", f"{NO_FACE}: needs your face")
    value = round(focus(region[0], config.side), 3)
    status = _graded(value, config.warn_below, config.fail_below, above=False)
    reason = f"focus on your face {value:.2f}"
    if status != "pass":
        reason += ": your face is blurred; clean the lens, hold still or let the camera refocus"
    return Verdict("sharpness", title, status, reason, {"focus": value})
