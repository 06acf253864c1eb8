"""The ``agegender`` command line: a thin layer over the library (argparse subcommands)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agegender import __version__
from agegender.faces import DETECTORS


class CliError(Exception):
    """An error to print as one clear line (no traceback) with exit code 2."""


# --------------------------------------------------------------------------- data

def _finish_manifest(manifest, args) -> int:
    from agegender import manifest as mf

    print(mf.report(manifest, args.format))
    if getattr(args, "check_images", False):
        missing = manifest.check_images()
        print(f"images: {len(manifest) - len(missing)} found, {len(missing)} missing"
              + (f" (e.g. {missing[0].full_path})" if missing else ""))
    if args.out:
        out = mf.write(manifest, args.out)
        print(f"wrote {out} and {mf.summary_path(out)}")
    return 0


def cmd_data_adience(args) -> int:
    from agegender.datasets import adience

    m = adience.load(args.folds, mode=args.mode, layout=args.layout, images_root=args.images)
    code = _finish_manifest(m, args)
    if args.lists:
        print("\n".join(adience.compare_fold_lists(m, args.lists).lines()))
    return code


def cmd_data_utkface(args) -> int:
    from agegender.datasets import utkface

    return _finish_manifest(utkface.load(args.root), args)


def cmd_data_gender_folders(args) -> int:
    from agegender.datasets import gender_folders

    return _finish_manifest(gender_folders.load(args.root, source=args.source), args)


def cmd_data_adience_sample(args) -> int:
    from agegender.datasets import adience_sample

    info = adience_sample.build_tree(args.faces, args.out, n=args.n, per_user=args.per_user, seed=args.seed)
    print(f"wrote an Adience-format tree: {info['images']} images of {info['users']} users, per fold {info['folds']}, "
          f"in {info['root']} (aligned/, faces/, Folds/original_txt_files/)")
    return 0


def cmd_data_extra(args) -> int:
    from agegender.datasets import extra

    if args.data_command == "cfd":
        m = extra.load_cfd(args.root, workbook=args.workbook, age=args.age)
    elif args.data_command == "feret":
        m = extra.load_feret(args.root, resolution=args.resolution)
    elif args.data_command == "kdef":
        m = extra.load_kdef(args.root, frontal_only=args.frontal_only)
    elif args.data_command == "facetracer":
        m = extra.load_facetracer(args.root, args.images, coarse_age=args.coarse_age)
    else:
        m = extra.load_pal(args.root, labels_csv=args.labels, pattern=args.pattern)
    return _finish_manifest(m, args)


def cmd_data_merge(args) -> int:
    from agegender import manifest as mf

    m = mf.merge([mf.read(p) for p in args.manifests], names=args.manifests)
    return _finish_manifest(m, args)


def cmd_data_stats(args) -> int:
    from agegender import manifest as mf

    m = mf.read(args.manifest)
    if args.root:
        m = m.with_root(args.root)
    return _finish_manifest(m, args)


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", help="TOML config (see configs/); defaults for anything it leaves out")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. --set train.epochs=20")
    p.add_argument("--manifest", help="shortcut for --set data.manifest=…")
    p.add_argument("--features", help="shortcut for --set data.features=… (comma-separated .npz files)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")


def _add_manifest_output(p: argparse.ArgumentParser, check: bool = True) -> None:
    p.add_argument("--out", metavar="FILE", help="write the manifest here (.csv or .parquet) plus FILE.summary.json")
    p.add_argument("--format", choices=("text", "markdown", "csv"), default="text", help="breakdown table style")
    if check:
        p.add_argument("--check-images", action="store_true", help="report which image files exist and which are missing")


# --------------------------------------------------------------------------- faces and features

def cmd_faces(args) -> int:
    import json

    from agegender.faces import FacePipeline
    from agegender.imaging import ImageError, load_image

    pipe = FacePipeline(args.detector, threads=args.threads)
    ok = 0
    for path in args.images:
        try:
            image = load_image(path, max_pixels=args.max_pixels)
        except ImageError as e:
            print(f"agegender: skipped {e}", file=sys.stderr)
            continue
        ok += 1
        faces = pipe.faces(image)
        if args.json:
            print(json.dumps({"image": path, "faces": [f.to_dict() for f in faces]}))
            continue
        print(f"{path}: {len(faces)} face(s)" + ("" if faces else " (no face found)"))
        for i, f in enumerate(faces):
            x0, y0, x1, y1 = f.box
            print(f"  #{i + 1} box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) score {f.score:.3f}")
    print(f"{ok} of {len(args.images)} image(s) read", file=sys.stderr)
    return 0 if ok else 1


def cmd_features(args) -> int:
    from agegender import manifest as mf
    from agegender.faces import FacePipeline
    from agegender.features import get_extractor
    from agegender.features.cache import compute_features

    m = mf.read(args.manifest)
    if args.root:
        m = m.with_root(args.root)
    if args.limit:
        m = mf.Manifest(m.records[: args.limit], m.drops)
    ex = get_extractor(args.extractor, threads=args.threads)
    pipe = FacePipeline(args.detector, threads=args.threads)
    cache = args.cache or str(Path(args.out).with_suffix(".cache.sqlite"))
    fs = compute_features(m, ex, pipe, cache, batch_size=args.batch_size, progress=not args.quiet)
    out = fs.save(args.out, m)
    print(f"{len(fs.rows)} of {len(m)} images → {fs.features.shape[1]}-D {ex.name} features in {out} "
          f"({fs.cache_hits} from cache {cache}, {fs.computed} computed, {len(fs.failed)} failed)")
    for _i, why in list(fs.failed.items())[: args.show_failures]:
        print(f"  failed: {why}")
    if len(fs.failed) > args.show_failures:
        print(f"  … and {len(fs.failed) - args.show_failures} more (all listed in {out})")
    return 0 if len(fs.rows) else 1


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
        for name, value in speed.predictor_timings(args.model, photo, args.folder, threads, args.repeat, args.limit):
            print(f"  {value:>14}  {name}")
    return 0


def cmd_bench_detect(args) -> int:
    from agegender.bench import detection

    rows = detection.run(args.faces, n_scenes=args.scenes, seed=args.seed, detectors=tuple(args.detectors), threads=args.threads)
    print("| detector | scenes | faces | found | found rate | false positives | ms/image |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['detector']} | {r['suite']} | {r['faces']} | {r['found']} | {100 * r['found_rate']:.1f} % | "
              f"{r['false_positives']} | {r['ms_per_image']:.1f} |")
    return 0


# --------------------------------------------------------------------------- train / evaluate / benchmark

def _config(args):
    from agegender import config

    cfg = config.load(args.config, args.set)
    for key in ("manifest", "features", "protocol"):
        value = getattr(args, key, None)
        if value:
            setattr(cfg.data, key, value)
    return cfg


def cmd_train(args) -> int:
    from agegender import training, trainset

    cfg = _config(args)
    data = trainset.load(cfg.data.manifest, cfg.data.features, cfg.data.root or None)
    split = trainset.make_split(data, cfg.data.protocol, cfg.data.fold, cfg.data.folds, cfg.data.val_fraction, cfg.data.seed)
    print(split.describe())
    res = training.fit(cfg, data, split, args.out, resume=args.resume, progress=not args.quiet)
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

    from agegender import evaluation, labels, training, trainset

    model, meta = training.load_run(args.run)
    data = trainset.load(args.manifest, args.features, args.root)
    if data.X.shape[1] != meta["preprocessing"]["input_dim"]:
        raise CliError(f"{args.features}: {data.X.shape[1]} features, the model takes {meta['preprocessing']['input_dim']} "
                       f"({'+'.join(meta['preprocessing']['extractors'])})")
    t = labels.Thresholds(meta["thresholds"]["age"], meta["thresholds"]["gender"])
    sc = evaluation.score(*training.predict_probs(model, data.X, meta["output"]), data.y_age, data.y_gender, t)
    print(f"{len(data)} images: " + _scores_line(sc))
    if args.json:
        Path(args.json).write_text(json.dumps(sc.to_dict(), indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def cmd_benchmark(args) -> int:
    from agegender import benchmark

    cfg = _config(args)
    cfg.data.protocol = args.protocol
    folds = [int(f) for f in args.folds.split(",")] if args.folds else None
    report = benchmark.run(cfg, args.out, folds=folds, progress=not args.quiet)
    print(benchmark.markdown(report))
    print(f"\nreport: {Path(args.out) / 'report.md'}, {Path(args.out) / 'report.json'}, {Path(args.out) / 'confusion.png'}")
    return 0


# --------------------------------------------------------------------------- predict / export

CSV_FIELDS = ("source", "face", "x0", "y0", "x1", "y1", "score", "age_group", "gender", "undefined", "reason",
              "best_age_group", "best_gender", "p_age_best", "p_gender_best", "error")


def _csv_rows(res) -> list[dict]:
    if not res.ok or not res.faces:
        return [{"source": res.source, "face": "", "undefined": True,
                 "reason": "" if not res.ok else "no face found", "error": res.error or ""}]
    rows = []
    for i, fa in enumerate(res.faces, 1):
        d = fa.answer.to_dict()
        rows.append({"source": res.source, "face": i, **dict(zip(("x0", "y0", "x1", "y1"), (round(v, 1) for v in fa.face.box))),
                     "score": round(fa.face.score, 4), "age_group": d["age_group"] or "", "gender": d["gender"] or "",
                     "undefined": d["undefined"], "reason": d["reason"] or "", "best_age_group": d["best_age_group"],
                     "best_gender": d["best_gender"], "p_age_best": round(max(fa.answer.age_probs), 4),
                     "p_gender_best": round(max(fa.answer.gender_probs), 4), "error": ""})
    return rows


def cmd_predict(args) -> int:
    import csv
    import json

    from tqdm import tqdm

    from agegender import inputs
    from agegender.imaging import ImageError, load_image
    from agegender.predictor import ImageResult, Predictor

    kw = {"detector": args.detector, "threads": args.threads}
    pred = Predictor.load(args.model, **kw) if args.model else Predictor.default(**kw)
    items = inputs.expand(args.paths) if args.paths else []
    if not items and not args.webcam:
        raise CliError("nothing to predict: give image/video files, folders or globs, or --webcam")

    def stream():
        for it in items:
            if it.path is not None and inputs.is_video(it.path):
                yield from inputs.video_frames(it.path, every=args.every, fps=args.fps, limit=args.max_frames)
            else:
                yield it
        if args.webcam:
            yield from inputs.webcam_frames(count=args.max_frames or 10)

    annotate = Path(args.annotate) if args.annotate else None
    if annotate:
        annotate.mkdir(parents=True, exist_ok=True)
    writer = None
    if args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS)
        writer.writeheader()
    ok = failed = faces = undefined = 0
    bar = tqdm(stream(), desc="predict", unit="img", disable=args.quiet or len(items) < 2, file=sys.stderr)
    for it in bar:
        if it.error:
            res, image = ImageResult(it.source, error=it.error), None
        elif it.frame is not None:
            image = it.frame
            res = pred.predict_array(image, it.source, args.max_faces)
        else:
            try:
                image = load_image(it.path, name=it.source)
                res = pred.predict_array(image, it.source, args.max_faces)
            except ImageError as e:
                res, image = ImageResult(it.source, error=e.problem), None
        if res.ok:
            ok += 1
            faces += len(res.faces)
            undefined += sum(f.answer.undefined for f in res.faces)
        else:
            failed += 1
            print(f"agegender: skipped {res.source}: {res.error}", file=sys.stderr, flush=True)
        if args.json:
            print(json.dumps(res.to_dict()), flush=True)
        elif writer:
            writer.writerows(_csv_rows(res))
            sys.stdout.flush()
        elif res.ok:
            lines = [f"{res.source}: {res.summary}"]
            if len(res.faces) > 1:
                for i, fa in enumerate(res.faces, 1):
                    x0, y0, x1, y1 = fa.face.box
                    lines.append(f"  face {i} at ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}): {fa.answer.text}")
            print("\n".join(lines), flush=True)
        if annotate and image is not None:
            from agegender.annotate import draw

            name = Path(res.source.replace("#", "_").replace(":", "_").replace("@", "_")).name
            draw(image, res).save(annotate / f"{Path(name).stem}.annotated.jpg", quality=90)
    print(f"{ok} image(s) processed, {failed} skipped; {faces} face(s), {undefined} Undefined", file=sys.stderr)
    return 0 if ok else 1


def cmd_export(args) -> int:
    from agegender import export

    for fmt in args.format:
        target = export.export(args.run, fmt, args.out, metrics=args.metrics)
        print(f"wrote {target} ({target.stat().st_size / 1024:.1f} KiB)")
    diffs = export.check_agreement(args.run, args.out)
    for fmt, d in diffs.items():
        verdict = "agrees" if d <= export.TOLERANCE else "DISAGREES"
        print(f"{fmt}: max |Keras - {fmt}| = {d:.2e} on 64 inputs — {verdict} (tolerance {export.TOLERANCE:g})")
    return 0 if all(d <= export.TOLERANCE for d in diffs.values()) else 1


def default_photo() -> Path:
    """The bundled public-domain test photo (NASA astronaut portrait, from scikit-image)."""
    return Path(__file__).parent / "data" / "astronaut.jpg"


# --------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="agegender",
        description="Age group (8 Adience groups) and gender of faces, in one step.",
    )
    p.add_argument("--version", action="version", version=f"agegender {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    data = sub.add_parser("data", help="build and inspect unified dataset manifests")
    dsub = data.add_subparsers(dest="data_command", metavar="SOURCE", required=True)

    a = dsub.add_parser(
        "adience",
        help="Adience fold files → unified dataset",
        description="Read Adience fold_{0..4}_data.txt and build the unified dataset (strict: 16,156 images).",
    )
    a.add_argument("folds", help="folder holding fold_0_data.txt … fold_4_data.txt (or the download's Folds/)")
    a.add_argument("--mode", choices=("strict", "lenient"), default="strict",
                   help="strict: the 8 standard groups only (benchmark); lenient: also map odd age strings (training only)")
    a.add_argument("--layout", choices=("aligned", "faces"), default="aligned", help="which image layout the paths point to")
    a.add_argument("--images", metavar="ROOT", help="Adience image root holding aligned/ and faces/")
    a.add_argument("--lists", metavar="DIR", help="also read train_val_txt_files_per_fold and report disagreements")
    _add_manifest_output(a)
    a.set_defaults(func=cmd_data_adience)

    u = dsub.add_parser("utkface", help="UTKFace images (labels from file names) → manifest")
    u.add_argument("root", help="folder of UTKFace images (searched recursively)")
    _add_manifest_output(u)
    u.set_defaults(func=cmd_data_utkface)

    g = dsub.add_parser("gender-folders", help="<root>/male, <root>/female images (gender only) → manifest")
    g.add_argument("root", help="folder holding male/ and female/")
    g.add_argument("--source", help="source name stored in the manifest (default: the folder name)")
    _add_manifest_output(g)
    g.set_defaults(func=cmd_data_gender_folders)

    sa = dsub.add_parser("adience-sample", help="build an Adience-format tree from UTKFace-named face crops",
                         description="Write aligned/, faces/ (coarsely aligned copies) and Folds/ fold files in the "
                         "Adience download's layout, from labelled face crops: proves the Adience path without the download.")
    sa.add_argument("faces", help="folder of UTKFace-named crops (e.g. ../shared/data/utkface/crop_part1)")
    sa.add_argument("--out", required=True, help="folder to create")
    sa.add_argument("--n", type=int, default=500, help="number of faces (default: %(default)s)")
    sa.add_argument("--per-user", type=int, default=4, help="photos per synthetic user (default: %(default)s)")
    sa.add_argument("--seed", type=int, default=0)
    sa.set_defaults(func=cmd_data_adience_sample)

    c = dsub.add_parser("cfd", help="Chicago Face Database (norming-data workbook) → manifest")
    c.add_argument("root", help="the CFD folder (images + the '* Norming Data and Codebook.xlsx')")
    c.add_argument("--workbook", help="the norming-data workbook, if not found under root")
    c.add_argument("--age", choices=("auto", "self", "rated"), default="auto",
                   help="self-reported or raters' mean age (auto: self-reported where the sheet has it)")
    _add_manifest_output(c)
    c.set_defaults(func=cmd_data_extra)
    fr = dsub.add_parser("feret", help="Color FERET (ground_truths + image names) → manifest")
    fr.add_argument("root", help="the colorferet folder (dvd1/, dvd2/ with data/ground_truths and data/images)")
    fr.add_argument("--resolution", choices=("images", "smaller", "thumbnails"), default="images")
    _add_manifest_output(fr)
    fr.set_defaults(func=cmd_data_extra)
    kd = dsub.add_parser("kdef", help="KDEF (file-name codes; gender only) → manifest")
    kd.add_argument("root", help="the KDEF folder")
    kd.add_argument("--frontal-only", action="store_true", help="only the straight (S) angle")
    _add_manifest_output(kd)
    kd.set_defaults(func=cmd_data_extra)
    ft = dsub.add_parser("facetracer", help="FaceTracer (facelabels.txt + downloaded images) → manifest")
    ft.add_argument("root", help="facelabels.txt or the folder holding it")
    ft.add_argument("--images", required=True, help="folder of downloaded images named <face_id>.<ext>")
    ft.add_argument("--coarse-age", action="store_true", help="map baby → 0-2 and senior → 60+ (others: no age)")
    _add_manifest_output(ft)
    ft.set_defaults(func=cmd_data_extra)
    pa = dsub.add_parser("pal", help="PAL / Aging Mind faces (labels from a CSV or a file-name pattern) → manifest")
    pa.add_argument("root", help="the image folder")
    grp = pa.add_mutually_exclusive_group(required=True)
    grp.add_argument("--labels", help="CSV with columns file, age, gender")
    grp.add_argument("--pattern", help="regex with named groups age and gender, searched in each relative path")
    _add_manifest_output(pa)
    pa.set_defaults(func=cmd_data_extra)
    mg = dsub.add_parser("merge", help="merge manifests (de-duplicated) → one manifest")
    mg.add_argument("manifests", nargs="+", help="manifest files")
    _add_manifest_output(mg)
    mg.set_defaults(func=cmd_data_merge)

    s = dsub.add_parser("stats", help="breakdown table of a manifest")
    s.add_argument("manifest", help="a manifest file (.csv or .parquet)")
    s.add_argument("--root", help="resolve image paths against this folder (with --check-images)")
    _add_manifest_output(s)
    s.set_defaults(func=cmd_data_stats)

    f = sub.add_parser("faces", help="find faces and landmarks in images")
    f.add_argument("images", nargs="+", help="image files")
    f.add_argument("--detector", choices=DETECTORS, default="retinaface", help="face detector (default: %(default)s)")
    f.add_argument("--json", action="store_true", help="one JSON object per image")
    f.add_argument("--max-pixels", type=int, default=50_000_000, help="refuse larger images (default: %(default)s)")
    f.add_argument("--threads", type=int, default=1)
    f.set_defaults(func=cmd_faces)

    fe = sub.add_parser(
        "features",
        help="compute pretrained face features for a manifest (cached, resumable)",
        description="Compute features of the largest face in each manifest image. Results are cached by "
        "image content + extractor version + detector, so an interrupted run resumes where it stopped.",
    )
    fe.add_argument("manifest", help="manifest file (.csv or .parquet)")
    fe.add_argument("--extractor", required=True, help="pixels, dlib128, agnet, or a '+'-joined concatenation")
    fe.add_argument("--out", required=True, metavar="FILE", help="output .npz (features, rows, keys, failures)")
    fe.add_argument("--detector", choices=DETECTORS, default="aligned",
                    help="'aligned' (default) for images that are already face crops; retinaface/hog for photos")
    fe.add_argument("--cache", metavar="FILE", help="SQLite cache (default: FILE with suffix .cache.sqlite)")
    fe.add_argument("--root", help="resolve manifest paths against this folder")
    fe.add_argument("--batch-size", type=int, default=32)
    fe.add_argument("--threads", type=int, default=1)
    fe.add_argument("--limit", type=int, default=0, help="only the first N manifest rows (0 = all)")
    fe.add_argument("--show-failures", type=int, default=10)
    fe.add_argument("--quiet", action="store_true", help="no progress bar")
    fe.set_defaults(func=cmd_features)

    tr = sub.add_parser("train", help="train a model from a config file (TOML) → a run directory",
                        description="Train one model. Overrides: --set section.key=value (e.g. train.epochs=20).")
    _add_config_args(tr)
    tr.add_argument("--out", required=True, help="run directory to create")
    tr.add_argument("--resume", action="store_true", help="continue an interrupted run from its last finished epoch")
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="score a trained run on a manifest + features")
    ev.add_argument("run", help="run directory (from agegender train)")
    ev.add_argument("--manifest", required=True)
    ev.add_argument("--features", required=True, help="feature .npz file(s), comma-separated, as the model was trained on")
    ev.add_argument("--root", help="resolve manifest image paths against this folder")
    ev.add_argument("--json", metavar="FILE", help="also write the metrics as JSON")
    ev.set_defaults(func=cmd_evaluate)

    bm = sub.add_parser("benchmark", help="run a protocol (train + test per fold, peer beside), write a report",
                        description="Protocols: utkface-a8 (stratified 5-fold), adience-5fold (subject-exclusive "
                        "folds of the Adience fold files), random-split (the seed's leaky split).")
    bm.add_argument("protocol", choices=("utkface-a8", "adience-5fold", "random-split"))
    _add_config_args(bm)
    bm.add_argument("--out", required=True, help="benchmark folder (a run directory per fold + report)")
    bm.add_argument("--folds", help="only these folds, e.g. 0,1 (default: all)")
    bm.set_defaults(func=cmd_benchmark)

    pr = sub.add_parser("predict", help="age group and gender of every face in images, folders, globs, videos",
                        description="Predict with the built-in model (or --model DIR). Bad files are reported and "
                        "skipped; the exit code is non-zero only when nothing could be processed.")
    pr.add_argument("paths", nargs="*", help="image or video files, folders (searched recursively), glob patterns")
    pr.add_argument("--model", help="model artifact folder (metadata.json + model.onnx); default: the built-in model")
    pr.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    pr.add_argument("--csv", action="store_true", help="CSV, one row per face")
    pr.add_argument("--annotate", metavar="DIR", help="write copies with boxes and labels drawn into DIR")
    pr.add_argument("--detector", choices=DETECTORS, default="retinaface", help="face detector (default: %(default)s; "
                    "'aligned' for images that are already face crops)")
    pr.add_argument("--max-faces", type=int, default=None, help="only the N largest faces per image")
    pr.add_argument("--every", type=int, default=0, help="videos: every N-th frame")
    pr.add_argument("--fps", type=float, default=1.0, help="videos: frames per second to sample (default: %(default)s)")
    pr.add_argument("--max-frames", type=int, default=0, help="videos/webcam: stop after N frames (webcam default 10)")
    pr.add_argument("--webcam", action="store_true", help="also read frames from the first webcam")
    pr.add_argument("--threads", type=int, default=1)
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=cmd_predict)

    ex = sub.add_parser("export", help="export a trained run to ONNX and/or LiteRT, and check they agree with Keras")
    ex.add_argument("run", help="run directory (from agegender train)")
    ex.add_argument("--format", nargs="+", choices=("onnx", "litert"), default=["onnx"])
    ex.add_argument("--out", help="write here instead of into the run directory")
    ex.add_argument("--metrics", metavar="REPORT", help="a benchmark report.json whose summary is recorded in the metadata")
    ex.set_defaults(func=cmd_export)

    b = sub.add_parser("bench", help="speed and detection benchmarks (print their figures)")
    bsub = b.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    bs = bsub.add_parser("speed", help="ms per face for decode, detection, alignment and each extractor")
    bs.add_argument("--photo", help="photo with one face (default: the bundled astronaut portrait)")
    bs.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    bs.add_argument("--repeat", type=int, default=20)
    bs.add_argument("--folder", help="also measure faces/s over this folder of images")
    bs.add_argument("--detector", choices=DETECTORS, default="aligned", help="detector for --folder")
    bs.add_argument("--extractor", default="agnet", help="extractor for --folder")
    bs.add_argument("--limit", type=int, default=500, help="images of --folder to use")
    bs.set_defaults(func=cmd_bench_speed)
    bp = bsub.add_parser("predict", help="prediction speed: model alone, end to end, faces/s, size; beside the peer")
    bp.add_argument("--model", help="model artifact folder (default: the built-in model)")
    bp.add_argument("--photo", help="photo with one face (default: the bundled astronaut portrait)")
    bp.add_argument("--folder", help="also measure faces/s over this folder of aligned face crops")
    bp.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    bp.add_argument("--repeat", type=int, default=20)
    bp.add_argument("--limit", type=int, default=300, help="images of --folder to use")
    bp.set_defaults(func=cmd_bench_predict)
    bd = bsub.add_parser("detect", help="found-rate of each detector on scenes pasted from real face crops")
    bd.add_argument("faces", help="folder of face crops (e.g. ../shared/data/utkface/crop_part1)")
    bd.add_argument("--scenes", type=int, default=100)
    bd.add_argument("--seed", type=int, default=0)
    bd.add_argument("--detectors", nargs="+", choices=DETECTORS[:2], default=list(DETECTORS[:2]))
    bd.add_argument("--threads", type=int, default=1)
    bd.set_defaults(func=cmd_bench_detect)

    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, FileNotFoundError, FileExistsError, ValueError, OSError) as e:
        print(f"agegender: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agegender: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
