"""Fit alignment.RETINA5_TEMPLATE: where dlib's 5-point alignment puts RetinaFace's 5 landmarks.

For each face: RetinaFace finds it (box + 5 landmarks), dlib's shape predictor refines it exactly as
the server does, and dlib's chip geometry maps RetinaFace's landmarks into dlib's unit face square.
The template is the median over the faces; the script also prints how far, in pixels of a 64 px
chip, the fitted template lands from each face's dlib-aligned positions.

    python scripts/fit_retina5_template.py ../shared/data/utkface/crop_part1 --n 1000
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import dlib
import numpy as np
from tqdm import tqdm

from agegender import alignment
from agegender.faces import FacePipeline
from agegender.imaging import ImageError, load_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    files = sorted(p for p in args.folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    random.Random(args.seed).shuffle(files)
    pipe = FacePipeline("retinaface")
    points = []
    for path in tqdm(files[: args.n], unit="img"):
        try:
            image = load_image(path)
        except ImageError:
            continue
        faces = pipe.faces(image)
        if not faces:
            continue
        t = alignment.dlib_unit_transform(dlib.get_face_chip_details(faces[0].shape, 64, 0.0))
        points.append(alignment.apply(t, faces[0].landmarks))
    pts = np.stack(points)
    template = np.median(pts, axis=0)
    print(f"{len(pts)} faces")
    print("RETINA5_TEMPLATE = np.array([")
    for x, y in template:
        print(f"    [{x:.4f}, {y:.4f}],")
    print("])")
    # how well one similarity transform onto the template reproduces each face's dlib positions
    err = []
    for p in pts:
        t = alignment.similarity(p, template)
        err.append(np.abs(alignment.apply(t, p) - template).max() * 63)
    print(f"fit residual (64 px chip, padding 0): median {np.median(err):.2f} px, 90th pct {np.percentile(err, 90):.2f} px")
    spread = np.linalg.norm(pts - template, axis=2).mean(axis=1) * 63
    print(f"landmark spread around the template: median {np.median(spread):.2f} px, 90th pct {np.percentile(spread, 90):.2f} px")


if __name__ == "__main__":
    main()
