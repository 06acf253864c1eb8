"""Config → fit → a run directory a person (and the predictor) can use.

A run directory holds: ``model.keras`` (weights), ``metadata.json`` (labels, preprocessing,
thresholds chosen on validation data, training data, metrics, versions), ``config.json`` (the
resolved config), ``history.csv``, ``curves.png`` (loss and accuracy per head, train vs validation)
and ``tensorboard/``. While training, ``backup/`` holds the last finished epoch: after Ctrl-C or a
kill, ``resume=True`` (``agegender train … --resume``) continues from there.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agegender import __version__, evaluation, labels
from agegender.config import Config
from agegender.splits import Split
from agegender.trainset import LabelledFeatures

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
NON_COMMERCIAL = ("Trained on face datasets licensed for non-commercial research only (Adience, UTKFace, "
                  "CelebA): the weights inherit that restriction.")


@dataclass
class RunResult:
    run_dir: Path
    thresholds: labels.Thresholds
    val: evaluation.Scores | None
    test: evaluation.Scores | None
    seconds: float
    epochs: int
    test_probs: tuple[np.ndarray, np.ndarray] | None = None
    infer_ms_per_face: float | None = None  # batched model time on the test set (features → distributions)


def _one_hot(y: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((len(y), n), dtype=np.float32)
    ok = y >= 0
    out[np.flatnonzero(ok), y[ok]] = 1.0
    return out


def _balanced(y: np.ndarray, n: int) -> np.ndarray:
    """Per-row weights so each present class carries the same total weight (missing rows: 0)."""
    w = np.zeros(len(y), dtype=np.float32)
    ok = y >= 0
    counts = np.bincount(y[ok], minlength=n).astype(np.float64)
    present = counts > 0
    per_class = np.where(present, ok.sum() / (present.sum() * np.maximum(counts, 1)), 0.0)
    w[ok] = per_class[y[ok]]
    return w


def targets(cfg: Config, y_age: np.ndarray, y_gender: np.ndarray) -> tuple[dict, dict]:
    """Keras targets and sample weights; a missing label gets weight 0 for its head only."""
    if cfg.model.output == "tuple":
        ok = (y_age >= 0) & (y_gender >= 0)
        return {"tuple": np.stack([y_age, y_gender], 1).astype(np.float32)}, {"tuple": ok.astype(np.float32)}
    if cfg.train.class_weights == "balanced":
        wa, wg = _balanced(y_age, 8), _balanced(y_gender, 2)
    else:
        wa, wg = (y_age >= 0).astype(np.float32), (y_gender >= 0).astype(np.float32)
    return {"age": _one_hot(y_age, 8), "gender": _one_hot(y_gender, 2)}, {"age": wa, "gender": wg}


def predict_probs(model, X: np.ndarray, output: str, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """``(age_probs (n, 8), gender_probs (n, 2))``; a tuple model's numbers are rounded to one-hots."""
    out = model.predict(X, batch_size=batch_size, verbose=0)
    if output == "tuple":
        t = np.asarray(out["tuple"])
        a = np.clip(np.rint(t[:, 0]), 0, 7).astype(int)
        g = np.clip(np.rint(t[:, 1]), 0, 1).astype(int)
        return np.eye(8)[a], np.eye(2)[g]
    return np.asarray(out["age"], dtype=np.float64), np.asarray(out["gender"], dtype=np.float64)


def _optimizer(cfg: Config, steps_per_epoch: int):
    import keras

    t = cfg.train
    lr = t.learning_rate
    if t.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(t.learning_rate, decay_steps=max(1, t.epochs * steps_per_epoch))
    elif t.schedule == "exponential":
        lr = keras.optimizers.schedules.ExponentialDecay(t.learning_rate, decay_steps=max(1, steps_per_epoch), decay_rate=0.9)
    if t.optimizer == "adam":
        return keras.optimizers.Adam(lr)
    if t.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    if t.optimizer == "adadelta":
        return keras.optimizers.Adadelta(lr)
    return keras.optimizers.SGD(lr, momentum=t.momentum)


