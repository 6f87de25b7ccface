"""The sync: list -> read -> synthesize + gate (in workers) -> store -> publish.

:func:`run_sync` is the library API; the CLI's ``sync`` is a thin layer over it.
Per-table work (describe, sample, synthesize, gate) runs in an executor; the
store and the catalog sinks are written by the calling process only, so a
table is published exactly when its copy is committed to the store.
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import itertools
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from catalog_synth.config import Config, RebalanceConfig, WarehouseConfig
from catalog_synth.executors import Executor, OnDemandExecutor, start_worker_server
from catalog_synth.keys.graph import KeyGraph, discover, with_declared
from catalog_synth.keys.link import KeyLinker, store_keys
from catalog_synth.keys.plan import KeyPlan, plan_keys
from catalog_synth.keys.profile import KeyProfile, drop_real_keys, read_sample
from catalog_synth.store import Store, StoreWriter, logical_name
from catalog_synth.timings import StageTimes, collect, stage
from catalog_synth.types import (
    GateFailed,
    SynthesisError,
    SynthesisSettings,
    SyntheticTable,
    TableInfo,
    TableRef,
    TableResult,
    TableSkipped,
    TableStatus,
)
from connectors import Connector, ConnectorError, TableVanished, WarehouseUnavailable, open_connector

if TYPE_CHECKING:
    import pandas as pd

    from catalog_synth.privacy.evidence import Evidence

log = logging.getLogger("catalog_synth.sync")
# Rounds of re-synthesizing unchanged tables whose parents got new keys (one is enough unless
# a table fails in between).
MAX_KEY_ROUNDS = 3
UNCHANGED = "unchanged since the last sync"


class SyncError(RuntimeError):
    """The run as a whole cannot proceed (e.g. another sync holds the lock)."""


@dataclass(frozen=True)
class TableTask:
    """One unit of work for an executor: everything a worker needs, nothing more."""

    warehouse: WarehouseConfig
    ref: TableRef
    settings: SynthesisSettings
    sample_rows: int
    previous_fingerprint: str | None = None
    retries: int = 2
    retry_backoff_seconds: float = 1.0
    keys: KeyPlan = KeyPlan()
    # The description and fingerprint planning read (None when it could not: the worker tries).
    info: TableInfo | None = None
    fingerprint: str | None = None
    # A rebalanced copy: the name it is stored under, and its request's digest (in its fingerprint).
    output: TableRef | None = None
    variant: str = ""
    # The table's rebalanced copies and what each holds, for its catalog page's links.
    copies: tuple[tuple[TableRef, str], ...] = ()
    # Why the last sync did not publish the table, for a reason that holds while its
    # fingerprint does (skipped, failed the gate, refused); "" when it was published.
    settled_reason: str = ""

    @property
    def unchanged(self) -> bool:
        """Planning already shows the table as it was at the last sync."""
        return self.fingerprint is not None and self.fingerprint == self.previous_fingerprint

    @property
    def output_name(self) -> str | None:
        return self.output.name if self.output else None

    def failed(self, reason: str, seconds: float = 0.0) -> TableOutcome:
        """The outcome when the executor gives up on this table (time limit, dead worker)."""
        return TableOutcome(TableResult(self.ref, TableStatus.FAILED, reason, seconds=seconds, output=self.output_name))


@dataclass
class TableOutcome:
    """A worker's answer. ``table`` is set only when synthesis and the gate passed."""

    result: TableResult
    table: SyntheticTable | None = None
    fingerprint: str | None = None
    platform: str = ""
    dialect: str = ""
    database: str | None = None
    keys: KeyProfile | None = None  # children-per-parent shapes (aggregates), for the key linker
    # Not published for a reason that holds until the fingerprint changes (skipped, failed the
    # gate, refused; not a timeout or a lost connection): remembered, not retried every run.
    settled: bool = False


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
        from catalog_synth.catalog.sinks import open_sinks

        sinks = open_sinks(config)
    report = SyncReport(store=store.path)
    with _no_files_unless_stored(store, report), collect() as report.stages, _run_lock(store.path), store.writer() as writer:
        with stage("plan"):
            tasks, listing_failures, graph = _plan(config, _last_syncs(writer), full)
        if executor is None:  # workers only for tables that need synthesis
            start_worker_server(config.executor, sum(not task.unchanged for task in tasks))
        report.results.extend(listing_failures)
        if on_plan:
            on_plan(len(tasks))
        own_executor = executor is None
        executor = executor or OnDemandExecutor(config.executor)
        linker = KeyLinker(graph, store_keys(writer.con, config.multi_warehouse), config.seed)
        results: dict[TableRef, TableResult] = {}  # by the stored table's ref

        catalog_names: dict[str, str] = {}  # URN or table -> logical name, to retry unpublished tables

        def publish(outcome: TableOutcome) -> None:
            with collect() as times:
                result = results[outcome.result.stored_ref] = _publish(outcome, writer, sinks, config, catalog_names)
            result.stages.add(times)
            _log_result(result)
            if on_table:
                on_table(result)

        try:
            _run_linked(executor, [task for task in tasks if task.output is None], linker, publish)
            _run_rebalanced(executor, [task for task in tasks if task.output is not None], publish)
        finally:
            if own_executor:
                executor.close()
        report.results.extend(results.values())
        removed = _drop_vanished(writer, config, tasks, listing_failures)
        if removed or any(result.status is TableStatus.SYNTHESIZED for result in results.values()):
            from catalog_synth.keys.metrics import record_relations  # scipy, only when the store changed

            with stage("relations"):
                record_relations(writer, graph, linker.profiles, linker.notes)
        with stage("publish"):
            report.sink_reports = [sink.close() for sink in sinks]
        _retry_unpublished(writer, report.sink_reports, catalog_names)
    report.results.sort(key=lambda r: r.stored_ref)
    report.seconds = time.monotonic() - started
    return report


