"""Accuracy by head turn (yaw): do faces turned away from the camera get wrong answers, or Undefined?

Ordinary photos show faces turned left or right far more often than a benchmark's aligned crops do. This
scores the utkface-a8 fold models on their test faces grouped by how far each face is turned, measured
from RetinaFace's five landmarks (the photo path's own): the nose's offset from the middle of the eyes,
along the eye line, in eye distances — about 0 for a frontal face, 0.3 and more for a face turned well
to one side (half profile; a full profile is rarely found with both eyes). Each fold model scores its own
test faces with the features it was trained on and its own thresholds (as `agegender benchmark` does).

    python scripts/pose_study.py WORK/A-r5views --manifest WORK/utk.csv --train F1,F2,F3 [--only 0] [--under crop_part1]

Caveat: in UTKFace the turn goes with other things (its 64 px part is more often turned than its 200 px
part, and babies are turned more often than adults): read a bin's figures beside its age mix.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agegender import evaluation, fairness, labels, training, trainset
from agegender.cli.common import bounded

#: Upper edges of the yaw bins (|nose offset| in eye distances); the last bin is open.
EDGES = (0.05, 0.1, 0.2, 0.3)


def yaw(landmarks: np.ndarray) -> float:
    """|the nose's offset from the eyes' middle, along the eye line| in eye distances (RetinaFace's order:
    eyes, nose, mouth corners)."""
    le, re, nose = landmarks[0], landmarks[1], landmarks[2]
    eye = re - le
    d = float(np.hypot(*eye))
    return abs(float(np.dot(nose - (le + re) / 2, eye / d)) / d) if d > 0 else float("nan")


def bin_of(y: float) -> str:
    if np.isnan(y):
        return "no face found"
    lo = 0.0
    for hi in EDGES:
        if y < hi:
            return f"{lo:.2f}–{hi:.2f}"
        lo = hi
    return f"≥ {lo:.2f}"


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def main() -> None:
    from agegender.faces import FacePipeline
    from agegender.imaging import load_image

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", type=Path, help="benchmark folder with fold_<k> runs (utkface-a8)")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--train", required=True, help="the feature file(s) the runs were trained on (the test faces' features)")
    ap.add_argument("--folds", type=bounded(2), default=5)
    ap.add_argument("--only", type=lambda t: [int(x) for x in t.split(",")], metavar="K[,K]", help="score only these folds")
    ap.add_argument("--under", metavar="FOLDER", help="only test faces whose path starts with this (e.g. crop_part1: "
                    "UTKFace's 200 px crops, where the landmarks are surer than on its 64 px ones)")
    ap.add_argument("--json", type=Path, help="also write the table here")
    args = ap.parse_args()

    data = trainset.load(args.manifest, args.train)
    pipe = FacePipeline("retinaface")
    probs_a, probs_g, covered, idx_all, yaws = [], [], [], [], []
    for k in args.only if args.only is not None else range(args.folds):
        run = args.bench / f"fold_{k}"
        cfg = json.loads((run / "config.json").read_text())["data"]
        split = trainset.make_split(data, "utkface-a8", k, args.folds, cfg["val_fraction"], cfg["seed"])
        model, meta = training.load_run(run)
        thr = labels.Thresholds.from_metadata(meta)
        test = np.array([i for i in split.test if data.records[i].path.startswith(args.under or "")], dtype=np.int64)
        a, g = training.predict_probs(model, data.X[test], meta["output"])
        probs_a.append(a)
        probs_g.append(g)
        covered.append(np.array([not labels.decode(x, y, thr).undefined for x, y in zip(a, g)]))
        idx_all.append(test)
        for i in test:
            r = data.records[i]
            found = pipe.faces(load_image(Path(r.root) / r.path))
            yaws.append(yaw(found[0].landmarks) if found else float("nan"))
        print(f"fold {k}: {len(test)} test faces", flush=True)
    a, g, cov, idx = np.concatenate(probs_a), np.concatenate(probs_g), np.concatenate(covered), np.concatenate(idx_all)
    bins = np.array([bin_of(y) for y in yaws], dtype=object)
    ya, yg = data.y_age[idx], data.y_gender[idx]
    years = data.age_years[idx]
    order = [bin_of(e - 1e-9) for e in EDGES] + [f"≥ {EDGES[-1]:.2f}", "no face found"]
    rows = {}
    print("\n| yaw (nose offset, eye distances) | faces | gender | age exact | age 1-off | answered | gender on answered "
          "| age on answered | gender, 15+ (answered) | children (< 15) | 64 px crops |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for b in order:
        m = bins == b
        if not m.any():
            continue
        gm = fairness.group_metrics(a[m], g[m], ya[m], yg[m], cov[m])
        small = np.mean([data.records[i].path.startswith("utkface64") for i in idx[m]])
        kids = np.nanmean(years[m] < 15) if np.isfinite(years[m]).any() else float("nan")
        adult = m & (years >= fairness.ADULT_YEARS)
        ga = fairness.group_metrics(a[adult], g[adult], ya[adult], yg[adult], cov[adult])
        rows[b] = gm | {"children": float(kids), "small_crops": float(small), "adults": ga}
        print(f"| {b} | {gm['n']} | {pct(gm['gender'])} | {pct(gm['age_exact'])} | {pct(gm['age_1off'])} | {pct(gm['coverage'])} "
              f"| {pct(gm['covered_gender'])} | {pct(gm['covered_age_exact'])} | {pct(ga['gender'])} ({pct(ga['coverage'])} %) "
              f"| {100 * kids:.0f} % | {100 * small:.0f} % |")
    overall = evaluation.score(a, g, ya, yg, None)
    print(f"\nall: {len(idx)} faces, gender {100 * overall.gender:.1f}, exact {100 * overall.age_exact:.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
