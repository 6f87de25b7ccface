"""The second and third layers: a hardened DuckDB connection, and limits on every query.

One read-only connection per generation of the store file, one cursor per
query (DuckDB 2.0 refuses a connection shared across threads). The hardening
order matters (see FACTS.md): connection-time settings, then
``max_temp_directory_size`` (ignored when passed at connect time), then
``enable_external_access=false``, then ``lock_configuration=true``.

The store file is opened by ``ATTACH … (READ_ONLY)`` on a fresh in-memory
database rather than ``duckdb.connect(path)``: DuckDB caches database
instances by path within a process, so after ``sync`` swaps in a new file a
second ``connect(path)`` would hand back the old, still-open one.

Refresh: every query stats the store path; when ``sync`` has swapped a new
file in (another inode, size or mtime), new queries open a new generation while
queries in flight finish on the old one, which closes when its last query ends.

Slots: a query is validated and run inside one of its client's slots
(:class:`~catalog_synth.serve.limits.QuerySlots`: a share per client, handed out fairly).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from catalog_synth.core.sections import SandboxConfig
from catalog_synth.serve.cancellation import Cancellation
from catalog_synth.serve.errors import (
    QueryCancelled,
    QueryError,
    QueryFailed,
    QueryRefused,
    QueryTimeout,
    ResultTooLarge,
    SandboxBusy,
    StoreUnavailable,
    TableNotFound,
    TooManyQueries,
)
from catalog_synth.serve.limits import LOCAL_CLIENT, QuerySlots
from catalog_synth.serve.query_shapes import ShapeCache
from catalog_synth.serve.results import (
    QueryResult,
    ResultColumn,
    RowsResult,
    arrow_rows,
    value_bytes,
)
from catalog_synth.serve.validator import DUCKDB, TableCatalog, ValidatedQuery, validate
from catalog_synth.store.copies import StoredTable, read_tables

__all__ = [
    "Cancellation",
    "QueryEngine",
    "QueryError",
    "QueryFailed",
    "QueryRefused",
    "QueryResult",
    "QueryTimeout",
    "ResultColumn",
    "ResultTooLarge",
    "RowsResult",
    "SandboxBusy",
    "StoreUnavailable",
    "TableNotFound",
    "TooManyQueries",
    "arrow_rows",
    "connect_hardened",
]

log = logging.getLogger(__name__)

_Result = TypeVar("_Result", QueryResult, RowsResult)

STORE_ALIAS = "store"
_BATCH_ROWS = 2048
# DuckDB errors whose text only names things from the query and the schema;
# any other error may quote a value (a failed cast, say) and is described by its kind.
_NAME_ONLY_ERRORS = (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException)


# DuckDB settings every sandbox connection starts with: no extension loaded or installed, no
# Python object read by name.
LOCKED_DOWN = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "python_enable_replacements": False,
}


def connect_hardened(store_path: Path, settings: SandboxConfig, temp_dir: Path) -> duckdb.DuckDBPyConnection:
    """Open the store read-only with every sandbox setting applied and the configuration locked."""
    connection = duckdb.connect(
        ":memory:",
        config={
            **LOCKED_DOWN,
            "threads": settings.threads,
            "memory_limit": settings.memory_limit,
            "temp_directory": str(temp_dir),
            "max_execution_time": int(settings.timeout_seconds * 1000),
        },
    )
    try:
        connection.execute(f"ATTACH {_sql_string(str(store_path))} AS {STORE_ALIAS} (READ_ONLY)")
        connection.execute(f"USE {STORE_ALIAS}")
        connection.execute("DETACH memory")
        connection.execute(f"SET max_temp_directory_size = {_sql_string(settings.max_temp_directory_size)}")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
    except BaseException:
        connection.close()
        raise
    return connection


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _file_identity(path: Path) -> tuple[int, int, int, int]:
    stat = os.stat(path)
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@dataclass(eq=False)
class _Generation:
    """One opened version of the store file, and the queries still running on it."""

    identity: tuple[int, int, int, int]
    connection: duckdb.DuckDBPyConnection
    catalog: TableCatalog
    temp_dir: Path
    users: int = 0
    retired: bool = False
    default_dialect: str = field(init=False)

    def __post_init__(self) -> None:
        dialects = {t.dialect for t in self.catalog.tables if t.dialect}
        self.default_dialect = dialects.pop() if len(dialects) == 1 else DUCKDB
        self.shapes = ShapeCache(lambda sql, dialect: validate(sql, self.catalog, dialect))

    def validate(self, sql: str, dialect: str) -> ValidatedQuery:
        """Validate against this generation's allow-list; a query seen before, or one differing
        only in its numbers, skips sqlglot's parser."""
        return self.shapes.validate(sql, dialect)

    @classmethod
    def open(cls, path: Path, settings: SandboxConfig) -> _Generation:
        identity = _file_identity(path)
        temp_dir = Path(tempfile.mkdtemp(prefix="catalog-synth-sandbox-"))
        try:
            connection = connect_hardened(path, settings, temp_dir)
            cursor = connection.cursor()
            try:
                catalog = TableCatalog(read_tables(cursor))
            finally:
                cursor.close()
        except BaseException:
            shutil.rmtree(temp_dir, ignore_errors=True)
            raise
        return cls(identity, connection, catalog, temp_dir)

    def close(self) -> None:
        self.connection.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


