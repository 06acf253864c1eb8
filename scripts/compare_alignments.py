"""What a different face pipeline does to models trained on another: the cost of the in-browser path.

Takes the per-fold runs of a utkface-a8 benchmark (trained on one feature file) and scores each fold's
test images with features computed by other pipelines — e.g. the same ``agnet`` extractor after
RetinaFace + dlib alignment (the server on a photo) and after RetinaFace + its own landmarks
(``retina5``: the browser). Only test images every pipeline found a face in are scored, so the
columns are comparable. Prints mean ± std over folds and how often two pipelines give the same answer.

A pipeline's features may also come from copies of the test images in another manifest (``--copies
NAME=MANIFEST``, e.g. ``agegender data augment utk.csv 64px --shrink 64``): their rows stand for
their originals (each copy's subject), so the same faces are scored at another resolution.

    python scripts/compare_alignments.py WORK/a8-logreg-agnet --manifest WORK/utk.csv \\
        --train WORK/utk-agnet.npz aligned+dlib=WORK/utk-agnet.npz \\
        retinaface+dlib=WORK/utk-agnet-rf-dlib.npz retinaface+retina5=WORK/utk-agnet-rf-retina5.npz
    python scripts/compare_alignments.py WORK/A-r5views --manifest WORK/utk+aug.csv --train F1,F2,F3 \\
        200px=F1,F2,F3 64px=G1,G2,G3 --copies 64px=WORK/utk-64px.csv     # G*: features of utk-64px.csv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agegender import evaluation, labels, training, trainset
from agegender.cli.common import bounded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", type=Path, help="benchmark folder with fold_<k> runs (utkface-a8)")
    ap.add_argument("variants", nargs="+", metavar="NAME=FEATURES.npz")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--train", required=True, help="the feature file the runs were trained on (defines the folds)")
    ap.add_argument("--folds", type=bounded(2), default=5, help="the protocol's number of folds (a benchmark run with --folds 0 "
                    "still has 5: choose its fold with --only)")
    ap.add_argument("--only", type=lambda t: [int(x) for x in t.split(",")], metavar="K[,K]",
                    help="score only these folds (e.g. a benchmark run with --folds 0)")
    ap.add_argument("--copies", action="append", default=[], metavar="NAME=MANIFEST",
                    help="pipeline NAME's features were computed on MANIFEST, copies of the test images (matched by subject)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    base = trainset.load(args.manifest, args.train)
    copies = dict(spec.split("=", 1) for spec in args.copies)
    variants = {}
    for spec in args.variants:
        name, path = spec.split("=", 1)
        d = trainset.load(copies.get(name, args.manifest), path)
        variants[name] = (d, {(r.subject if name in copies else r.key): i for i, r in enumerate(d.records)})
    results: dict[str, list[dict]] = {n: [] for n in variants}
    agree: dict[str, list[float]] = {}
    for k in args.only if args.only is not None else range(args.folds):
        cfg = json.loads((args.bench / f"fold_{k}" / "config.json").read_text())["data"]
        split = trainset.make_split(base, "utkface-a8", k, args.folds, cfg["val_fraction"], cfg["seed"])
        keys = [base.records[i].key for i in split.test]
        keys = [key for key in keys if all(key in pos for _, pos in variants.values())]
        model, meta = training.load_run(args.bench / f"fold_{k}")
        thr = labels.Thresholds.from_metadata(meta)
        answers = {}
        for name, (d, pos) in variants.items():
            idx = np.array([pos[key] for key in keys])
            a, g = training.predict_probs(model, d.X[idx], meta["output"])
            sc = evaluation.score(a, g, d.y_age[idx], d.y_gender[idx], thr)
            results[name].append({"n": len(idx), "gender": sc.gender, "age_exact": sc.age_exact, "age_1off": sc.age_1off,
                                  "coverage": sc.coverage})
            answers[name] = [labels.decode(x, y, thr) for x, y in zip(a, g)]
        names = list(variants)
        for i, p in enumerate(names):
            for q in names[i + 1:]:
                same = np.mean([(u.age, u.gender, u.undefined) == (v.age, v.gender, v.undefined)
                                for u, v in zip(answers[p], answers[q])])
                agree.setdefault(f"{p} vs {q}", []).append(float(same))
        print(f"fold {k}: {len(keys)} test images found by every pipeline", flush=True)
    print(f"\n{'pipeline':28s} {'gender':>12s} {'age exact':>12s} {'age 1-off':>12s} {'defined':>9s}")
    summary = {}
    for name, rows in results.items():
        cols = {m: (100 * np.mean([r[m] for r in rows]), 100 * np.std([r[m] for r in rows]))
                for m in ("gender", "age_exact", "age_1off", "coverage")}
        summary[name] = cols
        print(f"{name:28s} " + " ".join(f"{cols[m][0]:6.1f} ± {cols[m][1]:3.1f}" for m in ("gender", "age_exact", "age_1off"))
              + f" {cols['coverage'][0]:8.1f}%")
    print()
    for pair, vals in agree.items():
        print(f"same answer, {pair}: {100 * np.mean(vals):.1f} %")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "agreement": {p: float(np.mean(v)) for p, v in agree.items()},
                                         "folds": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
