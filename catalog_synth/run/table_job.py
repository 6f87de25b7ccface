"""One table's work in a worker: describe -> sample (with the key plan) -> evidence from the
warehouse -> synthesize and gate -> drop synthetic keys equal to real ones. Never raises."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from catalog_synth.core.rule_notes import rule_note
from catalog_synth.core.timings import collect, stage
from catalog_synth.core.types import (
    GateFailed,
    SynthesisError,
    SynthesisSettings,
    SyntheticTable,
    TableInfo,
    TableResult,
    TableSkipped,
    TableStatus,
    with_rows_note,
)
from catalog_synth.link.bands import find_bands
from catalog_synth.link.enforce import rare_in_child
from catalog_synth.link.offsets import with_offsets
from catalog_synth.link.prefixes import find_prefixes, with_prefix_tokens
from catalog_synth.link.profile import drop_real_keys, read_sample, with_tokens
from catalog_synth.link.rules import chosen
from catalog_synth.link.rules import measure as measure_rules
from catalog_synth.run.connections import cached_connector
from catalog_synth.run.plan import fingerprint, settles, variant_fingerprint
from catalog_synth.run.tasks import TableOutcome, TableTask, unchanged_outcome
from connectors import (
    Capability,
    Connector,
    ConnectorError,
    TableVanished,
    WarehouseUnavailable,
)
from connectors.graph import with_declared

if TYPE_CHECKING:
    import pandas as pd

    from catalog_synth.protect.evidence import Evidence

log = logging.getLogger("catalog_synth.sync")


def process_table(task: TableTask) -> TableOutcome:
    """Describe, sample, synthesize and gate one table. Runs in a worker; never raises."""
    started = time.monotonic()
    outcome = TableOutcome(TableResult(task.ref, TableStatus.FAILED), fingerprint=task.fingerprint)
    with collect() as times:
        try:
            outcome = _synthesized(task, outcome)
        except Exception as exc:  # noqa: BLE001 - every failure becomes the table's result
            _failed(task, outcome, exc)
    outcome.result.stages = times
    outcome.result.seconds = time.monotonic() - started
    outcome.result.output = task.output_name
    return outcome


def _synthesized(task: TableTask, outcome: TableOutcome) -> TableOutcome:
    connector = cached_connector(task.warehouse)
    outcome.platform, outcome.dialect, outcome.database = connector.platform, connector.dialect, connector.database
    info = _described(connector, task, outcome)
    if task.previous_fingerprint == outcome.fingerprint:
        return unchanged_outcome(task, outcome.fingerprint)
    limits = capability_notes(connector, task)
    with stage("sample"):
        rows = max(task.sample_rows, info.row_count) if task.keys.lookup else task.sample_rows  # every label
        sample, outcome.keys = _retrying(task, lambda: read_sample(
            connector, info, task.keys, rows, task.settings.seed, task.settings.min_category_count
        ))  # fmt: skip
        outcome.result.rows_read = len(sample)
        evidence = _retrying(task, partial(_evidence, connector, info, task, sample))
    with stage("rules"):
        try:  # retried like any read; a warehouse that keeps failing them costs the rules, not the table
            rules, rule_notes = _retrying(task, partial(_rules, connector, info, task, sample, evidence))
            rules, offset_notes = _retrying(task, partial(with_offsets, connector, info, rules, sample))
            rule_notes = [*rule_notes, *offset_notes]
        except ConnectorError as exc:
            rules, rule_notes = list(task.keys.rules_added), [f"schema-wide rules were not measured: {exc}"]
        outcome.keys.rules = rules
    from catalog_synth.run.synthesize import synthesize_table

    settings = _settings(task, info)
    table = synthesize_table(info, sample, settings, evidence, rules)
    with stage("sample"):
        real_keys = _retrying(task, lambda: drop_real_keys(connector, table, task.keys))
    outcome.keys = with_prefix_tokens(with_tokens(outcome.keys, sample, table, task.keys), table.data, rules)
    outcome.keys.rare_copies = rare_in_child(sample, rules, evidence.subjects, settings.min_category_count)
    del sample, evidence  # real rows stop here
    table.notes = [*table.notes, *limits, *outcome.keys.notes, *rule_notes]
    outcome.table = _named(task, table)
    outcome.result = _result(task, table, outcome.result.rows_read, real_keys)
    outcome.result.rows_asked = settings.copy_rows
    for holder in (outcome.result, table):  # the summary and the stored copy's report
        holder.notes = with_rows_note(holder.notes, settings.copy_rows, len(table.data), table.shortfall)
    return outcome


def capability_notes(connector: Connector, task: TableTask) -> list[str]:
    """What the connector cannot do for this table, as notes for its result and ``report``.

    Where privacy depends on it (fakes checked against the whole real column, people counted
    through keys, synthetic keys checked against every real key) the table is refused unless the
    config accepts sample-only checks."""
    needed = [Capability.VALUE_COUNTS]
    subject = task.keys.subject
    if task.keys.checked_key or (subject is not None and len(subject.hops) > 1):
        needed.append(Capability.KEY_LOOKUPS)
    missing = " or ".join(capability.meaning for capability in needed if not connector.supports(capability))
    if not missing:
        return []
    name = task.warehouse.connector
    if not task.settings.allow_sample_only_checks:
        raise TableSkipped(
            f"refused: connector {name!r} offers no {missing}, so real values outside the sample cannot be"
            " ruled out (privacy.allow_sample_only_checks: true accepts checks against the sample only)"
        )
    return [f"connector {name!r} offers no {missing}: fakes and keys were checked against the sample only"]


def _described(connector: Connector, task: TableTask, outcome: TableOutcome) -> TableInfo:
    """The table as planning described it, or described now; sets the outcome's fingerprint."""
    if task.info is not None:
        outcome.fingerprint = task.fingerprint
        return task.info
    with stage("describe"):
        info, raw_fingerprint = _retrying(task, lambda: _describe(connector, task))
    outcome.fingerprint = variant_fingerprint(raw_fingerprint, task.variant)
    return info


