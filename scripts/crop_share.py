"""How much of each image its largest face covers (RetinaFace's box over the image's area) and spans (the box's
smaller share of the image's width and height): where ``agegender features --detector auto`` draws the line between
face crops and photos (``faces.AUTO_CROP_SHARE``, ``faces.AUTO_CROP_SPAN``; ``faces.is_crop``).

    python scripts/crop_share.py utk.csv celeba.csv portrait-b1k.csv --n 300

Prints, per manifest, both measures' minimum, 1st, 5th, 50th, 95th percentile and maximum over ``--n`` images
drawn at random (seed 0; ``--n 0``: all; UTKFace's manifest split into its 200 px ``crop_part1`` and 64 px
``utkface64`` crops), how many had no face (and which: ``auto`` fails them as ``no face found``), and how many
``auto`` would cut as photos.
"""

from __future__ import annotations

import argparse
import random

import numpy as np

from agegender import manifest as mf
from agegender.faces import FacePipeline, is_crop
from agegender.imaging import ImageError, load_image


def measures(paths: list[str], pipe: FacePipeline) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """Each image's cover and span (of the faces found), the images without a face, how many ``auto`` cuts as
    photos."""
    cover, span, none, photos = [], [], [], 0
    for p in paths:
        try:
            image = load_image(p)
        except ImageError:
            continue
        faces = pipe.faces(image)
        if not faces:
            none.append(p)
            continue
        h, w = image.shape[:2]
        x0, y0, x1, y1 = faces[0].box
        cover.append((x1 - x0) * (y1 - y0) / (w * h))
        span.append(min((x1 - x0) / w, (y1 - y0) / h))
        photos += not is_crop(faces[0].box, w, h)
    return np.array(cover), np.array(span), none, photos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifests", nargs="+")
    ap.add_argument("--n", type=int, default=300, help="images drawn from each manifest (0: all)")
    args = ap.parse_args()
    pipe = FacePipeline("retinaface", landmarks="retina5")
    for name in args.manifests:
        recs = mf.read(name).records
        random.Random(0).shuffle(recs)
        groups = {name: recs}
        if any("crop_part1" in r.path for r in recs):
            groups = {f"{name} (200 px crop_part1)": [r for r in recs if "crop_part1" in r.path],
                      f"{name} (64 px utkface64)": [r for r in recs if "utkface64" in r.path]}
        for label, rs in groups.items():
            cover, span, none, photos = measures([str(r.full_path) for r in rs[: args.n or None]], pipe)

            def pct(a: np.ndarray) -> str:
                return " / ".join(f"{v:.2f}" for v in np.percentile(a, [0, 1, 5, 50, 95, 100])) if len(a) else "—"

            print(f"{label}: {len(cover) + len(none)} images, {len(none)} without a face; min / p1 / p5 / median / p95 / "
                  f"max — cover {pct(cover)}; span {pct(span)}; cut as photos by auto: {photos}")
            for p in none:
                print(f"  no face: {p}")

if __name__ == "__main__":
    main()
