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
class GradientScale(keras.layers.Layer):
    """The identity forward; backward, the gradient times ``scale``: a branch behind it (``model.age_grad_scale``)
    learns from the shared layers' output at full strength but bends those layers only ``scale`` as much.
    ``x·s + stop_gradient(x)·(1 − s)`` needs no custom gradient, so it saves and exports like any layer (an export
    computes ``x·s + x·(1 − s)``, which is ``x``)."""

    def __init__(self, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, x):
        return x * self.scale + keras.ops.stop_gradient(x) * (1.0 - self.scale)

    def compute_output_shape(self, shape):
        return shape

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable("agegender")
class FuseYears(keras.layers.Layer):
    """The age-group head and the years head as one answer: ``normalise(p_group^w · p_years→group^(1−w))``,
    where ``p_years→group`` is the years distribution's mass inside each group's years (gap ages left out).

    The two heads learn age differently (8 classes; 101 ordered years with soft targets), and their
    product is more accurate than either; ``w`` is chosen on validation data (training.fuse_years)."""

    def __init__(self, weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.weight = float(weight)
        from agegender import labels
        from agegender.models.build import YEARS_BINS

        m = np.zeros((YEARS_BINS, labels.NUM_AGE_GROUPS), dtype="float32")
        for a in range(YEARS_BINS):
            g = labels.age_group_of_years(a)
            if g is not None:
                m[a, g] = 1.0
        self.groups_of_years = m

    def call(self, inputs):
        age, years = inputs
        grouped = keras.ops.matmul(years, keras.ops.convert_to_tensor(self.groups_of_years))
        logp = self.weight * keras.ops.log(keras.ops.maximum(age, 1e-7)) + \
            (1.0 - self.weight) * keras.ops.log(keras.ops.maximum(grouped, 1e-7))
        return keras.ops.softmax(logp, axis=-1)

    def compute_output_shape(self, shapes):
        return shapes[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "weight": self.weight}


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


@keras.saving.register_keras_serializable("agegender")
class Columns(keras.layers.Layer):
    """``x[:, start:stop]`` — one extractor's part of the concatenated feature vector."""

    def __init__(self, start: int, stop: int, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = start, stop

    def call(self, x):
        return x[:, self.start:self.stop]

    def compute_output_shape(self, shape):
        return (shape[0], self.stop - self.start)

    def get_config(self) -> dict:
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable("agegender")
class PadAdd(keras.layers.Layer):
    """dlib's ``add_prev``: the sum of two NHWC tensors of possibly different height, width and channels,
    each zero-padded at the end to the larger size."""

    def call(self, inputs):
        a, b = inputs
        target = [max(a.shape[i], b.shape[i]) for i in (1, 2, 3)]

        def pad(t):
            widths = [[0, 0]] + [[0, target[i] - t.shape[i + 1]] for i in range(3)]
            return keras.ops.pad(t, widths) if any(w[1] for w in widths) else t

        return pad(a) + pad(b)

    def compute_output_shape(self, shapes):
        a, b = shapes
        return (a[0], *(max(a[i], b[i]) for i in (1, 2, 3)))
