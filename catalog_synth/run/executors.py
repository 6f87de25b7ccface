"""Where per-table work runs: inline, in a local process pool, or on a Dask cluster.

Every executor maps a picklable function over tasks and yields results as they
complete, so a slow table never holds back the publication of the others.

Tasks may be given up on (time limit, a worker process that died): the executor
then yields ``task.failed(reason, seconds)`` in place of the function's result,
so every task yields exactly one result and the run goes on.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from catalog_synth.core.generators import DEFAULT_GENERATOR
from catalog_synth.core.sections import ExecutorConfig

log = logging.getLogger("catalog_synth.run.executors")

# How long a worker may take to exit after it is asked to, before it is killed.
_EXIT_GRACE_SECONDS = 5.0
# Worker -> parent messages: (kind, payload).
_READY, _DONE, _ERROR = "ready", "done", "error"


class ExecutorError(RuntimeError):
    """The executor as a whole cannot run (no scheduler, workers that cannot start)."""


class Task(Protocol):
    def failed(self, reason: str, seconds: float) -> Any:
        """The result to report when the executor gives up on this task."""


class Executor(Protocol):
    def map(self, function: Callable[[Any], Any], tasks: Iterable[Task]) -> Iterator[Any]: ...

    def close(self) -> None: ...


def timed_out(limit: float) -> str:
    return f"timed out (over the {limit:g} s limit per table)"


class TaskTimedOut(BaseException):
    """Raised in the main thread by the inline executor's alarm; not an Exception, so nothing swallows it."""


class InlineExecutor:
    """Runs tasks one after another in this process (one table, or ``workers: 1``).

    The time limit is a SIGALRM in the main thread, which interrupts Python code and
    driver waits; elsewhere (another thread, no SIGALRM) tasks run unlimited.
    """

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Task]) -> Iterator[Any]:
        for task in tasks:
            started = time.monotonic()
            try:
                with _alarm(self.timeout):
                    result = function(task)
            except TaskTimedOut:
                result = task.failed(timed_out(self.timeout or 0), time.monotonic() - started)
            yield result

    def close(self) -> None:
        pass


@contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    usable = seconds and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TaskTimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class _Job:
    task: Task
    started: float


