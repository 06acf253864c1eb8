"""Batch throughput and memory: images/s and faces/s with 1 and N worker processes and with local Ray on
the same folder, each worker's peak memory, and whether memory stays flat over a long stream."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path

from agegender.batch import run
from agegender.batch.sources import Source, iter_sources
from agegender.predictor import PredictorSpec


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def repeated(folder: str, n: int) -> list[Source] | itertools.islice:
    """``n`` sources cycling over the folder's images, each under its own name (``path#k``): a long
    stream of real images without writing them again."""
    files = [s for s in iter_sources([folder]) if not s.error]
    if not files:
        raise ValueError(f"{folder}: no images")
    return itertools.islice((Source(f"{s.name}#{k}", s.url) for k, s in
                             ((k, files[k % len(files)]) for k in itertools.count())), n)


def local(folder: str, workers: int, limit: int, spec: PredictorSpec, checkpoints: tuple[int, ...] = ()) -> dict:
    """Throughput of ``workers`` processes over ``limit`` images (the folder repeated if it has fewer),
    the workers' resident memory at each checkpoint, and their peaks."""
    faces = images = 0
    memory: dict[int, float] = {}
    peak = 0.0
    t0 = time.perf_counter()
    for ans in run.predict_files(repeated(folder, limit), spec, workers=workers):
        images += 1
        faces += len(ans.result.faces)
        if images in checkpoints or images % 200 == 1:
            pids = [p.pid for p in mp.active_children()] if workers > 1 else [os.getpid()]
            peak = max([peak, *(_rss_mb(p, "VmHWM") for p in pids)])
            if images in checkpoints:
                memory[images] = round(max(_rss_mb(p) for p in pids), 1)
        if images == 1:
            t0 = time.perf_counter()  # after the workers have loaded their models
    seconds = time.perf_counter() - t0
    return {"engine": f"{workers} process{'es' if workers > 1 else ''}", "images": images, "faces": faces,
            "seconds": round(seconds, 1), "images_per_s": round((images - 1) / seconds, 1),
            "faces_per_s": round(faces / seconds, 1), "peak_mb_per_worker": round(peak, 1), "memory_mb_at": memory}


def ray(folder: str, actors: int, limit: int, spec: PredictorSpec) -> dict:
    """The same images through a local Ray pipeline (``actors`` actors, one model each), timed like the
    processes: from the first answered batch (after the actors loaded their models) to the last."""
    from agegender import manifest as mf
    from agegender.batch import ray_engine
    from agegender.manifest import Manifest, Record

    with tempfile.TemporaryDirectory() as d:
        # the job's inputs: `limit` images (the folder repeated if it has fewer), listed in a manifest
        listing = mf.write(Manifest([Record(path=os.path.abspath(s.url), source="bench", key=s.name)
                                     for s in repeated(folder, limit)]), Path(d) / "images.csv")
        ray_engine.init(num_cpus=actors)
        ds, n = ray_engine.answers_dataset([str(listing)], spec, concurrency=actors, batch_size=16)
        images = faces = timed_images = timed_faces = 0
        t0 = None
        for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            face = batch.column("face").to_pylist()
            k_images = sum(f in (None, 1) for f in face)  # an image's first row (or its only one)
            k_faces = sum(f is not None for f in face)
            images, faces = images + k_images, faces + k_faces
            if t0 is None:
                t0 = time.perf_counter()  # the actors are up: the clock starts after this first batch
                continue
            timed_images, timed_faces = timed_images + k_images, timed_faces + k_faces
        seconds = time.perf_counter() - t0
    return {"engine": f"local Ray, {actors} actors", "images": n, "faces": faces, "seconds": round(seconds, 1),
            "images_per_s": round(timed_images / seconds, 1), "faces_per_s": round(timed_faces / seconds, 1)}
