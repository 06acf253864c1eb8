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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agegender import __version__, evaluation, labels
from agegender.config import Config, ConfigError
from agegender.feature_matrix import FeatureMatrix
from agegender.feature_matrix import batches as feature_batches
from agegender.models.build import PAIR_HEAD
from agegender.splits import Split
from agegender.targets import targets
from agegender.trainset import LabelledFeatures

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
CLOCK_FILE = "clock.json"  # training seconds over the finished epochs of every session (kill + resume)
#: Settings a resumed run may change: how long it goes on, and how much it prints.
RESUMABLE_CHANGES = ("train.epochs", "train.verbose")


class RunComplete(FileExistsError):
    """``--resume`` on a run that already finished: there is nothing to do, and nothing is changed."""


class ResumeError(ValueError):
    """An interrupted run that cannot be resumed as asked (another config, a damaged checkpoint)."""
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


def predict_all(model, X: np.ndarray | FeatureMatrix, batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Every head's output over ``X`` (a large :class:`FeatureMatrix` a chunk of rows at a time; no rows:
    empty outputs, where Keras' own ``predict`` fails)."""
    if not len(X):
        return {k: np.zeros((0, int(t.shape[-1])), np.float32) for k, t in dict(model.output).items()}
    if not isinstance(X, FeatureMatrix):
        return model.predict(X, batch_size=batch_size, verbose=0)
    parts = [model.predict(x, batch_size=batch_size, verbose=0) for x in feature_batches(X)]
    return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}


