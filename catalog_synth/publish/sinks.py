"""Catalog sinks: where the proposals for each synthesized table go.

The pipeline calls ``sink.publish(table, location)`` once per synthesized table
and ``sink.close()`` once at the end, which returns a :class:`SinkReport`.
``publish`` never raises for one table's problem: it is counted in the report.

Sinks are found by entry point (group ``catalog_synth.sinks``): the built-in
``file`` and ``datahub`` sinks are selected by ``catalog.file`` and
``catalog.datahub``; any other installed sink by ``catalog.sinks: {name: settings}``.
"""

from __future__ import annotations

import json
import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog_synth.core import plugins
from catalog_synth.core.config import Config
from catalog_synth.core.types import SyntheticTable, TableRef
from catalog_synth.store.copies import logical_name

# DataHub's SDK (~0.3 s to import) is loaded by the first table published, not by opening the
# file sink: a sync in which nothing changed never needs it.
if TYPE_CHECKING:
    from datahub.configuration.common import OperationalError
    from datahub.ingestion.graph.client import DataHubGraph

    from catalog_synth.core.sections import DataHubRestConfig
    from catalog_synth.publish.markers import Proposal
    from catalog_synth.publish.urns import DatasetLocation

ENTRY_POINT_GROUP = "catalog_synth.sinks"


class CatalogError(RuntimeError):
    """A sink cannot be opened (unknown name, bad settings, unreachable catalog)."""


@dataclass
class SinkReport:
    """What one sink did. Entries are URNs (or table names) and reasons, never data."""

    sink: str
    published: list[str] = field(default_factory=list)
    skipped_missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sink": self.sink,
            "published": len(self.published),
            "skipped_missing": len(self.skipped_missing),
            "failed": len(self.failed),
            "missing_datasets": list(self.skipped_missing),
            "failures": dict(self.failed),
        }

    def summary(self) -> str:
        text = f"{self.sink}: {len(self.published)} published"
        if self.skipped_missing:
            text += f", {len(self.skipped_missing)} skipped (not in DataHub; use create_missing to add them)"
        if self.failed:
            text += f", {len(self.failed)} failed"
        return text


class CatalogSink(ABC):
    """Publishes synthetic profiles and markers for tables."""

    #: Entry-point name, used in reports.
    name: str = "sink"

    def __init__(self, config: Config):
        self.sandbox_url = config.catalog.sandbox_url
        self.multi_warehouse = config.multi_warehouse
        self.report = SinkReport(self.name)

    @classmethod
    @abstractmethod
    def create(cls, config: Config, settings: dict[str, Any]) -> CatalogSink:
        """Open the sink; raise :class:`CatalogError` when it cannot work at all."""

    def table_page(self, ref: TableRef) -> str | None:
        """The table's page in the SQL sandbox, when a sandbox URL is configured."""
        if not self.sandbox_url:
            return None
        from catalog_synth.publish.markers import sandbox_page

        return sandbox_page(self.sandbox_url, logical_name(ref, self.multi_warehouse))

    def publish(self, table: SyntheticTable, location: DatasetLocation) -> None:
        from catalog_synth.publish.markers import dataset_proposals
        from catalog_synth.publish.urns import UrnError

        copies = [
            (logical_name(ref, self.multi_warehouse), self.table_page(ref), what) for ref, what in table.copies
        ]
        try:
            urn, proposals = dataset_proposals(table, location, page_url=self.table_page(table.ref), copies=copies)
        except UrnError as exc:
            self.report.failed[str(table.ref)] = str(exc)
            return
        self.deliver(urn, proposals)

    def publish_copy(self, table: SyntheticTable, source: TableRef, location: DatasetLocation) -> None:
        """A rebalanced copy's utility and diversity, as custom properties of its source dataset."""
        if not table.rebalance:
            return
        from catalog_synth.publish.markers import copy_measure_patches
        from catalog_synth.publish.urns import UrnError

        try:
            urn = location.dataset_urn(source)
        except UrnError as exc:
            self.report.failed[str(table.ref)] = str(exc)
            return
        self.deliver_more(urn, copy_measure_patches(urn, logical_name(table.ref, self.multi_warehouse), table.rebalance))

    @abstractmethod
    def deliver(self, urn: str, proposals: list[Proposal]) -> None:
        """Send (or queue) one dataset's proposals; record the outcome in ``self.report``."""

    def deliver_more(self, urn: str, proposals: list[Proposal]) -> None:
        """Proposals for a dataset in addition to those delivered for it (a copy's properties)."""
        self.deliver(urn, proposals)

    def close(self) -> SinkReport:
        return self.report