class QueryEngine:
    """Runs validated queries against the live store under the sandbox's limits; thread-safe."""

    def __init__(self, store_path: Path, settings: SandboxConfig):
        self.store_path = Path(store_path)
        self.settings = settings
        self._lock = threading.Lock()
        self._generation: _Generation | None = None
        self.slots = QuerySlots(
            settings.max_concurrent_queries, settings.queries_per_client, wait_seconds=settings.timeout_seconds
        )

    def run(
        self, sql: str, dialect: str | None = None, limit: int | None = None, client: str = LOCAL_CLIENT
    ) -> QueryResult:
        """Validate ``sql`` (written in ``dialect``, default: the warehouse's) and run it in one of
        ``client``'s slots.

        Raises :class:`QueryRefused`, :class:`QueryFailed`, :class:`QueryTimeout`,
        :class:`ResultTooLarge`, :class:`TooManyQueries`, :class:`SandboxBusy` or
        :class:`StoreUnavailable`.
        """
        return self._validated_run(sql, dialect, limit, client, self._execute)

    def run_rows(
        self, sql: str, dialect: str | None = None, limit: int | None = None, client: str = LOCAL_CLIENT,
        cancellation: Cancellation | None = None,
    ) -> RowsResult:
        """:meth:`run` with the rows as Python tuples, as the PostgreSQL endpoint sends them, fetched
        without Arrow (a point lookup in about half the time). Intervals still go through Arrow,
        which keeps their months apart from their days. ``cancellation`` lets another thread stop
        the DuckDB work (:class:`QueryCancelled`)."""
        def execute(generation: _Generation, sql: str, limit: int, started: float) -> RowsResult:
            return self._execute_rows(generation, sql, limit, started, cancellation or Cancellation())

        return self._validated_run(sql, dialect, limit, client, execute)

    def _validated_run(self, sql: str, dialect: str | None, limit: int | None, client: str,
                       execute: Callable[[_Generation, str, int, float], _Result]) -> _Result:
        started = time.perf_counter()
        with self.slots.hold(client), self._current() as generation:
            validated = generation.validate(sql, dialect or generation.default_dialect)
            return execute(generation, validated.sql, self._row_limit(limit), started)

    def tables(self) -> list[StoredTable]:
        with self._current() as generation:
            return list(generation.catalog.tables)

    def default_dialect(self) -> str:
        with self._current() as generation:
            return generation.default_dialect

    def table(self, name: str) -> StoredTable:
        """A synthetic table by logical name (case-insensitive)."""
        with self._current() as generation:
            return generation.catalog.named(name)

    def preview(self, name: str, client: str = LOCAL_CLIENT) -> tuple[StoredTable, QueryResult]:
        """The table's metadata and its preview rows (its first ``preview_rows`` rows)."""
        started = time.perf_counter()
        with self.slots.hold(client), self._current() as generation:
            table = generation.catalog.named(name)
            sql = f"SELECT * FROM {table.physical_sql} LIMIT {int(table.preview_rows)}"
            return table, self._execute(generation, sql, self._row_limit(table.preview_rows), started)

    def close(self) -> None:
        """Close the store once the queries in flight have finished."""
        with self._lock:
            if self._generation is not None:
                self._retire(self._generation)
                self._generation = None

    def _row_limit(self, requested: int | None) -> int:
        if requested is not None and requested < 1:
            raise QueryRefused("limit must be at least 1")
        return min(requested or self.settings.row_limit, self.settings.row_limit)

    @contextmanager
    def _current(self) -> Iterator[_Generation]:
        generation = self._acquire()
        try:
            yield generation
        finally:
            self._release(generation)

    def _acquire(self) -> _Generation:
        try:
            identity = _file_identity(self.store_path)
        except FileNotFoundError:
            raise StoreUnavailable("no synthetic store yet: run 'catalog-synth sync' first") from None
        with self._lock:
            if self._generation is None or self._generation.identity != identity:
                self._replace_generation()
            generation = self._generation
            assert generation is not None
            generation.users += 1
            return generation

    def _replace_generation(self) -> None:
        try:
            fresh = _Generation.open(self.store_path, self.settings)
        except duckdb.Error as exc:
            log.error("cannot open the synthetic store %s: %s", self.store_path, exc)
            raise StoreUnavailable("the synthetic store cannot be opened (see the server log)") from None
        if self._generation is not None:
            self._retire(self._generation)
        log.info("serving the synthetic store %s (%d tables)", self.store_path, len(fresh.catalog.tables))
        self._generation = fresh

    def _retire(self, generation: _Generation) -> None:
        generation.retired = True
        if generation.users == 0:
            generation.close()

    def _release(self, generation: _Generation) -> None:
        with self._lock:
            generation.users -= 1
            if generation.retired and generation.users == 0:
                generation.close()

    def _execute(self, generation: _Generation, sql: str, limit: int, started: float) -> QueryResult:
        """Run trusted or validated DuckDB text on a fresh cursor of ``generation``."""
        cursor = generation.connection.cursor()
        try:
            relation = cursor.sql(sql)
            columns = [ResultColumn(name, str(kind)) for name, kind in zip(relation.columns, relation.types)]
            data, truncated = self._collect(relation.to_arrow_reader(_BATCH_ROWS), limit)
        except duckdb.Error as exc:
            raise self._translate(exc) from None
        finally:
            cursor.close()
        elapsed_ms = (time.perf_counter() - started) * 1000
        return QueryResult(columns=columns, data=data, truncated=truncated, elapsed_ms=elapsed_ms)

    def _execute_rows(
        self, generation: _Generation, sql: str, limit: int, started: float, cancellation: Cancellation
    ) -> RowsResult:
        cursor = generation.connection.cursor()
        try:
            with cancellation.watching(cursor):
                return self._rows(cursor, sql, limit, started)
        except duckdb.Error as exc:
            if cancellation.requested:
                raise QueryCancelled("canceling statement due to user request") from None
            raise self._translate(exc) from None
        finally:
            cursor.close()

    def _rows(self, cursor: duckdb.DuckDBPyConnection, sql: str, limit: int, started: float) -> RowsResult:
        cursor.execute(sql)
        columns = [ResultColumn(name, str(kind)) for name, kind, *_ in cursor.description or ()]
        if any("INTERVAL" in column.type for column in columns):
            with warnings.catch_warnings():  # "an extra copy of the rows": rare enough
                warnings.simplefilter("ignore", UserWarning)
                data, truncated = self._collect(cursor.to_arrow_reader(_BATCH_ROWS), limit)
            rows = arrow_rows(data)
        else:
            rows, truncated = self._fetch(cursor, limit)
        return RowsResult(columns, rows, truncated, (time.perf_counter() - started) * 1000)

    def _fetch(self, cursor: duckdb.DuckDBPyConnection, limit: int) -> tuple[list[tuple[Any, ...]], bool]:
        """:meth:`_collect` for Python rows."""
        rows: list[tuple[Any, ...]] = []
        size = 0
        while len(rows) <= limit:
            chunk = cursor.fetchmany(min(_BATCH_ROWS, limit + 1 - len(rows)))
            if not chunk:
                break
            size += sum(map(value_bytes, chunk))
            self._check_size(size)
            rows += chunk
        return rows[:limit], len(rows) > limit

    def _collect(self, reader: pa.RecordBatchReader, limit: int) -> tuple[pa.Table, bool]:
        """Read at most ``limit`` rows (one more to detect truncation) within the byte limit."""
        batches: list[pa.RecordBatch] = []
        rows = size = 0
        for batch in reader:
            batch = batch.slice(0, limit + 1 - rows)
            size += batch.nbytes
            self._check_size(size)
            batches.append(batch)
            rows += batch.num_rows
            if rows > limit:
                break
        data = pa.Table.from_batches(batches, schema=reader.schema)
        return data.slice(0, limit), data.num_rows > limit

    def _check_size(self, size: int) -> None:
        if size > self.settings.max_response_bytes:
            raise ResultTooLarge(
                f"the result is larger than {self.settings.max_response_bytes} bytes: "
                "select fewer columns or add a LIMIT"
            )

    def _translate(self, exc: duckdb.Error) -> QueryError:
        if isinstance(exc, duckdb.InterruptException):
            return QueryTimeout(f"the query was stopped after the sandbox's {self.settings.timeout_seconds:g} s limit")
        if isinstance(exc, duckdb.OutOfMemoryException):
            return QueryFailed(
                f"the query needs more memory than the sandbox allows ({self.settings.memory_limit} of memory, "
                f"{self.settings.max_temp_directory_size} of temporary disk)"
            )
        if isinstance(exc, _NAME_ONLY_ERRORS):
            return QueryFailed(str(exc).strip().splitlines()[0])
        if isinstance(exc, duckdb.PermissionException):
            return QueryRefused("the sandbox has no access to files, the network or settings")
        return QueryFailed(f"DuckDB could not run the query ({_error_kind(exc)}); details are withheld")


def _error_kind(exc: duckdb.Error) -> str:
    """``ConversionException`` -> ``conversion error``: the kind of error without its text."""
    name = type(exc).__name__.removesuffix("Exception")
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return f"{words} error"