def predict_probs(model, X: np.ndarray | FeatureMatrix, output: str, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """``(age_probs (n, 8), gender_probs (n, 2))``; a tuple model's numbers are rounded to one-hots."""
    return probs_of(predict_all(model, X, batch_size), output)


def probs_of(out: dict[str, np.ndarray], output: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`predict_probs` from the heads' outputs already computed (:func:`predict_all`)."""
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
    ema = {"use_ema": True, "ema_momentum": t.ema} if t.ema > 0 else {}
    if t.optimizer == "adam":
        return keras.optimizers.Adam(lr, **ema)
    if t.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=t.weight_decay, **ema)
    if t.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(lr, **ema)
    if t.optimizer == "adadelta":
        return keras.optimizers.Adadelta(lr, **ema)
    return keras.optimizers.SGD(lr, momentum=t.momentum, **ema)


def fit(cfg: Config, data: LabelledFeatures, split: Split, run_dir: str | Path, resume: bool = False,
        progress: bool = True) -> RunResult:
    """Train on ``split.train``, early-stop and pick thresholds on ``split.val``, score ``split.test``."""
    run_dir = Path(run_dir)
    if (run_dir / MODEL_FILE).exists():
        if resume:
            raise RunComplete(f"{run_dir}: this run is already complete ({_epochs_done(run_dir)} epochs); "
                              "nothing to resume, nothing changed")
        raise FileExistsError(f"{run_dir}: a finished run is already there (choose another --out)")
    before = 0.0
    if resume and (run_dir / "config.json").is_file():
        _check_resumable(run_dir, cfg)
        before = _clock(run_dir)
    if cfg.train.precision == "bfloat16" and not bfloat16_native():
        raise ConfigError('train.precision = "bfloat16" needs a CPU that computes in bfloat16 itself (AVX512-BF16 or AMX; '
                          "this one has neither: emulated, training is slower than in float32, or oneDNN aborts) or a GPU: use float32")
    import keras  # after the checks: refusing to resume needs no framework

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(cfg.to_json() + "\n")
    seed = cfg.data.seed if cfg.train.seed < 0 else cfg.train.seed
    keras.utils.set_random_seed(seed)

    tr, va, te = split.train, split.val, split.test
    X = data.X
    trunk = _trunk_columns(cfg, data)
    map_tail, fmap = _map_tail(cfg, data)
    mean = var = None
    if cfg.data.standardize:
        if isinstance(X, FeatureMatrix):
            mean, var = X.mean_var(tr)
        else:
            mean, var = X[tr].mean(0), X[tr].var(0)
        var = np.maximum(var, 1e-6)
        if trunk:  # dlib's trunk activations feed dlib's own layers as they are
            mean[:trunk], var[:trunk] = 0.0, 1.0
        if fmap:  # so does a network's map before its fine-tuned stage
            mean[-fmap:], var[-fmap:] = 0.0, 1.0
    race = None if data.race is None else data.race
    y_tr, w_tr = targets(cfg, data.train_age_labels(tr, cfg.data.gap_ages), data.y_gender[tr], data.age_years[tr],
                         None if race is None else race[tr])
    def built():
        return build(cfg, X.shape[1], mean, var, trunk, map_tail)

    with precision_policy(cfg.train.precision):
        model = built()
    if cfg.model.gender_from == "other" and not resume:
        _start_gender_layer(model, X, tr, y_tr["gender"], w_tr["gender"])
    steps = int(np.ceil(len(tr) / cfg.train.batch_size))
    loss = {k: cfg.train.loss for k in y_tr}
    smooth, gamma = cfg.train.label_smoothing, cfg.train.focal_gamma
    for k in ("age", "gender"):  # the two softmax heads only (the years head's targets are soft already)
        if k in loss and gamma > 0:  # alpha 1: the heads keep their weights relative to each other
            loss[k] = keras.losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=gamma, label_smoothing=smooth)
        elif k in loss and smooth > 0:
            loss[k] = keras.losses.CategoricalCrossentropy(label_smoothing=smooth)
    weights = {"age": 1.0, "gender": cfg.train.gender_loss_weight, "years": cfg.train.years_loss_weight,
               PAIR_HEAD: cfg.train.pair_loss_weight}
    loss_weights = {k: weights[k] for k in y_tr} if "age" in y_tr else None
    # weighted: a row without a label for a head (weight 0) must not count in that head's accuracy
    metrics = {k: (["accuracy"] if k in ("age", "gender") else ["mae"]) for k in y_tr if k not in ("years", PAIR_HEAD)}
    model.compile(optimizer=_optimizer(cfg, steps), loss=loss, loss_weights=loss_weights, weighted_metrics=metrics)

    class Clock(keras.callbacks.Callback):
        """Writes the training seconds so far after each epoch, so a resumed run counts all of them."""

        def on_train_begin(self, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            (run_dir / CLOCK_FILE).write_text(json.dumps({"seconds": before + time.perf_counter() - self.t0}))

    callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=resume),
        Clock(),
    ]
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False))
    if cfg.train.ema > 0:  # the moving average in the model at each epoch's end: validated, kept by early stopping
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    validation = None
    if len(va):
        y_va, w_va = targets(cfg, data.y_age[va], data.y_gender[va], data.age_years[va])
        validation = (X[va], y_va, w_va)
        if cfg.train.early_stopping > 0:
            callbacks.append(keras.callbacks.EarlyStopping(patience=cfg.train.early_stopping, restore_best_weights=True))
    t0 = time.perf_counter()
    try:
        if isinstance(X, FeatureMatrix) or cfg.train.mixup > 0:  # gathered (and blended) a batch at a time
            model.fit(shuffled_batches(X.__getitem__, tr, y_tr, w_tr, cfg.train.batch_size, seed, cfg.train.mixup),
                      validation_data=validation, epochs=cfg.train.epochs, callbacks=callbacks, verbose=2 if progress else 0)
        else:
            model.fit(X[tr], y_tr, sample_weight=w_tr, validation_data=validation, epochs=cfg.train.epochs,
                      batch_size=cfg.train.batch_size, callbacks=callbacks, verbose=2 if progress else 0, shuffle=True)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as e:
        if resume and (run_dir / "backup").is_dir() and _restore_failed(e):
            raise ResumeError(f"{run_dir / 'backup'}: the interrupted run's checkpoint is damaged ({str(e).splitlines()[0][:120]}); "
                              f"delete that folder to start the run over, or train into another --out") from None
        raise
    seconds = before + time.perf_counter() - t0
    if cfg.train.precision != "float32":  # the trained weights into the same model computing in float32
        model = float32_copy(model, built)
    model = without_training_heads(model)

    out = cfg.model.output
    thresholds = labels.Thresholds()
    val_scores = test_scores = None
    test_probs = None
    infer_ms = None
    calib = None
    fused = None
    if len(va) and out == "two_hot" and cfg.model.years_head:
        model, fused = fuse_years(model, X[va], data.y_age[va])
    if len(va) and out == "two_hot" and cfg.train.calibrate:
        model, calib = calibrate(model, X[va], data.y_age[va], data.y_gender[va])
    if fused is not None:
        calib = {**(calib or {}), "years_fusion_weight": fused}
    model.save(run_dir / MODEL_FILE)
    if len(va):
        pa, pg = predict_probs(model, X[va], out)
        if out == "two_hot":
            thresholds = choose_thresholds(cfg, pa, pg, data.y_age[va], data.y_gender[va])
        val_scores = evaluation.score(pa, pg, data.y_age[va], data.y_gender[va], thresholds)
    if len(te):
        test_probs, infer_ms, test_scores = score_test(model, cfg, data, te, thresholds)
    epochs = _epochs_done(run_dir)  # every finished epoch, those before a kill + resume too
    write_metadata(run_dir, cfg, data, split, thresholds, val_scores, test_scores, seconds, epochs, calib)
    (run_dir / CLOCK_FILE).unlink(missing_ok=True)
    plot_curves(run_dir)
    return RunResult(run_dir, thresholds, val_scores, test_scores, seconds, epochs, test_probs, infer_ms)


