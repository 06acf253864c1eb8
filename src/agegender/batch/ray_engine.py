"""The same job on Ray: a Ray Data pipeline whose actors each hold one model (``agegender[ray]``).

``run`` lists the inputs on the driver as :func:`~agegender.batch.sources.iter_sources` does (folders,
globs, manifests, fsspec URLs — in chunks, never the whole listing at once), hands them to Ray Data,
and lets an actor pool read, decode, detect and predict in ``map_batches`` — each actor loads the model
once — then writes Parquet. Without ``address`` it starts a local Ray on this machine; with one
(``ray://head:10001`` or ``auto``) it runs unchanged on an existing cluster, whose workers need
agegender installed and read access to the inputs (a shared file system, or object storage URLs).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from agegender.batch.output import arrow_schema, done_sources, output_format
from agegender.batch.rows import rows_of
from agegender.batch.sources import Source, iter_sources
from agegender.predictor import PredictorSpec

#: Sources per ``from_items`` call on the driver: the most of the listing held there at once.
LISTING_CHUNK = 10_000


class RayPredictor:
    """A Ray Data actor: one model, loaded once; a batch of sources → their answer rows (Arrow)."""

    def __init__(self, spec: PredictorSpec, max_faces: int | None = None):
        self.predictor = spec.load()
        self.max_faces = max_faces

    def __call__(self, batch):
        import pyarrow as pa

        from agegender.batch.run import _answer_chunk

        cols = batch.to_pydict()
        sources = [Source(n, u, e or None) for n, u, e in zip(cols["name"], cols["url"], cols["error"])]
        answers = _answer_chunk(sources, self.max_faces, self.predictor)
        rows = [r for a in answers for r in rows_of(a.result, a.file_size, a.file_mtime)]
        return pa.Table.from_pylist(rows, schema=arrow_schema())


def init(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect to ``address`` (an existing cluster), or start a local Ray with ``num_cpus``."""
    import logging

    import ray

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # Ray Data's per-operator INFO lines are not for our users
    if ray.is_initialized():
        return
    kw = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **kw)
    else:
        from agegender.resources import usable_cores

        ray.init(num_cpus=num_cpus or usable_cores(), **kw)


def _dataset(inputs: Iterable[str], skip: set[str], manifest_root: str | None):
    import ray

    parts, chunk, total = [], [], 0
    for s in iter_sources(inputs, manifest_root):
        if s.name in skip:
            continue
        chunk.append({"name": s.name, "url": s.url, "error": s.error or ""})
        if len(chunk) >= LISTING_CHUNK:
            parts.append(ray.data.from_items(chunk))
            total += len(chunk)
            chunk = []
    if chunk:
        parts.append(ray.data.from_items(chunk))
        total += len(chunk)
    if not parts:
        return None, 0
    ds = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
    return ds, total


def answers_dataset(inputs: Iterable[str], spec: PredictorSpec, concurrency: int | None = None, batch_size: int = 16,
                    skip: set[str] | None = None, max_faces: int | None = None, manifest_root: str | None = None):
    """The pipeline: inputs → actor pool (read, decode, detect, predict) → answer rows; ``(dataset, n inputs)``."""
    import ray

    ds, n = _dataset(inputs, skip or set(), manifest_root)
    if ds is None:
        return None, 0
    actors = concurrency or max(1, int(ray.cluster_resources().get("CPU", 1)))
    return ds.map_batches(RayPredictor, fn_constructor_args=(spec, max_faces), compute=ray.data.ActorPoolStrategy(size=actors),
                          batch_size=batch_size, batch_format="pyarrow", num_cpus=1), n


def run(inputs: list[str], out: str | Path, spec: PredictorSpec | None = None, address: str | None = None,
        concurrency: int | None = None, batch_size: int = 16, resume: bool = False, num_cpus: int | None = None,
        max_faces: int | None = None, manifest_root: str | None = None) -> dict:
    """Answer every input with a Ray actor pool and append the rows to the Parquet folder ``out``.

    ``concurrency``: actors (one model each; default: the cluster's CPUs); ``batch_size``: images per
    ``map_batches`` call. With ``resume``, images already in ``out`` are skipped.
    """
    remote = "://" in str(out)  # e.g. s3://bucket/answers.parquet, written by the cluster's workers
    if output_format(out) != ".parquet":
        raise ValueError(f"{out}: the Ray engine writes Parquet (a folder ending in .parquet)")
    if not resume and (done_sources(out) if remote else Path(out).exists()):
        raise FileExistsError(f"{out}: already exists (add --resume to continue it, or choose another --out)")
    spec = spec or PredictorSpec()
    init(address, num_cpus)
    skip = done_sources(out) if resume else set()
    t0 = time.perf_counter()
    answered, n = answers_dataset(inputs, spec, concurrency, batch_size, skip, max_faces, manifest_root)
    if answered is not None:
        if not remote:
            Path(out).mkdir(parents=True, exist_ok=True)
        answered.write_parquet(str(out) if remote else str(Path(out).resolve()))
    return {"images": n, "skipped": len(skip), "seconds": time.perf_counter() - t0}
