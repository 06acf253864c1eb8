"""Copies of clean face photos that look like ordinary phone photos: for training, and to test robustness.

UTKFace's crops are sharp, well lit and centred; the photos users bring are not. Each copy draws a
few changes that phones and their users make — a mirror image, a tilt and a looser or tighter crop,
a face only a few dozen pixels wide, blur, sensor noise, low light, a colour cast, heavy JPEG — with
a seed per (image, copy), so a rerun writes the same files. A copy keeps its original's labels and
names the original in its ``subject`` field: splits keep every copy on its original's side (a test
face's copies never train) — see :func:`agegender.splits.stratified_kfold`.

:func:`augment` with ``shrink=SIDE`` writes one other kind of copy: every image larger than SIDE px
shrunk to SIDE px (as JPEG, quality 75). UTKFace's children and elderly are nearly all sharp 200 px
crops (``crop_part1``), its adults mostly 64 px ones (``utkface64``), so a model could learn sharpness
as a sign of age; 64 px copies of the sharp crops measure that and can train against it (measured in
docs/BENCHMARKS.md: the loss at 64 px is mostly information that is gone, not such a shortcut).
``tight=True`` cuts the face close, ``gray=True`` makes a grayscale copy, ``occlude="glasses"`` or ``"mask"``
puts the face behind sunglasses or a face mask, ``look="beauty"``, ``"overexposed"`` or ``"shake"`` gives the
photo a phone's beauty filter, burnt-out highlights or camera shake: other checks of generality.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from agegender.manifest import DropLog, Manifest, Record

SUFFIX = "-aug"


def _rng(key: str, copy: int | str, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{copy}:{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def degrade(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One phone-like version of ``image`` (RGB): every change is drawn independently."""
    im = image.convert("RGB")
    w, h = im.size
    if rng.random() < 0.5:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < 0.7:  # tilt, and a looser or tighter crop around the face: one affine map
        angle = np.deg2rad(float(rng.uniform(-12, 12)))
        scale = float(rng.uniform(0.85, 1.15))
        dx, dy = (float(v) for v in rng.uniform(-0.06, 0.06, 2) * (w, h))
        c, s = np.cos(angle) / scale, np.sin(angle) / scale
        cx, cy = w / 2, h / 2
        im = im.transform((w, h), Image.Transform.AFFINE, (c, s, cx - c * cx - s * cy + dx, -s, c, cy + s * cx - c * cy + dy),
                          Image.BILINEAR, fillcolor=tuple(int(v) for v in np.asarray(im).reshape(-1, 3).mean(0)))
    if rng.random() < 0.6:  # a small face: few pixels, scaled back up as a detector's crop would be
        side = int(rng.integers(28, 110))
        im = im.resize((side, max(1, round(side * h / w))), Image.BILINEAR).resize((w, h), Image.BILINEAR)
    if rng.random() < 0.35:
        im = im.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.6, 2.2))))
    a = np.asarray(im, dtype=np.float32) / 255.0
    if rng.random() < 0.35:  # low light: darker, flatter, noisier
        a = a ** float(rng.uniform(1.3, 2.3)) * float(rng.uniform(0.45, 0.9))
    if rng.random() < 0.4:
        a = a * rng.uniform(0.85, 1.15, 3).astype(np.float32)  # white balance off
    if rng.random() < 0.4:
        a = (a - 0.5) * float(rng.uniform(0.7, 1.25)) + 0.5 + float(rng.uniform(-0.08, 0.08))
    if rng.random() < 0.45:
        a = a + rng.normal(0, float(rng.uniform(0.01, 0.05)), a.shape).astype(np.float32)
    im = Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=int(rng.integers(18, 80)) if rng.random() < 0.7 else 90)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


#: JPEG quality of shrunk copies (UTKFace's own 64 px images are stored at about this quality).
SHRINK_QUALITY = 75