class FileSink(CatalogSink):
    """Writes proposals to a JSON file in DataHub's file format (``datahub ingest`` reads it).

    Written by DataHub's own file sink with aspect values as nested JSON strings,
    which keeps each PATCH's ``application/json-patch+json`` content type when the
    file is read back (the simplified format loses it). Datasets not published in
    this run keep their proposals from the previous file, so an incremental sync
    never drops what an earlier one wrote. The file is replaced atomically.
    """

    name = "file"

    def __init__(self, config: Config, path: Path):
        super().__init__(config)
        self.path = path
        self.proposals: dict[str, list[Proposal]] = {}
        self.more: list[Proposal] = []  # for datasets this run published nothing else for

    @classmethod
    def create(cls, config: Config, settings: dict[str, Any]) -> FileSink:
        path = settings.get("path") or config.catalog.file
        if not path:
            raise CatalogError("the file sink needs catalog.file")
        return cls(config, Path(path))

    def deliver(self, urn: str, proposals: list[Proposal]) -> None:
        self.proposals[urn] = proposals
        self.report.published.append(urn)

    def deliver_more(self, urn: str, proposals: list[Proposal]) -> None:
        """After this run's proposals for the dataset, or after its previous file's records (a
        dataset left unchanged keeps them; the newer patches come last and win)."""
        if urn in self.proposals:
            self.proposals[urn] = [*self.proposals[urn], *proposals]
        else:
            self.more.extend(proposals)

    def close(self) -> SinkReport:
        if not self.proposals and not self.more:
            return self.report  # nothing new: the file stays as it is
        kept = self._kept_from_previous_file()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.close(handle)
        written = Path(temporary)
        try:
            _write_datahub_file(written, [p for proposals in self.proposals.values() for p in proposals])
            if kept or self.more:  # earlier records as they were written: no need to parse them into classes again
                records = json.loads(written.read_text(encoding="utf-8")) + kept
                if self.more:
                    _write_datahub_file(written, self.more)
                    records += json.loads(written.read_text(encoding="utf-8"))
                written.write_text(json.dumps(records, indent=4), encoding="utf-8")
            os.replace(written, self.path)
        except BaseException:
            written.unlink(missing_ok=True)
            raise
        return self.report

    def _kept_from_previous_file(self) -> list[dict[str, Any]]:
        """The previous file's records of datasets not published in this run."""
        try:
            previous = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except ValueError:
            previous = None
        if not isinstance(previous, list) or not all(isinstance(r, dict) and "entityUrn" in r for r in previous):
            raise CatalogError(f"{self.path} exists but is not a DataHub metadata file; move it away")
        return [record for record in previous if record["entityUrn"] not in self.proposals]


def _write_datahub_file(path: Path, records: list[Proposal]) -> None:
    from datahub.ingestion.api.common import PipelineContext, RecordEnvelope
    from datahub.ingestion.api.sink import NoopWriteCallback
    from datahub.ingestion.sink.file import FileSink as DataHubFileSink

    sink = DataHubFileSink.create(
        {"filename": str(path), "legacy_nested_json_string": True}, PipelineContext(run_id="catalog-synth")
    )
    for record in records:
        sink.write_record_async(RecordEnvelope(record, metadata={}), NoopWriteCallback())
    sink.close()


class DataHubDelivery(CatalogSink):
    """Shared by the REST sink and the ``catalog-synth`` DataHub source: the existence gate.

    A profile for a URN DataHub has never seen would create a "ghost" dataset, so
    unless ``create_missing`` is set only datasets DataHub already knows get one.
    """

    def __init__(self, config: Config, graph: DataHubGraph | None, create_missing: bool):
        super().__init__(config)
        self.graph = graph
        self.create_missing = create_missing

    def deliver(self, urn: str, proposals: list[Proposal]) -> None:
        if not self.create_missing and self.graph is not None:
            try:
                known = self.graph.exists(urn)
            except Exception as exc:  # noqa: BLE001 - any client error is this dataset's failure
                self.report.failed[urn] = f"existence check failed: {describe_error(exc)}"
                return
            if not known:
                self.report.skipped_missing.append(urn)
                return
        self.accept(urn, proposals)

    @abstractmethod
    def accept(self, urn: str, proposals: list[Proposal]) -> None:
        """Handle proposals for a dataset that passed the existence gate."""


