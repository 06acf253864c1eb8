"""`agegender faces` and `agegender features`: faces in images, features for manifests."""

from __future__ import annotations

import sys
from pathlib import Path

from agegender.cli.common import DETECTORS, bounded, threads_arg
from agegender.faces import LANDMARKS
from agegender.features.base import list_extractors


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
    from agegender.features.cache import compute_manifest_features

    m = mf.read(args.manifest)
    if args.root:
        m = m.with_root(args.root)
    if args.limit:
        m = mf.Manifest(m.records[: args.limit], m.drops)
    cache = args.cache or str(Path(args.out).with_suffix(".cache.sqlite"))
    fs = compute_manifest_features(m, args.extractor, args.detector, cache, workers=args.workers, threads=args.threads,
                                   batch_size=args.batch_size, progress=not args.quiet, landmarks=args.landmarks,
                                   mirror=args.mirror, upright=not args.no_upright, close_up=not args.no_close_up)
    out = fs.save(args.out, m)
    print(f"{len(fs.rows)} of {len(m)} images → {fs.features.shape[1]}-D {fs.extractor} features in {out} "
          f"({fs.cache_hits} from cache {cache}, {fs.computed} computed, {len(fs.failed)} failed)")
    for line in fs.failure_lines(args.show_failures, out):
        print(line)
    return 0 if len(fs.rows) else 1


def register(sub) -> None:
    f = sub.add_parser("faces", help="find faces and landmarks in images")
    f.add_argument("images", nargs="+", help="image files")
    f.add_argument("--detector", choices=DETECTORS, default="retinaface", help="face detector (default: %(default)s)")
    f.add_argument("--json", action="store_true", help="one JSON object per image")
    f.add_argument("--max-pixels", type=bounded(1, 2_000_000_000), default=50_000_000, help="refuse larger images (default: %(default)s)")
    f.add_argument("--threads", type=threads_arg(), default=1)
    f.set_defaults(func=cmd_faces)

    fe = sub.add_parser(
        "features",
        help="compute pretrained face features for a manifest (cached, resumable)",
        description="Compute features of the largest face in each manifest image. Results are cached by "
        "image content + extractor version + detector, so an interrupted run resumes where it stopped.",
    )
    fe.add_argument("manifest", help="manifest file (.csv or .parquet)")
    fe.add_argument("--extractor", required=True,
                    help=f"{', '.join(list_extractors())}, or a '+'-joined concatenation (docs/FACES.md)")
    fe.add_argument("--out", required=True, metavar="FILE", help="output .npz (features, rows, keys, failures)")
    fe.add_argument("--detector", choices=("auto", *DETECTORS), default="auto",
                    help="auto (default): each image looked at first — a face crop (its face covers ≥ 40 %% of it and "
                    "spans ≥ half its width and height) "
                    "is cut as 'aligned' with dlib's landmarks, as the built-in models' training crops were; a "
                    "photo (a loosely framed portrait, a scene) as prediction cuts photos (retinaface, retina5); "
                    "where RetinaFace finds no face: 'no face found'. "
                    "Or one way for all: 'aligned' (every image is a face crop), retinaface or hog (photos)")
    fe.add_argument("--landmarks", choices=LANDMARKS, default="dlib",
                    help="chip alignment with --detector retinaface/hog/aligned: dlib's shape predictor (default: how "
                    "the built-in models' training crops are aligned) or retina5 (RetinaFace's own 5 landmarks, how "
                    "prediction aligns photos, on the server and the phone; needs --detector retinaface)")
    fe.add_argument("--cache", metavar="FILE", help="SQLite cache (default: FILE with suffix .cache.sqlite)")
    fe.add_argument("--root", help="resolve manifest paths against this folder")
    fe.add_argument("--batch-size", type=bounded(1, 4096), default=32)
    fe.add_argument("--threads", type=threads_arg(), default=1)
    fe.add_argument("--workers", type=bounded(1, 1024), default=1,
                    help="processes sharing the cache (dlib runs on one core each: use the machine's core count)")
    fe.add_argument("--limit", type=bounded(0), default=0, help="only the first N manifest rows (0 = all)")
    fe.add_argument("--mirror", action="store_true",
                    help="features of each face's mirror image (its aligned chips flipped), as `predict --flip` adds them")
    fe.add_argument("--no-upright", action="store_true",
                    help="retinaface: without the upright pass for faces turned sideways or upside down (a study's "
                    "baseline; prediction always has it; docs/FACES.md)")
    fe.add_argument("--no-close-up", action="store_true",
                    help="retinaface: without the close-up pass for faces too large for its anchors (a study's "
                    "baseline; prediction always has it; docs/FACES.md)")
    fe.add_argument("--show-failures", type=bounded(0), default=10)
    fe.add_argument("--quiet", action="store_true", help="no progress bar")
    fe.set_defaults(func=cmd_features)
