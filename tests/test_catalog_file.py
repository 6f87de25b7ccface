"""The file sink: DataHub's file format, checked by DataHub's own CLI and loadable into GMS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_tables import catalog_config, synthetic_table
from datahub.ingestion.run.pipeline import Pipeline
from datahub_gms import running_gms
from datahub_ingest import run_datahub_cli

from catalog_synth.core.config import Config
from catalog_synth.publish.sinks import (
    CatalogError,
    FileSink,
    RestSink,
    open_sinks,
    sink_class,
)
from catalog_synth.publish.urns import DatasetLocation


def publish(config: Config, *names: str) -> list[dict]:
    [sink] = open_sinks(config)
    assert isinstance(sink, FileSink)
    location = DatasetLocation("postgres", "shopdb", config.warehouses[0])
    for name in names:
        sink.publish(synthetic_table(name), location)
    sink.close()
    return json.loads(config.catalog.file.read_text())


def urns(records: list[dict]) -> set[str]:
    return {r["entityUrn"] for r in records}


def test_file_passes_datahub_check_metadata_file(tmp_path: Path) -> None:
    config = catalog_config(tmp_path, sandbox_url="http://sandbox:8765")
    records = publish(config, "people", "orders")
    assert {r["aspectName"] for r in records} == {
        "datasetProfile",
        "globalTags",
        "datasetProperties",
        "institutionalMemory",
        "embed",
    }
    result = run_datahub_cli("check", "metadata-file", str(config.catalog.file), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10 MCEs found - all valid" in result.stdout
    # The check can fail: the same file with a profile lacking its timestamp does not pass.
    broken = tmp_path / "broken.json"
    profile = next(r for r in records if r["aspectName"] == "datasetProfile")
    value = json.loads(profile["aspect"]["value"])
    del value["timestampMillis"]
    profile["aspect"]["value"] = json.dumps(value)
    broken.write_text(json.dumps(records), encoding="utf-8")
    assert run_datahub_cli("check", "metadata-file", str(broken), cwd=tmp_path).returncode != 0


def test_file_loads_into_gms_through_datahubs_file_source(tmp_path: Path) -> None:
    config = catalog_config(tmp_path, sandbox_url="http://sandbox:8765")
    publish(config, "people")
    with running_gms() as gms:
        pipeline = Pipeline.create(
            {
                "source": {"type": "file", "config": {"path": str(config.catalog.file)}},
                "sink": {"type": "datahub-rest", "config": {"server": gms.url}},
            }
        )
        pipeline.run()
        pipeline.raise_from_status()
        urn = "urn:li:dataset:(urn:li:dataPlatform:postgres,shopdb.public.people,PROD)"
        assert len(gms.profiles(urn)) == 1
        assert gms.aspect(urn, "globalTags")["tags"] == [{"tag": "urn:li:tag:synthetic-sample"}]


def test_datasets_not_published_again_keep_their_earlier_proposals(tmp_path: Path) -> None:
    config = catalog_config(tmp_path)
    first = publish(config, "people", "orders")
    second = publish(config, "orders")
    assert urns(second) == urns(first)
    assert len(second) == len(first)
    orders = "urn:li:dataset:(urn:li:dataPlatform:postgres,shopdb.public.orders,PROD)"
    orders_profiles = [r for r in second if r["entityUrn"] == orders and r["aspectName"] == "datasetProfile"]
    assert len(orders_profiles) == 1  # replaced, not duplicated
    carried_tags = next(r for r in second if r["aspectName"] == "globalTags" and r["entityUrn"] != orders)
    assert carried_tags["aspect"]["contentType"] == (
        "application/json-patch+json"  # carried-over PATCHes keep their content type
    )
    result = run_datahub_cli("check", "metadata-file", str(config.catalog.file), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr  # new and carried records together
    written = config.catalog.file.read_bytes(), config.catalog.file.stat().st_mtime_ns
    assert publish(config) == second  # a run that published nothing new leaves the file as it was
    assert (config.catalog.file.read_bytes(), config.catalog.file.stat().st_mtime_ns) == written


def test_a_foreign_file_is_never_overwritten(tmp_path: Path) -> None:
    config = catalog_config(tmp_path)
    config.catalog.file.write_text("not json", encoding="utf-8")
    [sink] = open_sinks(config)
    sink.publish(synthetic_table(), DatasetLocation("postgres", "shopdb", config.warehouses[0]))
    with pytest.raises(CatalogError, match="not a DataHub metadata file"):
        sink.close()
    assert config.catalog.file.read_text() == "not json"
    assert list(tmp_path.glob(".mcps.json.*")) == []


def test_sinks_are_chosen_by_config_through_entry_points(tmp_path: Path) -> None:
    assert sink_class("file") is FileSink and sink_class("datahub") is RestSink
    assert open_sinks(catalog_config(tmp_path, file=None)) == []
    with pytest.raises(CatalogError, match="unknown sink 'nosuch'.*installed: .*datahub.*file"):
        open_sinks(catalog_config(tmp_path, sinks={"nosuch": {}}))
