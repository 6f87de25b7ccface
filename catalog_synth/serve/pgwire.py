"""The sandbox over the PostgreSQL protocol: psql, DBeaver, DataGrip, Metabase, psycopg, SQLAlchemy.

Framing and value codecs are pg-mimic's; each connection (:mod:`.pg_connection`) runs every query
through the same path as ``POST /api/query`` (:mod:`.pg_session`). Per connection:

* **TLS**: with ``sandbox.pg_tls_cert``/``pg_tls_key`` the server answers the protocol's
  SSLRequest and upgrades the socket; then a client that is not on the loopback address must
  use it. Without a certificate the listener stays on the loopback address.
* **Auth**: the password is a token (any user name). With ``sandbox.pg_scram_verifiers`` the
  client proves it with SCRAM-SHA-256 (:mod:`.pg_auth`); with only ``sandbox.token_hashes`` it is
  sent as a cleartext password inside TLS (or on the loopback address) and checked against the
  digests like a bearer token, counting against that token's HTTP fair share. Without tokens:
  trust, on the loopback address only.
* **Timeouts**: a connection idle for ``sandbox.pg_idle_timeout_seconds`` is closed; a client
  that does not read its result within ``sandbox.timeout_seconds`` is disconnected; the
  handshake has the same limit. ``sandbox.pg_max_connections`` bounds open connections.
* DuckDB work (and sqlglot's) runs in a thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pg_mimic.stream import ConnectionClosed, PgStream

from catalog_synth.core.config import SandboxConfig
from catalog_synth.serve.auth import TokenAuth, is_loopback
from catalog_synth.serve.engine import QueryEngine
from catalog_synth.serve.pg_auth import Verifier, fatal
from catalog_synth.serve.pg_catalog import CatalogCache
from catalog_synth.serve.pg_connection import Connection

__all__ = ["WireConfigError", "WireServer", "WireThread", "check_listen"]

log = logging.getLogger(__name__)


class WireConfigError(ValueError):
    """The PostgreSQL listener cannot start safely with these settings."""


def check_listen(settings: SandboxConfig, host: str) -> None:
    """Refuse to listen beyond the loopback address without TLS, or without tokens."""
    if is_loopback(host):
        return
    if not settings.pg_tls_cert:
        raise WireConfigError(
            f"the PostgreSQL endpoint listens on {host} only with TLS (sandbox.pg_tls_cert and pg_tls_key), "
            "or put it behind a TLS proxy and listen on 127.0.0.1"
        )
    if not settings.token_hashes and not settings.pg_scram_verifiers:
        raise WireConfigError(f"the PostgreSQL endpoint listens on {host} only with tokens (sandbox.token_hashes)")


@dataclass
class _Stats:
    connections: int = 0


class WireServer:
    """The PostgreSQL listener over a :class:`QueryEngine` (shared with the HTTP app)."""

    def __init__(self, engine: QueryEngine, settings: SandboxConfig, metrics: Any = None):
        self.engine = engine
        self.settings = settings
        self.metrics = metrics  # the HTTP app's SandboxMetrics: queries counted as format "postgres"
        self.auth = TokenAuth(settings.token_hashes)
        self.scram = [Verifier.parse(v) for v in settings.pg_scram_verifiers]
        self.catalog = CatalogCache(engine)
        self.pool = ThreadPoolExecutor(max_workers=settings.max_concurrent_queries * 2 + 2,
                                       thread_name_prefix="catalog-synth-pg")
        self.tls = _tls_context(settings)
        self._server: asyncio.AbstractServer | None = None
        self._stats = _Stats()
        self._next_pid = 1000
        self.running: dict[int, tuple[int, Connection]] = {}  # backend pid -> (secret, connection)

    async def start(self, host: str, port: int) -> asyncio.AbstractServer:
        check_listen(self.settings, host)
        self._server = await asyncio.start_server(self._client, host, port, limit=2**20)
        return self._server

    @property
    def connections(self) -> int:
        return self._stats.connections

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.catalog.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._stats.connections >= self.settings.pg_max_connections:
            writer.write(fatal("53300", "sorry, too many clients already (sandbox.pg_max_connections)"))
            await _close(writer)
            return
        self._stats.connections += 1
        try:
            connection = Connection(self, PgStream(reader, writer))
            await connection.run()
        except (ConnectionClosed, ConnectionError, asyncio.TimeoutError, ssl.SSLError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("PostgreSQL connection failed")
        finally:
            self._stats.connections -= 1
            await _close(writer)

    def pid(self) -> tuple[int, int]:
        self._next_pid += 1
        return self._next_pid, struct.unpack("!i", os.urandom(4))[0]


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close after sending what is buffered, or at once when the client does not read it."""
    try:
        await asyncio.wait_for(writer.drain(), 1)
    except Exception:  # noqa: BLE001 -- a timeout or a reset: drop the socket either way
        writer.transport.abort()
        return
    writer.close()


def _tls_context(settings: SandboxConfig) -> ssl.SSLContext | None:
    if not settings.pg_tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.pg_tls_cert, settings.pg_tls_key)
    return context


# --- running beside the HTTP app -----------------------------------------------------------


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when installed (uvicorn[standard] brings it): faster sockets."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class WireThread:
    """The PostgreSQL listener on an event loop of its own, in a daemon thread."""

    def __init__(self, engine: QueryEngine, settings: SandboxConfig, host: str, port: int, metrics: Any = None):
        self.server = WireServer(engine, settings, metrics)
        check_listen(settings, host)
        self.host, self._port = host, port
        self._loop = _new_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="catalog-synth-pg", daemon=True)

    def start(self) -> WireThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    @property
    def port(self) -> int:
        return self.server.port

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start(self.host, self._port))
        except BaseException as exc:  # noqa: BLE001 -- reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.close())
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
