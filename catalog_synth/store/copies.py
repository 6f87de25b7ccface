"""The synthetic store: one DuckDB file holding every synthetic copy.

A sync never writes the live file. :meth:`Store.writer` copies the live file to a
private temporary file, writes there, and :meth:`StoreWriter.commit` swaps it in
with ``os.replace`` — so a reader (the sandbox holds the file open read-only)
never sees a half-written table, and a crash leaves the last good store intact.

Layout: the table ``schema.table`` of a warehouse is ``schema.table`` in the
store; with several warehouses configured its logical name is
``warehouse.schema.table`` and it is stored in the DuckDB schema
``warehouse__schema`` (a DuckDB file has one catalog). The metadata table
``_catalog_synth.tables`` maps logical names to physical ones and keeps the
aggregates (quality, gate results, column classes) — never real values.
``_catalog_synth.settled`` remembers why the last sync did not publish a table (it was skipped,
failed the privacy gate, or was refused), with the fingerprint it had: an unchanged table is
not tried again on every run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from catalog_synth.core.rule_notes import rules_of
from catalog_synth.core.types import ColumnInfo, ColumnKind, SyntheticTable, TableRef

if TYPE_CHECKING:
    import pandas as pd

META_SCHEMA = "_catalog_synth"
META_TABLE = f"{META_SCHEMA}.tables"
SETTLED_TABLE = f"{META_SCHEMA}.settled"

_META_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {META_SCHEMA};
CREATE TABLE IF NOT EXISTS {META_TABLE} (
    logical_name VARCHAR PRIMARY KEY,
    warehouse VARCHAR NOT NULL,
    schema_name VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    physical_schema VARCHAR NOT NULL,
    physical_table VARCHAR NOT NULL,
    dialect VARCHAR,
    row_count BIGINT NOT NULL,
    preview_rows INTEGER NOT NULL,
    columns JSON NOT NULL,
    classes JSON,
    dropped_columns JSON,
    quality JSON,
    gate JSON,
    fingerprint VARCHAR,
    synced_at TIMESTAMPTZ NOT NULL
);
-- Per-relationship integrity and cardinality (catalog_synth.link); added after the first release.
ALTER TABLE {META_TABLE} ADD COLUMN IF NOT EXISTS relations JSON;
-- How the copy was made ("reference table: labels kept", "generated column by column").
ALTER TABLE {META_TABLE} ADD COLUMN IF NOT EXISTS notes JSON;
-- What the generator did, and a rebalanced copy's class shares (aggregates); added with generators.
ALTER TABLE {META_TABLE} ADD COLUMN IF NOT EXISTS generator JSON;
ALTER TABLE {META_TABLE} ADD COLUMN IF NOT EXISTS rebalance JSON;
-- Tables the last sync did not publish for a reason that holds while their fingerprint does
-- (skipped, failed the gate, refused): status and reason (counts and names, never a value).
CREATE TABLE IF NOT EXISTS {SETTLED_TABLE} (
    logical_name VARCHAR PRIMARY KEY,
    warehouse VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    settled_at TIMESTAMPTZ NOT NULL
);
"""

_DUCKDB_TYPES = {
    ColumnKind.INTEGER: "BIGINT",
    ColumnKind.FLOAT: "DOUBLE",
    ColumnKind.BOOLEAN: "BOOLEAN",
    ColumnKind.DATE: "DATE",
    ColumnKind.DATETIME: "TIMESTAMP",
    ColumnKind.STRING: "VARCHAR",
    ColumnKind.UUID: "UUID",
}


def duckdb_type(column: ColumnInfo) -> str:
    if column.kind is ColumnKind.DECIMAL:
        precision = min(column.precision or 18, 38)
        scale = min(column.scale if column.scale is not None else 2, precision)
        return f"DECIMAL({precision},{scale})"
    return _DUCKDB_TYPES.get(column.kind, "VARCHAR")


def _column_entry(column: ColumnInfo, primary_key: tuple[str, ...]) -> dict[str, Any]:
    """A column of ``_catalog_synth.tables.columns``; ``primary_key`` only on key columns."""
    entry: dict[str, Any] = {"name": column.name, "type": duckdb_type(column), "sql_type": column.sql_type}
    if column.name in primary_key:
        entry["primary_key"] = True
    return entry


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def logical_name(ref: TableRef, multi_warehouse: bool) -> str:
    return f"{ref.warehouse}.{ref.qualified}" if multi_warehouse else ref.qualified


def physical_name(ref: TableRef, multi_warehouse: bool) -> tuple[str, str]:
    schema = f"{ref.warehouse}__{ref.schema}" if multi_warehouse else ref.schema
    return schema, ref.name


