"""The first layer: accept exactly one read-only query over the synthetic tables.

A query is parsed with sqlglot in the user's dialect, checked (one statement,
a SELECT / set operation / WITH over selects, no statement or function that
reaches files, the network, settings or the catalog), its table references are
resolved against the allow-list from ``_catalog_synth.tables`` and rewritten to
their physical names, and it is transpiled to DuckDB with unsupported
constructs raised as errors. The generated DuckDB text is then parsed and
checked again, so the string that runs is exactly the string that was checked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError
from sqlglot.generator import Generator

from catalog_synth.serve.errors import QueryRefused, TableNotFound
from catalog_synth.store.copies import StoredTable

DUCKDB = "duckdb"
MAX_SQL_CHARS = 100_000
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
_generators = threading.local()

# Nodes that write, change settings or the session, or run something other than a query.
_FORBIDDEN_NODES: tuple[type[exp.Expr], ...] = (
    exp.DML,
    exp.DDL,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Command,
    exp.Set,
    exp.Pragma,
    exp.Attach,
    exp.Detach,
    exp.Install,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Into,
    exp.Describe,
    exp.Summarize,
    exp.Show,
    exp.LoadData,
    exp.Export,
    exp.Refresh,
    exp.Cache,
    exp.Uncache,
    exp.Analyze,
    exp.Grant,
    exp.Revoke,
    exp.Kill,
    exp.Comment,
)

# Functions that read files or the network, or reveal settings, paths or the catalog.
_FORBIDDEN_FUNCTION_PREFIXES = (
    "read_",
    "duckdb_",
    "pragma_",
    "parquet_",
    "iceberg_",
    "delta_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "http",
    "load_",
)
_FORBIDDEN_FUNCTIONS = frozenset(
    {
        "glob",
        "sniff_csv",
        "query",
        "query_table",
        "current_setting",
        "getenv",
        "current_database",
        "current_catalog",
        "which_secret",
        "checkpoint",
        "force_checkpoint",
    }
)
# Table functions allowed in FROM: they only generate values.
_ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})


@dataclass(frozen=True)
class ValidatedQuery:
    """A query that passed every check: ``sql`` is the DuckDB text to execute, unchanged."""

    sql: str
    tables: tuple[str, ...]  # logical names of the synthetic tables it reads


class TableCatalog:
    """The allow-list: logical names users type, and the physical tables they map to.

    A reference matches a table when its parts equal the trailing parts of
    ``warehouse.schema.table`` (case-insensitive, as in DuckDB), so ``people``,
    ``public.people`` and ``shop.public.people`` all work while unambiguous.
    """

    def __init__(self, tables: Iterable[StoredTable]):
        self.tables = list(tables)
        self._physical = {(t.physical_schema.lower(), t.physical_table.lower()) for t in self.tables}

    def resolve(self, parts: tuple[str, ...]) -> StoredTable:
        wanted = tuple(part.lower() for part in parts)
        matches = [t for t in self.tables if _name_parts(t)[-len(wanted) :] == wanted]
        typed = ".".join(parts)
        if not matches:
            raise QueryRefused(f"table {typed!r} is not a synthetic table in this sandbox (see /api/tables)")
        if len(matches) > 1:
            choices = ", ".join(t.logical_name for t in matches)
            raise QueryRefused(f"table name {typed!r} is ambiguous: write one of {choices}")
        return matches[0]

    def named(self, logical_name: str) -> StoredTable:
        """The table with exactly this logical name (case-insensitive)."""
        for table in self.tables:
            if table.logical_name.lower() == logical_name.lower():
                return table
        raise TableNotFound(f"no synthetic table named {logical_name!r} (see /api/tables)")

    def is_physical(self, schema: str, table: str) -> bool:
        return (schema.lower(), table.lower()) in self._physical


def _name_parts(table: StoredTable) -> tuple[str, str, str]:
    return (table.warehouse.lower(), table.schema_name.lower(), table.table_name.lower())


def validate(sql: str, catalog: TableCatalog, dialect: str = DUCKDB) -> ValidatedQuery:
    """Check ``sql`` written in ``dialect`` and return the DuckDB text to run; raise :class:`QueryRefused`."""
    statement = parse_single(sql, dialect)
    check_statement(statement)
    used = rewrite_tables(statement, catalog)
    duckdb_sql = to_duckdb(statement, dialect)
    final = parse_single(duckdb_sql, DUCKDB)
    check_statement(final)
    check_physical_tables(final, catalog)
    return ValidatedQuery(sql=duckdb_sql, tables=tuple(sorted(used)))


def parse_single(sql: str, dialect: str) -> exp.Expr:
    """Parse exactly one statement, or refuse."""
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRefused(f"the query is longer than {MAX_SQL_CHARS} characters")
    try:
        sqlglot.Dialect.get_or_raise(dialect)
    except ValueError:
        raise QueryRefused(f"unknown SQL dialect {dialect!r}") from None
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    except (ParseError, TokenError) as exc:
        from catalog_synth.serve.syntax_errors import describe_parse_error

        raise QueryRefused(f"could not parse the query as {dialect} SQL: {describe_parse_error(exc, sql)}") from None
    except RecursionError:
        raise QueryRefused("the query is nested too deeply to check") from None
    if not statements:
        raise QueryRefused("the query is empty")
    if len(statements) > 1:
        raise QueryRefused(f"send one statement at a time (found {len(statements)})")
    return statements[0]


def check_statement(statement: exp.Expr) -> None:
    """Refuse anything but a read-only query built from allowed functions."""
    if not isinstance(statement, exp.Query) or isinstance(statement, _FORBIDDEN_NODES):
        raise QueryRefused(
            "only read-only queries are allowed (SELECT, UNION/INTERSECT/EXCEPT, WITH ... SELECT): "
            f"got {_statement_kind(statement)}"
        )
    for node in statement.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise QueryRefused(f"{_statement_kind(node)} is not allowed inside a query")
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            raise QueryRefused("query parameters are not supported: write the values into the query")
        if isinstance(node, exp.Func):
            _check_function(node)


def _check_function(node: exp.Func) -> None:
    name = function_name(node)
    if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_FUNCTION_PREFIXES):
        raise QueryRefused(f"function {name}() is not allowed in the sandbox (files, network, settings or catalog)")


def function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def rewrite_tables(statement: exp.Expr, catalog: TableCatalog) -> set[str]:
    """Point every table reference at its physical table; return the logical names used."""
    used = set()
    for table in _named_tables(statement):
        stored = catalog.resolve(_reference_parts(table))
        table.set("catalog", None)
        table.set("db", exp.to_identifier(stored.physical_schema, quoted=True))
        table.set("this", exp.to_identifier(stored.physical_table, quoted=True))
        used.add(stored.logical_name)
    return used


def check_physical_tables(statement: exp.Expr, catalog: TableCatalog) -> None:
    """Second pass on the generated DuckDB text: only CTEs and physical synthetic tables remain."""
    for table in _named_tables(statement):
        if table.catalog or not catalog.is_physical(table.db, table.name):
            raise QueryRefused(f"table {'.'.join(_reference_parts(table))!r} is not a synthetic table in this sandbox")


def _named_tables(statement: exp.Expr) -> list[exp.Table]:
    """Table references that are neither CTEs nor (allowed) table functions."""
    ctes = _cte_names(statement)
    named = []
    for table in statement.find_all(exp.Table):
        if isinstance(table.this, exp.Func):
            _check_table_function(table.this)
        elif not _is_cte_reference(table, ctes):
            named.append(table)
    return named


def _check_table_function(function: exp.Func) -> None:
    """A function in FROM is allowed only when it merely generates values."""
    name = function_name(function)
    if name not in _ALLOWED_TABLE_FUNCTIONS:
        raise QueryRefused(f"table function {name}() is not allowed in the sandbox")


def _is_cte_reference(table: exp.Table, ctes: set[str]) -> bool:
    return not table.db and not table.catalog and table.name.lower() in ctes


def _cte_names(statement: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}


def _reference_parts(table: exp.Table) -> tuple[str, ...]:
    return tuple(part.name for part in table.parts)


def to_duckdb(statement: exp.Expr, dialect: str) -> str:
    """Generate DuckDB SQL, refusing what sqlglot cannot translate faithfully."""
    try:
        return _duckdb_generator().generate(statement)
    except UnsupportedError as exc:
        raise QueryRefused(f"cannot translate this {dialect} query to DuckDB: {_first_line(exc)}") from None


def _duckdb_generator() -> Generator:
    """One generator per thread: building one costs ~20 ms (sqlglot parses its templates)."""
    generator = getattr(_generators, "duckdb", None)
    if generator is None:
        generator = sqlglot.Dialect.get_or_raise(DUCKDB).generator(unsupported_level=ErrorLevel.RAISE)
        _generators.duckdb = generator
    return generator


def _statement_kind(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, _FORBIDDEN_NODES):
        return type(node).__name__.upper()
    return "another kind of statement"


def _first_line(exc: Exception) -> str:
    """The error's first line without sqlglot's terminal highlighting."""
    text = _ANSI_ESCAPE.sub("", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
