"""Face chips cut from the detector's own 5 landmarks — how photos are aligned, on the server and the phone.

RetinaFace's 5 landmarks are mapped onto :data:`RETINA5_TEMPLATE` — where dlib's alignment puts those
landmarks on average, measured by ``scripts/fit_retina5_template.py`` — by a least-squares similarity
transform, and the chip is sampled bilinearly (float32) after halving the image while the chip is more
than 2× smaller than the face (as dlib's pyramid does). ``web/static/device.js`` (the phone, which has
no dlib) does the same operations in the same order, so this module is also the reference for that
JavaScript: ``agegender features --landmarks retina5`` measures exactly what the phone computes. The
training crops are aligned by dlib's 5-point predictor instead (faces.py); on photos this alignment
gives the same models better chips (docs/MODEL.md).

Coordinates: a face's "unit" square is dlib's (0..1 across the face at padding 0); a chip of side
``S`` with padding ``p`` shows unit coordinates ``-p .. 1+p``, and chip pixel ``c`` sits at unit
``c / (S - 1) * (1 + 2p) - p``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The cutter's revision, part of the feature cache's key for ``retina5`` chips: 2 = float32
#: interpolation (the float64 formula before it differs by one grey level on ~0.2 % of values).
CUTTER = 2

#: RetinaFace's landmarks (left eye, right eye, nose tip, mouth left, mouth right, as seen in the
#: image) in dlib's unit face square: the median over 1,000 UTKFace faces
#: (``python scripts/fit_retina5_template.py ../shared/data/utkface/crop_part1 --n 1000``).
RETINA5_TEMPLATE = np.array([
    [0.2160, 0.2027],
    [0.7625, 0.1983],
    [0.4811, 0.5223],
    [0.2472, 0.7268],
    [0.7384, 0.7239],
])


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) taking ``src`` points to ``dst``.

    Returns ``(a, b, tx, ty)``: ``x' = a x - b y + tx``, ``y' = b x + a y + ty``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - ms, dst - md
    den = float((s ** 2).sum())
    a = float((s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum()) / den
    b = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / den
    tx = md[0] - (a * ms[0] - b * ms[1])
    ty = md[1] - (b * ms[0] + a * ms[1])
    return np.array([a, b, tx, ty])


def apply(t: np.ndarray, pts: np.ndarray) -> np.ndarray:
    a, b, tx, ty = t
    pts = np.asarray(pts, dtype=np.float64)
    return np.stack([a * pts[:, 0] - b * pts[:, 1] + tx, b * pts[:, 0] + a * pts[:, 1] + ty], axis=1)


def invert(t: np.ndarray) -> np.ndarray:
    a, b, tx, ty = t
    n = a * a + b * b
    ia, ib = a / n, -b / n
    return np.array([ia, ib, -(ia * tx - ib * ty), -(ib * tx + ia * ty)])


def unit_transform(landmarks: np.ndarray, template: np.ndarray = RETINA5_TEMPLATE) -> np.ndarray:
    """Image → unit face coordinates, fitted on the 5 landmarks."""
    return similarity(landmarks, template)


def halve(image: np.ndarray) -> np.ndarray:
    """One pyramid level: each 2×2 block averaged (odd last row/column dropped), kept as float32.

    The four values are added in one fixed order; every sum is exact (whole grey levels, then quarters,
    sixteenths …), so summing bytes in uint16 first gives the same floats, only faster.
    """
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    x = image[:h, :w]
    if x.dtype == np.uint8:
        x = x.astype(np.uint16)
    total = x[0::2, 0::2] + x[1::2, 0::2]
    total += x[0::2, 1::2]
    total += x[1::2, 1::2]
    return total.astype(np.float32) * np.float32(0.25)


def pyramid_levels(t_unit: np.ndarray, size: int, padding: float) -> int:
    """How many halvings before sampling: while one chip pixel spans more than 2 image pixels."""
    px = (1 + 2 * padding) / ((size - 1) * float(np.hypot(t_unit[0], t_unit[1])))  # image px per chip px
    levels = 0
    while px > 2.0:
        px /= 2.0
        levels += 1
    return levels


def _padded_planes(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` → ``(3, (H+2)·(W+2))`` float32 planes with a one-pixel zero border.

    The border stands for "outside the image" (sampled as 0), so a corner index only needs clipping.
    """
    h, w = image.shape[:2]
    planes = np.zeros((3, h + 2, w + 2), np.float32)
    planes[:, 1:-1, 1:-1] = np.moveaxis(image, 2, 0)
    return planes.reshape(3, -1)


@dataclass
class _Region:
    """A part of the image, cut at multiples of ``step`` pixels, with its own halvings: its level-k
    pixels are exactly the whole image's (same 2×2 blocks), so chips need not halve a whole photo."""

    x0: int
    y0: int
    x1: int
    y1: int
    step: int
    levels: list = field(default_factory=list)  # [image part, its padded planes or None] per level

    def holds(self, box: tuple[int, int, int, int], level: int) -> bool:
        return (self.step >= 2 ** level and self.x0 <= box[0] and self.y0 <= box[1]
                and self.x1 >= box[2] and self.y1 >= box[3])

    def planes(self, level: int) -> tuple[np.ndarray, int, int]:
        """The level's padded planes, width and height."""
        while len(self.levels) <= level:
            self.levels.append([halve(self.levels[-1][0]), None])
        entry = self.levels[level]
        if entry[1] is None:
            entry[1] = _padded_planes(entry[0])
        return entry[1], entry[0].shape[1], entry[0].shape[0]


