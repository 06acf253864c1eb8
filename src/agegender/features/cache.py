"""Features for a whole manifest, cached by image content and resumable after an interruption.

The cache is one SQLite file: a row per (content hash, setting) where the setting names the extractor
version and the face detector. Each batch is committed as soon as it is computed, so a run that is
stopped (Ctrl-C, a kill) loses at most one batch and the next run skips everything already done.
Images that fail (unreadable, no face) are recorded with their reason and reported, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agegender.faces import FacePipeline
from agegender.features.base import Extractor
from agegender.imaging import ImageError, load_image
from agegender.manifest import Manifest, atomic_write


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


class FeatureCache:
    """SQLite store: (hash, setting) → vector or error."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=120)  # several worker processes may share one cache
        for attempt in range(50):
            try:  # switching a new file to WAL needs an exclusive lock, for which SQLite does not wait
                self._db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or attempt == 49:
                    raise
                time.sleep(0.1)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS features (hash TEXT, setting TEXT, vec BLOB, faces INTEGER, error TEXT,"
            " PRIMARY KEY (hash, setting))"
        )
        self._db.commit()

    def get(self, h: str, setting: str, dtype=np.float32) -> tuple[np.ndarray | None, int, str | None] | None:
        """``dtype``: how the extractor's vectors are stored (:func:`store_dtype`)."""
        row = self._db.execute("SELECT vec, faces, error FROM features WHERE hash=? AND setting=?", (h, setting)).fetchone()
        if row is None:
            return None
        vec, faces, error = row
        return (None if vec is None else np.frombuffer(vec, dtype=dtype).copy()), faces, error

    def put_many(self, rows: list[tuple[str, str, np.ndarray | None, int, str | None]], dtype=np.float32) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?)",
            [(h, s, None if v is None else np.asarray(v, dtype=dtype).tobytes(), n, e) for h, s, v, n, e in rows],
        )
        self._db.commit()

    def count(self, setting: str) -> int:
        return self._db.execute("SELECT COUNT(*) FROM features WHERE setting=?", (setting,)).fetchone()[0]

    def close(self) -> None:
        self._db.close()


@dataclass
class FeatureSet:
    """Vectors for the manifest rows that worked, and the reasons for those that did not."""

    features: np.ndarray            # (n_ok, dim) float32 (float16 for extractors stored so: store_dtype)
    rows: np.ndarray                # index of each vector's record in the manifest
    extractor: str
    setting: str
    failed: dict[int, str] = field(default_factory=dict)  # manifest row → reason
    cache_hits: int = 0
    computed: int = 0
    failed_now: int = 0  # failures found (and cached) by this run, not read from the cache
    keys: np.ndarray | None = None  # each vector's manifest key, as saved (checked when joined to a manifest)

    def save(self, path: str | Path, manifest: Manifest) -> Path:
        """Write an ``.npz`` (atomically) holding the vectors, their row indices, keys and the failures."""
        keys = np.array([manifest.records[i].key for i in self.rows], dtype=str)
        meta = {"extractor": self.extractor, "setting": self.setting,
                "failed": {manifest.records[i].key: why for i, why in self.failed.items()}}

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, features=self.features, rows=self.rows, keys=keys, meta=np.array(json.dumps(meta)))

        path = Path(path)
        atomic_write(path, write)
        return path

    def failure_lines(self, limit: int, saved: str | Path) -> list[str]:
        """The first ``limit`` failures, each naming its image and what went wrong, and how many more ``saved``
        (this set's ``.npz``) lists — what `agegender features` and `agegender evaluate` print."""
        lines = [f"  failed: {why}" for why in list(self.failed.values())[:limit]]
        if len(self.failed) > limit:
            lines.append(f"  … and {len(self.failed) - limit} more (all listed in {saved})")
        return lines

    @classmethod
    def load(cls, path: str | Path) -> FeatureSet:
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            keys = z["keys"] if "keys" in z.files else None
            return cls(z["features"], z["rows"], meta["extractor"], meta["setting"], keys=keys)


def store_dtype(extractor: Extractor) -> np.dtype:
    """float32, or what the extractor asks for (``store_dtype``: float16 for ``faceresmap``'s 51k values)."""
    return np.dtype(getattr(extractor, "store_dtype", np.float32))


