"""faceres-deep's last block (``conv_pw_13``) as trainable Keras layers, started from its own weights.

faceres-deep is a MobileNet (``features/faceres.py``); its last block — a 1×1 convolution 1024 → 1024 on
the 7×7 map after the last depthwise convolution, then ReLU6 and the global average that the
``faceres`` extractor returns — is where it turns face structure into identity, age and gender.
Fine-tuning it on age groups and gender (``scripts/faceres_tail_study.py``, docs/BENCHMARKS.md) beat
the same block frozen in every utkface-a8 fold. The layers here reproduce faceres-deep's pooled
activations before training (tested), from the ``(N, 7·7·1024)`` map flattened in (row, column,
channel) order.
"""

from __future__ import annotations

from functools import cache

import keras
import numpy as np

from agegender.features.faceres import BLOCK_WEIGHTS, MAP_OUTPUT, MAP_SHAPE  # noqa: F401  (MAP_OUTPUT re-exported)

MAP_DIM = int(np.prod(MAP_SHAPE))


@cache
def block_weights() -> tuple[np.ndarray, np.ndarray]:
    """``(kernel (1, 1, 1024, 1024) HWIO, bias (1024,))`` of ``conv_pw_13`` from the shipped faceres-deep file."""
    import onnx
    from onnx import numpy_helper

    from agegender.features.faceres import model_file

    init = {i.name: i for i in onnx.load(str(model_file())).graph.initializer}
    missing = [w for w in BLOCK_WEIGHTS if w not in init]
    if missing:
        raise ValueError(f"{model_file()}: no {', '.join(missing)} — not the faceres-deep conversion this block expects")
    w = numpy_helper.to_array(init[BLOCK_WEIGHTS[0]]).astype(np.float32).reshape(MAP_SHAPE[2], MAP_SHAPE[2])  # (out, in)
    b = numpy_helper.to_array(init[BLOCK_WEIGHTS[1]]).astype(np.float32).reshape(-1)
    return np.ascontiguousarray(w.T.reshape(1, 1, MAP_SHAPE[2], MAP_SHAPE[2])), b


def tail(map_flat, trainable: bool = True, name: str = "faceres_tail"):
    """``map_flat`` ``(N, 50176)`` → ``(N, 1024)``: faceres-deep's last block with its weights loaded."""
    x = keras.layers.Reshape(MAP_SHAPE, name=f"{name}_reshape")(map_flat)
    conv = keras.layers.Conv2D(MAP_SHAPE[2], 1, name=f"{name}_pw13", trainable=trainable)
    x = conv(x)
    conv.set_weights(list(block_weights()))
    x = keras.layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x)
    return keras.layers.GlobalAveragePooling2D(name=f"{name}_pooled")(x)