def _sample_positions(t_unit: np.ndarray, size: int, padding: float, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each chip pixel samples, in level-``level`` pixel coordinates (float64, chip-shaped)."""
    ia, ib, itx, ity = invert(t_unit)
    c = np.arange(size, dtype=np.float64) / (size - 1) * (1 + 2 * padding) - padding
    u, v = c[None, :], c[:, None]  # chip column and row → unit coordinates
    # level-k pixel centres: x_k = (x + 0.5) / 2^k - 0.5
    k = float(2 ** level)
    return (ia * u - ib * v + itx + 0.5) / k - 0.5, (ib * u + ia * v + ity + 0.5) / k - 0.5


def _needed_box(x: np.ndarray, y: np.ndarray, level: int, width: int, height: int) -> tuple[int, int, int, int]:
    """The image pixels (level 0, ``x0, y0, x1, y1``, end exclusive) whose level-``level`` blocks the
    samples ``x, y`` read, with a block to spare on each side; clipped to the image."""
    k = 2 ** level
    return (max(0, (int(np.floor(x.min())) - 1) * k), max(0, (int(np.floor(y.min())) - 1) * k),
            min(width, (int(np.floor(x.max())) + 3) * k), min(height, (int(np.floor(y.max())) + 3) * k))


#: Regions are cut around a face with at least this padding and on multiples of 2^7 pixels, so the
#: chips of one face (paddings 0.2–0.3, up to 7 halvings) share one region and its halvings.
_REGION_PADDING, _REGION_LEVELS = 0.3, 7


def _region(pyramid: list, image: np.ndarray, t_unit: np.ndarray, padding: float, level: int,
            box: tuple[int, int, int, int]) -> _Region:
    for region in pyramid:
        if region.holds(box, level):
            return region
    height, width = image.shape[:2]
    step = 2 ** max(level, _REGION_LEVELS)
    if padding < _REGION_PADDING:  # room for the face's other chips
        x, y = _sample_positions(t_unit, 2, _REGION_PADDING, 0)  # the corners suffice
        wide = _needed_box(x, y, 0, width, height)
        box = (min(box[0], wide[0]), min(box[1], wide[1]), max(box[2], wide[2]), max(box[3], wide[3]))
    x0, y0 = box[0] // step * step, box[1] // step * step
    x1, y1 = min(width, -(-box[2] // step) * step), min(height, -(-box[3] // step) * step)
    region = _Region(x0, y0, x1, y1, step, [[image[y0:y1, x0:x1], None]])
    pyramid.append(region)
    return region


def cut_chip(image: np.ndarray, t_unit: np.ndarray, size: int, padding: float, pyramid: list | None = None) -> np.ndarray:
    """The ``size×size`` RGB chip of the face whose image→unit transform is ``t_unit``.

    Bilinear sampling as two linear interpolations in float32 (across, then down), truncated to whole
    grey levels as dlib does; sample positions are computed in float64. device.js does the same
    operations in the same order (with ``Math.fround``), so both give the same bytes. Only the part of
    the image around the face is halved (the same pixels as halving the whole image, far faster on big
    photos). ``pyramid`` (a list, filled lazily) lets several chips of one image share those parts and
    their halvings.
    """
    if pyramid is None:
        pyramid = []
    level = pyramid_levels(t_unit, size, padding)
    x, y = _sample_positions(t_unit, size, padding, level)
    box = _needed_box(x, y, level, image.shape[1], image.shape[0])
    if box[0] >= box[2] or box[1] >= box[3]:
        return np.zeros((size, size, 3), np.uint8)  # the chip lies wholly outside the image
    region = _region(pyramid, image, t_unit, padding, level, box)
    planes, w, h = region.planes(level)
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0).astype(np.float32).ravel(), (y - y0).astype(np.float32).ravel()
    k = 2 ** level
    # whole-image level-k pixel → the region's, +1 for the zero border (outside the region = outside the image)
    xi = x0.astype(np.int64).ravel() + (1 - region.x0 // k)
    yi = y0.astype(np.int64).ravel() + (1 - region.y0 // k)
    left, right = np.clip(xi, 0, w + 1), np.clip(xi + 1, 0, w + 1)
    upper, lower = np.clip(yi, 0, h + 1) * (w + 2), np.clip(yi + 1, 0, h + 1) * (w + 2)
    top, top_right = np.take(planes, upper + left, axis=1), np.take(planes, upper + right, axis=1)
    top_right -= top
    top_right *= fx
    top += top_right  # top + fx·(top_right − top)
    bottom, bottom_right = np.take(planes, lower + left, axis=1), np.take(planes, lower + right, axis=1)
    bottom_right -= bottom
    bottom_right *= fx
    bottom += bottom_right
    bottom -= top
    bottom *= fy
    top += bottom  # top + fy·(bottom − top)
    np.clip(top, 0, 255, out=top)
    return np.ascontiguousarray(top.astype(np.uint8).T).reshape(size, size, 3)  # truncated, as dlib does


def dlib_unit_transform(details) -> np.ndarray:
    """Image → unit transform of a ``dlib.chip_details`` (its rect is the unit square, rotated by angle).

    Used to measure where dlib's alignment puts RetinaFace's landmarks (the template above).
    """
    r = details.rect
    cx, cy = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2
    ca, sa = np.cos(details.angle), np.sin(details.angle)

    def rot(x: float, y: float) -> tuple[float, float]:
        dx, dy = x - cx, y - cy
        return cx + ca * dx - sa * dy, cy + sa * dx + ca * dy

    corners = np.array([rot(r.left(), r.top()), rot(r.right(), r.top()), rot(r.right(), r.bottom()), rot(r.left(), r.bottom())])
    return similarity(corners, np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