def compute_features(
    manifest: Manifest,
    extractor: Extractor,
    pipeline: FacePipeline,
    cache_path: str | Path,
    batch_size: int = 32,
    progress: bool = True,
    on_batch: Callable[[int], None] | None = None,
    mirror: bool = False,
) -> FeatureSet:
    """Features of the largest face in each manifest image; cached, resumable, failures reported."""
    from tqdm import tqdm

    setting = f"{extractor.name}@{extractor.version}|detector={pipeline.setting}" + ("|mirror" if mirror else "")
    if "retina5" in pipeline.setting:  # cached chips of an earlier cutter are not these (auto cuts photos so too)
        from agegender.alignment import CUTTER

        setting += f"|cutter={CUTTER}"
    cache = FeatureCache(cache_path)
    dtype = store_dtype(extractor)
    vectors: dict[int, np.ndarray] = {}
    failed: dict[int, str] = {}
    pending: list[tuple[int, str, list[np.ndarray], int]] = []
    hits = computed = batches = failed_now = 0

    def flush() -> None:
        nonlocal computed, batches
        if not pending:
            return
        stacks = [np.stack([p[2][j] for p in pending]) for j in range(len(extractor.chips))]
        out = extractor.extract(stacks)
        out = out.astype(dtype, copy=False)
        cache.put_many([(h, setting, out[k], n, None) for k, (_, h, _, n) in enumerate(pending)], dtype)
        for k, (i, *_rest) in enumerate(pending):
            vectors[i] = out[k].copy()  # not a view: the batch would stay in memory
        computed += len(pending)
        pending.clear()
        batches += 1
        if on_batch is not None:
            on_batch(batches)

    try:
        bar = tqdm(manifest.records, desc=f"features {extractor.name}", unit="img", disable=not progress)
        for i, rec in enumerate(bar):
            path = rec.full_path
            try:
                data = path.read_bytes()
            except OSError as e:
                failed[i] = f"{path}: cannot read ({e.strerror or e})"
                continue
            h = content_hash(data)
            hit = cache.get(h, setting, dtype)
            if hit is not None:
                hits += 1
                vec, _, err = hit
                if vec is None:
                    failed[i] = f"{path}: {err}"
                else:
                    vectors[i] = vec
                continue
            try:
                image = load_image(data, name=str(path))
            except ImageError as e:
                cache.put_many([(h, setting, None, 0, e.problem)])
                failed[i] = str(e)
                failed_now += 1
                continue
            faces = pipeline.faces(image)
            if not faces:
                cache.put_many([(h, setting, None, 0, "no face found")])
                failed[i] = f"{path}: no face found"
                failed_now += 1
                continue
            pyramid: list = []
            chips = [pipeline.chip(image, faces[0], s.size, s.padding, pyramid) for s in extractor.chips]
            if mirror:  # the face as its mirror image: what test-time flip feeds the model (Predictor(flip=True))
                chips = [np.ascontiguousarray(c[:, ::-1]) for c in chips]
            pending.append((i, h, chips, len(faces)))
            if len(pending) >= batch_size:
                flush()
        flush()
    finally:
        cache.close()
    rows = np.array(sorted(vectors), dtype=np.int64)
    feats = np.empty((len(rows), extractor.dim), dtype)
    for k, i in enumerate(rows):  # one vector at a time: large features never sit in memory twice
        feats[k] = vectors.pop(i)
    return FeatureSet(feats, rows, extractor.name, setting, failed, hits, computed, failed_now)


def _worker(args: tuple) -> tuple[int, int]:
    """One process's share of :func:`compute_features_parallel` (top level so it pickles)."""
    manifest, extractor, detector, landmarks, cache_path, batch_size, mirror, upright, close_up = args
    import threading

    from tqdm import tqdm

    from agegender.features import get_extractor

    tqdm.set_lock(threading.RLock())  # no multiprocessing lock: the pool ends workers before they could release one

    fs = compute_features(manifest, get_extractor(extractor), FacePipeline(detector, landmarks=landmarks, upright=upright, close_up=close_up),
                          cache_path, batch_size=batch_size, progress=False, mirror=mirror)
    return fs.computed, fs.failed_now


def compute_features_parallel(manifest: Manifest, extractor: str, detector: str, cache_path: str | Path,
                              workers: int = 2, batch_size: int = 32, progress: bool = True,
                              landmarks: str = "dlib", mirror: bool = False, upright: bool = True, close_up: bool = True) -> FeatureSet:
    """:func:`compute_features` spread over ``workers`` processes sharing one cache.

    Each process takes every ``workers``-th image and fills the cache; the caller then reads the whole
    manifest back from the cache, so the result is the same as a single process's, in the same order.
    """
    import multiprocessing as mp

    from agegender.features import get_extractor

    FeatureCache(cache_path).close()  # created (and switched to WAL) once, before the workers share it
    shares = [Manifest(manifest.records[i::workers]) for i in range(workers)]
    jobs = [(share, extractor, detector, landmarks, str(cache_path), batch_size, mirror, upright, close_up)
            for share in shares if len(share)]
    with mp.get_context("spawn").Pool(len(jobs)) as pool:
        done = pool.map(_worker, jobs)
    computed, failed_now = sum(c for c, _ in done), sum(f for _, f in done)
    fs = compute_features(manifest, get_extractor(extractor), FacePipeline(detector, landmarks=landmarks, upright=upright, close_up=close_up),
                          cache_path, batch_size=batch_size, progress=progress, mirror=mirror)
    # what the workers put into the cache counts as computed by this run, not as cache hits
    fs.computed += computed
    fs.failed_now += failed_now
    fs.cache_hits -= computed + failed_now
    return fs


def compute_manifest_features(manifest: Manifest, extractor: str, detector: str, cache_path: str | Path, *,
                              workers: int = 1, threads: int = 1, batch_size: int = 32, progress: bool = True,
                              landmarks: str = "dlib", mirror: bool = False, upright: bool = True,
                              close_up: bool = True) -> FeatureSet:
    """One extractor's features for a manifest, in this process or (``workers`` > 1) spread over processes
    (:func:`compute_features_parallel`) — the same result either way."""
    from agegender.features import get_extractor

    ex = get_extractor(extractor, threads=threads)  # an unknown name fails here, not inside a worker
    if workers > 1:
        return compute_features_parallel(manifest, extractor, detector, cache_path, workers=workers,
                                         batch_size=batch_size, progress=progress, landmarks=landmarks, mirror=mirror,
                                         upright=upright, close_up=close_up)
    pipe = FacePipeline(detector, threads=threads, landmarks=landmarks, upright=upright, close_up=close_up)
    return compute_features(manifest, ex, pipe, cache_path,
                            batch_size=batch_size, progress=progress, mirror=mirror)
