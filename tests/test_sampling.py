"""Sampling pushdown: the SQL per dialect, and a bounded read of a 3-million-row PostgreSQL table.

Dialects we cannot run here are checked by parsing the generated SQL with sqlglot
in that dialect; identifiers are quoted by the SQLAlchemy dialect where its package
is installed (PostgreSQL, MySQL, MariaDB, SQL Server, Oracle, SQLite, DuckDB), and
by sqlglot's rules for the dialect otherwise.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
import sqlglot
from sqlalchemy import exc as sa_exc
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from catalog_synth.core.types import TableRef
from connectors import open_connector
from connectors.sampling import (
    SMALL_TABLE_ROWS,
    SampleTarget,
    sample_percent,
    sample_statements,
)
from connectors.sqlalchemy import SQLAlchemyConnector

# SQLAlchemy dialect name -> sqlglot dialect
SQLGLOT = {
    "postgresql": "postgres",
    "redshift": "redshift",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "trino": "trino",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "mysql": "mysql",
    "mariadb": "mysql",
    "databricks": "databricks",
    "mssql": "tsql",
    "oracle": "oracle",
}
# The first statement for a large table: a sampling clause (sqlglot TableSample), or a filter.
BLOCK_SAMPLED = {"postgresql", "trino", "bigquery", "mssql", "databricks", "oracle", "snowflake", "duckdb"}
FILTERED = {"mysql", "mariadb"}
COLUMNS = ("id", "Größe", "order", 'we"ird', "Mixed Case")
ROWS = 2000
BIG_ROWS = 3_000_000


def quoter(dialect: str) -> Callable[[str], str]:
    """The SQLAlchemy dialect's quoting where its package is installed, else sqlglot's for the dialect."""
    try:
        return sa.engine.make_url(f"{dialect}://").get_dialect()().identifier_preparer.quote
    except sa_exc.NoSuchModuleError:
        return lambda name: exp.to_identifier(name, quoted=True).sql(dialect=SQLGLOT[dialect])


def parse(dialect: str, sql: str) -> exp.Select:
    tree = sqlglot.parse_one(sql, read=SQLGLOT[dialect], error_level=ErrorLevel.RAISE)
    assert isinstance(tree, exp.Select), sql
    return tree


def row_cap(tree: exp.Select) -> int | None:
    """LIMIT n / TOP (n) / FETCH FIRST n, or a sample of n ROWS; None when uncapped."""
    for node_type, arg in ((exp.Limit, "expression"), (exp.Fetch, "count"), (exp.TableSample, "size")):
        node = tree.find(node_type)
        if node is not None and node.args.get(arg) is not None:
            return int(node.args[arg].name)
    return None


@pytest.mark.parametrize("dialect", sorted(SQLGLOT))
def test_large_table_is_sampled_in_the_warehouse_and_capped(dialect: str) -> None:
    target = SampleTarget(dialect, "sales", "Order Lines", COLUMNS, quoter(dialect))
    statements = sample_statements(target, ROWS, 40_000_000)
    for sql in statements:
        tree = parse(dialect, sql)
        assert [c.name for c in tree.expressions] == list(COLUMNS), sql
        table = tree.find(exp.Table)
        assert (table.db, table.name) == ("sales", "Order Lines"), sql
        assert row_cap(tree) == ROWS, sql
    first = parse(dialect, statements[0])
    assert (first.find(exp.TableSample) is not None) == (dialect in BLOCK_SAMPLED), statements[0]
    assert (first.find(exp.Where) is not None) == (dialect in FILTERED), statements[0]
    if dialect != "duckdb":  # reservoir sampling is exact; the others end with the exact fallback
        last = parse(dialect, statements[-1])
        assert last.find(exp.TableSample) is None and last.find(exp.Order) is not None


@pytest.mark.parametrize("dialect", ["postgresql", "mssql", "mysql", "bigquery", "oracle"])
def test_mid_sized_and_small_tables(dialect: str) -> None:
    target = SampleTarget(dialect, None, "t", ("a",), quoter(dialect))
    (mid,) = sample_statements(target, ROWS, SMALL_TABLE_ROWS)  # sorting 100k rows beats block sampling
    tree = parse(dialect, mid)
    assert tree.find(exp.TableSample) is None and tree.find(exp.Order) is not None and row_cap(tree) == ROWS
    (small,) = sample_statements(target, ROWS, ROWS)  # the whole table is the sample
    assert row_cap(parse(dialect, small)) is None


def test_postgres_switches_to_page_sampling_for_huge_tables() -> None:
    target = SampleTarget("postgresql", "public", "t", ("a",), quoter("postgresql"))
    assert "TABLESAMPLE BERNOULLI" in sample_statements(target, ROWS, 3_000_000)[0]
    assert "TABLESAMPLE SYSTEM" in sample_statements(target, ROWS, 50_000_000)[0]


def test_sample_percent_has_head_room_and_never_underflows() -> None:
    assert sample_percent(2000, 2_000_000) == pytest.approx(0.15)
    assert sample_percent(2000, 1000) == 100.0
    target = SampleTarget("bigquery", None, "t", ("a",), quoter("bigquery"))
    sql = sample_statements(target, ROWS, 10**15)[0]
    assert "0.000001 PERCENT" in sql and "e-" not in sql


# -- a real 3-million-row table ----------------------------------------------------------
@pytest.fixture(scope="module")
def big_url(pg_server) -> str:
    url = pg_server.create_database()
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.exec_driver_sql(
            "CREATE UNLOGGED TABLE public.events AS SELECT i AS id, mod(i, 997) AS kind, random() * 1000"
            f" AS amount FROM generate_series(1, {BIG_ROWS}) AS i"
        )
        con.exec_driver_sql("ANALYZE public.events")  # sets pg_class.reltuples
    engine.dispose()
    return url


@pytest.fixture
def big_connector(big_url: str) -> Iterator[SQLAlchemyConnector]:
    with open_connector("big", "sqlalchemy", big_url) as connector:
        yield connector


def rows_fetched(connector: SQLAlchemyConnector) -> list[int]:
    """Rows each statement on ``events`` sent to Python, as the driver counted them."""
    counts: list[int] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if "events" in statement and statement.lstrip().upper().startswith("SELECT"):
            counts.append(cursor.rowcount)

    sa.event.listen(connector.engine, "after_cursor_execute", record)
    return counts


def test_sample_of_3m_rows_reads_only_the_sample(big_connector: SQLAlchemyConnector) -> None:
    info = big_connector.describe(TableRef("big", "public", "events"))
    assert info.row_count_estimated and info.row_count == pytest.approx(BIG_ROWS, rel=0.01)
    fetched = rows_fetched(big_connector)
    tracemalloc.start()
    try:
        sample = big_connector.sample(info, ROWS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(sample) == ROWS and sample["id"].is_unique
    assert fetched == [ROWS]  # one statement, 2,000 rows over the wire, not 3 million
    assert sample["id"].max() > BIG_ROWS // 2  # drawn from the whole table, not its head
    # Reading the whole table would hold >= 72 MB of values (3 numeric columns x 8 bytes x 3M rows).
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_stale_statistics_fall_back_to_an_exact_bounded_draw(big_url: str, big_connector: SQLAlchemyConnector) -> None:
    """Statistics claiming 300M rows make page sampling come back short; the exact draw still caps the rows."""
    engine = sa.create_engine(big_url)
    try:
        with engine.begin() as con:
            con.exec_driver_sql("UPDATE pg_class SET reltuples = 3e8 WHERE relname = 'events'")
        info = big_connector.describe(TableRef("big", "public", "events"))
        assert info.row_count == 300_000_000
        fetched = rows_fetched(big_connector)
        sample = big_connector.sample(info, ROWS)
        assert len(sample) == ROWS and sample["id"].is_unique
        assert len(fetched) == 2 and fetched[0] < ROWS and fetched[1] == ROWS
    finally:
        with engine.begin() as con:
            con.exec_driver_sql("ANALYZE public.events")
        engine.dispose()


@pytest.mark.parametrize("kind", ["postgres", "sqlite", "duckdb"])
def test_names_with_percent_and_colon_sample_on_real_databases(kind: str, pg_url: str, tmp_path) -> None:
    url = {"postgres": pg_url, "sqlite": f"sqlite:///{tmp_path / 'w.sqlite'}", "duckdb": f"duckdb:///{tmp_path / 'w.duckdb'}"}[kind]
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.execute(sa.text('CREATE TABLE "odd:name" ("growth %" INTEGER, "a\\:b" INTEGER)'))
        con.execute(sa.text('INSERT INTO "odd:name" VALUES (1, 2), (3, 4), (5, 6)'))
    engine.dispose()
    with open_connector("w", "sqlalchemy", url) as connector:
        (ref,) = connector.list_tables(["*.*"], [])
        info = connector.describe(ref)
        sample = connector.sample(info, 2)
    assert list(sample.columns) == ["growth %", "a:b"] and len(sample) == 2