def _run_linked(
    executor: Executor, tasks: list[TableTask], linker: KeyLinker, publish: Callable[[TableOutcome], None]
) -> None:
    """Run every table at once; publish each when its foreign keys point at synthetic parents.

    A table left unchanged whose parent got new keys is synthesized again, with its
    descendants, in a further round.
    """
    round_tasks = tasks
    for _ in range(MAX_KEY_ROUNDS):
        linker.expect(task.ref for task in round_tasks)
        unchanged = [_unchanged(task, task.fingerprint) for task in round_tasks if task.unchanged]
        work = [task for task in round_tasks if not task.unchanged]
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


def _run_rebalanced(executor: Executor, tasks: list[TableTask], publish: Callable[[TableOutcome], None]) -> None:
    """Rebalanced copies, once the plain ones are out. Their keys stay fakes: no table points at them."""
    unchanged = [_unchanged(task, task.fingerprint) for task in tasks if task.unchanged]
    for outcome in itertools.chain(unchanged, executor.map(process_table, [t for t in tasks if not t.unchanged])):
        publish(outcome)


def _unchanged(task: TableTask, fingerprint: str | None) -> TableOutcome:
    """The outcome of a table as it was at the last sync; one left unpublished then still is."""
    result = TableResult(task.ref, TableStatus.UNCHANGED, task.settled_reason or UNCHANGED, output=task.output_name)
    return TableOutcome(result, fingerprint=fingerprint, settled=bool(task.settled_reason))


@dataclass(frozen=True)
class LastSync:
    """A table as the last sync left it: its fingerprint, and why it was left unpublished (if so)."""

    fingerprint: str | None
    settled_reason: str = ""


NEVER_SYNCED = LastSync(None)


def _last_syncs(writer: StoreWriter) -> dict[str, LastSync]:
    """Every known table's fingerprint at the last sync, and why it was left unpublished if it was
    (a settled outcome is newer than any stored copy: writing a copy forgets it)."""
    last = {stored.logical_name: LastSync(stored.fingerprint) for stored in writer.tables()}
    for name, settled in writer.settled().items():
        reason = f"{settled.status} at the last sync: {settled.reason}; unchanged since (sync --full retries it)"
        last[name] = LastSync(settled.fingerprint, reason)
    return last


