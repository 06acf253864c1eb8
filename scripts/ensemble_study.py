"""Would an ensemble pay? Averages the fold models of finished benchmarks run on the same data and folds
(e.g. the same config with another ``train.seed``) — without retraining — and scores the average beside
each member, on the test faces, their phone-like copies and their views (``--views`` in the benchmark).

Every member's fold model answers for its own fold's rows (``agegender.benchmark.fold_predictions``);
the averaged answers get their own Undefined thresholds, chosen on the pooled averaged validation answers
(each member keeps the thresholds its folds chose). Only folds that every benchmark has are used.

Usage: python scripts/ensemble_study.py BENCH_A BENCH_B [BENCH_C …]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agegender import benchmark, evaluation

PARTS = (("test", "crops (the test faces)"), ("copies", "their phone-like copies"), ("views", "their views"))


def line(label: str, age: np.ndarray, gender: np.ndarray, part: dict, t_age: np.ndarray, t_gender: np.ndarray) -> str:
    sc = evaluation.score(age, gender, part["y_age"], part["y_gender"])
    covered = (age.max(1) >= t_age) & (gender.max(1) >= t_gender)
    both = covered & (part["y_age"] >= 0) & (part["y_gender"] >= 0)
    right = (age.argmax(1) == part["y_age"]) & (gender.argmax(1) == part["y_gender"])
    return (f"| {label} | {100 * sc.gender:.2f} | {100 * sc.age_exact:.2f} | {100 * sc.age_1off:.2f} | {100 * sc.joint:.2f} | "
            f"{100 * covered.mean():.1f} % | {100 * right[both].mean():.1f} % |")


def per_fold(age: np.ndarray, gender: np.ndarray, part: dict) -> dict[int, tuple[float, float, float]]:
    out = {}
    for k in np.unique(part["fold"]):
        m = part["fold"] == k
        sc = evaluation.score(age[m], gender[m], part["y_age"][m], part["y_gender"][m])
        out[int(k)] = (100 * sc.gender, 100 * sc.age_exact, 100 * sc.joint)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("benchmarks", nargs="+")
    args = ap.parse_args()
    folds = set.intersection(*({row["fold"] for row in json.loads((Path(b) / "report.json").read_text())["folds"]}
                               for b in args.benchmarks))
    preds = [benchmark.fold_predictions(b, folds=sorted(folds), copies=True) for b in args.benchmarks]
    same = {name for name in preds[0] if all(len(p[name]["y_age"]) == len(preds[0][name]["y_age"])
                                             and np.array_equal(p[name]["y_age"], preds[0][name]["y_age"]) for p in preds)}
    if not {"val", "test"} <= same:
        raise SystemExit("the benchmarks' validation or test rows differ: not the same data and folds")
    mean = {name: {h: np.mean([p[name][h] for p in preds], axis=0) for h in ("age", "gender")} for name in same}
    val = preds[0]["val"]
    chosen = evaluation.choose_thresholds(mean["val"]["age"], mean["val"]["gender"], val["y_age"], val["y_gender"])
    print(f"{' + '.join(args.benchmarks)}: folds {sorted(folds)}; the average's thresholds {chosen.age:.3f} / "
          f"{chosen.gender:.3f} (chosen on {len(val['y_age']):,} pooled averaged validation answers)\n")
    for name, title in PARTS:
        part = preds[0][name]
        if name not in same:
            print(f"{title}: not in every benchmark's data, left out\n")
            continue
        if not len(part["y_age"]):
            continue
        print(f"{title}: {len(part['y_age']):,} rows\n")
        print("| answers | gender | age exact | age 1-off | joint | answered | 2-hot right on answered |")
        print("|---|---|---|---|---|---|---|")
        for b, p in zip(args.benchmarks, preds):
            print(line(f"`{Path(b).name}` (its fold thresholds)", p[name]["age"], p[name]["gender"], p[name],
                       p[name]["t_age"], p[name]["t_gender"]))
        n = len(part["y_age"])
        print(line(f"the average of {len(preds)}", mean[name]["age"], mean[name]["gender"], part,
                   np.full(n, chosen.age), np.full(n, chosen.gender)))
        first, avg = per_fold(preds[0][name]["age"], preds[0][name]["gender"], part), per_fold(mean[name]["age"], mean[name]["gender"], part)
        print("\nper fold, the average minus the first: " + "; ".join(
            f"fold {k} gender {avg[k][0] - first[k][0]:+.2f} exact {avg[k][1] - first[k][1]:+.2f} joint {avg[k][2] - first[k][2]:+.2f}"
            for k in sorted(avg)) + "\n")


if __name__ == "__main__":
    main()
