"""Load figures for `agegender serve`: N concurrent clients for a while, then answers/s, errors by kind
and latency percentiles — and how fast the refusals (503 busy) come. Loopback addresses only: this
measures your own server. :func:`matrix` starts servers with 1, 2, … workers itself and runs every
client count against each."""

from __future__ import annotations

import asyncio
import time
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlparse

import numpy as np


def _loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    ok = host == "localhost" or (host.replace(".", "").isdigit() and ip_address(host).is_loopback) or host == "::1"
    if not ok:
        raise ValueError(f"{url}: the load check only targets this machine (localhost / 127.0.0.0/8 / ::1)")


def _pct(values: list[float]) -> dict[str, float]:
    a = np.asarray(values) if values else np.zeros(1)
    return {p: round(float(np.percentile(a, q)), 1) for p, q in (("p50", 50), ("p90", 90), ("p99", 99))} | {
        "max": round(float(a.max()), 1)}


def _request(host: str, port: int, path: str, data: bytes) -> bytes:
    """One multipart POST of ``data`` as raw HTTP/1.1 bytes, built once: the clients spend almost no
    CPU of their own, so the figures are the server's even with both on one machine."""
    boundary = "agegenderloadboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n").encode()
    return head + body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bool]:
    """Send ``request``, read one response: its status and whether the server keeps the connection."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, keep = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "connection" and value.strip().lower() == "close":
            keep = False
    await reader.readexactly(length)
    return status, keep


def run(url: str, photo: str | Path, clients: int = 4, seconds: float = 60.0, max_requests: int = 10_000,
        timeout: float = 120.0) -> dict:
    """Each client POSTs ``photo`` to ``url/api/predict`` in a loop until ``seconds`` or ``max_requests``.

    Returns answered (200) requests, errors by kind (``HTTP 503``, ``timeout``, …), latency percentiles
    of the answers and of the 503 refusals (which should come at once).
    """
    _loopback(url)
    u = urlparse(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    request = _request(host, port, "/api/predict", Path(photo).read_bytes())
    ok: list[float] = []
    busy: list[float] = []
    errors: dict[str, int] = {}
    stop_at = time.monotonic() + seconds

    async def client() -> None:
        conn = None
        while time.monotonic() < stop_at and len(ok) + sum(errors.values()) < max_requests:
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                status, keep = await asyncio.wait_for(_exchange(*conn, request), timeout)
                key = None if status == 200 else f"HTTP {status}"
                if not keep:
                    conn[1].close()
                    conn = None
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError, TimeoutError) as e:
                key = "timeout" if isinstance(e, TimeoutError) else type(e).__name__
                if conn is not None:
                    conn[1].close()
                conn = None
            dt = (time.perf_counter() - t0) * 1000
            if key is None:
                ok.append(dt)
            else:
                errors[key] = errors.get(key, 0) + 1
                if key == "HTTP 503":
                    busy.append(dt)
                    await asyncio.sleep(0.05)  # a client backs off a little before it asks again
        if conn is not None:
            conn[1].close()

    async def main() -> float:
        t0 = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.monotonic() - t0

    wall = asyncio.run(main())
    return {"clients": clients, "seconds": round(wall, 1), "ok": len(ok), "errors": errors,
            "requests_per_s": round(len(ok) / wall, 2), "latency_ms": _pct(ok),
            "busy_latency_ms": _pct(busy) if busy else None}


def matrix(photo: str | Path, workers: list[int], clients: list[int], seconds: float, extra: tuple[str, ...] = ()):
    """Yield ``(workers, result of run)`` for every worker count × client count, one server per worker count."""
    from agegender.web import local

    for w in workers:
        proc, base = local.start("--workers", str(w), "--no-access-log", *extra, ready="/ready")
        try:
            run(base, photo, clients=2, seconds=min(5.0, seconds))  # warm-up: every worker has answered once
            for c in clients:
                yield w, run(base, photo, clients=c, seconds=seconds, max_requests=10**9)
        finally:
            local.stop(proc)