class RestSink(DataHubDelivery):
    """Emits to DataHub GMS with ``DataHubRestEmitter`` (through ``DataHubGraph``), in batches.

    The emitter retries 429 and 5xx answers. A batch the server rejects as invalid
    (4xx) is re-sent one dataset at a time, so one bad dataset does not fail the others.
    """

    name = "datahub"

    def __init__(self, config: Config, settings: DataHubRestConfig, graph: DataHubGraph):
        super().__init__(config, graph, settings.create_missing)
        self.graph: DataHubGraph = graph
        self.batch_size = settings.batch_size
        self.pending: dict[str, list[Proposal]] = {}

    @classmethod
    def create(cls, config: Config, settings: dict[str, Any]) -> RestSink:
        rest = config.catalog.datahub
        if rest is None:
            raise CatalogError("the datahub sink needs catalog.datahub")
        from catalog_synth.publish.gms import CatalogConnectionError, connect

        try:
            graph = connect(rest)
        except CatalogConnectionError as exc:
            raise CatalogError(str(exc)) from None
        return cls(config, rest, graph)

    def accept(self, urn: str, proposals: list[Proposal]) -> None:
        self.pending[urn] = [*self.pending.get(urn, []), *proposals]
        if sum(len(p) for p in self.pending.values()) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, {}
        if not batch:
            return
        from datahub.configuration.common import OperationalError

        try:
            self._emit(batch)
        except OperationalError as exc:
            if len(batch) > 1 and _is_rejection(exc):
                for urn, proposals in batch.items():
                    self._emit_one(urn, proposals)
            else:
                self._record_failure(batch, exc)

    def _emit_one(self, urn: str, proposals: list[Proposal]) -> None:
        from datahub.configuration.common import OperationalError

        try:
            self._emit({urn: proposals})
        except OperationalError as exc:
            self._record_failure({urn: proposals}, exc)

    def _emit(self, batch: dict[str, list[Proposal]]) -> None:
        self.graph.emit_mcps([p for proposals in batch.values() for p in proposals])
        self.report.published.extend(batch)

    def _record_failure(self, batch: dict[str, list[Proposal]], exc: OperationalError) -> None:
        reason = describe_error(exc)
        for urn in batch:
            self.report.failed[urn] = reason

    def close(self) -> SinkReport:
        try:
            self.flush()
        finally:
            self.graph.close()
        return self.report


def _is_rejection(exc: OperationalError) -> bool:
    """GMS refused the content (400/422...), as opposed to auth, rate limits or outages."""
    status = exc.info.get("status")
    return isinstance(status, int) and 400 <= status < 500 and status not in (401, 403, 429)


def describe_error(exc: BaseException) -> str:
    """A client error as one short line: status and server message."""
    from datahub.configuration.common import OperationalError

    from catalog_synth.publish.gms import short

    if isinstance(exc, OperationalError):
        status = exc.info.get("status")
        message = exc.info.get("message") or exc.message
        return short(f"HTTP {status}: {message}" if status else str(message))
    return short(f"{type(exc).__name__}: {exc}")


def sink_class(name: str) -> type[CatalogSink]:
    try:
        return plugins.load(ENTRY_POINT_GROUP, name, "sink")
    except plugins.UnknownPlugin as exc:
        raise CatalogError(f"catalog.sinks: {exc}") from None


def open_sinks(config: Config) -> list[CatalogSink]:
    """The sinks the config selects: ``file`` and/or ``datahub``, then ``catalog.sinks``."""
    selected: dict[str, dict[str, Any]] = {}
    if config.catalog.file:
        selected["file"] = {}
    if config.catalog.datahub:
        selected["datahub"] = {}
    selected.update(config.catalog.sinks)
    return [sink_class(name).create(config, settings) for name, settings in selected.items()]
