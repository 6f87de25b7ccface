"""After a worker: commit a table to the store, then to every catalog sink; remember why a table
was not published while that holds; drop copies of tables that left the warehouse."""

from __future__ import annotations

import logging

from catalog_synth.core.config import Config
from catalog_synth.core.timings import stage
from catalog_synth.core.types import TableResult, TableStatus
from catalog_synth.run.tasks import TableOutcome, TableTask
from catalog_synth.store.copies import StoreWriter, logical_name

log = logging.getLogger("catalog_synth.sync")


def publish_outcome(
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
    if sinks:
        from catalog_synth.publish.urns import DatasetLocation, UrnError

        location = DatasetLocation(
            platform=outcome.platform,
            database=outcome.database,
            warehouse=config.warehouse(table.ref.warehouse),
        )
        if table.rebalance is not None:  # not a catalog dataset: its source's page links to it
            with stage("publish"):
                for sink in sinks:
                    sink.publish_copy(table, outcome.result.ref, location)
            return outcome.result
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


def log_result(result: TableResult) -> None:
    """One log line per finished table (failures as warnings), for cron logs and --log-json."""
    level = logging.WARNING if result.status is TableStatus.FAILED else logging.INFO
    reason = f": {result.reason}" if result.reason else ""
    log.log(level, "%s %s in %.1f s%s", result.stored_ref, result.status.value, result.seconds, reason)


def retry_unpublished(writer: StoreWriter, sink_reports: list, catalog_names: dict[str, str]) -> None:
    """Tables a sink failed (or skipped as unknown to the catalog) are synthesized again next run.

    Their copy stays in the store, but without a fingerprint an unchanged table is not
    skipped, so its catalog entry is not lost for good.
    """
    for sink_report in sink_reports:
        for key in [*sink_report.failed, *sink_report.skipped_missing]:
            if key in catalog_names:
                writer.forget_fingerprint(catalog_names[key])


def drop_vanished(
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
