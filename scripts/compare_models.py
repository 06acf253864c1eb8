"""Two exported models on the same faces, paired: each one's accuracy and coverage, and an exact McNemar
test on the faces where exactly one of them is right — is a difference more than chance?

Usage: python scripts/compare_models.py MANIFEST  A_MODEL A_FEATURES  B_MODEL B_FEATURES
  e.g. python scripts/compare_models.py celeba.csv src/agegender/data/model celeba-dlibtrunk.npz,celeba-agnet.npz \
           bench-work/model-mlp celeba-dlib128.npz,celeba-agnet.npz
"""

from __future__ import annotations

import sys

import numpy as np

from agegender import evaluation, trainset
from agegender.compare import mcnemar_p
from agegender.predictor import Predictor


def main(argv: list[str]) -> None:
    if len(argv) != 5:
        raise SystemExit(__doc__)
    manifest, models = argv[0], [(argv[1], argv[2]), (argv[3], argv[4])]
    right: dict[str, list[np.ndarray]] = {"age": [], "gender": []}
    for model, features in models:
        data = trainset.load(manifest, features, "")
        pred = Predictor.load(model)
        age, gender = pred.distributions(data.X)
        cov = evaluation.covered(age, gender, pred.thresholds)
        for part, probs, y in (("age", age, data.y_age), ("gender", gender, data.y_gender)):
            known = y >= 0
            if known.any():
                right[part].append((probs.argmax(1) == y)[known])
        print(f"{model}: " + ", ".join(f"{part} {100 * r[-1].mean():.2f} % of {len(r[-1])}" for part, r in right.items() if r)
              + f"; coverage {100 * cov.mean():.1f} %")
    for part, (a, b) in ((p, r) for p, r in right.items() if len(r) == 2):
        only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
        print(f"{part}: only the first right on {only_a} faces, only the second on {only_b}; "
              f"exact McNemar p = {mcnemar_p(only_a, only_b):.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
