"""An order-management schema in the shape of Northwind (``order_schema.py``), synced end to end
from a SQLite file: public reference data keeps its real labels, lookup labels are kept whatever
their names, people and organisations are faked, and ``report`` says what each column was found
to be."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from order_schema import IDENTIFYING, LABELS, PUBLIC, build

from catalog_synth.core.config import load_config
from catalog_synth.core.types import TableStatus
from catalog_synth.core.values import normalized_set
from catalog_synth.entry.cli import main as cli
from catalog_synth.protect.public_reference import is_courtesy_title
from catalog_synth.run.sync import run_sync
from catalog_synth.store.copies import Store


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("orders")
    url = build(folder / "orders.sqlite")
    config_file = folder / "catalog-synth.yml"
    config_file.write_text(yaml.safe_dump({
        "warehouses": [{"name": "orders", "url": url, "include": ["main.*"]}], "seed": 5, "sample_rows": 600,
        "copy_rows": 600, "executor": {"workers": 2}, "store": "store.duckdb", "catalog": {"file": None},
    }))  # fmt: skip
    config = load_config(config_file)
    report = run_sync(config)
    engine = sa.create_engine(url)
    real = {table: pd.read_sql(f"SELECT * FROM {table}", engine) for table in {*LABELS, *PUBLIC, *IDENTIFYING}}
    engine.dispose()
    store = Store(config.store)
    synthetic = {table: store.preview(f"main.{table}", rows=10_000) for table in real}
    return report, config_file, real, synthetic


def test_every_table_is_published(synced) -> None:
    report = synced[0]
    assert {r.ref.name: r.reason for r in report.results if r.status is not TableStatus.SYNTHESIZED} == {}


def test_lookup_labels_and_public_reference_tables_keep_every_real_label(synced) -> None:
    _, _, real, synthetic = synced
    for table, columns in LABELS.items():
        for column in columns:
            assert set(synthetic[table][column]) == set(real[table][column]), (table, column)


def test_pack_sizes_and_product_names_are_real_and_courtesy_titles_are_titles_held_by_many(synced) -> None:
    _, _, real, synthetic = synced
    for column in PUBLIC["products"]:
        assert set(synthetic["products"][column]) <= set(real["products"][column]), column
    titles = synthetic["employees"]["title_of_courtesy"].dropna()
    assert len(titles) and titles.map(is_courtesy_title).all()
    held = real["employees"]["title_of_courtesy"].value_counts()
    assert not set(titles) & set(held.index[held < 5])  # 9 employees: no real title is held by 5


def test_people_and_organisations_are_faked(synced) -> None:
    _, _, real, synthetic = synced
    leaks = {
        (table, column): normalized_set(synthetic[table][column]) & normalized_set(real[table][column])
        for table, columns in IDENTIFYING.items()
        for column in columns
    }
    assert {key: found for key, found in leaks.items() if found} == {}


def test_report_says_what_each_column_was_found_to_be(synced) -> None:
    config_file = synced[1]
    runner = CliRunner()
    shown = {table: runner.invoke(cli, ["report", "-c", str(config_file), f"main.{table}"], terminal_width=250).output
             for table in ("products", "employees", "us_states", "region")}  # fmt: skip
    assert "pack sizes and quantities" in shown["products"] and "names of things" in shown["products"]
    assert "courtesy titles" in shown["employees"] and "public reference: categories" in shown["employees"]
    assert "reference table: labels kept (state_name, state_abbr, state_region" in shown["us_states"]
    assert "labels kept (region_description" in shown["region"]
