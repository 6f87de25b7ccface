"""Shared fixtures: a real PostgreSQL server for the whole session, fresh databases.

Fixtures
--------
pg_server    session  running :class:`postgres_server.PostgresServer` (host, port, user,
                      ``create_database(name) -> URL``); FAILS when PostgreSQL is missing.
pg_url       function a fresh, empty database: ``postgresql+psycopg://postgres@127.0.0.1:PORT/test_N``
pg_demo_url  module   a database holding the demo shop tables (people, orders, products,
                      order_items; keys declared) in schema ``public``, 200 people
load_frames  -        ``load_frames(url, {name: df}, ddl=..., schema=None)`` helper
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from postgres_server import PostgresServer, PostgresUnavailable
from postgres_server import load_frames as _load_frames

from catalog_synth.entry.demo_data import load_into_postgres

PG_DEMO_ROWS = 200


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer.start_new()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL test server unavailable: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    return pg_server.create_database()


@pytest.fixture(scope="module")
def pg_demo_url(pg_server: PostgresServer) -> str:
    url = pg_server.create_database()
    load_into_postgres(url, rows=PG_DEMO_ROWS)
    return url


@pytest.fixture
def load_frames() -> Callable[..., None]:
    return _load_frames
