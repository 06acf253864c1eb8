"""dlib's 128-D face embedding (ResNet, ``face-recognition-models``, CC0/MIT) on its own 150 px chip.

The network runs in onnxruntime, rebuilt from dlib's own model file by :mod:`dlib_onnx` — the same
descriptors as ``dlib.face_recognition_model_v1`` (to ~1e-6, tested) about 25× faster than
``dlib-bin``, which is built without BLAS.
"""

from __future__ import annotations

import numpy as np

from agegender.features.base import ChipSpec

MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"


class DlibEmbedding:
    name = "dlib128"
    version = "1"
    dim = 128
    #: dlib's descriptor is trained on 150×150 chips with padding 0.25 (dlib's get_face_chip default).
    chips = (ChipSpec(150, 0.25),)

    def __init__(self, threads: int = 1):
        import onnxruntime as ort

        from agegender.faces import dlib_model_file
        from agegender.features.dlib_onnx import descriptor_onnx

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(descriptor_onnx(dlib_model_file(MODEL_FILE)), opts,
                                             providers=["CPUExecutionProvider"])

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        if len(chips[0]) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        x = np.ascontiguousarray(np.asarray(chips[0], dtype=np.float32))
        return self._session.run(None, {"chips": x})[0].astype(np.float32)
