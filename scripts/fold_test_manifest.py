"""The test faces of one fold of a finished benchmark, as a manifest: faces its fold model never trained
on, to read through the whole photo path (``scripts/photo_conditions_study.py --model`` with the fold model
exported: ``agegender export BENCH/fold_K --format onnx --out DIR``).

The fold is made as the benchmark made it: its config's protocol, folds, seed and validation share, over
the manifest's rows that have features in every one of its feature files (the rows the benchmark saw; only
each file's row list is read, not its features). ``--min-years`` keeps the faces at least that old,
``--per-race N`` draws N faces of each race at random (seed 0; all of a race that has fewer).

    python scripts/fold_test_manifest.py BENCH --fold 0 --min-years 15 --per-race 150 --out fold0-adults.csv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agegender import manifest as mf
from agegender import splits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("benchmark", help="a benchmark folder (its report.json names the config, manifest and features)")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--min-years", type=float, help="only faces at least this old (their labelled years)")
    ap.add_argument("--per-race", type=int, help="at most N faces of each race, drawn at random")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    data = json.loads((Path(args.benchmark) / "report.json").read_text())["config"]["data"]
    if data["protocol"] != "utkface-a8":
        raise SystemExit(f"{args.benchmark}: protocol {data['protocol']!r}; this script makes utkface-a8 folds")
    m = mf.read(data["manifest"])
    rows = None
    for f in str(data["features"]).split(","):
        with np.load(f.strip(), allow_pickle=False) as z:
            rows = z["rows"] if rows is None else np.intersect1d(rows, z["rows"])
    records = [m.records[i] for i in np.sort(rows)]
    source = "utkface" if any(r.source == "utkface" for r in records) else None
    sp = splits.stratified_kfold(records, k=data["folds"], seed=data["seed"], val_fraction=data["val_fraction"],
                                 test_source=source)[args.fold]
    test = [records[i] for i in sp.test]
    if args.min_years is not None:
        test = [r for r in test if r.age_years is not None and r.age_years >= args.min_years]
    if args.per_race:
        rng = np.random.default_rng(0)
        keep = []
        for race in sorted({r.race or "" for r in test}):
            mine = [r for r in test if (r.race or "") == race]
            keep += [mine[i] for i in sorted(rng.choice(len(mine), min(args.per_race, len(mine)), replace=False))]
        test = keep
    out = mf.write(mf.Manifest(test, mf.DropLog(), [f"fold {args.fold} test faces of {args.benchmark}"]), args.out)
    print(f"{len(test)} test faces of fold {args.fold} → {out}")


if __name__ == "__main__":
    main()
