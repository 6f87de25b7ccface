"""TPC-H's 22 queries on the warehouse and on a full-size synthetic copy (issue 20).

TPC-H (``tpchgen-cli``, scale 0.01) is loaded with its keys into a private PostgreSQL server and
synced with ``copy_rows`` above every table's size; each of the 22 queries (``tpch_queries.py``,
PostgreSQL dialect) then runs on the warehouse and, through the sandbox's validator and
engine, on the store. Prints per query the rows each side returns, and for the aggregate
queries (1, 4, 5, 6, 7, 8, 12, 13, 14, 19, 22) the relative error of each aggregate cell (rows
matched on their labels; a real row missing from the copy counts 1 per cell), with the median
over all cells. Goals: 22 of 22 queries return rows where the warehouse has rows; median
relative error <= 0.10.

    .venv/bin/python bench/tpch_answers.py [--sample-rows 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from postgres_server import PostgresServer  # noqa: E402
from public_schemas import TPCH, libpq_dsn, load  # noqa: E402
from tpch_queries import ANSWERS, QUERIES  # noqa: E402

from catalog_synth.core.config import validate_config  # noqa: E402
from catalog_synth.core.sections import SandboxConfig  # noqa: E402
from catalog_synth.run.sync import run_sync  # noqa: E402
from catalog_synth.serve.engine import QueryEngine  # noqa: E402

GOAL = 0.10
Rows = list[tuple]


def answers(url: str, store: Path) -> dict:
    """Rows per query on both sides, and the relative errors of the aggregate queries' cells."""
    engine = QueryEngine(store, SandboxConfig(row_limit=1_000_000, timeout_seconds=300, max_concurrent_queries=1))
    returned, errors = {}, {}
    try:
        with psycopg.connect(libpq_dsn(url)) as con:
            for number, sql in QUERIES.items():
                cursor = con.execute(sql)
                real = cursor.fetchall()
                names = [d.name for d in cursor.description]
                synthetic = engine.run_rows(sql, dialect="postgres").rows
                returned[number] = (len(real), len(synthetic))
                if number in ANSWERS:
                    errors[number] = cell_errors(names, real, synthetic, ANSWERS[number])
    finally:
        engine.close()
    cells = [e for per_query in errors.values() for e in per_query]
    with_rows = [n for n, (real, synthetic) in returned.items() if real == 0 or synthetic > 0]
    return {"returned": returned, "errors": errors, "with_rows": len(with_rows),
            "median_error": statistics.median(cells) if cells else None}  # fmt: skip


def cell_errors(names: list[str], real: Rows, synthetic: Rows, keys: tuple[str, ...]) -> list[float]:
    """Relative error of each aggregate cell of ``real``, its row found in ``synthetic`` by ``keys``."""
    at = [names.index(k) for k in keys]
    values = [i for i in range(len(names)) if i not in at]
    found = {_key(row, at): row for row in synthetic}
    errors = []
    for row in real:
        match = found.get(_key(row, at))
        for i in values:
            errors.append(1.0 if match is None else _relative(row[i], match[i]))
    return errors


def _key(row: tuple, at: list[int]) -> tuple:
    return tuple(str(int(row[i])) if isinstance(row[i], (float, Decimal)) else str(row[i]).strip() for i in at)


def _relative(real: object, synthetic: object) -> float:
    if real is None or synthetic is None:
        return 0.0 if real is synthetic else 1.0
    if isinstance(real, date):
        return 0.0 if real == synthetic else 1.0
    real, synthetic = float(real), float(synthetic)
    if real == 0:
        return 0.0 if synthetic == 0 else 1.0
    return abs(synthetic - real) / abs(real)


def full_size_sync(url: str, folder: Path, sample_rows: int, seed: int) -> Path:
    with psycopg.connect(libpq_dsn(url)) as con:
        largest = max(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TPCH.tables)
    config = validate_config({
        "warehouses": [{"name": "tpch", "url": url, "include": ["public.*"]}],
        "sample_rows": sample_rows, "copy_rows": largest, "seed": seed,
        "store": str(folder / "store.duckdb"), "catalog": {"file": str(folder / "mcps.json")},
    })  # fmt: skip
    run_sync(config)
    return config.store


def report(result: dict) -> None:
    print(f"{'query':>5} {'real rows':>10} {'synthetic rows':>15} {'median error':>13}")
    for number, (real, synthetic) in result["returned"].items():
        errors = result["errors"].get(number)
        median = f"{statistics.median(errors):.3f}" if errors else ""
        print(f"{number:>5} {real:>10} {synthetic:>15} {median:>13}")
    median = result["median_error"]
    print(f"queries returning rows where the warehouse has rows: {result['with_rows']}/{len(QUERIES)}")
    print(f"median relative error of the aggregate queries' cells: {median:.3f} (goal <= {GOAL})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample-rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    server = PostgresServer.start_new()
    try:
        url = server.create_database("tpch_answers")
        load(TPCH, url)
        with tempfile.TemporaryDirectory() as folder:
            store = full_size_sync(url, Path(folder), args.sample_rows, args.seed)
            report(answers(url, store))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
