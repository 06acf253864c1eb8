"""A small load check of a running `agegender serve`: N concurrent clients for a while, then the
error count and latency percentiles. Loopback addresses only: this is a check of your own server."""

from __future__ import annotations

import threading
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


def run(url: str, photo: str | Path, clients: int = 4, seconds: float = 60.0, max_requests: int = 10_000) -> dict:
    """Each client POSTs ``photo`` to ``url/api/predict`` in a loop until ``seconds`` or ``max_requests``."""
    import httpx

    _loopback(url)
    data = Path(photo).read_bytes()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(timeout=120) as c:
            while time.monotonic() < stop_at:
                with lock:
                    if len(latencies) + sum(errors.values()) >= max_requests:
                        return
                t0 = time.perf_counter()
                try:
                    r = c.post(url.rstrip("/") + "/api/predict", files={"file": ("photo.jpg", data, "image/jpeg")})
                    key = None if r.status_code == 200 else f"HTTP {r.status_code}"
                except httpx.HTTPError as e:
                    key = type(e).__name__
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    if key is None:
                        latencies.append(dt)
                    else:
                        errors[key] = errors.get(key, 0) + 1

    t_start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t_start
    lat = np.asarray(latencies) if latencies else np.zeros(1)
    return {"clients": clients, "seconds": round(wall, 1), "ok": len(latencies), "errors": errors,
            "requests_per_s": round(len(latencies) / wall, 2),
            "latency_ms": {p: round(float(np.percentile(lat, q)), 1) for p, q in (("p50", 50), ("p90", 90), ("p99", 99))}
            | {"max": round(float(lat.max()), 1)}}
