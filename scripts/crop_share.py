"""How much of each image its largest face covers (RetinaFace's box over the image's area): where
``agegender features --detector auto`` draws the line between face crops and photos (``faces.AUTO_CROP_SHARE``).

    python scripts/crop_share.py utk.csv celeba.csv portrait-b1k.csv --n 300

Prints, per manifest, the share's minimum, 1st, 5th, 50th, 95th percentile and maximum over ``--n`` images drawn
at random (seed 0; UTKFace's manifest split into its 200 px ``crop_part1`` and 64 px ``utkface64`` crops), how many
had no face, and how many ``auto`` would cut as photos.
"""

from __future__ import annotations

import argparse
import random

import numpy as np

from agegender import manifest as mf
from agegender.faces import AUTO_CROP_SHARE, FacePipeline
from agegender.imaging import ImageError, load_image


def shares(paths: list[str], pipe: FacePipeline) -> np.ndarray:
    out = []
    for p in paths:
        try:
            image = load_image(p)
        except ImageError:
            continue
        faces = pipe.faces(image)
        out.append(faces[0].area / (image.shape[0] * image.shape[1]) if faces else np.nan)
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifests", nargs="+")
    ap.add_argument("--n", type=int, default=300)
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
            a = shares([str(r.full_path) for r in rs[: args.n]], pipe)
            found = a[~np.isnan(a)]
            pct = " / ".join(f"{v:.2f}" for v in np.percentile(found, [0, 1, 5, 50, 95, 100])) if len(found) else "—"
            print(f"{label}: {len(a)} images, {int(np.isnan(a).sum())} without a face; share min / p1 / p5 / median / "
                  f"p95 / max = {pct}; cut as photos by auto (< {AUTO_CROP_SHARE:g}): {int((found < AUTO_CROP_SHARE).sum())}")


if __name__ == "__main__":
    main()
