"""dlib's face-descriptor ResNet rebuilt as an ONNX graph, read straight from dlib's ``.dat`` file.

``dlib-bin`` computes the descriptor without BLAS (~100 ms per face here); onnxruntime runs the same
network with its own optimised kernels. The weights are read from the file ``face-recognition-models``
ships (``dlib_face_recognition_resnet_model_v1.dat``, CC0), nothing is downloaded. The architecture is
the one of dlib's ``dnn_face_recognition_ex.cpp`` (a 29-layer ResNet on 150×150 chips); the file itself
gives each layer's kind, shape, stride and padding in order, and this module checks them against that
architecture. tests/test_features.py checks that the ONNX descriptors equal dlib's own.

dlib's serialization: integers are a length byte (high bit = negative) and that many little-endian
bytes; strings are an integer length and the bytes; scalar floats are an integer mantissa and
exponent; tensors (version 2) are four integers (n, k, rows, cols) and raw little-endian float32s.
Layers are written input first.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np

LAYER_NAME = re.compile(rb"\x01[\x03-\x20](con_4|affine_|fc_2|max_pool_2|avg_pool_2|input_rgb_image_sized)")


class _Reader:
    def __init__(self, data: bytes, pos: int):
        self.data = data
        self.pos = pos

    def int(self) -> int:
        head = self.data[self.pos]
        n = head & 0x0F
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + n], "little")
        self.pos += 1 + n
        return -value if head & 0x80 else value

    def float(self) -> float:
        mantissa = self.int()
        exponent = self.int()
        return float(mantissa) * 2.0 ** exponent

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise ValueError(f"unsupported dlib tensor version {version}")
        shape = [self.int() for _ in range(4)]
        count = int(np.prod(shape))
        out = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).astype(np.float32)
        self.pos += 4 * count
        return out.reshape(shape)


def read_layers(path: str | Path) -> list[dict]:
    """The layers of a dlib network file that carry numbers, input first."""
    data = Path(path).read_bytes()
    layers = []
    pos = 0
    while (m := LAYER_NAME.search(data, pos)) is not None:
        kind = m.group(1).decode()
        r = _Reader(data, m.end())
        if kind == "input_rgb_image_sized":
            layer = {"kind": "input", "mean": [r.float(), r.float(), r.float()]}
        elif kind == "con_4":
            params = r.tensor().reshape(-1)
            n, nr, nc, sy, sx, py, px = (r.int() for _ in range(7))
            k = (params.size - n) // (n * nr * nc)
            layer = {"kind": "conv", "weight": params[: n * k * nr * nc].reshape(n, k, nr, nc), "bias": params[n * k * nr * nc:],
                     "stride": (sy, sx), "pad": (py, px)}
        elif kind == "affine_":
            params = r.tensor().reshape(-1)
            c = params.size // 2
            layer = {"kind": "affine", "gamma": params[:c], "beta": params[c:]}
        elif kind == "fc_2":
            n_out, n_in = r.int(), r.int()
            params = r.tensor().reshape(-1)
            layer = {"kind": "fc", "weight": params[: n_in * n_out].reshape(n_in, n_out),
                     "bias": params[n_in * n_out:] if params.size > n_in * n_out else None}
        else:  # max_pool_2 / avg_pool_2: window, stride, padding (window 0 = the whole image)
            nr, nc, sy, sx, py, px = (r.int() for _ in range(6))
            layer = {"kind": "maxpool" if kind.startswith("max") else "avgpool", "window": (nr, nc), "stride": (sy, sx),
                     "pad": (py, px)}
        layers.append(layer)
        pos = max(r.pos, m.end())
    return layers


def _out_size(n: int, window: int, stride: int, pad: int) -> int:
    return 1 + (n + 2 * pad - window) // stride


def residual_blocks(layers: list[dict]) -> tuple[list[dict], dict]:
    """dlib's ResNet as blocks: ``[{"conv1", "affine1", "conv2", "affine2", "pool"|None}, …]`` (input first)
    and the final fully connected layer. Checks the file's layout against dlib's architecture."""
    kinds = "".join({"input": "I", "conv": "C", "affine": "A", "maxpool": "M", "avgpool": "P", "fc": "F"}[lay["kind"]] for lay in layers)
    # input, conv 7×7 + affine, max pool, 15 residual blocks (conv, affine, conv, affine, [avg pool if
    # it halves the size]), the global average pool and the 128-output fully connected layer
    if not re.fullmatch(r"ICAM(CACAP?)+PF", kinds):
        raise ValueError(f"not the expected dlib ResNet layout ({kinds})")
    blocks, i = [], 4
    while layers[i]["kind"] == "conv":
        block = {"conv1": layers[i], "affine1": layers[i + 1], "conv2": layers[i + 2], "affine2": layers[i + 3], "pool": None}
        i += 4
        if layers[i]["kind"] == "avgpool" and layers[i]["window"] != (0, 0):  # a down block: the shortcut is pooled
            block["pool"] = layers[i]
            i += 1
        blocks.append(block)
    return blocks, layers[i + 1]


def folded(conv_layer: dict, affine: dict) -> tuple[np.ndarray, np.ndarray]:
    """A convolution followed by dlib's affine layer as one convolution: ``(weight OIHW, bias)``."""
    w, b = conv_layer["weight"], conv_layer["bias"]
    g, beta = affine["gamma"], affine["beta"]
    return w * g[:, None, None, None], b * g + beta


