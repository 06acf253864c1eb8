"""`agegender serve` as a child process on a free loopback port — for the load and fuzz benchmarks,
the browser speed scripts and the tests, which all need a real server of their own."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerFailed(RuntimeError):
    """The server exited or did not answer in time; the message ends with its log."""


def start(*args: str, ready: str = "/health", timeout: float = 180.0, **popen_kw) -> tuple[subprocess.Popen, str]:
    """Start ``agegender serve ARGS`` (quiet) and wait until ``ready`` answers 200; ``(process, base URL)``.

    The server's output goes to a temporary log file (``process.log_path``), never to a pipe nobody
    reads (a full pipe would block the server).
    """
    import httpx

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="agegender-serve-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "agegender", "serve", "--port", str(port), "--quiet", *args],
                            stdout=log, stderr=subprocess.STDOUT, **popen_kw)
    proc.log_path = log.name
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + ready, timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise ServerFailed("the server did not start: " + open(log.name, errors="replace").read()[-2000:])


def stop(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
