"""The test infrastructure itself: the PostgreSQL fixture and the demo warehouses."""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from postgres_server import PostgresServer

from catalog_synth.entry.demo_data import build_demo_warehouse, demo_frames

EXPECTED_PRIMARY_KEYS = {
    "people": ["id"],
    "orders": ["order_id"],
    "products": ["product_id"],
    "order_items": ["order_id", "line_no"],
}
EXPECTED_FOREIGN_KEYS = {
    ("orders", ("customer_id",), "people", ("id",)),
    ("order_items", ("order_id",), "orders", ("order_id",)),
    ("order_items", ("product_id",), "products", ("product_id",)),
}


def test_server_runs_unprivileged_with_private_socket(pg_server: PostgresServer) -> None:
    with psycopg.connect(pg_server.dsn("postgres")) as connection:
        port, socket_dir = connection.execute(
            "SELECT current_setting('port'), current_setting('unix_socket_directories')"
        ).fetchone()
    assert int(port) == pg_server.port
    assert Path(socket_dir) == pg_server.socket_dir
    assert (pg_server.socket_dir / f".s.PGSQL.{pg_server.port}").exists()
    if os.geteuid() == 0:
        assert pg_server.data_dir.stat().st_uid != 0


def test_each_test_gets_a_fresh_empty_database(pg_server: PostgresServer, pg_url: str) -> None:
    other_url = pg_server.create_database()
    assert other_url != pg_url
    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    assert sa.inspect(engine).get_table_names() == ["t"]
    assert sa.inspect(sa.create_engine(other_url)).get_table_names() == []


def test_create_database_rejects_unsafe_names(pg_server: PostgresServer) -> None:
    with pytest.raises(ValueError, match="must match"):
        pg_server.create_database('x"; DROP DATABASE postgres; --')


def test_load_frames_applies_ddl_keys(pg_url: str, load_frames) -> None:
    ddl = "CREATE TABLE visits (person_id INTEGER, day DATE, PRIMARY KEY (person_id, day))"
    frame = pd.DataFrame({"person_id": [1, 1], "day": [date(2024, 1, 1), date(2024, 1, 2)]})
    load_frames(pg_url, {"visits": frame}, ddl=ddl)
    with pytest.raises(sa.exc.IntegrityError):
        load_frames(pg_url, {"visits": frame.head(1)})


def test_demo_tables_in_postgres_declare_keys_and_types(pg_demo_url: str) -> None:
    inspector = sa.inspect(sa.create_engine(pg_demo_url))
    assert _inspected_keys(inspector) == (EXPECTED_PRIMARY_KEYS, EXPECTED_FOREIGN_KEYS)
    types = {column["name"]: column["type"].compile(sa.create_engine(pg_demo_url).dialect)
             for column in inspector.get_columns("people")}  # fmt: skip
    assert types["salary"] == "NUMERIC(12, 2)"
    assert types["birth_date"] == "DATE"
    assert types["signup_at"] == "TIMESTAMP WITHOUT TIME ZONE"
    assert types["is_active"] == "BOOLEAN"
    assert types["notes"] == "TEXT"


def test_demo_values_round_trip_through_postgres(pg_demo_url: str) -> None:
    expected = demo_frames(rows=200)["people"]
    with sa.create_engine(pg_demo_url).connect() as connection:
        stored = pd.read_sql("SELECT * FROM people ORDER BY id", connection)
        salary = connection.exec_driver_sql("SELECT salary FROM people WHERE id = 1").scalar_one()
    assert isinstance(salary, Decimal) and salary == Decimal(str(expected["salary"][0]))
    assert isinstance(stored["birth_date"][0], date) and isinstance(stored["signup_at"][0], datetime)
    pd.testing.assert_frame_equal(stored, expected, check_dtype=False)


@pytest.mark.parametrize("kind", ["duckdb", "sqlite"])
def test_build_demo_warehouse_writes_keys(tmp_path: Path, kind: str) -> None:
    url = build_demo_warehouse(tmp_path / f"shop.{kind}", kind, rows=40)
    assert url == f"{kind}:///{tmp_path / f'shop.{kind}'}"
    expected_rows = {name: len(frame) for name, frame in demo_frames(rows=40).items()}
    if kind == "duckdb":
        keys, rows = _duckdb_keys_and_rows(tmp_path / "shop.duckdb")
    else:
        engine = sa.create_engine(url)
        keys = _inspected_keys(sa.inspect(engine))
        with engine.connect() as connection:
            rows = {name: connection.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
                    for name in expected_rows}  # fmt: skip
    assert keys == (EXPECTED_PRIMARY_KEYS, EXPECTED_FOREIGN_KEYS)
    assert rows == expected_rows


def test_build_demo_warehouse_never_overwrites_by_accident(tmp_path: Path) -> None:
    target = tmp_path / "shop.sqlite"
    target.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        build_demo_warehouse(target, "sqlite", rows=20)
    assert target.read_bytes() == b"precious"
    with pytest.raises(ValueError, match="unknown warehouse kind 'mysql'"):
        build_demo_warehouse(tmp_path / "shop.db", "mysql")  # type: ignore[arg-type]


def _inspected_keys(inspector: sa.Inspector) -> tuple[dict, set]:
    names = inspector.get_table_names()
    primary = {name: inspector.get_pk_constraint(name)["constrained_columns"] for name in names}
    foreign = {
        (name, tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
        for name in names
        for fk in inspector.get_foreign_keys(name)
    }
    return primary, foreign


def _duckdb_keys_and_rows(path: Path) -> tuple[tuple[dict, set], dict[str, int]]:
    """DuckDB's own catalog: duckdb_engine's key reflection fails on DuckDB 2.0 (REGCLASS)."""
    with duckdb.connect(str(path), read_only=True) as connection:
        constraints = connection.execute(
            "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
            "referenced_column_names FROM duckdb_constraints() "
            "WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"
        ).fetchall()
        names = [name for (name,) in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        rows = {name: connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in names}
    primary = {table: list(columns) for table, kind, columns, _, _ in constraints if kind == "PRIMARY KEY"}
    foreign = {
        (table, tuple(columns), referred, tuple(referred_columns))
        for table, kind, columns, referred, referred_columns in constraints
        if kind == "FOREIGN KEY"
    }
    return (primary, foreign), rows