def score_test(model, cfg: Config, data: LabelledFeatures, te: np.ndarray, thresholds: labels.Thresholds):
    """``(test probabilities, model ms per face, scores)`` of a trained model on the rows ``te``."""
    out = cfg.model.output
    predict_probs(model, data.X[te][:8], out)  # warm-up (graph tracing)
    t1 = time.perf_counter()
    probs = predict_probs(model, data.X[te], out)
    infer_ms = (time.perf_counter() - t1) * 1000 / len(te)
    scores = evaluation.score(*probs, data.y_age[te], data.y_gender[te], thresholds)
    if cfg.model.years_head:
        scores.years_mae = years_mae(model, data.X[te], data.age_years[te])
    return probs, infer_ms, scores


def finished_fit(cfg: Config, data: LabelledFeatures, split: Split, run_dir: str | Path) -> RunResult:
    """The result of a run that already finished, its model scored again on ``split.test``: a benchmark
    started again after a kill keeps its finished folds. Refused if the run had other settings."""
    run_dir = Path(run_dir)
    _check_resumable(run_dir, cfg, finished=True)
    model, meta = load_run(run_dir)
    thresholds = labels.Thresholds.from_metadata(meta)
    probs = infer_ms = test = None
    if len(split.test):
        probs, infer_ms, test = score_test(model, cfg, data, split.test, thresholds)
    val = meta["metrics"]["val"]
    val_scores = evaluation.Scores.from_dict(val) if val else None
    return RunResult(run_dir, thresholds, val_scores, test, float(meta["training"]["seconds"]), int(meta["training"]["epochs"]),
                     probs, infer_ms)


