"""DataHub ingestion plugins, so catalog-synth fits into existing ``datahub ingest`` recipes.

* transformer ``strip_sample_values``: removes ``sampleValues`` (and, by default,
  ``distinctValueFrequencies``, which lists real values too) from every
  ``datasetProfile`` passing through any ingestion — keep DataHub's own profiler
  for statistics without publishing real rows;
* source ``catalog-synth``: runs the sync inside ``datahub ingest`` and hands its
  proposals to the recipe's sink. It only enriches datasets other sources own, so
  it opts out of DataHub's automatic ``status`` aspect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from datahub.configuration.common import ConfigModel
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.ingestion.api.common import PipelineContext, RecordEnvelope
from datahub.ingestion.api.source import Source, SourceReport
from datahub.ingestion.api.transform import Transformer
from datahub.ingestion.api.workunit import MetadataWorkUnit
from datahub.ingestion.graph.client import DataHubGraph
from datahub.ingestion.workunit_processors import AutoStatusAspectProcessor
from datahub.metadata.schema_classes import (
    DatasetFieldProfileClass,
    DatasetProfileClass,
    MetadataChangeProposalClass,
)
from pydantic import Field, field_validator

from catalog_synth.core.config import Config, load_config
from catalog_synth.core.types import TableStatus
from catalog_synth.publish.markers import Proposal
from catalog_synth.publish.sinks import DataHubDelivery

log = logging.getLogger("catalog_synth.publish")

PROFILE_ASPECT = DatasetProfileClass.ASPECT_NAME


class StripSampleValuesConfig(ConfigModel):
    # Per-column profile fields to remove; they are set to null.
    fields: list[str] = Field(default_factory=lambda: ["sampleValues", "distinctValueFrequencies"])

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: list[str]) -> list[str]:
        known = {f.name for f in DatasetFieldProfileClass.RECORD_SCHEMA.fields} - {"fieldPath"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown datasetProfile field(s) {unknown}; known: {sorted(known)}")
        return value


class StripSampleValues(Transformer):
    """Removes real values from every ``datasetProfile``; a profile it cannot read is dropped."""

    def __init__(self, config: StripSampleValuesConfig):
        self.config = config

    @classmethod
    def create(cls, config_dict: dict, ctx: PipelineContext) -> StripSampleValues:
        return cls(StripSampleValuesConfig.model_validate(config_dict or {}))

    def transform(self, record_envelopes: Iterable[RecordEnvelope]) -> Iterable[RecordEnvelope]:
        for envelope in record_envelopes:
            record = envelope.record
            if isinstance(record, MetadataChangeProposalClass) and record.aspectName == PROFILE_ASPECT:
                record = _readable(record)
                if record is None:
                    log.warning("dropped a datasetProfile that could not be read, so none of its values leak")
                    continue
                envelope.record = record
            if isinstance(record, MetadataChangeProposalWrapper) and isinstance(record.aspect, DatasetProfileClass):
                self.strip(record.aspect)
            yield envelope

    def strip(self, profile: DatasetProfileClass) -> None:
        for field_profile in profile.fieldProfiles or []:
            for name in self.config.fields:
                setattr(field_profile, name, None)


def _readable(proposal: MetadataChangeProposalClass) -> MetadataChangeProposalWrapper | None:
    try:
        return MetadataChangeProposalWrapper.try_from_mcpc(proposal)
    except Exception:  # noqa: BLE001 - malformed JSON: treated like any unreadable profile
        return None


class CatalogSynthSourceConfig(ConfigModel):
    # The catalog-synth config file (default: ./catalog-synth.yml or $CATALOG_SYNTH_CONFIG).
    config: str | None = None
    # Also enrich datasets DataHub does not know yet (creates them).
    create_missing: bool = False


class WorkunitCollector(DataHubDelivery):
    """A sink that keeps proposals for the source to yield, after the existence gate.

    The gate needs DataHub: it uses the pipeline's graph (present with a
    ``datahub-rest`` sink or ``datahub_api``); without one every dataset passes.
    """

    name = "datahub-ingest"

    def __init__(self, config: Config, graph: DataHubGraph | None, create_missing: bool):
        super().__init__(config, graph, create_missing)
        self.proposals: list[Proposal] = []

    @classmethod
    def create(cls, config: Config, settings: dict[str, Any]) -> WorkunitCollector:
        return cls(config, None, bool(settings.get("create_missing")))

    def accept(self, urn: str, proposals: list[Proposal]) -> None:
        self.proposals.extend(proposals)
        self.report.published.append(urn)


class CatalogSynthSource(Source):
    """``type: catalog-synth``: synthesize, store, and emit profiles and markers."""

    def __init__(self, config: CatalogSynthSourceConfig, ctx: PipelineContext):
        super().__init__(ctx)
        self.config = config
        self.report = SourceReport()

    @classmethod
    def create(cls, config_dict: dict, ctx: PipelineContext) -> CatalogSynthSource:
        return cls(CatalogSynthSourceConfig.model_validate(config_dict or {}), ctx)

    def get_report(self) -> SourceReport:
        return self.report

    def get_excluded_workunit_processors(self) -> list:
        # Enrichment only: never mark other sources' datasets as present/removed.
        return [AutoStatusAspectProcessor]

    def get_workunits_internal(self) -> Iterable[MetadataWorkUnit]:
        from catalog_synth.run.sync import run_sync

        settings = load_config(self.config.config)
        collector = WorkunitCollector(settings, self.ctx.graph, self.config.create_missing)
        if self.ctx.graph is None and not self.config.create_missing:
            self.report.warning(
                title="No DataHub connection",
                message="Without a datahub-rest sink or datahub_api the existence check is skipped",
            )
        sync = run_sync(settings, sinks=[collector])
        self._report_tables(sync.results)
        self._report_sink(collector)
        for index, proposal in enumerate(collector.proposals):
            yield as_workunit(proposal, index)

    def _report_tables(self, results: list) -> None:
        for result in results:
            if result.status is TableStatus.FAILED:
                self.report.failure(
                    title="Table not synthesized", message="See context", context=f"{result.ref}: {result.reason}"
                )

    def _report_sink(self, collector: WorkunitCollector) -> None:
        for urn in collector.report.skipped_missing:
            self.report.warning(
                title="Dataset not in DataHub",
                message="Skipped; set create_missing to add it",
                context=urn,
            )
        for urn, reason in collector.report.failed.items():
            self.report.failure(title="Dataset not published", message="See context", context=f"{urn}: {reason}")


def as_workunit(proposal: Proposal, index: int) -> MetadataWorkUnit:
    """A workunit marked as not from the primary source: we enrich, we do not own."""
    if isinstance(proposal, MetadataChangeProposalWrapper):
        return proposal.as_workunit(is_primary_source=False)
    workunit_id = f"catalog-synth-{proposal.entityUrn}-{proposal.aspectName}-{index}"
    return MetadataWorkUnit(id=workunit_id, mcp_raw=proposal, is_primary_source=False)
