"""Where per-table work runs: inline, in a local process pool, or on a Dask cluster.

Every executor maps a picklable function over tasks and yields results as they
complete, so a slow table never holds back the publication of the others.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from catalog_synth.config import ExecutorConfig


class Executor(Protocol):
    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]: ...

    def close(self) -> None: ...


class InlineExecutor:
    """Runs tasks one after another in this process (one table, or ``workers: 1``)."""

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        for task in tasks:
            yield function(task)

    def close(self) -> None:
        pass


class ProcessExecutor:
    """A pool of warm worker processes (SDV is imported once per worker, not per table)."""

    def __init__(self, workers: int):
        # "spawn" keeps workers free of the parent's open DuckDB/SQLAlchemy handles.
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm_up)

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        futures = [self.pool.submit(function, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _warm_up() -> None:
    import catalog_synth.synthesis  # noqa: F401  (pays the SDV import once per worker)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def open_executor(config: ExecutorConfig, task_count: int) -> Executor:
    if config.kind == "dask":
        from catalog_synth.dask_executor import DaskExecutor

        return DaskExecutor(config)
    workers = min(config.workers or default_workers(), max(task_count, 1))
    return InlineExecutor() if workers <= 1 else ProcessExecutor(workers)
