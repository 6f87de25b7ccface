"""The sandbox validator: one read-only query, allow-listed tables, rewritten to physical names."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from catalog_synth.serve.errors import QueryRefused
from catalog_synth.serve.validator import MAX_SQL_CHARS, TableCatalog, validate
from catalog_synth.store.copies import StoredTable


def stored(warehouse: str, schema: str, table: str, *, multi: bool = False) -> StoredTable:
    logical = f"{warehouse}.{schema}.{table}" if multi else f"{schema}.{table}"
    physical_schema = f"{warehouse}__{schema}" if multi else schema
    return StoredTable(
        logical_name=logical,
        warehouse=warehouse,
        schema_name=schema,
        table_name=table,
        physical_schema=physical_schema,
        physical_table=table,
        dialect="postgres",
        row_count=10,
        preview_rows=5,
        columns=[],
        classes={},
        dropped_columns={},
        quality=None,
        gate=None,
        fingerprint=None,
        synced_at=datetime.now(timezone.utc),
    )


SINGLE = TableCatalog(
    [stored("wh", "public", "people"), stored("wh", "public", "orders"), stored("wh", "sales", "orders")]
)
MULTI = TableCatalog(
    [
        stored("shop", "public", "people", multi=True),
        stored("crm", "public", "people", multi=True),
        stored("crm", "public", "accounts", multi=True),
    ]
)


def test_single_warehouse_names_are_physical_names() -> None:
    query = validate("SELECT p.name FROM public.people p WHERE p.id = 1", SINGLE)
    assert query.sql == 'SELECT p.name FROM "public"."people" AS p WHERE p.id = 1'
    assert query.tables == ("public.people",)


def test_bare_table_name_resolves_when_unambiguous() -> None:
    assert validate("SELECT * FROM PEOPLE", SINGLE).sql == 'SELECT * FROM "public"."people"'
    with pytest.raises(QueryRefused, match="ambiguous: write one of public.orders, sales.orders"):
        validate("SELECT * FROM orders", SINGLE)


def test_several_warehouses_map_logical_names_to_their_schemas() -> None:
    query = validate("SELECT * FROM shop.public.people s JOIN accounts a ON a.id = s.id", MULTI)
    assert query.sql == 'SELECT * FROM "shop__public"."people" AS s JOIN "crm__public"."accounts" AS a ON a.id = s.id'
    assert query.tables == ("crm.public.accounts", "shop.public.people")
    with pytest.raises(QueryRefused, match="ambiguous"):
        validate("SELECT * FROM public.people", MULTI)


def test_physical_names_of_other_warehouses_are_not_logical_names() -> None:
    with pytest.raises(QueryRefused, match="not a synthetic table"):
        validate("SELECT * FROM shop__public.people", MULTI)


def test_ctes_set_operations_and_subqueries_are_accepted() -> None:
    sql = (
        "WITH young AS (SELECT * FROM people WHERE age < 30) "
        "SELECT name FROM young UNION ALL SELECT name FROM (SELECT name FROM public.people) AS s"
    )
    query = validate(sql, SINGLE)
    assert query.sql.count('"public"."people"') == 2
    assert "FROM young" in query.sql


def test_a_cte_cannot_hide_a_table_that_is_not_allowed() -> None:
    with pytest.raises(QueryRefused, match="'_catalog_synth.tables' is not a synthetic table"):
        validate("WITH tables AS (SELECT 1) SELECT * FROM _catalog_synth.tables", SINGLE)


def test_value_generating_table_functions_are_allowed() -> None:
    assert validate("SELECT * FROM range(3)", SINGLE).tables == ()
    assert validate("SELECT * FROM generate_series(1, 3)", SINGLE).tables == ()


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DELETE FROM people", "got DELETE"),
        ("WITH d AS (DELETE FROM people RETURNING *) SELECT * FROM d", "DELETE is not allowed inside a query"),
        ("SELECT * INTO copy FROM people", "INTO is not allowed"),
        ("SELECT 1; SELECT 2", "one statement at a time"),
        ("SELECT * FROM read_csv('/etc/passwd')", r"read_csv\(\) is not allowed"),
        ("SELECT * FROM duckdb_settings()", r"duckdb_settings\(\) is not allowed"),
        ("SELECT current_setting('temp_directory')", r"current_setting\(\) is not allowed"),
        ("SELECT * FROM '/etc/passwd'", "'/etc/passwd' is not a synthetic table"),
        ("SELECT * FROM people WHERE id = ?", "parameters are not supported"),
        ("SELECT 1 +", "could not parse"),
        ("", "empty"),
        ("SELECT " + "(" * 2000 + "1" + ")" * 2000, "nested too deeply"),
        ("SELECT '" + "x" * MAX_SQL_CHARS + "'", "longer than"),
    ],
)
def test_refusals_say_why(sql: str, reason: str) -> None:
    with pytest.raises(QueryRefused, match=reason):
        validate(sql, SINGLE)


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(QueryRefused, match="unknown SQL dialect 'postgresish'"):
        validate("SELECT 1", SINGLE, "postgresish")


def test_transpiled_text_is_checked_again() -> None:
    # A Postgres query becomes DuckDB text; the text that runs is the one that was re-parsed.
    query = validate("SELECT name::text FROM people WHERE name ILIKE 'a%' LIMIT 2", SINGLE, "postgres")
    assert query.sql == "SELECT CAST(name AS TEXT) FROM \"public\".\"people\" WHERE name ILIKE 'a%' LIMIT 2"
    assert validate(query.sql, TableCatalog(SINGLE.tables)).sql == query.sql
