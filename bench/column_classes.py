"""What each text column was found to be, and how many synthetic values of the low-cardinality
ones are real labels of their column.

Syncs the order-management schema of ``tests/order_schema.py`` (SQLite) and, unless ``--quick``,
the public databases of ``tests/public_schemas.py`` (Chinook, TPC-H, TPC-DS, in a private
PostgreSQL server), then prints per text column its class (identifying, free text, public
reference or modelled, with the rule's source), its distinct real values, and for columns with
at most ``LOW_CARDINALITY`` distinct real values that the schema's oracle does not list as
identifying (``IDENTIFYING``, ``identifiers``) the share of synthetic values that are real
labels of the column; a line per database gives the share over all such values.

    .venv/bin/python bench/column_classes.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import order_schema  # noqa: E402

from catalog_synth.core.config import validate_config  # noqa: E402
from catalog_synth.protect.classify import finding as classify_finding  # noqa: E402
from catalog_synth.run.sync import run_sync  # noqa: E402
from catalog_synth.store.copies import Store  # noqa: E402

LOW_CARDINALITY = 60  # distinct real values


def finding(cls: dict) -> str:
    """The class a column was found to be, as the report says it."""
    return classify_finding(cls["semantic"], cls["identifying"], cls["source"])


def measure(name: str, url: str, folder: Path, identifiers: dict[str, tuple[str, ...]]) -> list[dict]:
    store = folder / "store.duckdb"
    config = validate_config({"warehouses": [{"name": name, "url": url}], "seed": 5, "sample_rows": 600,
                              "copy_rows": 600, "store": str(store), "catalog": {"file": None}})
    run_sync(config)
    engine = sa.create_engine(url)
    rows = []
    try:
        for stored in Store(store).tables():
            synthetic = Store(store).preview(stored.logical_name, rows=100_000)
            real = pd.read_sql(f'SELECT * FROM "{stored.table_name}"', engine)
            for column, cls in stored.classes.items():
                if column not in real or real[column].dtype != object or cls["source"] == "key" or cls["semantic"] == "datetime":
                    continue
                labels = set(real[column].dropna().astype(str).str.rstrip())
                values = synthetic[column].dropna().astype(str).str.rstrip() if column in synthetic else pd.Series([])
                low = len(labels) <= LOW_CARDINALITY and column not in identifiers.get(stored.table_name, ())
                rows.append({
                    "database": name, "table": stored.table_name, "column": column, "finding": finding(cls),
                    "source": cls["source"], "reason": cls["reason"][:60], "distinct": len(labels),
                    "values": len(values) if low else 0,
                    "real_labels": int(values.isin(labels).sum()) if low else 0,
                })  # fmt: skip
    finally:
        engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the order-management schema only")
    args = parser.parse_args()
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as folder:
        orders = Path(folder) / "orders"
        orders.mkdir()
        results += measure("orders", order_schema.build(orders / "orders.sqlite"), orders, order_schema.IDENTIFYING)
        if not args.quick:
            from postgres_server import PostgresServer
            from public_schemas import DATABASES, load

            server = PostgresServer.start_new()
            try:
                for name, database in DATABASES.items():
                    url = server.create_database(name)
                    load(database, url)
                    (Path(folder) / name).mkdir()
                    results += measure(name, url, Path(folder) / name, database.identifiers)
            finally:
                server.stop()
    frame = pd.DataFrame(results)
    frame["share"] = (frame["real_labels"] / frame["values"]).where(frame["values"] > 0).round(3)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(frame.drop(columns=["values", "real_labels"]).to_string(index=False))
        totals = frame.groupby("database")[["real_labels", "values"]].sum()
        print((totals["real_labels"] / totals["values"]).round(3).rename("real label share").to_string())


if __name__ == "__main__":
    main()
