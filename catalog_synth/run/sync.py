"""The sync: list -> read -> synthesize + gate (in workers) -> store -> publish.

:func:`run_sync` is the library API; the CLI's ``sync`` is a thin layer over it.
Per-table work (describe, sample, synthesize, gate) runs in an executor; the
store and the catalog sinks are written by the calling process only, so a
table is published exactly when its copy is committed to the store.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from catalog_synth.core.config import Config
from catalog_synth.core.timings import StageTimes, collect, stage
from catalog_synth.core.types import TableRef, TableResult, TableStatus
from catalog_synth.run.choose import OnDemandExecutor
from catalog_synth.run.connections import close_cached_connectors
from catalog_synth.run.executors import Executor, start_worker_server
from catalog_synth.run.plan import last_syncs, plan_tasks
from catalog_synth.run.publishing import (
    drop_vanished,
    log_result,
    publish_outcome,
    retry_unpublished,
)
from catalog_synth.run.tasks import TableOutcome, TableTask, unchanged_outcome
from catalog_synth.store.copies import Store

if TYPE_CHECKING:
    import pandas as pd

    from catalog_synth.link.link import KeyLinker
    from catalog_synth.store.copies import StoreWriter
    from connectors.graph import KeyGraph

log = logging.getLogger("catalog_synth.sync")
# Rounds of re-synthesizing unchanged tables whose parents got new keys (one is enough unless
# a table fails in between).
MAX_KEY_ROUNDS = 3


class SyncError(RuntimeError):
    """The run as a whole cannot proceed (e.g. another sync holds the lock)."""


@dataclass
class SyncReport:
    results: list[TableResult] = field(default_factory=list)
    sink_reports: list[object] = field(default_factory=list)
    store: Path | None = None
    seconds: float = 0.0
    stages: StageTimes = field(default_factory=StageTimes)  # the calling process's own work, outside tables

    def count(self, status: TableStatus) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def failed(self) -> bool:
        return self.count(TableStatus.FAILED) > 0 or any(getattr(r, "failed", 0) for r in self.sink_reports)

    def as_dict(self) -> dict:
        return {
            "store": str(self.store) if self.store else None,
            "seconds": round(self.seconds, 3),
            "counts": {status.value: self.count(status) for status in TableStatus},
            "tables": [r.as_dict() for r in self.results],
            "sinks": [getattr(r, "as_dict", lambda r=r: str(r))() for r in self.sink_reports],
            "stages": self.stages.as_dict(),
        }


ProgressCallback = Callable[[TableResult], None]


def run_sync(
    config: Config,
    *,
    sinks: list | None = None,
    full: bool = False,
    executor: Executor | None = None,
    on_table: ProgressCallback | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> SyncReport:
    """Synchronize every included table of every warehouse; never raises for a bad table."""
    started = time.monotonic()
    store = Store(config.store)
    if sinks is None:
        from catalog_synth.publish.sinks import open_sinks

        sinks = open_sinks(config)
    report = SyncReport(store=store.path)
    with (
        _no_files_unless_stored(store, report),
        collect() as report.stages,
        _run_lock(store.path),
        store.writer() as writer,
    ):
        with stage("plan"):
            tasks, listing_failures, graph = plan_tasks(config, last_syncs(writer), full)
        if executor is None:  # workers only for tables that need synthesis
            work = [task for task in tasks if not task.unchanged]
            start_worker_server(config.executor, len(work), {task.settings.synthesizer for task in work})
        report.results.extend(listing_failures)
        if on_plan:
            on_plan(len(tasks))
        own_executor = executor is None
        executor = executor or OnDemandExecutor(config.executor)
        results: dict[TableRef, TableResult] = {}  # by the stored table's ref

        catalog_names: dict[str, str] = {}  # URN or table -> logical name, to retry unpublished tables

        def publish(outcome: TableOutcome) -> None:
            with collect() as times:
                result = results[outcome.result.stored_ref] = publish_outcome(
                    outcome, writer, sinks, config, catalog_names
                )
            result.stages.add(times)
            log_result(result)
            if on_table:
                on_table(result)

        linker = None
        try:
            if all(task.unchanged for task in tasks):  # nothing to synthesize, link or relink
                for task in tasks:
                    publish(unchanged_outcome(task, task.fingerprint))
            else:
                from catalog_synth.store.labels import stored_labels

                linker = _linker(graph, writer, config)
                labels = partial(stored_labels, writer.con, config.multi_warehouse)
                _run_linked(executor, [task for task in tasks if task.output is None], linker, publish, labels)
                _run_rebalanced(executor, [task for task in tasks if task.output is not None], publish)
        finally:
            if own_executor:
                executor.close()
        report.results.extend(results.values())
        removed = drop_vanished(writer, config, tasks, listing_failures)
        if removed or any(result.status is TableStatus.SYNTHESIZED for result in results.values()):
            from catalog_synth.store.relations import (
                record_relations,  # scipy: only when the store changed
            )

            linker = linker or _linker(graph, writer, config)
            with stage("relations"):
                record_relations(writer, graph, linker.profiles, linker.notes)
        with stage("publish"):
            report.sink_reports = [sink.close() for sink in sinks]
        retry_unpublished(writer, report.sink_reports, catalog_names)
    report.results.sort(key=lambda r: r.stored_ref)
    report.seconds = time.monotonic() - started
    return report


def _linker(graph: KeyGraph, writer: StoreWriter, config: Config) -> KeyLinker:
    """The run's key linker, over the synthetic keys already in the store (loads pandas)."""
    from catalog_synth.link.link import KeyLinker
    from catalog_synth.store.labels import store_keys

    return KeyLinker(graph, store_keys(writer.con, config.multi_warehouse), config.seed)


