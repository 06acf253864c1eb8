"""Export a trained run for runtimes without a deep-learning framework: ONNX (onnxruntime, the web,
desktop) and LiteRT/TFLite (phones), with a check that every format agrees with Keras."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

FORMATS = ("onnx", "litert")
#: Largest allowed |difference| between Keras and an export on the same inputs (probabilities):
#: float32 weights, and weights stored as float16 (half the size; the math stays float32).
TOLERANCE = 1e-4
TOLERANCE_FP16 = 5e-3
#: Weight tensors smaller than this stay float32 (biases, statistics: no size to win).
FP16_MIN_ELEMENTS = 1024


def export(run_dir: str | Path, fmt: str, out: str | Path | None = None, metrics: str | Path | None = None,
           weights: str = "fp32") -> Path:
    """Write ``model.onnx`` or ``model.tflite`` (+ ``metadata.json``) into ``out`` (default: the run dir).

    ``metrics``: a benchmark ``report.json`` made with the same config; its summary (mean ± std over
    folds, ours and the peer) is recorded in the exported metadata. ``weights="fp16"`` stores the
    large weight tensors as float16 (half the file; onnxruntime turns them back into float32 when it
    loads the model, LiteRT dequantizes them), for models that would otherwise be heavy to ship.
    """
    from agegender.training import load_run

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    run_dir = Path(run_dir)
    out = Path(out) if out else run_dir
    out.mkdir(parents=True, exist_ok=True)
    model, meta = load_run(run_dir)
    dim = meta["preprocessing"]["input_dim"]
    model.predict(np.zeros((1, dim), np.float32), verbose=0)  # a model must have been called to export
    target = out / ("model.onnx" if fmt == "onnx" else "model.tflite")
    if fmt == "litert" and weights == "fp16":
        import tensorflow as tf

        model.export(str(target), format=fmt, verbose=False, optimizations=[tf.lite.Optimize.DEFAULT],
                     target_spec={"supported_types": [tf.float16]})
    else:
        model.export(str(target), format=fmt, verbose=False)
        if fmt == "onnx" and weights == "fp16":
            store_weights_fp16(target)
    if (out / "metadata.json").is_file():  # keep what an earlier export of the other format recorded
        meta = {**meta, **{k: v for k, v in json.loads((out / "metadata.json").read_text()).items() if k in ("runtime", "benchmark")}}
    meta = {**meta, "runtime": {**meta.get("runtime", {}), fmt: target.name, "output_order": output_names(model),
                                "weights": weights}}
    if metrics:
        rep = json.loads(Path(metrics).read_text())
        meta["benchmark"] = {"protocol": rep["protocol"], "folds": len(rep["folds"]), "summary": rep["summary"],
                             "train_seconds_total": rep["train_seconds_total"], "report": str(metrics)}
    (out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    if out != run_dir:
        shutil.copy2(run_dir / "config.json", out / "config.json")
    return target


def store_weights_fp16(path: str | Path) -> None:
    """Rewrite an ONNX model so every large float32 initializer is stored as float16 and cast back to
    float32 by a ``Cast`` node (onnxruntime folds the casts at load: the arithmetic stays float32)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    m = onnx.load(str(path))
    casts = []
    for init in m.graph.initializer:
        if init.data_type != TensorProto.FLOAT or np.prod(init.dims) < FP16_MIN_ELEMENTS:
            continue
        a = numpy_helper.to_array(init)
        name = init.name
        init.CopyFrom(numpy_helper.from_array(a.astype(np.float16), name + "__fp16"))
        casts.append(helper.make_node("Cast", [name + "__fp16"], [name], to=TensorProto.FLOAT, name=name + "__cast"))
    renamed = {c.output[0] for c in casts}
    keep = [i for i in m.graph.input if i.name not in renamed]  # an initializer may also be listed as an input
    del m.graph.input[:]
    m.graph.input.extend(keep)
    for node in reversed(casts):
        m.graph.node.insert(0, node)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))