def _plan(
    config: Config, previous: dict[str, LastSync], full: bool
) -> tuple[list[TableTask], list[TableResult], KeyGraph]:
    """Every included table's task, with its description and fingerprint where planning could read them.

    Catalog queries are batched per warehouse; a table whose fingerprint matches the last
    sync's needs no worker at all.
    """
    tasks: list[TableTask] = []
    failures: list[TableResult] = []
    graph = KeyGraph({})
    for warehouse in config.warehouses:
        try:
            with _connector(warehouse) as connector:
                refs = connector.list_tables(warehouse.include, warehouse.exclude)
                if not refs:
                    failures.append(_nothing_listed(warehouse, connector.list_tables(["*.*"], [])))
                    continue
                warehouse_graph, problems = discover(connector, warehouse, refs)
                plans, sizes = plan_keys(warehouse_graph, config.sample_rows, config.copy_rows, _reference_rows(config))
                described = _fingerprinted(connector, warehouse, warehouse_graph, plans)
                asked = _catalog_requests(config, connector, warehouse, refs, failures)
        except ConnectorError as exc:  # its message names the warehouse and what failed
            failures.append(TableResult(TableRef(warehouse.name, "*", "*"), TableStatus.FAILED, str(exc)))
            continue
        graph.merge(warehouse_graph)
        failures.extend(
            TableResult(TableRef(warehouse.name, "*", "relationships"), TableStatus.FAILED, problem) for problem in problems
        )
        for ref in refs:
            name = logical_name(ref, config.multi_warehouse)
            plan = plans.get(ref, KeyPlan())
            settings = replace(synthesis_settings(config, ref), relinked=plan.relinked)
            requests = rebalance_requests(config, ref, asked)
            info, raw_fingerprint = described.get(ref, (None, None))
            last = NEVER_SYNCED if full else previous.get(name, NEVER_SYNCED)
            task = TableTask(
                warehouse=warehouse,
                ref=ref,
                settings=replace(settings, copy_rows=sizes[ref]) if ref in sizes else settings,
                sample_rows=config.sample_rows,
                previous_fingerprint=last.fingerprint,
                retries=config.executor.retries,
                retry_backoff_seconds=config.executor.retry_backoff_seconds,
                keys=plan,
                info=info,
                # The copies' requests count too: the table's catalog links name them.
                variant="".join(request.digest() for request in requests),
                copies=tuple((replace(ref, name=r.output_name(ref.name)), r.describe()) for r in requests),
                settled_reason=last.settled_reason,
            )
            tasks.append(replace(task, fingerprint=_variant(raw_fingerprint, task.variant)))
            tasks.extend(_rebalance_task(config, task, request, previous, full, raw_fingerprint) for request in requests)
    return tasks, failures, graph


def _reference_rows(config: Config) -> int | None:
    return config.privacy.reference_max_rows if config.privacy.reference_tables else None


def _nothing_listed(warehouse: WarehouseConfig, available: list[TableRef] = ()) -> TableResult:
    """A listing that matched no table fails the run and keeps the store as it is: an empty
    listing is far likelier a mistyped glob or path than a warehouse whose tables all left.
    The reason names the schemas the warehouse does have (SQLite's and DuckDB's is ``main``)."""
    reason = (
        f"warehouse {warehouse.name!r}: no table matches include {warehouse.include}"
        + (f" and exclude {warehouse.exclude}" if warehouse.exclude else "")
        + "; "
        + _schemas_hint(available)
        + "; the store keeps its copies of this warehouse"
    )
    log.warning("%s", reason)
    return TableResult(TableRef(warehouse.name, "*", "*"), TableStatus.FAILED, reason)


def _schemas_hint(available: list[TableRef]) -> str:
    """``the warehouse has schema main (11 tables): include ["main.*"]``, or that it has no table."""
    counts: dict[str, int] = {}
    for ref in available:
        counts[ref.schema] = counts.get(ref.schema, 0) + 1
    if not counts:
        return "the warehouse has no tables at all"
    shown = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:8]
    schemas = ", ".join(f"{schema} ({count} table{'s' * (count != 1)})" for schema, count in shown)
    globs = ", ".join(f'"{schema}.*"' for schema, _ in shown[:3])
    return f"the warehouse has schema{'s' * (len(counts) != 1)} {schemas}: try include [{globs}]"


