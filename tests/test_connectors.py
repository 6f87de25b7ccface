"""The SQLAlchemy connector on real PostgreSQL, SQLite and DuckDB databases."""

from __future__ import annotations

import sqlite3
from importlib.metadata import entry_points
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from catalog_synth.core.types import ColumnInfo, ColumnKind, TableRef
from connectors import ConnectorError, TableVanished, connector_factory, open_connector
from connectors.sql_types import kind_from_type_name
from connectors.sqlalchemy import DuckDBConnector, SQLAlchemyConnector

PG_DDL = """
CREATE SCHEMA sales;
CREATE TABLE public.customers (
    id integer PRIMARY KEY, name text NOT NULL, balance numeric(12,2), born date,
    seen_at timestamp, active boolean, ref uuid, profile jsonb, tags text[],
    photo bytea, wait interval, spot point, "größe" real, "order" text
);
CREATE TABLE sales.orders (
    order_id bigint PRIMARY KEY, customer_id integer REFERENCES public.customers(id), amount numeric(10,2)
);
CREATE TABLE public.tmp_scratch (x int);
INSERT INTO public.tmp_scratch VALUES (1), (2);
INSERT INTO public.customers (id, name, balance, born, "order")
    SELECT i, 'name ' || i, i * 1.25, date '1990-01-01' + i, 'o' FROM generate_series(1, 500) i;
INSERT INTO sales.orders SELECT i, 1 + mod(i, 500), i * 0.5 FROM generate_series(1, 1500) i;
"""


@pytest.fixture
def pg_connector(pg_url: str):
    engine = sa.create_engine(pg_url)
    with engine.begin() as con:
        con.exec_driver_sql(PG_DDL)
    engine.dispose()
    with open_connector("shop", "sqlalchemy", pg_url) as connector:
        yield connector