def relu6_as_clip(path: str | Path) -> int:
    """Rewrite every ``Relu → Min(6) → Max(0)`` chain (how tf2onnx writes a Keras ReLU6) as one
    ``Clip(0, 6)``, in place; returns how many. The same values (to float rounding: the fused kernel adds
    in another order), but onnxruntime fuses a ``Clip`` into the convolution before it, where the three
    element-wise passes each cost a trip over the activations (faceres-deep ~16 % faster: docs/MODEL.md)."""
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(str(path))
    g = m.graph
    consts = {i.name: numpy_helper.to_array(i) for i in g.initializer if np.prod(i.dims) == 1}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def only_next(node, op: str, value: float):
        nxt = consumers.get(node.output[0], [])
        ok = len(nxt) == 1 and nxt[0].op_type == op and nxt[0].input[1] in consts and consts[nxt[0].input[1]] == value
        return nxt[0] if ok else None

    drop, clips = set(), {}
    for n in g.node:
        mn = only_next(n, "Min", 6.0) if n.op_type == "Relu" else None
        mx = only_next(mn, "Max", 0.0) if mn is not None else None
        if mx is not None:
            drop |= {id(mn), id(mx)}
            clips[id(n)] = helper.make_node("Clip", [n.input[0], "relu6_low", "relu6_high"], [mx.output[0]], name=n.name + "6")
    if not clips:
        return 0
    nodes = [clips.get(id(n), n) for n in g.node if id(n) not in drop]
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend([numpy_helper.from_array(np.array(v, np.float32), name) for name, v in (("relu6_low", 0), ("relu6_high", 6))])
    used = {i for n in g.node for i in n.input}
    for init in [i for i in g.initializer if i.name not in used]:
        g.initializer.remove(init)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return len(clips)


def output_names(model) -> list[str]:
    return sorted(model.output.keys()) if isinstance(model.output, dict) else ["output"]


def run_onnx(path: str | Path, X: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in s.get_outputs()]
    return dict(zip(names, s.run(None, {s.get_inputs()[0].name: X.astype(np.float32)})))


def run_litert(path: str | Path, X: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """LiteRT with a fixed batch of 1: rows one at a time. Outputs are matched to ``names`` by width."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(str(path))
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    outs = it.get_output_details()
    rows: dict[int, list[np.ndarray]] = {o["index"]: [] for o in outs}
    for x in X.astype(np.float32):
        it.set_tensor(inp["index"], x[None, :])
        it.invoke()
        for o in outs:
            rows[o["index"]].append(it.get_tensor(o["index"])[0].copy())
    by_width = {np.stack(v).shape[1]: np.stack(v) for v in rows.values()}
    return {n: by_width[{"age": 8, "gender": 2, "tuple": 2, "years": 101}[n]] for n in names}


def tolerance(export_dir: str | Path) -> float:
    """The agreement tolerance for an export: looser when its weights are stored as float16."""
    meta_path = Path(export_dir) / "metadata.json"
    weights = json.loads(meta_path.read_text()).get("runtime", {}).get("weights") if meta_path.is_file() else None
    return TOLERANCE_FP16 if weights == "fp16" else TOLERANCE


def check_agreement(run_dir: str | Path, export_dir: str | Path | None = None, n: int = 64, seed: int = 0) -> dict[str, float]:
    """Max |Keras − export| per format found in ``export_dir`` (default: the run) on ``n`` random inputs.

    The inputs are drawn around the training features (their mean ± their spread, from the model's
    standardisation layer) where the model has one: unit normals would sit hundreds of standard deviations
    away on features with a small spread, where float16 weights are off by more than on any real face."""
    from agegender.training import load_run

    model, meta = load_run(run_dir)
    run_dir = Path(export_dir or run_dir)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, meta["preprocessing"]["input_dim"])).astype(np.float32)
    if "standardize" in {layer.name for layer in model.layers}:
        std = model.get_layer("standardize")
        X = (np.asarray(std.mean) + X / np.asarray(std.inv_std)).astype(np.float32)
    ref = model.predict(X, verbose=0)
    names = output_names(model)
    diffs = {}
    if (run_dir / "model.onnx").is_file():
        got = run_onnx(run_dir / "model.onnx", X)
        diffs["onnx"] = max(float(np.abs(got[k] - np.asarray(ref[k])).max()) for k in names)
    if (run_dir / "model.tflite").is_file():
        got = run_litert(run_dir / "model.tflite", X, names)
        diffs["litert"] = max(float(np.abs(got[k] - np.asarray(ref[k])).max()) for k in names)
    return diffs
