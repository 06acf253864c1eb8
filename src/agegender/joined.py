"""One model from two trained ones on the same features: the gender head of one, the age heads (group and
years) of the other.

Why: a layer only the age heads read (``model.age_hidden``) lifts 1-off on every fold, face by face beyond
chance, but can cost the babies' gender — the gender head learns better beside age heads that read the shared
layer directly. Trained apart and joined, each answer comes from the network that gives it best. (On the
default's recipe the joined model was no better over five folds: docs/BENCHMARKS.md; the tool stays for the
next such pair.) Both read the same feature vector, so the joined model is still one artifact with one
preprocessing path; it costs a second head's time (beside ~20 ms of features) and twice the head's size
(docs/BENCHMARKS.md). The temperatures come with each head; the Undefined thresholds are chosen again on validation
data, for the joined answers, by the age run's rule.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from agegender import evaluation, labels, trainset
from agegender.config import Config
from agegender.splits import Split


def join_models(gender_model, age_model):
    """A Keras model whose ``gender`` output is ``gender_model``'s and whose ``age`` (and ``years``) are ``age_model``'s."""
    import keras

    inp = keras.Input(gender_model.input_shape[1:], name="features")
    gender_net = keras.Model(gender_model.input, gender_model.output, name="gender_net")
    age_net = keras.Model(age_model.input, age_model.output, name="age_net")
    g, a = gender_net(inp), age_net(inp)
    out = {"age": a["age"], "gender": g["gender"], **({"years": a["years"]} if "years" in a else {})}
    return keras.Model(inp, out, name="agegender_joined")


def _same_inputs(gender_meta: dict, age_meta: dict, where: str) -> None:
    for key in ("extractors", "dims", "settings", "input_dim", "standardized_in_model"):
        g, a = gender_meta["preprocessing"].get(key), age_meta["preprocessing"].get(key)
        if g != a:
            raise ValueError(f"{where}: the two models read different features ({key}: {g!r} vs {a!r}); "
                             f"only models trained on the same feature files can be joined")
    for meta, part in ((gender_meta, "gender"), (age_meta, "age")):
        if meta.get("output") != "two_hot":
            raise ValueError(f"{where}: the {part} model has no separate {part} head (output {meta.get('output')!r})")


def join_run(gender_dir: str | Path, age_dir: str | Path, out_dir: str | Path, cfg: Config,
             data: trainset.LabelledFeatures, split: Split) -> dict:
    """Join two finished runs into ``out_dir`` (a run like any other: model.keras, metadata.json, config.json —
    the age run's). ``cfg``, ``data`` and ``split``: the age run's settings, data and split, whose validation
    part chooses the thresholds and whose test part is scored. Returns the metadata written."""
    from agegender import training

    gender_dir, age_dir, out_dir = Path(gender_dir), Path(age_dir), Path(out_dir)
    g_model, g_meta = training.load_run(gender_dir)
    a_model, a_meta = training.load_run(age_dir)
    _same_inputs(g_meta, a_meta, f"{gender_dir} + {age_dir}")
    model = join_models(g_model, a_model)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / training.MODEL_FILE)
    shutil.copyfile(age_dir / "config.json", out_dir / "config.json")
    va, te = split.val, split.test
    thresholds, val = labels.Thresholds(), None
    if len(va):
        pa, pg = training.predict_probs(model, data.X[va], "two_hot")
        thresholds = training.choose_thresholds(cfg, pa, pg, data.y_age[va], data.y_gender[va])
        val = evaluation.score(pa, pg, data.y_age[va], data.y_gender[va], thresholds)
    test = training.score_test(model, cfg, data, te, thresholds)[2] if len(te) else None
    calib = {**(a_meta.get("calibration") or {}), "gender": (g_meta.get("calibration") or {}).get("gender")}
    seconds = g_meta["training"]["seconds"] + a_meta["training"]["seconds"]
    return training.write_metadata(out_dir, cfg, data, split, thresholds, val, test, seconds,
                                   int(a_meta["training"]["epochs"]), calib,
                                   extra={"joined": {"gender": str(gender_dir), "age": str(age_dir)}})


def join_benchmark(gender_bench: str | Path, age_bench: str | Path, out: str | Path, progress: bool = True) -> dict:
    """Join two benchmarks fold by fold (the folds both finished) and score the joined fold models as a
    benchmark of their own — ``out/report.json`` with every breakdown ``agegender benchmark`` writes. Both
    must have run the same protocol on the same data."""
    from agegender import benchmark

    g_cfg, g_folds = benchmark.finished_folds(gender_bench)
    a_cfg, a_folds = benchmark.finished_folds(age_bench)
    for key in ("manifest", "features", "views", "root", "protocol", "folds", "val_fraction", "seed", "test_on",
                "train_on_copies", "gap_ages"):
        g, a = getattr(g_cfg.data, key), getattr(a_cfg.data, key)
        if g != a:
            raise ValueError(f"{gender_bench} and {age_bench} ran on other data or splits (data.{key}: {g!r} vs {a!r})")
    folds = sorted({r["fold"] for r in g_folds} & {r["fold"] for r in a_folds})
    if not folds:
        raise ValueError(f"{gender_bench} and {age_bench} share no finished fold")
    d = a_cfg.data
    data = trainset.load_data(d)
    out = Path(out)
    for k in folds:
        split = trainset.split_of(data, d, k)
        fold_cfg = replace(a_cfg, data=replace(d, fold=k))
        join_run(Path(gender_bench) / f"fold_{k}", Path(age_bench) / f"fold_{k}", out / f"fold_{k}", fold_cfg, data, split)
        if progress:
            print(f"fold {k}: joined", flush=True)
    report = benchmark.run(a_cfg, out, folds=folds, progress=progress, data=data)
    report["joined"] = {"gender": str(gender_bench), "age": str(age_bench)}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def is_benchmark(folder: str | Path) -> bool:
    """A benchmark folder (fold_K runs) rather than a single run (metadata.json)."""
    folder = Path(folder)
    return not (folder / "metadata.json").is_file() and any(folder.glob("fold_*/metadata.json"))
