"""Helpers for the incremental, resilience and executor tests: small real tables, configs, checks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa
import yaml

from catalog_synth.core.config import Config, validate_config
from catalog_synth.run.sync import SyncReport
from catalog_synth.store.copies import META_TABLE

ROWS = 300


def create_tables(url: str, names: list[str], rows: int = ROWS) -> None:
    """Narrow tables the synthesizer handles quickly: a key, a number, a category, a date."""
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.exec_driver_sql("SELECT setseed(0.42)")  # the same data every run: no flaky gate outcomes
        for name in names:
            con.exec_driver_sql(f"CREATE TABLE {name} (id integer PRIMARY KEY, amount double precision, kind text, day date)")
            con.exec_driver_sql(
                f"INSERT INTO {name} SELECT g, round((random() * 100)::numeric, 2), (ARRAY['a', 'b', 'c'])[1 + mod(g, 3)],"
                f" date '2024-01-01' + mod(g * 37, 365) FROM generate_series(1, {rows}) AS g"
            )
    engine.dispose()


def execute(url: str, *statements: str, flush_stats: bool = False) -> None:
    """Run statements in one session (autocommit).

    ``flush_stats``: make the server publish this session's change counters now. A real
    server does so on its own when a writing session goes idle (at most ~1 s later) or ends.
    """
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as con:
        for statement in statements:
            con.exec_driver_sql(statement)
        if flush_stats:
            con.exec_driver_sql("SELECT pg_stat_force_next_flush()")
    engine.dispose()


@contextmanager
def table_locked(url: str, table: str) -> Iterator[sa.Connection]:
    """Hold an ACCESS EXCLUSIVE lock on ``table`` (as a long migration would) until the block ends."""
    engine = sa.create_engine(url)
    con = engine.connect()
    con.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    try:
        yield con
    finally:
        con.rollback()
        con.close()
        engine.dispose()


def config_dict(url: str, store: Path, warehouse: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A test config as its YAML file holds it: one warehouse ``w`` (``warehouse`` adds to or renames
    it), five preview rows, no catalog file, tables synthesized in the test's own process;
    ``overrides`` replace top-level keys."""
    return {
        "warehouses": [{"name": "w", "url": url, **(warehouse or {})}],
        "preview_rows": 5,
        "store": str(store),
        "catalog": {"file": None},
        "executor": {"workers": 1},
        **overrides,
    }


def sync_config(tmp_path: Path, url: str, warehouse: dict[str, Any] | None = None, **overrides: Any) -> Config:
    settings = {"sample_rows": ROWS, "copy_rows": 100, "seed": 1, "executor": {"workers": 1, "retry_backoff_seconds": 0.1}}
    return validate_config(config_dict(url, tmp_path / "store" / "sandbox.duckdb", warehouse, **{**settings, **overrides}))


def write_config(path: Path, config: Config) -> Path:
    """The config as a YAML file, for the CLI (the warehouse URL written out in full)."""
    raw = config.model_dump(mode="json")
    raw["warehouses"][0]["url"] = config.warehouses[0].url.get_secret_value()
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def statuses(report: SyncReport) -> dict[str, str]:
    return {r.ref.name: r.status.value for r in report.results}


def reasons(report: SyncReport) -> dict[str, str]:
    return {r.ref.name: r.reason for r in report.results}


def stored_state(store: Path) -> dict[str, tuple[str, str]]:
    """logical name -> (fingerprint, synced_at) of every table the store's metadata lists."""
    with duckdb.connect(str(store), read_only=True) as con:
        rows = con.execute(f"SELECT logical_name, fingerprint, synced_at FROM {META_TABLE}").fetchall()
    return {name: (fingerprint, str(synced)) for name, fingerprint, synced in rows}


def assert_consistent_store(store: Path) -> None:
    """Every table in the metadata exists with its row count, every stored table is in the metadata,
    and no temporary copy is left beside the store."""
    with duckdb.connect(str(store), read_only=True) as con:
        listed = {
            (schema, table): rows
            for schema, table, rows in con.execute(
                f"SELECT physical_schema, physical_table, row_count FROM {META_TABLE}"
            ).fetchall()
        }
        present = {
            (schema, table)
            for schema, table in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
                " AND schema_name <> '_catalog_synth'"
            ).fetchall()
        }
        assert set(listed) == present, (listed, present)
        for (schema, table), rows in listed.items():
            assert con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0] == rows
    leftovers = [name for name in os.listdir(store.parent) if name.endswith((".tmp", ".tmp.wal"))]
    assert not leftovers, leftovers
