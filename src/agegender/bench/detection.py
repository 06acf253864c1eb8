"""Found-rate and speed of each face detector on scenes built from real face crops.

Real faces (e.g. UTKFace's 200 px crops) are pasted at random scales and positions onto larger
canvases — one face per scene for portraits, several for group scenes — so the truth is known
exactly. A face counts as found when a detected box's centre falls in the central 60 % of where it
was pasted; detections matching no face count as false positives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from agegender.detectors import DETECTORS, RETINA_SCORE_THRESHOLD, make_detector, unturn
from agegender.imaging import load_image


@dataclass
class Scene:
    image: np.ndarray
    boxes: list[tuple[int, int, int, int]]  # where each face crop was pasted (x0, y0, x1, y1)


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """A smooth random colour field with texture: not a face, not trivially uniform."""
    small = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    bg = Image.fromarray(small).resize((w, h), Image.BICUBIC)
    noise = rng.normal(0, 12, size=(h, w, 3))
    arr = np.clip(np.asarray(bg, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr).filter(ImageFilter.GaussianBlur(0.8))


def make_scene(faces: list[np.ndarray], rng: np.random.Generator, size: tuple[int, int], scale: tuple[int, int]) -> Scene:
    """Paste ``faces`` at random non-overlapping spots, each resized to a side in ``scale``."""
    w, h = size
    canvas = _background(rng, w, h)
    boxes: list[tuple[int, int, int, int]] = []
    for face in faces:
        for _ in range(50):
            side = int(rng.integers(scale[0], scale[1] + 1))
            side = min(side, w, h)
            x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            box = (x, y, x + side, y + side)
            if all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in boxes):
                canvas.paste(Image.fromarray(face).resize((side, side), Image.BILINEAR), (x, y))
                boxes.append(box)
                break
    return Scene(np.asarray(canvas), boxes)


def close_up_scene(face: np.ndarray, rng: np.random.Generator, size: int, share: tuple[float, float]) -> Scene:
    """The middle of a face crop (a random share of its side in ``share``) scaled to ``size``×``size``: a
    close-up whose face fills the frame or overflows it. Its box is the whole crop's, scaled with it (beyond
    the frame when the share is under 1)."""
    h, w = face.shape[:2]
    cut = max(1, round(float(rng.uniform(*share)) * min(h, w)))
    x0, y0 = (w - cut) // 2, (h - cut) // 2
    image = np.asarray(Image.fromarray(face[y0:y0 + cut, x0:x0 + cut]).resize((size, size), Image.BICUBIC))
    k = size / cut
    return Scene(image, [(round(-x0 * k), round(-y0 * k), round((w - x0) * k), round((h - y0) * k))])


def score_scene(scene: Scene, detections: list[tuple]) -> tuple[list[bool], list[int]]:
    """(whether each pasted face was found, the indices of the detections that are none of them: false
    positives) for one scene."""
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b, *_ in detections]
    used: set[int] = set()
    hits = []
    for x0, y0, x1, y1 in scene.boxes:
        mx, my = 0.2 * (x1 - x0), 0.2 * (y1 - y0)
        hit = next((j for j, (cx, cy) in enumerate(centres)
                    if j not in used and x0 + mx <= cx <= x1 - mx and y0 + my <= cy <= y1 - my), None)
        if hit is not None:
            used.add(hit)
        hits.append(hit is not None)
    return hits, [j for j in range(len(centres)) if j not in used]


def doubted(det, scene: Scene, detections: list[tuple], false: list[int]) -> tuple[int, int]:
    """How many of the faces found and of the false positives the second look doubts (detectors.DOUBT_SCORE:
    what the product answers "not sure it is a face")."""
    from agegender.detectors import DOUBT_LOOK, second_look_of

    out = [0, 0]
    for j, (box, score, pts) in enumerate(detections):
        look = second_look_of(det, scene.image, box, score, pts)
        if look is not None and look < DOUBT_LOOK:
            out[j in false] += 1
    return out[0], out[1]


def resize_scene(scene: Scene, size: tuple[int, int]) -> Scene:
    """``scene`` scaled to ``size``, its boxes with it: a photo as a messenger or a web page sends it on."""
    h, w = scene.image.shape[:2]
    kx, ky = size[0] / w, size[1] / h
    image = np.asarray(Image.fromarray(scene.image).resize(size, Image.BILINEAR))
    return Scene(image, [(round(x0 * kx), round(y0 * ky), round(x1 * kx), round(y1 * ky)) for x0, y0, x1, y1 in scene.boxes])


def turn_scene(scene: Scene, k: int) -> Scene:
    """``scene`` turned by ``k`` counterclockwise quarter turns (``np.rot90``), its boxes with it: a photo
    whose EXIF orientation was lost."""
    image = np.ascontiguousarray(np.rot90(scene.image, k))
    th, tw = image.shape[:2]
    boxes = []
    for x0, y0, x1, y1 in scene.boxes:  # rot90 by k on the scene = unturning by 4 − k on the turned image
        p = unturn(np.array([[x0, y0], [x1, y1]], float), (4 - k) % 4, tw, th)
        boxes.append((int(p[:, 0].min()), int(p[:, 1].min()), int(p[:, 0].max()), int(p[:, 1].max())))
    return Scene(image, boxes)


def _longer_side(image: Image.Image, side: int) -> np.ndarray:
    """``image`` scaled (bicubic) so that its longer side is ``side`` px."""
    k = side / max(image.size)
    return np.asarray(image.resize((max(1, round(image.width * k)), max(1, round(image.height * k))), Image.BICUBIC))


def _image_paths(folder: str | Path) -> list[Path]:
    """The images below ``folder`` (face crops to paste, or photos that show no one), sorted."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not paths:
        raise FileNotFoundError(f"{folder}: no images (.jpg, .jpeg, .png) found")
    return paths


