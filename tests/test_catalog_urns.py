"""URN and fieldPath parity with DataHub's own sources.

PostgreSQL and SQLite: DataHub's real ``postgres`` and ``sqlalchemy`` sources ingest
the same database as our connector describes, and every URN and fieldPath must
match. DuckDB: DataHub's generic source cannot ingest DuckDB 2.0 files (its
constraint reflection fails on ``REGCLASS``), so its naming code
(``get_identifier`` over a real inspector) is compared instead.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import psycopg
import pytest
import sqlalchemy as sa
from datahub.emitter.mce_builder import make_dataset_urn_with_platform_instance
from datahub_ingest import field_paths, postgres_source, run_pipeline
from postgres_server import PostgresServer
from sqlalchemy.engine import make_url

from catalog_synth.core.config import WarehouseConfig
from catalog_synth.core.types import TableRef
from catalog_synth.publish.urns import DatasetLocation, UrnError
from connectors import open_connector

MIXED_CASE_DDL = """
CREATE TABLE public.people (id integer PRIMARY KEY, "FullName" text, email text);
CREATE SCHEMA "Sales";
CREATE TABLE "Sales"."Order Lines" ("LineId" integer PRIMARY KEY, "Amount Due" numeric(10,2), note text);
"""


@pytest.fixture(scope="module")
def pg_mixed_url(pg_server: PostgresServer) -> str:
    url = pg_server.create_database()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(MIXED_CASE_DDL)
    return url


def ours(url: str, **naming: object) -> dict[str, list[str]]:
    """URN -> fieldPaths as catalog-synth names every table the connector lists."""
    warehouse = WarehouseConfig(name="wh", url=url, **naming)
    with open_connector("wh", "sqlalchemy", url) as connector:
        location = DatasetLocation(connector.platform, connector.database, warehouse)
        return {
            location.dataset_urn(ref): [location.field_path(c.name) for c in connector.describe(ref).columns]
            for ref in connector.list_tables(["*.*"], [])
        }


def test_postgres_urns_and_field_paths_match_datahubs_postgres_source(pg_mixed_url: str, tmp_path: Path) -> None:
    theirs = field_paths(run_pipeline(postgres_source(pg_mixed_url), tmp_path / "datahub.json"))
    assert len(theirs) == 2
    assert ours(pg_mixed_url) == theirs


def test_postgres_parity_with_instance_env_and_lowercase(pg_mixed_url: str, tmp_path: Path) -> None:
    naming = {"platform_instance": "EU_Main", "env": "DEV", "convert_urns_to_lowercase": True}
    theirs = field_paths(run_pipeline(postgres_source(pg_mixed_url, **naming), tmp_path / "datahub.json"))
    mine = ours(pg_mixed_url, **naming)
    assert mine == theirs
    assert any("eu_main." in urn and ",DEV)" in urn for urn in mine)
    assert ["LineId", "Amount Due", "note"] in mine.values()  # fieldPaths keep their case


def test_sqlite_parity_with_datahubs_sqlalchemy_source(tmp_path: Path) -> None:
    path = tmp_path / "Shop.db"
    with sqlite3.connect(path) as connection:
        connection.executescript('CREATE TABLE "People" ("Id" INTEGER PRIMARY KEY, "Name" TEXT, email TEXT);')
    url = f"sqlite:///{path}"
    source = {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": url}}
    theirs = field_paths(run_pipeline(source, tmp_path / "datahub.json"))
    assert theirs == {make_dataset_urn_with_platform_instance("sqlite", "main.People", None): ["Id", "Name", "email"]}
    assert ours(url) == theirs


def test_duckdb_parity_with_datahubs_generic_source_naming(tmp_path: Path) -> None:
    from datahub.ingestion.api.common import PipelineContext
    from datahub.ingestion.source.sql.sql_generic import (
        SQLAlchemyGenericConfig,
        SQLAlchemyGenericSource,
    )

    path = tmp_path / "shop.v2.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute('CREATE SCHEMA "Sales"; CREATE TABLE "Sales".orders (id INT)')
        connection.execute("CREATE TABLE main.people (id INT)")
    url = f"duckdb:///{path}"
    config = SQLAlchemyGenericConfig(platform="duckdb", connect_uri=url)
    source = SQLAlchemyGenericSource(config, PipelineContext(run_id="parity"))
    inspector = sa.inspect(sa.create_engine(url, connect_args={"read_only": True}))
    theirs = {
        make_dataset_urn_with_platform_instance(
            "duckdb", source.get_identifier(schema=schema, entity=table, inspector=inspector), None
        )
        for schema in inspector.get_schema_names()
        for table in inspector.get_table_names(schema=schema)
    }
    mine = set(ours(url))
    assert mine == theirs
    assert "urn:li:dataset:(urn:li:dataPlatform:duckdb,shop.\"Sales\".orders,PROD)" in mine


# DataHub's snowflake and bigquery modules import their client libraries (not installed
# here), so these expectations restate SnowflakeIdentifierBuilder.get_dataset_identifier /
# snowflake_column_identifier and BigQueryIdentifierBuilder.gen_dataset_urn.
def test_snowflake_lowercases_names_and_columns_by_default_like_datahub() -> None:
    warehouse = WarehouseConfig(name="wh", url="snowflake://u@acct/ANALYTICS/PUBLIC", platform_instance="Acct")
    location = DatasetLocation("snowflake", "ANALYTICS/PUBLIC", warehouse)
    assert location.dataset_urn(TableRef("wh", "PUBLIC", "Orders")) == (
        "urn:li:dataset:(urn:li:dataPlatform:snowflake,Acct.analytics.public.orders,PROD)"
    )
    assert location.field_path("OrderId") == "orderid"
    # Set explicitly, DataHub's lowercasing processor also folds the instance.
    lowercased = warehouse.model_copy(update={"convert_urns_to_lowercase": True})
    explicit = DatasetLocation("snowflake", "ANALYTICS", lowercased)
    assert explicit.dataset_urn(TableRef("wh", "PUBLIC", "Orders")).startswith(
        "urn:li:dataset:(urn:li:dataPlatform:snowflake,acct.analytics.public.orders"
    )


def test_snowflake_keeps_case_when_lowercasing_is_off() -> None:
    warehouse = WarehouseConfig(name="wh", url="snowflake://u@acct/ANALYTICS", convert_urns_to_lowercase=False)
    location = DatasetLocation("snowflake", "ANALYTICS", warehouse)
    assert location.dataset_urn(TableRef("wh", "PUBLIC", "Orders")) == (
        "urn:li:dataset:(urn:li:dataPlatform:snowflake,ANALYTICS.PUBLIC.Orders,PROD)"
    )
    assert location.field_path("OrderId") == "OrderId"


def test_bigquery_names_project_dataset_table_without_platform_instance() -> None:
    warehouse = WarehouseConfig(
        name="wh", url="bigquery://my-project/sales", database="my-project", platform_instance="x"
    )
    location = DatasetLocation("bigquery", "sales", warehouse)
    assert location.dataset_urn(TableRef("wh", "sales", "Orders")) == (
        "urn:li:dataset:(urn:li:dataPlatform:bigquery,my-project.sales.Orders,PROD)"
    )


def test_mysql_names_are_database_dot_table() -> None:
    warehouse = WarehouseConfig(name="wh", url="mysql+pymysql://u@h/shop")
    location = DatasetLocation("mysql", "shop", warehouse)
    urn = location.dataset_urn(TableRef("wh", "shop", "orders"))
    assert urn == "urn:li:dataset:(urn:li:dataPlatform:mysql,shop.orders,PROD)"


def test_platform_and_database_overrides_from_warehouse_config() -> None:
    warehouse = WarehouseConfig(name="wh", url="postgresql://u@h/local_copy", platform="redshift", database="dwh")
    location = DatasetLocation("postgres", "local_copy", warehouse)
    expected = "urn:li:dataset:(urn:li:dataPlatform:redshift,dwh.s.t,PROD)"
    assert location.dataset_urn(TableRef("wh", "s", "t")) == expected


def test_a_three_part_platform_without_database_is_a_clear_error() -> None:
    warehouse = WarehouseConfig(name="wh", url="postgresql://u@h")
    with pytest.raises(UrnError, match="set 'database' on warehouse 'wh'"):
        DatasetLocation("postgres", None, warehouse).dataset_urn(TableRef("wh", "public", "t"))


def test_an_overlong_urn_is_refused_before_gms_sees_it() -> None:
    warehouse = WarehouseConfig(name="wh", url="postgresql://u@h/db")
    with pytest.raises(UrnError, match="exceed 512 bytes"):
        DatasetLocation("postgres", "db", warehouse).dataset_urn(TableRef("wh", "public", "x" * 500))
