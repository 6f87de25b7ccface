"""Executors: the local worker pool (time limit, dying workers, memory cap), inline, and Dask
(a real LocalCluster of two worker processes on 127.0.0.1), with ``sync`` on top of them.

The tasks here are real work in real processes: a worker that hangs really hangs,
a worker that dies really exits. Warm-up is a cheap import, so no test pays SDV's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from distributed import Client, LocalCluster
from executor_jobs import HANG_SECONDS, Job, cheap_warm_up, connector_cache_keys, work
from scale_support import (
    ROWS,
    assert_consistent_store,
    create_tables,
    statuses,
    sync_config,
    write_config,
)

from catalog_synth.core.sections import ExecutorConfig
from catalog_synth.entry.cli import main
from catalog_synth.run.choose import open_executor
from catalog_synth.run.dask_executor import DaskExecutor
from catalog_synth.run.executors import ExecutorError, InlineExecutor, ProcessExecutor
from catalog_synth.run.sync import run_sync

CLI = Path(sys.executable).with_name("catalog-synth")


def run(executor, jobs: list[Job]) -> dict[str, str]:
    try:
        return dict(executor.map(work, jobs))
    finally:
        executor.close()


def test_pool_runs_every_task_in_a_few_reused_processes() -> None:
    results = run(ProcessExecutor(2, warm_up=cheap_warm_up), [Job(f"t{i}") for i in range(6)])
    assert sorted(results) == [f"t{i}" for i in range(6)]
    pids = {value.split()[-1] for value in results.values()}
    assert len(pids) <= 2 and str(os.getpid()) not in pids


def test_pool_time_limit_kills_the_overdue_worker_and_goes_on() -> None:
    started = time.monotonic()
    jobs = [Job("stuck", "hang"), *(Job(f"t{i}") for i in range(4))]
    results = run(ProcessExecutor(2, timeout=2.0, warm_up=cheap_warm_up), jobs)
    assert results["stuck"].startswith("failed: timed out")
    assert all(results[f"t{i}"].startswith("ok") for i in range(4))
    assert time.monotonic() - started < HANG_SECONDS / 10  # the run did not wait for the hung table


def test_pool_reports_a_dead_worker_and_replaces_it() -> None:
    jobs = [Job("a"), Job("oom", "die"), Job("b"), Job("c"), Job("d")]
    results = run(ProcessExecutor(1, warm_up=cheap_warm_up), jobs)
    assert results["oom"] == "failed: worker process died (exit code 137)"
    assert {results[n].split()[0] for n in "abcd"} == {"ok"}
    assert results["a"].split()[-1] != results["d"].split()[-1]  # a fresh worker took over


def test_pool_memory_cap_fails_only_the_greedy_table() -> None:
    results = run(ProcessExecutor(1, memory_mb=1024, warm_up=cheap_warm_up), [Job("greedy", "allocate"), Job("a")])
    assert results["greedy"] == "failed: worker error (MemoryError)"
    assert results["a"].startswith("ok")


def test_pool_survives_a_consumer_that_stops_early() -> None:
    executor = ProcessExecutor(2, warm_up=cheap_warm_up)
    results = executor.map(work, [Job("a"), Job("stuck", "hang"), Job("b")])
    next(results)
    workers = [w.process for w in executor._workers]
    results.close()
    executor.close()
    assert all(not process.is_alive() for process in workers)


def test_inline_time_limit_interrupts_the_main_thread() -> None:
    results = run(InlineExecutor(timeout=0.5), [Job("stuck", "hang"), Job("a")])
    assert results["stuck"].startswith("failed: timed out") and results["a"].startswith("ok")


def test_open_executor_picks_by_config_and_task_count() -> None:
    assert isinstance(open_executor(ExecutorConfig(workers=4), 1), InlineExecutor)
    pool = open_executor(ExecutorConfig(workers=4, table_timeout_seconds=9), 3)
    assert isinstance(pool, ProcessExecutor) and pool.size == 3 and pool.timeout == 9
    with pytest.raises(ExecutorError, match="needs a scheduler address"):
        open_executor(ExecutorConfig(kind="dask"), 3)


# -- Dask ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        yield cluster


def test_dask_runs_tasks_on_the_cluster_and_bounds_time(dask_cluster: LocalCluster) -> None:
    config = ExecutorConfig(kind="dask", scheduler=dask_cluster.scheduler_address, table_timeout_seconds=2.0)
    results = run(DaskExecutor(config, warm_up=cheap_warm_up), [Job("stuck", "hang"), *(Job(f"t{i}") for i in range(4))])
    assert results["stuck"].startswith("failed: timed out")
    pids = {results[f"t{i}"].split()[-1] for i in range(4)}
    assert str(os.getpid()) not in pids and len(pids) <= 2


def test_dask_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("catalog_synth.run.dask_executor.CONNECT_TIMEOUT_SECONDS", 1)
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskExecutor(ExecutorConfig(kind="dask", scheduler="tcp://127.0.0.1:9"))


def test_sync_fans_tables_out_over_dask(dask_cluster: LocalCluster, tmp_path: Path, pg_url: str) -> None:
    create_tables(pg_url, ["t_a", "t_b", "t_c"])
    config = sync_config(tmp_path, pg_url, executor={"kind": "dask", "scheduler": dask_cluster.scheduler_address})
    report = run_sync(config, sinks=[])
    assert statuses(report) == {"t_a": "synthesized", "t_b": "synthesized", "t_c": "synthesized"}, report.as_dict()
    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        opened = client.run(connector_cache_keys)  # the workers, not this process, read the warehouse
    assert any(keys == ["w"] for keys in opened.values())
    assert_consistent_store(config.store)


def test_sync_cli_with_scheduler_writes_the_run_report(dask_cluster: LocalCluster, tmp_path: Path, pg_url: str) -> None:
    create_tables(pg_url, ["t_a", "t_b"])
    config_file = write_config(tmp_path / "c.yml", sync_config(tmp_path, pg_url))
    report_file = tmp_path / "run.json"
    command = [str(CLI), "sync", "-c", str(config_file), "--scheduler", dask_cluster.scheduler_address,
               "--report", str(report_file)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(report_file.read_text())
    assert report["counts"]["synthesized"] == 2
    assert {t["table"]: t["status"] for t in report["tables"]} == {"public.t_a": "synthesized", "public.t_b": "synthesized"}
    assert all(t["rows_read"] == ROWS and t["gate"]["passed"] and t["quality"] for t in report["tables"])


def test_sync_cli_rejects_a_scheduler_for_the_local_executor(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sync", "--executor", "local", "--scheduler", "tcp://127.0.0.1:8786"])
    assert result.exit_code == 2 and "--scheduler is for --executor dask" in result.output
