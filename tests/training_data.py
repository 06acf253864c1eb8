"""Small learnable datasets written as a real manifest + feature .npz, for the training tests."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from agegender import manifest as mf
from agegender.features.cache import FeatureSet
from agegender.manifest import Manifest, Record


def learnable(tmp: Path, n: int = 1200, dim: int = 16, seed: int = 0, name: str = "syn") -> tuple[Path, Path]:
    """Features whose age group and gender are (noisy) linear functions of the vector.

    A quarter of the rows lack an age group (like UTKFace gap ages) and some lack a gender, so the
    masked heads are exercised too.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim)).astype(np.float32)
    W = rng.normal(size=(dim, 8))
    age = (X @ W + 0.3 * rng.normal(size=(n, 8))).argmax(1)
    gender = (X[:, 0] + 0.2 * rng.normal(size=n) > 0).astype(int)
    recs = []
    for i in range(n):
        a = None if i % 4 == 3 else int(age[i])
        g = None if i % 10 == 9 else int(gender[i])
        recs.append(Record(path=f"img{i}.jpg", source="syn", key=f"img{i}", age_group=a, gender=g, age_years=None))
    man = mf.write(Manifest(recs), tmp / f"{name}.csv")
    fs = FeatureSet(X, np.arange(n), "syn", "syn@1|detector=aligned")
    feats = fs.save(tmp / f"{name}.npz", Manifest(recs))
    return man, feats


def kill_mid_training(cmd: list[str], run: Path, settle: float = 1.5) -> None:
    """Run ``agegender train`` (``cmd``) until its first epoch is backed up, ``settle`` seconds more, then
    kill it (SIGKILL: nothing gets to clean up), as a crash or an impatient user would."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (run / "backup").exists():
        time.sleep(0.2)
    time.sleep(settle)
    assert proc.poll() is None, "training finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
