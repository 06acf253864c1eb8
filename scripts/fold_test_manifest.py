"""The test faces of one fold of a finished benchmark, as a manifest: faces its fold model never trained
on, to read through the whole photo path (``scripts/photo_conditions_study.py --model`` with the fold model
exported: ``agegender export BENCH/fold_K --format onnx --out DIR``).

The fold is made as the benchmark made it: its config's protocol, folds, seed and validation share, over
the manifest's rows that have features in every one of its feature files (the rows the benchmark saw; only
each file's row list is read, not its features). ``--min-years`` keeps the faces at least that old,
``--per-race N`` draws N faces of each race at random (seed 0; all of a race that has fewer).

    python scripts/fold_test_manifest.py BENCH --fold 0 --min-years 15 --per-race 150 --out fold0-adults.csv

``--holdout MODEL_DIR --manifest utk.csv`` gives instead the faces a model trained on all data (``data.protocol
= "all"``: the built-in models) held out for validation — early stopping, temperatures and thresholds were
chosen on them, no weight was fitted to them, nor to their phone-like copies and views. They are drawn as
training drew them (``trainset.all_data_validation``: seed 0, 10 %, over the originals in the order of the manifest
training was given, which begins with utk.csv's rows), and checked against the counts in the model's
metadata (faces held out, faces with an age group):

    python scripts/fold_test_manifest.py --holdout src/agegender/data/model --manifest utk.csv --out holdout.csv

With ``--trained`` it gives the other originals: the faces that model was fitted to — to tell what a model cannot
learn (it errs on its own training faces too) from what it does not carry over to new ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agegender import manifest as mf
from agegender import splits, trainset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("benchmark", nargs="?", help="a benchmark folder (its report.json names the config, manifest and "
                    "features)")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--holdout", metavar="MODEL_DIR", help="instead: the validation faces of this model, trained on all "
                    "data (needs --manifest)")
    ap.add_argument("--manifest", help="with --holdout: the originals' manifest (agegender data utkface …)")
    ap.add_argument("--seed", type=int, default=0, help="with --holdout: the training's data.seed (default: %(default)s)")
    ap.add_argument("--trained", action="store_true", help="with --holdout: the originals the model trained on instead")
    ap.add_argument("--val-fraction", type=float, default=0.1, help="with --holdout: the training's data.val_fraction "
                    "(default: %(default)s)")
    ap.add_argument("--min-years", type=float, help="only faces at least this old (their labelled years)")
    ap.add_argument("--per-race", type=int, help="at most N faces of each race, drawn at random")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.holdout:
        test = _holdout(args)
        what = f"{'training' if args.trained else 'validation'} faces of {args.holdout}"
    elif args.benchmark:
        test, what = _fold_test(args), f"fold {args.fold} test faces of {args.benchmark}"
    else:
        ap.error("name a benchmark folder, or --holdout MODEL_DIR --manifest CSV")
    if args.min_years is not None:
        test = [r for r in test if r.age_years is not None and r.age_years >= args.min_years]
    if args.per_race:
        rng = np.random.default_rng(0)
        keep = []
        for race in sorted({r.race or "" for r in test}):
            mine = [r for r in test if (r.race or "") == race]
            keep += [mine[i] for i in sorted(rng.choice(len(mine), min(args.per_race, len(mine)), replace=False))]
        test = keep
    out = mf.write(mf.Manifest(test, mf.DropLog(), [what]), args.out)
    print(f"{len(test)} {what} → {out}")


def _holdout(args: argparse.Namespace) -> list[mf.Record]:
    """The originals a model trained on all data held out for validation (``--trained``: the others), checked
    against its metadata."""
    if not args.manifest:
        raise SystemExit("--holdout needs --manifest (the originals' manifest the model was trained from)")
    meta = json.loads((Path(args.holdout) / "metadata.json").read_text())
    training = meta.get("training", {})
    if not str(training.get("protocol", "")).startswith("all"):
        raise SystemExit(f"{args.holdout}: trained with protocol {training.get('protocol')!r}, not on all data")
    records = mf.read(args.manifest).records
    originals, val = trainset.all_data_validation(records, args.val_fraction, args.seed)
    held = [records[i] for i in val]
    n_age = meta.get("metrics", {}).get("val", {}).get("n_age")
    aged = sum(r.age_group is not None for r in held)
    if len(held) != training.get("val") or (n_age is not None and aged != n_age):
        raise SystemExit(f"{args.manifest}: {len(held)} faces held out ({aged} with an age group), the model's metadata "
                         f"says {training.get('val')} ({n_age}): not the manifest or the split it was trained with")
    return [records[i] for i in np.setdiff1d(originals, val)] if args.trained else held


def _fold_test(args: argparse.Namespace) -> list[mf.Record]:
    """The test faces of one fold of a finished utkface-a8 benchmark."""
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
    return [records[i] for i in sp.test]


if __name__ == "__main__":
    main()
