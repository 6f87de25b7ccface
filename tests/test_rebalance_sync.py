"""Rebalanced copies in a sync: asked in the config or with a DataHub tag, stored beside the plain
copy, reported, and linked from the dataset's page (file sink and the local GMS stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from datahub.emitter.mce_builder import make_tag_urn
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import (
    DatasetPropertiesClass,
    GlobalTagsClass,
    TagAssociationClass,
)
from datahub_gms import GmsStandIn, running_gms
from rich.console import Console
from scale_support import config_dict

from catalog_synth.core.config import ConfigError, validate_config
from catalog_synth.core.types import TableRef, TableStatus
from catalog_synth.entry.reporting import render_table_report
from catalog_synth.publish.urns import DatasetLocation
from catalog_synth.run.sync import run_sync
from catalog_synth.store.copies import Store
from connectors.sqlalchemy import open_sqlalchemy

SANDBOX = "https://sandbox.example"
REQUEST = {"table": "main.applicants", "column": "defaulted", "target": {"yes": 0.5}, "rows": 300}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> str:
    rng = np.random.default_rng(2)
    n = 400
    defaulted = np.where(np.arange(n) % 8 == 0, "yes", "no")
    frame = pd.DataFrame({
        "applicant_id": np.arange(1, n + 1),
        "region": rng.choice(["north", "south", "east"], n),
        "income": np.round(rng.lognormal(10, 0.3, n) * np.where(defaulted == "yes", 0.6, 1.0), 2),
        "defaulted": defaulted,
    })
    url = f"sqlite:///{tmp_path_factory.mktemp('rebalance') / 'crm.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.exec_driver_sql("CREATE TABLE applicants (applicant_id INTEGER PRIMARY KEY, region TEXT, income REAL,"
                            " defaulted TEXT)")
    frame.to_sql("applicants", engine, index=False, if_exists="append")
    engine.dispose()
    return url


# Rebalanced copies default to tabular_argn: tiny budgets keep the tests fast.
TINY_ARGN = {"time_budget_seconds": 4, "max_epochs": 3, "model": "MOSTLY_AI/Small"}


def make_config(tmp_path: Path, url: str, **overrides):
    settings = {"sample_rows": 400, "copy_rows": 200, "seed": 4, "privacy": {"min_category_count": 3},
                "generators": {"tabular_argn": TINY_ARGN},
                "catalog": {"file": str(tmp_path / "mcps.json"), "sandbox_url": SANDBOX}, **overrides}
    return validate_config(config_dict(url, tmp_path / "sandbox.duckdb", **settings))


def stored_shares(store: Path, table: str) -> float:
    with duckdb.connect(str(store), read_only=True) as con:
        return con.execute(f"SELECT avg((defaulted = 'yes')::int), count(*) FROM main.{table}").fetchone()


def test_a_configured_request_writes_a_gated_rebalanced_copy_beside_the_plain_one(tmp_path: Path, warehouse: str) -> None:
    config = make_config(tmp_path, warehouse, rebalance=[REQUEST])
    report = run_sync(config)
    results = {r.stored_ref.qualified: r for r in report.results}
    assert {name: r.status for name, r in results.items()} == {
        "main.applicants": TableStatus.SYNTHESIZED, "main.applicants__rebalanced": TableStatus.SYNTHESIZED,
    }, [(r.stored_ref, r.reason) for r in report.results]
    share, rows = stored_shares(config.store, "applicants__rebalanced")
    assert rows == 300 and share == pytest.approx(0.5, abs=0.01)  # the share as asked, within a point
    plain_share, plain_rows = stored_shares(config.store, "applicants")
    assert plain_rows == 200 and plain_share < 0.2
    copy = results["main.applicants__rebalanced"].as_dict()
    # A bare request gets the benchmark's winner, whatever the table's generator (the copula here).
    assert results["main.applicants"].generator["generator"] == "gaussian_copula"
    assert copy["output"] == "applicants__rebalanced" and copy["generator"]["generator"] == "tabular_argn"
    assert copy["rebalance"]["classes"][0]["real_share"] == pytest.approx(0.125)
    assert {c["name"] for c in copy["gate"]["checks"]} >= {"class_row_copies", "class_distance_to_closest_record"}
    utility = copy["rebalance"]["utility"]  # in sync --report
    assert utility["measured"] and utility["model"] == "lightgbm" and utility["holdout_target_rows"] > 0
    assert {"auc_roc", "auc_pr"} <= set(utility["copy"]) and {"auc_roc", "auc_pr"} <= set(utility["real"])
    assert [entry["column"] for entry in copy["rebalance"]["diversity"]] == ["region"]
    stored = Store(config.store).table("main.applicants__rebalanced")
    assert stored.rebalance["columns"] == ["defaulted"] and stored.generator["rows_sampled"] >= 300
    assert stored.rebalance["utility"] == utility
    console = Console(record=True, width=200)
    render_table_report(console, stored)
    text = console.export_text()
    assert "Generator: tabular_argn" in text and "Rebalanced copy (defaulted)" in text
    assert "Utility (lightgbm, " in text and f"trained on the copy AUC-ROC {utility['copy']['auc_roc']:.3f}" in text
    assert "Diversity within the target classes" in text


def test_a_copula_named_for_a_copy_is_used_with_a_warning_and_min_gain_can_refuse_a_copy(
    tmp_path: Path, warehouse: str
) -> None:
    asked = {**REQUEST, "synthesizer": "gaussian_copula"}
    results = {r.stored_ref.name: r for r in run_sync(make_config(tmp_path, warehouse, rebalance=[asked])).results}
    copy = results["applicants__rebalanced"]
    assert copy.status is TableStatus.SYNTHESIZED and copy.generator["generator"] == "gaussian_copula"
    assert any("rebalanced copy made with gaussian_copula, as asked" in note for note in copy.notes)
    refused = make_config(tmp_path / "refused", warehouse, rebalance=[{**REQUEST, "min_gain": 0.5}])
    results = {r.stored_ref.name: r for r in run_sync(refused).results}
    assert results["applicants__rebalanced"].status is TableStatus.FAILED
    assert results["applicants__rebalanced"].reason.startswith("rebalanced copy not published: utility gain ")
    assert "below min_gain +0.500" in results["applicants__rebalanced"].reason
    assert [t.logical_name for t in Store(refused.store).tables()] == ["main.applicants"]


def test_the_dataset_page_links_to_its_rebalanced_copy_and_no_ghost_dataset_is_made(tmp_path: Path, warehouse: str) -> None:
    config = make_config(tmp_path, warehouse, rebalance=[{**REQUEST, "name": "applicants_balanced"}])
    run_sync(config)
    records = json.loads(config.catalog.file.read_text())
    assert {r["entityUrn"] for r in records} == {location_urn(config, warehouse)}
    patches = " ".join(json.dumps(r["aspect"]) for r in records if r["changeType"] == "PATCH")
    assert f"{SANDBOX}/tables/main.applicants_balanced" in patches
    assert "defaulted rebalanced to yes: 50%" in patches and "catalog_synth.rebalanced_copies" in patches
    # The copy's utility check and diversity, as custom properties of the real dataset.
    assert "catalog_synth.rebalance_utility.main.applicants_balanced" in patches
    assert "copy_auc_roc" in patches and "real_auc_pr" in patches
    assert "catalog_synth.rebalance_diversity.main.applicants_balanced" in patches


def test_an_unchanged_request_is_not_redone_and_a_changed_one_redoes_the_copy_and_its_links(
    tmp_path: Path, warehouse: str
) -> None:
    config = make_config(tmp_path, warehouse, rebalance=[REQUEST])
    run_sync(config)
    again = run_sync(config)
    assert [r.status for r in again.results] == [TableStatus.UNCHANGED, TableStatus.UNCHANGED]
    changed = make_config(tmp_path, warehouse, rebalance=[{**REQUEST, "target": {"yes": 0.3}}])
    report = run_sync(changed)
    assert [r.status for r in report.results] == [TableStatus.SYNTHESIZED, TableStatus.SYNTHESIZED]
    assert stored_shares(changed.store, "applicants__rebalanced")[0] == pytest.approx(0.3, abs=0.07)
    dropped = run_sync(make_config(tmp_path, warehouse))
    assert [r.stored_ref.name for r in dropped.results] == ["applicants"]
    assert [t.logical_name for t in Store(changed.store).tables()] == ["main.applicants"]


def test_a_request_the_sample_cannot_honour_fails_that_copy_only(tmp_path: Path, warehouse: str) -> None:
    config = make_config(tmp_path, warehouse, rebalance=[{**REQUEST, "target": {"maybe": 0.5}}])
    results = {r.stored_ref.name: r for r in run_sync(config).results}
    assert results["applicants"].status is TableStatus.SYNTHESIZED
    assert results["applicants__rebalanced"].status is TableStatus.FAILED
    assert "no sampled value of column 'defaulted'" in results["applicants__rebalanced"].reason
    again = {r.stored_ref.name: r for r in run_sync(config).results}  # remembered under the copy's name
    assert {name: r.status for name, r in again.items()} == {
        "applicants": TableStatus.UNCHANGED, "applicants__rebalanced": TableStatus.UNCHANGED,
    }
    assert again["applicants__rebalanced"].reason.startswith("failed at the last sync: ")
    assert "no sampled value of column 'defaulted'" in again["applicants__rebalanced"].reason
    fixed = {r.stored_ref.name: r.status for r in run_sync(make_config(tmp_path, warehouse, rebalance=[REQUEST])).results}
    assert fixed == {"applicants": TableStatus.SYNTHESIZED, "applicants__rebalanced": TableStatus.SYNTHESIZED}


@pytest.mark.parametrize(("request_", "message"), [
    ({"table": "main.a", "column": "d"}, "rebalance.0: column needs a target"),
    ({"table": "main.a", "column": "d", "target": {"y": 0.6, "n": 0.5}}, "rebalance.0: each share must be"),
    ({"table": "main.a", "where": {"sex": "F"}}, "rebalance.0: where needs one or more columns and a share"),
    ({"table": "main.a", "column": "d", "target": {"y": 0.5}, "synthesizer": "smote"}, "rebalance.0: unknown generator"),
])
def test_bad_requests_are_one_line_config_errors(tmp_path: Path, request_: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_config(tmp_path, "sqlite:///x.sqlite", rebalance=[request_])


def location_urn(config, url: str, table: str = "applicants") -> str:
    connector = open_sqlalchemy("w", url)
    try:
        location = DatasetLocation(platform=connector.platform, database=connector.database, warehouse=config.warehouses[0])
        return location.dataset_urn(TableRef("w", "main", table))
    finally:
        connector.close()


def tag_request(gms: GmsStandIn, urn: str, properties: dict[str, str]) -> None:
    """What a catalog user writes on the dataset's page: the tag and the properties."""
    gms.seed([
        MetadataChangeProposalWrapper(entityUrn=urn, aspect=GlobalTagsClass([TagAssociationClass(make_tag_urn("synthetic-rebalance"))])),
        MetadataChangeProposalWrapper(entityUrn=urn, aspect=DatasetPropertiesClass(customProperties=properties)),
    ])


