"""Query slots: a fixed number for everyone, a share per client, handed out fairly.

At most ``total`` queries run at once. One client (a bearer token, or an address when
the sandbox has no tokens) holds at most ``per_client`` of them, running or waiting: a
query past that share is refused at once (:class:`TooManyQueries`, HTTP 429), so a
client that floods the sandbox is the one told to slow down. When every slot is taken,
queries wait; a freed slot goes to the waiting client that runs the fewest queries
(first come, first served between equals), and a query that waits longer than
``wait_seconds`` is refused (:class:`SandboxBusy`, HTTP 503).
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from catalog_synth.serve.errors import SandboxBusy, TooManyQueries

LOCAL_CLIENT = "local"  # the command line: one client


@dataclass(eq=False)
class _Waiter:
    client: str
    arrival: int
    granted: threading.Event = field(default_factory=threading.Event)


class QuerySlots:
    """Thread-safe; ``with slots.hold(client):`` around each query."""

    def __init__(self, total: int, per_client: int, wait_seconds: float):
        self.total = total
        self.per_client = per_client
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._running = 0
        self._held: Counter[str] = Counter()
        self._queued: Counter[str] = Counter()
        self._waiters: list[_Waiter] = []
        self._arrivals = itertools.count()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @contextmanager
    def hold(self, client: str) -> Iterator[None]:
        self._acquire(client)
        try:
            yield
        finally:
            self._release(client)

    def _acquire(self, client: str) -> None:
        with self._lock:
            if self._held[client] + self._queued[client] >= self.per_client:
                raise TooManyQueries(
                    f"this client already runs or waits for {self.per_client} queries "
                    "(sandbox.max_queries_per_client): try again when one has finished"
                )
            if self._running < self.total and not self._waiters:
                self._take(client)
                return
            waiter = _Waiter(client, next(self._arrivals))
            self._waiters.append(waiter)
            self._queued[client] += 1
        if not waiter.granted.wait(self.wait_seconds):
            self._give_up(waiter)

    def _give_up(self, waiter: _Waiter) -> None:
        with self._lock:
            if waiter.granted.is_set():  # granted as the wait ran out: keep the slot
                return
            self._waiters.remove(waiter)
            self._forget(self._queued, waiter.client)
        raise SandboxBusy(
            f"all {self.total} query slots stayed busy for {self.wait_seconds:g} s: try again"
        )

    def _release(self, client: str) -> None:
        with self._lock:
            self._running -= 1
            self._forget(self._held, client)
            while self._waiters and self._running < self.total:
                waiter = min(self._waiters, key=lambda w: (self._held[w.client], w.arrival))
                self._waiters.remove(waiter)
                self._forget(self._queued, waiter.client)
                self._take(waiter.client)
                waiter.granted.set()

    def _take(self, client: str) -> None:
        self._running += 1
        self._held[client] += 1

    @staticmethod
    def _forget(counts: Counter[str], client: str) -> None:
        """One fewer for ``client``; clients at zero leave the table (it never grows with clients gone)."""
        counts[client] -= 1
        if counts[client] <= 0:
            del counts[client]
