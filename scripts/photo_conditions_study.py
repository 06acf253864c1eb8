"""How does the shipped model fare in the conditions of ordinary photos — and does it say Undefined rather
than guess when a condition takes the face away? Faces never trained on (CelebA's gender crops), each put
into a photo in one condition at a time and read through the whole photo path (detection, alignment,
features, model, the Undefined rule):

- reference: the face 160 px wide in a 480×480 photo;
- small faces: 40, 28 and 20 px wide in a 640×480 photo (what the messenger pass finds in a group);
- cut by the photo's edge: 25 % or 40 % of the face outside the top, the bottom or the left;
- low light (brightness × 0.3 and sensor noise), backlit (the face darkened before a bright window),
  out of focus (blur), heavy JPEG (quality 10), a head tilted 30°;
- colour and exposure: black and white, a sepia print, a white balance gone wrong (tungsten's orange,
  shade's blue, fluorescent green), overexposed, faded (low contrast); a phone's beauty filter (skin
  smoothed), camera shake (motion blur);
- sunglasses or a face mask drawn on the face (``agegender.augment.occlude``, as `data augment --occlude`
  draws them), the face 160 or 80 px wide (a crop whose face RetinaFace does not find gets none: the row
  counts the faces masked).

Prints a table: faces found, gender of the best guess (answered or not), faces answered, and gender right
on the answered ones (and the age group's best guess where the manifest labels ages); how many of the faces found the detector scored under ``--face-bar`` (what a plain bar
on its score would turn Undefined) with the gender of their best guess — to weigh such a bar against the
false faces found on pictures of things — and how many the product's second look doubts (answered "not sure
it is a face": detectors.DOUBT_SCORE; docs/FACES.md). Gender only (the crops carry no age); the answer counted as answered is the whole
2-hot one, as the CLI and the page give it.

    agegender data gender-folders ../shared/data/celeba-gender --out celeba.csv
    python scripts/photo_conditions_study.py celeba.csv [--n 300] [--seed 5] [--model MODEL_DIR] [--face-bar 0.75]

``--by race`` adds a table per group of the manifest's ``race`` column (is a condition harder for some
people than for others?), ``--by age`` one per labelled age group; ``--conditions low,backlit`` keeps the
conditions whose names contain one of the words. A fold model of a benchmark (``agegender export RUN/fold_K
--format onnx --out DIR``) on its own test faces (``scripts/fold_test_manifest.py``) reads faces it never trained
on, with their age and race labels; so does the built-in model on the faces it held out for validation
(``scripts/fold_test_manifest.py --holdout``). Where the labels give ages: the age group's best guess, the age
group right on the faces answered, and the estimated years' mean error (estimate − label: negative = read as
younger) and mean absolute error.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from agegender import augment, labels
from agegender import manifest as mf

BACKGROUND = (120, 118, 110)


def _photo(face: Image.Image, width: int, size: tuple[int, int] = (480, 480), at: tuple[int, int] | None = None) -> Image.Image:
    """``face`` scaled to ``width`` px wide and pasted at ``at`` (default: the middle) of a plain photo."""
    face = face.resize((width, round(face.height * width / face.width)), Image.BICUBIC)
    canvas = Image.new("RGB", size, BACKGROUND)
    canvas.paste(face, at or ((size[0] - face.width) // 2, (size[1] - face.height) // 2))
    return canvas


def _cut(edge: str, share: float) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    """The face (160 px) with ``share`` of it outside the photo's ``edge``."""
    def make(face: Image.Image, rng: np.random.Generator) -> Image.Image:
        f = face.resize((160, round(face.height * 160 / face.width)), Image.BICUBIC)
        at = {"top": (160, -round(share * f.height)), "bottom": (160, 480 - round((1 - share) * f.height)),
              "left": (-round(share * f.width), 160)}[edge]
        return _photo(face, 160, at=at)
    return make


