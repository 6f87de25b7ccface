"""The sandbox over the PostgreSQL protocol, with real clients on 127.0.0.1: psql, psycopg 3,
SQLAlchemy 2 (+ pandas), JDBC; the catalog they read; hostile SQL; fair shares; timeouts; TLS."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from pg_support import CUSTOMERS, ORDERS, wire_server, wire_thread, write_shop_store
from sandbox_support import (
    orders_frame,
    people_frame,
    running_server,
    sandbox_config,
    synthetic_table,
    write_store,
)
from test_sandbox_api import HOSTILE

from catalog_synth.serve.app import create_app
from catalog_synth.serve.engine import QueryEngine
from catalog_synth.serve.errors import QueryError
from catalog_synth.serve.pg_auth import make_verifier
from catalog_synth.serve.pg_catalog import looks_like_catalog_query
from catalog_synth.serve.pg_types import bind_parameters
from catalog_synth.serve.pgwire import WireConfigError, WireThread, check_listen

PSQL = shutil.which("psql")
JAVA = shutil.which("java")
JDBC_JAR = Path("/usr/share/java/postgresql.jar")
JDBC_PROBE = Path(__file__).parent / "pg_clients" / "JdbcProbe.java"
TOKEN, OTHER_TOKEN = "wire-token-one", "wire-token-two"
JOIN = (
    "SELECT c.name, count(*) AS n, sum(o.amount) AS total FROM sales.orders o "
    "JOIN sales.customers c ON c.id = o.customer_id WHERE c.id <= 5 GROUP BY c.name ORDER BY c.name"
)


@pytest.fixture(scope="module")
def shop_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pgwire") / "shop.duckdb"
    write_shop_store(path)
    return path


@pytest.fixture(scope="module")
def shop(shop_store: Path) -> Iterator[tuple[QueryEngine, int]]:
    with wire_server(sandbox_config(shop_store, row_limit=1000)) as server:
        yield server


def dsn(port: int, **extra: str) -> str:
    params = {"host": "127.0.0.1", "port": str(port), "user": "analyst", "dbname": "shop", **extra}
    return " ".join(f"{k}={v}" for k, v in params.items())


def psql(port: int, *commands: str, password: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    assert PSQL, "psql is missing: bash .ci/install --test installs postgresql-client"
    env = {**os.environ, "PGCONNECT_TIMEOUT": "20"}
    if password is not None:
        env["PGPASSWORD"] = password
    args = [PSQL, "-X", "-A", "-F", "|", "-v", "ON_ERROR_STOP=0", dsn(port, **extra)]
    for command in commands:
        args += ["-c", command]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)


# --- psql --------------------------------------------------------------------------------


def test_psql_lists_schemas_tables_and_columns_with_their_keys(shop: tuple[QueryEngine, int]) -> None:
    _, port = shop
    out = psql(port, r"\dn", r"\dt", r"\d sales.orders", r"\d sales.customers")
    assert out.returncode == 0, out.stderr
    assert "ERROR" not in out.stderr, out.stderr
    assert "sales|catalog_synth" in out.stdout
    assert "sales|customers|table|catalog_synth" in out.stdout
    assert "sales|orders|table|catalog_synth" in out.stdout
    assert "amount|numeric(12,2)" in out.stdout
    assert "order_id|bigint||not null|" in out.stdout
    assert "ordered_at|timestamp without time zone" in out.stdout
    assert "uid|uuid" in out.stdout and "signup|date" in out.stdout and "vip|boolean" in out.stdout
    assert '"orders_pkey" PRIMARY KEY, btree (order_id)' in out.stdout
    assert 'FOREIGN KEY (customer_id) REFERENCES sales.customers(id)' in out.stdout
    assert 'Referenced by:' in out.stdout
    assert "_catalog_synth" not in out.stdout  # the store's metadata is not a table of the sandbox


def test_psql_runs_a_join_with_the_http_apis_answer(shop: tuple[QueryEngine, int]) -> None:
    engine, port = shop
    out = psql(port, JOIN)
    assert out.returncode == 0 and not out.stderr, out.stderr
    lines = out.stdout.strip().splitlines()
    expected = engine.run(JOIN).rows
    assert lines[1:-1] == [f"{name}|{n}|{total}" for name, n, total in expected]
    assert lines[-1] == f"({len(expected)} rows)"


def test_psql_copies_a_query_to_a_local_csv_file(shop: tuple[QueryEngine, int], tmp_path: Path) -> None:
    engine, port = shop
    target = tmp_path / "customers.csv"
    query = "SELECT id, name, signup, vip FROM sales.customers WHERE id IN (1, 9, 10) ORDER BY id"
    out = psql(port, f"\\copy ({query}) to '{target}' csv header")
    assert out.returncode == 0 and "COPY 3" in out.stdout, out.stderr
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,name,signup,vip"
    expected = [f"{i},{name or ''},{signup},{'t' if vip else 'f'}" for i, name, signup, vip in engine.run(query).rows]
    assert lines[1:] == expected
    refused = psql(port, "COPY sales.customers TO '/tmp/stolen.csv'")  # a server-side file: refused
    assert "not allowed" in refused.stderr or "only read-only" in refused.stderr, refused.stderr


# --- psycopg 3 ------------------------------------------------------------------------------


def test_psycopg_parameters_types_and_nulls(shop: tuple[QueryEngine, int]) -> None:
    engine, port = shop
    with psycopg.connect(dsn(port), autocommit=True) as conn:
        row = conn.execute(
            "SELECT id, name, signup, vip, uid FROM sales.customers WHERE id = %s AND signup >= %s AND vip = %s",
            (4, dt.date(2024, 1, 2), True),
        ).fetchone()
        assert row == (4, "customer-004", dt.date(2024, 1, 4), True, uuid.UUID(int=3))
        assert conn.execute("SELECT name FROM sales.customers WHERE id = %s", (10,)).fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM sales.customers WHERE name = %s", ("customer-004",)).fetchone() == (1,)
        amounts = conn.execute(
            "SELECT order_id, amount, ordered_at FROM sales.orders WHERE amount > %s ORDER BY order_id LIMIT 2",
            (Decimal("50.5"),),
        ).fetchall()
        assert amounts == engine.run(
            "SELECT order_id, amount, ordered_at FROM sales.orders WHERE amount > 50.5 ORDER BY order_id LIMIT 2").rows
        assert isinstance(amounts[0][1], Decimal) and isinstance(amounts[0][2], dt.datetime)
        quoted = conn.execute("SELECT count(*) FROM sales.customers WHERE name = %s", ("x' OR '1'='1",)).fetchone()
        assert quoted == (0,)  # a parameter is a value, never SQL
        binary = conn.cursor(binary=True)
        binary.execute("SELECT id, signup, vip, uid, name FROM sales.customers WHERE id IN (%s, %s) ORDER BY id", (9, 10))
        assert binary.fetchall() == [(9, dt.date(2024, 1, 9), False, uuid.UUID(int=8), "customer-009"),
                                     (10, dt.date(2024, 1, 10), True, uuid.UUID(int=9), None)]
        binary.execute("SELECT order_id, amount, ordered_at FROM sales.orders WHERE order_id <= %s ORDER BY 1", (3,))
        assert binary.fetchall() == engine.run(
            "SELECT order_id, amount, ordered_at FROM sales.orders WHERE order_id <= 3 ORDER BY 1").rows
        joined = conn.execute(JOIN.replace("c.id <= 5", "c.id <= %s"), (5,)).fetchall()
        assert joined == engine.run(JOIN).rows and len(joined) == 5
        described = conn.execute("SELECT amount FROM sales.orders LIMIT 1").description
        assert (described[0].type_code, described[0].precision, described[0].scale) == (1700, 12, 2)


def test_other_duckdb_types_read_the_same_in_text_and_binary(shop: tuple[QueryEngine, int]) -> None:
    _, port = shop
    sql = ("SELECT [1, 2, 3] AS l, INTERVAL '14 months 3 days 04:05:06.5' AS i, 'abc'::BLOB AS b, "
           "12345678901234567890::HUGEINT AS h, TIME '10:00' AS t, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS tz, "
           "1.5::FLOAT AS f, 2::TINYINT AS ti, NULL AS n, ['a', NULL] AS texts")
    with psycopg.connect(dsn(port), autocommit=True) as conn:
        text = conn.cursor().execute(sql).fetchone()
        binary = conn.cursor(binary=True).execute(sql).fetchone()
    assert text == binary
    assert text[0] == [1, 2, 3] and text[2] == b"abc" and text[3] == Decimal(12345678901234567890)
    assert text[1] == dt.timedelta(days=365 + 60 + 3, hours=4, minutes=5, seconds=6.5)  # psycopg: 30-day months
    assert text[4] == dt.time(10) and text[5] == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    assert text[6:] == (1.5, 2, None, ["a", None])


def test_psycopg_transactions_savepoints_settings_and_dialect(shop: tuple[QueryEngine, int]) -> None:
    engine, port = shop
    with psycopg.connect(dsn(port)) as conn:  # not autocommit: psycopg sends BEGIN
        with conn.transaction():  # SAVEPOINT / RELEASE
            assert conn.execute("SELECT count(*) FROM sales.orders").fetchone() == (ORDERS,)
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SHOW TimeZone").fetchone() == ("UTC",)
        conn.execute("SET application_name = 'notebook'")
        assert conn.execute("SELECT current_setting('application_name')").fetchone() == ("notebook",)
        conn.execute("SET catalog_synth.dialect = 'snowflake'")
        snowflake = "SELECT IFF(vip, 'y', 'n') AS v, COUNT(*) FROM sales.customers GROUP BY 1 ORDER BY 1"
        assert conn.execute(snowflake).fetchall() == engine.run(snowflake, dialect="snowflake").rows
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET memory_limit = '64GB'")
        conn.rollback()
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SET catalog_synth.dialect = 'klingon'")
        conn.rollback()
    with psycopg.connect(dsn(port, options="'-c catalog_synth.dialect=tsql'"), autocommit=True) as conn:
        assert conn.execute("SELECT TOP 2 id FROM sales.customers ORDER BY id").fetchall() == [(1,), (2,)]


def test_server_side_cursors_are_refused_clearly(shop: tuple[QueryEngine, int]) -> None:
    _, port = shop
    with psycopg.connect(dsn(port)) as conn, \
            pytest.raises(psycopg.errors.FeatureNotSupported, match="server-side cursors"), \
            conn.cursor(name="big") as cursor:
        cursor.execute("SELECT * FROM sales.orders")
        cursor.fetchall()


def test_the_row_limit_truncates_with_a_notice(shop_store: Path) -> None:
    notices: list[str] = []
    with wire_server(sandbox_config(shop_store, row_limit=100)) as (_, port), \
            psycopg.connect(dsn(port), autocommit=True) as conn:
        conn.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
        rows = conn.execute("SELECT order_id FROM sales.orders ORDER BY order_id").fetchall()
        assert rows == [(i,) for i in range(1, 101)]
        assert conn.execute("SELECT count(*) FROM sales.orders").fetchone() == (ORDERS,)
    assert len(notices) == 1 and "truncated to 100 rows" in notices[0]


# --- SQLAlchemy 2 and pandas --------------------------------------------------------------


def test_sqlalchemy_reflects_tables_columns_and_keys(shop: tuple[QueryEngine, int]) -> None:
    _, port = shop
    engine = sa.create_engine(f"postgresql+psycopg://analyst@127.0.0.1:{port}/shop")
    try:
        inspector = sa.inspect(engine)
        assert inspector.get_table_names(schema="sales") == ["customers", "orders"]
        assert "sales" in inspector.get_schema_names()
        columns = {c["name"]: c for c in inspector.get_columns("orders", schema="sales")}
        assert list(columns) == ["order_id", "customer_id", "amount", "ordered_at"]
        assert isinstance(columns["amount"]["type"], sa.Numeric) and columns["amount"]["type"].scale == 2
        assert isinstance(columns["ordered_at"]["type"], sa.DateTime) and not columns["order_id"]["nullable"]
        assert inspector.get_pk_constraint("orders", schema="sales")["constrained_columns"] == ["order_id"]
        (fk,) = inspector.get_foreign_keys("orders", schema="sales")
        assert (fk["constrained_columns"], fk["referred_schema"], fk["referred_table"], fk["referred_columns"]) == (
            ["customer_id"], "sales", "customers", ["id"])
        metadata = sa.MetaData()
        metadata.reflect(engine, schema="sales")
        assert sorted(metadata.tables) == ["sales.customers", "sales.orders"]
        orders = metadata.tables["sales.orders"]
        with engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
            assert count == ORDERS
    finally:
        engine.dispose()


def test_pandas_read_sql_matches_the_http_api(shop_store: Path, shop: tuple[QueryEngine, int]) -> None:
    _, port = shop
    engine = sa.create_engine(f"postgresql+psycopg://analyst@127.0.0.1:{port}/shop")
    try:
        with engine.connect() as conn:
            frame = pd.read_sql(JOIN, conn, coerce_float=False)  # decimals stay decimals
    finally:
        engine.dispose()
    with running_server(create_app(sandbox_config(shop_store))) as url:
        import httpx

        answer = httpx.post(f"{url}/api/query", json={"sql": JOIN}, timeout=30).json()
    assert list(frame.columns) == [c["name"] for c in answer["columns"]]
    http_rows = [[name, n, Decimal(total)] for name, n, total in answer["rows"]]
    assert frame.astype(object).values.tolist() == http_rows


# --- JDBC (DBeaver, DataGrip and Metabase use this driver) ------------------------------------


def test_jdbc_lists_tables_columns_keys_and_runs_a_parameterised_join(shop: tuple[QueryEngine, int]) -> None:
    assert JAVA and JDBC_JAR.exists(), "Java or the JDBC driver is missing: bash .ci/install --test installs them"
    engine, port = shop
    out = subprocess.run(
        [JAVA, "-cp", str(JDBC_JAR), str(JDBC_PROBE), f"jdbc:postgresql://127.0.0.1:{port}/shop"],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "product\tPostgreSQL" in lines
    assert [line for line in lines if line.startswith("table\t")] == ["table\tsales.customers", "table\tsales.orders"]
    assert [line for line in lines if line.startswith("column\t")] == [
        "column\torder_id\tint8\t0", "column\tcustomer_id\tint8\t0", "column\tamount\tnumeric\t2",
        "column\tordered_at\ttimestamp\t6"]
    assert "pk\torder_id" in lines
    assert "fk\tcustomer_id\tsales.customers\tid" in lines  # getImportedKeys: DBeaver's diagrams
    assert "index\torders_pkey\torder_id" in lines
    expected = engine.run(
        "SELECT c.name, count(*) AS n, sum(o.amount) AS total FROM sales.orders o JOIN sales.customers c "
        "ON c.id = o.customer_id WHERE o.customer_id <= 5 AND c.signup >= DATE '2024-01-01' "
        "GROUP BY c.name ORDER BY c.name").rows
    assert [line for line in lines if line.startswith("row\t")] == [f"row\t{a}\t{b}\t{c}" for a, b, c in expected]
    assert "refused\t42501" in lines


# --- hostile SQL: refused as the HTTP API refuses it, with an SQLSTATE ----------------------

# Statements that mean something else on a PostgreSQL session: BEGIN is a no-op, information_schema
# answers about the synthetic tables, and two statements in one simple query run one by one.
_WIRE_MEANING = {"BEGIN TRANSACTION", "SELECT * FROM information_schema.tables", "SELECT 1; SELECT 2"}
_SQLSTATES = {
    "refused": {"42501", "42601", "42P01", "0A000", "54000", "54001", "42704"},
    "timeout": {"57014"},
    "failed": {"53200", "XX000", "54000", "57014"},
    "too_large": {"54000"},
}


@pytest.fixture(scope="module")
def http_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pgwire-http") / "store.duckdb"
    people, orders = people_frame(200), orders_frame(600, people=200)
    write_store(path, [synthetic_table("public", "people", people), synthetic_table("public", "orders", orders)])
    return path


def test_hostile_sql_is_refused_over_the_wire_as_over_http(http_store: Path, tmp_path: Path) -> None:
    config = sandbox_config(http_store, max_response_bytes=1_000_000)
    statements = [(sql.format(tmp=tmp_path), kinds) for sql, kinds in HOSTILE if sql not in _WIRE_MEANING]
    assert len(statements) >= 40
    with wire_server(config) as (engine, port), psycopg.connect(dsn(port), autocommit=True) as conn:
        for sql, kinds in statements:
            with pytest.raises(psycopg.Error) as caught:
                conn.execute(sql.encode(), prepare=False)
            state = caught.value.sqlstate
            assert state in set().union(*(_SQLSTATES[k] for k in kinds)), (sql, state, str(caught.value))
            same_path = not looks_like_catalog_query(sql) and ";" not in sql  # a simple query runs statement by statement
            # Refusals word for word (a resource attack may stop on time or on memory, either side).
            if same_path and kinds == {"refused"} and sql.split()[0].upper() not in ("SET", "RESET", "SHOW"):
                try:
                    engine.run(sql)
                except QueryError as exc:  # the same refusal, word for word
                    assert caught.value.diag.message_primary == str(exc), sql
            assert conn.execute("SELECT count(*) FROM people").fetchone() == (200,)
        assert list(tmp_path.iterdir()) == []
        assert engine.slots.running == 0


def test_catalog_queries_see_only_synthetic_tables(shop: tuple[QueryEngine, int]) -> None:
    _, port = shop
    with psycopg.connect(dsn(port), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2").fetchall()
        assert tables == [("sales", "customers"), ("sales", "orders")]
        columns = conn.execute(
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = 'orders' ORDER BY ordinal_position").fetchall()
        assert columns == [("order_id", "bigint", 64, 0), ("customer_id", "bigint", 64, 0),
                           ("amount", "numeric", 12, 2), ("ordered_at", "timestamp without time zone", None, None)]
        relations = conn.execute("SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r' ORDER BY 1").fetchall()
        assert relations == [("customers",), ("orders",)]
        assert conn.execute("SELECT version()").fetchone()[0].startswith("PostgreSQL 16")
        with pytest.raises(psycopg.errors.QueryCanceled):  # catalog queries have the time limit too
            conn.execute("SELECT count(*) FROM pg_catalog.pg_class, generate_series(1, 100000000000)")
        for sneaky in ("SELECT * FROM pg_catalog.pg_settings, read_csv('/etc/passwd')",
                       "SELECT * FROM pg_class, _catalog_synth.tables",
                       "SELECT * FROM duckdb_settings(), pg_catalog.pg_class",
                       "SELECT * FROM pg_catalog.duckdb_tables"):
            with pytest.raises(psycopg.Error):
                conn.execute(sneaky)


def test_several_warehouses_are_databases(tmp_path: Path) -> None:
    store = tmp_path / "multi.duckdb"
    write_store(store, [synthetic_table("public", "people", people_frame(30), warehouse="crm"),
                        synthetic_table("public", "people", people_frame(20), warehouse="web"),
                        synthetic_table("sales", "orders", orders_frame(40, people=20), warehouse="web")],
                multi_warehouse=True)
    with wire_server(sandbox_config(store)) as (_, port):
        out = psql(port, r"\dt *.*", dbname="web")
        assert out.returncode == 0 and not out.stderr, out.stderr
        assert "public|people|table" in out.stdout and "sales|orders|table" in out.stdout
        with psycopg.connect(dsn(port, dbname="crm"), autocommit=True) as conn:
            tables = conn.execute("SELECT table_catalog, table_schema, table_name FROM information_schema.tables")
            assert tables.fetchall() == [("crm", "public", "people")]
            assert conn.execute("SELECT count(*) FROM crm.public.people").fetchone() == (30,)
            assert conn.execute("SELECT count(*) FROM web.public.people").fetchone() == (20,)
            with pytest.raises(psycopg.Error, match="ambiguous"):
                conn.execute("SELECT count(*) FROM public.people")


# --- fair shares, timeouts, auth and TLS ------------------------------------------------------

_SLOW = "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7"


def test_a_flood_from_one_token_does_not_stop_anothers_query(http_store: Path) -> None:
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in (TOKEN, OTHER_TOKEN)]
    config = sandbox_config(http_store, token_hashes=hashes, max_concurrent_queries=4, timeout_seconds=5.0)
    with wire_server(config) as (engine, port):
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(dsn(port, password="wrong"))
        outcomes: list[str] = []

        def flood() -> None:
            try:
                with psycopg.connect(dsn(port, password=TOKEN), autocommit=True) as conn:
                    conn.execute(_SLOW)
                outcomes.append("answered")
            except psycopg.Error as exc:
                outcomes.append(exc.sqlstate or "closed")

        threads = [threading.Thread(target=flood) for _ in range(6)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while engine.slots.running < 2 and time.monotonic() < deadline:  # the flood holds its share
            time.sleep(0.01)
        with psycopg.connect(dsn(port, password=OTHER_TOKEN), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM people").fetchone() == (200,)
            flooding = engine.slots.running
        for thread in threads:
            thread.join()
    assert flooding >= 2
    assert outcomes.count("53400") >= 4 and set(outcomes) <= {"53400", "57014"}, outcomes


def test_a_cancel_request_answers_at_once_and_stops_the_duckdb_work(http_store: Path) -> None:
    with wire_server(sandbox_config(http_store, timeout_seconds=60.0)) as (engine, port), \
            psycopg.connect(dsn(port), autocommit=True) as conn:

        def cancel_when_running() -> None:
            deadline = time.monotonic() + 30
            while engine.slots.running < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            conn.cancel_safe(timeout=30)  # cancel() holds the GIL while it waits: the server is in-process

        canceller = threading.Thread(target=cancel_when_running)
        canceller.start()
        with pytest.raises(psycopg.errors.QueryCanceled, match="user request"):
            conn.execute(_SLOW)
        canceller.join()
        deadline = time.monotonic() + 20  # a third of the time limit that would end it otherwise
        while engine.slots.running and time.monotonic() < deadline:
            time.sleep(0.01)
        assert engine.slots.running == 0, "the cancelled query still holds its slot"
        assert conn.execute("SELECT count(*) FROM people").fetchone() == (200,)


def _startup(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    body = b"user\x00analyst\x00database\x00shop\x00\x00"
    sock.sendall(struct.pack("!ii", 8 + len(body), 196608) + body)
    return sock


def test_idle_connections_and_clients_that_never_read_are_dropped(shop_store: Path) -> None:
    config = sandbox_config(shop_store, pg_idle_timeout_seconds=0.5, row_limit=100_000,
                            max_response_bytes=60_000_000, timeout_seconds=1.0)
    with wire_thread(config) as (engine, wire):
        idle = _startup(wire.port)
        received = b""
        while chunk := idle.recv(65536):  # it sends nothing: the server closes after the idle limit
            received += chunk
        assert b"57P05" in received
        idle.close()
        greedy = _startup(wire.port)
        sql = b"SELECT repeat('x', 400) AS pad FROM range(100000)\x00"
        greedy.sendall(b"Q" + struct.pack("!i", 4 + len(sql)) + sql)  # ... and never reads the 40 MB
        deadline = time.monotonic() + 60
        while wire.server.connections and time.monotonic() < deadline:  # dropped once a write stalls
            time.sleep(0.01)
        assert wire.server.connections == 0
        assert engine.slots.running == 0
        greedy.close()
        with psycopg.connect(dsn(wire.port), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM sales.orders").fetchone() == (ORDERS,)


def test_listening_beyond_loopback_needs_tls_and_tokens(shop_store: Path) -> None:
    settings = sandbox_config(shop_store).sandbox
    check_listen(settings, "127.0.0.1")
    with pytest.raises(WireConfigError, match="TLS"):
        check_listen(settings, "0.0.0.0")
    with_cert = settings.model_copy(update={"pg_tls_cert": "cert.pem", "pg_tls_key": "key.pem"})
    with pytest.raises(WireConfigError, match="tokens"):
        check_listen(with_cert, "0.0.0.0")
    check_listen(with_cert.model_copy(update={"token_hashes": ["0" * 64]}), "0.0.0.0")


def test_tls_with_a_token_as_the_password(shop_store: Path, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    config = sandbox_config(shop_store, pg_tls_cert=str(cert), pg_tls_key=str(key),
                            token_hashes=[hashlib.sha256(TOKEN.encode()).hexdigest()])
    with wire_server(config) as (_, port):
        with psycopg.connect(dsn(port, password=TOKEN, sslmode="require"), autocommit=True) as conn:
            assert conn.info.pgconn.ssl_in_use
            assert conn.execute("SELECT count(*) FROM sales.customers").fetchone() == (CUSTOMERS,)
        out = psql(port, "SELECT count(*) FROM sales.orders", password=TOKEN, sslmode="require")
        assert out.returncode == 0 and f"\n{ORDERS}\n" in out.stdout, out.stderr


def test_serve_refuses_a_pg_listener_it_cannot_secure(shop_store: Path) -> None:
    engine = QueryEngine(shop_store, sandbox_config(shop_store).sandbox)
    try:
        with pytest.raises(WireConfigError):
            WireThread(engine, engine.settings, "0.0.0.0", 0)
    finally:
        engine.close()


# --- parameters, the serve command -------------------------------------------------------------


def test_parameters_are_literals_never_sql() -> None:
    sql = "SELECT '$1', $1 -- $2\n, \"$1\", $$ $1 $$, $2 /* $1 */"
    assert bind_parameters(sql, ["x'y", "5"], [None, 23]) == "SELECT '$1', 'x''y' -- $2\n, \"$1\", $$ $1 $$, 5 /* $1 */"
    assert bind_parameters("SELECT $1", ["5; DROP TABLE t"], [23]) == "SELECT '5; DROP TABLE t'"
    assert bind_parameters("SELECT $1, $2, $3, $4", [None, "2024-01-01", "t", "1.5e3"], [None, 1082, 16, 1700]) == (
        "SELECT NULL, CAST('2024-01-01' AS DATE), TRUE, 1.5e3")
    assert bind_parameters("SELECT $1", ["a\\'b"], [None], backslash_escapes=True) == "SELECT 'a\\\\''b'"
    assert bind_parameters("SELECT x = ANY($1)", ["{a,b}"], [None]) == "SELECT x = ANY(ARRAY['a', 'b'])"
    with pytest.raises(ValueError):
        bind_parameters("SELECT $2", ["1"], [23])


def test_serve_speaks_postgresql_with_pg_port(shop_store: Path, tmp_path: Path) -> None:
    config = tmp_path / "catalog-synth.yml"
    config.write_text(f"warehouses:\n  - name: shop\n    url: sqlite:///unused.db\nstore: {shop_store}\n",
                      encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        http_port = probe.getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        pg_port = probe.getsockname()[1]
    import sys

    server = subprocess.Popen(
        [sys.executable, "-m", "catalog_synth", "serve", "-c", str(config), "--port", str(http_port),
         "--pg-port", str(pg_port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                conn = psycopg.connect(dsn(pg_port, connect_timeout="5"), autocommit=True)
                break
            except psycopg.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with conn:
            assert conn.execute("SELECT count(*) FROM sales.orders").fetchone() == (ORDERS,)
        import httpx

        while True:  # the HTTP app starts beside the PostgreSQL listener
            try:
                metrics = httpx.get(f"http://127.0.0.1:{http_port}/metrics", timeout=30).text
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert 'catalog_synth_sandbox_queries_total{format="postgres"} 1.0' in metrics
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"PostgreSQL protocol on 127.0.0.1:{pg_port}" in output


def test_without_a_store_clients_are_told_and_served_once_synced(tmp_path: Path) -> None:
    store = tmp_path / "later.duckdb"
    with wire_server(sandbox_config(store)) as (_, port), psycopg.connect(dsn(port), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CannotConnectNow, match="catalog-synth sync"):
            conn.execute("SELECT * FROM information_schema.tables")
        with pytest.raises(psycopg.errors.CannotConnectNow, match="catalog-synth sync"):
            conn.execute("SELECT 1")
        write_shop_store(store)
        assert conn.execute("SELECT count(*) FROM sales.customers").fetchone() == (CUSTOMERS,)
        tables = conn.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()
        assert tables == [("customers",), ("orders",)]


def test_scram_proves_a_token_without_sending_it(shop_store: Path) -> None:
    salt = os.urandom(16)
    verifiers = [make_verifier(TOKEN, salt), make_verifier(OTHER_TOKEN, salt)]
    with wire_server(sandbox_config(shop_store, pg_scram_verifiers=verifiers)) as (_, port):
        for token in (TOKEN, OTHER_TOKEN):
            with psycopg.connect(dsn(port, password=token, user=f"anyone-{token}"), autocommit=True) as conn:
                assert conn.execute("SELECT count(*) FROM sales.orders").fetchone() == (ORDERS,)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(dsn(port, password="not-a-token"))
        out = psql(port, "SELECT count(*) FROM sales.customers", password=TOKEN)
        assert out.returncode == 0 and f"\n{CUSTOMERS}\n" in out.stdout, out.stderr
        assert JAVA and JDBC_JAR.exists()
        jdbc = subprocess.run(
            [JAVA, "-cp", str(JDBC_JAR), str(JDBC_PROBE), f"jdbc:postgresql://127.0.0.1:{port}/shop", TOKEN],
            capture_output=True, text=True, timeout=180, check=False,
        )
        assert jdbc.returncode == 0 and "table\tsales.orders" in jdbc.stdout, jdbc.stderr
