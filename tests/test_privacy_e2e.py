"""Issue 3 end to end: a multi-locale PII warehouse in real PostgreSQL, synced; no real
identifying value in the store, the catalog file, `report` (text and JSON), the sandbox
or the logs. A 3-row table is published, generated column by column; a `public` override shows in `report`."""

from __future__ import annotations

import json
import logging

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from privacy_checks import LogLines, leaked

from catalog_synth.core.config import load_config
from catalog_synth.core.types import TableStatus
from catalog_synth.core.values import normalize
from catalog_synth.entry.cli import main
from catalog_synth.run.sync import run_sync
from catalog_synth.store.copies import Store

IDENTIFYING = (
    "first_name", "last_name", "email", "phone", "street_address", "company", "iban", "credit_card_number", "notes",
)  # fmt: skip


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory, pg_demo_url: str):
    engine = sa.create_engine(pg_demo_url)
    with engine.begin() as con:
        con.exec_driver_sql("CREATE TABLE public.tiny (id int PRIMARY KEY, owner text, amount numeric(8,2))")
        con.exec_driver_sql("INSERT INTO public.tiny VALUES (1, 'Zoë Quartermaine', 10.5), (2, 'Ulf Ødegård', 3), (3, NULL, 7)")
        real = pd.read_sql_table("people", con, schema="public")
    engine.dispose()
    tmp_path = tmp_path_factory.mktemp("privacy")
    config_file = tmp_path / "catalog-synth.yml"
    config_file.write_text(
        f"warehouses:\n  - name: shop\n    url: {pg_demo_url}\n    include: ['public.people', 'public.tiny']\n"
        "copy_rows: 200\npreview_rows: 10\nseed: 11\nexecutor: {workers: 1}\n"
        "store: s.duckdb\ncatalog: {file: mcps.json}\ncolumns:\n  public.people.country: public\n"
    )
    config = load_config(config_file)
    logging.getLogger().setLevel(logging.DEBUG)
    handler = LogLines()
    logging.getLogger().addHandler(handler)
    try:
        report = run_sync(config)
    finally:
        logging.getLogger().removeHandler(handler)
    real_values = {str(v) for c in IDENTIFYING for v in real[c].dropna()}
    return config, config_file, report, real, real_values, "\n".join(handler.lines)


def test_people_and_the_tiny_table_are_published_the_tiny_one_without_a_real_value(synced) -> None:
    config, _, report, *_ = synced
    results = {r.ref.qualified: r for r in report.results}
    assert results["public.people"].status is TableStatus.SYNTHESIZED, results["public.people"].reason
    tiny = results["public.tiny"]
    assert tiny.status is TableStatus.SYNTHESIZED and "generated column by column" in " ".join(tiny.notes)
    assert [t.logical_name for t in Store(config.store).tables()] == ["public.people", "public.tiny"]
    with duckdb.connect(str(config.store), read_only=True) as con:
        owners, amounts, ids = zip(*con.execute("SELECT owner, amount, id FROM public.tiny").fetchall())
    assert not {"Zoë Quartermaine", "Ulf Ødegård"} & set(owners) and not {3, 10.5} & set(map(float, amounts))
    assert not {1, 2, 3} & set(ids)
    assert leaked({"Zoë Quartermaine", "Ulf Ødegård"}, json.loads(config.catalog.file.read_text())) == set()


def test_store_holds_no_real_identifying_value(synced) -> None:
    config, _, _, real, *_ = synced
    with duckdb.connect(str(config.store), read_only=True) as con:
        synthetic = con.execute("SELECT * FROM public.people").df()
    for column in IDENTIFYING:
        shared = {normalize(v) for v in real[column].dropna()} & {normalize(v) for v in synthetic[column].dropna()}
        assert not shared, f"{len(shared)} real values of {column} in the store"
    assert set(synthetic["id"]).isdisjoint(set(real["id"]))  # keys are new


def test_catalog_file_report_sandbox_and_logs_carry_no_real_value(synced) -> None:
    config, config_file, _, _, real_values, logs = synced
    # The people's records (the tiny table's fake owners may share a common surname with them).
    records = [r for r in json.loads(config.catalog.file.read_text()) if "public.people" in r["entityUrn"]]
    assert records and leaked(real_values, records) == set()
    runner = CliRunner()
    for args in (["report", "-c", str(config_file), "public.people"],
                 ["report", "-c", str(config_file), "public.people", "--json"],
                 ["query", "-c", str(config_file), "SELECT * FROM public.people LIMIT 200"],
                 ["preview", "-c", str(config_file), "public.people"]):
        result = runner.invoke(main, args, terminal_width=400)
        assert result.exit_code == 0, result.output
        assert leaked(real_values, [result.output]) == set(), args[0]
    assert logs and leaked(real_values, [logs]) == set()


def test_public_override_keeps_real_country_codes_and_report_says_so(synced) -> None:
    config, config_file, _, real, *_ = synced
    with duckdb.connect(str(config.store), read_only=True) as con:
        countries = {row[0] for row in con.execute("SELECT DISTINCT country FROM public.people").fetchall()}
    assert countries and countries <= set(real["country"])
    shown = json.loads(CliRunner().invoke(main, ["report", "-c", str(config_file), "public.people", "--json"]).output)
    assert shown["classes"]["country"]["source"] == "override"
    assert shown["classes"]["email"]["identifying"] is True
    assert shown["quality"]["overall"] > 0.5 and shown["gate"]["passed"] is True