def rebalance_requests(config: Config, ref: TableRef, asked: list[RebalanceConfig] = ()) -> list[RebalanceConfig]:
    """The table's rebalanced copies: the config's, then those asked in the catalog (one per name)."""
    chosen: dict[str, RebalanceConfig] = {}
    for request in [*config.rebalance, *asked]:
        if request.matches(ref.warehouse, ref.qualified):
            chosen.setdefault(request.output_name(ref.name), request)
    return list(chosen.values())


def _catalog_requests(
    config: Config, connector: Connector, warehouse: WarehouseConfig, refs: list[TableRef], failures: list[TableResult]
) -> list[RebalanceConfig]:
    """Rebalance requests tagged in DataHub on this warehouse's datasets (with catalog.datahub set)."""
    if config.catalog.datahub is None or not refs:
        return []
    from catalog_synth.catalog.gms import CatalogConnectionError, connect
    from catalog_synth.catalog.requests import read_requests
    from catalog_synth.catalog.urns import DatasetLocation, UrnError

    location = DatasetLocation(platform=connector.platform, database=connector.database, warehouse=warehouse)
    datasets = []
    for ref in refs:
        try:
            datasets.append((ref, location.dataset_urn(ref)))
        except UrnError:  # the sink reports it when it publishes
            pass
    try:
        graph = connect(config.catalog.datahub)
    except CatalogConnectionError as exc:
        failures.append(TableResult(TableRef(warehouse.name, "*", "*"), TableStatus.FAILED, f"rebalance requests: {exc}"))
        return []
    try:
        requests, problems = read_requests(graph, config, datasets)
    except Exception as exc:  # noqa: BLE001 - a catalog read error must not stop the sync
        requests, problems = [], [(TableRef(warehouse.name, "*", "*"), f"rebalance requests: {type(exc).__name__}")]
    finally:
        graph.close()
    failures.extend(TableResult(ref, TableStatus.FAILED, problem) for ref, problem in problems)
    return requests


def _rebalance_task(
    config: Config,
    task: TableTask,
    request: RebalanceConfig,
    previous: dict[str, LastSync],
    full: bool,
    raw_fingerprint: str | None,
) -> TableTask:
    """The task of one rebalanced copy: the same table read again, its own generator and rows."""
    output = replace(task.ref, name=request.output_name(task.ref.name))
    last = NEVER_SYNCED if full else previous.get(logical_name(output, config.multi_warehouse), NEVER_SYNCED)
    synthesizer, generator_settings = config.generator_for(task.ref.warehouse, task.ref.qualified, request)
    settings = replace(
        synthesis_settings(config, task.ref),
        synthesizer=synthesizer,
        generator_settings=generator_settings,
        rebalance=request.spec(),
    )
    return replace(
        task,
        settings=settings,
        sample_rows=request.sample_rows or task.sample_rows,
        previous_fingerprint=last.fingerprint,
        settled_reason=last.settled_reason,
        keys=replace(task.keys, relinked=(), sampled_with=None),
        fingerprint=_variant(raw_fingerprint, request.digest()),
        output=output,
        variant=request.digest(),
        copies=(),
    )


def _variant(fingerprint_: str | None, digest: str) -> str | None:
    """A fingerprint that also changes with a request (none: the fingerprint as it is)."""
    if fingerprint_ is None or not digest:
        return fingerprint_
    return hashlib.sha256(f"{fingerprint_}:{digest}".encode()).hexdigest()[:32]


def _fingerprinted(
    connector: Connector, warehouse: WarehouseConfig, graph: KeyGraph, plans: dict[TableRef, KeyPlan]
) -> dict[TableRef, tuple[TableInfo | None, str]]:
    """Each described table's fingerprint, and its description (with the config's relationships)
    for the worker to use; a table refused for good (permissions, a bad watermark column) has the
    refusal as its fingerprint, which changes when the refusal goes away.

    An estimated row count (a big table, or one another session had locked) is no count to
    synthesize by: the worker describes that table again, waiting for the lock if need be.
    """
    infos = [with_declared(info, plans.get(ref, KeyPlan()).declared) for ref, info in graph.tables.items()]
    markers = connector.change_markers(infos, warehouse.watermarks)
    errors = {**graph.unreadable, **{ref: m for ref, m in markers.items() if isinstance(m, ConnectorError)}}
    described = {
        info.ref: (None if info.row_count_estimated else info, fingerprint(info, markers[info.ref]))
        for info in infos
        if info.ref not in errors
    }
    return described | {ref: (None, refusal_fingerprint(error)) for ref, error in errors.items() if settles(error)}


