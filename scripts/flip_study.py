"""Would test-time flip pay? Scores a finished benchmark's fold models on the test faces as they are, on
their mirror images, and on the average of both answers — without retraining.

Writes a mirrored copy of every original face (``--originals``, e.g. utk.csv) under WORK/mirror, computes
the benchmark's own feature extractors on them (same detector setting, cached in WORK), swaps those rows
into copies of the benchmark's feature files (rows matched by key), and runs every fold model on both
(``agegender.benchmark.fold_predictions``). Averaged answers need their own thresholds: they are chosen on
the pooled averaged validation answers (the benchmark chooses them per fold; pooled is close).

Usage: python scripts/flip_study.py BENCHMARK_DIR --originals utk.csv --work flip-work

``--chips``: mirror each face's aligned chips instead of the image (no new detection or alignment) —
exactly what ``Predictor(flip=True)`` / ``agegender predict --flip`` adds (``agegender features --mirror``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from agegender import benchmark, evaluation
from agegender import manifest as mf
from agegender.features.cache import compute_features_parallel
from agegender.imaging import load_image


def _mirror(job: tuple[str, str]) -> None:
    src, dst = job
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(load_image(src)[:, ::-1])).save(dst, quality=95)


def mirrored_manifest(originals: str, work: Path) -> mf.Manifest:
    """The originals, mirrored, under work/mirror; same keys and labels."""
    man = mf.read(originals)
    out = (work / "mirror").resolve()
    jobs = [(str(r.full_path), str(out / r.path)) for r in man.records]
    with ProcessPoolExecutor(2) as ex:
        list(ex.map(_mirror, jobs, chunksize=256))
    mirror = mf.Manifest([dataclasses.replace(r, root=str(out)) for r in man.records])
    mf.write(mirror, work / "mirror.csv")  # kept beside the features, for a look at the mirrored faces
    return mirror


def swapped_features(feature_file: str, mirror: mf.Manifest, work: Path, chips: bool = False) -> str:
    """A copy of ``feature_file`` whose rows for the mirrored faces hold the mirrored faces' features
    (``chips``: ``mirror`` holds the faces as they are, and their chips are mirrored)."""
    with np.load(feature_file) as z:
        base = {k: z[k] for k in z.files}
    meta = json.loads(str(base["meta"]))
    detector = meta["setting"].split("detector=")[1].split("|")[0]
    landmarks = "retina5" if detector.endswith("/retina5") else "dlib"
    fs = compute_features_parallel(mirror, meta["extractor"], detector.split("/")[0], work / f"mirror-{meta['extractor']}.sqlite",
                                   workers=2, progress=False, landmarks=landmarks, mirror=chips)
    index = {k: i for i, k in enumerate(base["keys"])}
    keys = [mirror.records[i].key for i in fs.rows]
    base["features"][[index[k] for k in keys]] = fs.features
    out = work / f"flip-{Path(feature_file).name}"
    np.savez(out, **base)
    return str(out)


def scores(age: np.ndarray, gender: np.ndarray, part: dict, t_age: np.ndarray, t_gender: np.ndarray) -> str:
    sc = evaluation.score(age, gender, part["y_age"], part["y_gender"])
    covered = (age.max(1) >= t_age) & (gender.max(1) >= t_gender)
    return (f"{100 * sc.gender:.2f} | {100 * sc.age_exact:.2f} | {100 * sc.age_1off:.2f} | {100 * sc.joint:.2f} | "
            f"{100 * covered.mean():.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("benchmark")
    ap.add_argument("--originals", required=True, help="manifest of the faces to mirror (the benchmark's test faces)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--chips", action="store_true", help="mirror the aligned chips, not the images (as predict --flip)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    report = json.loads((Path(args.benchmark) / "report.json").read_text())
    mirror = mf.read(args.originals) if args.chips else mirrored_manifest(args.originals, work)
    flipped = ",".join(swapped_features(f, mirror, work, args.chips) for f in report["config"]["data"]["features"].split(","))
    plain = benchmark.fold_predictions(args.benchmark)
    flip = benchmark.fold_predictions(args.benchmark, features=flipped)
    t, u = plain["test"], flip["test"]
    assert np.array_equal(t["y_age"], u["y_age"]) and np.array_equal(t["y_gender"], u["y_gender"])
    v = {k: (plain["val"][k] + flip["val"][k]) / 2 for k in ("age", "gender")}
    chosen = evaluation.choose_thresholds(v["age"], v["gender"], plain["val"]["y_age"], plain["val"]["y_gender"])
    print(f"{args.benchmark}: {len(t['y_age']):,} test faces, every fold model on its own test fold\n")
    print("| answers | gender | age exact | age 1-off | joint | coverage |")
    print("|---|---|---|---|---|---|")
    print("| the faces as they are (fold thresholds) | " + scores(t["age"], t["gender"], t, t["t_age"], t["t_gender"]) + " |")
    print("| their mirror images (fold thresholds) | " + scores(u["age"], u["gender"], u, t["t_age"], t["t_gender"]) + " |")
    avg = ((t["age"] + u["age"]) / 2, (t["gender"] + u["gender"]) / 2)
    print("| the average of both (fold thresholds: what Predictor(flip=True) does) | "
          + scores(*avg, t, t["t_age"], t["t_gender"]) + " |")
    print(f"| the average of both (thresholds {chosen.age:.2f} / {chosen.gender:.2f} on averaged validation) | "
          + scores(*avg, t, np.full(len(t["y_age"]), chosen.age), np.full(len(t["y_age"]), chosen.gender)) + " |")


if __name__ == "__main__":
    main()
