"""`agegender bench …`: speed and detection benchmarks that print their figures."""

from __future__ import annotations

from pathlib import Path

from agegender.cli.common import DETECTORS, CliError, bounded, default_photo, detect_size_arg, threads_arg
from agegender.detectors import RETINA_SCORE_THRESHOLD
from agegender.faces import LANDMARKS

#: ``bench detect``'s on/off/both choice for one of RetinaFace's passes → the settings it gets a row for.
PASS_ROWS = {"on": (True,), "off": (False,), "both": (False, True)}


def cmd_bench_speed(args) -> int:
    from agegender.bench import speed

    photo = args.photo or str(default_photo())
    for threads in args.threads:
        print(f"\n## per step, {threads} thread(s), photo {photo}")
        for name, ms in speed.step_timings(photo, threads=threads, repeat=args.repeat):
            print(f"  {ms:9.3f} ms  {name}")
        if args.folder:
            r = speed.folder_throughput(args.folder, extractor=args.extractor, detector=args.detector,
                                        threads=threads, limit=args.limit)
            print(f"  folder {r['folder']}: {r['faces']} faces of {r['images']} images in {r['seconds']:.1f} s = "
                  f"{r['faces_per_s']:.1f} faces/s (detector {r['detector']}, extractor {r['extractor']})")
    return 0


def cmd_bench_predict(args) -> int:
    from agegender.bench import speed

    photo = args.photo or str(default_photo())
    for threads in args.threads:
        print(f"\n## prediction, {threads} thread(s), model {args.model or 'built-in'}")
        for name, value in speed.predictor_timings(args.model, photo, args.folder, threads, args.repeat, args.limit,
                                                         args.workers, args.detect_size, args.landmarks, args.flip,
                                                         args.small_faces, args.steps):
            print(f"  {value:>14}  {name}")
    return 0