def _epochs_done(run_dir: Path) -> int:
    """Finished epochs, from ``history.csv`` (one row each, appended across resumes)."""
    import csv

    path = run_dir / "history.csv"
    if not path.is_file():
        return 0
    with path.open(newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


def _clock(run_dir: Path) -> float:
    try:
        return float(json.loads((run_dir / CLOCK_FILE).read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _check_resumable(run_dir: Path, cfg: Config, finished: bool = False) -> None:
    """Refuse, before anything is written, to resume (or reuse, if ``finished``) a run under settings other than its own."""
    try:
        old = _flat(json.loads((run_dir / "config.json").read_text()))
    except (OSError, ValueError) as e:
        raise ResumeError(f"{run_dir / 'config.json'}: unreadable ({e}); cannot tell how the run was started") from None
    new = _flat(cfg.to_dict())
    diffs = [f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in sorted(old)  # keys newer than the run: defaults
             if k not in RESUMABLE_CHANGES and old.get(k) != new.get(k)]
    if diffs:
        what, advice = (("finished", "run the benchmark with the same ones to keep it") if finished
                        else ("interrupted", "resume with the same ones (only train.epochs may change)"))
        raise ResumeError(f"{run_dir}: the {what} run was started with other settings ({'; '.join(diffs[:3])}"
                          f"{'; …' if len(diffs) > 3 else ''}); {advice} or train into another --out")


def _restore_failed(e: BaseException) -> bool:
    """Whether an error from ``fit`` came from reading the backup (h5 or JSON), not from training."""
    text = f"{type(e).__name__} {e}".lower()
    return any(w in text for w in ("h5", "hdf", "truncated", "signature", "json", "unable to", "weights", "epoch"))


@contextmanager
def precision_policy(precision: str):
    """Layers built inside compute in ``precision`` (``"bfloat16"``: Keras' ``mixed_bfloat16`` — variables stay
    float32, the softmax heads compute in float32); the global policy is restored afterwards."""
    import keras

    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bfloat16" else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


#: CPU flags (Linux ``/proc/cpuinfo``) of instructions that compute in bfloat16
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def bfloat16_native() -> bool:
    """Whether this machine trains in bfloat16 natively: a GPU (TensorFlow backend) or a CPU with
    :data:`BFLOAT16_CPU_FLAGS` — elsewhere oneDNN emulates it, slower than float32, or aborts the process."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    if flags & set(BFLOAT16_CPU_FLAGS):
        return True
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    return False


def without_training_heads(model):
    """The model without heads that only help training (the pair head of ``train.pair_loss_weight``): what is
    calibrated, saved, exported and served answers with the age, gender and years heads alone."""
    import keras

    outputs = dict(model.output) if isinstance(model.output, dict) else None
    if outputs is None or PAIR_HEAD not in outputs:
        return model
    return keras.Model(model.input, {k: v for k, v in outputs.items() if k != PAIR_HEAD}, name=model.name)


def float32_copy(model, build_float32):
    """``build_float32()``'s model (float32 throughout) holding ``model``'s weights: what a mixed-precision
    run calibrates, saves and exports, so prediction and every export compute as a float32 run's model does."""
    with precision_policy("float32"):
        copy = build_float32()
    copy.set_weights(model.get_weights())
    return copy


def build(cfg: Config, dim: int, mean=None, var=None, trunk_columns: int | None = None, map_tail: str | None = None):
    from agegender.models import build_model

    return build_model(cfg, dim, mean, var, trunk_columns, map_tail)


MAP_EXTRACTORS = ("faceresmap", "agnetmap")


def _map_tail(cfg: Config, data: LabelledFeatures) -> tuple[str | None, int]:
    """Which network's map the trailing feature columns are, and how many (a ``dlibtail`` model fine-tunes
    that network's last stage on them when a map extractor — ``faceresmap``, ``agnetmap`` — is the last
    feature file); ``(None, 0)`` otherwise."""
    last = data.extractors[-1].split("+")[-1] if data.extractors else ""
    if cfg.model.kind != "dlibtail" or last not in MAP_EXTRACTORS:
        return None, 0
    if any(m in name for name in data.extractors[:-1] for m in MAP_EXTRACTORS) or "+" in data.extractors[-1]:
        raise ValueError(f"model.kind = 'dlibtail' needs {last} as a file of its own, the last in data.features "
                         "(one map extractor at most)")
    from agegender.models.build import map_tail_module

    return last, map_tail_module(last).MAP_DIM


def shuffled_batches(gather, rows: np.ndarray, y: dict, w: dict, batch_size: int, seed: int, mixup: float = 0.0):
    """A Keras dataset of training batches in a new random order every epoch: ``gather(rows of a batch)``
    gives their input (e.g. rows of a :class:`FeatureMatrix`, too large to copy whole), ``y``/``w`` the
    targets and sample weights per head, one entry per row of ``rows``.

    ``mixup`` > 0: each row is blended with another row of its batch (:func:`mix_batch`)."""
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def on_epoch_end(self) -> None:
            self.order = self.rng.permutation(len(rows))

        def __len__(self) -> int:
            return int(np.ceil(len(rows) / batch_size))

        def __getitem__(self, k: int):
            j = self.order[k * batch_size:(k + 1) * batch_size]
            batch = gather(rows[j]), {h: v[j] for h, v in y.items()}, {h: v[j] for h, v in w.items()}
            if mixup > 0:  # its own generator per batch: the same blend whichever worker or order asks
                batch = mix_batch(*batch, mixup, np.random.default_rng((seed, int(self.order[0]), k)))
            return batch

    return Batches()


def mix_batch(X: np.ndarray, y: dict, w: dict, alpha: float, rng: np.random.Generator) -> tuple[np.ndarray, dict, dict]:
    """Mixup (Zhang et al. 2018): each row becomes ``λ·row + (1 − λ)·partner`` with its partner drawn from the
    same batch and ``λ ~ Beta(α, α)`` — inputs and each head's targets alike, so the heads learn that faces
    between two answers lie between them. A head's label a row lacks (weight 0) is not blended in: that
    head's target comes from the labelled row alone, its weight is the two weights blended."""
    n = len(X)
    lam = rng.beta(alpha, alpha, n).astype(np.float32)
    partner = rng.permutation(n)
    Xm = lam[:, None] * X + (1 - lam[:, None]) * X[partner]
    ym, wm = {}, {}
    for h in y:
        a, b = lam * w[h], (1 - lam) * w[h][partner]
        total = a + b
        share = np.divide(a, total, out=np.ones_like(total), where=total > 0)[:, None]
        ym[h] = (share * y[h] + (1 - share) * y[h][partner]).astype(np.float32)
        wm[h] = total.astype(np.float32)
    return Xm.astype(np.float32), ym, wm


def _start_gender_layer(model, X, rows: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
    """``model.gender_from = "other"``: fit the gender head — one linear layer on the standardised features beside
    the fine-tuned stages (the model's ``other`` columns, standardised by its own ``standardize`` layer's
    statistics) — on its own first (logistic regression, as the fast model is fitted: Adam 3e-3, 60 epochs), then
    the whole model trains from there. At the whole model's rate the layer learns too slowly: the stages overfit
    first (docs/BENCHMARKS.md)."""
    import keras

    other = model.get_layer("other")
    a, b = other.start, other.stop
    Z = np.asarray(X[rows, a:b], dtype=np.float32)
    if any(layer.name == "standardize" for layer in model.layers):
        std = model.get_layer("standardize")
        Z = (Z - np.asarray(std.mean)[a:b]) * np.asarray(std.inv_std)[a:b]
    head = model.get_layer("gender")
    inp = keras.Input((b - a,))
    layer = keras.layers.Dense(2, activation="softmax", kernel_regularizer=head.kernel_regularizer)
    lr = keras.Model(inp, layer(inp))
    lr.compile(optimizer=keras.optimizers.Adam(3e-3), loss="categorical_crossentropy")
    lr.fit(Z, y, sample_weight=w, epochs=60, batch_size=256, verbose=0, shuffle=True)
    head.set_weights(layer.get_weights())


def _trunk_columns(cfg: Config, data: LabelledFeatures) -> int | None:
    """How many leading feature columns are dlib's trunk (``dlibtail`` models; they must come first) — 0 when
    a map extractor, last, is the only network fine-tuned (e.g. ``agnetmap`` alone: the age network's last
    stage, a fast model's)."""
    if cfg.model.kind != "dlibtail":
        return None
    from agegender.features import extractor_dim
    from agegender.models.dlibtail import TRUNK_EXTRACTORS

    first = data.extractors[0].split("+")[0] if data.extractors else ""
    if first not in TRUNK_EXTRACTORS:
        if _map_tail(cfg, data)[0]:
            return 0
        raise ValueError(f"model.kind = 'dlibtail' needs a dlib trunk's features ({', '.join(TRUNK_EXTRACTORS)}) first in "
                         f"data.features, or a map extractor ({', '.join(MAP_EXTRACTORS)}) last "
                         f"(got {', '.join(data.extractors)})")
    return extractor_dim(first)


def calibrate(model, X_val: np.ndarray, y_age: np.ndarray, y_gender: np.ndarray):
    """Temperature-scale both softmax heads on validation data: ``(model with Temperature layers, record)``.

    Accuracy is unchanged (every argmax stays); the probabilities — and so the Undefined rule — become
    honest. The temperatures live inside the model, so every export carries them.
    """
    import keras

    from agegender import calibration
    from agegender.models.layers import Temperature

    out = predict_all(model, X_val)
    record = {}
    new_out = dict(model.output) if isinstance(model.output, dict) else {}
    for head, y in (("age", y_age), ("gender", y_gender)):
        p = np.asarray(out[head], dtype=np.float64)
        t = calibration.fit_temperature(p, y)
        record[head] = {"temperature": round(t, 4),
                        "val_ece_before": calibration.expected_calibration_error(p, y),
                        "val_ece_after": calibration.expected_calibration_error(calibration.apply_temperature(p, t), y)}
        new_out[head] = Temperature(t, name=f"{head}_calibrated")(model.output[head])
    return keras.Model(model.input, new_out, name=model.name), record


def fuse_years(model, X_val: np.ndarray, y_age: np.ndarray):
    """Join the years head into the age-group answer (:class:`~agegender.models.layers.FuseYears`), with the
    weight that maximises the validation log-likelihood of the age groups; ``(model, weight)``."""
    import keras

    from agegender.models.layers import FuseYears

    out = predict_all(model, X_val)
    has = y_age >= 0
    if has.sum() < 10:
        return model, 1.0
    age, years = np.asarray(out["age"], np.float64)[has], np.asarray(out["years"], np.float64)[has]
    grouped = years @ FuseYears().groups_of_years
    best_w, best = 1.0, -np.inf
    for w in np.linspace(0.0, 1.0, 21):
        logp = w * np.log(np.maximum(age, 1e-7)) + (1 - w) * np.log(np.maximum(grouped, 1e-7))
        logp -= logp.max(1, keepdims=True)
        ll = (logp[np.arange(len(logp)), y_age[has]] - np.log(np.exp(logp).sum(1))).mean()
        if ll > best + 1e-9:
            best_w, best = float(w), ll
    outputs = dict(model.output)
    outputs["age"] = FuseYears(best_w, name="age_with_years")([model.output["age"], model.output["years"]])
    return keras.Model(model.input, outputs, name=model.name), round(best_w, 3)


def choose_thresholds(cfg: Config, pa: np.ndarray, pg: np.ndarray, y_age: np.ndarray, y_gender: np.ndarray) -> labels.Thresholds:
    """Undefined thresholds on validation data: from the stated target accuracies where set
    (``train.target_*_accuracy``), else the most accurate ones keeping ``train.min_coverage`` answered."""
    t = evaluation.choose_thresholds(pa, pg, y_age, y_gender, cfg.train.min_coverage)
    age, gender = t.age, t.gender
    if cfg.train.target_age_accuracy > 0:
        age = evaluation.threshold_for_accuracy(pa, y_age, cfg.train.target_age_accuracy)
    if cfg.train.target_gender_accuracy > 0:
        gender = evaluation.threshold_for_accuracy(pg, y_gender, cfg.train.target_gender_accuracy)
    return labels.Thresholds(age, gender)


def years_mae(model, X: np.ndarray, age_years: np.ndarray) -> float | None:
    """Mean absolute error (years) of the years head's expected age, on rows with a known age."""
    known = ~np.isnan(age_years)
    if not known.any():
        return None
    out = predict_all(model, X[known])
    mean, _ = labels.years_summary(np.asarray(out["years"], dtype=np.float64))
    return float(np.abs(mean - np.minimum(age_years[known], 100)).mean())


def write_metadata(run_dir: Path, cfg: Config, data: LabelledFeatures, split: Split, thresholds: labels.Thresholds,
                   val: evaluation.Scores | None, test: evaluation.Scores | None, seconds: float, epochs: int,
                   calib: dict | None = None, extra: dict | None = None) -> dict:
    """The run's ``metadata.json`` (and its dict): what prediction, export and the reports read. ``extra``: more
    top-level entries (a joined model's sources)."""
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
        "thresholds": {"age": thresholds.age, "gender": thresholds.gender, "chosen_on": "validation",
                       "min_coverage": cfg.train.min_coverage, "target_age_accuracy": cfg.train.target_age_accuracy or None,
                       "target_gender_accuracy": cfg.train.target_gender_accuracy or None},
        "calibration": calib,
        "years_head": cfg.model.years_head,
        "training": {"manifest": cfg.data.manifest, "features": cfg.data.features, "views": cfg.data.views or None,
                     "protocol": split.protocol,
                     "leaky": split.leaky, "train": int(len(split.train)), "val": int(len(split.val)),
                     "test": int(len(split.test)), "train_sources": sources, "gap_ages": cfg.data.gap_ages,
                     "epochs": epochs, "seconds": round(seconds, 1)},
        "metrics": {"val": val.to_dict() if val else None, "test": test.to_dict() if test else None},
        "versions": {"agegender": __version__, "keras": keras.__version__, "backend": keras.backend.backend(),
                     "numpy": np.__version__},
        "licence": NON_COMMERCIAL,
        **(extra or {}),
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


