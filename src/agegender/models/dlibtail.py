"""The last stage of dlib's face-recognition ResNet as trainable Keras layers, started from dlib's weights.

dlib's network was trained to tell people apart, so its 128-D descriptor keeps identity and throws away
much of what age looks like. Its last stage (four residual blocks, 256 channels, on the 128 × 8 × 8 map
that the ``dlibtrunk`` extractor gives) is where that happens; fine-tuning it on age groups and gender
lets the network keep what the heads need, while the frozen trunk (90 % of the compute) still runs
once per face in onnxruntime. The layers here reproduce dlib's exactly before training (tested:
the same pooled 256-D activations as the ONNX rebuild), including its residual sums over tensors of
different sizes (zeros where one is missing).
"""

from __future__ import annotations

import keras
import numpy as np

from agegender.features.dlib_embedding import DlibTrunk, DlibTrunk64
from agegender.features.dlib_onnx import CUTS, TRUNK_SHAPE, folded, read_layers, residual_blocks
from agegender.models.layers import Columns, PadAdd  # noqa: F401  (Columns: re-exported for build.py)

TRUNK_DIM = int(np.prod(TRUNK_SHAPE))
#: The trunk extractors a ``dlibtail`` model can start from → the cut of dlib's network each one ends at.
TRUNK_EXTRACTORS = {ex.name: ex.cut for ex in (DlibTrunk, DlibTrunk64)}


def _conv(x, conv_layer: dict, affine: dict, name: str, trainable: bool):
    w, b = folded(conv_layer, affine)
    (sy, sx), (py, px) = conv_layer["stride"], conv_layer["pad"]
    kh = w.shape[2]
    if (py, px) == (0, 0):
        padding = "valid"
    elif (py, px) == (kh // 2, kh // 2) and (sy, sx) == (1, 1):
        padding = "same"
    else:  # dlib's file holds no other kind; refuse rather than build something different
        raise ValueError(f"unsupported dlib convolution (stride {sy, sx}, padding {py, px})")
    layer = keras.layers.Conv2D(w.shape[0], (w.shape[2], w.shape[3]), strides=(sy, sx), padding=padding, name=name,
                                trainable=trainable)
    y = layer(x)
    layer.set_weights([np.ascontiguousarray(w.transpose(2, 3, 1, 0)), b.astype(np.float32)])
    return y


def tail(trunk_flat, model_file: str, trainable: bool = True, name: str = "dlibtail", cut: str = "trunk"):
    """The Keras layers of dlib's network above ``cut`` on ``trunk_flat`` (``(N, 8192)`` for ``trunk``,
    NCHW order as the ``dlibtrunk`` extractor gives; ``trunk64``: ``(N, 18496)`` from ``dlibtrunk64``, the
    last two stages) → ``(N, 256)`` pooled activations, with dlib's weights loaded.

    The layers of the last stage keep their names whatever the cut (``b0`` … ``b3``; the 128-channel
    stage's blocks, with ``trunk64``, are ``c0`` … ``c2``)."""
    blocks, _ = residual_blocks(read_layers(model_file))
    start, shape = CUTS[cut]
    last = CUTS["trunk"][0]
    x = keras.layers.Reshape(shape, name=f"{name}_reshape")(trunk_flat)
    x = keras.layers.Permute((2, 3, 1), name=f"{name}_nhwc")(x)
    for k, b in enumerate(blocks[start:], start=start):
        tag = f"{name}_b{k - last}" if k >= last else f"{name}_c{k - start}"
        y = _conv(x, b["conv1"], b["affine1"], f"{tag}_conv1", trainable)
        y = keras.layers.ReLU(name=f"{tag}_relu1")(y)
        y = _conv(y, b["conv2"], b["affine2"], f"{tag}_conv2", trainable)
        short = x
        if b["pool"] is not None:
            (wy, wx), (sy, sx), pad = b["pool"]["window"], b["pool"]["stride"], b["pool"]["pad"]
            if pad != (0, 0):
                raise ValueError(f"unsupported dlib average pool padding {pad}")
            short = keras.layers.AveragePooling2D((wy, wx), (sy, sx), padding="valid", name=f"{tag}_pool")(x)
        x = keras.layers.ReLU(name=f"{tag}_relu2")(PadAdd(name=f"{tag}_add")([y, short]))
    return keras.layers.GlobalAveragePooling2D(name=f"{name}_pooled")(x)