def _describe(connector: Connector, task: TableTask) -> tuple[TableInfo, str]:
    """The table's description and its fingerprint, including the warehouse's change marker."""
    info = with_declared(connector.describe(task.ref), task.keys.declared)
    marker = connector.change_marker(info, task.warehouse.watermarks.get(task.ref.qualified))
    return info, fingerprint(info, marker)


def _evidence(connector: Connector, info: TableInfo, task: TableTask, sample: pd.DataFrame) -> Evidence:
    """What the privacy stage needs to know beyond the sample, read from the warehouse in the worker."""
    from catalog_synth.protect.evidence import Evidence
    from catalog_synth.protect.people import (
        copied_from_probe,
        read_subjects,
        real_counts_probe,
    )

    plan = task.keys
    return Evidence(
        subjects=read_subjects(connector, info, plan.subject, sample),
        reference=plan.reference,
        lookup=plan.lookup,
        copied_from=copied_from_probe(connector, plan.sources),
        real_counts=real_counts_probe(connector, info.ref, plan.sources, plan.subject),
    )


def _rules(connector: Connector, info: TableInfo, task: TableTask, sample: pd.DataFrame, evidence: Evidence
           ) -> tuple[list, list[str]]:
    """The table's schema-wide rules and their real shares; a warehouse that cannot compare a
    pair (types it will not compare) costs the rules, not the table."""
    plan = task.keys
    try:
        measured, notes = measure_rules(connector, info, plan.rule_candidates)
    except WarehouseUnavailable:
        raise
    except ConnectorError as exc:
        measured, notes = [], [f"schema-wide rules were not measured: {exc}"]
    try:
        bands, band_notes = find_bands(connector, info, sample, task.settings.min_category_count)
        measured, notes = [*measured, *bands], [*notes, *band_notes]
    except WarehouseUnavailable:
        raise
    except ConnectorError as exc:
        notes.append(f"categories that follow a range were not looked for: {exc}")
    prefixes = find_prefixes(info, sample, plan, evidence.subjects, task.settings.min_category_count)
    if prefixes:
        found = f"schema-wide rules: prefixes from the sample, {len(prefixes)} rules found"
        measured, notes = [*measured, *prefixes], [*notes, found]
    kept, off = chosen(measured, plan.rules_added, plan.rules_off)
    return kept, [*notes, *(rule_note(r.name, r.kind, r.real_share, None, "switched off by the config") for r in off)]


def _settings(task: TableTask, info: TableInfo) -> SynthesisSettings:
    """Never more synthetic rows than the real table has (a rebalanced copy asks for its own)."""
    if task.settings.rebalance:
        return task.settings
    return replace(task.settings, copy_rows=max(0, min(task.settings.copy_rows, info.row_count)))


def _named(task: TableTask, table: SyntheticTable) -> SyntheticTable:
    """The copy under its stored name (a rebalanced copy's own), with the links to its copies."""
    if task.output:
        table.ref, table.info = task.output, replace(table.info, ref=task.output)
    table.copies = list(task.copies)
    return table


def _result(task: TableTask, table: SyntheticTable, rows_read: int, real_keys: int) -> TableResult:
    dropped = [f"column {column!r} {why}" for column, why in table.dropped_columns.items()]
    keys = [f"{real_keys} synthetic key(s) equal to a real key were dropped"] if real_keys else []
    if real_keys:
        table.shortfall.append(f"{real_keys} rows whose new key equals a real key were dropped")
    return TableResult(
        task.ref,
        TableStatus.SYNTHESIZED,
        rows_read=rows_read,
        rows_written=len(table.data),
        quality=table.quality,
        gate=table.gate,
        notes=[*table.notes, *dropped, *keys],
        generator=table.generator.as_dict() if table.generator else None,
        rebalance=table.rebalance,
    )


def _failed(task: TableTask, outcome: TableOutcome, exc: Exception) -> None:
    """The table's result for a failure: a reason without values, and whether it holds until the
    table changes (settled) or is worth trying again next run."""
    rows_read = outcome.result.rows_read
    outcome.table = None
    if isinstance(exc, (TableVanished, TableSkipped)):
        outcome.result = TableResult(task.ref, TableStatus.SKIPPED, str(exc), rows_read=rows_read)
        outcome.settled = isinstance(exc, TableSkipped)
    elif isinstance(exc, (SynthesisError, GateFailed)):
        gate = exc.gate if isinstance(exc, GateFailed) else None
        outcome.result = TableResult(task.ref, TableStatus.FAILED, str(exc), gate=gate, rows_read=rows_read)
        outcome.settled = True
    elif isinstance(exc, ConnectorError):
        outcome.result = TableResult(task.ref, TableStatus.FAILED, str(exc))
        outcome.settled = settles(exc)
    else:  # a bug or an unexpected library error: report it, never echo data
        log.error("unexpected error on %s", task.ref, exc_info=exc)
        outcome.result = TableResult(task.ref, TableStatus.FAILED, f"internal error ({type(exc).__name__})")


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