def gms_config(tmp_path: Path, url: str, gms: GmsStandIn):
    return make_config(tmp_path, url, catalog={"file": None, "sandbox_url": SANDBOX,
                                               "datahub": {"server": gms.url, "retries": 0}})


def test_a_datahub_tag_asks_for_a_subgroup_copy_and_the_page_gets_its_link(tmp_path: Path, warehouse: str) -> None:
    with running_gms() as gms:
        config = gms_config(tmp_path, warehouse, gms)
        urn = location_urn(config, warehouse)
        tag_request(gms, urn, {"catalog_synth.rebalance.where": '{"region": "north", "defaulted": "yes"}',
                               "catalog_synth.rebalance.share": "0.25", "catalog_synth.rebalance.rows": "240",
                               # 17 real rows: too few for tabular_argn to pass the class's distance check.
                               "catalog_synth.rebalance.synthesizer": "gaussian_copula",
                               "team": "risk"})
        report = run_sync(config)
        results = {r.stored_ref.name: r for r in report.results}
        assert results["applicants__rebalanced"].status is TableStatus.SYNTHESIZED, results["applicants__rebalanced"].reason
        links = gms.aspect(urn, "institutionalMemory")["elements"]
        properties = gms.aspect(urn, "datasetProperties")["customProperties"]
    assert f"{SANDBOX}/tables/main.applicants__rebalanced" in {link["url"] for link in links}
    assert properties["team"] == "risk" and properties["catalog_synth.rebalanced_copies"] == "main.applicants__rebalanced"
    with duckdb.connect(str(config.store), read_only=True) as con:
        share, rows = con.execute("SELECT avg((region = 'north' AND defaulted = 'yes')::int), count(*)"
                                  " FROM main.applicants__rebalanced").fetchone()
    assert rows == 240 and share == pytest.approx(0.25, abs=0.07)


