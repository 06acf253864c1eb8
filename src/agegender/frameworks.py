"""The benchmark for other frameworks: export a protocol's exact data and folds as a plain bundle, and
score another framework's predictions into the benchmark's own report.

The seed project's networks also ran in TFLearn and TensorFlow's DNNClassifier, which need TensorFlow
2.12 and cannot share this package's install (``scripts/seed-frameworks``). :func:`export_bundle`
writes what their runner needs — features, labels and each fold's train/validation/test rows, as
numpy files and JSON — and :func:`score_run` reads the predictions it wrote back and scores them with
:mod:`agegender.evaluation` (thresholds chosen on validation, as for every model), so one collector
builds one table across frameworks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from agegender import evaluation, trainset
from agegender.config import Config


def export_bundle(cfg: Config, out: str | Path, folds: list[int] | None = None) -> Path:
    """``X.npy`` (float32 features, unstandardised), ``y_age.npy``/``y_gender.npy`` (−1 = missing) and
    ``folds.json`` (the benchmark's rows per fold) for ``cfg``'s data and protocol."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = trainset.load_data(cfg.data)
    fold_list = []
    for k in folds if folds is not None else range(trainset.fold_count(cfg.data)):
        sp = trainset.split_of(data, cfg.data, k)
        fold_list.append({"fold": k, "train": sp.train.tolist(), "val": sp.val.tolist(), "test": sp.test.tolist(),
                          "describe": sp.describe()})
    np.save(out / "X.npy", data.X.astype(np.float32))
    np.save(out / "y_age.npy", data.y_age)
    np.save(out / "y_gender.npy", data.y_gender)
    (out / "folds.json").write_text(json.dumps({
        "protocol": cfg.data.protocol, "features": data.extractors, "dims": data.dims, "manifest": cfg.data.manifest,
        "feature_files": cfg.data.features, "min_coverage": cfg.train.min_coverage, "folds": fold_list}) + "\n")
    return out


def score_run(bundle: str | Path, run: str | Path, name: str | None = None) -> dict:
    """``report.json`` + ``report.md`` (the benchmark's format) in ``run`` from its ``runner.json`` and
    per-fold ``predictions.npz``, scored by this package."""
    from agegender.benchmark import markdown

    bundle, run = Path(bundle), Path(run)
    meta = json.loads((bundle / "folds.json").read_text())
    runner = json.loads((run / "runner.json").read_text())
    y_age, y_gender = np.load(bundle / "y_age.npy"), np.load(bundle / "y_gender.npy")
    folds = {f["fold"]: f for f in meta["folds"]}
    rows, scores = [], []
    t0 = time.perf_counter()
    for r in runner["folds"]:
        k = r["fold"]
        p = np.load(run / f"fold_{k}" / "predictions.npz")
        va, te = p["val_rows"], p["test_rows"]
        if va.tolist() != folds[k]["val"] or te.tolist() != folds[k]["test"]:
            raise ValueError(f"{run}/fold_{k}: predictions are not for the bundle's fold {k} rows")
        thresholds = evaluation.choose_thresholds(p["val_age"], p["val_gender"], y_age[va], y_gender[va], meta["min_coverage"])
        s = evaluation.score(p["test_age"], p["test_gender"], y_age[te], y_gender[te], thresholds)
        scores.append(s)
        rows.append({"fold": k, "train": len(folds[k]["train"]), "val": len(va), "test": len(te), "test_age_labelled": s.n_age,
                     "seconds": r["seconds"], "epochs": r["epochs"], "infer_ms_per_face": r["infer_ms_per_face"],
                     "thresholds": {"age": thresholds.age, "gender": thresholds.gender}, "ours": s.to_dict()})
    report = {
        "protocol": meta["protocol"], "leaky": meta["protocol"] == "random-split",
        "model": {"kind": f"{runner['impl']} seed {runner['preset']}", "hidden": runner["hidden"], "output": runner["output"],
                  "features": meta["features"]},
        "backend": runner["backend"],
        "data": {"manifest": meta["manifest"], "features": meta["feature_files"], "rows_with_features": int(len(y_age)),
                 "rows_with_age_group": int((y_age >= 0).sum()), "rows_with_gender": int((y_gender >= 0).sum())},
        "config": {"name": name or f"seed-{runner['preset']}-{runner['impl']}", "runner": runner},
        "folds": rows,
        "summary": {"ours": evaluation.summarize(scores), "peer": None},
        "train_seconds_total": round(sum(r["seconds"] for r in rows), 1),
        "infer_ms_per_face": round(float(np.mean([r["infer_ms_per_face"] for r in rows])), 4),
        "wall_seconds": round(sum(r["seconds"] for r in rows) + time.perf_counter() - t0, 1),
    }
    (run / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (run / "report.md").write_text(markdown(report) + "\n")
    return report
