"""Serving the app on uvicorn so that slow or abusive clients cannot take the server down.

uvicorn has no deadline for a request's head or body, so a client that sends its headers a byte at a
time (slowloris) holds a connection — and a file descriptor — for as long as it likes; a thousand of
them exhaust the process's descriptors and every other client times out. :class:`GuardedH11Protocol`
adds what is missing, per connection:

* a **header deadline**: the request line and headers must be complete within ``header_timeout``
  seconds of the first byte (or of the connection);
* a **body deadline**: the body must be complete within ``body_timeout`` seconds of the headers;
* a **connection cap** below the descriptor limit: at the cap, the connection that has waited longest
  without sending a complete request head makes room (slow clients go first, working ones stay);
  if every connection is busy with a real request, the new one is closed at once.

Log lines that repeat under attack (accept errors, invalid requests) are throttled by
:class:`Throttle`, so an attack cannot fill the disk with the same message.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

#: Descriptors kept free for everything but client connections (model files, worker pipes, logs).
FD_RESERVE = 64


@dataclass
class ConnectionLimits:
    header_timeout: float = 10.0     # seconds for the request line + headers
    body_timeout: float = 60.0       # seconds for the whole body once the headers are in
    max_connections: int = 1000      # open client connections (lowered to fit the descriptor limit)


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return the (new) soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


#: Accept bursts that may hold descriptors at once before the protocol sees (and evicts) them: asyncio
#: accepts a burst per loop turn, and an evicted connection's socket is closed a turn later, so under a
#: fast connection flood a few bursts can be in flight (one burst of headroom ran out on a fast machine).
BURSTS_IN_FLIGHT = 4


def accept_backlog(fd_limit: int) -> int:
    """The listen backlog, which asyncio also uses as the number of connections it accepts in one go
    (before any of them is seen by the protocol): small enough that several bursts fit under the limit."""
    return max(8, min(128, fd_limit // 16))


def effective_max_connections(requested: int, fd_limit: int) -> int:
    """The connection cap that fits under ``fd_limit`` descriptors with :data:`BURSTS_IN_FLIGHT` accept
    bursts on top (at least 8)."""
    return max(8, min(requested, fd_limit - FD_RESERVE - BURSTS_IN_FLIGHT * accept_backlog(fd_limit)))


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """An :class:`H11Protocol` subclass enforcing ``limits`` (uvicorn takes the class as ``http=``)."""

    class Guarded(GuardedH11Protocol):
        pass

    Guarded.limits = limits
    return Guarded


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header/body deadlines and a connection cap (see the module doc)."""

    limits = ConnectionLimits()
    #: connections in arrival order, shared by all connections of the process
    _arrivals: dict[GuardedH11Protocol, float] = {}

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = ""
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections and not self._evict_one():
            transport.abort()  # every other connection is busy with a real request: refuse this one
            return
        GuardedH11Protocol._arrivals[self] = time.monotonic()
        self._arm("head", self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        GuardedH11Protocol._arrivals.pop(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm("head", self.limits.header_timeout)  # the next request on a kept-alive connection
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_state()

    # ---------------------------------------------------------------- deadlines

    def _follow_state(self) -> None:
        state = self.conn.their_state
        if state is h11.SEND_BODY and self._phase != "body":
            self._arm("body", self.limits.body_timeout)
        elif state is not h11.IDLE and state is not h11.SEND_BODY:
            self._disarm()  # the request is in: the app's own time limit takes over
        elif state is h11.IDLE and self._phase == "body":
            self._disarm()

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
        self._deadline = None
        self._phase = ""

    def _expired(self) -> None:
        self._deadline = None
        logging.getLogger("agegender.server").warning(
            "closed a connection that took longer than %.0f s to send its request %s",
            self.limits.header_timeout if self._phase == "head" else self.limits.body_timeout,
            "headers" if self._phase == "head" else "body")
        self.transport.abort()

    def _waiting_for_head(self) -> bool:
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _evict_one(self) -> bool:
        """Close the oldest connection still waiting for a request head; False when there is none."""
        for proto in sorted(GuardedH11Protocol._arrivals, key=GuardedH11Protocol._arrivals.get):
            if proto is not self and proto._waiting_for_head():
                GuardedH11Protocol._arrivals.pop(proto, None)
                proto._disarm()
                proto.transport.abort()
                return True
        return False


class Throttle(logging.Filter):
    """Lets the first ``burst`` records of each message through per ``window`` seconds, then one
    summary ("… N more like it suppressed") when the window ends; keeps an attack out of the log."""

    def __init__(self, burst: int = 5, window: float = 60.0):
        super().__init__()
        self.burst, self.window = burst, window
        self._seen: dict[tuple[str, str], list] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        first = str(record.msg).split("\n", 1)[0]
        key = (record.name, first[:120])  # the first line: socket reprs and the like follow it
        now = time.monotonic()
        entry = self._seen.get(key)
        if entry is None or now - entry[0] > self.window:
            suppressed = entry[2] if entry else 0
            self._seen[key] = [now, 1, 0]
            if suppressed:
                record.msg = f"{record.msg} ({suppressed} more like it suppressed in the last {self.window:.0f} s)"
            if len(self._seen) > 1000:  # bounded memory: forget the oldest keys
                for k in sorted(self._seen, key=lambda k: self._seen[k][0])[:500]:
                    del self._seen[k]
            return True
        entry[1] += 1
        if entry[1] <= self.burst:
            return True
        entry[2] += 1
        return False


def install_throttle(names: tuple[str, ...] = ("asyncio", "uvicorn.error", "agegender.server")) -> Throttle:
    throttle = Throttle()
    for name in names:
        logging.getLogger(name).addFilter(throttle)
    return throttle
