"""Where a model's time per photo goes: detection, then each extractor's chips and network, then the head.

``agegender bench predict`` gives the totals; this splits them by step, on one thread, for one photo with
one face (the bundled portrait unless ``--photo``), each step timed ``--repeat`` times after a warm-up —
to see which step a speed-up must target (docs/BENCHMARKS.md: faceres-deep's share of the default).

Usage: python scripts/profile_steps.py [--model DIR] [--photo JPG] [--repeat 30]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from agegender.cli import default_photo
from agegender.imaging import load_image
from agegender.predictor import DEFAULT_MODEL, Predictor


def ms(step, repeat: int) -> float:
    """Mean milliseconds of ``step()`` over ``repeat`` calls, after one warm-up call."""
    step()
    start = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL), help="model artifact folder (default: the built-in model)")
    ap.add_argument("--photo", default=str(default_photo()), help="a photo with one face (default: the bundled portrait)")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()

    pred = Predictor.load(args.model, threads=1)
    image = load_image(args.photo)
    faces = pred.pipeline.faces(image)
    if len(faces) != 1:
        raise SystemExit(f"{args.photo}: {len(faces)} faces found; this profile needs a photo with one face")
    print(f"{args.photo} ({image.shape[1]}×{image.shape[0]}), model {args.model}, 1 thread, mean of {args.repeat}")
    print(f"{ms(lambda: pred.pipeline.faces(image), args.repeat):8.2f} ms  detection + landmarks")
    for ex in pred.extractors:
        def cut(ex=ex):
            return [np.stack([pred.pipeline.chip(image, f, s.size, s.padding, []) for f in faces]) for s in ex.chips]
        chips = cut()
        sizes = "+".join(str(s.size) for s in ex.chips)
        print(f"{ms(cut, args.repeat):8.2f} ms  {ex.name}: chips ({sizes} px)")
        print(f"{ms(lambda ex=ex, chips=chips: ex.extract(chips), args.repeat):8.2f} ms  {ex.name}: network")
    X = pred.features(image, faces)
    print(f"{ms(lambda: pred.outputs(X), args.repeat):8.2f} ms  the model's head")


if __name__ == "__main__":
    main()
