"""The ``strip_sample_values`` transformer inside real DataHub ingestion of PostgreSQL.

DataHub's own profiler runs with sample values on (its default). Without the
transformer real values reach the output (the control); with it, none do, and
the statistics still do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.ingestion.api.common import PipelineContext, RecordEnvelope
from datahub.metadata.schema_classes import (
    DatasetFieldProfileClass,
    DatasetProfileClass,
    MetadataChangeProposalClass,
    ValueFrequencyClass,
)
from datahub_ingest import (
    aspects,
    ingest_with_cli,
    postgres_source,
    recipe,
    run_pipeline,
)
from privacy_checks import leaked, real_text_values

from catalog_synth.entry.datahub import StripSampleValues

PROFILED = {
    "profiling": {"enabled": True, "include_field_distinct_value_frequencies": True},
    "table_pattern": {"allow": [r".*\.public\.people$"]},
}


@pytest.fixture(scope="module")
def real_values(pg_demo_url: str) -> set[str]:
    values = real_text_values(pg_demo_url, "people")
    assert len(values) > 500
    return values


def profiles(records: list[dict]) -> list[dict]:
    return [p for values in aspects(records, "datasetProfile").values() for p in values]


def test_without_the_transformer_real_samples_reach_datahub(
    pg_demo_url: str, real_values: set[str], tmp_path: Path
) -> None:
    records = run_pipeline(postgres_source(pg_demo_url, **PROFILED), tmp_path / "plain.json")
    assert any(f.get("sampleValues") for p in profiles(records) for f in p["fieldProfiles"])
    assert len(leaked(real_values, records)) >= 20


def test_datahub_ingest_with_the_transformer_publishes_stats_but_no_real_value(
    pg_demo_url: str, real_values: set[str], tmp_path: Path
) -> None:
    out = tmp_path / "stripped.json"
    transformers = [{"type": "strip_sample_values"}]
    records = ingest_with_cli(recipe(postgres_source(pg_demo_url, **PROFILED), out, transformers), tmp_path)

    assert leaked(real_values, records) == set()
    [profile] = profiles(records)
    assert profile["rowCount"] == 200
    columns = {f["fieldPath"]: f for f in profile["fieldProfiles"]}
    assert all("sampleValues" not in f and "distinctValueFrequencies" not in f for f in columns.values())
    assert columns["email"]["uniqueCount"] == 200 and columns["notes"]["nullCount"] > 0
    assert float(columns["salary"]["min"]) <= float(columns["salary"]["mean"]) <= float(columns["salary"]["max"])


def test_transformer_handles_raw_proposals_and_drops_unreadable_profiles() -> None:
    urn = "urn:li:dataset:(urn:li:dataPlatform:postgres,db.public.t,PROD)"
    profile = DatasetProfileClass(
        timestampMillis=1,
        fieldProfiles=[
            DatasetFieldProfileClass(
                fieldPath="name",
                sampleValues=["Alice"],
                distinctValueFrequencies=[ValueFrequencyClass("Alice", 1)],
                nullCount=0,
            )
        ],
    )
    raw = MetadataChangeProposalWrapper(entityUrn=urn, aspect=profile).make_mcp()
    unreadable = MetadataChangeProposalClass.from_obj(raw.to_obj())
    unreadable.aspect.value = b"not json"
    settings = {"fields": ["sampleValues", "distinctValueFrequencies", "max"]}
    transformer = StripSampleValues.create(settings, PipelineContext("t"))
    out = [e.record for e in transformer.transform([RecordEnvelope(raw, {}), RecordEnvelope(unreadable, {})])]
    assert len(out) == 1
    [field] = out[0].aspect.fieldProfiles
    assert (field.sampleValues, field.distinctValueFrequencies, field.nullCount) == (None, None, 0)
