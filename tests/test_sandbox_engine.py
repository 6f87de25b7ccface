"""The sandbox engine: DuckDB hardening (tested without the validator), limits, refresh."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sandbox_support import (
    orders_frame,
    people_frame,
    sandbox_config,
    synthetic_table,
    write_store,
)

from catalog_synth.core.sections import SandboxConfig
from catalog_synth.serve.engine import (
    QueryEngine,
    QueryFailed,
    QueryTimeout,
    ResultTooLarge,
    SandboxBusy,
    StoreUnavailable,
    TableNotFound,
    connect_hardened,
)

PEOPLE = people_frame(120)
ORDERS = orders_frame(400, people=120)
# 10^12 pairs over 8 MB of input: CPU-bound for hours, small in memory.
RUNAWAY = "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    write_store(path, [synthetic_table("public", "people", PEOPLE), synthetic_table("public", "orders", ORDERS)])
    return path


def settings(**overrides: object) -> SandboxConfig:
    return sandbox_config(Path("unused"), **overrides).sandbox


@pytest.fixture
def hardened(store: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    temp_dir = tmp_path / "spill"
    temp_dir.mkdir()
    connection = connect_hardened(store, settings(memory_limit="64MB", max_temp_directory_size="1MB"), temp_dir)
    yield connection
    connection.close()


@pytest.fixture
def engine(store: Path) -> QueryEngine:
    engine = QueryEngine(store, settings())
    yield engine
    engine.close()


# --- hardening, checked on the raw connection (no validator in the way) ---------------


def scalar(connection: duckdb.DuckDBPyConnection, sql: str) -> object:
    cursor = connection.cursor()
    try:
        return cursor.execute(sql).fetchone()[0]
    finally:
        cursor.close()


def test_hardened_connection_has_every_setting(hardened: duckdb.DuckDBPyConnection) -> None:
    assert scalar(hardened, "SELECT current_setting('enable_external_access')") is False
    assert scalar(hardened, "SELECT current_setting('lock_configuration')") is True
    assert scalar(hardened, "SELECT current_setting('autoload_known_extensions')") is False
    assert scalar(hardened, "SELECT current_setting('autoinstall_known_extensions')") is False
    assert scalar(hardened, "SELECT current_setting('allow_community_extensions')") is False
    assert scalar(hardened, "SELECT current_setting('python_enable_replacements')") is False
    assert scalar(hardened, "SELECT current_setting('max_execution_time')") == 1000
    assert scalar(hardened, "SELECT current_setting('threads')") == 2
    # 1MB as DuckDB reports it: the setting took, although connect(config=...) would ignore it.
    assert scalar(hardened, "SELECT current_setting('max_temp_directory_size')") == "976.5 KiB"


@pytest.mark.parametrize(
    "statement",
    [
        "SET threads = 8",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SET max_temp_directory_size = '100GB'",
        "SET memory_limit = '100GB'",
        "RESET threads",
        "PRAGMA threads = 8",
    ],
)
def test_configuration_is_locked(hardened: duckdb.DuckDBPyConnection, statement: str) -> None:
    with pytest.raises(duckdb.InvalidInputException, match="configuration has been locked"):
        hardened.cursor().execute(statement)


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * FROM read_csv('{path}')",
        "SELECT * FROM read_text('{path}')",
        "SELECT * FROM glob('{dir}/*')",
        "COPY (SELECT 1) TO '{dir}/out.csv'",
        "EXPORT DATABASE '{dir}/export'",
        "ATTACH '{dir}/other.duckdb' AS other",
        "INSTALL httpfs",
    ],
)
def test_file_and_network_access_is_refused(
    hardened: duckdb.DuckDBPyConnection, tmp_path: Path, template: str
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
        hardened.cursor().execute(template.format(path=secret, dir=outside))
    assert list(outside.iterdir()) == []


def test_replacement_scans_reach_neither_files_nor_python_objects(
    hardened: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    local_frame = pd.DataFrame({"a": [1]})  # noqa: F841 - a replacement scan would find it by name
    with pytest.raises(duckdb.PermissionException, match="disabled by configuration"):
        hardened.cursor().execute(f"SELECT * FROM '{secret}'")
    with pytest.raises(duckdb.CatalogException):
        hardened.cursor().execute("SELECT * FROM local_frame")


def test_extensions_cannot_be_loaded(hardened: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.PermissionException):
        hardened.cursor().execute("LOAD httpfs")


def test_store_is_read_only(hardened: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.Error, match="read-only"):
        hardened.cursor().execute("CREATE TABLE public.stolen AS SELECT 1")
    with pytest.raises(duckdb.Error, match="read-only"):
        hardened.cursor().execute("DELETE FROM public.people")
    assert scalar(hardened, "SELECT count(*) FROM public.people") == len(PEOPLE)


def test_temp_directory_size_limit_holds(hardened: duckdb.DuckDBPyConnection) -> None:
    # 64MB of memory and 1MB of spill space cannot sort 30M random doubles.
    with pytest.raises(duckdb.OutOfMemoryException, match="max_temp_directory_size"):
        hardened.cursor().execute("SELECT * FROM range(30000000) ORDER BY random()").fetchone()


def test_max_execution_time_stops_every_cursor(hardened: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.InterruptException, match="maximum execution time"):
        hardened.cursor().execute(RUNAWAY).fetchone()


# --- the engine: validation, limits, errors ----------------------------------------


# Both ways a query runs: Arrow data (the HTTP API) and Python rows (the PostgreSQL endpoint).
RUNS = pytest.mark.parametrize("way", ["run", "run_rows"])


@RUNS
def test_run_returns_columns_rows_and_types(engine: QueryEngine, way: str) -> None:
    result = getattr(engine, way)("SELECT id, name, score FROM people WHERE id <= 3 ORDER BY id")
    assert [(c.name, c.type) for c in result.columns] == [("id", "BIGINT"), ("name", "VARCHAR"), ("score", "DOUBLE")]
    expected = PEOPLE.loc[PEOPLE.id <= 3, ["id", "name", "score"]]
    assert result.rows == [tuple(row) for row in expected.itertuples(index=False)]
    assert result.row_count == 3 and result.truncated is False and result.elapsed_ms > 0


def test_both_ways_give_the_same_values_intervals_included(engine: QueryEngine) -> None:
    sql = ("SELECT id, name, 1.5::DECIMAL(6, 2) AS price, DATE '2024-02-29' + id::INT AS day, "
           "INTERVAL 1 MONTH + INTERVAL (id) DAY AS wait, [id, id] AS pair FROM people WHERE id <= 4 ORDER BY id")
    arrow, rows = engine.run(sql), engine.run_rows(sql)
    assert arrow.columns == rows.columns
    assert arrow.rows == rows.rows and rows.row_count == 4
    assert rows.rows[0][4].months == 1  # a month stays a month, not 30 days


@RUNS
def test_row_limit_truncates_and_caps_requests(store: Path, way: str) -> None:
    engine = QueryEngine(store, settings(row_limit=50))
    run = getattr(engine, way)
    try:
        capped = run("SELECT * FROM people")
        assert (capped.row_count, capped.truncated) == (50, True)
        assert run("SELECT * FROM people", limit=10).row_count == 10
        assert run("SELECT * FROM people", limit=500).row_count == 50
        assert run("SELECT * FROM people WHERE id <= 50").truncated is False
    finally:
        engine.close()


@RUNS
@pytest.mark.parametrize("padding", ["repeat('x', 1000)", "[repeat('x', 500), repeat('y', 500)]"])
def test_response_size_limit(store: Path, way: str, padding: str) -> None:
    engine = QueryEngine(store, settings(max_response_bytes=4096))
    run = getattr(engine, way)
    try:
        with pytest.raises(ResultTooLarge, match="larger than 4096 bytes"):
            run(f"SELECT {padding} AS padding FROM range(100)")
        assert run("SELECT id FROM people WHERE id = 1").rows == [(1,)]
    finally:
        engine.close()


@RUNS
def test_runaway_query_times_out_and_engine_recovers(engine: QueryEngine, way: str) -> None:
    with pytest.raises(QueryTimeout, match="1 s limit"):
        getattr(engine, way)(RUNAWAY)
    assert getattr(engine, way)("SELECT count(*) FROM people").rows == [(len(PEOPLE),)]


@RUNS
def test_errors_name_the_rule_and_never_echo_table_values(engine: QueryEngine, way: str) -> None:
    with pytest.raises(QueryFailed) as failed:
        getattr(engine, way)("SELECT CAST(name AS INTEGER) FROM people")
    assert "conversion error" in str(failed.value)
    assert "person-" not in str(failed.value)
    with pytest.raises(QueryFailed, match='column "nme" not found'):
        getattr(engine, way)("SELECT nme FROM people")


def test_concurrency_cap_refuses_when_every_slot_stays_busy(store: Path) -> None:
    engine = QueryEngine(store, settings(max_concurrent_queries=1, timeout_seconds=0.2))
    try:
        with engine.slots.hold("another client"):  # its query holds the only slot
            with pytest.raises(SandboxBusy, match="1 query slots stayed busy"):
                engine.run("SELECT 1")
        assert engine.run("SELECT 1 AS one").rows == [(1,)]
    finally:
        engine.close()


def test_missing_store_is_reported_without_its_path(tmp_path: Path) -> None:
    engine = QueryEngine(tmp_path / "nowhere.duckdb", settings())
    with pytest.raises(StoreUnavailable, match="run 'catalog-synth sync'") as missing:
        engine.run("SELECT 1")
    assert str(tmp_path) not in str(missing.value)


def test_preview_and_table_lookup(engine: QueryEngine) -> None:
    table, preview = engine.preview("PUBLIC.People")
    assert table.logical_name == "public.people"
    assert preview.rows == [tuple(row) for row in PEOPLE.head(5).itertuples(index=False)]
    with pytest.raises(TableNotFound):
        engine.table("public.nothing")


def test_default_dialect_is_the_warehouse_dialect(engine: QueryEngine) -> None:
    assert engine.default_dialect() == "postgres"
    # '::' casts are Postgres; the engine reads them without being told.
    assert engine.run("SELECT '7'::int + 1 AS eight").rows == [(8,)]


# --- refresh: a new store file is served without failing queries in flight ------------


def test_swapped_store_is_served_while_in_flight_queries_finish_on_the_old_one(
    engine: QueryEngine, store: Path
) -> None:
    assert engine.run("SELECT count(*) FROM people").rows == [(120,)]
    with engine._current() as old:  # a query in flight on the old file
        write_store(store, [synthetic_table("public", "people", people_frame(30))])
        assert engine.run("SELECT count(*) FROM people").rows == [(30,)]
        in_flight = engine._execute(old, 'SELECT count(*) FROM "public"."people"', 10, 0.0)
        assert in_flight.rows == [(120,)]
        assert old.retired
    with pytest.raises(duckdb.ConnectionException):  # closed once its last query ended
        old.connection.cursor()


def test_refresh_under_concurrent_load(engine: QueryEngine, store: Path) -> None:
    sizes = [120, 60, 90, 45]
    failures: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()
    clients = 4
    all_running = threading.Barrier(clients + 1)

    def ask() -> None:
        try:
            answers.append(engine.run("SELECT count(*) FROM people").rows[0][0])
            joined = "SELECT max(p.id) FROM people p JOIN orders o ON o.person_id = p.id"
            answers.append(engine.run(joined).rows[0][0])
        except Exception as exc:  # noqa: BLE001 - any failure fails the test below
            failures.append(exc)

    def client() -> None:
        ask()
        all_running.wait()
        while not stop.is_set():
            ask()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    all_running.wait()
    for size in sizes[1:]:
        write_store(store, [synthetic_table("public", "people", people_frame(size))])
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert set(answers[: clients * 2]) <= {120}
    assert set(answers) <= set(sizes) | {max(ORDERS.person_id[ORDERS.person_id <= size]) for size in sizes}
    assert engine.run("SELECT count(*) FROM people").rows == [(sizes[-1],)]
