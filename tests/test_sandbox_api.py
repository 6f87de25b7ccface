"""The sandbox over HTTP on 127.0.0.1: hostile SQL, concurrency, formats, tables, metrics, auth."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from sandbox_support import (
    client_from,
    orders_frame,
    people_frame,
    running_server,
    sandbox_config,
    synthetic_table,
    write_store,
)

from catalog_synth.core.config import ConfigError
from catalog_synth.serve.app import create_app

PEOPLE = people_frame(200)
ORDERS = orders_frame(600, people=200)
TOKEN = "s3cret-sandbox-token"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sandbox") / "store.duckdb"
    write_store(path, [synthetic_table("public", "people", PEOPLE), synthetic_table("public", "orders", ORDERS)])
    return path


@pytest.fixture(scope="module")
def base_url(store: Path) -> Iterator[str]:
    app = create_app(sandbox_config(store, max_response_bytes=1_000_000, catalog_origin="https://datahub.example.com"))
    with running_server(app) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


def query(client: httpx.Client, sql: str, **extra: object) -> httpx.Response:
    return client.post("/api/query", json={"sql": sql, **extra})


# --- hostile SQL: every statement is refused or stopped, and the server stays healthy ----

REFUSED = {"refused"}
HOSTILE = [
    # writes and DDL
    ("INSERT INTO people VALUES (1, 'x', 1, 'x', 1.0, now())", REFUSED),
    ("UPDATE people SET age = 0", REFUSED),
    ("DELETE FROM people", REFUSED),
    ("MERGE INTO people USING orders ON people.id = orders.person_id WHEN MATCHED THEN DELETE", REFUSED),
    ("CREATE TABLE stolen AS SELECT * FROM people", REFUSED),
    ("CREATE TEMP TABLE scratch AS SELECT * FROM people", REFUSED),
    ("CREATE VIEW v AS SELECT * FROM people", REFUSED),
    ("CREATE MACRO twice(a) AS a * 2", REFUSED),
    ("DROP TABLE people", REFUSED),
    ("ALTER TABLE people ADD COLUMN x INTEGER", REFUSED),
    ("TRUNCATE people", REFUSED),
    ("WITH gone AS (DELETE FROM people RETURNING *) SELECT * FROM gone", REFUSED),
    ("WITH added AS (INSERT INTO people SELECT * FROM people RETURNING *) SELECT count(*) FROM added", REFUSED),
    ("SELECT * INTO copy_of_people FROM people", REFUSED),
    # files, export, attach, extensions
    ("COPY people TO '{tmp}/people.csv'", REFUSED),
    ("COPY (SELECT * FROM people) TO '{tmp}/people.parquet' (FORMAT parquet)", REFUSED),
    ("EXPORT DATABASE '{tmp}/export'", REFUSED),
    ("ATTACH '{tmp}/other.duckdb' AS other", REFUSED),
    ("DETACH store", REFUSED),
    ("INSTALL httpfs", REFUSED),
    ("LOAD httpfs", REFUSED),
    # settings, session, catalog statements
    ("SET threads = 64", REFUSED),
    ("SET enable_external_access = true", REFUSED),
    ("RESET memory_limit", REFUSED),
    ("PRAGMA database_list", REFUSED),
    ("CALL pragma_version()", REFUSED),
    ("USE system", REFUSED),
    ("BEGIN TRANSACTION", REFUSED),
    ("CHECKPOINT", REFUSED),
    ("VACUUM", REFUSED),
    ("DESCRIBE people", REFUSED),
    ("SHOW TABLES", REFUSED),
    ("SUMMARIZE people", REFUSED),
    ("EXPLAIN SELECT * FROM people", REFUSED),
    # file and network functions, replacement scans
    ("SELECT * FROM read_csv('/etc/passwd')", REFUSED),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", REFUSED),
    ("SELECT * FROM read_parquet('{tmp}/x.parquet')", REFUSED),
    ("SELECT * FROM read_json('https://example.com/x.json')", REFUSED),
    ("SELECT * FROM read_text('/etc/passwd')", REFUSED),
    ("SELECT * FROM read_blob('/etc/passwd')", REFUSED),
    ("SELECT * FROM glob('/*')", REFUSED),
    ("SELECT * FROM sniff_csv('/etc/passwd')", REFUSED),
    ("SELECT * FROM '/etc/passwd'", REFUSED),
    ("FROM 'https://example.com/data.csv'", REFUSED),
    ("SELECT * FROM people, LATERAL (SELECT * FROM read_text('/etc/passwd')) AS f", REFUSED),
    ("SELECT (SELECT count(*) FROM glob('/*')) AS files", REFUSED),
    ("SELECT * FROM sqlite_scan('{tmp}/x.db', 't')", REFUSED),
    ("SELECT * FROM postgres_scan('host=127.0.0.1', 'public', 't')", REFUSED),
    ("SELECT * FROM query('SELECT * FROM _catalog_synth.tables')", REFUSED),
    # settings and catalog introspection that reveal paths
    ("SELECT * FROM duckdb_settings()", REFUSED),
    ("SELECT current_setting('temp_directory')", REFUSED),
    ("SELECT * FROM duckdb_databases()", REFUSED),
    ("SELECT * FROM duckdb_tables()", REFUSED),
    ("SELECT * FROM pragma_database_list", REFUSED),
    ("SELECT getenv('HOME')", REFUSED),
    ("SELECT * FROM information_schema.tables", REFUSED),
    ("SELECT * FROM _catalog_synth.tables", REFUSED),
    # shapes the validator cannot vouch for
    ("SELECT 1; SELECT 2", REFUSED),
    ("SELECT * FROM people; DROP TABLE people", REFUSED),
    ("SELEC * FROM people", REFUSED),
    ("SELECT * FROM people WHERE id = ?", REFUSED),
    ("SELECT " + "(" * 3000 + "1" + ")" * 3000, REFUSED),
    # resource attacks: stopped by the limits
    ("SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7", {"timeout"}),
    ("WITH RECURSIVE forever(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM forever) SELECT count(*) FROM forever",
     {"timeout", "failed"}),
    ("SELECT list(repeat('x', 1000)) FROM range(10000000)", {"failed", "timeout"}),
    ("SELECT * FROM range(100000000) ORDER BY random()", {"failed", "timeout"}),
    ("SELECT repeat('x', 10000) AS padding FROM range(1000)", {"too_large"}),
]


@pytest.mark.parametrize(("sql", "kinds"), HOSTILE, ids=[f"{i:02d}" for i in range(len(HOSTILE))])
def test_hostile_sql_is_refused_or_stopped(
    client: httpx.Client, tmp_path: Path, sql: str, kinds: set[str]
) -> None:
    response = query(client, sql.format(tmp=tmp_path))
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["kind"] in kinds, error
    assert len(error["message"]) > 10
    assert list(tmp_path.iterdir()) == []  # nothing was written
    assert client.get("/healthz").json()["status"] == "ok"
    assert query(client, "SELECT count(*) AS n FROM people").json()["rows"] == [[len(PEOPLE)]]


def test_hostile_suite_covers_at_least_forty_statements() -> None:
    assert len(HOSTILE) >= 40


def test_oversized_requests_are_rejected(client: httpx.Client) -> None:
    assert query(client, "SELECT '" + "x" * 200_000 + "'").status_code == 422
    assert query(client, "SELECT '" + "x" * 2_000_000 + "'").status_code == 413


# --- concurrency: 16 clients, mixed queries, all answers right ----------------------------


def expected_answers() -> dict[str, object]:
    by_city = PEOPLE.groupby("city").size().sort_index()
    spend = ORDERS.groupby("person_id").amount.sum()
    return {
        "SELECT name FROM people WHERE id = {i}": lambda i: [[PEOPLE.name[i - 1]]],
        "SELECT city, count(*) AS n FROM people GROUP BY city ORDER BY city": lambda i: [
            [city, int(n)] for city, n in by_city.items()
        ],
        "SELECT count(*) FROM orders o JOIN people p ON p.id = o.person_id WHERE p.id <= {i}": lambda i: [
            [int((ORDERS.person_id <= i).sum())]
        ],
        "SELECT round(sum(amount), 2) FROM orders WHERE person_id = {i}": lambda i: [
            [round(float(spend[i]), 2)] if i in spend.index else [None]
        ],
    }


def test_sixteen_concurrent_clients_get_correct_answers(store: Path) -> None:
    app = create_app(sandbox_config(store, timeout_seconds=30.0))
    queries = expected_answers()
    failures: list[str] = []
    answered = []

    def client_session(number: int, base_url: str) -> None:
        with client_from(f"127.0.0.{10 + number}", base_url) as session:  # 16 clients, 16 addresses
            for step in range(12):
                template = list(queries)[(number + step) % len(queries)]
                i = 1 + (number * 12 + step) % len(PEOPLE)
                response = query(session, template.format(i=i))
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text}")
                    continue
                rows = response.json()["rows"]
                if rows != queries[template](i):
                    failures.append(f"wrong answer to {template.format(i=i)}: {rows}")
                answered.append(1)

    with running_server(app) as base_url:
        threads = [threading.Thread(target=client_session, args=(n, base_url)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(answered) == 16 * 12


# --- formats, tables, metrics, pages -------------------------------------------------------


def test_json_result_shape(client: httpx.Client) -> None:
    body = query(client, "SELECT id, name, signup FROM people ORDER BY id", limit=2).json()
    assert body["columns"] == [
        {"name": "id", "type": "BIGINT"}, {"name": "name", "type": "VARCHAR"}, {"name": "signup", "type": "TIMESTAMP"}
    ]
    assert body["rows"] == [[i + 1, PEOPLE.name[i], PEOPLE.signup[i].isoformat()] for i in (0, 1)]
    assert body["row_count"] == 2 and body["truncated"] is True and body["elapsed_ms"] > 0


def test_csv_and_arrow_formats(client: httpx.Client) -> None:
    sql = "SELECT id, city FROM people WHERE id <= 3 ORDER BY id"
    csv_response = client.post("/api/query", params={"format": "csv"}, json={"sql": sql})
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(csv_response.text))) == [["id", "city"]] + [
        [str(i), PEOPLE.city[i - 1]] for i in (1, 2, 3)
    ]
    arrow_response = client.post("/api/query", params={"format": "arrow"}, json={"sql": sql})
    table = pa.ipc.open_stream(arrow_response.content).read_all()
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert arrow_response.headers["x-row-count"] == "3"


def test_tables_list_and_detail(client: httpx.Client) -> None:
    listing = client.get("/api/tables").json()
    assert listing["default_dialect"] == "postgres"
    assert [t["name"] for t in listing["tables"]] == ["public.orders", "public.people"]
    people = listing["tables"][1]
    assert people["row_count"] == len(PEOPLE) and people["quality"]["overall"] == pytest.approx(0.81)
    assert [c["name"] for c in people["columns"]] == list(PEOPLE.columns)
    detail = client.get("/api/tables/public.people").json()
    assert detail["preview"]["rows"][0][:2] == [1, PEOPLE.name[0]]
    assert detail["preview"]["row_count"] == 5
    assert client.get("/api/tables/public.nothing").status_code == 404


def test_openapi_docs_describe_the_query_endpoint(client: httpx.Client) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assets = re.findall(r'(?:href|src)="([^"]+)"', docs.text)
    assert len(assets) == 3 and all(asset.startswith("/docs-assets/") for asset in assets), assets
    assert all(client.get(asset).status_code == 200 for asset in assets)  # served here, not from a CDN
    schema = client.get("/openapi.json").json()
    assert {"/api/query", "/api/tables", "/api/tables/{name}", "/healthz", "/metrics"} <= set(schema["paths"])
    assert schema["paths"]["/api/query"]["post"]["responses"]["408"]


def test_metrics_count_queries_refusals_and_errors(client: httpx.Client) -> None:
    query(client, "SELECT 1")
    query(client, "DROP TABLE people")
    text = client.get("/metrics").text
    assert 'catalog_synth_sandbox_queries_total{format="json"}' in text
    assert "catalog_synth_sandbox_query_refusals_total" in text
    assert "catalog_synth_sandbox_query_seconds_bucket" in text


def test_pages_carry_a_strict_policy_and_only_the_preview_can_be_framed(client: httpx.Client) -> None:
    index = client.get("/")
    assert "Synthetic data." in index.text
    assert "frame-ancestors 'none'" in index.headers["content-security-policy"]
    assert index.headers["x-frame-options"] == "DENY"
    preview = client.get("/tables/public.people")
    assert preview.status_code == 200 and PEOPLE.name[0] in preview.text
    assert "frame-ancestors https://datahub.example.com" in preview.headers["content-security-policy"]
    assert "x-frame-options" not in preview.headers
    assert client.get("/tables/public.nothing").status_code == 404


# --- auth --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secured_url(store: Path) -> Iterator[str]:
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    with running_server(create_app(sandbox_config(store, token_hashes=[digest]))) as url:
        yield url


@pytest.mark.parametrize("path", ["/api/tables", "/api/tables/public.people", "/metrics", "/openapi.json"])
def test_api_needs_a_token(secured_url: str, path: str) -> None:
    assert httpx.get(secured_url + path).status_code == 401
    assert httpx.get(secured_url + path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(secured_url + path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_query_needs_a_token(secured_url: str) -> None:
    body = {"sql": "SELECT count(*) FROM people"}
    refused = httpx.post(secured_url + "/api/query", json=body)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    accepted = httpx.post(secured_url + "/api/query", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert accepted.json()["rows"] == [[len(PEOPLE)]]


def test_healthz_needs_no_token(secured_url: str) -> None:
    assert httpx.get(secured_url + "/healthz").json() == {"status": "ok", "tables": 2}


def test_browser_signs_in_with_a_cookie(secured_url: str) -> None:
    with httpx.Client(base_url=secured_url) as browser:
        assert browser.get("/docs").status_code == 303
        page = browser.get("/tables/public.people")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Ftables%2Fpublic.people"
        wrong = browser.post("/login", data={"token": "nope", "next": "/"})
        assert wrong.status_code == 401
        signed_in = browser.post("/login", data={"token": TOKEN, "next": "//evil.example.com/"})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        assert browser.get("/tables/public.people").status_code == 200
        assert browser.get("/docs").status_code == 200
        assert browser.post("/api/query", json={"sql": "SELECT 1 AS one"}).json()["rows"] == [[1]]


@pytest.mark.parametrize(
    ("sandbox", "message"),
    [
        ({"token_hashes": [TOKEN]}, "SHA-256 hex digest"),
        ({"catalog_origin": "https://datahub.example.com; script-src *"}, "scheme, host, port only"),
        ({"catalog_origin": "https://datahub.example.com/path"}, "scheme, host, port only"),
    ],
)
def test_config_rejects_plain_tokens_and_origins_that_are_not_origins(
    store: Path, sandbox: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as rejected:
        sandbox_config(store, **sandbox)
    assert TOKEN not in str(rejected.value)


def test_server_without_a_store_says_so_and_serves_it_once_synced(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    with running_server(create_app(sandbox_config(store))) as base_url, httpx.Client(base_url=base_url) as client:
        assert client.get("/healthz").status_code == 503
        missing = query(client, "SELECT 1")
        assert missing.status_code == 503 and "run 'catalog-synth sync'" in missing.json()["error"]["message"]
        assert "run &#39;catalog-synth sync&#39;" in client.get("/").text
        write_store(store, [synthetic_table("public", "people", PEOPLE)])
        assert client.get("/healthz").json() == {"status": "ok", "tables": 1}
        assert query(client, "SELECT count(*) FROM people").json()["rows"] == [[len(PEOPLE)]]
