"""Build an Adience-format tree from labelled face crops, to prove the Adience path without the download.

The tree has what the real download has: ``Folds/original_txt_files/fold_{0..4}_data.txt`` (same
header and columns), ``aligned/<user>/landmark_aligned_face.<face_id>.<image>`` (the crop as is) and
``faces/<user>/coarse_tilt_aligned_face.<face_id>.<image>`` (the same face less well aligned: rotated
by up to ±15°, shifted and rescaled, as Adience's coarse "faces" are). Photos are grouped into
"users" of a few images each, and each user lives in one fold, so the folds are subject-exclusive.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from agegender import labels
from agegender.datasets import adience, utkface
from agegender.imaging import load_image

HEADER = "\t".join(["user_id", "original_image", "face_id", "age", "gender", "x", "y", "dx", "dy", "tilt_ang",
                    "fiducial_yaw_angle", "fiducial_score"])


def _coarse(face: np.ndarray, rng: np.random.Generator) -> Image.Image:
    im = Image.fromarray(face)
    w, h = im.size
    angle = float(rng.uniform(-15, 15))
    scale = float(rng.uniform(0.85, 1.1))
    dx, dy = rng.uniform(-0.08, 0.08, 2) * (w, h)
    out = im.rotate(angle, resample=Image.BILINEAR, translate=(float(dx), float(dy)), fillcolor=(127, 127, 127))
    side = round(w / scale)
    left, top = (w - side) // 2, (h - side) // 2
    return out.crop((left, top, left + side, top + side)).resize((w, h), Image.BILINEAR)


def build_tree(faces_dir: str | Path, out: str | Path, n: int = 500, per_user: int = 4, seed: int = 0) -> dict:
    """Take up to ``n`` UTKFace-named crops with a strict age group; write the tree under ``out``."""
    out = Path(out)
    m = utkface.load(faces_dir)
    recs = [r for r in m.records if r.age_group is not None and r.gender is not None]
    if not recs:
        raise ValueError(f"{faces_dir}: no UTKFace-named face with an Adience age group")
    rng = np.random.default_rng(seed)
    recs = [recs[i] for i in rng.permutation(len(recs))[:n]]
    rows: dict[int, list[str]] = {k: [] for k in range(adience.NUM_FOLDS)}
    for i, r in enumerate(recs):
        u = i // per_user
        fold = u % adience.NUM_FOLDS
        user = f"{10000 + u}@N0{fold}"
        face_id = str(i + 1)
        image = f"{Path(r.path).name.split('.')[0]}_o.jpg"
        face = load_image(r.full_path)
        for layout, img in (("aligned", Image.fromarray(face)), ("faces", _coarse(face, rng))):
            p = out / adience.image_path(user, face_id, image, layout)
            p.parent.mkdir(parents=True, exist_ok=True)
            img.save(p, quality=92)
        age = labels.ADIENCE_AGE_STRINGS[r.age_group]
        rows[fold].append("\t".join([user, image, face_id, age, labels.GENDERS[r.gender], "0", "0",
                                     str(face.shape[1]), str(face.shape[0]), "0", "0", "100"]))
    folds = out / "Folds" / "original_txt_files"
    folds.mkdir(parents=True, exist_ok=True)
    for k, lines in rows.items():
        (folds / adience.FOLD_FILE.format(k=k)).write_text("\n".join([HEADER, *lines]) + "\n")
    return {"images": len(recs), "users": (len(recs) + per_user - 1) // per_user, "folds": {k: len(v) for k, v in rows.items()},
            "root": str(out)}
