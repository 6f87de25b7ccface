"""Queries in the warehouse's dialect return what their DuckDB equivalents return."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sandbox_support import (
    orders_frame,
    people_frame,
    running_server,
    sandbox_config,
    synthetic_table,
    write_store,
)

from catalog_synth.serve.app import create_app
from catalog_synth.serve.engine import QueryEngine, QueryRefused

# (dialect, query in that dialect, the same question asked in DuckDB)
EQUIVALENTS = [
    (
        "postgres",
        "SELECT city, COUNT(*)::int AS n FROM public.people GROUP BY city ORDER BY city",
        "SELECT city, CAST(count(*) AS INTEGER) AS n FROM public.people GROUP BY city ORDER BY city",
    ),
    (
        "postgres",
        "SELECT id, name FROM people WHERE name ~ '^person-0000[1-3]$' ORDER BY id",
        "SELECT id, name FROM people WHERE regexp_matches(name, '^person-0000[1-3]$') ORDER BY id",
    ),
    (
        "postgres",
        "SELECT date_trunc('month', signup) AS month, count(*) FROM people GROUP BY 1 ORDER BY 1",
        "SELECT date_trunc('month', signup) AS month, count(*) FROM people GROUP BY 1 ORDER BY 1",
    ),
    (
        "postgres",
        "SELECT string_agg(city, ',' ORDER BY city) FROM (SELECT DISTINCT city FROM people) AS cities",
        "SELECT string_agg(city, ',' ORDER BY city) FROM (SELECT DISTINCT city FROM people) AS cities",
    ),
    (
        "postgres",
        "SELECT id, age FROM people ORDER BY age DESC, id LIMIT 5 OFFSET 2",
        "SELECT id, age FROM people ORDER BY age DESC, id LIMIT 5 OFFSET 2",
    ),
    (
        "snowflake",
        "SELECT IFF(age >= 50, 'senior', 'junior') AS band, COUNT(*) AS n FROM PUBLIC.PEOPLE "
        "GROUP BY band ORDER BY band",
        "SELECT CASE WHEN age >= 50 THEN 'senior' ELSE 'junior' END AS band, count(*) AS n "
        "FROM people GROUP BY band ORDER BY band",
    ),
    (
        "snowflake",
        "SELECT id, DATEADD(day, 7, signup) AS later FROM people WHERE id <= 3 ORDER BY id",
        "SELECT id, signup + INTERVAL 7 DAY AS later FROM people WHERE id <= 3 ORDER BY id",
    ),
    (
        "snowflake",
        "SELECT id, city FROM people QUALIFY ROW_NUMBER() OVER (PARTITION BY city ORDER BY id) = 1 ORDER BY id",
        "SELECT id, city FROM (SELECT id, city, row_number() OVER (PARTITION BY city ORDER BY id) AS r "
        "FROM people) AS ranked WHERE r = 1 ORDER BY id",
    ),
    (
        "snowflake",
        "SELECT city, ZEROIFNULL(SUM(IFF(age > 200, 1, NULL))) AS n FROM people GROUP BY city ORDER BY city",
        "SELECT city, coalesce(sum(CASE WHEN age > 200 THEN 1 END), 0) AS n FROM people GROUP BY city ORDER BY city",
    ),
    (
        "snowflake",
        "SELECT id, DATEDIFF(day, '2024-01-01'::date, signup::date) AS days FROM people WHERE id <= 3 ORDER BY id",
        "SELECT id, date_diff('day', DATE '2024-01-01', CAST(signup AS DATE)) AS days FROM people "
        "WHERE id <= 3 ORDER BY id",
    ),
    (
        "bigquery",
        "SELECT COUNTIF(age > 40) AS n FROM `public.people`",
        "SELECT count(*) FILTER (WHERE age > 40) AS n FROM people",
    ),
    (
        "bigquery",
        "SELECT IF(age > 50, 'old', 'young') AS g, COUNT(*) AS n FROM public.people GROUP BY g ORDER BY g",
        "SELECT CASE WHEN age > 50 THEN 'old' ELSE 'young' END AS g, count(*) AS n FROM people GROUP BY g ORDER BY g",
    ),
    (
        "bigquery",
        "SELECT SAFE_DIVIDE(SUM(amount), COUNT(*)) AS mean, SAFE_DIVIDE(1, 0) AS undefined FROM public.orders",
        "SELECT sum(amount) / count(*) AS mean, NULL AS undefined FROM orders",
    ),
    (
        "bigquery",
        "SELECT FORMAT_DATE('%Y-%m', DATE(signup)) AS ym, COUNT(*) AS n FROM public.people GROUP BY ym ORDER BY ym",
        "SELECT strftime(CAST(signup AS DATE), '%Y-%m') AS ym, count(*) AS n FROM people GROUP BY ym ORDER BY ym",
    ),
    (
        "bigquery",
        "SELECT p.city, ROUND(SUM(o.amount), 2) AS spent FROM `public.orders` AS o "
        "JOIN `public.people` AS p ON p.id = o.person_id GROUP BY p.city ORDER BY p.city",
        "SELECT p.city, round(sum(o.amount), 2) AS spent FROM orders AS o "
        "JOIN people AS p ON p.id = o.person_id GROUP BY p.city ORDER BY p.city",
    ),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dialects") / "store.duckdb"
    tables = [
        synthetic_table("public", "people", people_frame(150)),
        synthetic_table("public", "orders", orders_frame(500, 150)),
    ]
    write_store(path, tables)
    return path


@pytest.fixture(scope="module")
def engine(store: Path) -> QueryEngine:
    engine = QueryEngine(store, sandbox_config(store).sandbox)
    yield engine
    engine.close()


@pytest.mark.parametrize(
    ("dialect", "sql", "duckdb_sql"), EQUIVALENTS, ids=[f"{d}-{i}" for i, (d, _, _) in enumerate(EQUIVALENTS)]
)
def test_dialect_query_matches_its_duckdb_equivalent(
    engine: QueryEngine, dialect: str, sql: str, duckdb_sql: str
) -> None:
    translated = engine.run(sql, dialect=dialect)
    native = engine.run(duckdb_sql, dialect="duckdb")
    assert translated.rows == native.rows
    assert translated.row_count > 0


def test_each_dialect_is_covered() -> None:
    assert {"postgres", "snowflake", "bigquery"} <= {dialect for dialect, _, _ in EQUIVALENTS}


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("snowflake", "SELECT SOUNDEX(name) FROM people"),
        ("postgres", "SELECT * FROM people FOR UPDATE"),
    ],
)
def test_untranslatable_construct_is_refused_not_rewritten(engine: QueryEngine, dialect: str, sql: str) -> None:
    with pytest.raises(QueryRefused, match=f"cannot translate this {dialect} query to DuckDB"):
        engine.run(sql, dialect=dialect)


def test_untranslatable_construct_over_http(store: Path) -> None:
    with running_server(create_app(sandbox_config(store))) as base_url:
        response = httpx.post(
            base_url + "/api/query", json={"sql": "SELECT SOUNDEX(name) FROM people", "dialect": "snowflake"}
        )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "kind": "refused",
        "message": "cannot translate this snowflake query to DuckDB: SOUNDEX is not supported in DuckDB",
    }
