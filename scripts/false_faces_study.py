"""Where do false faces score, and which does the second look doubt? Every face RetinaFace finds on photos
that show no one (``FOLDER``: e.g. scikit-image's pictures of things, unpacked by scripts/benchmarks.sh), each
scaled to several longer sides, as it is and framed by a plain border (a picture inside a larger photo), read
through the product's face path (``agegender.faces.FacePipeline``). Prints, per band of the detector's score:
the false faces, those at the photo's edge (no second look: ``detectors.near_edge``), and those whose second look
scores under ``detectors.DOUBT_LOOK`` — answered "not sure it is a face" when scored under ``detectors.DOUBT_SCORE``
(docs/FACES.md).

    python scripts/false_faces_study.py W/nobody [--sides 300 450 640 800 1024 1600]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

BANDS = (0.5, 0.6, 0.75, 0.9, 1.0001)


def main() -> None:
    from agegender.detectors import DOUBT_LOOK, DOUBT_SCORE, near_edge
    from agegender.faces import FacePipeline
    from agegender.imaging import load_image

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="photos that show no one")
    ap.add_argument("--sides", type=int, nargs="+", default=[300, 450, 640, 800, 1024, 1600])
    args = ap.parse_args()

    pipeline = FacePipeline("retinaface", landmarks="retina5")
    found = []  # (score, at the edge, second look)
    paths = sorted(p for p in Path(args.folder).iterdir() if p.is_file())
    for path in paths:
        im = Image.fromarray(load_image(path))
        for side in args.sides:
            scaled = im.resize((round(im.width * side / max(im.size)), round(im.height * side / max(im.size))), Image.BILINEAR)
            framed = Image.new("RGB", (scaled.width + 200, scaled.height + 160), (90, 100, 110))
            framed.paste(scaled, (100, 80))
            for photo in (np.asarray(scaled), np.asarray(framed)):
                for f in pipeline.faces(photo):
                    edge = near_edge(f.box, photo.shape[1], photo.shape[0])
                    found.append((f.score, edge, None if edge else pipeline.detector.second_look(photo, f.box, f.landmarks)))
    print(f"{len(paths)} photos × {len(args.sides)} sides × (as they are, framed): {len(found)} false faces; "
          f"second look doubts under {DOUBT_LOOK}, answered 'not sure it is a face' under a score of {DOUBT_SCORE}\n")
    print("| detector's score | false faces | at the photo's edge | the others: second look under the bar |")
    print("|---|---|---|---|")
    for lo, hi in zip(BANDS, BANDS[1:]):
        band = [f for f in found if lo <= f[0] < hi]
        inside = [f for f in band if not f[1]]
        print(f"| {lo:.2f}–{min(hi, 1.0):.2f} | {len(band)} | {len(band) - len(inside)} | "
              f"{sum(f[2] < DOUBT_LOOK for f in inside)} of {len(inside)} |")


if __name__ == "__main__":
    main()
