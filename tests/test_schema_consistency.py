"""Consistent as a schema (issue 20, items 3 and 5), on public databases nobody here wrote.

Chinook, TPC-H and TPC-DS's people tables are loaded into the real PostgreSQL fixture and synced; SQL aggregates on the
warehouse are compared with the same aggregates on the store:

* foreign keys into reference tables keep their meaning: tracks per genre and media type,
  customers and suppliers per nation follow the real shares; every nation stays in its real
  region (both lookup tables keep their labels);
* overlapping foreign keys all resolve: TPC-H's ``lineitem(l_partkey, l_suppkey) -> partsupp``
  beside ``l_partkey -> part`` and ``l_suppkey -> supplier``;
* every row and table accounted for: a copy has the rows asked for, or its notes say why (TPC-DS's
  household_demographics, whose rows are all rare combinations, gets replacements for the rows
  its protection drops); an empty table whose parent is empty is published, empty, with a note.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest
import yaml
from consistency_checks import (
    RULES,
    composite_resolves,
    label_shares,
    pair_share,
    pairs_kept,
    row_counts,
    rule_shares,
)
from public_schemas import DATABASES, libpq_dsn, load

from catalog_synth.core.config import Config, load_config
from catalog_synth.core.types import TableStatus
from catalog_synth.run.sync import run_sync

# A share per label may differ from the real one by rounding (less than one row: 1 / rows of the
# copy) and by the smoothing of labels held by fewer than privacy.min_category_count rows (at most
# this much here); never by keys re-drawn at random (before: 0.36 for genres, 0.79 for media types).
SHARE_BOUND = 0.02
COPY_ROWS = 600

# An empty lookup table and an empty link table to it (TPC-DS's customer_demographics has no
# rows in the people slice either): both must be published, empty.
EMPTY_DDL = """
CREATE TABLE demographics (d_demo_sk integer PRIMARY KEY, d_gender char(1), d_marital char(1));
CREATE TABLE customer_demographics (cd_custkey integer NOT NULL REFERENCES customer,
    cd_demo_sk integer NOT NULL REFERENCES demographics, PRIMARY KEY (cd_custkey, cd_demo_sk));
