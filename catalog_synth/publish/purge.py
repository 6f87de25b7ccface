"""``purge-real-samples``: delete old DataHub profiles that still hold real sample values.

DataHub keeps every ``datasetProfile`` and serves old ones through its API, so
real samples from an earlier run of DataHub's own profiler stay readable after
catalog-synth publishes synthetic ones. For every dataset in the synthetic store
this finds profiles with sample values that catalog-synth did not write (its
profiles carry a ``catalog-synth:`` message id) and, unless it is a dry run,
deletes exactly those (by timestamp) through GMS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from datahub.ingestion.graph.client import DataHubGraph
from datahub.metadata.schema_classes import DatasetProfileClass

from catalog_synth.core.config import Config, WarehouseConfig
from catalog_synth.core.types import TableRef
from catalog_synth.publish.gms import connect
from catalog_synth.publish.profile import is_catalog_synth_profile
from catalog_synth.publish.sinks import CatalogError
from catalog_synth.publish.urns import DatasetLocation
from catalog_synth.store.copies import Store
from connectors import open_connector

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class RealSampleProfile:
    urn: str
    timestamp_ms: int
    columns_with_samples: int

    @property
    def taken_at(self) -> datetime:
        return _EPOCH + timedelta(milliseconds=self.timestamp_ms)


@dataclass
class PurgeReport:
    dry_run: bool
    datasets: list[str] = field(default_factory=list)
    found: list[RealSampleProfile] = field(default_factory=list)
    deleted: int = 0
    # Datasets whose profile listing hit the limit: run again after deleting.
    truncated: list[str] = field(default_factory=list)


def purge_real_samples(config: Config, *, dry_run: bool = True, limit: int = 1000) -> PurgeReport:
    """Find (and unless ``dry_run``, delete) profiles with real samples on synced datasets."""
    if config.catalog.datahub is None:
        raise CatalogError("purge-real-samples needs catalog.datahub (the DataHub GMS to clean)")
    report = PurgeReport(dry_run=dry_run, datasets=synced_dataset_urns(config))
    graph = connect(config.catalog.datahub)
    try:
        for urn in report.datasets:
            profiles = graph.get_timeseries_values(urn, DatasetProfileClass, filter={}, limit=limit)
            if len(profiles) >= limit:
                report.truncated.append(urn)
            report.found.extend(real_sample_profiles(urn, profiles))
        if not dry_run:
            report.deleted = sum(_delete(graph, profile) for profile in report.found)
    finally:
        graph.close()
    return report


def real_sample_profiles(urn: str, profiles: list[DatasetProfileClass]) -> list[RealSampleProfile]:
    """Profiles holding sample values that catalog-synth did not write."""
    found = []
    for profile in profiles:
        with_samples = sum(1 for column in profile.fieldProfiles or [] if column.sampleValues)
        if with_samples and not is_catalog_synth_profile(profile):
            found.append(RealSampleProfile(urn, profile.timestampMillis, with_samples))
    return sorted(found, key=lambda p: p.timestamp_ms)


def synced_dataset_urns(config: Config) -> list[str]:
    """The DataHub URNs of every table in the synthetic store."""
    locations: dict[str, DatasetLocation] = {}
    urns = []
    for stored in Store(config.store).tables():
        if stored.warehouse not in locations:
            locations[stored.warehouse] = location_for(config.warehouse(stored.warehouse))
        ref = TableRef(stored.warehouse, stored.schema_name, stored.table_name)
        urns.append(locations[stored.warehouse].dataset_urn(ref))
    return urns


def location_for(warehouse: WarehouseConfig) -> DatasetLocation:
    """Platform and database as the warehouse's connector names them (no connection is made)."""
    connector = open_connector(warehouse.name, warehouse.connector, warehouse.url.get_secret_value())
    try:
        return DatasetLocation(platform=connector.platform, database=connector.database, warehouse=warehouse)
    finally:
        connector.close()


def _delete(graph: DataHubGraph, profile: RealSampleProfile) -> int:
    moment = _instant(profile.timestamp_ms)
    return graph.hard_delete_timeseries_aspect(profile.urn, DatasetProfileClass.ASPECT_NAME, moment, moment)


def _instant(timestamp_ms: int) -> datetime:
    """A datetime the client turns back into exactly ``timestamp_ms`` (it goes through float seconds)."""
    moment = _EPOCH + timedelta(milliseconds=timestamp_ms)
    while int(moment.timestamp() * 1000) < timestamp_ms:
        moment += timedelta(microseconds=1)
    return moment