@pytest.fixture
def sqlite_connector(tmp_path: Path):
    path = tmp_path / "w.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE "select" (id INTEGER PRIMARY KEY, "naïve col" TEXT, amount DECIMAL(8,2), day DATE, flag BOOLEAN);
        CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES "select"(id), payload BLOB);
        """
    )
    con.executemany('INSERT INTO "select" VALUES (?, ?, ?, ?, ?)', [(i, f"v{i}", i / 4, "2024-01-02", i % 2) for i in range(300)])
    con.commit()
    con.close()
    with open_connector("files", "sqlalchemy", f"sqlite:///{path}") as connector:
        yield connector


@pytest.fixture
def duckdb_connector(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, salary DECIMAL(10,2), born DATE,"
        " ts TIMESTAMP, ok BOOLEAN, u UUID, j JSON, b BLOB, arr INTEGER[], f DOUBLE)"
    )
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, person_id INTEGER REFERENCES people(id))")
    con.execute("INSERT INTO people SELECT i, 'n' || i, i * 1.5, DATE '2000-01-01' + i::INT, now(), i % 2 = 0,"
                " uuid(), '{}', 'ab'::BLOB, [1, 2], i / 3 FROM range(5000) t(i)")
    con.close()
    with open_connector("lake", "sqlalchemy", f"duckdb:///{path}") as connector:
        yield connector


def test_connector_registered_as_entry_point() -> None:
    names = {ep.name for ep in entry_points(group="catalog_synth.connectors")}
    assert "sqlalchemy" in names
    with pytest.raises(ConnectorError, match="unknown connector 'nope'"):
        connector_factory("nope")


def test_postgres_lists_with_include_and_exclude(pg_connector: SQLAlchemyConnector) -> None:
    refs = pg_connector.list_tables(["public.*", "sales.*"], ["public.tmp_*"])
    assert [r.qualified for r in refs] == ["public.customers", "sales.orders"]
    assert pg_connector.platform == "postgres" and pg_connector.dialect == "postgres"


def test_postgres_describe_types_keys_and_counts(pg_connector: SQLAlchemyConnector) -> None:
    info = pg_connector.describe(TableRef("shop", "public", "customers"))
    kinds = {c.name: c.kind for c in info.columns}
    assert kinds["id"] is ColumnKind.INTEGER
    assert kinds["balance"] is ColumnKind.DECIMAL and info.column("balance").scale == 2
    assert kinds["born"] is ColumnKind.DATE and kinds["seen_at"] is ColumnKind.DATETIME
    assert kinds["active"] is ColumnKind.BOOLEAN and kinds["ref"] is ColumnKind.UUID
    assert kinds["größe"] is ColumnKind.FLOAT and kinds["order"] is ColumnKind.STRING
    for unsupported in ("profile", "tags", "photo", "wait", "spot"):
        assert kinds[unsupported] is ColumnKind.UNSUPPORTED, unsupported
        assert info.column(unsupported).unsupported_reason
    assert info.column("name").nullable is False and info.column("balance").nullable is True
    assert info.primary_key == ("id",) and info.row_count == 500

    orders = pg_connector.describe(TableRef("shop", "sales", "orders"))
    (fk,) = orders.foreign_keys
    assert fk.columns == ("customer_id",) and fk.referred == TableRef("shop", "public", "customers")


def test_postgres_sample_is_bounded_random_and_skips_unsupported(pg_connector: SQLAlchemyConnector) -> None:
    info = pg_connector.describe(TableRef("shop", "sales", "orders"))
    first = pg_connector.sample(info, 100)
    second = pg_connector.sample(info, 100)
    assert len(first) == 100 and list(first.columns) == ["order_id", "customer_id", "amount"]
    assert set(first["order_id"]) != set(second["order_id"])  # random, not the first 100 rows
    customers = pg_connector.describe(TableRef("shop", "public", "customers"))
    assert "profile" not in pg_connector.sample(customers, 10).columns


def test_postgres_vanished_table(pg_connector: SQLAlchemyConnector, pg_url: str) -> None:
    ref = TableRef("shop", "public", "tmp_scratch")
    info = pg_connector.describe(ref)
    engine = sa.create_engine(pg_url)
    with engine.begin() as con:
        con.exec_driver_sql("DROP TABLE public.tmp_scratch")
    engine.dispose()
    with pytest.raises(TableVanished):
        pg_connector.describe(ref)
    with pytest.raises(TableVanished):
        pg_connector.sample(info, 5)


def test_sqlite_reserved_word_and_non_ascii(sqlite_connector: SQLAlchemyConnector) -> None:
    refs = sqlite_connector.list_tables(["*.*"], [])
    assert [r.qualified for r in refs] == ["main.child", "main.select"]
    info = sqlite_connector.describe(TableRef("files", "main", "select"))
    assert [c.name for c in info.columns] == ["id", "naïve col", "amount", "day", "flag"]
    assert info.column("amount").kind is ColumnKind.DECIMAL
    sample = sqlite_connector.sample(info, 50)
    assert len(sample) == 50 and "naïve col" in sample.columns
    child = sqlite_connector.describe(TableRef("files", "main", "child"))
    assert child.foreign_keys[0].referred.name == "select"
    assert child.column("payload").kind is ColumnKind.UNSUPPORTED


def test_duckdb_describe_and_reservoir_sample(duckdb_connector: DuckDBConnector) -> None:
    assert isinstance(duckdb_connector, DuckDBConnector)
    assert [r.qualified for r in duckdb_connector.list_tables(["main.*"], [])] == ["main.orders", "main.people"]
    info = duckdb_connector.describe(TableRef("lake", "main", "people"))
    kinds = {c.name: c.kind for c in info.columns}
    assert kinds["u"] is ColumnKind.UUID and kinds["salary"] is ColumnKind.DECIMAL
    assert {k for k, v in kinds.items() if v is ColumnKind.UNSUPPORTED} == {"j", "b", "arr"}
    assert info.primary_key == ("id",) and info.row_count == 5000
    orders = duckdb_connector.describe(TableRef("lake", "main", "orders"))
    assert orders.foreign_keys[0].referred_columns == ("id",)
    sample = duckdb_connector.sample(info, 200)
    assert len(sample) == 200 and sample["id"].is_unique
    assert sample["id"].max() > 200  # drawn from the whole table, not its head


def test_a_seed_draws_the_same_sample_every_run(duckdb_connector: DuckDBConnector, pg_connector: SQLAlchemyConnector) -> None:
    for connector, ref in ((duckdb_connector, TableRef("lake", "main", "people")),
                           (pg_connector, TableRef("shop", "sales", "orders"))):  # fmt: skip
        info = connector.describe(ref)
        ids = [list(connector.sample(info, 50, seed=9).iloc[:, 0]) for _ in range(2)]
        assert ids[0] == ids[1]
        assert ids[0] != list(connector.sample(info, 50, seed=10).iloc[:, 0])


def test_duckdb_source_opens_read_only(duckdb_connector: DuckDBConnector, tmp_path: Path) -> None:
    duckdb_connector.list_tables(["*.*"], [])
    other = open_connector("lake", "sqlalchemy", f"duckdb:///{tmp_path / 'w.duckdb'}")
    assert other.list_tables(["*.*"], [])  # a second reader is not locked out
    other.close()


def test_unreachable_warehouse_error_hides_password() -> None:
    connector = open_connector("x", "sqlalchemy", "postgresql+psycopg://u:hunter2@127.0.0.1:1/db")
    with pytest.raises(ConnectorError) as caught:
        connector.list_tables(["*.*"], [])
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("DECIMAL(12,2)", ColumnKind.DECIMAL),
        ("HUGEINT", ColumnKind.INTEGER),
        ("UBIGINT", ColumnKind.INTEGER),
        ("TIMESTAMP WITH TIME ZONE", ColumnKind.DATETIME),
        ("VARCHAR", ColumnKind.STRING),
        ("STRUCT(a INTEGER)", ColumnKind.UNSUPPORTED),
        ("MAP(VARCHAR, INTEGER)", ColumnKind.UNSUPPORTED),
        ("TIME", ColumnKind.UNSUPPORTED),
        ("INTERVAL", ColumnKind.UNSUPPORTED),
    ],
)
def test_type_names(text: str, kind: ColumnKind) -> None:
    assert kind_from_type_name(text)[0] is kind


def test_describe_many_matches_describe_and_reports_vanished_tables(
    pg_connector: SQLAlchemyConnector, sqlite_connector: SQLAlchemyConnector, duckdb_connector: DuckDBConnector
) -> None:
    """Planning describes every table in a few batched catalog queries; the answers are describe's."""
    for connector, schemas in ((pg_connector, ["public", "sales"]), (sqlite_connector, ["main"]),
                               (duckdb_connector, ["main"])):  # fmt: skip
        refs = connector.list_tables(["*.*"], [])
        gone = TableRef(connector.name, schemas[0], "no_such_table")
        described = connector.describe_many([*refs, gone])
        assert {ref: described[ref] for ref in refs} == {ref: connector.describe(ref) for ref in refs}
        assert isinstance(described[gone], TableVanished)


