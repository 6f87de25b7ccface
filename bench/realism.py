"""Previews that look real: per public schema, the realism of the synthetic copy beside the real rows'.

Loads each public database of ``tests/public_schemas.py`` (Chinook, TPC-H, TPC-DS's people
tables, Northwind, NYC flights) into a private PostgreSQL server, syncs it with the default
settings, and prints one table per schema, the real reference beside the synthetic figure
(``catalog_synth.gate.realism`` and ``catalog_synth.gate.schema_fit``):

* ``gibberish``: share of short text values that read like no language (per table, against a
  threshold set on the real table; the schema's figure weighs tables by their short texts);
* row coherence: city in the row's country, state or region in it, phone valid for it, postal
  code of its layout (rows with a country and a value; real rows vs synthetic rows);
* ``vocabulary fit``: non-identifying text columns (the oracle's direct identifiers, keys,
  places and contacts aside; phrases of two words or more on average): share of values most of
  whose words occur in the real column. The real reference is a holdout: one half of the real
  rows against the other half's words;
* ``real labels (low cardinality)``: share of values of low-cardinality text columns (at most
  ``LOW_CARDINALITY`` distinct values, each held by 2 rows or more on average) that are real
  values of their column;
* ``lookup label columns 100% real``: share of the label columns of lookup tables (referenced
  by a foreign key, at most ``LOOKUP_ROWS`` rows and ``LOOKUP_COLUMNS`` columns besides their
  keys, no direct identifier; their text columns that are no key) whose synthetic values are all
  real labels. The columns that are not are listed.

Then, per table, the measures of ``catalog_synth.gate.realism`` for a few tables (and the demo's).

    .venv/bin/python bench/realism.py [--databases chinook tpch tpcds northwind flights]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from postgres_server import PostgresServer  # noqa: E402
from public_schemas import DATABASES, PublicDatabase, load  # noqa: E402

from catalog_synth.core.config import validate_config  # noqa: E402
from catalog_synth.entry.demo_data import load_into_postgres  # noqa: E402
from catalog_synth.gate.realism import (  # noqa: E402
    gibberish_threshold,
    language_model,
    measure,
    short_texts,
    table_locales,
)
from catalog_synth.gate.schema_fit import (  # noqa: E402
    COHERENCE_CHECKS,
    Share,
    place_groups,
    real_labels,
    row_coherence,
    vocabulary,
    vocabulary_fit,
    words,
)
from catalog_synth.run.sync import run_sync  # noqa: E402

LOW_CARDINALITY = 30
LOOKUP_ROWS = 100
LOOKUP_COLUMNS = 3
PHRASE_WORDS = 2.0
DETAIL = {"chinook": ["customer", "employee", "invoice", "track"], "tpcds": ["customer", "customer_address"],
          "northwind": ["customers", "suppliers", "orders", "products"], "demo": ["people", "orders"]}  # fmt: skip


@dataclass
class SchemaFit:
    """The schema's shares, real and synthetic, pooled over its tables."""

    real: dict[str, Share] = field(default_factory=dict)
    synthetic: dict[str, Share] = field(default_factory=dict)
    gibberish: list[tuple[float | None, float | None, int]] = field(default_factory=list)
    lookup_misses: list[str] = field(default_factory=list)

    def add(self, name: str, real: Share, synthetic: Share) -> None:
        self.real[name] = self.real.get(name, Share()).add(real)
        self.synthetic[name] = self.synthetic.get(name, Share()).add(synthetic)

    def rows(self) -> list[dict]:
        rows = [{"measure": "gibberish", "real": _weighted(self.gibberish, 0), "synthetic": _weighted(self.gibberish, 1),
                 "checked (real / synthetic)": f"{sum(n for *_, n in self.gibberish)} short texts (real)"}]  # fmt: skip
        for name in self.real:
            real, synthetic = self.real[name], self.synthetic[name]
            rows.append({"measure": name, "real": real.value, "synthetic": synthetic.value,
                         "checked (real / synthetic)": f"{real.checked} / {synthetic.checked}"})  # fmt: skip
        return rows


def _weighted(figures: list[tuple[float | None, float | None, int]], side: int) -> float | None:
    pairs = [(figure[side], n) for figure in figures if figure[side] is not None and (n := figure[2])]
    total = sum(n for _, n in pairs)
    return round(sum(value * n for value, n in pairs) / total, 4) if total else None


def _keys(inspector: sa.Inspector, tables: tuple[str, ...]) -> tuple[dict[str, set[str]], set[str]]:
    """Per table its key columns (primary and foreign), and the tables a foreign key refers to."""
    keys, referenced = {}, set()
    for table in tables:
        keys[table] = set(inspector.get_pk_constraint(table)["constrained_columns"])
        for foreign_key in inspector.get_foreign_keys(table):
            keys[table] |= set(foreign_key["constrained_columns"])
            referenced.add(foreign_key["referred_table"])
    return keys, referenced


def _texts(frame: pd.DataFrame) -> list[str]:
    return [name for name in frame.columns if frame[name].dropna().map(lambda v: isinstance(v, str)).all()
            and frame[name].notna().any()]  # fmt: skip