def fit(cfg: Config, data: LabelledFeatures, split: Split, run_dir: str | Path, resume: bool = False,
        progress: bool = True) -> RunResult:
    """Train on ``split.train``, early-stop and pick thresholds on ``split.val``, score ``split.test``."""
    import keras

    run_dir = Path(run_dir)
    if (run_dir / MODEL_FILE).exists() and not resume:
        raise FileExistsError(f"{run_dir}: a finished run is already there (choose another --out)")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(cfg.to_json() + "\n")
    keras.utils.set_random_seed(cfg.data.seed)

    tr, va, te = split.train, split.val, split.test
    X = data.X
    mean = var = None
    if cfg.data.standardize:
        mean = X[tr].mean(0)
        var = np.maximum(X[tr].var(0), 1e-6)
    y_tr, w_tr = targets(cfg, data.train_age_labels(tr, cfg.data.gap_ages), data.y_gender[tr])
    model = build(cfg, X.shape[1], mean, var)
    steps = int(np.ceil(len(tr) / cfg.train.batch_size))
    loss = {k: cfg.train.loss for k in y_tr}
    loss_weights = {"age": 1.0, "gender": cfg.train.gender_loss_weight} if "age" in y_tr else None
    # weighted: a row without a label for a head (weight 0) must not count in that head's accuracy
    metrics = {k: (["accuracy"] if k != "tuple" else ["mae"]) for k in y_tr}
    model.compile(optimizer=_optimizer(cfg, steps), loss=loss, loss_weights=loss_weights, weighted_metrics=metrics)

    callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resume),
    ]
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False))
    validation = None
    if len(va):
        y_va, w_va = targets(cfg, data.y_age[va], data.y_gender[va])
        validation = (X[va], y_va, w_va)
        if cfg.train.early_stopping > 0:
            callbacks.append(keras.callbacks.EarlyStopping(patience=cfg.train.early_stopping, restore_best_weights=True))
    t0 = time.perf_counter()
    hist = model.fit(X[tr], y_tr, sample_weight=w_tr, validation_data=validation, epochs=cfg.train.epochs,
                     batch_size=cfg.train.batch_size, callbacks=callbacks, verbose=2 if progress else 0, shuffle=True)
    seconds = time.perf_counter() - t0
    model.save(run_dir / MODEL_FILE)

    out = cfg.model.output
    thresholds = labels.Thresholds()
    val_scores = test_scores = None
    test_probs = None
    infer_ms = None
    if len(va):
        pa, pg = predict_probs(model, X[va], out)
        if out == "two_hot":
            thresholds = evaluation.choose_thresholds(pa, pg, data.y_age[va], data.y_gender[va], cfg.train.min_coverage)
        val_scores = evaluation.score(pa, pg, data.y_age[va], data.y_gender[va], thresholds)
    if len(te):
        predict_probs(model, X[te][:8], out)  # warm-up (graph tracing)
        t1 = time.perf_counter()
        test_probs = predict_probs(model, X[te], out)
        infer_ms = (time.perf_counter() - t1) * 1000 / len(te)
        test_scores = evaluation.score(*test_probs, data.y_age[te], data.y_gender[te], thresholds)
    epochs = len(hist.history.get("loss", []))
    write_metadata(run_dir, cfg, data, split, thresholds, val_scores, test_scores, seconds, epochs)
    plot_curves(run_dir)
    return RunResult(run_dir, thresholds, val_scores, test_scores, seconds, epochs, test_probs, infer_ms)


def build(cfg: Config, dim: int, mean=None, var=None):
    from agegender.models import build_model

    return build_model(cfg, dim, mean, var)


def write_metadata(run_dir: Path, cfg: Config, data: LabelledFeatures, split: Split, thresholds: labels.Thresholds,
                   val: evaluation.Scores | None, test: evaluation.Scores | None, seconds: float, epochs: int) -> dict:
    import keras

    from agegender.manifest import atomic_write

    sources: dict[str, int] = {}
    for i in split.train:
        sources[data.records[i].source] = sources.get(data.records[i].source, 0) + 1
    meta = {
        "format": "agegender-model",
        "format_version": 1,
        "labels": {"age_groups": list(labels.AGE_GROUPS), "genders": list(labels.GENDERS)},
        "output": cfg.model.output,
        "model": {"kind": cfg.model.kind, "hidden": cfg.model.hidden, "file": MODEL_FILE},
        "preprocessing": {"extractors": data.extractors, "dims": data.dims, "settings": data.settings,
                          "input_dim": int(data.X.shape[1]), "standardized_in_model": cfg.data.standardize},
        "thresholds": {"age": thresholds.age, "gender": thresholds.gender,
                       "chosen_on": "validation", "min_coverage": cfg.train.min_coverage},
        "training": {"manifest": cfg.data.manifest, "features": cfg.data.features, "protocol": split.protocol,
                     "leaky": split.leaky, "train": int(len(split.train)), "val": int(len(split.val)),
                     "test": int(len(split.test)), "train_sources": sources, "gap_ages": cfg.data.gap_ages,
                     "epochs": epochs, "seconds": round(seconds, 1)},
        "metrics": {"val": val.to_dict() if val else None, "test": test.to_dict() if test else None},
        "versions": {"agegender": __version__, "keras": keras.__version__, "backend": keras.backend.backend(),
                     "numpy": np.__version__},
        "licence": NON_COMMERCIAL,
    }
    text = json.dumps(meta, indent=2)
    atomic_write(run_dir / METADATA_FILE, lambda tmp: tmp.write_text(text + "\n"))
    return meta


def plot_curves(run_dir: Path) -> Path | None:
    """Loss and accuracy per head, train vs validation, from ``history.csv``."""
    import csv

    hist_path = run_dir / "history.csv"
    if not hist_path.is_file():
        return None
    rows = list(csv.DictReader(hist_path.open()))
    if not rows:
        return None
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in rows[0] if k != "epoch" and not k.startswith("val_") and "learning_rate" not in k]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    ep = [int(r["epoch"]) + 1 for r in rows]
    for ax, k in zip(axes[0], keys):
        ax.plot(ep, [float(r[k]) for r in rows], label="train")
        if f"val_{k}" in rows[0]:
            ax.plot(ep, [float(r[f"val_{k}"]) for r in rows], label="validation")
        ax.set_title(k.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    out = run_dir / "curves.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def load_run(run_dir: str | Path):
    """``(keras model, metadata dict)`` of a finished run."""
    import keras

    import agegender.models.layers  # noqa: F401  (registers the custom layers for loading)

    run_dir = Path(run_dir)
    if not (run_dir / METADATA_FILE).is_file():
        raise FileNotFoundError(f"{run_dir}: not a finished run (no {METADATA_FILE})")
    meta = json.loads((run_dir / METADATA_FILE).read_text())
    return keras.saving.load_model(run_dir / meta["model"]["file"]), meta


