"""Sampling SQL per warehouse dialect: a bounded random sample, drawn inside the warehouse.

Every statement here sends at most ``rows`` rows to Python. Small tables are
sampled exactly (``ORDER BY random() LIMIT n``); large ones first with the
dialect's block or row sampling, oversampled by :data:`OVERSAMPLE` so that the
sample usually comes back full. When it comes back short (stale statistics,
unlucky blocks) the caller runs the next statement, the exact one.

Identifiers are quoted by the SQLAlchemy dialect's own preparer, which leaves
plain lower-case names unquoted: Snowflake and Oracle fold those to upper case,
as their reflected (lower-cased) names need.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

# Ask block/row sampling for this many times the rows needed.
OVERSAMPLE = 1.5
# Up to this many rows a full ORDER BY random() is cheaper than sampling.
SMALL_TABLE_ROWS = 100_000
# PostgreSQL: above this many rows, SYSTEM (whole pages) instead of BERNOULLI (every row).
PAGE_SAMPLE_ROWS = 5_000_000
# The smallest percentage written out.
_MIN_PERCENT = 0.000001

# SQLAlchemy dialect name -> the dialect's random-number expression.
_RANDOM = {
    "postgresql": "random()",
    "redshift": "random()",
    "duckdb": "random()",
    "sqlite": "random()",
    "trino": "random()",
    "snowflake": "RANDOM()",
    "bigquery": "RAND()",
    "mysql": "RAND()",
    "mariadb": "RAND()",
    "databricks": "rand()",
    "mssql": "NEWID()",
    "oracle": "DBMS_RANDOM.VALUE",
}


def supports(dialect: str) -> bool:
    """Whether this module writes sampling SQL for the SQLAlchemy dialect ``dialect``."""
    return dialect in _RANDOM


@dataclass(frozen=True)
class SampleTarget:
    """The columns of one table, spelled for one dialect."""

    dialect: str  # SQLAlchemy dialect name: "postgresql", "mssql", "snowflake" ...
    schema: str | None
    table: str
    columns: tuple[str, ...]
    # The dialect's identifier quoting (``dialect.identifier_preparer.quote``).
    quote: Callable[[str], str]
    # With a seed, DuckDB's reservoir draws the same rows every run.
    seed: int | None = None

    @property
    def source(self) -> str:
        name = self.quote(self.table)
        return name if self.schema is None else f"{self.quote(self.schema)}.{name}"

    @property
    def select_list(self) -> str:
        return ", ".join(self.quote(column) for column in self.columns)

    @property
    def random(self) -> str:
        return _RANDOM[self.dialect]


def sample_statements(target: SampleTarget, rows: int, row_count: int) -> list[str]:
    """Statements to try in order until one returns ``min(rows, row_count)`` rows."""
    select = f"SELECT {target.select_list} FROM {target.source}"
    if row_count <= rows:
        return [select]
    if target.dialect == "duckdb":  # reservoir sampling is exact, and bounded in memory
        repeatable = "" if target.seed is None else f" REPEATABLE ({int(target.seed)})"
        return [f"{select} USING SAMPLE reservoir({int(rows)} ROWS){repeatable}"]
    exact = random_rows(target, rows)
    if target.dialect == "snowflake":  # row sampling returns exactly n rows
        return [f"{select} SAMPLE ({int(rows)} ROWS)", exact]
    sampled = _sampled(target, rows, row_count) if row_count > SMALL_TABLE_ROWS else None
    return [sampled, exact] if sampled else [exact]


def random_rows(target: SampleTarget, rows: int) -> str:
    """Exactly ``rows`` random rows (or all): sorts the whole table, so a fallback for large ones."""
    return _limited(target, f"FROM {target.source}", rows)


def _limited(target: SampleTarget, from_clause: str, rows: int) -> str:
    """The rows of ``from_clause`` in random order, cut to ``rows`` rows, in the dialect's syntax."""
    columns, order, limit = target.select_list, f"ORDER BY {target.random}", int(rows)
    if target.dialect == "mssql":
        return f"SELECT TOP ({limit}) {columns} {from_clause} {order}"
    if target.dialect == "oracle":
        return f"SELECT {columns} {from_clause} {order} FETCH FIRST {limit} ROWS ONLY"
    return f"SELECT {columns} {from_clause} {order} LIMIT {limit}"


def _sampled(target: SampleTarget, rows: int, row_count: int) -> str | None:
    """The dialect's cheaper-than-sorting sample of a large table, or None where it has none."""
    share = sample_percent(rows, row_count)
    percent = _number(share)
    clauses = {
        "postgresql": f"TABLESAMPLE {'SYSTEM' if row_count > PAGE_SAMPLE_ROWS else 'BERNOULLI'} ({percent})",
        "trino": f"TABLESAMPLE BERNOULLI ({percent})",
        "bigquery": f"TABLESAMPLE SYSTEM ({percent} PERCENT)",
        "mssql": f"TABLESAMPLE SYSTEM ({percent} PERCENT)",
        "databricks": f"TABLESAMPLE ({percent} PERCENT)",
        "oracle": f"SAMPLE ({percent})",
        # No TABLESAMPLE: filter first, then sort only the survivors.
        "mysql": f"WHERE {target.random} < {_number(share / 100)}",
        "mariadb": f"WHERE {target.random} < {_number(share / 100)}",
    }
    clause = clauses.get(target.dialect)
    return _limited(target, f"FROM {target.source} {clause}", rows) if clause else None


def sample_percent(rows: int, row_count: int) -> float:
    """The percentage of a ``row_count``-row table expected to hold ``rows`` rows, with head room."""
    percent = rows * OVERSAMPLE * 100.0 / max(row_count, 1)
    return min(100.0, max(_MIN_PERCENT, math.ceil(percent * 1e6) / 1e6))


def _number(value: float) -> str:
    """A plain decimal literal (never exponent notation, which some dialects reject here)."""
    return f"{value:.8f}".rstrip("0").rstrip(".") or "0"
