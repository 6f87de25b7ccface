"""``purge-real-samples`` against the GMS stand-in: dry run by default, deletes only real samples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from catalog_tables import synthetic_table
from click.testing import CliRunner, Result
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import (
    DatasetFieldProfileClass,
    DatasetProfileClass,
    StatusClass,
)
from datahub_gms import GmsStandIn, running_gms

from catalog_synth.entry.catalog_commands import purge_real_samples_command
from catalog_synth.publish.profile import MESSAGE_ID_PREFIX
from catalog_synth.store.copies import Store

URN = "urn:li:dataset:(urn:li:dataPlatform:postgres,shopdb.public.people,PROD)"
REAL_OLD, STATS_ONLY, OURS, REAL_NEW = 1_700_000_000_001, 1_700_000_100_000, 1_700_000_200_000, 1_700_000_300_123


def profile(
    timestamp_ms: int, samples: list[str] | None, message_id: str | None = None
) -> MetadataChangeProposalWrapper:
    field = DatasetFieldProfileClass(fieldPath="email", sampleValues=samples, nullCount=0)
    aspect = DatasetProfileClass(timestampMillis=timestamp_ms, messageId=message_id, fieldProfiles=[field])
    return MetadataChangeProposalWrapper(entityUrn=URN, aspect=aspect)


@pytest.fixture
def gms() -> Iterator[GmsStandIn]:
    with running_gms() as server:
        server.seed(
            [
                MetadataChangeProposalWrapper(entityUrn=URN, aspect=StatusClass(removed=False)),
                profile(REAL_OLD, ["alice@real.example"]),
                profile(STATS_ONLY, None),
                profile(OURS, ["synthetic0@example.invalid"], f"{MESSAGE_ID_PREFIX}{OURS}"),
                profile(REAL_NEW, ["bob@real.example"]),
            ]
        )
        yield server


@pytest.fixture
def config_file(tmp_path: Path, gms: GmsStandIn) -> Path:
    """A config whose store holds ``public.people`` of a PostgreSQL database ``shopdb``."""
    store = tmp_path / "store.duckdb"
    with Store(store).writer() as writer:
        writer.write(synthetic_table("people"), multi_warehouse=False)
    path = tmp_path / "catalog-synth.yml"
    path.write_text(
        "warehouses: [{name: shop, url: 'postgresql+psycopg://u@localhost/shopdb'}]\n"
        f"store: {store}\ncatalog: {{file: null, datahub: {{server: '{gms.url}', retries: 0}}}}\n",
        encoding="utf-8",
    )
    return path


def run(config_file: Path, *args: str) -> Result:
    return CliRunner().invoke(purge_real_samples_command, ["--config", str(config_file), *args])


def timestamps(gms: GmsStandIn) -> list[int]:
    return [p["timestampMillis"] for p in gms.profiles(URN)]


def test_dry_run_lists_real_sample_profiles_and_deletes_nothing(gms: GmsStandIn, config_file: Path) -> None:
    result = run(config_file)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(" profile of ")[0] for line in lines[:2]] == [f"would delete: {URN}"] * 2
    assert "2023-11-14 22:13:20 UTC" in lines[0] and "1 columns with sample values" in lines[0]
    assert "2 profiles with real sample values on 1 synced datasets; dry run" in result.output
    assert timestamps(gms) == [REAL_OLD, STATS_ONLY, OURS, REAL_NEW]
    assert "alice@real.example" not in result.output


def test_delete_removes_exactly_the_real_sample_profiles(gms: GmsStandIn, config_file: Path) -> None:
    result = run(config_file, "--delete")
    assert result.exit_code == 0, result.output
    assert "2 deleted" in result.output
    assert timestamps(gms) == [STATS_ONLY, OURS]


def test_purge_needs_a_datahub_server(tmp_path: Path) -> None:
    config_file = tmp_path / "catalog-synth.yml"
    config_file.write_text("warehouses: [{name: shop, url: 'sqlite:///x.db'}]\n", encoding="utf-8")
    result = run(config_file)
    assert result.exit_code == 1
    assert "purge-real-samples needs catalog.datahub" in result.output