def test_a_bad_datahub_request_is_reported_naming_the_property(tmp_path: Path, warehouse: str) -> None:
    with running_gms() as gms:
        config = gms_config(tmp_path, warehouse, gms)
        tag_request(gms, location_urn(config, warehouse), {"catalog_synth.rebalance.column": "defaulted",
                                                           "catalog_synth.rebalance.target": "yes=0.5"})
        report = run_sync(config)
    failed = [r for r in report.results if r.status is TableStatus.FAILED]
    assert [r.reason for r in failed] == ["DataHub tag synthetic-rebalance: catalog_synth.rebalance.target: not a JSON object"]
    assert [r.stored_ref.name for r in report.results if r.status is TableStatus.SYNTHESIZED] == ["applicants"]


def test_tables_globs_pick_the_generator_and_a_copy_inherits_it(tmp_path: Path, warehouse: str) -> None:
    tiny = {"time_budget_seconds": 5, "max_epochs": 2, "model": "MOSTLY_AI/Small"}
    config = make_config(tmp_path, warehouse, rebalance=[REQUEST],
                         tables={"w.main.applic*": {"synthesizer": "tabular_argn", "settings": tiny},
                                 "main.*": {"synthesizer": "tvae"}})
    results = {r.stored_ref.name: r for r in run_sync(config).results}
    assert {name: r.generator["generator"] for name, r in results.items()} == {
        "applicants": "tabular_argn", "applicants__rebalanced": "tabular_argn"}, {n: r.reason for n, r in results.items()}
    assert results["applicants"].generator["epochs"] <= 2.01