@dataclass(frozen=True)
class StoredTable:
    """A row of ``_catalog_synth.tables``: everything the sandbox and reports show."""

    logical_name: str
    warehouse: str
    schema_name: str
    table_name: str
    physical_schema: str
    physical_table: str
    dialect: str | None
    row_count: int
    preview_rows: int
    columns: list[dict[str, Any]]
    classes: dict[str, Any]
    dropped_columns: dict[str, str]
    quality: dict[str, float] | None
    gate: dict[str, Any] | None
    fingerprint: str | None
    synced_at: datetime
    # One entry per foreign key of the table: integrity, cardinality, join check (aggregates).
    relations: list[dict[str, Any]] | None = None
    notes: list[str] | None = None
    generator: dict[str, Any] | None = None
    rebalance: dict[str, Any] | None = None

    @property
    def physical_sql(self) -> str:
        return f"{quote(self.physical_schema)}.{quote(self.physical_table)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.logical_name,
            "warehouse": self.warehouse,
            "schema": self.schema_name,
            "table": self.table_name,
            "row_count": self.row_count,
            "columns": self.columns,
            "classes": self.classes,
            "dropped_columns": self.dropped_columns,
            "quality": self.quality,
            "gate": self.gate,
            "synced_at": self.synced_at.isoformat(),
            "relations": self.relations or [],
            "notes": self.notes or [],
            "rules": rules_of(self.notes),
            "generator": self.generator,
            "rebalance": self.rebalance,
        }


@dataclass(frozen=True)
class SettledOutcome:
    """A row of ``_catalog_synth.settled``: why the last sync did not publish a table."""

    logical_name: str
    warehouse: str
    status: str
    reason: str
    fingerprint: str
    settled_at: datetime


class StoreError(RuntimeError):
    pass


