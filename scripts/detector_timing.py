"""Time the default face detector against another version of it, paired, on the scenes of `agegender bench
detect` (upright and turned portraits, groups, phone / messenger / web photos, close-ups, faceless backgrounds,
and with ``--pictures`` real photos that show no one) and the bundled portrait: both detectors in one process,
run one after the other on each suite, ``--rounds`` times in alternating order — this VM's run-to-run noise
(±5–10 ms on a 200 ms photo) cancels out of the difference, as two separate runs of the benchmark do not.

``--against`` names the other version's ``detectors.py`` (``faces.py`` in versions before 2026-12-07, which
held the detectors) — e.g. of a checkout of the previous commit: ``git worktree add OLD HEAD~1`` — loaded beside
this one; without it the detector is timed alone.

    python scripts/detector_timing.py ../shared/data/utkface/crop_part1 --pictures W/nobody \\
        --against OLD/src/agegender/detectors.py --per-suite 25 --rounds 2
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from agegender.bench.detection import Scene, make_suites, score_scene
from agegender.cli import default_photo
from agegender.detectors import make_detector
from agegender.imaging import load_image


def _other_detector(module_py: Path):
    """The default RetinaFace detector of another version's ``detectors.py`` (or older ``faces.py``), loaded as
    a module of its own."""
    spec = importlib.util.spec_from_file_location("other_detectors", module_py)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module.make_detector("retinaface")


def _time(det, scenes: list[Scene]) -> tuple[float, int, int]:
    """ms per photo, faces found, false faces."""
    found = false = 0
    t0 = time.perf_counter()
    detections = [det.detect(s.image) for s in scenes]
    ms = (time.perf_counter() - t0) * 1000 / len(scenes)
    for s, d in zip(scenes, detections):
        hits, fp = score_scene(s, d)
        found, false = found + sum(hits), false + len(fp)
    return ms, found, false


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("faces", help="face crops to paste (e.g. ../shared/data/utkface/crop_part1)")
    ap.add_argument("--pictures", help="a folder of photos that show no one (scripts/benchmarks.sh: W/nobody)")
    ap.add_argument("--against", type=Path, help="another version's src/agegender/detectors.py (faces.py before 2026-12-07), timed beside this one")
    ap.add_argument("--scenes", type=int, default=200, help="bench detect's --scenes: the suites drawn (default 200, as its figures)")
    ap.add_argument("--per-suite", type=int, default=25, help="photos timed of each suite (its first N)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", help="comma-separated words: only the suites whose name holds one of them")
    args = ap.parse_args()

    suites = {name: scenes[:args.per_suite] for name, (_, scenes) in
              make_suites(args.faces, args.scenes, args.seed, turned=True, faceless=True, faceless_dir=args.pictures).items()}
    dets = {"this": make_detector("retinaface")}
    portrait = load_image(default_photo())
    suites["the bundled portrait, 30 times"] = [Scene(portrait, [tuple(round(v) for v in dets["this"].detect(portrait)[0][0])])] * 30
    if args.only:
        suites = {name: scenes for name, scenes in suites.items() if any(w in name for w in args.only.split(","))}
    if args.against:
        dets["other"] = _other_detector(args.against)
    for det in dets.values():
        det.detect(suites["the bundled portrait, 30 times"][0].image)  # warm-up
    names = list(dets)
    print("| suite (photos) | " + " | ".join(f"{n}: ms/photo, found (false)" for n in names)
          + (" | ms difference (this − other)" if args.against else "") + " |")
    print("|---" * (len(names) + 1 + bool(args.against)) + "|")
    for suite, scenes in suites.items():
        ms = {n: [] for n in names}
        counts = {}
        for r in range(args.rounds):
            for n in (names if r % 2 == 0 else names[::-1]):
                t, found, false = _time(dets[n], scenes)
                ms[n].append(t)
                counts[n] = (found, false)
        cells = [f"{np.mean(ms[n]):.1f}, {counts[n][0]} ({counts[n][1]})" for n in names]
        diff = [f"{np.mean(np.subtract(ms['this'], ms['other'])):+.1f}"] if args.against else []
        print(f"| {suite} ({len(scenes)}) | " + " | ".join(cells + diff) + " |")


if __name__ == "__main__":
    main()
