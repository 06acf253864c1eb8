"""The seed project's fully-connected networks in the frameworks it used: TFLearn, tf.keras (TensorFlow
2.12) and TensorFlow's DNNClassifier — run in their own environment (setup.sh → .venv-seed).

It needs nothing from the agegender package: it reads a bundle that ``agegender frameworks export``
wrote (features ``X.npy``, labels ``y_age.npy``/``y_gender.npy`` with −1 where missing, and
``folds.json``: the benchmark's exact train/validation/test rows per fold), trains one network per
fold, and writes per fold the validation and test probabilities (``predictions.npz``), the training
history and the time it took. ``agegender frameworks score`` then turns those predictions into the
benchmark's report with the main package's own metric code; this script also computes the plain
accuracies itself (``runner.json``) so a test can check that both agree.

Usage: python seed_runner.py BUNDLE --impl tflearn|tfkeras|dnnclassifier --preset large|small|tuple --out RUN
       [--epochs N] [--batch-size N] [--folds 0,1]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

#: The seed's networks: hidden sizes → outputs ("two_hot": 8 age + 2 gender; "tuple": age index, gender index).
PRESETS = {"large": ([1024, 512, 256, 128, 32], "two_hot"), "small": ([64, 32, 32, 16, 16], "two_hot"),
           "tuple": ([32, 32, 16, 16, 10], "tuple")}
N_AGE, N_GENDER = 8, 2


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def two_hot(y_age: np.ndarray, y_gender: np.ndarray) -> np.ndarray:
    """The 10-column target; a missing label leaves its part all zero (no loss for it)."""
    y = np.zeros((len(y_age), N_AGE + N_GENDER), np.float32)
    ok = y_age >= 0
    y[np.flatnonzero(ok), y_age[ok]] = 1
    ok = y_gender >= 0
    y[np.flatnonzero(ok), N_AGE + y_gender[ok]] = 1
    return y


def tuple_probs(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.clip(np.rint(t[:, 0]), 0, N_AGE - 1).astype(int)
    g = np.clip(np.rint(t[:, 1]), 0, N_GENDER - 1).astype(int)
    return np.eye(N_AGE)[a], np.eye(N_GENDER)[g]


# --------------------------------------------------------------------------- TFLearn (L2: it has no max-norm)

def two_hot_loss(y_pred, y_true):
    """One softmax cross-entropy per part (age group, gender) of the 2-hot target, on logits; an all-zero
    part (a missing label) costs nothing and pushes nothing.

    Written out rather than with ``tf.nn.softmax_cross_entropy_with_logits``: that fused kernel's gradient
    is ``softmax − labels``, which assumes the labels sum to 1, so on the gap-age rows (all-zero age part)
    it kept pushing every age logit down and the five-layer net diverged (every fold at chance)."""
    import tensorflow.compat.v1 as tf

    def part(labels, logits):
        return -tf.reduce_sum(labels * tf.nn.log_softmax(logits), axis=1)

    return tf.reduce_mean(part(y_true[:, :N_AGE], y_pred[:, :N_AGE]) + part(y_true[:, N_AGE:], y_pred[:, N_AGE:]))


def run_tflearn(X, ya, yg, tr, va, preset, epochs, batch, fold_dir):
    import tensorflow.compat.v1 as tf
    import tflearn

    hidden, output = PRESETS[preset]
    tf.reset_default_graph()
    net = tflearn.input_data([None, X.shape[1]])
    for units in hidden:
        # Glorot, tf.keras's default initializer, so that only the regulariser and optimizer differ
        net = tflearn.fully_connected(net, units, activation="relu", weights_init=tf.glorot_uniform_initializer(),
                                      regularizer="L2", weight_decay=1e-4)
    if output == "two_hot":
        net = tflearn.fully_connected(net, N_AGE + N_GENDER, activation="linear", weights_init=tf.glorot_uniform_initializer())
        loss = two_hot_loss
        Y = two_hot(ya, yg)
        keep = np.ones(len(X), bool)
    else:
        net = tflearn.fully_connected(net, 2, activation="linear", weights_init=tf.glorot_uniform_initializer())
        loss = "mean_square"
        Y = np.stack([ya, yg], 1).astype(np.float32)
        keep = (ya >= 0) & (yg >= 0)
    net = tflearn.regression(net, optimizer="adam", learning_rate=1e-3, loss=loss)
    model = tflearn.DNN(net, tensorboard_dir=str(fold_dir / "tensorboard"), tensorboard_verbose=0)
    t_tr, t_va = tr[keep[tr]], va[keep[va]]
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # TFLearn redraws a progress line per step
        model.fit(X[t_tr], Y[t_tr], validation_set=(X[t_va], Y[t_va]), n_epoch=epochs, batch_size=batch, show_metric=False,
                  run_id=f"seed-{preset}", shuffle=True)
    seconds = time.perf_counter() - t0

    def predict(rows):
        out = np.asarray(model.predict(X[rows]))
        if output == "two_hot":
            return softmax(out[:, :N_AGE]), softmax(out[:, N_AGE:])
        return tuple_probs(out)

    return predict, seconds, []


# --------------------------------------------------------------------------- tf.keras 2.12 (max-norm + SGD momentum)

def run_tfkeras(X, ya, yg, tr, va, preset, epochs, batch, fold_dir):
    import tensorflow as tf

    hidden, output = PRESETS[preset]
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((X.shape[1],))
    x = inp
    for units in hidden:
        x = tf.keras.layers.Dense(units, activation="relu", kernel_constraint=tf.keras.constraints.MaxNorm(3.0))(x)
        x = tf.keras.layers.Dropout(0.2)(x)
    if output == "two_hot":
        outs = {"age": tf.keras.layers.Dense(N_AGE, activation="softmax", name="age")(x),
                "gender": tf.keras.layers.Dense(N_GENDER, activation="softmax", name="gender")(x)}
        Y = {"age": np.eye(N_AGE)[np.maximum(ya, 0)] * (ya >= 0)[:, None], "gender": np.eye(N_GENDER)[np.maximum(yg, 0)] * (yg >= 0)[:, None]}
        W = {"age": (ya >= 0).astype(np.float32), "gender": (yg >= 0).astype(np.float32)}
        loss = {"age": "categorical_crossentropy", "gender": "categorical_crossentropy"}
    else:
        outs = {"tuple": tf.keras.layers.Dense(2, name="tuple")(x)}
        Y = {"tuple": np.stack([ya, yg], 1).astype(np.float32)}
        W = {"tuple": ((ya >= 0) & (yg >= 0)).astype(np.float32)}
        loss = {"tuple": "mse"}
    model = tf.keras.Model(inp, outs)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.01, momentum=0.9), loss=loss)
    sub = lambda d, rows: {k: v[rows] for k, v in d.items()}  # noqa: E731
    t0 = time.perf_counter()
    hist = model.fit(X[tr], sub(Y, tr), sample_weight=sub(W, tr), validation_data=(X[va], sub(Y, va), sub(W, va)),
                     epochs=epochs, batch_size=batch, verbose=0, shuffle=True)
    seconds = time.perf_counter() - t0
    history = [{"epoch": e, **{k: float(v[e]) for k, v in hist.history.items()}} for e in range(len(hist.history["loss"]))]
    _plot(history, fold_dir / "history.png")

    def predict(rows):
        out = model.predict(X[rows], verbose=0, batch_size=1024)
        if output == "two_hot":
            return np.asarray(out["age"], np.float64), np.asarray(out["gender"], np.float64)
        return tuple_probs(np.asarray(out["tuple"]))

    return predict, seconds, history


def _plot(history: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key in ("loss", "val_loss"):
        ax.plot([h["epoch"] + 1 for h in history], [h[key] for h in history], label=key)
    ax.set_xlabel("epoch")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# --------------------------------------------------------------------------- DNNClassifier (dictionary input, one-hot)

def run_dnnclassifier(X, ya, yg, tr, va, preset, epochs, batch, fold_dir):
    """One class per (age group, gender) pair — the one-hot case: a DNNClassifier predicts one label, so
    the 2-hot label becomes one of 16 joint classes, and the answer's two distributions are its marginals."""
    import tensorflow as tf

    hidden, output = PRESETS[preset]
    if output != "two_hot":
        raise SystemExit("DNNClassifier predicts classes: only the one-hot presets (large, small)")
    both = (ya >= 0) & (yg >= 0)
    joint = np.where(both, ya * N_GENDER + yg, 0)
    columns = [tf.feature_column.numeric_column("features", shape=[X.shape[1]])]
    est = tf.estimator.DNNClassifier(hidden_units=hidden, feature_columns=columns, n_classes=N_AGE * N_GENDER,
                                     optimizer=lambda: tf.keras.optimizers.legacy.Adam(1e-3),
                                     model_dir=str(fold_dir / "estimator"), config=tf.estimator.RunConfig(tf_random_seed=0))
    rows = tr[both[tr]]

    def train_input():  # the dictionary input DNNClassifier needs
        ds = tf.data.Dataset.from_tensor_slices(({"features": X[rows]}, joint[rows]))
        return ds.shuffle(len(rows), seed=0).repeat(epochs).batch(batch)

    t0 = time.perf_counter()
    est.train(train_input)
    seconds = time.perf_counter() - t0

    def predict(idx):
        ds = lambda: tf.data.Dataset.from_tensor_slices({"features": X[idx]}).batch(1024)  # noqa: E731
        p = np.stack([r["probabilities"] for r in est.predict(ds)]).astype(np.float64).reshape(-1, N_AGE, N_GENDER)
        return p.sum(2), p.sum(1)

    return predict, seconds, []


