"""dlib's 128-D face embedding (ResNet, ``face-recognition-models``, CC0/MIT) on its own 150 px chip."""

from __future__ import annotations

import numpy as np

from agegender.features.base import ChipSpec


class DlibEmbedding:
    name = "dlib128"
    version = "1"
    dim = 128
    #: dlib's descriptor is trained on 150×150 chips with padding 0.25 (dlib's get_face_chip default).
    chips = (ChipSpec(150, 0.25),)

    def __init__(self, threads: int = 1):
        import dlib

        from agegender.faces import dlib_model_file

        self._net = dlib.face_recognition_model_v1(dlib_model_file("dlib_face_recognition_resnet_model_v1.dat"))

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        batch = [np.ascontiguousarray(c) for c in chips[0]]
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._net.compute_face_descriptor(batch), dtype=np.float32).reshape(len(batch), self.dim)
