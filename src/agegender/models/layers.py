"""Custom layers that must survive saving and every export (ONNX, LiteRT)."""

from __future__ import annotations

import keras
import numpy as np


@keras.saving.register_keras_serializable("agegender")
class Standardize(keras.layers.Layer):
    """``(x - mean) / std`` with the training set's statistics stored as (frozen) weights.

    Keras' own ``Normalization`` layer exports its statistics to ONNX as extra graph *inputs*
    (tf2onnx), which breaks the runtime; plain weights export as constants.
    """

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.mean = self.add_weight(shape=(dim,), initializer="zeros", trainable=False, name="mean")
        self.inv_std = self.add_weight(shape=(dim,), initializer="ones", trainable=False, name="inv_std")

    def set_statistics(self, mean: np.ndarray, variance: np.ndarray) -> None:
        self.mean.assign(np.asarray(mean, dtype="float32"))
        self.inv_std.assign((1.0 / np.sqrt(np.maximum(variance, 1e-12))).astype("float32"))

    def call(self, x):
        return (x - self.mean) * self.inv_std

    def get_config(self) -> dict:
        return {**super().get_config(), "dim": self.dim}


@keras.saving.register_keras_serializable("agegender")
class Temperature(keras.layers.Layer):
    """``softmax(log p / T)`` on a softmax head's output: calibration fitted on validation data
    (``agegender.calibration``), kept inside the model so every export carries it."""

    def __init__(self, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)

    def call(self, p):
        return keras.ops.softmax(keras.ops.log(keras.ops.maximum(p, 1e-7)) / self.temperature, axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "temperature": self.temperature}