class _Worker:
    """One warm worker process and the pipe to it."""

    def __init__(self, context: Any, memory_mb: int | None, warm_up: Callable[[], None] | None):
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, memory_mb, warm_up, _log_setup()), daemon=True, name="catalog-synth-worker"
        )
        self.process.start()
        child.close()
        self.ready = False
        self.job: _Job | None = None

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()

    def stop(self) -> None:
        """Ask an idle worker to exit; kill it if it does not."""
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(_EXIT_GRACE_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


class ProcessExecutor:
    """A pool of long-lived worker processes, forked from a server that imported SDV once.

    Unlike ``concurrent.futures``, a worker that overruns the per-table time limit is
    killed and replaced, and a worker that dies (out of memory, a crash) costs only its
    own table: both are reported as failed tables and the run goes on.

    With ``warm_up``, each worker runs it before taking its first task (for what the fork
    server did not import), so no table's time limit pays for it.
    """

    def __init__(
        self,
        workers: int,
        timeout: float | None = None,
        memory_mb: int | None = None,
        warm_up: Callable[[], None] | None = None,
    ):
        self.size = workers
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.warm_up = warm_up
        self._context = _worker_context()
        self._workers: list[_Worker] = []
        self._startup_failures = 0

    def map(self, function: Callable[[Any], Any], tasks: Iterable[Task]) -> Iterator[Any]:
        pending = deque(tasks)
        while pending or self._busy():
            self._staff(len(pending))
            for worker in self._workers:
                if worker.ready and worker.job is None and pending:
                    self._assign(worker, function, pending.popleft())
            yield from self._collect()

    def close(self) -> None:
        for worker in self._workers:
            if worker.job is None:
                worker.stop()
            else:
                worker.kill()
        self._workers.clear()

    def _busy(self) -> list[_Worker]:
        return [w for w in self._workers if w.job is not None]

    def _staff(self, pending: int) -> None:
        """Start workers until there are enough for the busy and pending tasks."""
        while len(self._workers) < min(self.size, len(self._busy()) + pending):
            self._workers.append(_Worker(self._context, self.memory_mb, self.warm_up))

    def _assign(self, worker: _Worker, function: Callable[[Any], Any], task: Task) -> None:
        worker.job = _Job(task, time.monotonic())
        worker.connection.send((function, task))

    def _collect(self) -> Iterator[Any]:
        """Wait for a message, a dead worker or the next deadline; yield finished results."""
        waitables: list[Any] = [w.connection for w in self._workers] + [w.process.sentinel for w in self._workers]
        wait(waitables, timeout=self._seconds_to_next_deadline())
        for worker in list(self._workers):
            yield from self._drain(worker)
            if not worker.process.is_alive():
                yield from self._bury(worker)
            elif self._overdue(worker):
                yield from self._expire(worker)

    def _drain(self, worker: _Worker) -> Iterator[Any]:
        while not worker.connection.closed and worker.connection.poll():
            try:
                kind, payload = worker.connection.recv()
            except (EOFError, OSError):
                return
            if kind == _READY:
                worker.ready = True
                self._startup_failures = 0
            else:
                job, worker.job = worker.job, None
                yield payload if kind == _DONE else job.task.failed(payload, time.monotonic() - job.started)

    def _bury(self, worker: _Worker) -> Iterator[Any]:
        """A worker died: report its table, forget it (a new one is started on demand)."""
        worker.process.join()
        worker.connection.close()
        self._workers.remove(worker)
        code = worker.process.exitcode
        if worker.job is not None:
            job = worker.job
            yield job.task.failed(f"worker process died (exit code {code})", time.monotonic() - job.started)
        elif not worker.ready:
            self._startup_failures += 1
            if self._startup_failures > 2 * self.size:
                raise ExecutorError(f"worker processes keep dying while starting (exit code {code})")

    def _overdue(self, worker: _Worker) -> bool:
        return bool(self.timeout and worker.job and time.monotonic() - worker.job.started > self.timeout)

    def _expire(self, worker: _Worker) -> Iterator[Any]:
        job = worker.job
        log.warning("killing the worker on an overdue table (limit %g s)", self.timeout)
        worker.kill()
        self._workers.remove(worker)
        yield job.task.failed(timed_out(self.timeout or 0), time.monotonic() - job.started)

    def _seconds_to_next_deadline(self) -> float | None:
        if not self.timeout:
            return None
        deadlines = [w.job.started + self.timeout for w in self._workers if w.job is not None]
        return max(0.0, min(deadlines) - time.monotonic() + 0.01) if deadlines else None


# What every worker needs: imported once, in the fork server, instead of once per worker.
WORKER_PRELOAD = ["catalog_synth.run.table_job", "catalog_synth.run.synthesize"]


def _worker_context(generators: Iterable[str] = ()) -> Any:
    """Workers fork from a server process that has imported the synthesis libraries once
    (seconds per worker saved, a replaced worker is warm at once): ours, and those of the
    ``generators`` the run uses (SDV and torch only when an SDV model runs). Like "spawn",
    they inherit none of this process's open DuckDB or SQLAlchemy handles."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    if generators:  # set before the server starts; later executors use the server as it is
        context.set_forkserver_preload([*WORKER_PRELOAD, *generator_preload(generators)])
    return context


def generator_preload(generators: Iterable[str]) -> list[str]:
    """The modules the named generators fit with (unknown names are the tables' errors, not this)."""
    from catalog_synth.core.generators import generator_class

    modules: dict[str, None] = {}
    for name in generators:
        try:
            modules.update(dict.fromkeys(generator_class(name).preload))
        except Exception:  # noqa: BLE001 - an unknown or broken generator fails its tables with a reason
            continue
    return list(modules)


def start_worker_server(config: ExecutorConfig, task_count: int, generators: Iterable[str] = ()) -> None:
    """Have the fork server import the worker libraries (and the ``generators``') now, while the
    run sets up, when ``task_count`` tables will run in a local pool (no server for one table or none)."""
    pooled = config.kind == "local" and local_workers(config, task_count) > 1
    if pooled and _worker_context(list(generators) or [DEFAULT_GENERATOR]).get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()


def _serve(
    connection: Connection, memory_mb: int | None, warm_up: Callable[[], None] | None, log_setup: tuple[bool, int]
) -> None:
    """A worker's main loop: warm up (if asked), then run (function, task) messages until told to stop.

    The warm-up finishes before the first task, so no table's time limit pays for it.
    (It cannot run beside tasks: SDV's imports are not safe in two threads at once.)
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _configure_worker_logging(*log_setup)
    if memory_mb:
        _cap_memory(memory_mb)
    if warm_up:
        warm_up_quietly(warm_up)
    connection.send((_READY, None))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if message is None:
            return
        function, task = message
        try:
            reply = (_DONE, function(task))
        except BaseException as exc:  # noqa: BLE001 - report, never echo (messages may quote data)
            reply = (_ERROR, f"worker error ({type(exc).__name__})")
        try:
            connection.send(reply)
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # the result could not be pickled
            connection.send((_ERROR, f"result could not be returned ({type(exc).__name__})"))


def _cap_memory(memory_mb: int) -> None:
    """Cap the address space at what the worker maps now (the preloaded libraries) plus ``memory_mb``."""
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:  # not Linux: the cap covers the libraries too
        mapped = 0
    resource.setrlimit(resource.RLIMIT_AS, (mapped + memory_mb * 1024 * 1024, resource.RLIM_INFINITY))


def warm_up_quietly(warm_up: Callable[[], None]) -> None:
    """Run a worker's warm-up; a failure is logged here and shows up again in the tables that need it."""
    try:
        warm_up()
    except Exception as exc:  # noqa: BLE001
        log.warning("worker warm-up failed (%s)", type(exc).__name__)


def warm_up_synthesis() -> None:
    """Pay the synthesis imports (SDV, and the SDMetrics and torch it imports: seconds) once per worker,
    before its first table."""
    import sdv.metadata  # noqa: F401
    import sdv.single_table  # noqa: F401

    import catalog_synth.run.synthesize  # noqa: F401


def _log_setup() -> tuple[bool, int]:
    """The parent's logging choices (JSON lines?, level), for the worker to repeat."""
    from catalog_synth.core.logs import JsonLineFormatter

    root = logging.getLogger()
    json_lines = any(isinstance(handler.formatter, JsonLineFormatter) for handler in root.handlers)
    return json_lines, root.level


def _configure_worker_logging(json_lines: bool, level: int) -> None:
    from catalog_synth.core.logs import configure_logging

    configure_logging(json_lines=json_lines, verbose=level <= logging.INFO)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def local_workers(config: ExecutorConfig, task_count: int) -> int:
    """Worker processes for ``task_count`` tables: no more than the tables, nor than configured."""
    return min(config.workers or default_workers(), max(task_count, 1))
