"""`agegender predict`: answers for images, folders, globs, videos and a webcam."""

from __future__ import annotations

import sys
from pathlib import Path

from agegender.cli.common import CliError, add_predictor_args, bounded, load_predictor

CSV_FIELDS = ("source", "face", "x0", "y0", "x1", "y1", "score", "age_group", "gender", "undefined", "reason",
              "best_age_group", "best_gender", "p_age_best", "p_gender_best", "age_years", "age_years_spread", "error")


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
                     "p_gender_best": round(max(fa.answer.gender_probs), 4),
                     "age_years": "" if d["age_years"] is None else d["age_years"],
                     "age_years_spread": "" if d["age_years_spread"] is None else d["age_years_spread"], "error": ""})
    return rows


def cmd_predict(args) -> int:
    import csv
    import json

    from tqdm import tqdm

    from agegender import inputs
    from agegender.imaging import ImageError, load_image
    from agegender.predictor import ImageResult

    pred = load_predictor(args)
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

    def prepare(it):
        """An input item → (item, pixels or None, error or None)."""
        if it.error:
            return it, None, it.error
        if it.frame is not None:
            return it, it.frame, None
        try:
            return it, load_image(it.path, name=it.source), None
        except ImageError as e:
            return it, None, e.problem

    def answer(prepared):
        """The answers for a few decoded images, their faces in one batch, in input order."""
        good = [(it, image) for it, image, err in prepared if err is None]
        answers = pred.predict_many([image for _, image in good], max_faces=args.max_faces, names=[it.source for it, _ in good])
        for it, image, err in prepared:
            yield image, ImageResult(it.source, error=err) if err else next(answers)

    def answered():
        # up to 16 images (≤ 48 MP in all) share a batch; a webcam answers every frame at once
        prepared, pixels = [], 0
        for it in bar:
            prepared.append(prepare(it))
            image = prepared[-1][1]
            pixels += 0 if image is None else image.shape[0] * image.shape[1]
            if args.webcam or len(prepared) >= 16 or pixels >= 48_000_000:
                yield from answer(prepared)
                prepared, pixels = [], 0
        yield from answer(prepared)

    for image, res in answered():
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


def register(sub) -> None:
    pr = sub.add_parser("predict", help="age group and gender of every face in images, folders, globs, videos",
                        description="Predict with the built-in model (or --model DIR). Bad files are reported and "
                        "skipped; the exit code is non-zero only when nothing could be processed.")
    pr.add_argument("paths", nargs="*", help="image or video files, folders (searched recursively), glob patterns")
    add_predictor_args(pr, "the fast built-in model (agnet features only: ~2x faster, less accurate; docs/MODEL.md)")
    pr.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    pr.add_argument("--csv", action="store_true", help="CSV, one row per face")
    pr.add_argument("--annotate", metavar="DIR", help="write copies with boxes and labels drawn into DIR")
    pr.add_argument("--max-faces", type=bounded(1), default=None, help="only the N largest faces per image")
    pr.add_argument("--every", type=bounded(0), default=0, help="videos: every N-th frame")
    pr.add_argument("--fps", type=bounded(0.001, 1000, float), default=1.0, help="videos: frames per second to sample (default: %(default)s)")
    pr.add_argument("--max-frames", type=bounded(0), default=0, help="videos/webcam: stop after N frames (webcam default 10)")
    pr.add_argument("--webcam", action="store_true", help="also read frames from the first webcam")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.set_defaults(func=cmd_predict)
