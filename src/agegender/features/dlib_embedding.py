"""dlib's face-recognition ResNet (``face-recognition-models``, CC0) on its own 150 px chip, as features.

``dlib128``: its 128-D face embedding. ``dlibtrunk``: the activation map where its last stage begins
(128 × 8 × 8, flattened) — the input of the tail that ``models/dlibtail.py`` fine-tunes for age and
gender. Both run in onnxruntime, rebuilt from dlib's own model file by :mod:`dlib_onnx` — the same
descriptors as ``dlib.face_recognition_model_v1`` (to ~1e-6, tested) about 25× faster than
``dlib-bin``, which is built without BLAS.
"""

from __future__ import annotations

import numpy as np

from agegender.features.base import ChipSpec
from agegender.features.dlib_onnx import CUTS

MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"


class DlibEmbedding:
    name = "dlib128"
    version = "1"
    dim = 128
    cut = "descriptor"
    #: dlib's descriptor is trained on 150×150 chips with padding 0.25 (dlib's get_face_chip default).
    chips = (ChipSpec(150, 0.25),)

    def __init__(self, threads: int = 1):
        from agegender.dlib_models import dlib_model_file
        from agegender.features.dlib_onnx import descriptor_onnx
        from agegender.resources import onnx_session

        self._session = onnx_session(descriptor_onnx(dlib_model_file(MODEL_FILE), self.cut), threads)

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        if len(chips[0]) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        x = np.ascontiguousarray(np.asarray(chips[0], dtype=np.float32))
        return self._session.run(None, {"chips": x})[0].astype(np.float32)


class DlibTrunk(DlibEmbedding):
    """The network up to its last (256-channel) stage: a model that fine-tunes that stage takes these."""

    name = "dlibtrunk"
    version = "1"
    cut = "trunk"
    dim = int(np.prod(CUTS[cut][1]))


class DlibTrunk64(DlibEmbedding):
    """The network up to its last two stages (the 128- and 256-channel ones): a 64 × 17 × 17 map for a
    model that fine-tunes both. 18,496 values per face, so the cache keeps them as float16 (ReLU
    outputs, up to ~17 on real faces: float16 is off by at most ~0.007)."""

    name = "dlibtrunk64"
    version = "1"
    cut = "trunk64"
    dim = int(np.prod(CUTS[cut][1]))
    store_dtype = np.float16
