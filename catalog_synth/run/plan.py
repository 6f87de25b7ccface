"""Planning a sync: every included table's task, with its description, settings, key plan,
rebalanced copies and fingerprint (a table whose fingerprint matches the last sync's needs no worker)."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
from dataclasses import dataclass, replace

from catalog_synth.core.config import (
    REBALANCE_SAMPLE_ROWS,
    Config,
    RebalanceConfig,
    WarehouseConfig,
)
from catalog_synth.core.generators import rare_class_warning
from catalog_synth.core.types import (
    SynthesisSettings,
    TableInfo,
    TableRef,
    TableResult,
    TableStatus,
)
from catalog_synth.link.plan import KeyPlan, plan_keys
from catalog_synth.link.rules import configured
from catalog_synth.run.connections import open_warehouse
from catalog_synth.run.tasks import TableTask
from catalog_synth.store.copies import StoreWriter, logical_name
from connectors import Connector, ConnectorError, TableVanished, WarehouseUnavailable
from connectors.graph import KeyGraph, discover, with_declared

log = logging.getLogger("catalog_synth.sync")


@dataclass(frozen=True)
class LastSync:
    """A table as the last sync left it: its fingerprint, and why it was left unpublished (if so)."""

    fingerprint: str | None
    settled_reason: str = ""


NEVER_SYNCED = LastSync(None)


def last_syncs(writer: StoreWriter) -> dict[str, LastSync]:
    """Every known table's fingerprint at the last sync, and why it was left unpublished if it was
    (a settled outcome is newer than any stored copy: writing a copy forgets it)."""
    last = {stored.logical_name: LastSync(stored.fingerprint) for stored in writer.tables()}
    for name, settled in writer.settled().items():
        reason = f"{settled.status} at the last sync: {settled.reason}; unchanged since (sync --full retries it)"
        last[name] = LastSync(settled.fingerprint, reason)
    return last


@dataclass(frozen=True)
class _Listing:
    """What planning read from one warehouse: its tables, their relationships and fingerprints."""

    warehouse: WarehouseConfig
    refs: list[TableRef]
    graph: KeyGraph
    problems: list[str]
    described: dict[TableRef, tuple[TableInfo | None, str]]
    asked: list[RebalanceConfig]


def plan_tasks(
    config: Config, previous: dict[str, LastSync], full: bool
) -> tuple[list[TableTask], list[TableResult], KeyGraph]:
    """Every included table's task, with its description and fingerprint where planning could read them.

    Catalog queries are batched per warehouse; a table whose fingerprint matches the last
    sync's needs no worker at all. Key plans (sampling trees, people, reference tables) are
    made only when some table needs a worker: a run in which nothing changed never loads the
    people stage (pandas, Faker).
    """
    failures: list[TableResult] = []
    graph = KeyGraph({})
    listings: list[_Listing] = []
    for warehouse in config.warehouses:
        try:
            with open_warehouse(warehouse) as connector:
                refs = connector.list_tables(warehouse.include, warehouse.exclude)
                if not refs:
                    failures.append(_nothing_listed(warehouse, connector.list_tables(["*.*"], [])))
                    continue
                warehouse_graph, problems = discover(connector, warehouse, refs)
                described = _fingerprinted(connector, warehouse, warehouse_graph)
                asked = _catalog_requests(config, connector, warehouse, refs, failures)
        except ConnectorError as exc:  # its message names the warehouse and what failed
            failures.append(TableResult(TableRef(warehouse.name, "*", "*"), TableStatus.FAILED, str(exc)))
            continue
        graph.merge(warehouse_graph)
        listings.append(_Listing(warehouse, refs, warehouse_graph, problems, described, asked))
    keyed = full or any(
        not task.unchanged for listing in listings for task in _listed_tasks(config, listing, {}, {}, previous, full)
    )
    tasks: list[TableTask] = []
    for listing in listings:
        if keyed:
            plans, sizes = plan_keys(listing.graph, config.sample_rows, config.copy_rows, _reference_rows(config))
        else:
            plans, sizes = {ref: KeyPlan(listing.graph.declared_for(ref)) for ref in listing.graph.tables}, {}
        plans, rule_problems = _with_rules(listing.graph, plans, listing.warehouse)
        name = listing.warehouse.name
        failures.extend(
            TableResult(TableRef(name, "*", "relationships"), TableStatus.FAILED, problem) for problem in listing.problems
        )
        failures.extend(TableResult(TableRef(name, "*", "rules"), TableStatus.FAILED, problem) for problem in rule_problems)
        tasks.extend(_listed_tasks(config, listing, plans, sizes, previous, full))
    return tasks, failures, graph


def _listed_tasks(
    config: Config,
    listing: _Listing,
    plans: dict[TableRef, KeyPlan],
    sizes: dict[TableRef, int],
    previous: dict[str, LastSync],
    full: bool,
) -> list[TableTask]:
    """The tasks of one warehouse's tables (and of their rebalanced copies)."""
    tasks: list[TableTask] = []
    for ref in listing.refs:
        name = logical_name(ref, config.multi_warehouse)
        plan = plans.get(ref, KeyPlan())
        settings = replace(synthesis_settings(config, ref), relinked=plan.relinked)
        requests = rebalance_requests(config, ref, listing.asked)
        info, raw_fingerprint = listing.described.get(ref, (None, None))
        last = NEVER_SYNCED if full else previous.get(name, NEVER_SYNCED)
        task = TableTask(
            warehouse=listing.warehouse,
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
        tasks.append(replace(task, fingerprint=variant_fingerprint(raw_fingerprint, task.variant)))
        tasks.extend(_rebalance_task(config, task, request, previous, full, raw_fingerprint) for request in requests)
    return tasks


def _with_rules(
    graph: KeyGraph, plans: dict[TableRef, KeyPlan], warehouse: WarehouseConfig
) -> tuple[dict[TableRef, KeyPlan], list[str]]:
    """Plans with the config's schema-wide rules (added or switched off), and the config's mistakes."""
    if not warehouse.rules:
        return plans, []
    problems: list[str] = []
    for ref, plan in list(plans.items()):
        added, off, wrong = configured(graph, graph.tables[ref], warehouse.rules)
        plans[ref], problems = replace(plan, rules_added=added, rules_off=off), [*problems, *wrong]
    known = {ref.qualified for ref in graph.tables}
    problems += [
        f"rules[{i}]: no table {e.table} in this warehouse" for i, e in enumerate(warehouse.rules) if e.table not in known
    ]
    return plans, problems


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
    from catalog_synth.publish.gms import CatalogConnectionError, connect
    from catalog_synth.publish.requests import read_requests
    from catalog_synth.publish.urns import DatasetLocation, UrnError

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
        failures.append(
            TableResult(TableRef(warehouse.name, "*", "*"), TableStatus.FAILED, f"rebalance requests: {exc}")
        )
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
    return replace(
        task,
        settings=rebalance_settings(config, task.ref, request),
        sample_rows=request.sample_rows or max(task.sample_rows, REBALANCE_SAMPLE_ROWS),
        previous_fingerprint=last.fingerprint,
        settled_reason=last.settled_reason,
        keys=replace(  # its keys stay fakes: only the table's own rules apply
            task.keys,
            relinked=(),
            sampled_with=None,
            rule_candidates=tuple(c for c in task.keys.rule_candidates if c.relationship is None),
        ),
        fingerprint=variant_fingerprint(raw_fingerprint, request.digest()),
        output=output,
        variant=request.digest(),
        copies=(),
    )


def rebalance_settings(config: Config, ref: TableRef, request: RebalanceConfig) -> SynthesisSettings:
    """A rebalanced copy's synthesis settings: its own generator (by default the one that won the
    rebalancing benchmark, whatever the table's) and request. A generator that cannot learn a rare
    class is used only when named, with a warning."""
    synthesizer, generator_settings = config.generator_for(ref.warehouse, ref.qualified, request)
    warning = rare_class_warning(synthesizer)
    if warning:
        log.warning("%s: %s", ref, warning)
    return replace(
        synthesis_settings(config, ref),
        synthesizer=synthesizer,
        generator_settings=generator_settings,
        rebalance=request.spec(),
    )


def variant_fingerprint(fingerprint_: str | None, digest: str) -> str | None:
    """A fingerprint that also changes with a request (none: the fingerprint as it is)."""
    if fingerprint_ is None or not digest:
        return fingerprint_
    return hashlib.sha256(f"{fingerprint_}:{digest}".encode()).hexdigest()[:32]


def _fingerprinted(
    connector: Connector, warehouse: WarehouseConfig, graph: KeyGraph
) -> dict[TableRef, tuple[TableInfo | None, str]]:
    """Each described table's fingerprint, and its description (with the config's relationships)
    for the worker to use; a table refused for good (permissions, a bad watermark column) has the
    refusal as its fingerprint, which changes when the refusal goes away.

    An estimated row count (a big table, or one another session had locked) is no count to
    synthesize by: the worker describes that table again, waiting for the lock if need be.
    """
    infos = [with_declared(info, graph.declared_for(ref)) for ref, info in graph.tables.items()]
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
        reference_max_rows=_reference_rows(config),
        allow_sample_only_checks=privacy.allow_sample_only_checks,
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