def test_change_markers_in_one_call_match_each_table_alone(pg_connector: SQLAlchemyConnector) -> None:
    refs = pg_connector.list_tables(["*.*"], [])
    infos = [pg_connector.describe(ref) for ref in refs]
    watermarks = {"public.customers": "born", "sales.orders": "no_such_column"}
    markers = pg_connector.change_markers(infos, watermarks)
    assert markers[refs[0]] == pg_connector.change_marker(infos[0], "born")
    assert "stats=(" in markers[refs[0]] and "watermark=" in markers[refs[0]]
    assert isinstance(markers[TableRef("shop", "sales", "orders")], ConnectorError)
    assert markers[TableRef("shop", "public", "tmp_scratch")] == pg_connector.change_marker(infos[1])


def test_a_missing_driver_names_the_extra_that_installs_it() -> None:
    connector = open_connector("lake", "sqlalchemy", "snowflake://user:hunter2@account/db")
    with pytest.raises(ConnectorError) as raised:
        connector.list_tables(["*.*"], [])
    message = str(raised.value)
    assert message.startswith("warehouse 'lake': the snowflake driver is not installed")
    assert "pip install 'catalog-synth[snowflake]'" in message and "hunter2" not in message


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_a_database_file_that_is_not_there_is_an_error_naming_it_and_never_created(
    tmp_path: Path, backend: str
) -> None:
    missing = tmp_path / f"warehouse.{backend}"
    with pytest.raises(ConnectorError, match=f"{backend} database file {missing} does not exist"):
        open_connector("w", "sqlalchemy", f"{backend}:///{missing}").list_tables(["*.*"], [])
    assert not missing.exists()
    with pytest.raises(ConnectorError, match=f"{backend} database path {tmp_path} is not a file"):
        open_connector("w", "sqlalchemy", f"{backend}:///{tmp_path}").list_tables(["*.*"], [])


def test_char_padding_is_trimmed_on_read_and_lengths_and_enum_labels_are_described(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as con:
        con.exec_driver_sql("CREATE TYPE tier AS ENUM ('gold', 'silver')")
        con.exec_driver_sql("CREATE TABLE seg (id int PRIMARY KEY, seg char(10), label varchar(12), t tier)")
        con.exec_driver_sql("INSERT INTO seg VALUES (1, 'BUILDING', 'a', 'gold'), (2, 'AUTO', 'b', 'silver')")
    engine.dispose()
    connector = open_connector("w", "sqlalchemy", pg_url)
    info = connector.describe(TableRef("w", "public", "seg"))
    seg, label, tier = (info.column(name) for name in ("seg", "label", "t"))
    assert (seg.padded, seg.length, label.padded, label.length) == (True, 10, False, 12)
    assert tier.labels == ("gold", "silver") and tier.kind is ColumnKind.STRING
    assert sorted(connector.sample(info, 10)["seg"]) == ["AUTO", "BUILDING"]
    connector.close()


def test_count_values_counts_rows_holding_each_value(pg_connector, sqlite_connector) -> None:  # noqa: ANN001
    """Text ignoring case and spaces, whole numbers given as floats; values no row holds are absent
    (PostgreSQL asks with one array parameter, SQLite with IN lists)."""
    customers = TableRef("shop", "public", "customers")
    texts = ColumnInfo("name", "text", ColumnKind.STRING)
    numbers = ColumnInfo("id", "integer", ColumnKind.INTEGER)
    assert pg_connector.count_values(customers, texts, [" NAME  7", "name 8", "nobody", "name 7"]) == {"name7": 1, "name8": 1}
    many = [float(i) for i in range(490, 2490)] + [12.5]
    assert pg_connector.count_values(customers, numbers, many) == {i: 1 for i in range(490, 501)}
    selected = TableRef("files", "main", "select")
    label = ColumnInfo("naïve col", "TEXT", ColumnKind.STRING)
    assert sqlite_connector.count_values(selected, label, ["V1", "v 2", "v999"] * 300) == {"v1": 1, "v2": 1}
    key = ColumnInfo("id", "INTEGER", ColumnKind.INTEGER)
    assert sqlite_connector.count_values(selected, key, [float(i) for i in range(250, 1250)]) == {i: 1 for i in range(250, 300)}
