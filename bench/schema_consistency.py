"""Is each public database's copy consistent as a schema? SQL aggregates, warehouse vs store.

For Chinook, TPC-H and TPC-DS's people tables (``tests/public_schemas.py``), loaded with their
keys into a private PostgreSQL server, one ``sync``, then prints: the largest difference between
the real and the synthetic share of child rows per label of a reference table (tracks per genre
and media type, customers and suppliers per nation, nations per region, households per income
band), the share of nations whose region is the real one, the share of line items whose
(part, supplier) pair exists in ``partsupp``, the real and synthetic share of rows obeying each
schema-wide rule (``consistency_checks.RULES``: billing fields copied from the customer, dates in
order), what discovering the rules cost (aggregate queries, worker seconds), and per table the
real, asked and written rows. ``--no-rules`` measures the copy made without schema-wide rules.

    .venv/bin/python bench/schema_consistency.py [--databases chinook tpch tpcds] [--copy-rows 10000] [--no-rules]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from consistency_checks import (  # noqa: E402
    RULES,
    composite_resolves,
    label_shares,
    pairs_kept,
    row_counts,
    rule_shares,
)
from postgres_server import PostgresServer  # noqa: E402
from public_schemas import DATABASES, load  # noqa: E402

from catalog_synth.core.config import validate_config  # noqa: E402
from catalog_synth.run.sync import run_sync  # noqa: E402

# database -> (measure, child, key, parent, parent key, label)
SHARES = {
    "chinook": [
        ("tracks per genre", "track", "genreid", "genre", "genreid", "name"),
        ("tracks per media type", "track", "mediatypeid", "mediatype", "mediatypeid", "name"),
    ],
    "tpch": [
        ("customers per nation", "customer", "c_nationkey", "nation", "n_nationkey", "n_name"),
        ("suppliers per nation", "supplier", "s_nationkey", "nation", "n_nationkey", "n_name"),
        ("nations per region", "nation", "n_regionkey", "region", "r_regionkey", "r_name"),
    ],
    "tpcds": [
        ("households per income band", "household_demographics", "hd_income_band_sk", "income_band",
         "ib_income_band_sk", "ib_lower_bound"),
    ],
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", default=sorted(DATABASES), choices=sorted(DATABASES))
    parser.add_argument("--sample-rows", type=int, default=2000)
    parser.add_argument("--copy-rows", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-rules", action="store_true", help="no schema-wide rules (the copy before them)")
    args = parser.parse_args()
    if args.no_rules:
        import catalog_synth.link.plan

        catalog_synth.link.plan.candidates = lambda graph, info: ()
    server = PostgresServer.start_new()
    try:
        for name in args.databases:
            database = DATABASES[name]
            url = server.create_database(f"consistency_{name}")
            load(database, url)
            with tempfile.TemporaryDirectory() as folder:
                store = Path(folder) / "store.duckdb"
                config = validate_config({
                    "warehouses": [{"name": name, "url": url}], "sample_rows": args.sample_rows,
                    "copy_rows": args.copy_rows, "seed": args.seed, "store": str(store), "catalog": {"file": None},
                })  # fmt: skip
                started = time.monotonic()
                report = run_sync(config)
                print(f"\n== {name}: sync {time.monotonic() - started:.1f} s")
                for measure, *query in SHARES[name]:
                    shares = label_shares(url, store, *query)
                    print(f"{measure}: max share difference {shares.max_difference:.4f} ({shares.synthetic_rows} rows)")
                if name == "tpch":
                    kept = pairs_kept(url, store, "nation", "n_regionkey", "n_name", "region", "r_regionkey", "r_name")
                    print(f"nations in their real region: {kept:.0%}")
                    share = composite_resolves(
                        store, "lineitem", ("l_partkey", "l_suppkey"), "partsupp", ("ps_partkey", "ps_suppkey")
                    )
                    print(f"line items with an existing (part, supplier) pair: {share:.2%}")
                for rule, query in RULES.get(name, {}).items():
                    real, synthetic = rule_shares(url, store, *query)
                    print(f"rule {rule}: real {real:.1%}, synthetic {synthetic:.1%}")
                _discovery_cost(report)
                results = {r.ref.name: r for r in report.results}
                for table, (real, written) in row_counts(url, store, tuple(results)).items():
                    result = results[table]
                    short = [n for n in result.notes if "rows asked" in n]
                    print(f"  {table}: real {real}, asked {getattr(result, 'rows_asked', '?')}, written {written}"
                          f" ({result.status.value}{'; ' + short[0] if short else ''})")  # fmt: skip
    finally:
        server.stop()


def _discovery_cost(report) -> None:
    """Aggregate queries and worker seconds spent discovering schema-wide rules, and rules found."""
    queries = found = 0
    for result in report.results:
        for note in result.notes:
            if note.startswith("schema-wide rules: "):
                words = note.split()
                queries += int(words[words.index("in") + 1]) if "in" in words else 0
                found += int(words[words.index("found") - 2]) if "found" in words else 0
    seconds = sum(result.stages.wall.get("rules", 0.0) for result in report.results)
    enforce = sum(result.stages.wall.get("enforce", 0.0) for result in report.results)
    print(f"rule discovery: {queries} aggregate queries, {seconds:.2f} s in workers, {found} rules found;"
          f" enforcing them in workers {enforce:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