def write_scenes(faces_dir: str | Path, out: str | Path, n: int = 500, seed: int = 0, size: tuple[int, int] = (1280, 960),
                 faces: tuple[int, int] = (1, 5), scale: tuple[int, int] = (80, 320)) -> list[Path]:
    """``n`` larger photos (JPEG, quality 90) of several real faces each, for batch benchmarks on photos
    rather than crops: the same scenes for the same arguments."""
    paths = _image_paths(faces_dir)
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(n):
        k = int(rng.integers(faces[0], faces[1] + 1))
        scene = make_scene([load_image(paths[j]) for j in rng.choice(len(paths), size=k, replace=len(paths) < k)], rng, size, scale)
        written.append(out / f"scene-{i:05d}.jpg")
        Image.fromarray(scene.image).save(written[-1], quality=90)
    return written


def make_suites(faces_dir: str | Path, n_scenes: int = 100, seed: int = 0, turned: bool = False, faceless: bool = False,
                faceless_dir: str | Path | None = None) -> dict[str, tuple[tuple[int, int], list[Scene]]]:
    """:func:`run`'s suites of scenes by name — (the range of the pasted crops' sides, the scenes) — the same
    scenes for the same arguments, so that other detectors, or other versions of one, meet them too
    (``scripts/detector_timing.py``)."""
    paths = _image_paths(faces_dir)
    rng = np.random.default_rng(seed)
    pick = lambda k: [load_image(paths[i]) for i in rng.choice(len(paths), size=k, replace=len(paths) < k)]  # noqa: E731
    suites = {
        "portrait 448x448, 1 face 80-300 px": ((80, 300), [make_scene(pick(1), rng, (448, 448), (80, 300)) for _ in range(n_scenes)]),
        "group 800x600, 3-5 faces 50-160 px": ((50, 160), [make_scene(pick(int(rng.integers(3, 6))), rng, (800, 600), (50, 160))
                                                           for _ in range(max(1, n_scenes // 2))]),
        "phone 4032x3024, 3-6 faces 40-200 px": ((40, 200), [make_scene(pick(int(rng.integers(3, 7))), rng, (4032, 3024), (40, 200))
                                                             for _ in range(max(1, n_scenes // 4))]),
    }
    phone = suites["phone 4032x3024, 3-6 faces 40-200 px"][1]
    suites |= {
        "messenger 1600x1200 (the phone scenes), 16-79 px": ((16, 79), [resize_scene(s, (1600, 1200)) for s in phone]),
        "web 1024x768 (the phone scenes), 10-51 px": ((10, 51), [resize_scene(s, (1024, 768)) for s in phone]),
        "close-up 1024x1024, 1 face crop 1-2x the frame": ((1024, 2048), [close_up_scene(pick(1)[0], rng, 1024, (0.5, 1.0))
                                                                             for _ in range(max(1, n_scenes // 2))]),
    }
    if turned:
        suites |= {f"{name}, turned": (sizes, [turn_scene(s, int(rng.integers(1, 4))) for s in scenes])
                   for name, (sizes, scenes) in suites.items()}
    if faceless:
        bg = np.random.default_rng(seed + 1)
        suites |= {f"faceless {w}x{h}": ((0, 0), [Scene(np.asarray(_background(bg, w, h)), []) for _ in range(max(1, n_scenes // 4))])
                   for w, h in ((4032, 3024), (1600, 1200), (1024, 768), (800, 600))}
    if faceless_dir is not None:
        photos = [Image.fromarray(load_image(p)) for p in _image_paths(faceless_dir)]
        suites |= {f"faceless photos ({Path(faceless_dir).name}), {side} px": ((0, 0), [Scene(_longer_side(im, side), []) for im in photos])
                   for side in (4032, 1600, 1024, 800)}
    return suites


def run(faces_dir: str | Path, n_scenes: int = 100, seed: int = 0, detectors: tuple[str, ...] = DETECTORS[:2], threads: int = 1,
        max_sides: tuple[int | None, ...] = (None,), small_faces: tuple[bool, ...] = (True,),
        score_thresholds: tuple[float, ...] = (RETINA_SCORE_THRESHOLD,), turned: bool = False,
        uprights: tuple[bool, ...] = (True,), close_ups: tuple[bool, ...] = (True,), faceless: bool = False,
        faceless_dir: str | Path | None = None, rescues: tuple[bool, ...] = (True,)) -> list[dict]:
    """Portrait scenes (1 face, 448×448, face 80–300 px), group scenes (3–5 faces, 800×600, 50–160 px),
    phone photos (3–6 faces, 4032×3024 as a phone's 12 megapixels, 40–200 px: a group a few metres
    away), the same phone photos as a messenger or a web page sends them on (1600×1200, 16–80 px;
    1024×768, 10–51 px) and close-ups (1 face, 1024×1024, the middle 50–100 % of a crop: the face fills
    the frame or overflows it), ``n_scenes``, half, a quarter (three times) and half as many of them. Sizes
    are the pasted crops' sides (a UTKFace crop's face is about half of it); each row also gives the found
    rate in each third of its suite's size range (``found_by_size``), and how many of the faces found and of
    the false positives the second look doubts (``found_doubted``, ``false_doubted``: answered "not sure it is
    a face"; ``ms_second_looks``: their time per image, beside the detector's ``ms_per_image``).

    ``max_sides``: detect on copies scaled to at most this longer side (``None``: the detector's default);
    ``small_faces``: RetinaFace with and/or without its second pass on large photos (detectors.RetinaFaceDetector);
    ``score_thresholds``: RetinaFace's, a row each (what a lower one finds, and what it finds that is not a face);
    ``turned``: each suite also turned, every scene by a random quarter turn (photos whose EXIF orientation
    was lost); ``uprights``, ``close_ups``, ``rescues``: RetinaFace with and/or without its upright and close-up
    passes and its second look at small faces scored under the threshold (detectors.RetinaFaceDetector); ``faceless``: also photos with no face at the phone, messenger and web sizes and 800×600 (a photo without the small-face pass)
    (textured backgrounds, a quarter as many as ``n_scenes`` each, drawn apart so the other suites stay the same):
    what a detector finds there is false, and the searches for a face lying turned or too close run in full;
    ``faceless_dir``: the same with real photos that show no one (landscapes, objects, documents), each scaled so
    its longer side is the phone's, the messenger's and the web page's (4032, 1600, 1024 px) and 800 px.
    """
    suites = make_suites(faces_dir, n_scenes, seed, turned, faceless, faceless_dir)
    rows = []
    retina = lambda n, options, default: options if n == "retinaface" else (default,)  # noqa: E731  (its passes' options)
    for name, side, fine, th, up, close, res in ((n, m, f, t, u, c, r) for n in detectors for m in max_sides
                                                 for f in retina(n, small_faces, True)
                                                 for t in retina(n, score_thresholds, RETINA_SCORE_THRESHOLD)
                                                 for u in retina(n, uprights, True) for c in retina(n, close_ups, True)
                                                 for r in retina(n, rescues, True)):
        det = make_detector(name, threads=threads, max_side=side, small_faces=fine, score_threshold=th, upright=up, close_up=close,
                            rescue=res)
        det.detect(next(iter(suites.values()))[1][0].image)  # warm-up
        label = name if side is None else f"{name} (max side {side})"
        if name == "retinaface" and len(small_faces) > 1:
            label += ", small-face pass" if fine else ", one pass"
        if name == "retinaface" and th != RETINA_SCORE_THRESHOLD:
            label += f", score ≥ {th:g}"
        if name == "retinaface" and len(uprights) > 1:
            label += ", upright pass" if up else ", no upright pass"
        if name == "retinaface" and len(close_ups) > 1:
            label += ", close-up pass" if close else ", no close-up pass"
        if name == "retinaface" and len(rescues) > 1:
            label += ", second looks at small faces" if res else ", no second looks at small faces"
        for suite, ((lo, hi), scenes) in suites.items():
            hits, sides, fp, found = [], [], 0, []
            t0 = time.perf_counter()
            for s in scenes:
                detections = det.detect(s.image)
                h, false = score_scene(s, detections)
                hits += h
                sides += [b[2] - b[0] for b in s.boxes]
                fp += len(false)
                found.append((s, detections, false))
            ms = (time.perf_counter() - t0) * 1000 / len(scenes)
            t0 = time.perf_counter()
            doubts = np.sum([doubted(det, *f) for f in found], axis=0).astype(int).tolist() if found else [0, 0]
            ms_doubt = (time.perf_counter() - t0) * 1000 / len(scenes)
            edges = np.linspace(lo, hi + 1, 4)  # the pasted sizes' thirds: how small a face each detector still finds
            third = np.clip(np.searchsorted(edges, sides, side="right") - 1, 0, 2)
            by_size = [float(np.mean(np.asarray(hits)[third == k])) if np.any(third == k) else None for k in range(3)]
            rows.append({"detector": label, "suite": suite, "scenes": len(scenes), "faces": len(hits), "found": int(sum(hits)),
                         "found_rate": sum(hits) / len(hits) if hits else None, "false_positives": fp, "ms_per_image": ms,
                         "found_doubted": doubts[0], "false_doubted": doubts[1], "ms_second_looks": ms_doubt,
                         "size_thirds": [f"{edges[k]:.0f}-{edges[k + 1] - 1:.0f}" for k in range(3)] if hits else [],
                         "found_by_size": by_size if hits else []})
    return rows
