"""Previews that look real: per table, the realism measures of the synthetic copy beside the real table's.

Syncs public databases of ``tests/public_schemas.py`` (Chinook's customers, employees and
invoices; TPC-DS's customers and addresses) and the demo's people and orders into a private
PostgreSQL server with the default settings, then prints, per table, for the real rows and the
synthetic copy (``catalog_synth.gate.realism``): gibberish share, real countries / states / cities /
currencies, phone and postal code agreeing with the row's country, float-noise count.

    .venv/bin/python bench/realism.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from postgres_server import PostgresServer  # noqa: E402
from public_schemas import CHINOOK, TPCDS, load  # noqa: E402

from catalog_synth.core.config import validate_config  # noqa: E402
from catalog_synth.entry.demo_data import load_into_postgres  # noqa: E402
from catalog_synth.gate.realism import (  # noqa: E402
    gibberish_threshold,
    language_model,
    measure,
    table_locales,
)
from catalog_synth.run.sync import run_sync  # noqa: E402

TABLES = {"chinook": ["customer", "employee", "invoice", "track"], "tpcds": ["customer", "customer_address"],
          "demo": ["people", "orders"]}  # fmt: skip


def compare(url: str, store: Path, tables: list[str]) -> list[dict]:
    engine = sa.create_engine(url)
    rows = []
    try:
        with duckdb.connect(str(store), read_only=True) as con:
            stored = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            synthetic_tables = {table: con.execute(f'SELECT * FROM public."{table}"').df()
                                for table in tables if table in stored}  # fmt: skip
        for table in tables:
            if table not in synthetic_tables:
                print(f"{table}: not in the store (see the sync's summary)")
                continue
            real = pd.read_sql(f"SELECT * FROM {table}", engine).map(lambda v: v.rstrip() if isinstance(v, str) else v)
            synthetic = synthetic_tables[table]
            model = language_model(table_locales(real))
            threshold = gibberish_threshold(real, model)
            for side, frame in (("real", real), ("synthetic", synthetic)):
                rows.append({"table": table, "side": side, **measure(frame, model, threshold, real).as_dict()})
    finally:
        engine.dispose()
    return rows


def main() -> None:
    server = PostgresServer.start_new()
    results = []
    try:
        for name, tables in TABLES.items():
            url = server.create_database(name)
            if name == "demo":
                load_into_postgres(url, rows=1000)
            else:
                load({"chinook": CHINOOK, "tpcds": TPCDS}[name], url)
            with tempfile.TemporaryDirectory() as folder:
                store = Path(folder) / "store.duckdb"
                config = validate_config({"warehouses": [{"name": name, "url": url}], "seed": 3,
                                          "store": str(store), "catalog": {"file": None}})
                run_sync(config)
                results += [{"database": name, **row} for row in compare(url, store, tables)]
    finally:
        server.stop()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(results).to_string(index=False))


if __name__ == "__main__":
    main()