def synthesis_settings(config: Config, ref: TableRef) -> SynthesisSettings:
    privacy = config.privacy
    synthesizer, generator_settings = config.generator_for(ref.warehouse, ref.qualified)
    return SynthesisSettings(
        copy_rows=config.copy_rows,
        preview_rows=config.preview_rows,
        synthesizer=synthesizer,
        generator_settings=generator_settings,
        seed=config.seed,
        overrides=column_overrides(config, ref),
        min_category_count=privacy.min_category_count,
        dcr_threshold=privacy.dcr_threshold,
        holdout_share=privacy.holdout_share,
        unique_share=privacy.unique_share,
        min_rows=privacy.min_rows,
    )


def column_overrides(config: Config, ref: TableRef) -> dict[str, str]:
    """The config's ``columns`` entries for this table, keyed by column name or column glob.

    Keys of ``columns`` are ``schema.table.column`` globs (``shop.genre.*``), optionally
    prefixed by the warehouse name; the table part is matched here, the column part when the
    columns are classified (:meth:`SynthesisSettings.override_for`)."""
    overrides = {}
    for pattern, value in config.columns.items():
        table_part, _, column_part = pattern.rpartition(".")
        if fnmatch.fnmatchcase(ref.qualified, table_part) or fnmatch.fnmatchcase(
            f"{ref.warehouse}.{ref.qualified}", table_part
        ):
            overrides[column_part] = value
    return overrides


def process_table(task: TableTask) -> TableOutcome:
    """Describe, sample, synthesize and gate one table. Runs in a worker; never raises."""
    with collect() as times:
        outcome = _process_table(task)
    outcome.result.stages = times
    return outcome


def _process_table(task: TableTask) -> TableOutcome:
    started = time.monotonic()
    outcome = TableOutcome(TableResult(task.ref, TableStatus.FAILED), fingerprint=task.fingerprint)
    try:
        connector = _cached_connector(task.warehouse)
        outcome.platform, outcome.dialect, outcome.database = connector.platform, connector.dialect, connector.database
        if task.info is not None:
            info, outcome.fingerprint = task.info, task.fingerprint
        else:
            with stage("describe"):
                info, raw_fingerprint = _retrying(task, lambda: _describe(connector, task))
            outcome.fingerprint = _variant(raw_fingerprint, task.variant)
        if task.previous_fingerprint == outcome.fingerprint:
            outcome = _unchanged(task, outcome.fingerprint)
            return outcome
        with stage("sample"):
            sample, outcome.keys = _retrying(
                task,
                lambda: read_sample(
                    connector, info, task.keys, task.sample_rows, task.settings.seed, task.settings.min_category_count
                ),
            )
            outcome.result.rows_read = len(sample)
            evidence = _retrying(task, partial(_evidence, connector, info, task.keys, sample))
        # A rebalanced copy asks for its own rows, which may be more than the real table has.
        settings = task.settings if task.settings.rebalance else _capped(task.settings, info)
        from catalog_synth.synthesis import synthesize_table

        table = synthesize_table(info, sample, settings, evidence)
        del sample, evidence  # real rows stop here
        with stage("sample"):
            real_keys = _retrying(task, lambda: drop_real_keys(connector, table, task.keys))
        if task.output:
            table.ref, table.info = task.output, replace(table.info, ref=task.output)
        table.copies = list(task.copies)
        outcome.table = table
        outcome.result = TableResult(
            task.ref,
            TableStatus.SYNTHESIZED,
            rows_read=outcome.result.rows_read,
            rows_written=len(table.data),
            quality=table.quality,
            gate=table.gate,
            notes=table.notes
            + [f"column {c!r} {why}" for c, why in table.dropped_columns.items()]
            + ([f"{real_keys} synthetic key(s) equal to a real key were dropped"] if real_keys else []),
            generator=table.generator.as_dict() if table.generator else None,
            rebalance=table.rebalance,
        )
    except (TableVanished, TableSkipped) as exc:
        outcome.result = TableResult(task.ref, TableStatus.SKIPPED, str(exc), rows_read=outcome.result.rows_read)
        outcome.settled = isinstance(exc, TableSkipped)
    except SynthesisError as exc:
        outcome.result = TableResult(task.ref, TableStatus.FAILED, str(exc), rows_read=outcome.result.rows_read)
        outcome.settled = True
    except GateFailed as exc:
        outcome.result = TableResult(task.ref, TableStatus.FAILED, str(exc), gate=exc.gate, rows_read=outcome.result.rows_read)
        outcome.settled = True
    except ConnectorError as exc:
        outcome.result = TableResult(task.ref, TableStatus.FAILED, str(exc))
        outcome.settled = settles(exc)
    except Exception as exc:  # a bug or an unexpected library error: report it, never echo data
        log.exception("unexpected error on %s", task.ref)
        outcome.result = TableResult(task.ref, TableStatus.FAILED, f"internal error ({type(exc).__name__})")
    finally:
        outcome.result.seconds = time.monotonic() - started
        outcome.result.output = task.output_name
    return outcome


