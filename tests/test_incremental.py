"""Incremental sync on real PostgreSQL (and SQLite for watermarks): skip what did not change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from scale_support import create_tables, execute, statuses, stored_state, sync_config

from catalog_synth.executors import InlineExecutor
from catalog_synth.pipeline import fingerprint, run_sync
from catalog_synth.types import ColumnInfo, ColumnKind, TableInfo, TableRef
from connectors import ConnectorError, open_connector

TABLES = ["t_keep", "t_schema", "t_data", "t_gone"]


def describe_marker(url: str, table: str, watermark: str | None = None) -> str | None:
    with open_connector("w", "sqlalchemy", url) as connector:
        info = connector.describe(TableRef("w", "public", table))
        return connector.change_marker(info, watermark)


def test_postgres_change_marker_follows_writes_not_reads(pg_url: str) -> None:
    create_tables(pg_url, ["t"], rows=50)
    execute(pg_url, "SELECT 1", flush_stats=True)
    before = describe_marker(pg_url, "t")
    execute(pg_url, "SELECT count(*) FROM t", "SELECT * FROM t WHERE id < 10", flush_stats=True)
    assert describe_marker(pg_url, "t") == before
    for statement in ("UPDATE t SET amount = amount + 1 WHERE id = 7", "DELETE FROM t WHERE id = 8",
                      "INSERT INTO t VALUES (1000, 1.5, 'a', date '2024-05-01')"):  # fmt: skip
        execute(pg_url, statement, flush_stats=True)
        after = describe_marker(pg_url, "t")
        assert after != before, statement
        before = after


def test_watermark_marker_is_max_of_the_column(pg_url: str) -> None:
    create_tables(pg_url, ["t"], rows=20)
    first = describe_marker(pg_url, "t", watermark="day")
    assert first is not None and "watermark=" in first
    execute(pg_url, "UPDATE t SET day = date '2030-01-01' WHERE id = 3")
    assert describe_marker(pg_url, "t", watermark="day") != first
    with pytest.raises(ConnectorError, match="watermark column 'updated_at' is not a column of public.t"):
        describe_marker(pg_url, "t", watermark="updated_at")


def test_estimated_row_count_is_left_out_when_a_change_marker_decides() -> None:
    columns = [ColumnInfo("id", "INTEGER", ColumnKind.INTEGER)]
    ref = TableRef("w", "public", "big")
    estimated = [TableInfo(ref, columns, row_count=rows, row_count_estimated=True) for rows in (3_000_000, 3_000_114)]
    assert fingerprint(estimated[0], "stats=(1, 5, 0, 0)") == fingerprint(estimated[1], "stats=(1, 5, 0, 0)")
    assert fingerprint(estimated[0], "stats=(1, 5, 0, 0)") != fingerprint(estimated[0], "stats=(1, 6, 0, 0)")
    assert fingerprint(estimated[0]) != fingerprint(estimated[1])  # no marker: the count is all there is


class RecordingExecutor(InlineExecutor):
    """The inline executor, remembering which tables it was handed."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[str] = []

    def map(self, function, tasks):  # noqa: ANN001, ANN201 - the Executor protocol's signature
        tasks = list(tasks)
        self.tables += [task.ref.name for task in tasks]
        return super().map(function, tasks)


def test_postgres_incremental_sync(tmp_path: Path, pg_url: str) -> None:
    create_tables(pg_url, TABLES)
    config = sync_config(tmp_path, pg_url)
    first = run_sync(config, sinks=[])
    assert set(statuses(first).values()) == {"synthesized"}, first.as_dict()
    state = stored_state(config.store)

    idle = RecordingExecutor()
    again = run_sync(config, sinks=[], executor=idle)
    assert set(statuses(again).values()) == {"unchanged"}
    assert idle.tables == []  # settled in planning: no worker is handed an unchanged table
    assert stored_state(config.store) == state  # nothing rewritten

    forced = run_sync(config, sinks=[], full=True)
    assert set(statuses(forced).values()) == {"synthesized"}

    execute(pg_url, "ALTER TABLE t_schema ADD COLUMN note text", flush_stats=True)
    execute(pg_url, "UPDATE t_data SET amount = amount * 2 WHERE id <= 5", flush_stats=True)  # same row count
    execute(pg_url, "DROP TABLE t_gone")
    busy = RecordingExecutor()
    changed = run_sync(config, sinks=[], executor=busy)
    assert statuses(changed) == {"t_keep": "unchanged", "t_schema": "synthesized", "t_data": "synthesized"}
    assert sorted(busy.tables) == ["t_data", "t_schema"]
    assert set(stored_state(config.store)) == {"public.t_keep", "public.t_schema", "public.t_data"}


def test_watermark_catches_changes_that_keep_the_row_count(tmp_path: Path) -> None:
    """SQLite keeps no change statistics: without a watermark only schema and row count can tell."""
    path = tmp_path / "w.sqlite"
    con = sqlite3.connect(path)
    for table in ("watched", "unwatched"):
        con.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, amount REAL, kind TEXT, updated_at TIMESTAMP)")
        con.executemany(
            f"INSERT INTO {table} VALUES (?, ?, ?, ?)",
            [(i, (i * 37) % 101 / 3, "abc"[i % 3], f"2024-01-{1 + i % 28:02d} 10:00:00") for i in range(300)],
        )
    con.commit()
    config = sync_config(tmp_path, f"sqlite:///{path}", warehouse={"watermarks": {"main.watched": "updated_at"}})
    assert set(statuses(run_sync(config, sinks=[])).values()) == {"synthesized"}
    for table in ("watched", "unwatched"):
        con.execute(f"UPDATE {table} SET amount = amount + 1, updated_at = '2024-02-01 09:00:00' WHERE id = 5")
    con.commit()
    con.close()
    assert statuses(run_sync(config, sinks=[])) == {"watched": "synthesized", "unwatched": "unchanged"}