def cmd_bench_detect(args) -> int:
    from agegender.bench import detection

    rows = detection.run(args.faces, n_scenes=args.scenes, seed=args.seed, detectors=tuple(args.detectors), threads=args.threads,
                         max_sides=tuple(args.max_side) if args.max_side else (None,),
                         small_faces=PASS_ROWS[args.small_faces],
                         score_thresholds=tuple(args.score_threshold), turned=args.turned, faceless=args.faceless,
                         faceless_dir=args.faceless_from,
                         uprights=PASS_ROWS[args.upright], close_ups=PASS_ROWS[args.close_up], rescues=PASS_ROWS[args.rescue])
    print("| detector | scenes | faces | found | found rate | by pasted size (thirds of the range) | false positives | ms/image "
          "| doubted: found / false (ms/image) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        by_size = " / ".join(f"{t}: {'—' if v is None else f'{100 * v:.0f} %'}" for t, v in zip(r["size_thirds"], r["found_by_size"]))
        rate = "—" if r["found_rate"] is None else f"{100 * r['found_rate']:.1f} %"
        print(f"| {r['detector']} | {r['suite']} | {r['faces']} | {r['found']} | {rate} | {by_size or '—'} | "
              f"{r['false_positives']} | {r['ms_per_image']:.1f} | {r['found_doubted']} / {r['false_doubted']} "
              f"({r['ms_second_looks']:.1f}) |")
    return 0


def cmd_bench_load(args) -> int:
    from agegender.bench import load

    photo = args.photo or str(default_photo())

    def line(r: dict, workers: str) -> str:
        lat, busy = r["latency_ms"], r["busy_latency_ms"]
        errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "0"
        refusals = f"{busy['p99']:.0f}" if busy else "—"
        return (f"| {workers} | {r['clients']} | {r['seconds']:.0f} | {r['ok']} | {r['requests_per_s']:.1f} | {errors} | "
                f"{lat['p50']:.0f} / {lat['p90']:.0f} / {lat['p99']:.0f} | {refusals} |")

    print("| workers | clients | s | answered | answers/s | errors | latency ms p50 / p90 / p99 | 503 p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    if args.serve:
        bad = 0
        for w, r in load.matrix(photo, args.serve, args.clients, args.seconds, ("--fast",) if args.fast else ()):
            print(line(r, str(w)), flush=True)
            bad += sum(v for k, v in r["errors"].items() if k != "HTTP 503")
        return 0 if not bad else 1
    bad = 0
    for c in args.clients:
        r = load.run(args.url, photo, clients=c, seconds=args.seconds, max_requests=args.max_requests)
        print(line(r, "(running server)"), flush=True)
        bad += sum(v for k, v in r["errors"].items() if k != "HTTP 503")
    return 0 if not bad else 1


def cmd_bench_batch(args) -> int:
    from agegender.bench import batch
    from agegender.predictor import PredictorSpec

    spec = PredictorSpec(model=args.model, fast=args.fast)
    print("| folder | engine | images | faces | s | images/s | faces/s | peak MB per worker | worker memory (MB) at images |")
    print("|---|---|---|---|---|---|---|---|---|")
    for folder in args.folders:
        rows = [batch.local(folder, w, args.limit, spec) for w in args.workers]
        if args.ray:
            rows.append(batch.ray(folder, max(args.workers), args.limit, spec))
        for r in rows:
            mem = ", ".join(f"{v:g} @ {k:,}" for k, v in r.get("memory_mb_at", {}).items())
            print(f"| {folder} | {r['engine']} | {r['images']:,} | {r['faces']:,} | {r['seconds']} | {r['images_per_s']} | "
                  f"{r['faces_per_s']} | {r.get('peak_mb_per_worker', '—')} | {mem or '—'} |", flush=True)
    if args.stream:
        checkpoints = tuple(sorted({min(args.stream, 10_000), args.stream // 2, args.stream}))
        r = batch.local(args.folders[0], max(args.workers), args.stream, spec, checkpoints)
        mem = ", ".join(f"{v:g} MB @ {k:,}" for k, v in r["memory_mb_at"].items())
        print(f"\nlong stream: {r['images']:,} images ({args.folders[0]} repeated) with {r['engine']}: "
              f"{r['images_per_s']} images/s; worker memory {mem}; peak {r['peak_mb_per_worker']} MB", flush=True)
    return 0


def cmd_bench_scenes(args) -> int:
    from agegender.bench.detection import write_scenes

    w, h = args.size
    written = write_scenes(args.faces, args.out, n=args.n, seed=args.seed, size=(w, h))
    print(f"wrote {len(written)} photos ({w}x{h}, 1-5 faces of 80-320 px each) into {args.out}")
    return 0


def cmd_bench_age_check(args) -> int:
    from agegender import agecheck

    val, test = agecheck.fold_probabilities(args.benchmark, args.manifest, args.features)
    rows = agecheck.table(val, test)
    print(f"Age check on {args.benchmark}: thresholds chosen on the pooled validation parts (false over ≤ "
          f"{100 * agecheck.MAX_FALSE_OVER:g} %), rates on the pooled test folds ({len(test[1]):,} faces):\n")
    print(agecheck.markdown(rows))
    if args.write_model:
        path = _update_metadata(args.write_model, lambda meta: meta.update(
            age_check=agecheck.thresholds_for_metadata(val), age_check_table={"benchmark": str(args.benchmark), "rows": rows}))
        print(f"\nwrote the thresholds into {path}")
    return 0


def _update_metadata(model_dir: str, change) -> Path:
    """Apply ``change(meta)`` to a model folder's ``metadata.json`` (what --write-model does)."""
    import json

    path = Path(model_dir) / "metadata.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path


def cmd_bench_audit(args) -> int:
    """Possible label errors in a benchmark's data: each fold model's confident contradictions on its own
    test fold (faces it never trained on)."""
    import json

    from agegender import audit, manifest
    from agegender.benchmark import fold_predictions

    test = fold_predictions(args.benchmark, args.manifest, args.features, val=False)["test"]
    path = args.manifest or json.loads((Path(args.benchmark) / "report.json").read_text())["config"]["data"]["manifest"]
    by_key = {r.key: r for r in manifest.read(path).records}
    found = audit.disagreements([by_key[k] for k in test["key"]], test["age"], test["gender"], test["y_age"],
                                test["y_gender"], args.confidence)
    files = audit.write(found, args.out)
    print(f"{args.benchmark}: {len(found)} of {len(test['key']):,} test faces contradicted with ≥ {100 * args.confidence:.0f} % "
          f"by their fold's model ({audit.summary(found)})")
    print(f"wrote {files[0]} and {len(files) - 1} contact sheets")
    return 0


def cmd_bench_compare(args) -> int:
    """Candidates against a baseline on the folds each shares with it (from the reports; ``--faces``: also face by
    face, the fold models predicting their test faces again)."""
    import json

    from agegender import compare

    base = compare.load(args.baseline)
    results = [compare.paired(base, compare.load(c)) for c in args.candidates]
    by_face = compare.faces(args.baseline, args.candidates) if args.faces else []
    if args.json:
        print(json.dumps({"folds": compare.to_json(results), "faces": compare.faces_json(by_face)} if args.faces
                         else compare.to_json(results), indent=2))
    else:
        print(compare.markdown(base, results) + ("\n\n" + compare.faces_markdown(base.name, by_face) if by_face else ""))
    return 0


def cmd_bench_thresholds(args) -> int:
    from agegender import evaluation, fairness, labels
    from agegender.benchmark import fold_predictions

    parts = fold_predictions(args.benchmark, args.manifest, args.features)
    val, test = parts["val"], parts["test"]
    rules: list[tuple[str, object]] = [("as trained (each fold's own thresholds)", None)]
    for g in args.target_gender:
        for a in args.target_age:
            t = labels.Thresholds(evaluation.threshold_for_accuracy(val["age"], val["y_age"], a),
                                  evaluation.threshold_for_accuracy(val["gender"], val["y_gender"], g))
            rules.append((f"targets: gender {100 * g:g} %, age {100 * a:g} % on answered", t))
    for j in args.target_joint:
        t = evaluation.thresholds_for_joint_accuracy(val["age"], val["gender"], val["y_age"], val["y_gender"], j)
        rules.append((f"target: 2-hot answer right {100 * j:g} % of the time", t))
        joint = evaluation.joint_threshold_for_accuracy(val["age"], val["gender"], val["y_age"], val["y_gender"], j)
        rules.append((f"target: 2-hot answer right {100 * j:g} % of the time, one threshold on p(age) × p(gender)", joint))
    groups = fairness.groupings(test["y_age"], test["y_gender"], test["race"], test["age_low"])
    both = (test["y_age"] >= 0) & (test["y_gender"] >= 0)
    print(f"Undefined thresholds on {args.benchmark}: chosen on the pooled validation parts, measured on the pooled "
          f"test folds ({int(both.sum()):,} faces with both labels)\n")
    print("| rule | thresholds age / gender | answered | 2-hot right on answered | gender right on answered | "
          "answered: worst / best race group (15+) |")
    print("|---|---|---|---|---|---|")
    for name, t in rules:
        if t is None and name.startswith("target"):
            print(f"| {name} | not reachable on validation | — | — | — | — |")
            continue
        covered = ((test["age"] >= test["t_age"][:, None]).sum(1) == 1) & ((test["gender"] >= test["t_gender"][:, None]).sum(1) == 1) \
            if t is None else evaluation.covered(test["age"], test["gender"], t)
        m = fairness.group_metrics(test["age"][both], test["gender"][both], test["y_age"][both], test["y_gender"][both], covered[both])
        rep = fairness.breakdown(test["age"], test["gender"], test["y_age"], test["y_gender"],
                                 {"race, 15+": groups["race, 15+"]} if "race, 15+" in groups else {}, covered)
        spread = rep.get("race, 15+", {})
        wb = (f"{spread['worst']['coverage'][0]} {100 * spread['worst']['coverage'][1]:.1f} % / "
              f"{spread['best']['coverage'][0]} {100 * spread['best']['coverage'][1]:.1f} %") if spread.get("worst") else "—"
        shown = "each fold's" if t is None else f"{t.age:.3f} / {t.gender:.3f}" + (f" × ≥ {t.joint:.3f}" if t.joint else "")
        pct = {k: "—" if m[k] is None else f"{100 * m[k]:.1f} %" for k in ("coverage", "covered_joint", "covered_gender")}
        print(f"| {name} | {shown} | {pct['coverage']} | {pct['covered_joint']} | {pct['covered_gender']} | {wb} |")
    if args.write_model:
        if len(args.target_joint) != 1:
            raise CliError("--write-model writes the one-threshold rule of exactly one --target-joint")
        t = joint  # the one-threshold rule of that target, as printed above
        if t is None:
            raise CliError(f"--target-joint {args.target_joint[0]:g} is not reachable on the validation parts")
        path = _update_metadata(args.write_model, lambda meta: meta["thresholds"].update(
            age=t.age, gender=t.gender, joint=t.joint, target_joint_accuracy=args.target_joint[0], chosen_on="validation",
            chosen_by=f"agegender bench thresholds {args.benchmark}"))
        print(f"\nwrote thresholds {t.age:g} / {t.gender:g}, p(age) × p(gender) ≥ {t.joint:g} into {path}")
    return 0


def cmd_bench_fuzz(args) -> int:
    from agegender.bench import fuzz

    names = args.targets or [n for n in fuzz.targets()]
    unknown = set(names) - set(fuzz.targets())
    if unknown:
        raise CliError(f"unknown fuzz target(s) {', '.join(sorted(unknown))}; choose from {', '.join(fuzz.targets())}")
    if args.engine == "atheris":
        import importlib.util

        if importlib.util.find_spec("atheris") is None:
            raise CliError("the atheris engine needs the atheris wheel (pip install 'agegender[fuzz]')")
    print(f"fuzzing {len(names)} target(s), {args.inputs:,} inputs each"
          + (f" or {args.seconds:g} s" if args.seconds else "") + f", engine {args.engine}; a hang is > {fuzz.HANG_SECONDS:g} s",
          flush=True)
    print("| target | engine | inputs | crashes | hangs | documented errors | speed | peak memory |")
    print("|---|---|---|---|---|---|---|---|")
    bad = 0
    for name in names:
        (rep,) = fuzz.campaign([name], args.inputs, args.seconds, args.engine, args.out, args.seed)
        print(rep.row(), flush=True)
        bad += rep.crashes + rep.hangs
        for path in rep.saved[:3]:
            print(f"  saved: {path}", flush=True)
    return 1 if bad else 0


def _moved_data_args(p) -> None:
    """A benchmark folder records its manifest and feature files; these name them again where they moved."""
    p.add_argument("--manifest", help="the benchmark's manifest, if it moved")
    p.add_argument("--features", help="its feature files (comma-separated), if they moved")


def register(sub) -> None:
    b = sub.add_parser("bench", help="speed and detection benchmarks (print their figures)")
    bsub = b.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    bs = bsub.add_parser("speed", help="ms per face for decode, detection, alignment and each extractor")
    bs.add_argument("--photo", help="photo with one face (default: the bundled astronaut portrait)")
    bs.add_argument("--threads", type=threads_arg(), nargs="+", default=[1, 2])
    bs.add_argument("--repeat", type=bounded(1), default=20)
    bs.add_argument("--folder", help="also measure faces/s over this folder of images")
    bs.add_argument("--detector", choices=DETECTORS, default="aligned", help="detector for --folder")
    bs.add_argument("--extractor", default="agnet", help="extractor for --folder")
    bs.add_argument("--limit", type=bounded(1), default=500, help="images of --folder to use")
    bs.set_defaults(func=cmd_bench_speed)
    bp = bsub.add_parser("predict", help="prediction speed: model alone, end to end, faces/s, size; beside the peer")
    bp.add_argument("--model", help="model artifact folder (default: the built-in model)")
    bp.add_argument("--photo", help="photo with one face (default: the bundled astronaut portrait)")
    bp.add_argument("--folder", help="also measure faces/s over this folder of aligned face crops")
    bp.add_argument("--threads", type=threads_arg(), nargs="+", default=[1, 2])
    bp.add_argument("--repeat", type=bounded(1), default=20)
    bp.add_argument("--limit", type=bounded(1), default=300, help="images of --folder to use")
    bp.add_argument("--workers", type=bounded(1, 1024), default=2, help="processes for the --folder faces/s (also measured with 1)")
    bp.add_argument("--detect-size", type=detect_size_arg(), help="longer side the detector sees (default: 640 for RetinaFace)")
    bp.add_argument("--landmarks", choices=LANDMARKS, help="the photo's alignment (default: retina5, RetinaFace's own landmarks, as on the phone)")
    bp.add_argument("--flip", action="store_true", help="the photo with test-time flip (predict --flip)")
    bp.add_argument("--no-small-faces", dest="small_faces", action="store_false",
                    help="one detection pass on large photos (predict --no-small-faces)")
    bp.add_argument("--steps", action="store_true",
                    help="also the photo's time step by step: detection, each extractor's chips and network")
    bp.set_defaults(func=cmd_bench_predict)
    bl = bsub.add_parser("load", help="N concurrent clients against a running `agegender serve` (this machine only)")
    bl.add_argument("--url", default="http://127.0.0.1:8000", help="the server (loopback only; default: %(default)s)")
    bl.add_argument("--clients", type=bounded(1, 1000), nargs="+", default=[4], help="concurrent clients (several: one run each)")
    bl.add_argument("--serve", type=bounded(1, 64), nargs="+", metavar="WORKERS",
                    help="start `agegender serve --workers N` for each N itself (instead of --url) and load each")
    bl.add_argument("--fast", action="store_true", help="with --serve: the fast model")
    bl.add_argument("--seconds", type=bounded(0.1, 3600, float), default=60.0)
    bl.add_argument("--max-requests", type=bounded(1), default=10_000, help="stop after this many requests in all")
    bl.add_argument("--photo", help="image to send (default: the bundled astronaut portrait)")
    bl.set_defaults(func=cmd_bench_load)
    bb = bsub.add_parser("batch", help="batch throughput: 1 and N worker processes and local Ray; memory over a long stream",
                         description="images/s and faces/s of `agegender predict` jobs on each folder (repeated to --limit "
                         "images), each worker's peak memory, and with --stream N the workers' memory over N images.")
    bb.add_argument("folders", nargs="+", help="folders of images (e.g. ../shared/data/utkface/crop_part1)")
    bb.add_argument("--workers", type=bounded(1, 256), nargs="+", default=[1, 2], help="worker counts (default: 1 2)")
    bb.add_argument("--limit", type=bounded(1), default=2000, help="images per run (default: %(default)s)")
    bb.add_argument("--ray", action="store_true", help="also local Ray with the largest worker count as actors")
    bb.add_argument("--stream", type=bounded(1), help="then N images through the largest worker count, memory at 10k, N/2, N")
    bb.add_argument("--model", help="model folder (default: the built-in model)")
    bb.add_argument("--fast", action="store_true", help="the fast built-in model")
    bb.set_defaults(func=cmd_bench_batch)
    bs = bsub.add_parser("scenes", help="write a folder of larger photos made of real face crops (for bench batch)",
                         description="N photos, each 1-5 real faces pasted at 80-320 px onto a textured background: a folder "
                         "of photos rather than crops for `bench batch` (detection, several faces per image). Same seed, same photos.")
    bs.add_argument("faces", help="a folder of face crops (e.g. ../shared/data/utkface/crop_part1)")
    bs.add_argument("out", help="folder to write scene-NNNNN.jpg into")
    bs.add_argument("--n", type=bounded(1, 1_000_000), default=500, help="photos (default: %(default)s)")
    bs.add_argument("--size", type=bounded(64, 8192), nargs=2, default=[1280, 960], metavar=("W", "H"))
    bs.add_argument("--seed", type=int, default=0)
    bs.set_defaults(func=cmd_bench_scenes)
    ba = bsub.add_parser("age-check", help="the age check's error rates per minimum group, from a benchmark's fold models",
                         description="For every minimum age group: thresholds chosen on the folds' validation parts so that "
                         "at most 1 %% of people below are passed as over, then on the test folds: false over, and how many "
                         "people at or above are sent to show an ID. --write-model stores the thresholds in a model's metadata.")
    ba.add_argument("benchmark", help="a benchmark folder (agegender benchmark … --out DIR)")
    _moved_data_args(ba)
    ba.add_argument("--write-model", metavar="MODEL", help="write the thresholds into this model folder's metadata.json")
    ba.set_defaults(func=cmd_bench_age_check)
    bu = bsub.add_parser("audit", help="possible label errors: test faces a benchmark's fold models contradict with high confidence",
                         description="Each fold model on its own test fold: the faces whose label it contradicts with at least "
                         "--confidence (the other gender; an age group 2 or more away) → OUT/audit.csv and contact sheets to "
                         "look through. Nothing is relabelled.")
    bu.add_argument("benchmark", help="a benchmark folder")
    bu.add_argument("--out", required=True, help="folder for audit.csv and the contact sheets")
    bu.add_argument("--confidence", type=bounded(0.5, 0.9999, float), default=0.95)
    _moved_data_args(bu)
    bu.set_defaults(func=cmd_bench_audit)
    bc = bsub.add_parser("compare", help="candidate benchmarks against a baseline, fold by fold on the folds they share",
                         description="A paired comparison from the runs' report.json: each candidate against the baseline on "
                         "the folds both ran (a one-fold screen against the same fold of a 5-fold run), both means and the "
                         "difference per metric — headline figures, phone-like copies, children's gender, the 38-53 groups' "
                         "exact age — with the differences' spread and the folds the candidate was ahead on where they share several. "
                         "A run still going (no report.json yet) compares on its finished folds (fold_K/metadata.json), "
                         "without the phone-like copies, which are scored only when the report is written. "
                         "--faces adds a face-by-face test that one fold can judge: the faces only one run gets right, "
                         "and the exact McNemar p-value of that split.")
    bc.add_argument("baseline", help="the baseline's benchmark folder")
    bc.add_argument("candidates", nargs="+", help="candidate benchmark folders")
    bc.add_argument("--faces", action="store_true",
                    help="also compare face by face on the shared folds' test faces (loads the runs' manifest and "
                         "features, and their fold models predict again: a minute or two for the default's data)")
    bc.add_argument("--json", action="store_true", help="print JSON instead of Markdown tables (with --faces: "
                    '{"folds": …, "faces": …})')
    bc.set_defaults(func=cmd_bench_compare)
    bt = bsub.add_parser("thresholds", help="what each Undefined-threshold rule buys: coverage and accuracy, by group",
                         description="From a benchmark's fold models: thresholds chosen on the validation parts by stated "
                         "targets (per head, or for the whole 2-hot answer), measured on the test folds — answered share, "
                         "accuracy on answered faces, and the answered share of the worst and best race group.")
    bt.add_argument("benchmark", help="a benchmark folder")
    _moved_data_args(bt)
    bt.add_argument("--target-gender", type=bounded(0.5, 0.9999, float), nargs="*", default=[0.95, 0.97])
    bt.add_argument("--target-age", type=bounded(0.3, 0.9999, float), nargs="*", default=[0.8])
    bt.add_argument("--target-joint", type=bounded(0.1, 0.9999, float), nargs="*", default=[0.8, 0.85, 0.9])
    bt.add_argument("--write-model", metavar="MODEL_DIR", help="store the one-threshold rule (p(age) × p(gender), chosen "
                    "for the one --target-joint) in this model's metadata.json: the rule prediction then uses")
    bt.set_defaults(func=cmd_bench_thresholds)
    bf = bsub.add_parser("fuzz", help="fuzz the decoder, the upload endpoint, label parsers, configs and manifests",
                         description="Feed each target mutated inputs (or coverage-guided ones with atheris) and report "
                         "inputs tried, crashes, hangs (> 5 s) and peak memory per target; crashing inputs are saved in --out.")
    bf.add_argument("targets", nargs="*", help="targets (default: all): decoder, array, upload, adience, adience-lists, "
                    "utkface-name, extra-labels, config, manifest")
    bf.add_argument("--inputs", type=bounded(1), default=10_000, help="inputs per target (default: %(default)s)")
    bf.add_argument("--seconds", type=bounded(1, 86_400, float), help="or stop each target after this long")
    bf.add_argument("--engine", choices=("mutate", "atheris"), default="mutate")
    bf.add_argument("--out", help="folder for crashing and hanging inputs (default: none kept)")
    bf.add_argument("--seed", type=int, default=0)
    bf.set_defaults(func=cmd_bench_fuzz)
    bd = bsub.add_parser("detect", help="found-rate of each detector on scenes pasted from real face crops")
    bd.add_argument("faces", help="folder of face crops (e.g. ../shared/data/utkface/crop_part1)")
    bd.add_argument("--scenes", type=bounded(1), default=100)
    bd.add_argument("--seed", type=int, default=0)
    bd.add_argument("--detectors", nargs="+", choices=DETECTORS[:2], default=list(DETECTORS[:2]))
    bd.add_argument("--threads", type=threads_arg(), default=1)
    bd.add_argument("--max-side", type=detect_size_arg(), nargs="+", help="detect on copies scaled to these longer sides (default: "
                    "each detector's own: RetinaFace 640, HOG 1024)")
    bd.add_argument("--small-faces", choices=tuple(PASS_ROWS), default="on", help="RetinaFace's second pass for small "
                    "faces on photos over 3x the max side (over 1.5x when the first pass finds no face or a small one; default: on, as "
                    "predict and serve; both: a row for each)")
    bd.add_argument("--score-threshold", type=bounded(0.01, 0.99, float), nargs="+", default=[RETINA_SCORE_THRESHOLD], metavar="P",
                    help="RetinaFace's score thresholds, a row each (default: %(default)s, as predict and serve)")
    bd.add_argument("--turned", action="store_true", help="also each kind of scene turned by a random quarter turn, as a "
                    "photo whose EXIF orientation was lost")
    bd.add_argument("--faceless", action="store_true", help="also photos with no face (textured backgrounds at the "
                    "phone, messenger and web sizes and 800×600): the false faces found and what the searches cost")
    bd.add_argument("--faceless-from", metavar="DIR", help="also these photos that show no one (landscapes, objects, "
                    "documents), each scaled to the phone, messenger and web sizes and 800 px: the false faces found and what it costs")
    bd.add_argument("--upright", choices=tuple(PASS_ROWS), default="on", help="RetinaFace's upright pass for turned "
                    "faces (default: on, as predict and serve; both: a row for each)")
    bd.add_argument("--close-up", choices=tuple(PASS_ROWS), default="on", help="RetinaFace's close-up pass for faces "
                    "too large for its anchors (default: on, as predict and serve; both: a row for each)")
    bd.add_argument("--rescue", choices=tuple(PASS_ROWS), default="on", help="RetinaFace's second look at small faces "
                    "scored under its threshold (default: on, as predict and serve; both: a row for each)")
    bd.set_defaults(func=cmd_bench_detect)