"""


@pytest.fixture(scope="module", params=["chinook", "tpch", "tpcds"])
def synced(request: pytest.FixtureRequest, pg_server, tmp_path_factory: pytest.TempPathFactory):
    database = DATABASES[request.param]
    url = pg_server.create_database(f"consistent_{database.name}")
    load(database, url)
    if database.name == "tpch":
        with psycopg.connect(libpq_dsn(url), autocommit=True) as con:
            con.execute(EMPTY_DDL)
    folder = tmp_path_factory.mktemp(database.name)
    config_file = folder / "catalog-synth.yml"
    config_file.write_text(yaml.safe_dump({
        "warehouses": [{"name": database.name, "url": url}],
        "sample_rows": 600, "copy_rows": COPY_ROWS, "seed": 5, "executor": {"workers": 2},
        "store": "store.duckdb", "catalog": {"file": "mcps.json"},
    }))  # fmt: skip
    config = load_config(config_file)
    report = run_sync(config)
    return database.name, url, config, report


def _measure(name: str, url: str, store) -> dict:
    """The numbers this test asserts on (also printed, for the record)."""
    if name == "chinook":
        numbers = {
            "tracks per genre": label_shares(url, store, "track", "genreid", "genre", "genreid", "name"),
            "tracks per media type": label_shares(
                url, store, "track", "mediatypeid", "mediatype", "mediatypeid", "name"
            ),
        }
    elif name == "tpcds":
        numbers = {
            "households per income band": label_shares(
                url, store, "household_demographics", "hd_income_band_sk", "income_band", "ib_income_band_sk",
                "ib_lower_bound",
            ),
        }
    else:
        numbers = {
            "customers per nation": label_shares(url, store, "customer", "c_nationkey", "nation", "n_nationkey", "n_name"),
            "suppliers per nation": label_shares(url, store, "supplier", "s_nationkey", "nation", "n_nationkey", "n_name"),
            "nations per region": label_shares(url, store, "nation", "n_regionkey", "region", "r_regionkey", "r_name"),
        }  # fmt: skip
    result = {f"{k}: max share difference": round(v.max_difference, 4) for k, v in numbers.items()}
    result.update({f"{k}: rows": v.synthetic_rows for k, v in numbers.items()})
    if name == "tpch":
        result["nations in their real region"] = pairs_kept(
            url, store, "nation", "n_regionkey", "n_name", "region", "r_regionkey", "r_name"
        )
        result["lineitems with a partsupp pair"] = round(composite_resolves(
            store, "lineitem", ("l_partkey", "l_suppkey"), "partsupp", ("ps_partkey", "ps_suppkey")
        ), 4)  # fmt: skip
    record = os.environ.get("CONSISTENCY_RECORD")
    if record:
        with open(record, "a") as handle:
            handle.write(json.dumps({name: result}) + "\n")
    return result


def test_foreign_keys_into_reference_tables_keep_the_real_shares(synced) -> None:
    name, url, config, _ = synced
    measured = _measure(name, url, config.store)
    shares = {k.split(":")[0]: v for k, v in measured.items() if k.endswith("max share difference")}
    too_far = {k: v for k, v in shares.items() if v > SHARE_BOUND + 1 / measured[f"{k}: rows"]}
    assert shares and too_far == {}, measured


def test_schema_wide_rules_hold_at_their_real_share(synced) -> None:
    """Denormalised copies and dates in order (issue 20): a rule holding on at least 99.5% of the
    real rows holds on at least 99% of the synthetic ones; a tendency stays within 2 points of it
    (before: billing country = customer country on 21.8%, line items shipped after their order
    date on 51%)."""
    name, url, config, _ = synced
    if name not in RULES:
        pytest.skip("no rules measured here")
    shares = {rule: rule_shares(url, config.store, *query) for rule, query in RULES[name].items()}
    record = os.environ.get("CONSISTENCY_RECORD")
    if record:
        with open(record, "a") as handle:
            handle.write(json.dumps({name: {rule: [round(r, 4), round(s, 4)] for rule, (r, s) in shares.items()}}) + "\n")
    for rule, (real, synthetic) in shares.items():
        if real >= 0.995:
            assert synthetic >= 0.99, (rule, real, synthetic, shares)
        else:
            assert abs(synthetic - real) <= 0.02, (rule, real, synthetic, shares)


def test_rules_are_listed_with_their_shares(synced) -> None:
    """The table's result (``sync --report``) and its stored copy (``report``) list each rule found,
    its kind, real and synthetic share and what was done: names and shares, never a value."""
    from click.testing import CliRunner

    from catalog_synth.entry.cli import main as cli

    name, _, config, report = synced
    expected = {"chinook": [("invoice", "billingcountry = customer.country"),
                            ("invoice", "total = sum(invoiceline.unitprice * quantity)")],
                "tpch": [("lineitem", "l_shipdate >= orders.o_orderdate"),
                         ("lineitem", "l_shipdate ranges -> l_linestatus"),
                         ("customer", "nation -> c_phone[:3]")]}.get(name)  # fmt: skip
    if expected is None:
        pytest.skip("no rules measured here")
    for table, rule in expected:
        result = next(r for r in report.results if r.ref.name == table)
        entry = next((e for e in result.as_dict()["rules"] if e["rule"] == rule), None)
        assert entry is not None, result.notes
        assert entry["real_share"] == 1.0 and entry["synthetic_share"] >= 0.99 and entry["action"], entry
        config_file = str(config.store.parent / "catalog-synth.yml")
        shown = CliRunner().invoke(cli, ["report", "-c", config_file, f"public.{table}"]).output
        assert "Schema-wide rules" in shown and rule in shown, shown


def test_every_nation_stays_in_its_real_region(synced) -> None:
    name, url, config, _ = synced
    if name != "tpch":
        pytest.skip("TPC-H only")
    assert pairs_kept(url, config.store, "nation", "n_regionkey", "n_name", "region", "r_regionkey", "r_name") == 1.0


def test_a_phone_country_code_stays_with_its_nation(synced) -> None:
    """TPC-H gives each nation a country code, the first two characters of its customers' phones
    (query 22 counts customers by it). Before: the phone was faked and the nation key re-drawn
    apart, so codes and nations met at random."""
    name, url, config, _ = synced
    if name != "tpch":
        pytest.skip("TPC-H only")
    sql = "SELECT substring(c_phone, 1, 2), n_name FROM customer JOIN nation ON n_nationkey = c_nationkey"
    assert pair_share(url, config.store, sql) >= 0.99


def test_overlapping_foreign_keys_all_resolve(synced) -> None:
    name, _, config, _ = synced
    if name != "tpch":
        pytest.skip("TPC-H only")
    share = composite_resolves(
        config.store, "lineitem", ("l_partkey", "l_suppkey"), "partsupp", ("ps_partkey", "ps_suppkey")
    )
    assert share >= 0.99


def test_every_row_and_table_accounted_for(synced) -> None:
    name, url, config, report = synced
    results = {r.ref.name: r for r in report.results}
    counts = row_counts(url, config.store, tuple(results))
    record = os.environ.get("CONSISTENCY_RECORD")
    if record:
        with open(record, "a") as handle:
            rows = {t: [*counts[t], getattr(r, "rows_asked", None), r.notes] for t, r in results.items()}
            handle.write(json.dumps({name: rows}) + "\n")
    assert {t: r.reason for t, r in results.items() if r.status is not TableStatus.SYNTHESIZED} == {}
    for table, result in results.items():
        real, stored = counts[table]
        assert stored == result.rows_written, table
        asked = result.rows_asked
        assert asked <= min(real, COPY_ROWS) or real == 0, (table, asked)
        if stored < asked:  # a copy short of rows says why
            assert any("rows" in note and "asked" in note for note in result.notes), (table, stored, asked, result.notes)
    if name == "tpcds":  # every combination is rare in its sample: without replacements 148 of 600 rows
        assert counts["household_demographics"][1] == results["household_demographics"].rows_asked
    if name == "tpch":
        for table in ("demographics", "customer_demographics"):
            assert counts[table] == (0, 0)
            assert any("empty" in note for note in results[table].notes), results[table].notes


def test_an_incremental_sync_keeps_the_shares_of_an_unchanged_reference_parent(pg_server, tmp_path) -> None:
    """Tracks change, genres do not: the stored genres keep their keys, and the new tracks still
    follow the real tracks per genre (the track worker matches the stored genres to the real ones)."""
    database = DATABASES["chinook"]
    url = pg_server.create_database("consistent_chinook_incremental")
    load(database, url)
    config = _synced_once(tmp_path, url, ["public.genre", "public.mediatype", "public.track"])
    with psycopg.connect(libpq_dsn(url), autocommit=True) as con:
        con.execute("UPDATE track SET milliseconds = milliseconds + 1 WHERE trackid % 7 = 0")
    report = run_sync(config)
    status = {r.ref.name: r.status for r in report.results}
    assert status == {"genre": TableStatus.UNCHANGED, "mediatype": TableStatus.UNCHANGED,
                      "track": TableStatus.SYNTHESIZED}  # fmt: skip
    for parent, key in (("genre", "genreid"), ("mediatype", "mediatypeid")):
        shares = label_shares(url, config.store, "track", key, parent, key, "name")
        assert shares.max_difference <= SHARE_BOUND + 1 / shares.synthetic_rows, (parent, shares.max_difference)


def test_a_nation_with_few_suppliers_gets_no_real_looking_exact_count(synced) -> None:
    """Nations held by fewer than min_category_count (5) suppliers all weigh the same: their
    synthetic counts differ by at most one row whatever their real counts (1 to 4)."""
    name, url, config, _ = synced
    if name != "tpch":
        pytest.skip("TPC-H only")
    shares = label_shares(url, config.store, "supplier", "s_nationkey", "nation", "n_nationkey", "n_name")
    real_total = 100  # TPC-H scale 0.01
    rare = {label for label, share in shares.real.items() if round(share * real_total) < 5}
    assert len({round(shares.real[label] * real_total) for label in rare}) > 1  # the real counts differ
    synthetic = {round(shares.synthetic.get(label, 0.0) * shares.synthetic_rows) for label in rare}
    assert max(synthetic) - min(synthetic) <= 1, synthetic


def test_a_copy_short_of_rows_says_why_in_the_summary_and_report(pg_server, tmp_path, monkeypatch) -> None:
    """With no replacements allowed, TPC-DS's household_demographics (every combination rare in
    its sample) ends short: its result and ``report`` say how many rows of how many, and why."""
    from click.testing import CliRunner

    from catalog_synth.entry.cli import main as cli
    from catalog_synth.model import sample

    monkeypatch.setattr(sample, "REPLACEMENT_ROUNDS", 0)
    database = DATABASES["tpcds"]
    url = pg_server.create_database("short_tpcds")
    load(database, url)
    config_file = tmp_path / "catalog-synth.yml"
    config_file.write_text(yaml.safe_dump({
        "warehouses": [{"name": "tpcds", "url": url,
                        "include": ["public.household_demographics", "public.income_band"]}],
        "sample_rows": 600, "copy_rows": COPY_ROWS, "seed": 5, "executor": {"workers": 1},
        "store": "store.duckdb", "catalog": {"file": None},
    }))  # fmt: skip
    report = run_sync(load_config(config_file))
    result = next(r for r in report.results if r.ref.name == "household_demographics")
    assert result.status is TableStatus.SYNTHESIZED and result.rows_written < result.rows_asked == COPY_ROWS
    note = f"{result.rows_written} of the {COPY_ROWS} rows asked: "
    assert any(n.startswith(note) and "replacements" in n for n in result.notes), result.notes
    shown = CliRunner().invoke(cli, ["report", "-c", str(config_file), "public.household_demographics"]).output
    assert note in shown


def test_an_incremental_sync_copies_from_the_stored_parent(pg_server, tmp_path) -> None:
    """Invoices change, customers do not: the new invoices copy the billing fields from the stored
    synthetic customers (read back from the store, not from a worker)."""
    database = DATABASES["chinook"]
    url = pg_server.create_database("consistent_chinook_rules_incremental")
    load(database, url)
    config = _synced_once(tmp_path, url, ["public.employee", "public.customer", "public.invoice"])
    with psycopg.connect(libpq_dsn(url), autocommit=True) as con:
        con.execute("UPDATE invoice SET total = total + 1 WHERE invoiceid % 5 = 0")
    report = run_sync(config)
    status = {r.ref.name: r.status for r in report.results}
    assert status["customer"] is TableStatus.UNCHANGED and status["invoice"] is TableStatus.SYNTHESIZED, status
    for rule in ("invoice billing country = customer country", "invoice billing city = customer city"):
        real, synthetic = rule_shares(url, config.store, *RULES["chinook"][rule])
        assert real == 1.0 and synthetic >= 0.99, (rule, synthetic)


def _synced_once(tmp_path: Path, url: str, include: list[str]) -> Config:
    """A config file over Chinook's ``include`` tables, synced once (for an incremental sync next)."""
    config_file = tmp_path / "catalog-synth.yml"
    config_file.write_text(yaml.safe_dump({
        "warehouses": [{"name": "chinook", "url": url, "include": include}],
        "sample_rows": 600, "copy_rows": COPY_ROWS, "seed": 5, "executor": {"workers": 1},
        "store": "store.duckdb", "catalog": {"file": None},
    }))  # fmt: skip
    config = load_config(config_file)
    run_sync(config)
    return config