def measure_table(fit: SchemaFit, table: str, real: pd.DataFrame, synthetic: pd.DataFrame, plain: list[str],
                  lookup: bool, rng: np.random.Generator) -> None:  # fmt: skip
    """Add one table's figures; ``plain``: its text columns that are neither keys nor identifiers."""
    model = language_model(table_locales(real))
    threshold = gibberish_threshold(real, model)
    fit.gibberish.append((measure(real, model, threshold, real).gibberish,
                          measure(synthetic, model, threshold, real).gibberish, len(short_texts(real))))  # fmt: skip
    groups = place_groups(real)
    real_rows, synthetic_rows = row_coherence(real, groups), row_coherence(synthetic, groups)
    for check in COHERENCE_CHECKS:
        fit.add(check, real_rows[check], synthetic_rows[check])
    places = {name for checks in groups.values() for columns in checks.values() for name in columns} | set(groups)
    half = rng.permutation(len(real)) < len(real) // 2
    for name in plain:
        values = real[name].dropna()
        if name not in places and values.map(lambda v: len(words(v))).mean() >= PHRASE_WORDS:
            known, held_out = vocabulary(real[name][half].dropna()), real[name][~half].dropna()
            fit.add("vocabulary fit (text)", vocabulary_fit(held_out, known),
                    vocabulary_fit(synthetic[name].dropna(), vocabulary(values)))  # fmt: skip
        distinct = values.nunique()
        if 0 < distinct <= LOW_CARDINALITY and len(values) >= 2 * distinct:
            fit.add("real labels (low cardinality)", real_labels(values, values),
                    real_labels(synthetic[name].dropna(), values))  # fmt: skip
        if lookup:
            kept = real_labels(synthetic[name].dropna(), values)
            fit.add("lookup label columns 100% real", Share(1, 1), Share(1, int(kept.passed == kept.checked)))
            if kept.passed < kept.checked:
                fit.lookup_misses.append(f"{table}.{name} ({kept.value:.0%} real)")


def schema_fit(database: PublicDatabase, url: str, store: Path) -> SchemaFit:
    engine = sa.create_engine(url)
    fit, rng = SchemaFit(), np.random.default_rng(0)
    try:
        keys, referenced = _keys(sa.inspect(engine), database.tables)
        with duckdb.connect(str(store), read_only=True) as con:
            stored = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            for table in database.tables:
                if table not in stored:
                    print(f"{database.name}.{table}: not in the store (see the sync's summary)")
                    continue
                real = _stripped(pd.read_sql(f"SELECT * FROM {table}", engine))
                synthetic = _stripped(con.execute(f'SELECT * FROM public."{table}"').df())
                identifiers = set(database.identifiers.get(table, ()))
                plain = [name for name in _texts(real) if name not in identifiers | keys[table] and name in synthetic]
                lookup = (table in referenced and len(real) <= LOOKUP_ROWS and not identifiers
                          and len(set(real.columns) - keys[table]) <= LOOKUP_COLUMNS)  # fmt: skip
                measure_table(fit, table, real, synthetic, plain, lookup, rng)
    finally:
        engine.dispose()
    return fit


def _stripped(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(lambda v: v.rstrip() if isinstance(v, str) else v)  # CHAR(n) padding


def detail(url: str, store: Path, tables: list[str]) -> list[dict]:
    """Per table, ``catalog_synth.gate.realism``'s measures of the real rows and the synthetic copy."""
    engine = sa.create_engine(url)
    rows = []
    try:
        with duckdb.connect(str(store), read_only=True) as con:
            stored = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            for table in (name for name in tables if name in stored):
                real = _stripped(pd.read_sql(f"SELECT * FROM {table}", engine))
                synthetic = con.execute(f'SELECT * FROM public."{table}"').df()
                model = language_model(table_locales(real))
                threshold = gibberish_threshold(real, model)
                for side, frame in (("real", real), ("synthetic", synthetic)):
                    rows.append({"table": table, "side": side, **measure(frame, model, threshold, real).as_dict()})
    finally:
        engine.dispose()
    return rows


def _sync(name: str, url: str, store: Path) -> None:
    run_sync(validate_config({"warehouses": [{"name": name, "url": url}], "seed": 3, "store": str(store),
                              "catalog": {"file": None}}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", default=list(DATABASES), choices=list(DATABASES))
    names = parser.parse_args().databases
    server = PostgresServer.start_new()
    details = []
    try:
        for name in [*names, "demo"]:
            url = server.create_database(name)
            load_into_postgres(url, rows=1000) if name == "demo" else load(DATABASES[name], url)
            with tempfile.TemporaryDirectory() as folder:
                store = Path(folder) / "store.duckdb"
                _sync(name, url, store)
                if name != "demo":
                    fit = schema_fit(DATABASES[name], url, store)
                    print(f"\n== {name}")
                    print(pd.DataFrame(fit.rows()).to_string(index=False))
                    if fit.lookup_misses:
                        print("lookup label columns not all real:", ", ".join(fit.lookup_misses))
                details += [{"database": name, **row} for row in detail(url, store, DETAIL.get(name, []))]
    finally:
        server.stop()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\n== per table (catalog_synth.gate.realism)")
        print(pd.DataFrame(details).to_string(index=False))


if __name__ == "__main__":
    main()