def shrink(image: Image.Image, side: int) -> Image.Image | None:
    """``image`` with its longer side made ``side`` px (antialiased), or None when it is not larger."""
    w, h = image.size
    if max(w, h) <= side:
        return None
    scale = side / max(w, h)
    return image.convert("RGB").resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BICUBIC)


#: Tight copies: each side of the face box drawn from a range, in eye distances d from the eyes' midpoint
#: (left, top, right, bottom): from about as tight as UTKFace's own crops to tighter on every side — how
#: face-crop data sets and other tools often hand faces over (cheek to cheek, brows to chin, little hair).
#: Measured with RetinaFace's eyes on 300 crops each: UTKFace -1.23 / -0.71 / 1.24 / 1.77 (medians),
#: CelebA's gender crops -1.07 / -1.04 / 0.99 / 1.66; chips cut from such crops hold black margins.
TIGHT_RANGES = ((-1.25, -0.8), (-1.1, -0.6), (0.8, 1.25), (1.45, 1.95))
TIGHT_QUALITY = 90
_FACES = None  # RetinaFace with its own landmarks, one per process (tight and occluded copies need them)


def _largest_face(image: Image.Image) -> tuple[np.ndarray, float] | None:
    """RetinaFace's 5 landmarks (:data:`agegender.faces.LANDMARK_NAMES`) of the largest face, its eyes in
    image order (left first), and their distance; None without a face or with eyes under 4 px apart."""
    global _FACES
    if _FACES is None:
        from agegender.faces import FacePipeline

        _FACES = FacePipeline("retinaface", min_face=0, landmarks="retina5")
    found = _FACES.faces(np.asarray(image.convert("RGB")))  # largest first
    if not found:
        return None
    marks = np.asarray(found[0].landmarks, dtype=np.float64)
    if marks[1][0] < marks[0][0]:
        marks[[0, 1]] = marks[[1, 0]]
    d = float(np.hypot(*(marks[1] - marks[0])))
    return (marks, d) if d >= 4 else None


def tight_crop(image: Image.Image, rng: np.random.Generator) -> Image.Image | None:
    """The largest face of ``image`` cut tight (:data:`TIGHT_RANGES`), or None when no face is found."""
    face = _largest_face(image)
    if face is None:
        return None
    marks, d = face
    cx, cy = (marks[0] + marks[1]) / 2
    x0, y0, x1, y1 = (rng.uniform(lo, hi) * d for lo, hi in TIGHT_RANGES)
    return _cut(image, cx + x0, cy + y0, cx + x1, cy + y1)


def _cut(image: Image.Image, x0: float, y0: float, x1: float, y1: float) -> Image.Image | None:
    """``image`` (RGB) cut to the box, rounded and kept inside the image; None when under 8 px a side."""
    w, h = image.size
    box = (max(0, round(x0)), max(0, round(y0)), min(w, round(x1)), min(h, round(y1)))
    if box[2] - box[0] < 8 or box[3] - box[1] < 8:
        return None
    return image.convert("RGB").crop(box)


#: What covers faces in ordinary photos: sunglasses (eyes and brows' lower edge), or a face mask (the
#: bridge of the nose to the chin, cheek to cheek) — :func:`occlude`.
OCCLUSIONS = ("glasses", "mask")
#: ``augment(occlude=ANY_OCCLUSION)``: one of :data:`OCCLUSIONS` per image, drawn from its seed.
ANY_OCCLUSION = "any"
OCCLUDED_QUALITY = 90
#: Mask colours (RGB, before a small random shift): surgical blue, white, black, grey, pastel pink, khaki.
_MASK_COLOURS = ((165, 205, 230), (235, 236, 238), (32, 32, 36), (128, 130, 135), (232, 190, 200), (176, 160, 120))
_SUPERSAMPLE = 4


def _window(w: int, h: int, polygons: list[np.ndarray], lines: list[tuple[np.ndarray, float]]) -> tuple[int, int, int, int]:
    """The pixels (x0, y0, x1, y1) that ``polygons`` and thick ``lines`` can touch, clipped to a w×h image, so a
    12 MP photo paints (and supersamples) a face-sized patch instead of itself."""
    pts = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons] +
                         [np.asarray(q, dtype=np.float64).reshape(-1, 2) for q, _ in lines])
    pad = 2 + max([width for _, width in lines], default=0.0)
    x0, y0 = np.floor(pts.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(pts.max(axis=0) + pad).astype(int)
    return max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))


