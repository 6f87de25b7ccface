"""Which executor runs a sync's tables: the configured kind, sized for the tables that need work."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from catalog_synth.core.sections import ExecutorConfig
from catalog_synth.run.executors import (
    Executor,
    InlineExecutor,
    ProcessExecutor,
    Task,
    local_workers,
)


class OnDemandExecutor:
    """Opens the configured executor when the first tasks arrive, sized for them: a run whose
    tables are all unchanged starts no worker at all."""

    def __init__(self, config: ExecutorConfig):
        self.config = config
        self._opened: Executor | None = None

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Task]) -> Iterator[Any]:
        tasks = list(tasks)
        if not tasks:
            return iter(())
        if self._opened is None:
            self._opened = open_executor(self.config, len(tasks))
        return self._opened.map(function, tasks)

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None


def open_executor(config: ExecutorConfig, task_count: int) -> Executor:
    if config.kind == "dask":
        from catalog_synth.run.dask_executor import DaskExecutor

        return DaskExecutor(config)
    workers = local_workers(config, task_count)
    if workers <= 1:
        return InlineExecutor(config.table_timeout_seconds)
    return ProcessExecutor(workers, config.table_timeout_seconds, config.worker_memory_mb)
