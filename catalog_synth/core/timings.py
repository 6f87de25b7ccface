"""Where the time goes: CPU and wall seconds per stage, measured in the process doing the work.

:func:`collect` opens an account (a table in a worker, a run in the calling process);
:func:`stage` charges what runs inside it to a stage of the innermost account. Stages do not
overlap: one entered inside another pauses it, time in no stage goes to ``other``, and an
account opened inside another pauses that one, so an account's stages add up to its time.
Accounts are per thread (CPU is the process's); nothing here imports more than the standard library.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

OTHER = "other"


@dataclass
class StageTimes:
    """Seconds per stage (CPU and wall), and the peak memory of the process that did the work."""

    cpu: dict[str, float] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    def add(self, other: StageTimes) -> None:
        """Add ``other``'s seconds (its memory peak is another process's, and is not merged)."""
        for mine, theirs in ((self.cpu, other.cpu), (self.wall, other.wall)):
            for name, seconds in theirs.items():
                mine[name] = mine.get(name, 0.0) + seconds

    @property
    def total_cpu(self) -> float:
        return sum(self.cpu.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "cpu": {name: round(seconds, 4) for name, seconds in self.cpu.items()},
            "wall": {name: round(seconds, 4) for name, seconds in self.wall.items()},
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }


def _now() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()  # CPU of the whole process: BLAS threads count


class _Account:
    def __init__(self, now: tuple[float, float]):
        self.times = StageTimes()
        self.running: list[str] = []
        self.mark = now

    def charge(self, now: tuple[float, float]) -> None:
        """Charge the time since the last mark to the running stage (``other`` if none)."""
        name = self.running[-1] if self.running else OTHER
        for seconds, start, end in ((self.times.cpu, self.mark[0], now[0]), (self.times.wall, self.mark[1], now[1])):
            seconds[name] = seconds.get(name, 0.0) + end - start
        self.mark = now


class _Accounts(threading.local):
    def __init__(self) -> None:
        self.open: list[_Account] = []


_ACCOUNTS = _Accounts()


@contextmanager
def collect() -> Iterator[StageTimes]:
    """A new account for what runs inside the block; the times are complete when it ends."""
    started = _now()
    if _ACCOUNTS.open:
        _ACCOUNTS.open[-1].charge(started)
    account = _Account(started)
    _ACCOUNTS.open.append(account)
    try:
        yield account.times
    finally:
        ended = _now()
        account.charge(ended)
        _ACCOUNTS.open.pop()
        account.times.peak_rss_mb = peak_rss_mb()
        if _ACCOUNTS.open:
            _ACCOUNTS.open[-1].mark = ended


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Charge the block to ``name`` in the innermost account (nothing is recorded outside one)."""
    if not _ACCOUNTS.open:
        yield
        return
    account = _ACCOUNTS.open[-1]
    account.charge(_now())
    account.running.append(name)
    try:
        yield
    finally:
        account.charge(_now())
        account.running.pop()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KB elsewhere
