"""End to end: a real sync of real PostgreSQL publishes to the file and REST sinks and inside
``datahub ingest``, on the datasets DataHub's own postgres source names, with no real value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import StatusClass
from datahub_gms import GmsStandIn, running_gms
from datahub_ingest import (
    aspects,
    field_paths,
    ingest_with_cli,
    postgres_source,
    recipe,
    run_pipeline,
)
from privacy_checks import leaked, rare_text_values
from scale_support import config_dict

from catalog_synth.core.config import Config, validate_config
from catalog_synth.core.types import TableStatus
from catalog_synth.run.sync import SyncReport, run_sync

TABLES = ("people", "orders")


def sync_config(tmp_path: Path, url: str, **catalog: object) -> dict:
    return config_dict(
        url,
        tmp_path / "store.duckdb",
        {"name": "shop", "include": [f"public.{t}" for t in TABLES]},
        sample_rows=200,
        copy_rows=100,
        seed=5,
        catalog={"file": str(tmp_path / "mcps.json"), "sandbox_url": "http://sandbox:8765", **catalog},
    )


def synced(report: SyncReport) -> None:
    statuses = {r.ref.qualified: (r.status, r.reason) for r in report.results}
    assert all(status is TableStatus.SYNTHESIZED for status, _ in statuses.values()), statuses


@pytest.fixture(scope="module")
def datahub_view(pg_demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """URN -> fieldPaths as DataHub's own postgres source ingests the demo tables."""
    out = tmp_path_factory.mktemp("datahub") / "postgres.json"
    pattern = {"table_pattern": {"allow": [rf".*\.public\.{t}$" for t in TABLES]}}
    return field_paths(run_pipeline(postgres_source(pg_demo_url, **pattern), out))


@pytest.fixture(scope="module")
def real_values(pg_demo_url: str) -> set[str]:
    return set().union(*(rare_text_values(pg_demo_url, table) for table in TABLES))


@pytest.fixture
def gms(datahub_view: dict[str, list[str]]) -> Iterator[GmsStandIn]:
    """A DataHub that knows the datasets its postgres source ingested."""
    with running_gms() as server:
        server.seed(MetadataChangeProposalWrapper(entityUrn=urn, aspect=StatusClass(False)) for urn in datahub_view)
        yield server


def test_sync_publishes_on_datahubs_datasets_without_any_real_value(
    tmp_path: Path, pg_demo_url: str, gms: GmsStandIn, datahub_view: dict[str, list[str]], real_values: set[str]
) -> None:
    config = validate_config(sync_config(tmp_path, pg_demo_url, datahub={"server": gms.url, "retries": 0}))
    report = run_sync(config)
    synced(report)
    file_records = json.loads(config.catalog.file.read_text())
    profiles = {urn: values[-1] for urn, values in aspects(file_records, "datasetProfile").items()}

    assert set(profiles) == set(datahub_view)  # every URN matches DataHub's own
    for urn, profile in profiles.items():
        paths = [f["fieldPath"] for f in profile["fieldProfiles"]]
        assert paths and set(paths) <= set(datahub_view[urn])  # and every fieldPath
        assert set(gms.profiles(urn)[-1]["fieldProfiles"][0]) >= {"fieldPath", "sampleValues"}

    stored = [gms.state.versioned, list(gms.state.timeseries.values())]
    assert leaked(real_values, file_records) == set()
    assert leaked(real_values, stored) == set()
    summaries = [r.as_dict() for r in report.results] + [s.as_dict() for s in report.sink_reports]
    assert leaked(real_values, summaries) == set()


def test_datahub_ingest_runs_the_sync_as_a_source(
    tmp_path: Path, pg_demo_url: str, gms: GmsStandIn, datahub_view: dict[str, list[str]], real_values: set[str]
) -> None:
    config_path = tmp_path / "catalog-synth.yml"
    config_path.write_text(yaml.safe_dump(sync_config(tmp_path, pg_demo_url, file=None)), encoding="utf-8")
    out = tmp_path / "ingested.json"
    source = {"type": "catalog-synth", "config": {"config": str(config_path)}}
    records = ingest_with_cli(recipe(source, out), tmp_path)

    assert set(aspects(records, "datasetProfile")) == set(datahub_view)
    assert aspects(records, "status") == {}  # enrichment only: no automatic status aspect
    assert {r["aspectName"] for r in records if r["changeType"] == "PATCH"} == {
        "globalTags",
        "datasetProperties",
        "institutionalMemory",
    }
    assert leaked(real_values, records) == set()


def test_source_skips_datasets_datahub_does_not_know(tmp_path: Path, pg_demo_url: str, gms: GmsStandIn) -> None:
    from datahub.ingestion.run.pipeline import Pipeline

    people = next(urn for urn in gms.state.versioned if "people" in urn)
    del gms.state.versioned[people]
    config_path = tmp_path / "catalog-synth.yml"
    config_path.write_text(yaml.safe_dump(sync_config(tmp_path, pg_demo_url, file=None)), encoding="utf-8")
    pipeline = Pipeline.create(
        {
            "source": {"type": "catalog-synth", "config": {"config": str(config_path)}},
            "sink": {"type": "datahub-rest", "config": {"server": gms.url}},
        }
    )
    pipeline.run()
    warnings = [w.context for w in pipeline.source.get_report().warnings]
    assert any(people in str(context) for context in warnings)
    assert not gms.exists(people)
    assert any(gms.profiles(urn) for urn in gms.state.versioned if "orders" in urn)


def test_report_shows_missing_datasets(tmp_path: Path, pg_demo_url: str) -> None:
    with running_gms() as empty:
        config: Config = validate_config(sync_config(tmp_path, pg_demo_url, file=None, datahub={"server": empty.url}))
        report = run_sync(config)
    synced(report)
    [sink] = report.sink_reports
    assert len(sink.skipped_missing) == len(TABLES) and not sink.published
