"""Photos that are one photo: flipped, turned, cropped or re-lit copies, and frames of one view
moments apart. Found by their pixels, not their names: a perceptual hash over the eight flips
and quarter turns, and a hue-saturation histogram (blind to flips, turns and light), each
propose every photo's nearest few; ORB features matched under one affine map (which takes
flips, turns and crops, stretched or not) confirm them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

NEIGHBOURS = 4  # candidates proposed per photo by the hash
MATCHED_POINTS = 100  # ORB matches consistent with one affine map: the same picture
FEATURES = 500
SIDE = 320  # photos are compared at this size (longest side)


@dataclass(frozen=True)
class CopyGroups:
    groups: tuple[tuple[int, ...], ...]  # indices into the photos, two or more each
    pairs: int  # confirmed pairs of copies


def _dihedral_hashes(gray: np.ndarray) -> np.ndarray:
    """8×64 bits: the DCT hash of the photo's middle, under each flip and quarter turn."""
    height, width = gray.shape
    middle = gray[height // 6 : height - height // 6, width // 6 : width - width // 6]
    small = cv2.resize(middle, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    hashes = []
    for flipped in (small, small[:, ::-1]):
        for turns in range(4):
            low = cv2.dct(np.ascontiguousarray(np.rot90(flipped, turns)))[:8, :8].ravel()
            hashes.append(low > np.median(low[1:]))
    return np.array(hashes)


def _colours(image: np.ndarray) -> np.ndarray:
    """The photo's hue-saturation histogram, square-rooted (so a dot product is Bhattacharyya's
    coefficient)."""
    small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    counts = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256]).ravel()
    return np.sqrt(counts / max(float(counts.sum()), 1.0))


def _nearest(distance: np.ndarray) -> set[tuple[int, int]]:
    """Each photo's NEIGHBOURS nearest by `distance` (N×N), as ordered pairs."""
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1)[:, :NEIGHBOURS]
    return {(min(i, int(j)), max(i, int(j))) for i, row in enumerate(nearest) for j in row}


def _features(gray: np.ndarray, orb: cv2.ORB) -> tuple[tuple[np.ndarray, ...], ...]:
    """ORB points and descriptors of the photo and of its mirror image (ORB is not
    mirror-invariant)."""
    found = []
    for picture in (gray, np.ascontiguousarray(gray[:, ::-1])):
        points, descriptors = orb.detectAndCompute(picture, None)
        xy = np.array([p.pt for p in points], np.float32).reshape(-1, 2)
        found.append((xy, descriptors if descriptors is not None else np.zeros((0, 32), np.uint8)))
    return tuple(found)


def _matched_points(
    first: tuple[np.ndarray, ...], second: tuple[tuple[np.ndarray, ...], ...]
) -> int:
    """How many of the photos' features one affine map carries onto each other (the better of
    the second photo and its mirror image)."""
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
    best = 0
    xy, descriptors = first
    for other_xy, other_descriptors in second:
        if len(descriptors) < 10 or len(other_descriptors) < 10:
            continue
        matches = matcher.match(descriptors, other_descriptors)
        if len(matches) < 10:
            continue
        source = other_xy[[m.trainIdx for m in matches]]
        target = xy[[m.queryIdx for m in matches]]
        _, inliers = cv2.estimateAffine2D(source, target, ransacReprojThreshold=3.0)
        if inliers is not None:
            best = max(best, int(inliers.sum()))
    return best


def _bytes(path: Path) -> np.ndarray:
    """The file's bytes; none where it cannot be read (a photo with no features)."""
    try:
        return np.fromfile(path, np.uint8)
    except OSError:
        return np.zeros(0, np.uint8)


def _small_gray(gray: np.ndarray) -> np.ndarray:
    scale = SIDE / max(gray.shape)
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def find_copies(
    paths: Sequence[Path],
    named_together: Sequence[tuple[int, int]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> CopyGroups:
    """Groups of photos that show one picture. `named_together`: pairs the file names say are
    copies, checked as well as the hash's proposals."""
    orb = cv2.ORB.create(FEATURES)
    hashes = np.zeros((len(paths), 8, 64), bool)
    colours = np.zeros((len(paths), 16 * 8), np.float32)
    features: list[tuple[tuple[np.ndarray, ...], ...]] = []
    for index, path in enumerate(paths):
        data = _bytes(path)  # read once, decoded in colour and in gray
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        gray = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if image is not None else None
        if image is None or gray is None:
            features.append(((np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)),) * 2)
            continue
        gray = _small_gray(gray)
        hashes[index] = _dihedral_hashes(gray)
        colours[index] = _colours(image)
        features.append(_features(gray, orb))
        if progress is not None:
            progress(index + 1, 2 * len(paths))
    candidates = set(named_together)
    if len(paths) > 1:
        upright = hashes[:, 0, :]
        differing = np.full((len(paths), len(paths)), 65.0)
        for variant in range(8):
            differing = np.minimum(
                differing, (upright[:, None, :] != hashes[None, :, variant, :]).sum(-1)
            )
        candidates |= _nearest(differing) | _nearest(1.0 - colours @ colours.T)
    parent = list(range(len(paths)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    confirmed = 0
    for done, (first, second) in enumerate(sorted(candidates)):
        if _matched_points(features[first][0], features[second]) >= MATCHED_POINTS:
            confirmed += 1
            parent[root(first)] = root(second)
        if progress is not None:
            progress(len(paths) + (done + 1) * len(paths) // len(candidates), 2 * len(paths))
    members: dict[int, list[int]] = {}
    for index in range(len(paths)):
        members.setdefault(root(index), []).append(index)
    groups = sorted((tuple(g) for g in members.values() if len(g) > 1), key=lambda g: (-len(g), g))
    return CopyGroups(tuple(groups), confirmed)