def _run_linked(
    executor: Executor,
    tasks: list[TableTask],
    linker: KeyLinker,
    publish: Callable[[TableOutcome], None],
    labels: StoredLabels | None = None,
) -> None:
    """Run every table at once; publish each when its foreign keys point at synthetic parents.

    A table left unchanged whose parent got new keys is synthesized again, with its
    descendants, in a further round.
    """
    from catalog_synth.run.table_job import process_table

    round_tasks = tasks
    for _ in range(MAX_KEY_ROUNDS):
        linker.expect(task.ref for task in round_tasks)
        unchanged = [unchanged_outcome(task, task.fingerprint) for task in round_tasks if task.unchanged]
        work = [task for task in round_tasks if not task.unchanged]
        if labels is not None:
            work = _with_stored_parents(work, linker, labels)
        for outcome in itertools.chain(unchanged, executor.map(process_table, work)):
            with stage("link"):
                arrived = linker.arrive(outcome)
            for ready in arrived:
                publish(ready)
        for ready in linker.finish():
            publish(ready)
        stale = set(linker.stale())
        round_tasks = [replace(task, previous_fingerprint=None) for task in tasks if task.ref in stale]
        if not round_tasks:
            return


StoredLabels = Callable[[TableRef, tuple[str, ...]], "pd.DataFrame | None"]


def _with_stored_parents(work: list[TableTask], linker: KeyLinker, labels: StoredLabels) -> list[TableTask]:
    """Tasks whose reference parents keep their stored copy this round, with that copy's synthetic
    keys and kept labels (so that their workers can still follow the real counts per label)."""
    synthesized = {task.ref for task in work}
    ready = []
    for task in work:
        stored = {}
        for parent_keys in task.keys.measured:
            parent = parent_keys.relationship.parent
            if parent_keys.reference and parent not in synthesized and parent in linker.graph.tables:
                frame = labels(parent, parent_keys.relationship.parent_columns)
                if frame is not None:
                    stored[parent] = (linker.graph.tables[parent], frame)
        ready.append(replace(task, keys=replace(task.keys, stored_parents=stored)) if stored else task)
    return ready


def _run_rebalanced(executor: Executor, tasks: list[TableTask], publish: Callable[[TableOutcome], None]) -> None:
    """Rebalanced copies, once the plain ones are out. Their keys stay fakes: no table points at them."""
    from catalog_synth.run.table_job import process_table

    unchanged = [unchanged_outcome(task, task.fingerprint) for task in tasks if task.unchanged]
    for outcome in itertools.chain(unchanged, executor.map(process_table, [t for t in tasks if not t.unchanged])):
        publish(outcome)


@contextmanager
def _no_files_unless_stored(store: Store, report: SyncReport) -> Iterator[None]:
    """A first run that reached no table (a missing warehouse file, a listing that matches
    nothing) leaves no store, lock or folder behind: no empty file to mistake for a result.
    A run that tried tables keeps its store, which remembers why they were not published."""
    existed, folder_existed = store.exists(), store.path.parent.exists()
    yield
    if existed or any(result.ref.schema != "*" for result in report.results):
        return
    store.path.unlink(missing_ok=True)
    store.path.with_name(store.path.name + ".lock").unlink(missing_ok=True)
    if not folder_existed:
        try:
            store.path.parent.rmdir()
        except OSError:  # something else was written there
            pass


@contextmanager
def _run_lock(store_path: Path) -> Iterator[None]:
    """One sync per store at a time: a second cron run fails fast instead of overlapping."""
    store_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = store_path.with_name(store_path.name + ".lock")
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncError(f"another sync is running on {store_path} (lock {lock_path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {datetime.now(timezone.utc).isoformat()}\n")
        handle.flush()
        try:
            yield
        finally:
            close_cached_connectors()
            fcntl.flock(handle, fcntl.LOCK_UN)
