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

from connectors.graph import with_declared
from catalog_synth.link.plan import KeyPlan
from catalog_synth.link.profile import drop_real_keys, read_sample
from catalog_synth.core.timings import collect, stage
from catalog_synth.core.types import (
    GateFailed,
    SynthesisError,
    SynthesisSettings,
    TableInfo,
    TableResult,
    TableSkipped,
    TableStatus,
)
from connectors import Connector, ConnectorError, TableVanished, WarehouseUnavailable

if TYPE_CHECKING:
    import pandas as pd

    from catalog_synth.protect.evidence import Evidence
from catalog_synth.run.connections import cached_connector
from catalog_synth.run.plan import (
    fingerprint, settles, variant_fingerprint,
)
from catalog_synth.run.tasks import TableOutcome, TableTask, unchanged_outcome

log = logging.getLogger("catalog_synth.sync")

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
        connector = cached_connector(task.warehouse)
        outcome.platform, outcome.dialect, outcome.database = connector.platform, connector.dialect, connector.database
        if task.info is not None:
            info, outcome.fingerprint = task.info, task.fingerprint
        else:
            with stage("describe"):
                info, raw_fingerprint = _retrying(task, lambda: _describe(connector, task))
            outcome.fingerprint = variant_fingerprint(raw_fingerprint, task.variant)
        if task.previous_fingerprint == outcome.fingerprint:
            outcome = unchanged_outcome(task, outcome.fingerprint)
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
        from catalog_synth.run.synthesize import synthesize_table

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
    from catalog_synth.protect.people import copied_from_probe, read_subjects, real_counts_probe
    from catalog_synth.protect.evidence import Evidence

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