def _evidence(connector: Connector, info: TableInfo, plan: KeyPlan, sample: pd.DataFrame) -> Evidence:
    """What the privacy stage needs to know beyond the sample, read from the warehouse in the worker."""
    from catalog_synth.keys.people import copied_from_probe, read_subjects, real_counts_probe
    from catalog_synth.privacy.evidence import Evidence

    return Evidence(
        subjects=read_subjects(connector, info, plan.subject, sample),
        reference=plan.reference,
        copied_from=copied_from_probe(connector, plan.sources),
        real_counts=real_counts_probe(connector, info.ref, plan.sources, plan.subject),
    )


def _describe(connector: Connector, task: TableTask) -> tuple[TableInfo, str]:
    """The table's description and its fingerprint, including the warehouse's change marker."""
    info = with_declared(connector.describe(task.ref), task.keys.declared)
    marker = connector.change_marker(info, task.warehouse.watermarks.get(task.ref.qualified))
    return info, fingerprint(info, marker)


_T = TypeVar("_T")


def _retrying(task: TableTask, action: Callable[[], _T]) -> _T:
    """Run a warehouse read, retrying transient errors with exponential backoff and jitter.

    Data and schema errors are not retried: only :class:`WarehouseUnavailable`
    (lost connection, server restarting, deadlock).
    """
    attempt = 0
    while True:
        try:
            return action()
        except WarehouseUnavailable as exc:
            if attempt >= task.retries:
                raise WarehouseUnavailable(f"{exc}; gave up after {attempt + 1} attempts") from None
            delay = task.retry_backoff_seconds * 2**attempt * random.uniform(1.0, 1.5)
            attempt += 1
            log.warning("%s: %s; retry %d of %d in %.1f s", task.ref, exc, attempt, task.retries, delay)
            time.sleep(delay)


def _capped(settings: SynthesisSettings, info: TableInfo) -> SynthesisSettings:
    """Never more synthetic rows than the real table has."""
    return replace(settings, copy_rows=max(0, min(settings.copy_rows, info.row_count)))


def fingerprint(info: TableInfo, change_marker: str | None = None) -> str:
    """Schema, keys, row count and the warehouse's change marker: a change in any means re-synthesize.

    An estimated row count (catalog statistics) drifts with every ANALYZE, so it is
    left out when a change marker says whether the data changed. The marker may hold
    a real value (``MAX(updated_at)``): it only ever enters this digest.
    """
    payload = {
        "columns": [(c.name, c.sql_type, c.nullable) for c in info.columns],
        "pk": list(info.primary_key),
        "fks": sorted((list(f.columns), str(f.referred), list(f.referred_columns)) for f in info.foreign_keys),
        "rows": None if info.row_count_estimated and change_marker else info.row_count,
        "changes": change_marker,
    }
    return _digest(payload)


def refusal_fingerprint(error: ConnectorError) -> str:
    """The fingerprint of a table the warehouse refuses to describe: the refusal (names, no values)."""
    return _digest({"refused": str(error)})


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def settles(error: ConnectorError) -> bool:
    """A warehouse error that holds until something changes there (a refusal, a data or schema
    error), unlike a lost connection or a table dropped while the run looked at it."""
    return not isinstance(error, (WarehouseUnavailable, TableVanished))


