"""A job over many images on every core: N worker processes, each loading the model once.

Inputs are consumed lazily in chunks; at most a few chunks per worker are in flight, so neither the
listing nor the images pile up in memory, however long the stream. Answers come back in input order
(or, with ``ordered=False``, as soon as each chunk is done — faster when chunks differ in cost). A
file that cannot be read or decoded is that file's error row; nothing stops the job.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from agegender.batch.sources import Source, read_source
from agegender.imaging import ImageError
from agegender.predictor import ImageResult, PredictorSpec

#: Images per chunk sent to a worker (its faces are batched through the networks together).
CHUNK = 16
#: Chunks in flight per worker: enough to keep every worker busy, few enough to bound memory.
IN_FLIGHT = 2


@dataclass
class Answer:
    """One input's result, with the file's size and modification time (for the answers file)."""

    source: Source
    result: ImageResult
    file_size: int | None = None
    file_mtime: float | None = None


_predictor = None


def _init(spec: PredictorSpec) -> None:
    import signal

    global _predictor
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the job in the parent, which ends the pool
    _predictor = spec.load()


def _answer_chunk(chunk: list[Source], max_faces: int | None = None, predictor=None) -> list[Answer]:
    """Read, decode and predict one chunk (in a worker, or in this process with ``predictor``)."""
    pred = predictor or _predictor
    out: list[Answer | None] = []
    readable: list[tuple[int, bytes]] = []
    for i, src in enumerate(chunk):
        if src.error:
            out.append(Answer(src, ImageResult(src.name, error=src.error)))
            continue
        try:
            data, size, mtime = read_source(src)
        except ImageError as e:
            out.append(Answer(src, ImageResult(src.name, error=e.problem)))
            continue
        out.append(Answer(src, ImageResult(src.name), size, mtime))
        readable.append((i, data))
    results = pred.predict_many([d for _, d in readable], max_faces=max_faces, names=[chunk[i].name for i, _ in readable])
    for (i, _), res in zip(readable, results):
        out[i].result = res.detached()
    return out


def _chunks(items: Iterable[Source], size: int) -> Iterator[list[Source]]:
    chunk: list[Source] = []
    for it in items:
        chunk.append(it)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def predict_files(sources: Iterable[Source], spec: PredictorSpec | None = None, workers: int | None = None,
                  ordered: bool = True, chunk: int = CHUNK, max_faces: int | None = None,
                  predictor=None) -> Iterator[Answer]:
    """Answers for every source, computed by ``workers`` processes (default: the usable cores).

    ``workers=1`` runs in this process (with ``predictor`` if given, else one built from ``spec``).
    """
    from agegender.resources import usable_cores

    spec = spec or PredictorSpec()
    workers = workers or usable_cores()
    if workers <= 1:
        pred = predictor or spec.load()
        for c in _chunks(sources, chunk):
            yield from _answer_chunk(c, max_faces, pred)
        return
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_init, initargs=(spec,)) as pool:
        pending: deque = deque()
        chunks = _chunks(sources, chunk)
        limit = workers * IN_FLIGHT

        def submit() -> bool:
            c = next(chunks, None)
            if c is None:
                return False
            pending.append(pool.apply_async(_answer_chunk, (c, max_faces)))
            return True

        more = True
        while more and len(pending) < limit:
            more = submit()
        while pending:
            if ordered:
                done = pending.popleft()
            else:
                done = next((p for p in pending if p.ready()), None)
                if done is None:
                    pending[0].wait(0.05)
                    continue
                pending.remove(done)
            yield from done.get()
            if more:
                more = submit()


def usable_workers(requested: int | None) -> int:
    """``--workers`` as given, else the usable cores (never more processes than the machine has cores × 4)."""
    from agegender.resources import max_threads, usable_cores

    return max(1, min(requested or usable_cores(), max_threads()))


def default_workers_for(args: list[str]) -> bool:
    """Whether a job is big enough for worker processes by default: a folder, glob, manifest, URL or many files."""
    from agegender.batch.sources import MANIFEST_SUFFIXES, is_url
    from agegender.paths import has_magic

    return len(args) > CHUNK or any(is_url(a) or has_magic(a) or os.path.isdir(a) or a.lower().endswith(MANIFEST_SUFFIXES)
                                    for a in args)
