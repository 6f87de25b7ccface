"""Stopping a running query from another thread: the PostgreSQL endpoint's cancel request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from catalog_synth.serve.errors import QueryCancelled


class Cancellation:
    """A way for another thread to stop the query a run executes (a client's cancel request):
    the DuckDB work ends at once instead of at the time limit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self.requested = False

    def cancel(self) -> None:
        with self._lock:
            self.requested = True
            if self._cursor is not None:
                self._cursor.interrupt()

    @contextmanager
    def watching(self, cursor: duckdb.DuckDBPyConnection) -> Iterator[None]:
        with self._lock:
            if self.requested:
                raise QueryCancelled("canceling statement due to user request")
            self._cursor = cursor
        try:
            yield
        finally:
            with self._lock:
                self._cursor = None
