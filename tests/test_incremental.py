"""Incremental sync on real PostgreSQL (and SQLite for watermarks): skip what did not change,
and remember tables left unpublished for a reason that holds (gate, refusal) until they change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from scale_support import (
    create_tables,
    execute,
    reasons,
    statuses,
    stored_state,
    sync_config,
    table_locked,
)

from catalog_synth.core.types import ColumnInfo, ColumnKind, TableInfo, TableRef
from catalog_synth.run.executors import InlineExecutor, warm_up_synthesis
from catalog_synth.run.plan import fingerprint
from catalog_synth.run.sync import run_sync
from catalog_synth.store.copies import Store
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


# A unique column marked public is copied verbatim: every synthetic row then sits on a real row,
# and the distance check fails on both attempts, on every run.
COPIED_CODES = {"columns": {"public.t_codes.code": "public"}}


def create_codes(url: str) -> None:
    execute(
        url,
        "CREATE TABLE t_codes (id integer PRIMARY KEY, code text, amount double precision)",
        "INSERT INTO t_codes SELECT g, 'K' || mod(g * 7919, 100003), round(100 + 10 * sin(g))"
        " FROM generate_series(1, 300) AS g",
        flush_stats=True,
    )


def settled_names(config) -> set[str]:  # noqa: ANN001
    with Store(config.store).writer() as writer:
        return set(writer.settled())


def test_tables_failing_the_gate_or_refused_are_not_retried_until_they_change(tmp_path: Path, pg_url: str) -> None:
    create_tables(pg_url, ["t_ok", "t_secret"])
    create_codes(pg_url)
    execute(pg_url, "CREATE ROLE settled_reader LOGIN", "GRANT SELECT ON t_ok, t_codes TO settled_reader")
    config = sync_config(tmp_path, pg_url.replace("postgres@", "settled_reader@"), **COPIED_CODES)
    first = run_sync(config, sinks=[])
    assert statuses(first) == {"t_ok": "synthesized", "t_codes": "failed", "t_secret": "failed"}, first.as_dict()
    assert "distance_to_closest_record" in reasons(first)["t_codes"]
    assert "permission denied for table t_secret" in reasons(first)["t_secret"]
    assert settled_names(config) == {"public.t_codes", "public.t_secret"}

    idle = RecordingExecutor()
    again = run_sync(config, sinks=[], executor=idle)
    assert idle.tables == []  # nothing to synthesize: the failures are remembered, not retried
    assert set(statuses(again).values()) == {"unchanged"} and not again.failed
    for name in ("t_codes", "t_secret"):
        reason = reasons(again)[name]
        assert reason.startswith(f"failed at the last sync: {reasons(first)[name]}; unchanged since"), reason

    forced = RecordingExecutor()
    full = run_sync(config, sinks=[], executor=forced, full=True)
    assert sorted(forced.tables) == ["t_codes", "t_ok", "t_secret"]
    assert statuses(full) == statuses(first)

    execute(pg_url, "UPDATE t_codes SET amount = amount + 1 WHERE id <= 3", "GRANT SELECT ON t_secret TO settled_reader",
            flush_stats=True)  # fmt: skip
    busy = RecordingExecutor()
    changed = run_sync(config, sinks=[], executor=busy)
    assert sorted(busy.tables) == ["t_codes", "t_secret"]  # new data; the refusal is gone
    assert statuses(changed) == {"t_ok": "unchanged", "t_codes": "failed", "t_secret": "synthesized"}
    assert settled_names(config) == {"public.t_codes"}
    assert set(stored_state(config.store)) == {"public.t_ok", "public.t_secret"}

    execute(pg_url, "DROP TABLE t_codes")
    run_sync(config, sinks=[])
    assert settled_names(config) == set()  # a table that left the warehouse is forgotten


def test_an_unchanged_parent_that_failed_the_gate_is_still_unpublished_for_its_children(
    tmp_path: Path, pg_url: str
) -> None:
    create_codes(pg_url)
    create_tables(pg_url, ["t_child"])
    execute(pg_url, "ALTER TABLE t_child ADD COLUMN parent_id integer NOT NULL DEFAULT 1 REFERENCES t_codes (id)",
            flush_stats=True)  # fmt: skip
    config = sync_config(tmp_path, pg_url, **COPIED_CODES)
    first = run_sync(config, sinks=[])
    assert statuses(first) == {"t_codes": "failed", "t_child": "skipped"}, first.as_dict()
    assert "parent public.t_codes was not published (privacy gate failed" in reasons(first)["t_child"]

    idle = RecordingExecutor()
    assert set(statuses(run_sync(config, sinks=[], executor=idle)).values()) == {"unchanged"}
    assert idle.tables == []

    execute(pg_url, "UPDATE t_child SET amount = amount + 1 WHERE id <= 3", flush_stats=True)
    busy = RecordingExecutor()
    changed = run_sync(config, sinks=[], executor=busy)
    assert busy.tables == ["t_child"]
    assert statuses(changed) == {"t_codes": "unchanged", "t_child": "skipped"}
    assert "parent public.t_codes was not published (failed at the last sync" in reasons(changed)["t_child"]
    assert set(stored_state(config.store)) == set()


def test_a_table_that_timed_out_is_retried_next_run(tmp_path: Path, pg_url: str) -> None:
    """A time limit, like a lost connection, says nothing about the table: the next run tries again."""
    warm_up_synthesis()  # the short limit measures table work, not SDV's imports
    create_tables(pg_url, ["t_locked"])
    config = sync_config(tmp_path, pg_url, executor={"workers": 1, "table_timeout_seconds": 3})
    with table_locked(pg_url, "t_locked"):
        first = run_sync(config, sinks=[])
    assert statuses(first) == {"t_locked": "failed"} and reasons(first)["t_locked"].startswith("timed out")
    assert settled_names(config) == set()
    retried = RecordingExecutor()
    assert statuses(run_sync(config, sinks=[], executor=retried)) == {"t_locked": "synthesized"}
    assert retried.tables == ["t_locked"]
