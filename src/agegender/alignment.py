"""Face chips cut from the detector's own 5 landmarks — the alignment the in-browser app uses.

The server aligns each face with dlib's 5-point shape predictor and dlib's chip cutter. A browser has
no dlib, so the page (``web/static/device.js``) aligns with RetinaFace's 5 landmarks instead: a
least-squares similarity transform maps them onto :data:`RETINA5_TEMPLATE` — where dlib's alignment
puts those landmarks on average, measured by ``scripts/fit_retina5_template.py`` — and the chip is
sampled bilinearly after halving the image while the chip is more than 2× smaller than the face (as
dlib's pyramid does). This module is the reference for that JavaScript: the same math, step by step,
so that ``agegender features --landmarks retina5`` measures exactly what the phone computes.

Coordinates: a face's "unit" square is dlib's (0..1 across the face at padding 0); a chip of side
``S`` with padding ``p`` shows unit coordinates ``-p .. 1+p``, and chip pixel ``c`` sits at unit
``c / (S - 1) * (1 + 2p) - p``.
"""

from __future__ import annotations

import numpy as np

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
    """One pyramid level: each 2×2 block averaged (odd last row/column dropped), kept as float32."""
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    x = image[:h, :w].astype(np.float32)
    return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) * np.float32(0.25)


def pyramid_levels(t_unit: np.ndarray, size: int, padding: float) -> int:
    """How many halvings before sampling: while one chip pixel spans more than 2 image pixels."""
    px = (1 + 2 * padding) / ((size - 1) * float(np.hypot(t_unit[0], t_unit[1])))  # image px per chip px
    levels = 0
    while px > 2.0:
        px /= 2.0
        levels += 1
    return levels


def cut_chip(image: np.ndarray, t_unit: np.ndarray, size: int, padding: float, pyramid: list | None = None) -> np.ndarray:
    """The ``size×size`` RGB chip of the face whose image→unit transform is ``t_unit``.

    ``pyramid`` (a list, filled lazily: level 0 is ``image``) lets several chips of one image share
    their halvings.
    """
    if pyramid is None:
        pyramid = []
    if not pyramid:
        pyramid.append(image)
    level = pyramid_levels(t_unit, size, padding)
    while len(pyramid) <= level:
        pyramid.append(halve(pyramid[-1]))
    src = pyramid[level]
    h, w = src.shape[:2]
    flat = src.reshape(-1, 3)
    c = np.arange(size, dtype=np.float64) / (size - 1) * (1 + 2 * padding) - padding
    uu, vv = np.meshgrid(c, c)
    pts = apply(invert(t_unit), np.stack([uu.ravel(), vv.ravel()], axis=1))
    # level-k pixel centres: x_k = (x + 0.5) / 2^k - 0.5
    k = float(2 ** level)
    x = (pts[:, 0] + 0.5) / k - 0.5
    y = (pts[:, 1] + 0.5) / k - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:  # one gather, then zeros outside the image
        out = flat[np.clip(yy, 0, h - 1) * w + np.clip(xx, 0, w - 1)].astype(np.float64)
        out[(xx < 0) | (xx >= w) | (yy < 0) | (yy >= h)] = 0.0
        return out

    v = (at(y0, x0) * (1 - fx) * (1 - fy) + at(y0, x0 + 1) * fx * (1 - fy)
         + at(y0 + 1, x0) * (1 - fx) * fy + at(y0 + 1, x0 + 1) * fx * fy)
    return np.clip(np.floor(v), 0, 255).astype(np.uint8).reshape(size, size, 3)  # truncated, as dlib does


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