def _noisy(im: Image.Image, rng: np.random.Generator, sigma: float) -> Image.Image:
    a = np.asarray(im).astype(np.float32) + rng.normal(0, sigma, (im.height, im.width, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _backlit(face: Image.Image, rng: np.random.Generator) -> Image.Image:
    f = ImageEnhance.Brightness(face.resize((160, round(face.height * 160 / face.width)), Image.BICUBIC)).enhance(0.45)
    canvas = Image.new("RGB", (480, 480), (245, 245, 240))
    canvas.paste(f, (160, 160))
    return canvas


def _covered(kind: str, width: int) -> Callable[[Image.Image, np.random.Generator], Image.Image | None]:
    """The face behind sunglasses or a face mask, ``width`` px wide in the reference photo (None: no face to
    cover)."""
    def make(face: Image.Image, rng: np.random.Generator) -> Image.Image | None:
        covered = augment.occlude(face, kind, rng)
        return None if covered is None else _photo(covered, width)
    return make


def _cast(gains: tuple[float, float, float]) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    """The reference photo with its red, green and blue scaled (a white balance gone wrong)."""
    def make(face: Image.Image, rng: np.random.Generator) -> Image.Image:
        a = np.asarray(_photo(face, 160)).astype(np.float32) * np.asarray(gains, np.float32)
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return make


def _sepia(face: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The reference photo as an old brown-toned print."""
    g = np.asarray(_photo(face, 160).convert("L")).astype(np.float32)
    return Image.fromarray(np.clip(np.stack([g * 1.07 + 20, g * 0.87 + 10, g * 0.62], -1), 0, 255).astype(np.uint8))


def _jpeg(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


CONDITIONS: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image | None]] = {
    "reference: face 160 px, 480×480 photo": lambda f, r: _photo(f, 160),
    "small: face 40 px, 640×480 photo": lambda f, r: _photo(f, 40, (640, 480)),
    "small: face 28 px": lambda f, r: _photo(f, 28, (640, 480)),
    "small: face 20 px": lambda f, r: _photo(f, 20, (640, 480)),
    "small, the photo on its side (EXIF lost): face 40 px": lambda f, r: _photo(f, 40, (640, 480)).transpose(Image.ROTATE_90),
    "small, the photo upside down (EXIF lost): face 28 px": lambda f, r: _photo(f, 28, (640, 480)).transpose(Image.ROTATE_180),
    "cut by the top edge, 25 % outside": _cut("top", 0.25),
    "cut by the top edge, 40 % outside": _cut("top", 0.4),
    "cut by the bottom edge, 25 % outside": _cut("bottom", 0.25),
    "cut by the bottom edge, 40 % outside": _cut("bottom", 0.4),
    "cut by the left edge, 40 % outside": _cut("left", 0.4),
    "low light: brightness × 0.3, noise σ 8": lambda f, r: _noisy(ImageEnhance.Brightness(_photo(f, 160)).enhance(0.3), r, 8),
    "backlit: face × 0.45 before a bright window": _backlit,
    "out of focus: blur radius 2.5": lambda f, r: _photo(f, 160).filter(ImageFilter.GaussianBlur(2.5)),
    "heavy JPEG: quality 10": lambda f, r: _jpeg(_photo(f, 160), 10),
    "black and white photo": lambda f, r: augment.grayscale(_photo(f, 160)),
    "sepia print": _sepia,
    "warm light (tungsten, white balance off): R × 1.2, B × 0.6": _cast((1.2, 1.0, 0.6)),
    "cool light (shade, white balance off): R × 0.75, B × 1.2": _cast((0.75, 0.95, 1.2)),
    "green cast (fluorescent): G × 1.1, R and B × 0.85": _cast((0.85, 1.1, 0.85)),
    "overexposed: brightness × 1.8": lambda f, r: augment.overexpose(_photo(f, 160), 1.8),
    "faded: contrast × 0.45": lambda f, r: ImageEnhance.Contrast(_photo(f, 160)).enhance(0.45),
    "beauty filter: skin smoothed, brightness × 1.08": lambda f, r: augment.beauty(_photo(f, 160), 160),
    "camera shake: motion blur 9 px": lambda f, r: augment.shake(_photo(f, 160), 9),
    "head tilted 30°": lambda f, r: _photo(f, 160).rotate(30, resample=Image.BICUBIC, fillcolor=BACKGROUND),
    "sunglasses, face 160 px": _covered("glasses", 160),
    "face mask, face 160 px": _covered("mask", 160),
    "face mask, face 80 px": _covered("mask", 80),
}


def _read(pred, make, rec, rng: np.random.Generator, face_bar: float) -> dict | None:
    """One face in one condition through the whole photo path: what was found and answered (None: nothing to
    make, e.g. no face to cover)."""
    from agegender.imaging import load_image

    photo = make(Image.fromarray(load_image(rec.full_path)), rng)
    if photo is None:
        return None
    result = pred.predict_array(np.asarray(photo))
    out = {"rec": rec, "found": bool(result.faces)}
    if result.faces:
        face = result.faces[0]  # the largest face: the pasted one
        answer = face.answer
        out |= {"guessed": answer.best_gender == rec.gender, "answered": not answer.undefined,
                "right": answer.gender == rec.gender, "under": face.face.score < face_bar,
                "age": None if rec.age_group is None else answer.best_age == rec.age_group,
                "age_right": answer.age == rec.age_group,
                "years": None if rec.age_years is None or answer.years is None else answer.years - rec.age_years,
                "doubted": face.face.doubt is not None,
                "would": face.face.doubt is not None and not labels.decode(answer.age_probs, answer.gender_probs,
                                                                           pred.thresholds).undefined}
    return out


def _tally(done: list[dict]) -> dict[str, str]:
    """A table row's cells from :func:`_read`'s results."""
    pct = lambda a, b: f"{100 * a / b:.1f} %" if b else "—"  # noqa: E731
    f = [d for d in done if d["found"]]
    answered = [d for d in f if d["answered"]]
    under = [d for d in f if d["under"]]
    aged = [d for d in f if d["age"] is not None]
    off = np.array([d["years"] for d in f if d.get("years") is not None])
    doubted = [d for d in f if d["doubted"]]
    would = [d for d in doubted if d["would"]]
    return {"made": str(len(done)), "found": str(len(f)), "found_n": f"{len(f)}/{len(done)}",
            "guessed": pct(sum(d["guessed"] for d in f), len(f)), "answered": pct(len(answered), len(f)),
            "right": pct(sum(d["right"] for d in answered), len(answered)),
            "age": pct(sum(d["age"] for d in aged), len(aged)),
            "age_right": pct(sum(d["age_right"] for d in aged if d["answered"]), sum(d["answered"] for d in aged)),
            "years": f"{off.mean():+.1f} ({np.abs(off).mean():.1f})" if len(off) else "—",
            "years_mean": f"{off.mean():+.1f}" if len(off) else "—",
            "under": f"{len(under)} ({sum(d['answered'] for d in under)})",
            "under_right": pct(sum(d["guessed"] for d in under), len(under)),
            "doubted": f"{len(doubted)} ({len(would)}, {pct(sum(d['guessed'] for d in would), len(would))})"}


def _grouping(by: str) -> Callable[[mf.Record], str | None]:
    """A record's group for ``--by``: its race label, or its age group's name."""
    if by == "race":
        return lambda r: r.race
    return lambda r: None if r.age_group is None else labels.AGE_GROUPS[r.age_group]


def main() -> None:
    from agegender.predictor import Predictor

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest", help="a manifest with gender labels (agegender data gender-folders …)")
    ap.add_argument("--n", type=int, default=300, help="faces drawn at random (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--model", help="a model folder (default: the built-in model)")
    ap.add_argument("--face-bar", type=float, default=0.75, help="a detector score to count the faces found under "
                    "(default: %(default)s)")
    ap.add_argument("--by", choices=("race", "age"), help="also a table per group of this label (age: the labelled age "
                    "group)")
    ap.add_argument("--conditions", help="only the conditions whose names contain one of these comma-separated words")
    ap.add_argument("--no-rescue", action="store_true", help="without the second look at small faces scored under the "
                    "detector's threshold (detectors.RESCUE_LOOK): what the photo path found before it")
    args = ap.parse_args()

    faces = [r for r in mf.sample(mf.read(args.manifest), args.n, args.seed) if r.gender is not None]
    pred = Predictor.load(args.model) if args.model else Predictor.default()
    if args.no_rescue:
        pred.pipeline.detector.rescue = False
    words = [w.strip().lower() for w in args.conditions.split(",")] if args.conditions else None
    conditions = {k: v for k, v in CONDITIONS.items() if words is None or any(w in k.lower() for w in words)}
    print(f"{len(faces)} faces of {args.manifest} (seed {args.seed}); model {pred.model_dir}\n")
    print("| condition | found | gender, best guess | answered | gender right on answered | age group, best guess | "
          f"age group right on answered | age in years: mean error, estimate − label (mean absolute) | scored under {args.face_bar} (answered) | their gender, best guess | not sure it is a face (second look): "
          "doubted (answered without the doubt, gender right on those) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows: dict[str, list[dict]] = {}
    for name, make in conditions.items():
        rng = np.random.default_rng(args.seed)
        rows[name] = [r for r in (_read(pred, make, rec, rng, args.face_bar) for rec in faces) if r is not None]
        t = _tally(rows[name])
        print(f"| {name} | {t['found']} of {t['made']} | {t['guessed']} | {t['answered']} | {t['right']} | {t['age']} | {t['age_right']} | {t['years']} | "
              f"{t['under']} | {t['under_right']} | {t['doubted']} |", flush=True)
    if args.by:
        group_of = _grouping(args.by)
        groups = sorted({group_of(r) for r in faces if group_of(r)}, key=labels.race_order if args.by == "race" else
                        labels.AGE_GROUPS.index)
        print(f"\nBy {args.by} (each cell: found · gender best guess · answered · gender right on answered · age group best guess · "
              "age group right on answered · years: mean error):\n")
        print("| condition | " + " | ".join(f"{g} ({sum(group_of(r) == g for r in faces)})" for g in groups) + " |")
        print("|---|" + "---|" * len(groups))
        for name, done in rows.items():
            cells = []
            for g in groups:
                t = _tally([d for d in done if group_of(d["rec"]) == g])
                cells.append(f"{t['found_n']} · {t['guessed']} · {t['answered']} · {t['right']} · {t['age']} · {t['age_right']} · "
                             f"{t['years_mean']}")
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"\n(genders: {', '.join(labels.GENDERS)}; the answered share is of the faces found)")


if __name__ == "__main__":
    main()
