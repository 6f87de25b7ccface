"""Resilience on real PostgreSQL: failing tables, transient errors, time limits, the lock, kill -9."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from scale_support import (
    assert_consistent_store,
    create_tables,
    execute,
    reasons,
    statuses,
    stored_state,
    sync_config,
    table_locked,
    write_config,
)

from catalog_synth.core.types import TableRef
from catalog_synth.run.connections import close_cached_connectors
from catalog_synth.run.executors import ProcessExecutor, warm_up_synthesis
from catalog_synth.run.plan import synthesis_settings
from catalog_synth.run.sync import SyncError, _run_lock, run_sync
from catalog_synth.run.table_job import process_table
from catalog_synth.run.tasks import TableTask
from connectors import ConnectorError, WarehouseUnavailable, open_connector

CLI = Path(sys.executable).with_name("catalog-synth")
LOCK_WAIT_SQL = (
    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND strpos(query, 't_locked') > 0"
    " AND pid <> pg_backend_pid()"
)


def test_unreachable_server_is_transient_and_refused_access_is_not(pg_url: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"postgresql+psycopg://postgres@127.0.0.1:{probe.getsockname()[1]}/x"
    with open_connector("w", "sqlalchemy", closed) as connector, pytest.raises(WarehouseUnavailable):
        connector.list_tables(["*.*"], [])
    create_tables(pg_url, ["t_secret"], rows=5)
    execute(pg_url, "CREATE ROLE outsider LOGIN")
    with open_connector("w", "sqlalchemy", pg_url.replace("postgres@", "outsider@")) as connector:
        (ref,) = connector.list_tables(["*.*"], [])
        with pytest.raises(ConnectorError, match="permission denied") as caught:
            connector.describe(ref)
    assert not isinstance(caught.value, WarehouseUnavailable)


def test_a_failing_table_never_stops_the_others(tmp_path: Path, pg_url: str, caplog) -> None:
    create_tables(pg_url, ["t_a", "t_secret", "t_b"])
    execute(pg_url, "CREATE ROLE reader LOGIN", "GRANT SELECT ON t_a, t_b TO reader")
    config = sync_config(tmp_path, pg_url.replace("postgres@", "reader@"))
    with caplog.at_level(logging.WARNING, logger="catalog_synth"):
        report = run_sync(config, sinks=[])
    assert statuses(report) == {"t_a": "synthesized", "t_secret": "failed", "t_b": "synthesized"}
    assert "permission denied for table t_secret" in reasons(report)["t_secret"]
    assert not [r for r in caplog.records if "retry" in r.getMessage()]  # a refusal is not retried
    assert set(stored_state(config.store)) == {"public.t_a", "public.t_b"}


@pytest.mark.parametrize(("kills", "status"), [(1, "synthesized"), (3, "failed")])
def test_a_killed_connection_is_retried(tmp_path: Path, pg_url: str, caplog, kills: int, status: str) -> None:
    """The warehouse drops the connection mid-query (pg_terminate_backend): retried twice, then given up."""
    create_tables(pg_url, ["t_locked"])
    killed: list[int] = []

    def kill_blocked_queries_then_unlock(locker: sa.Connection) -> None:
        engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as admin:
            while len(killed) < kills:  # poll until the table's query shows up waiting on the lock
                for (pid,) in admin.exec_driver_sql(LOCK_WAIT_SQL).fetchall():
                    admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
                    killed.append(pid)
                threading.Event().wait(0.05)
        engine.dispose()
        locker.rollback()  # the migration ends: a retry now gets through

    config = sync_config(tmp_path, pg_url)
    ref = TableRef("w", "public", "t_locked")
    task = TableTask(config.warehouses[0], ref, synthesis_settings(config, ref), config.sample_rows,
                     retries=2, retry_backoff_seconds=0.1)  # fmt: skip
    with table_locked(pg_url, "t_locked") as locker, caplog.at_level(logging.WARNING, logger="catalog_synth"):
        killer = threading.Thread(target=kill_blocked_queries_then_unlock, args=(locker,))
        killer.start()
        try:
            outcome = process_table(task)
        finally:
            close_cached_connectors()
        killer.join()
    assert len(killed) == kills
    assert outcome.result.status.value == status, outcome.result.reason
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == min(kills, 2) and all("AdminShutdown" in message for message in retries)
    if status == "failed":
        assert outcome.result.reason.endswith("gave up after 3 attempts")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_table_over_the_time_limit_fails_and_the_run_goes_on(tmp_path: Path, pg_url: str, workers: int) -> None:
    """workers=1 runs inline (SIGALRM interrupts the driver's wait); 2 kills the worker process.

    SDV is imported before the clock starts (here, and in the pool's warm-up), so the
    short limit measures table work only.
    """
    warm_up_synthesis()
    create_tables(pg_url, ["t_a", "t_locked", "t_b"])
    config = sync_config(tmp_path, pg_url, executor={"workers": workers, "table_timeout_seconds": 6})
    pool = ProcessExecutor(workers, timeout=6, warm_up=warm_up_synthesis) if workers > 1 else None
    try:
        with table_locked(pg_url, "t_locked"):
            report = run_sync(config, sinks=[], executor=pool)
    finally:
        if pool:
            pool.close()
    assert statuses(report) == {"t_a": "synthesized", "t_locked": "failed", "t_b": "synthesized"}, report.as_dict()
    assert reasons(report)["t_locked"].startswith("timed out"), report.as_dict()
    assert_consistent_store(config.store)


def test_a_second_sync_fails_fast_on_the_lock(tmp_path: Path, pg_url: str) -> None:
    create_tables(pg_url, ["t_a"], rows=20)
    config = sync_config(tmp_path, pg_url)
    config_file = write_config(tmp_path / "catalog-synth.yml", config)
    with _run_lock(config.store):
        with pytest.raises(SyncError, match="another sync is running"):
            run_sync(config, sinks=[])
        result = subprocess.run([str(CLI), "sync", "-c", str(config_file)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "another sync is running on" in result.stderr, result.stderr
    assert not config.store.exists()  # the loser wrote nothing


def test_kill_9_mid_run_then_rerun_gives_a_consistent_store(tmp_path: Path, pg_url: str) -> None:
    tables = [f"t{i}" for i in range(6)]
    create_tables(pg_url, tables)
    config = sync_config(tmp_path, pg_url)
    assert set(statuses(run_sync(config, sinks=[])).values()) == {"synthesized"}
    last_good = stored_state(config.store)
    for table in tables:  # every table changes: the next run rewrites all of them
        execute(pg_url, f"ALTER TABLE {table} ADD COLUMN extra integer DEFAULT 1")

    config_file = write_config(tmp_path / "catalog-synth.yml", config)
    command = [str(CLI), "-v", "sync", "-c", str(config_file), "--log-json", "--workers", "2"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = 0
    for line in run.stderr:
        if line.startswith("{") and " synthesized in " in json.loads(line)["message"]:
            done += 1
            if done == 2:
                break
    assert done == 2, "the sync ended before two tables were done"
    workers = psutil.Process(run.pid).children(recursive=True)
    run.send_signal(signal.SIGKILL)
    run.wait()
    _, alive = psutil.wait_procs(workers, timeout=120)  # orphaned workers exit on their own
    assert not alive

    assert stored_state(config.store) == last_good  # the live store is the last complete run's
    assert list(config.store.parent.glob(f".{config.store.name}.{run.pid}.tmp*"))  # the killed run's copy

    rerun = run_sync(config, sinks=[])
    assert statuses(rerun) == {table: "synthesized" for table in tables}
    assert_consistent_store(config.store)
    assert set(stored_state(config.store)) == set(last_good)
