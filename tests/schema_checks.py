"""What a sync of a public database must show, measured against the real warehouse.

Shared by ``tests/test_public_schemas.py`` and ``bench/real_schemas.py``. The oracle reads
the whole real tables (not a sample) and is independent of the product's classifier:

* **identifier leaks**: a real value of a direct identifier column (``PublicDatabase.identifiers``)
  equal (case- and whitespace-insensitively) to a value of the same column in the store, or, if
  10 characters or longer and more than one word, found anywhere in the catalog file, a report
  or the logs;
* **rare-by-person leaks**: a text value of a table about people held by fewer than ``k``
  distinct people, found in the same column of the store;
* **foreign-key integrity**: every non-empty foreign key of the store points at a stored parent row;
* **analyst queries**: each query, in PostgreSQL dialect, through the sandbox engine, returns rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import phonenumbers
import sqlalchemy as sa
from privacy_checks import MIN_CONTAINED_LENGTH, output_strings
from public_schemas import PublicDatabase

from catalog_synth.core.sections import SandboxConfig
from catalog_synth.core.values import normalize
from catalog_synth.protect.locales import country_of_value
from catalog_synth.protect.place_rows import state_agrees
from catalog_synth.protect.places import states_of_us_city
from catalog_synth.serve.engine import QueryEngine, QueryError

Column = tuple[str, str]  # (table, column)


@dataclass
class RealValues:
    """Real values the output must not carry, per column (normalised), and in raw form."""

    identifiers: dict[Column, set[str]] = field(default_factory=dict)
    rare_by_person: dict[Column, set[str]] = field(default_factory=dict)
    raw_long: set[str] = field(default_factory=set)  # raw identifier values long enough to search in text


def real_values(url: str, database: PublicDatabase, k: int = 5) -> RealValues:
    engine = sa.create_engine(url)
    found = RealValues()
    try:
        with engine.connect() as con:
            for table, columns in database.identifiers.items():
                frame = pd.read_sql(f"SELECT {', '.join(columns)} FROM {table}", con)
                for column in columns:
                    values = frame[column].dropna().map(_text)
                    found.identifiers[(table, column)] = {normalize(v) for v in values} - {None, ""}
                    found.raw_long |= {v.strip() for v in values if _searchable(v.strip())}
            for table, person in database.person_of.items():
                found.rare_by_person.update(_rare_by_person(con, database, table, person, k))
    finally:
        engine.dispose()
    return found


def _searchable(value: str) -> bool:
    """Long enough to search inside other text, and not a single word (a surname inside a fake
    full name or street is not that person; privacy_checks.leaked draws the same line)."""
    return len(value) >= MIN_CONTAINED_LENGTH and not value.isalpha()


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _rare_by_person(con: sa.Connection, database: PublicDatabase, table: str, person: str, k: int) -> dict:
    source = database.person_from.get(table, f"{table} t")
    text_columns = [
        row[0]
        for row in con.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %(t)s "
            "AND data_type IN ('text', 'character varying', 'character')",
            {"t": table},
        )
    ]
    rare = {}
    for column in text_columns:
        held = pd.read_sql(f"SELECT DISTINCT t.{column} AS value, {person} AS person FROM {source} "
                           f"WHERE t.{column} IS NOT NULL", con)
        held["value"] = held["value"].map(normalize)  # ' Lakeview' and 'lakeview' are one value to a reader
        people = held.drop_duplicates().groupby("value")["person"].nunique()
        rare[(table, column)] = set(people.index[people < k]) - {None, ""}
    return rare


def store_leaks(store: Path, real: RealValues) -> dict[str, int]:
    """Per ``table.column``: stored values equal to a real value the oracle forbids there."""
    leaks: dict[str, int] = {}
    with duckdb.connect(str(store), read_only=True) as con:
        stored = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables "
                                                "WHERE table_schema = 'public'").fetchall()}
        for (table, column), forbidden in [*real.identifiers.items(), *real.rare_by_person.items()]:
            if table not in stored or not forbidden:
                continue
            values = con.execute(f'SELECT DISTINCT "{column}" FROM public."{table}" WHERE "{column}" IS NOT NULL').fetchall()
            hits = sum(normalize(_text(row[0])) in forbidden for row in values)
            if hits:
                key = f"{table}.{column}"
                leaks[key] = leaks.get(key, 0) + hits
    return leaks


def text_leaks(real: RealValues, outputs: Iterable[Any]) -> set[str]:
    """Long real identifier values found anywhere in the outputs (JSON decoded)."""
    text = "\n".join(string for output in outputs for string in output_strings(output))
    return {value for value in real.raw_long if value in text}


def sample_value_leaks(catalog_file: Path, real: RealValues) -> dict[str, int]:
    """Per ``table.column``: DataHub ``sampleValues`` equal to a forbidden real value of that column."""
    forbidden_by_column: dict[Column, set[str]] = {}
    for key, values in [*real.identifiers.items(), *real.rare_by_person.items()]:
        forbidden_by_column.setdefault(key, set()).update(values)
    leaks: dict[str, int] = {}
    for record in json.loads(catalog_file.read_text()):
        aspect = record.get("aspect", {})
        if record.get("aspectName") != "datasetProfile":
            continue
        profile = json.loads(aspect["value"]) if "value" in aspect else aspect.get("json", aspect)
        table = record["entityUrn"].split(",")[1].split(".")[-1]
        for field_profile in profile.get("fieldProfiles", []):
            forbidden = forbidden_by_column.get((table, field_profile["fieldPath"]), set())
            hits = sum(normalize(v) in forbidden for v in field_profile.get("sampleValues") or [])
            if hits:
                leaks[f"{table}.{field_profile['fieldPath']}"] = hits
    return leaks


@dataclass(frozen=True)
class ForeignKeyCheck:
    child: str
    parent: str
    checked: int  # stored child rows with a non-empty key
    dangling: int  # of those, keys with no stored parent row

    @property
    def resolves(self) -> bool:
        return self.checked > 0 and self.dangling == 0


def foreign_keys(url: str) -> list[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    """Every declared foreign key of the real database: (child, columns, parent, parent columns)."""
    inspector_engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(inspector_engine)
        return [
            (table, tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
            for table in inspector.get_table_names()
            for fk in inspector.get_foreign_keys(table)
        ]
    finally:
        inspector_engine.dispose()


def foreign_key_integrity(store: Path, url: str) -> list[ForeignKeyCheck]:
    checks = []
    with duckdb.connect(str(store), read_only=True) as con:
        for child, columns, parent, parent_columns in foreign_keys(url):
            not_null = " AND ".join(f'c."{c}" IS NOT NULL' for c in columns)
            join = " AND ".join(f'p."{pc}" = c."{c}"' for c, pc in zip(columns, parent_columns))
            try:
                checked, dangling = con.execute(
                    f'SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM public."{parent}" p '
                    f'WHERE {join})) FROM public."{child}" c WHERE {not_null}'
                ).fetchone()
            except duckdb.CatalogException:  # child or parent not in the store
                checked, dangling = 0, 0
            checks.append(ForeignKeyCheck(f"{child}({', '.join(columns)})", parent, checked, dangling))
    return checks


def query_rows(store: Path, queries: dict[str, str]) -> dict[str, int | str]:
    """Rows each analyst query returns through the sandbox engine (or its error)."""
    engine = QueryEngine(store, SandboxConfig())
    results: dict[str, int | str] = {}
    try:
        for name, sql in queries.items():
            try:
                results[name] = engine.run(sql, dialect="postgres").row_count
            except QueryError as exc:
                results[name] = f"error: {exc}"
    finally:
        engine.close()
    return results


def row_agreement(
    frame: pd.DataFrame, country: str, state: str | None, city: str | None, phone: str | None
) -> dict[str, Agreement]:
    """Shares of the rows with a known country whose state is of it, whose US city is of its state
    (GeoNames), whose phone is a valid number of it (``phonenumbers``)."""
    checks: dict[str, list[bool]] = {"state": [], "us_city": [], "phone": []}
    for _, row in frame.iterrows():
        code = country_of_value(row[country]) if pd.notna(row[country]) else None
        if code is None:
            continue
        row_state = row[state] if state and pd.notna(row[state]) else None
        if row_state is not None:
            checks["state"].append(state_agrees(code, None, str(row_state)))
        if code == "US" and row_state is not None and city and pd.notna(row[city]):
            checks["us_city"].append(str(row_state).strip().upper() in states_of_us_city(str(row[city])))
        if phone and pd.notna(row[phone]):
            try:
                number = phonenumbers.parse(str(row[phone]), code)
            except phonenumbers.NumberParseException:
                checks["phone"].append(False)
                continue
            checks["phone"].append(phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == code)
    return {name: Agreement(sum(values) / len(values), len(values)) for name, values in checks.items() if values}


@dataclass(frozen=True)
class Agreement:
    share: float
    rows: int  # rows checked