IMPLS = {"tflearn": run_tflearn, "tfkeras": run_tfkeras, "dnnclassifier": run_dnnclassifier}


def plain_metrics(pa, pg, ya, yg) -> dict:
    """Accuracies computed here, independently of agegender (the test compares them with its own)."""
    a, g = pa.argmax(1), pg.argmax(1)
    ha, hg = ya >= 0, yg >= 0
    both = ha & hg
    return {"gender": float((g[hg] == yg[hg]).mean()), "age_exact": float((a[ha] == ya[ha]).mean()),
            "age_1off": float((np.abs(a[ha] - ya[ha]) <= 1).mean()),
            "joint": float(((a[both] == ya[both]) & (g[both] == yg[both])).mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--impl", choices=IMPLS, required=True)
    ap.add_argument("--preset", choices=PRESETS, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--folds", help="only these folds, e.g. 0,1")
    args = ap.parse_args()
    import tensorflow as tf

    bundle = Path(args.bundle)
    X = np.load(bundle / "X.npy").astype(np.float32)
    ya, yg = np.load(bundle / "y_age.npy"), np.load(bundle / "y_gender.npy")
    folds = json.loads((bundle / "folds.json").read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = None if not args.folds else {int(f) for f in args.folds.split(",")}
    metrics = []
    for f in folds["folds"]:
        if wanted is not None and f["fold"] not in wanted:
            continue
        tr, va, te = (np.asarray(f[k], dtype=np.int64) for k in ("train", "val", "test"))
        mean, std = X[tr].mean(0), X[tr].std(0) + 1e-6  # standardised with training statistics, as agegender does
        Xs = (X - mean) / std
        fold_dir = out / f"fold_{f['fold']}"
        fold_dir.mkdir(exist_ok=True)
        predict, seconds, history = IMPLS[args.impl](Xs, ya, yg, tr, va, args.preset, args.epochs, args.batch_size, fold_dir)
        t1 = time.perf_counter()
        test_age, test_gender = predict(te)
        infer_ms = (time.perf_counter() - t1) * 1000 / max(1, len(te))
        val_age, val_gender = predict(va)
        np.savez(fold_dir / "predictions.npz", val_rows=va, test_rows=te, val_age=val_age, val_gender=val_gender,
                 test_age=test_age, test_gender=test_gender)
        if history:
            with open(fold_dir / "history.csv", "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(history[0]))
                w.writeheader()
                w.writerows(history)
        m = plain_metrics(test_age, test_gender, ya[te], yg[te])
        metrics.append({"fold": f["fold"], "seconds": round(seconds, 2), "epochs": args.epochs,
                        "infer_ms_per_face": round(infer_ms, 4), **m})
        print(f"fold {f['fold']}: gender {100 * m['gender']:.1f}  age exact {100 * m['age_exact']:.1f}  "
              f"1-off {100 * m['age_1off']:.1f}  ({seconds:.0f} s)", flush=True)
    frameworks = {"tflearn": "TFLearn 0.5.0", "tfkeras": "tf.keras", "dnnclassifier": "tf.estimator.DNNClassifier"}
    (out / "runner.json").write_text(json.dumps({
        "impl": args.impl, "preset": args.preset, "hidden": PRESETS[args.preset][0], "output": PRESETS[args.preset][1],
        "backend": f"{frameworks[args.impl]} (TensorFlow {tf.__version__})", "epochs": args.epochs,
        "batch_size": args.batch_size, "bundle": str(bundle), "folds": metrics}, indent=2) + "\n")


if __name__ == "__main__":
    main()
