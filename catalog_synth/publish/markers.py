"""Everything catalog-synth writes to one dataset, as metadata change proposals.

* ``datasetProfile`` (timeseries, UPSERT): synthetic samples and statistics;
* ``globalTags`` PATCH: the tag ``synthetic-sample``;
* ``datasetProperties`` PATCH: quality score and sync time as custom properties;
* ``institutionalMemory`` PATCH: a link to the table's page in the SQL sandbox, and one to each
  of its rebalanced copies (named in the custom property ``catalog_synth.rebalanced_copies``);
* ``embed`` (UPSERT): the sandbox page as the Preview tab.

The PATCHes use DataHub's own patch builders (keyed array entries), so tags,
links and properties that people or other ingestion own are kept. DataHub's SQL
sources rewrite ``datasetProperties`` whole on every run, so the custom
properties last until their next ingestion; the next sync writes them again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from urllib.parse import quote

from datahub.emitter.mce_builder import make_tag_urn
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import (
    AuditStampClass,
    EmbedClass,
    InstitutionalMemoryMetadataClass,
    MetadataChangeProposalClass,
    TagAssociationClass,
)
from datahub.specific.aspect_helpers.institutional_memory import (
    HasInstitutionalMemoryPatch,
)
from datahub.specific.dataset import DatasetPatchBuilder

from catalog_synth.core.types import SyntheticTable
from catalog_synth.publish.profile import build_profile
from catalog_synth.publish.urns import DatasetLocation

SYNTHETIC_TAG = "synthetic-sample"
QUALITY_PROPERTY = "catalog_synth.quality_score"
SYNCED_AT_PROPERTY = "catalog_synth.synced_at"
COPIES_PROPERTY = "catalog_synth.rebalanced_copies"
# Per rebalanced copy (its stored name after the prefix): the utility check and the diversity, as JSON.
UTILITY_PROPERTY = "catalog_synth.rebalance_utility."
DIVERSITY_PROPERTY = "catalog_synth.rebalance_diversity."
# Kept constant: newer DataHub versions key links by url *and* description.
LINK_DESCRIPTION = "Synthetic sample data (catalog-synth SQL sandbox)"
COPY_LINK_DESCRIPTION = "Rebalanced synthetic copy (catalog-synth SQL sandbox): {}"
ACTOR = "urn:li:corpuser:catalog-synth"

Proposal = MetadataChangeProposalWrapper | MetadataChangeProposalClass


class _MarkerPatchBuilder(DatasetPatchBuilder, HasInstitutionalMemoryPatch):
    """DataHub's dataset patch builder plus its institutional-memory helper."""


def sandbox_page(sandbox_url: str, logical_name: str) -> str:
    """The sandbox page of one table: ``<sandbox_url>/tables/<schema>.<table>``."""
    return f"{sandbox_url.rstrip('/')}/tables/{quote(logical_name, safe='.')}"


def dataset_proposals(
    table: SyntheticTable,
    location: DatasetLocation,
    *,
    page_url: str | None,
    now: datetime | None = None,
    copies: Sequence[tuple[str, str | None, str]] = (),
) -> tuple[str, list[Proposal]]:
    """The dataset URN and every proposal for it. ``page_url`` (the sandbox page) may be None;
    ``copies`` are the table's rebalanced copies: (stored name, sandbox page or None, what it holds)."""
    now = now or datetime.now(timezone.utc)
    timestamp_ms = int(now.timestamp() * 1000)
    urn = location.dataset_urn(table.ref)
    proposals: list[Proposal] = [
        MetadataChangeProposalWrapper(entityUrn=urn, aspect=build_profile(table, location, timestamp_ms))
    ]
    proposals.extend(marker_patches(urn, table, now, page_url, copies))
    if page_url:
        proposals.append(MetadataChangeProposalWrapper(entityUrn=urn, aspect=EmbedClass(renderUrl=page_url)))
    return urn, proposals


def marker_patches(
    urn: str, table: SyntheticTable, now: datetime, url: str | None, copies: Sequence[tuple[str, str | None, str]] = ()
) -> list[MetadataChangeProposalClass]:
    synced_at = table.synced_at or now
    builder = _MarkerPatchBuilder(urn)
    builder.add_tag(TagAssociationClass(tag=make_tag_urn(SYNTHETIC_TAG)))
    builder.add_custom_property(SYNCED_AT_PROPERTY, synced_at.astimezone(timezone.utc).isoformat(timespec="seconds"))
    if table.quality is not None:
        builder.add_custom_property(QUALITY_PROPERTY, f"{table.quality.overall:.3f}")
    if copies:
        builder.add_custom_property(COPIES_PROPERTY, ", ".join(name for name, _, _ in copies))
    links = [(url, LINK_DESCRIPTION)] + [(page, COPY_LINK_DESCRIPTION.format(what)) for _, page, what in copies]
    stamp = AuditStampClass(time=int(now.timestamp() * 1000), actor=ACTOR)
    for link, description in links:
        if link:
            builder.add_institutional_memory(
                InstitutionalMemoryMetadataClass(url=link, description=description, createStamp=stamp)
            )
    return builder.build()


def copy_measure_patches(urn: str, copy_name: str, rebalance: dict) -> list[MetadataChangeProposalClass]:
    """A rebalanced copy's utility check and diversity as custom properties of its source dataset
    (the copy is no catalog dataset): aggregates only, as compact JSON."""
    builder = _MarkerPatchBuilder(urn)
    utility = rebalance.get("utility")
    if utility:
        builder.add_custom_property(UTILITY_PROPERTY + copy_name, json.dumps(_utility_summary(utility), sort_keys=True))
    diversity = rebalance.get("diversity")
    if diversity:
        entropies = {entry["column"]: {"real": entry["real"], "synthetic": entry["synthetic"]} for entry in diversity}
        builder.add_custom_property(DIVERSITY_PROPERTY + copy_name, json.dumps(entropies, sort_keys=True))
    return builder.build()


def _utility_summary(utility: dict) -> dict:
    if not utility.get("measured"):
        return {"measured": False, "reason": utility.get("reason", "")}
    copy, real = utility["copy"], utility["real"]
    return {
        "model": utility["model"], "holdout_rows": utility["holdout_rows"],
        "holdout_target_rows": utility["holdout_target_rows"],
        "copy_auc_roc": copy["auc_roc"], "copy_auc_pr": copy["auc_pr"],
        "real_auc_roc": real["auc_roc"], "real_auc_pr": real["auc_pr"],
        "gain_auc_roc": utility["gain_auc_roc"], "helps": utility["helps"],
    }