#: Where the descriptor network can be cut below its end: cut → (residual blocks kept, input first; the
#: map they end in, channels × rows × columns). ``trunk``: the end of the 128-channel stage, the input
#: of the last (256-channel) stage; ``trunk64``: the end of the 64-channel stage, the input of the last
#: two stages. ``models/dlibtail.py`` fine-tunes the blocks above a cut.
CUTS = {"trunk": (10, (128, 8, 8)), "trunk64": (7, (64, 17, 17))}
TRUNK_BLOCKS, TRUNK_SHAPE = CUTS["trunk"]


def cut_of_dim(dim: int) -> str:
    """The cut whose flattened map has ``dim`` values (how a model tells which trunk its features are)."""
    for name, (_, shape) in CUTS.items():
        if int(np.prod(shape)) == dim:
            return name
    raise ValueError(f"no cut of dlib's network gives {dim} values (cuts: {', '.join(CUTS)})")


@cache
def descriptor_onnx(path: str, cut: str = "descriptor") -> bytes:
    """dlib's face descriptor network as ONNX: input ``(N, 150, 150, 3)`` uint8-valued float RGB chips
    (what ``dlib.extract_image_chip`` gives, as float32) → ``(N, 128)`` descriptors.

    ``cut="trunk"`` (or another of :data:`CUTS`) stops after that cut's residual blocks and outputs
    ``trunk``, the activation map there (``(N, 128·8·8)`` for ``trunk``) flattened in (channel, row,
    column) order.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    layers = read_layers(path)
    blocks, fc = residual_blocks(layers)
    nodes, inits = [], []
    counter = iter(range(10_000))

    def const(a: np.ndarray) -> str:
        name = f"c{next(counter)}"
        inits.append(numpy_helper.from_array(np.asarray(a, dtype=np.float32) if a.dtype != np.int64 else a, name))
        return name

    def node(op: str, inputs: list[str], **attrs) -> str:
        out = f"t{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv(x: str, shape: tuple[int, int, int], conv_layer: dict, affine: dict) -> tuple[str, tuple[int, int, int]]:
        wf, bf = folded(conv_layer, affine)
        (sy, sx), (py, px) = conv_layer["stride"], conv_layer["pad"]
        y = node("Conv", [x, const(wf), const(bf)], kernel_shape=list(wf.shape[2:]), strides=[sy, sx], pads=[py, px, py, px])
        return y, (wf.shape[0], _out_size(shape[1], wf.shape[2], sy, py), _out_size(shape[2], wf.shape[3], sx, px))

    def pad_to(x: str, shape: tuple[int, int, int], target: tuple[int, int, int]) -> str:
        """dlib's add_prev adds tensors of different sizes over their overlap, zeros elsewhere."""
        if shape == target:
            return x
        pads = np.array([0, 0, 0, 0, 0, target[0] - shape[0], target[1] - shape[1], target[2] - shape[2]], dtype=np.int64)
        return node("Pad", [x, const(pads)], mode="constant")

    mean = np.array(layers[0]["mean"], dtype=np.float32)
    x = node("Transpose", ["chips"], perm=[0, 3, 1, 2])
    x = node("Mul", [node("Sub", [x, const(mean.reshape(1, 3, 1, 1))]), const(np.array(1 / 256, dtype=np.float32))])
    shape = (3, 150, 150)
    x, shape = conv(x, shape, layers[1], layers[2])
    x = node("Relu", [x])
    mp = layers[3]
    (wy, wx), (sy, sx), (py, px) = mp["window"], mp["stride"], mp["pad"]
    x = node("MaxPool", [x], kernel_shape=[wy, wx], strides=[sy, sx], pads=[py, px, py, px])
    shape = (shape[0], _out_size(shape[1], wy, sy, py), _out_size(shape[2], wx, sx, px))
    if cut != "descriptor" and cut not in CUTS:
        raise ValueError(f"unknown cut {cut!r} (descriptor, {', '.join(CUTS)})")
    kept, trunk_shape = CUTS.get(cut, (len(blocks), None))
    for b in blocks[:kept]:
        y, s1 = conv(x, shape, b["conv1"], b["affine1"])
        y = node("Relu", [y])
        y, s2 = conv(y, s1, b["conv2"], b["affine2"])
        if b["pool"] is not None:
            ap = b["pool"]
            (wy, wx), (sy, sx), (py, px) = ap["window"], ap["stride"], ap["pad"]
            short = node("AveragePool", [x], kernel_shape=[wy, wx], strides=[sy, sx], pads=[py, px, py, px])
            s_short = (shape[0], _out_size(shape[1], wy, sy, py), _out_size(shape[2], wx, sx, px))
        else:
            short, s_short = x, shape
        target = tuple(max(a, b) for a, b in zip(s2, s_short))
        x = node("Relu", [node("Add", [pad_to(y, s2, target), pad_to(short, s_short, target)])])
        shape = target
    if trunk_shape is not None:
        if shape != trunk_shape:
            raise ValueError(f"{path}: the {cut} cut ends in {shape}, expected {trunk_shape}")
        x = node("Flatten", [x])
        nodes[-1].output[0] = out_name = "trunk"
        out_dim = int(np.prod(trunk_shape))
    else:
        x = node("GlobalAveragePool", [x])
        x = node("Flatten", [x])
        x = node("MatMul", [x, const(fc["weight"])])
        if fc["bias"] is not None:
            x = node("Add", [x, const(fc["bias"])])
        nodes[-1].output[0] = out_name = "descriptor"
        out_dim = 128
    graph = helper.make_graph(nodes, f"dlib_face_recognition_resnet_model_v1_{cut}", [
        helper.make_tensor_value_info("chips", TensorProto.FLOAT, ["N", 150, 150, 3])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", out_dim])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="agegender")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
