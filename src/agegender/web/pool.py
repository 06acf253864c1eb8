"""A pool of predictor processes for the server, with a bounded queue and a hard time limit.

Each worker is a process (spawned, so it shares nothing with the server's threads) that loads the
model once and then answers image bytes with ``ImageResult.to_dict()`` (or, asked for a preview, with the
photo as a JPEG: decoding strangers' files also happens only in workers). The server never predicts on
its own event loop, so ``/health`` stays fast under any load. A request waits for a free worker in a
queue of at most ``queue_size`` requests; past that, :class:`PoolBusy` (the server answers 503 at
once). A request that is not answered within ``timeout`` seconds — waiting plus predicting — raises
:class:`PoolTimeout` (504); a worker that overran is killed and replaced, so one pathological image
cannot hold a worker forever.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time

from agegender.predictor import PredictorSpec


class PoolBusy(Exception):
    """Every worker is busy and the queue is full."""


class PoolTimeout(Exception):
    """No answer within the request's time limit."""


class WorkerFailed(Exception):
    """A worker died while predicting (it is replaced)."""


def _serve(conn, spec: PredictorSpec) -> None:
    """A worker's life: load the model, say so, then answer until told to stop (None) or the pipe closes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops its workers
    try:
        pred = spec.load()
    except Exception as e:  # noqa: BLE001 — reported to the server, which cannot start without models
        conn.send(("failed", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            data = conn.recv()
        except (EOFError, OSError):
            return
        if data is None:
            return
        try:
            if isinstance(data, tuple):  # ("preview", the image's bytes)
                conn.send(("ok", _preview(data[1], pred.max_pixels)))
            else:
                conn.send(("ok", pred.predict(data, name="upload").to_dict()))
        except Exception as e:  # noqa: BLE001 — one image's failure is that request's answer
            conn.send(("error", f"{type(e).__name__}: {e}"))


def _preview(data: bytes, max_pixels: int | None) -> dict:
    """``{"error": None, "jpeg": …}`` (:func:`~agegender.imaging.preview_jpeg`), or the reason it cannot be read
    as a prediction gives it."""
    from agegender.imaging import ImageError, preview_jpeg

    try:
        return {"error": None, "jpeg": preview_jpeg(data, name="upload", **({"max_pixels": max_pixels} if max_pixels else {}))}
    except ImageError as e:
        return {"error": e.problem}


class Worker:
    """One predictor process and the pipe to it; its calls block (the pool runs them in threads)."""

    def __init__(self, spec: PredictorSpec, load_timeout: float):
        self.spec = spec
        self.load_timeout = load_timeout
        self.ready = False
        self.answered = 0
        self._start()

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, self.spec), daemon=True, name="agegender-predictor")
        self.proc.start()
        child.close()
        self.ready = False

    def wait_ready(self) -> None:
        """Block until the model is loaded (raises RuntimeError when it cannot be)."""
        if not self.conn.poll(self.load_timeout):
            self.kill()
            raise RuntimeError(f"a predictor worker did not load its model within {self.load_timeout:.0f} s")
        try:
            kind, detail = self.conn.recv()
        except (EOFError, OSError):
            raise RuntimeError("a predictor worker died while loading its model") from None
        if kind != "ready":
            raise RuntimeError(f"a predictor worker could not load its model: {detail}")
        self.ready = True

    def call(self, job: bytes | tuple[str, bytes], timeout: float) -> dict:
        try:
            self.conn.send(job)
            if not self.conn.poll(timeout):
                self.kill()
                raise PoolTimeout()
            kind, payload = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.kill()
            raise WorkerFailed() from None
        if kind != "ok":
            raise WorkerFailed(payload)
        self.answered += 1
        return payload

    @property
    def alive(self) -> bool:
        return self.proc.is_alive()

    def kill(self) -> None:
        self.ready = False
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()

    def restart(self) -> None:
        self.kill()
        self._start()
        self.wait_ready()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass
        self.proc.join(timeout=3)
        self.kill()


class PredictorPool:
    """``workers`` predictor processes; ``await predict(image_bytes)`` → the result dict, ``await
    preview(image_bytes)`` → ``{"error", "jpeg"}``."""

    def __init__(self, spec: PredictorSpec, workers: int = 1, queue_size: int = 16, timeout: float = 30.0,
                 load_timeout: float = 180.0):
        if workers < 1 or queue_size < 0 or timeout <= 0:
            raise ValueError("workers ≥ 1, queue_size ≥ 0 and timeout > 0 are needed")
        self.spec, self.size, self.queue_size, self.timeout = spec, workers, queue_size, timeout
        self.load_timeout = load_timeout
        self.workers: list[Worker] = []
        self.waiting = 0          # requests waiting for a free worker
        self.busy = 0             # workers predicting right now
        self._idle: asyncio.Queue[Worker] | None = None
        self._revivals: set[asyncio.Task] = set()

    @property
    def ready(self) -> bool:
        """All workers have their model loaded (a replaced one reloads before it serves again)."""
        return len(self.workers) == self.size and all(w.ready for w in self.workers)

    async def start(self) -> None:
        """Start the workers and wait until every one has loaded the model (raises if one cannot)."""
        self._idle = asyncio.Queue()
        self.workers = [Worker(self.spec, self.load_timeout) for _ in range(self.size)]
        await asyncio.gather(*(asyncio.to_thread(w.wait_ready) for w in self.workers))
        for w in self.workers:
            self._idle.put_nowait(w)

    async def stop(self) -> None:
        for t in list(self._revivals):
            t.cancel()
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in self.workers), return_exceptions=True)

    @property
    def full(self) -> bool:
        """No worker is free and the queue is full: a new request would be refused."""
        return self._idle is not None and self._idle.empty() and self.waiting >= self.queue_size

    async def predict(self, data: bytes) -> dict:
        return await self._run(data)

    async def preview(self, data: bytes) -> dict:
        return await self._run(("preview", data))

    async def _run(self, job: bytes | tuple[str, bytes]) -> dict:
        assert self._idle is not None, "start() the pool first"
        if self.full:
            raise PoolBusy()
        t0 = time.monotonic()
        self.waiting += 1
        try:
            worker = await asyncio.wait_for(self._idle.get(), self.timeout)
        except TimeoutError:
            raise PoolTimeout() from None
        finally:
            self.waiting -= 1
        self.busy += 1
        healthy = False
        try:
            result = await asyncio.to_thread(worker.call, job, max(0.05, self.timeout - (time.monotonic() - t0)))
            healthy = True
            return result
        except WorkerFailed:
            healthy = worker.alive  # an error answer from a live worker: it goes on serving
            raise
        finally:
            self.busy -= 1
            if healthy:
                self._idle.put_nowait(worker)
            else:
                self._revive(worker)

    def _revive(self, worker: Worker) -> None:
        """Replace a killed or dead worker in the background; it serves again once its model is loaded."""

        async def revive():
            try:
                await asyncio.to_thread(worker.restart)
                self._idle.put_nowait(worker)
            except RuntimeError:
                await asyncio.sleep(5)
                self._revive(worker)

        task = asyncio.get_running_loop().create_task(revive())
        self._revivals.add(task)
        task.add_done_callback(self._revivals.discard)
