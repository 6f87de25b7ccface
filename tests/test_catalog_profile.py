"""The datasetProfile and the markers built for a synthetic table."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from catalog_tables import SYNCED_AT, catalog_config, synthetic_table
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import (
    ChangeTypeClass,
    DatasetProfileClass,
    EmbedClass,
    MetadataChangeProposalClass,
    PartitionTypeClass,
)

from catalog_synth.core.config import WarehouseConfig
from catalog_synth.publish.markers import dataset_proposals, sandbox_page
from catalog_synth.publish.profile import build_profile, is_catalog_synth_profile
from catalog_synth.publish.urns import DatasetLocation

NOW = datetime(2026, 11, 2, 8, 30, tzinfo=timezone.utc)


@pytest.fixture
def location(tmp_path) -> DatasetLocation:
    return DatasetLocation("postgres", "shopdb", catalog_config(tmp_path).warehouses[0])


def patch_ops(proposal: MetadataChangeProposalClass) -> list[dict]:
    content = json.loads(proposal.aspect.value)
    return content["patch"] if isinstance(content, dict) else content


def fields(profile: DatasetProfileClass) -> dict:
    return {f.fieldPath: f for f in profile.fieldProfiles}


def test_profile_is_a_valid_full_table_profile_with_real_counts(location: DatasetLocation) -> None:
    table = synthetic_table()
    profile = build_profile(table, location, 1_700_000_000_000)
    assert profile.validate()
    assert profile.timestampMillis == 1_700_000_000_000
    assert profile.partitionSpec.type == PartitionTypeClass.FULL_TABLE
    assert profile.partitionSpec.partition == "FULL_TABLE_SNAPSHOT"
    assert (profile.rowCount, profile.columnCount) == (1234, 6)  # the real table, dropped column included
    assert list(fields(profile)) == ["id", "email", "amount", "born", "vip"]
    assert is_catalog_synth_profile(profile)


def test_samples_come_from_the_preview_as_strings(location: DatasetLocation) -> None:
    table = synthetic_table()
    columns = fields(build_profile(table, location, 1))
    assert columns["email"].sampleValues == list(table.preview["email"])
    assert columns["id"].sampleValues == ["1", "2", "3"]  # integers, not 1.0
    assert columns["born"].sampleValues[0] == "1970-01-01 00:00:00"
    assert columns["vip"].sampleValues == ["True", "False", "True"]


def test_statistics_are_computed_from_the_synthetic_copy(location: DatasetLocation) -> None:
    table = synthetic_table(rows=8)
    columns = fields(build_profile(table, location, 1))
    ids = table.data["id"].dropna().astype(float)
    assert columns["id"].nullProportion == pytest.approx(2 / 8)
    assert columns["id"].nullCount == round(2 / 8 * 1234)  # scaled to the real row count
    assert columns["id"].uniqueCount == 6
    assert (columns["id"].min, columns["id"].max) == ("1", "7")
    assert float(columns["id"].mean) == pytest.approx(ids.mean())
    assert float(columns["id"].median) == pytest.approx(ids.median())
    assert float(columns["id"].stdev) == pytest.approx(ids.std(), rel=1e-5)
    assert (columns["amount"].min, columns["amount"].max) == ("0.0", "73.5")
    assert (columns["born"].min, columns["born"].max) == ("1970-01-01 00:00:00", "1977-01-08 00:00:00")
    assert columns["email"].min is None and columns["email"].uniqueProportion == 1.0


def test_an_empty_synthetic_copy_gives_counts_without_statistics(location: DatasetLocation) -> None:
    table = synthetic_table()
    table.data = table.data.iloc[0:0]
    profile = build_profile(table, location, 1)
    assert profile.validate()
    assert all(f.min is None and f.sampleValues == [] for f in profile.fieldProfiles)


def test_field_paths_follow_the_platform_rules(tmp_path) -> None:
    warehouse = WarehouseConfig(name="shop", url="snowflake://u@a/DB")
    table = synthetic_table()
    table.data = table.data.rename(columns={"email": "EMAIL"})
    profile = build_profile(table, DatasetLocation("snowflake", "DB", warehouse), 1)
    assert "email" in fields(profile)


def test_proposals_patch_markers_and_upsert_profile_and_embed(location: DatasetLocation) -> None:
    table = synthetic_table()
    urn, proposals = dataset_proposals(
        table, location, page_url=sandbox_page("https://sb.example/", table.ref.qualified), now=NOW
    )
    assert urn == "urn:li:dataset:(urn:li:dataPlatform:postgres,shopdb.public.people,PROD)"
    kinds = {(p.aspectName, p.changeType) for p in proposals}
    assert kinds == {
        ("datasetProfile", ChangeTypeClass.UPSERT),
        ("globalTags", ChangeTypeClass.PATCH),
        ("datasetProperties", ChangeTypeClass.PATCH),
        ("institutionalMemory", ChangeTypeClass.PATCH),
        ("embed", ChangeTypeClass.UPSERT),
    }
    embed = next(p for p in proposals if p.aspectName == "embed")
    assert isinstance(embed, MetadataChangeProposalWrapper) and isinstance(embed.aspect, EmbedClass)
    assert embed.aspect.renderUrl == "https://sb.example/tables/public.people"
    patches = {p.aspectName: patch_ops(p) for p in proposals if isinstance(p, MetadataChangeProposalClass)}
    assert [op["path"] for op in patches["globalTags"]] == ["/tags//urn:li:tag:synthetic-sample"]
    assert {op["path"]: op["value"] for op in patches["datasetProperties"]} == {
        "/customProperties/catalog_synth.synced_at": SYNCED_AT.isoformat(timespec="seconds"),
        "/customProperties/catalog_synth.quality_score": "0.812",
    }
    [link] = patches["institutionalMemory"]
    assert link["path"] == "/elements/https:~1~1sb.example~1tables~1public.people"
    assert link["value"]["url"] == "https://sb.example/tables/public.people"


def test_no_link_or_embed_without_a_sandbox_url(location: DatasetLocation) -> None:
    table = synthetic_table()
    table.quality = None
    _, proposals = dataset_proposals(table, location, page_url=None, now=NOW)
    assert {p.aspectName for p in proposals} == {"datasetProfile", "globalTags", "datasetProperties"}
    properties = next(p for p in proposals if p.aspectName == "datasetProperties")
    assert [op["path"] for op in patch_ops(properties)] == ["/customProperties/catalog_synth.synced_at"]


def test_sandbox_page_quotes_names() -> None:
    assert sandbox_page("http://sb:8765", "sales.Order Lines") == "http://sb:8765/tables/sales.Order%20Lines"
