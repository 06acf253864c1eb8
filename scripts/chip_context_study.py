"""How much of a face chip a dataset's images fill: is there context (hair, ears, neck, clothes) around
their faces for a wider chip to show?

Gender is told from more than the face — hair most of all, and on babies clothes and hair bands — so a
feature cut wider than the extractors' own chips (padding 0.2–0.25: the face and a fifth of it around)
might read it. It can only learn that from training images that hold it. For a sample of each folder of a
manifest, this finds the face as feature extraction does (``--detector aligned`` and dlib's landmarks for
crops, as the training features are cut), cuts a chip of each ``--padding`` from a white mask of the
image's size, and reports the share of the chip that lies inside the image (the rest would be black):
the mean, and how many chips are at least 95 % inside.

    python scripts/chip_context_study.py utk.csv celeba.csv --per-folder 300 --padding 0.2,0.5,1.0
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from agegender import manifest
from agegender.faces import FacePipeline
from agegender.imaging import load_image

#: The chip side used for the measure (the share inside does not depend on it, but for rounding).
SIDE = 100


def inside_shares(pipe: FacePipeline, image: np.ndarray, paddings: list[float]) -> list[float] | None:
    """The share of the first face's chip with each of ``paddings`` that lies inside ``image`` (None: no face)."""
    faces = pipe.faces(image)
    if not faces:
        return None
    mask = np.full_like(image, 255)
    return [float(pipe.chip(mask, faces[0], SIDE, p).mean()) / 255 for p in paddings]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifests", nargs="+", help="manifest CSV files (agegender data …)")
    ap.add_argument("--per-folder", type=int, default=300, help="images drawn from each top folder of each manifest")
    ap.add_argument("--padding", default="0.2,0.5,1.0", help="comma-separated chip paddings (dlib's sense)")
    ap.add_argument("--detector", default="aligned", help="how faces are found: aligned (crops, as training) or retinaface")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    paddings = [float(p) for p in args.padding.split(",")]
    pipe = FacePipeline(args.detector)
    rng = np.random.default_rng(args.seed)
    print(f"| folder | faces | {' | '.join(f'padding {p:g}: mean inside (≥ 95 % inside)' for p in paddings)} |")
    print(f"|---|---|{'---|' * len(paddings)}")
    for path in args.manifests:
        folders = defaultdict(list)
        for r in manifest.read(path).records:
            folders[r.path.split("/")[0]].append(r)
        for folder, records in sorted(folders.items()):
            pick = rng.choice(len(records), size=min(args.per_folder, len(records)), replace=False)
            shares = defaultdict(list)
            for i in sorted(pick):
                r = records[i]
                found = inside_shares(pipe, load_image(Path(r.root) / r.path), paddings)
                for p, share in zip(paddings, found or []):
                    shares[p].append(share)
            cells = [f"{100 * np.mean(shares[p]):.0f} % ({100 * np.mean(np.array(shares[p]) >= 0.95):.0f} %)"
                     if shares[p] else "—" for p in paddings]
            print(f"| {Path(path).stem}: {folder} | {len(shares[paddings[0]])} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