def _fill(image: Image.Image, polygons: list[np.ndarray], colour: np.ndarray, opacity: float,
          lines: list[tuple[np.ndarray, float]] = (),
          shade: Callable[[tuple[int, int, int, int]], np.ndarray] | None = None) -> Image.Image:
    """``image`` with ``polygons`` (and thick ``lines``: points, width) painted in ``colour`` at ``opacity``,
    edges antialiased (drawn at 4× and reduced); ``shade(window)``: a brightness factor per pixel of the
    painted window (x0, y0, x1, y1) as an array of its shape."""
    from PIL import ImageDraw

    w, h = image.size
    x0, y0, x1, y1 = _window(w, h, polygons, lines)
    rgb = image.convert("RGB")
    if x1 <= x0 or y1 <= y0:
        return rgb
    origin = np.array([x0, y0], dtype=np.float64) * _SUPERSAMPLE
    cover = Image.new("L", ((x1 - x0) * _SUPERSAMPLE, (y1 - y0) * _SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(cover)
    for poly in polygons:
        draw.polygon([tuple(p) for p in (poly * _SUPERSAMPLE - origin).tolist()], fill=255)
    for pts, width in lines:
        draw.line([tuple(p) for p in (pts * _SUPERSAMPLE - origin).tolist()], fill=255,
                  width=max(1, round(width * _SUPERSAMPLE)))
    alpha = np.asarray(cover.resize((x1 - x0, y1 - y0), Image.BOX), dtype=np.float32)[..., None] / 255.0 * opacity
    out = np.array(rgb)
    a = out[y0:y1, x0:x1].astype(np.float32)
    paint = np.asarray(colour, dtype=np.float32)
    if shade is not None:
        paint = paint * shade((x0, y0, x1, y1))[..., None].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(a * (1 - alpha) + paint * alpha + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(out)


def _ellipse(centre: np.ndarray, u: np.ndarray, v: np.ndarray, a: float, b: float, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)[:, None]
    return centre + np.cos(t) * a * u + np.sin(t) * b * v


def occlude(image: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image | None:
    """``image`` with its largest face's eyes behind sunglasses (``kind="glasses"``) or its nose, mouth and
    chin behind a face mask (``"mask"``), drawn from RetinaFace's landmarks in the eyes' frame (sizes in eye
    distances, drawn at random within the range of real ones); None when no face is found."""
    if kind not in OCCLUSIONS:
        raise ValueError(f"unknown occlusion {kind!r}; choose one of {', '.join(OCCLUSIONS)}")
    face = _largest_face(image)
    if face is None:
        return None
    marks, d = face
    left, right, nose = marks[:3]
    u = (right - left) / d  # along the eyes, image left to right
    v = np.array([-u[1], u[0]])  # down the face
    mid = (left + right) / 2

    def at(x: float, y: float) -> np.ndarray:  # a point in the eyes' frame, in eye distances
        return mid + d * (x * u + y * v)

    if kind == "glasses":
        a, b, drop = rng.uniform(0.36, 0.46), rng.uniform(0.25, 0.34), rng.uniform(0.0, 0.06)
        lenses = [_ellipse(eye + d * drop * v, u, v, a * d, b * d) for eye in (left, right)]
        inner, outer = 0.5 - a, 0.5 + a
        frame = [(np.stack([at(-inner, drop - 0.1), at(inner, drop - 0.1)]), 0.06 * d),
                 (np.stack([at(-outer, drop - 0.05), at(-outer - 0.35, drop - 0.1)]), 0.05 * d),
                 (np.stack([at(outer, drop - 0.05), at(outer + 0.35, drop - 0.1)]), 0.05 * d)]
        tone = rng.uniform(5, 55)
        colour = np.clip(tone + rng.uniform(-10, 10, 3), 0, 255)
        return _fill(image, lenses, colour, float(rng.uniform(0.85, 0.97)), frame)
    nose_y = float(np.dot(nose - mid, v)) / d
    mouth_y = float(np.dot((marks[3] + marks[4]) / 2 - mid, v)) / d
    if not (0.2 < nose_y < mouth_y < 2.5):  # landmarks too odd (a profile, a bad fit) to place a mask on
        return None
    top = nose_y - rng.uniform(0.25, 0.4)
    chin = mouth_y + rng.uniform(0.5, 0.7)
    wide, low = rng.uniform(0.95, 1.15), rng.uniform(0.5, 0.65)
    outline = np.stack([at(-wide, top + 0.1), at(-0.25, top - 0.05), at(0, top - 0.08), at(0.25, top - 0.05),
                        at(wide, top + 0.1), at(wide * 0.98, mouth_y), at(low, chin - 0.1), at(0, chin),
                        at(-low, chin - 0.1), at(-wide * 0.98, mouth_y)])
    straps = [(np.stack([at(-wide, top + 0.15), at(-wide - 0.3, top - 0.05)]), 0.04 * d),
              (np.stack([at(wide, top + 0.15), at(wide + 0.3, top - 0.05)]), 0.04 * d)]
    base = np.asarray(_MASK_COLOURS[int(rng.integers(len(_MASK_COLOURS)))], dtype=np.float64)
    colour = np.clip(base + rng.uniform(-12, 12, 3), 0, 255)
    # cloth, not a hole: lit from the front (darker towards the cheeks and under the chin), pleats across
    depth = rng.uniform(0.15, 0.3)
    pleats = rng.uniform(0, 0.08)

    def shade(window: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = window
        px = np.stack(np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5), -1) - mid
        x, y = px @ u / d, px @ v / d
        s = 1 - depth * np.clip(np.abs(x) / wide, 0, 1) ** 2 - 0.5 * depth * np.clip((y - mouth_y) / (chin - mouth_y), 0, 1)
        s = s - pleats * (np.cos(2 * np.pi * (y - top) / max(chin - top, 0.3) * 3) > 0.8)
        return np.clip(s + _window_noise(rng, image.size[0], window, 0.015), 0.4, 1.1)

    return _fill(image, [outline], colour, 1.0, straps, shade=shade)


def _window_noise(rng: np.random.Generator, width: int, window: tuple[int, int, int, int], sigma: float,
                  rows: int = 256) -> np.ndarray:
    """The window's part of ``rng.normal(0, sigma, (h, width))`` drawn for the whole image, without holding
    the whole image's draw: the rows are drawn a band at a time (the same numbers) and the rest dropped."""
    x0, y0, x1, y1 = window
    kept = []
    for top in range(0, y1, rows):
        band = rng.normal(0, sigma, (min(rows, y1 - top), width))
        lo = max(y0 - top, 0)
        if lo < band.shape[0]:
            kept.append(band[lo:, x0:x1])
    return np.concatenate(kept)


#: Quarter turns a copy may be turned by (degrees counterclockwise): a photo taken sideways or upside down
#: whose EXIF orientation was lost, or a person lying down — :func:`turn`.
TURNS = (90, 180, 270)
#: ``augment(turn=ANY_TURN)``: one of :data:`TURNS` per image, drawn from its seed.
ANY_TURN = "any"
TURN_QUALITY = 95


def turn(image: Image.Image, degrees: int) -> Image.Image:
    """``image`` turned counterclockwise by ``degrees`` (one of :data:`TURNS`), without resampling."""
    ops = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
    if degrees not in ops:
        raise ValueError(f"unknown turn {degrees!r}; choose one of {', '.join(map(str, TURNS))}")
    return image.convert("RGB").transpose(ops[degrees])


#: Close-ups: a square around the face's 5 landmarks, a random number in ``CLOSE_UP_RANGE`` of eye distances
#: on a side (a face is ~2.5 wide: from overflowing the frame to filling most of it; cut at the image's
#: edges), scaled to ``CLOSE_UP_SIZE`` px on its longer side — a selfie at arm's length, a high-resolution
#: portrait: faces larger than RetinaFace's anchors on its 640 px copy (detectors.CLOSE_UP_SIDE) — :func:`close_up`.
CLOSE_UP_RANGE = (1.5, 3.0)
CLOSE_UP_SIZE = 1024
CLOSE_UP_QUALITY = 90


def close_up(image: Image.Image, rng: np.random.Generator) -> Image.Image | None:
    """The largest face of ``image`` as a close-up (:data:`CLOSE_UP_RANGE`), or None when no face is found."""
    face = _largest_face(image)
    if face is None:
        return None
    marks, d = face
    cx, cy = marks.mean(axis=0)
    half = float(rng.uniform(*CLOSE_UP_RANGE)) * d / 2
    crop = _cut(image, cx - half, cy - half, cx + half, cy + half)
    if crop is None:
        return None
    k = CLOSE_UP_SIZE / max(crop.size)
    return crop.resize((max(1, round(crop.width * k)), max(1, round(crop.height * k))), Image.BICUBIC)


#: Looks a phone's software or its user give a photo beyond the phone-like copies' (``look=``): a beauty filter
#: (skin smoothed, edges kept, a little brighter), overexposure (highlights burnt out), camera shake (motion blur).
#: Each makes the default model read faces of 38 and over as younger (docs/BENCHMARKS.md, 2026-12-06).
LOOKS = ("beauty", "overexposed", "shake")
#: ``look=ANY_LOOK``: one of :data:`LOOKS` per image, drawn from the seed.
ANY_LOOK = "any"
LOOK_QUALITY = 90
#: A face crop's face is about this share of its shorter side (UTKFace's crops; a look's strength follows the face).
CROP_FACE_SHARE = 0.6


def beauty(image: Image.Image, face_px: float, brighten: float = 1.08) -> Image.Image:
    """``image`` through a beauty filter as phones apply it to a face ``face_px`` wide: two edge-keeping
    (bilateral) smoothings — 9 px across and 7 px of spatial spread for a 160 px face — that take wrinkles and
    skin texture away, and ``brighten``."""
    import cv2

    a = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    for _ in range(2):
        a = cv2.bilateralFilter(a, max(3, round(face_px * 9 / 160)) | 1, 35, face_px * 7 / 160)
    return ImageEnhance.Brightness(Image.fromarray(a)).enhance(brighten)


def overexpose(image: Image.Image, gain: float = 1.8) -> Image.Image:
    """``image`` ``gain`` times brighter, its highlights burnt out (clipped at white): a flash too close, a
    face metered against a dark background."""
    return ImageEnhance.Brightness(image.convert("RGB")).enhance(gain)


def shake(image: Image.Image, length: float, angle: float = 0.0) -> Image.Image:
    """``image`` blurred by a camera that moved ``length`` px during the exposure, ``angle`` degrees from the
    horizontal (a line kernel)."""
    import cv2

    n = max(1, round(length))
    size = n | 1
    kernel = np.zeros((size, size), np.float32)
    kernel[size // 2, (size - n) // 2:(size - n) // 2 + n] = 1
    if angle:
        centre = ((size - 1) / 2, (size - 1) / 2)
        kernel = cv2.warpAffine(kernel, cv2.getRotationMatrix2D(centre, angle, 1.0), (size, size))
    return Image.fromarray(cv2.filter2D(np.asarray(image.convert("RGB")), -1, kernel / kernel.sum()))


def restyle(image: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """A face crop with one of :data:`LOOKS`, its strength drawn from ``rng``: a beauty filter brightening by
    1.0–1.12, overexposure by 1.5–2.0, camera shake over 5–12 px per 160 px of face in any direction."""
    face_px = CROP_FACE_SHARE * min(image.size)
    if kind == "beauty":
        return beauty(image, face_px, float(rng.uniform(1.0, 1.12)))
    if kind == "overexposed":
        return overexpose(image, float(rng.uniform(1.5, 2.0)))
    if kind == "shake":
        return shake(image, face_px * float(rng.uniform(5, 12)) / 160, float(rng.uniform(0, 180)))
    raise ValueError(f"unknown look {kind!r}; choose one of {', '.join(LOOKS)}")


#: JPEG quality of grayscale copies.
GRAY_QUALITY = 90


def grayscale(image: Image.Image) -> Image.Image:
    """``image`` in shades of grey (ITU-R 601 luma, as Pillow's "L"), kept as RGB: an old or black-and-white photo."""
    return image.convert("L").convert("RGB")


#: Loosely framed portraits: the crop this share of a square photo's width, on a plain background of one colour
#: drawn per image from ``PORTRAIT_BACKGROUNDS`` — how FairFace's 448 px images (margin 1.25) frame a face.
PORTRAIT_SIZE, PORTRAIT_SHARE, PORTRAIT_QUALITY = 448, 0.3, 90
PORTRAIT_BACKGROUNDS = ((120, 118, 110), (200, 200, 195), (40, 45, 50), (90, 120, 150), (150, 130, 100))


def portrait(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """``image`` (a face crop) scaled to :data:`PORTRAIT_SHARE` of a :data:`PORTRAIT_SIZE` px square photo's width
    and set in its middle on a plain background: a face crop as a loosely framed portrait."""
    width = round(PORTRAIT_SIZE * PORTRAIT_SHARE)
    face = image.resize((width, max(1, round(image.height * width / image.width))), Image.BICUBIC)
    colour = PORTRAIT_BACKGROUNDS[int(rng.integers(len(PORTRAIT_BACKGROUNDS)))]
    canvas = Image.new("RGB", (PORTRAIT_SIZE, PORTRAIT_SIZE), colour)
    canvas.paste(face, ((PORTRAIT_SIZE - face.width) // 2, (PORTRAIT_SIZE - face.height) // 2))
    return canvas


def copy_record(rec: Record, copy: int | str, out_dir: Path) -> Record:
    """The record of copy ``copy`` of ``rec``: a number for a phone-like copy (source ``X-aug``), a tag such
    as ``64px`` for another kind (source ``X-64px-aug``): every kind trains only with its original."""
    safe = hashlib.sha1(f"{rec.source}:{rec.key}".encode()).hexdigest()[:16]
    kind = f"-{copy}" if isinstance(copy, str) else ""
    return Record(path=f"images/{safe[:2]}/{safe}.{copy}.jpg", root=str(out_dir), source=rec.source + kind + SUFFIX,
                  key=f"{rec.key}#{copy}", subject=rec.key, fold=rec.fold, age_group=rec.age_group, gender=rec.gender,
                  age_years=rec.age_years, race=rec.race, age_range=rec.age_range)


def _write_one(job: tuple[Record, int, int, str, str]) -> tuple[Record | None, str | None]:
    """One copy of ``kind`` (``""``: phone-like copy number ``copy``; ``"64px"``: shrunk; ``"tight"``; ``"closeup"``;
    ``"gray"``; ``"portrait"``; ``"glasses"``, ``"mask"``; ``"beauty"``, ``"overexposed"``, ``"shake"``; ``"turn90"`` …) → its record and a problem, or ``(None, None)`` when an image is
    too small to shrink or has no face to cut tight or to cover."""
    from agegender.imaging import ImageError, load_image

    rec, copy, seed, out_dir, kind = job
    new = copy_record(rec, kind or copy, Path(out_dir))
    target = new.full_path
    if target.is_file():
        return new, None  # written by an earlier (interrupted) run: same seed, same file
    try:
        image = Image.fromarray(load_image(rec.full_path))
    except ImageError as e:
        return new, e.problem
    if kind == "tight":
        out, quality = tight_crop(image, _rng(rec.key, "tight", seed)), TIGHT_QUALITY
    elif kind == "closeup":
        out, quality = close_up(image, _rng(rec.key, "closeup", seed)), CLOSE_UP_QUALITY
    elif kind == "gray":
        out, quality = grayscale(image), GRAY_QUALITY
    elif kind == "portrait":
        out, quality = portrait(image, _rng(rec.key, "portrait", seed)), PORTRAIT_QUALITY
    elif kind in OCCLUSIONS:
        out, quality = occlude(image, kind, _rng(rec.key, kind, seed)), OCCLUDED_QUALITY
    elif kind in LOOKS:
        out, quality = restyle(image, kind, _rng(rec.key, kind, seed)), LOOK_QUALITY
    elif kind.startswith("turn"):
        out, quality = turn(image, int(kind.removeprefix("turn"))), TURN_QUALITY
    elif kind:
        out, quality = shrink(image, int(kind.removesuffix("px"))), SHRINK_QUALITY
    else:
        out, quality = degrade(image, _rng(rec.key, copy, seed)), 95
    if out is None:
        return None, None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    out.save(tmp, "JPEG", quality=quality)
    tmp.replace(target)
    return new, None


def augment(manifest: Manifest, out_dir: str | Path, copies: int = 2, seed: int = 0, workers: int = 1,
            progress: bool = True, shrink: int = 0, tight: bool = False, gray: bool = False,
            occlude: str = "", turn: int | str = 0, close: bool = False, look: str = "", portraits: bool = False) -> Manifest:
    """Write ``copies`` degraded copies of every image under ``out_dir/images/`` and return their manifest
    (resumable: files already there are kept). ``shrink`` > 0: instead, one copy of every image larger
    than ``shrink`` px, shrunk to it (``copies`` and ``seed`` are then unused); ``tight``: instead, one
    copy of every image with a face, the face cut tight (:func:`tight_crop`; ``copies`` unused);
    ``gray``: instead, one grayscale copy of every image (:func:`grayscale`); ``occlude`` (one of
    :data:`OCCLUSIONS`, or ``"any"``: one of them per image): instead, one copy of every image with a face, the
    face behind sunglasses or a mask (:func:`occlude`); ``turn`` (one of :data:`TURNS`, or ``"any"``): instead,
    one copy of every image turned by that many degrees (:func:`turn`); ``close``: instead, one copy of every
    image with a face, the face as a close-up (:func:`close_up`); ``look`` (one of :data:`LOOKS`, or ``"any"``):
    instead, one copy of every image with that look (:func:`restyle`); ``portraits``: instead, one copy of every image
    as a loosely framed portrait (:func:`portrait`)."""
    if (shrink > 0) + tight + gray + bool(occlude) + bool(turn) + close + bool(look) + portraits > 1:
        raise ValueError("one kind of copy at a time: shrink, tight, gray, occlude, turn, close-up, look or portrait")
    if look and look not in (*LOOKS, ANY_LOOK):
        raise ValueError(f"unknown look {look!r}; choose one of {', '.join((*LOOKS, ANY_LOOK))}")
    if occlude and occlude not in (*OCCLUSIONS, ANY_OCCLUSION):
        raise ValueError(f"unknown occlusion {occlude!r}; choose one of {', '.join((*OCCLUSIONS, ANY_OCCLUSION))}")
    if turn and turn not in (*TURNS, ANY_TURN):
        raise ValueError(f"unknown turn {turn!r}; choose one of {', '.join(map(str, (*TURNS, ANY_TURN)))}")
    from tqdm import tqdm

    out_dir = Path(out_dir)
    kind = ("tight" if tight else "closeup" if close else "gray" if gray else "portrait" if portraits else occlude or look
            or (f"turn{turn}" if turn else "") or (f"{shrink}px" if shrink else ""))
    per_image = 1 if kind else copies

    def kind_of(rec: Record) -> str:
        if occlude == ANY_OCCLUSION:
            return OCCLUSIONS[int(_rng(rec.key, ANY_OCCLUSION, seed).integers(len(OCCLUSIONS)))]
        if look == ANY_LOOK:
            return LOOKS[int(_rng(rec.key, "anylook", seed).integers(len(LOOKS)))]
        if kind == f"turn{ANY_TURN}":
            return f"turn{TURNS[int(_rng(rec.key, kind, seed).integers(len(TURNS)))]}"
        return kind

    jobs = [(r, k, seed, str(out_dir), kind_of(r)) for r in manifest.records for k in range(per_image)]
    drops = DropLog()
    records = []
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            results = list(tqdm(pool.imap(_write_one, jobs, chunksize=64), total=len(jobs), disable=not progress,
                                desc="augment", unit="img"))
    else:
        results = [_write_one(j) for j in tqdm(jobs, disable=not progress, desc="augment", unit="img")]
    for new, problem in results:
        if problem:
            drops.add("original unreadable", new.subject or "", problem)
        elif new is not None:
            records.append(new)
    if tight:
        notes = [f"augment: {len(records)} of {len(manifest)} images with their face cut tight in {out_dir} (no face "
                 "found in the others); each copy's subject is its original's key"]
    elif close:
        notes = [f"augment: {len(records)} of {len(manifest)} images with their face as a close-up in {out_dir} (no face "
                 "found in the others); each copy's subject is its original's key"]
    elif occlude:
        cover = {"glasses": "sunglasses", "mask": "a face mask"}.get(occlude, "sunglasses or a face mask")
        notes = [f"augment: {len(records)} of {len(manifest)} images with their face behind {cover} in {out_dir} (no "
                 "face found in the others); each copy's subject is its original's key"]
    elif look:
        notes = [f"augment: {len(records)} of {len(manifest)} images with {'one of ' + ', '.join(LOOKS) if look == ANY_LOOK else look}"
                 f" (seed {seed}) in {out_dir}; each copy's subject is its original's key"]
    elif turn:
        notes = [f"augment: {len(records)} of {len(manifest)} images turned by {turn if turn != ANY_TURN else 'one of 90, 180 and 270'}"
                 f" degrees in {out_dir}; each copy's subject is its original's key"]
    elif gray:
        notes = [f"augment: {len(records)} of {len(manifest)} images in grayscale in {out_dir}; each copy's subject "
                 "is its original's key"]
    elif portraits:
        notes = [f"augment: {len(records)} of {len(manifest)} images as loosely framed {PORTRAIT_SIZE} px portraits in "
                 f"{out_dir}; each copy's subject is its original's key"]
    elif shrink:
        notes = [f"augment: {len(records)} of {len(manifest)} images shrunk to {shrink} px in {out_dir} (the others "
                 "are not larger); each copy's subject is its original's key"]
    else:
        notes = [f"augment: {copies} phone-like copies of each of {len(manifest)} images (seed {seed}) in {out_dir}; "
                 "each copy's subject is its original's key"]
    return Manifest(records, drops, notes)


#: Sources of copies that are not phone-like: shrunk (``X-64px-aug``), tight, close-up, grayscale, portrait, occluded, restyled or turned ones and other views (``X-view-aug``,
#: :func:`agegender.trainset.load`). They train like copies but are not what "on phone-like copies" scores.
_OTHER_KIND = re.compile(r"-(view|tight|closeup|gray|portrait|glasses|mask|beauty|overexposed|shake|turn\d+|\d+px)" + re.escape(SUFFIX) + "$")


def is_copy(rec: Record) -> bool:
    return rec.source.endswith(SUFFIX) and bool(rec.subject)


def is_view(rec: Record) -> bool:
    """Another view of a face (``--views``: e.g. aligned by RetinaFace as photos are), not a degraded copy."""
    return is_copy(rec) and rec.source.endswith("-view" + SUFFIX)


def is_phone_copy(rec: Record) -> bool:
    """A phone-like copy (``agegender data augment`` without ``--shrink``), not a shrunk copy or a view."""
    return is_copy(rec) and not _OTHER_KIND.search(rec.source)