class Store:
    """Read access to the live store, and the entry point for writers."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A plain read-only connection (the sandbox adds its own hardening)."""
        if not self.exists():
            raise StoreError(f"no synthetic store at {self.path}: run 'catalog-synth sync' first")
        return duckdb.connect(str(self.path), read_only=True)

    def tables(self) -> list[StoredTable]:
        with self.connect() as con:
            return read_tables(con)

    def table(self, name: str) -> StoredTable:
        """Look up a table by the names ``query`` accepts: ``schema.table`` (the logical name),
        ``warehouse.schema.table``, or just ``table`` while unambiguous (case-insensitive)."""
        tables = self.tables()
        for table in tables:
            if name in (table.logical_name, f"{table.warehouse}.{table.schema_name}.{table.table_name}"):
                return table
        wanted = tuple(part.lower() for part in name.split("."))
        matches = [t for t in tables if (t.warehouse.lower(), t.schema_name.lower(), t.table_name.lower())[-len(wanted):] == wanted]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise StoreError(f"table name {name!r} is ambiguous: write one of {', '.join(t.logical_name for t in matches)}")
        known = ", ".join(t.logical_name for t in tables) or "none"
        raise StoreError(f"no synthetic table {name!r} in the store (known: {known})")

    def preview(self, name: str, rows: int | None = None) -> pd.DataFrame:
        import pandas as pd

        table = self.table(name)
        limit = table.preview_rows if rows is None else rows
        with self.connect() as con:
            cursor = con.execute(f"SELECT * FROM {table.physical_sql} LIMIT {int(limit)}")
            # Python values, not .df(): DATE columns stay dates instead of midnight timestamps.
            return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description], dtype=object)

    @contextmanager
    def writer(self) -> Iterator[StoreWriter]:
        """Write into a private copy of the store, swapped in on success.

        On an exception the copy is discarded and the live store is untouched.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temporaries()
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        if self.exists():
            shutil.copyfile(self.path, temporary)
        writer = StoreWriter(temporary)
        try:
            yield writer
        except BaseException:
            writer.close()
            temporary.unlink(missing_ok=True)
            raise
        writer.close()
        _fsync(temporary)
        os.replace(temporary, self.path)
        _fsync_dir(self.path.parent)

    def _remove_stale_temporaries(self) -> None:
        """Drop copies left by a run that was killed (their pid is gone)."""
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            pid = stale.name[len(self.path.name) + 2 : -len(".tmp")]
            if pid.isdigit() and not _pid_alive(int(pid)):
                stale.unlink(missing_ok=True)
                Path(f"{stale}.wal").unlink(missing_ok=True)


class StoreWriter:
    def __init__(self, path: Path):
        self.path = path
        self.con = duckdb.connect(str(path))
        self.con.execute(_META_DDL)

    def write(
        self,
        table: SyntheticTable,
        *,
        multi_warehouse: bool,
        dialect: str | None = None,
        fingerprint: str | None = None,
    ) -> str:
        """Replace one table and its metadata in a single transaction; returns its logical name."""
        name = logical_name(table.ref, multi_warehouse)
        schema, physical = physical_name(table.ref, multi_warehouse)
        columns = [c for c in table.info.columns if c.name in table.data.columns]
        target = f"{quote(schema)}.{quote(physical)}"
        ddl = ", ".join(f"{quote(c.name)} {duckdb_type(c)}" for c in columns)
        select = ", ".join(f"CAST({quote(c.name)} AS {duckdb_type(c)}) AS {quote(c.name)}" for c in columns)
        frame = table.data[[c.name for c in columns]]
        self.con.execute("BEGIN")
        try:
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
            self.con.execute(f"CREATE OR REPLACE TABLE {target} ({ddl})")
            self.con.register("_incoming", frame)
            self.con.execute(f"INSERT INTO {target} SELECT {select} FROM _incoming")
            self.con.unregister("_incoming")
            self.con.execute(f"DELETE FROM {META_TABLE} WHERE logical_name = ?", [name])
            self.con.execute(f"DELETE FROM {SETTLED_TABLE} WHERE logical_name = ?", [name])
            self.con.execute(
                f"INSERT INTO {META_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    name,
                    table.ref.warehouse,
                    table.ref.schema,
                    table.ref.name,
                    schema,
                    physical,
                    dialect,
                    len(frame),
                    table.preview_rows,
                    json.dumps([_column_entry(c, table.info.primary_key) for c in columns]),
                    json.dumps({k: v.as_dict() for k, v in table.classes.items()}),
                    json.dumps(table.dropped_columns),
                    json.dumps(table.quality.as_dict()) if table.quality else None,
                    json.dumps(table.gate.as_dict()) if table.gate else None,
                    fingerprint,
                    table.synced_at or datetime.now(timezone.utc),
                    None,  # relations: measured once every table of the run is in place
                    json.dumps(table.notes),
                    json.dumps(table.generator.as_dict()) if table.generator else None,
                    json.dumps(table.rebalance) if table.rebalance else None,
                ],
            )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return name

    def remove(self, name: str) -> None:
        """Drop a table that no longer exists in the warehouse (or no longer passes the gate)."""
        row = self.con.execute(
            f"SELECT physical_schema, physical_table FROM {META_TABLE} WHERE logical_name = ?", [name]
        ).fetchone()
        if row is None:
            return
        self.con.execute("BEGIN")
        self.con.execute(f"DROP TABLE IF EXISTS {quote(row[0])}.{quote(row[1])}")
        self.con.execute(f"DELETE FROM {META_TABLE} WHERE logical_name = ?", [name])
        self.con.execute("COMMIT")

    def forget_fingerprint(self, name: str) -> None:
        """Make the next incremental sync re-synthesize this table (e.g. its catalog push failed)."""
        self.con.execute(f"UPDATE {META_TABLE} SET fingerprint = NULL WHERE logical_name = ?", [name])

    def tables(self) -> list[StoredTable]:
        return read_tables(self.con)

    def settle(self, name: str, warehouse: str, status: str, reason: str, fingerprint: str) -> None:
        """Remember that ``name`` was not published, and why, while its fingerprint stays ``fingerprint``."""
        self.con.execute(
            f"INSERT OR REPLACE INTO {SETTLED_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
            [name, warehouse, status, reason, fingerprint, datetime.now(timezone.utc)],
        )

    def settled(self) -> dict[str, SettledOutcome]:
        rows = self.con.execute(f"SELECT * FROM {SETTLED_TABLE}").fetchall()
        return {row[0]: SettledOutcome(*row) for row in rows}

    def forget_settled(self, name: str) -> None:
        self.con.execute(f"DELETE FROM {SETTLED_TABLE} WHERE logical_name = ?", [name])

    def set_relations(self, name: str, relations: list[dict[str, Any]]) -> None:
        """Record the per-relationship report of one table (aggregates only)."""
        self.con.execute(f"UPDATE {META_TABLE} SET relations = ? WHERE logical_name = ?", [json.dumps(relations), name])

    def close(self) -> None:
        try:
            self.con.execute("CHECKPOINT")
        finally:
            self.con.close()


def read_tables(con: duckdb.DuckDBPyConnection) -> list[StoredTable]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'tables'",
        [META_SCHEMA],
    ).fetchone()[0]
    if not exists:
        return []
    rows = con.execute(f"SELECT * FROM {META_TABLE} ORDER BY logical_name").fetchall()
    names = [d[0] for d in con.description]
    tables = []
    for row in rows:
        record = dict(zip(names, row))
        for key in ("columns", "classes", "dropped_columns", "quality", "gate", "relations", "notes", "generator",
                    "rebalance"):
            record[key] = json.loads(record[key]) if record[key] is not None else None
        record["classes"] = record["classes"] or {}
        record["dropped_columns"] = record["dropped_columns"] or {}
        tables.append(StoredTable(**record))
    return tables


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


