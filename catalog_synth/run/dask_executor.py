"""Per-table work on an existing Dask cluster (``--executor dask --scheduler tcp://host:8786``).

Each table is one Dask task: the worker that runs it opens its own connection to
the warehouse, samples, synthesizes and gates, and sends back only the synthetic
table and aggregates. The store and the catalog sinks are still written by the
process that runs ``catalog-synth sync``.

Workers need catalog-synth installed (same version) and network access to the
warehouses. The task carries the warehouse URL, so use ``tls://`` between
the client, the scheduler and the workers when the URL holds a password.

Dask cannot stop a running task. A table that overruns the time limit is reported
failed and its worker slot is freed at once; the stuck thread runs on in the
worker until its query returns (recycle workers with ``dask worker --lifetime``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from catalog_synth.core.sections import ExecutorConfig
from catalog_synth.run.executors import (
    ExecutorError,
    Task,
    timed_out,
    warm_up_quietly,
    warm_up_synthesis,
)

# How long to wait for the scheduler to answer before giving up on the run.
CONNECT_TIMEOUT_SECONDS = 30
# SDV's imports break when two threads run them at once (a worker may run several tasks).
_WARM_UP_LOCK = threading.Lock()


class DaskExecutor:
    def __init__(self, config: ExecutorConfig, warm_up: Callable[[], None] = warm_up_synthesis):
        if not config.scheduler:
            raise ExecutorError("executor 'dask' needs a scheduler address (--scheduler tcp://host:8786)")
        from distributed import Client

        try:
            self.client = Client(config.scheduler, timeout=CONNECT_TIMEOUT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"cannot reach the Dask scheduler at {config.scheduler} ({type(exc).__name__})") from None
        self.timeout = config.table_timeout_seconds
        self.warm_up = warm_up

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Task]) -> Iterator[Any]:
        from distributed import as_completed

        futures = {
            self.client.submit(run_bounded, function, task, self.timeout, self.warm_up, pure=False): task
            for task in tasks
        }
        for future in as_completed(list(futures), loop=self.client.loop):
            task = futures.pop(future)
            try:
                yield future.result()
            except Exception as exc:  # lost workers, a task Dask could not run: never echo its text
                yield task.failed(f"dask task failed ({type(exc).__name__})", 0.0)
            future.release()

    def close(self) -> None:
        self.client.close()


def run_bounded(
    function: Callable[[Any], Any], task: Task, timeout: float | None, warm_up: Callable[[], None]
) -> Any:
    """Run ``function(task)`` on a Dask worker, giving up after ``timeout`` seconds.

    The worker process warms up (once, one thread at a time) before the clock starts.
    """
    with _WARM_UP_LOCK:
        warm_up_quietly(warm_up)
    started = time.monotonic()
    box: list[Any] = []
    runner = threading.Thread(target=lambda: box.append(function(task)), daemon=True, name="catalog-synth-table")
    runner.start()
    runner.join(timeout)
    if runner.is_alive() or not box:
        reason = timed_out(timeout or 0) if runner.is_alive() else "worker thread failed"
        return task.failed(reason, time.monotonic() - started)
    return box[0]