def _publish(
    outcome: TableOutcome, writer: StoreWriter, sinks: list, config: Config, catalog_names: dict[str, str]
) -> TableResult:
    """Commit a synthesized table to the store, then to every catalog sink; remember why one that
    was not published was not, while that holds."""
    table = outcome.table
    if table is None:
        _remember_unpublished(outcome, writer, config)
        return outcome.result
    with stage("store"):
        name = writer.write(
            table, multi_warehouse=config.multi_warehouse, dialect=outcome.dialect, fingerprint=outcome.fingerprint
        )
    if table.rebalance is not None:  # not a catalog dataset: its source's page links to it
        return outcome.result
    if sinks:
        from catalog_synth.catalog.urns import DatasetLocation, UrnError

        location = DatasetLocation(
            platform=outcome.platform,
            database=outcome.database,
            warehouse=config.warehouse(table.ref.warehouse),
        )
        catalog_names[str(table.ref)] = name
        try:
            catalog_names[location.dataset_urn(table.ref)] = name
        except UrnError:  # the sink reports it under the table's name
            pass
        with stage("publish"):
            for sink in sinks:
                sink.publish(table, location)
    return outcome.result


def _remember_unpublished(outcome: TableOutcome, writer: StoreWriter, config: Config) -> None:
    """A table left unpublished for a settled reason is not tried again until its fingerprint changes."""
    result = outcome.result
    if outcome.settled and outcome.fingerprint and result.status is not TableStatus.UNCHANGED:
        name = logical_name(result.stored_ref, config.multi_warehouse)
        writer.settle(name, result.ref.warehouse, result.status.value, result.reason, outcome.fingerprint)


def _log_result(result: TableResult) -> None:
    """One log line per finished table (failures as warnings), for cron logs and --log-json."""
    level = logging.WARNING if result.status is TableStatus.FAILED else logging.INFO
    reason = f": {result.reason}" if result.reason else ""
    log.log(level, "%s %s in %.1f s%s", result.stored_ref, result.status.value, result.seconds, reason)


def _retry_unpublished(writer: StoreWriter, sink_reports: list, catalog_names: dict[str, str]) -> None:
    """Tables a sink failed (or skipped as unknown to the catalog) are synthesized again next run.

    Their copy stays in the store, but without a fingerprint an unchanged table is not
    skipped, so its catalog entry is not lost for good.
    """
    for sink_report in sink_reports:
        for key in [*sink_report.failed, *sink_report.skipped_missing]:
            if key in catalog_names:
                writer.forget_fingerprint(catalog_names[key])


def _drop_vanished(
    writer: StoreWriter, config: Config, tasks: list[TableTask], failures: list[TableResult]
) -> list[str]:
    """Remove copies of tables that left the warehouse (or the include list), for warehouses listed fine."""
    listed_ok = {w.name for w in config.warehouses} - {f.ref.warehouse for f in failures}
    current = {logical_name(t.output or t.ref, config.multi_warehouse) for t in tasks}
    for name, settled in writer.settled().items():
        if settled.warehouse in listed_ok and name not in current:
            writer.forget_settled(name)
    removed = [
        stored.logical_name
        for stored in writer.tables()
        if stored.warehouse in listed_ok and stored.logical_name not in current
    ]
    for name in removed:
        log.info("removing %s: no longer in the warehouse listing", name)
        writer.remove(name)
    return removed


# -- connectors, cached per process -----------------------------------------------------
_CONNECTORS: dict[tuple[str, str], Connector] = {}


def _connector(warehouse: WarehouseConfig) -> Connector:
    return open_connector(warehouse.name, warehouse.connector, warehouse.url.get_secret_value())


def _cached_connector(warehouse: WarehouseConfig) -> Connector:
    key = (warehouse.name, warehouse.url.get_secret_value())
    if key not in _CONNECTORS:
        _CONNECTORS[key] = _connector(warehouse)
    return _CONNECTORS[key]


def close_cached_connectors() -> None:
    while _CONNECTORS:
        _CONNECTORS.popitem()[1].close()


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
