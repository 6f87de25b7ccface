"""One PostgreSQL connection: startup, SSL, the token as password, then the simple and extended
query protocols (Parse/Bind/Describe/Execute/Sync), over pg-mimic's framing and codecs.

Every statement runs through :class:`~.pg_session.WireSession` in the server's thread pool. A
statement's result is fully computed at Bind (within the sandbox's row and byte limits) and sent
in chunks as the client reads; Execute with a row count suspends and resumes the portal.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass
from typing import Any

from pg_mimic import messages
from pg_mimic.messages import FieldSpec
from pg_mimic.stream import ConnectionClosed, PgStream
from pg_mimic.types import decode_binary_param, decode_text_param

from catalog_synth.serve.auth import is_loopback
from catalog_synth.serve.cancellation import Cancellation
from catalog_synth.serve.pg_auth import authenticate, fatal
from catalog_synth.serve.pg_errors import WireError
from catalog_synth.serve.pg_session import WireSession, split_statements
from catalog_synth.serve.pg_settings import SERVER_VERSION, WireResult
from catalog_synth.serve.pg_types import (
    WireColumn,
    bind_parameters,
    copy_data,
    copy_text,
    count_parameters,
    csv_field,
    encode_rows,
)

log = logging.getLogger(__name__)

_CHUNK_ROWS = 500
_MAX_STARTUP_BYTES = 10_000
_MAX_MESSAGE_BYTES = 8_000_000  # a query is at most 100,000 characters; parameters are values
_MAX_PREPARED = 1000  # prepared statements one connection may keep
_MAX_PORTALS = 16  # results one connection may hold open (each up to sandbox.max_response_bytes)
_PARAMETER_STATUS = {
    "server_version": SERVER_VERSION,
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
    "TimeZone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "is_superuser": "off",
    "default_transaction_read_only": "on",
    "in_hot_standby": "off",
}


@dataclass
class _Prepared:
    sql: str
    oids: list[int | None]
    columns: list[WireColumn] | None | bool = False  # False: not described yet


@dataclass
class _Portal:
    result: WireResult
    formats: list[int]
    sent: int = 0
    notices_sent: bool = False


class Connection:
    """One client connection; ``server`` is the :class:`~.pgwire.WireServer` that accepted it."""

    def __init__(self, server: Any, stream: PgStream):
        self.server = server
        self.settings = server.settings
        self.stream = stream
        self.session: WireSession | None = None
        self.statements: dict[str, _Prepared] = {}
        self.portals: dict[str, _Portal] = {}
        self.skip_until_sync = False
        self.peer = stream.writer.get_extra_info("peername") or ("unknown", 0)
        self.secure = False
        self._out: list[bytes] = []  # messages of the current turn, written together
        self.cancel: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # set by a cancel request

    # --- startup ---------------------------------------------------------------------------

    async def run(self) -> None:
        startup = await asyncio.wait_for(self._startup(), self.settings.timeout_seconds)
        if startup is None:
            return
        client = await asyncio.wait_for(authenticate(self), self.settings.timeout_seconds)
        if client is None:
            return
        user = startup.get("user", "")
        database = startup.get("database") or user
        try:
            self.session = WireSession(self.server.engine, self.server.catalog, client, user, database, startup)
        except WireError as exc:
            self.stream.write(fatal(exc.sqlstate, exc.message))
            return
        self.stream.write(messages.make_authentication_ok())
        for name, value in _PARAMETER_STATUS.items():
            self.stream.write(messages.make_parameter_status(name, value))
        self.stream.write(messages.make_parameter_status("application_name", startup.get("application_name", "")))
        pid, secret = self.server.pid()
        self.stream.write(messages.make_backend_key_data(pid, secret))
        self.stream.write(messages.make_ready_for_query(self.session.status))
        await self.stream.drain()
        self.server.running[pid] = (secret, self)
        try:
            await self._loop()
        finally:
            self.server.running.pop(pid, None)

    async def _startup(self) -> dict[str, str] | None:
        code, payload = await self._read_startup()
        while code in (messages.SSL_REQUEST_CODE, messages.GSSENC_REQUEST_CODE):
            if code == messages.SSL_REQUEST_CODE and self.server.tls is not None and not self.secure:
                self.stream.write(b"S")
                await self.stream.drain()
                await self.stream.writer.start_tls(self.server.tls)
                self.secure = True
            else:
                self.stream.write(b"N")
                await self.stream.drain()
            code, payload = await self._read_startup()
        if code == messages.CANCEL_REQUEST_CODE and len(payload) == 8:
            pid, secret = struct.unpack("!ii", payload)
            target = self.server.running.get(pid)
            if target is not None and target[0] == secret and not target[1].cancel.done():
                target[1].cancel.set_result(None)
            return None
        if code == messages.CANCEL_REQUEST_CODE:
            return None
        if code != 196608:
            self.stream.write(fatal("08P01", "unsupported frontend protocol: the sandbox speaks protocol 3.0"))
            return None
        if self.server.tls is not None and not self.secure and not is_loopback(self.peer[0]):
            self.stream.write(fatal("28000", "the sandbox requires SSL here: connect with sslmode=require"))
            return None
        return messages.parse_startup_message(payload)

    async def _read_startup(self) -> tuple[int, bytes]:
        header = await self.stream._read_exactly(8)
        length, code = struct.unpack("!ii", header)
        if not 8 <= length <= _MAX_STARTUP_BYTES:
            raise ConnectionClosed  # not a PostgreSQL client
        return code, await self.stream._read_exactly(length - 8) if length > 8 else b""

    async def read_message(self) -> tuple[bytes, bytes]:
        """One message, refusing lengths past :data:`_MAX_MESSAGE_BYTES` before reading them."""
        header = await self.stream._read_exactly(5)
        length = struct.unpack("!i", header[1:])[0]
        if not 4 <= length <= _MAX_MESSAGE_BYTES:
            self.stream.write(fatal("54000", f"a message is limited to {_MAX_MESSAGE_BYTES} bytes"))
            raise ConnectionClosed
        return header[:1], await self.stream._read_exactly(length - 4) if length > 4 else b""

    # --- messages ----------------------------------------------------------------------------

    async def _loop(self) -> None:
        idle = self.settings.pg_idle_timeout_seconds
        reader = self.stream.reader
        while True:
            try:
                if _buffered(reader) >= 5:  # the client pipelined it (Parse/Bind/Execute/Sync): no wait
                    tag, payload = await self.read_message()
                else:
                    tag, payload = await asyncio.wait_for(self.read_message(), idle)
            except asyncio.TimeoutError:
                self._out.append(fatal("57P05", f"closing the connection after {idle:g} s idle "
                                                 "(sandbox.pg_idle_timeout_seconds)"))
                self._flush()
                return
            if tag == messages.TERMINATE:
                return
            try:
                await self._dispatch(tag, payload)
            except WireError as exc:
                self._error(exc)
            except (ConnectionClosed, ConnectionError, asyncio.TimeoutError):
                raise
            except Exception:
                log.exception("PostgreSQL message %r failed", tag)
                self._error(WireError("XX000", "internal error in the sandbox (see the server log)"))
            if tag in (messages.QUERY, messages.SYNC):
                self.skip_until_sync = False
                assert self.session is not None
                if not self.session.in_transaction:
                    self.portals.clear()  # as in PostgreSQL: portals end with their transaction
                self._out.append(messages.make_ready_for_query(self.session.status))
            if _buffered(reader) < 5 or len(self._out) > 64:  # the client waits: send (pipelines go as one)
                await self._drain()

    def _flush(self) -> None:
        """Hand the messages of this turn to the socket in one write."""
        if self._out:
            self.stream.write(b"".join(self._out))
            self._out.clear()

    async def _drain(self) -> None:
        """Send what is pending; wait for the client to read it, at most ``sandbox.timeout_seconds``."""
        self._flush()
        if self.stream.writer.transport.get_write_buffer_size():
            await asyncio.wait_for(self.stream.drain(), self.settings.timeout_seconds)

    def _error(self, exc: WireError) -> None:
        self._out.append(messages.make_error_response({"S": exc.severity, "V": exc.severity, "C": exc.sqlstate,
                                                        "M": exc.message}))
        assert self.session is not None
        self.session.failed()
        self.skip_until_sync = True

    async def _dispatch(self, tag: bytes, payload: bytes) -> None:
        if tag == messages.QUERY:
            await self._simple(messages.parse_query(payload))
        elif self.skip_until_sync and tag != messages.SYNC:
            return
        elif tag == messages.PARSE:
            parsed = messages.parse_parse(payload)
            oids = [oid or None for oid in parsed.param_oids]
            if len(self.statements) >= _MAX_PREPARED and parsed.statement_name not in self.statements:
                raise WireError("53400", f"a connection keeps at most {_MAX_PREPARED} prepared statements")
            self.statements[parsed.statement_name] = _Prepared(parsed.sql, oids)
            self._out.append(messages.make_parse_complete())
        elif tag == messages.BIND:
            await self._bind(messages.parse_bind(payload))
        elif tag == messages.DESCRIBE:
            await self._describe(messages.parse_describe(payload))
        elif tag == messages.EXECUTE:
            parsed = messages.parse_execute(payload)
            await self._send(self._portal(parsed.portal_name), parsed.max_rows)
        elif tag == messages.CLOSE:
            parsed = messages.parse_close(payload)
            (self.statements if parsed.kind == messages.TARGET_STATEMENT else self.portals).pop(parsed.name, None)
            self._out.append(messages.make_close_complete())
        elif tag in (messages.SYNC, messages.FLUSH):
            pass
        else:
            raise WireError("08P01", f"unsupported message {tag!r} (COPY and function calls are not available)")

    async def _simple(self, sql: str) -> None:
        statements = split_statements(sql)
        if not statements:
            self._out.append(messages.make_empty_query_response())
        for statement in statements:
            portal = _Portal(await self._run(statement), [])
            await self._send(portal, 0, describe=True)

    async def _bind(self, parsed: Any) -> None:
        prepared = self._statement(parsed.statement_name)
        values = []
        for index, value in enumerate(parsed.params):
            oid = prepared.oids[index] if index < len(prepared.oids) else None
            binary = messages_format(parsed.param_format_codes, index) == 1
            if value is None:
                values.append(None)
            elif binary:
                if oid is None:
                    raise WireError("0A000", f"binary parameter ${index + 1} needs a declared type")
                values.append(decode_binary_param(oid, value))
            else:
                values.append(decode_text_param(oid, value.decode("utf-8")) if oid else value.decode("utf-8"))
        sql = self._bound(prepared, values)
        if len(self.portals) >= _MAX_PORTALS and parsed.portal_name not in self.portals:
            raise WireError("53400", f"a connection keeps at most {_MAX_PORTALS} open portals")
        self.portals[parsed.portal_name] = _Portal(await self._run(sql), list(parsed.result_format_codes))
        self._out.append(messages.make_bind_complete())

    def _bound(self, prepared: _Prepared, values: list[Any]) -> str:
        assert self.session is not None
        try:
            return bind_parameters(prepared.sql, values, prepared.oids, self.session.backslash_escapes)
        except ValueError as exc:
            raise WireError("22023", str(exc)) from None

    async def _describe(self, parsed: Any) -> None:
        if parsed.kind == messages.TARGET_STATEMENT:
            prepared = self._statement(parsed.name)
            count = max(count_parameters(prepared.sql), len(prepared.oids))
            oids = [(prepared.oids[i] if i < len(prepared.oids) else None) or 25 for i in range(count)]
            prepared.oids = list(oids)
            self._out.append(messages.make_parameter_description(oids))
            if prepared.columns is False:
                sql = self._bound(prepared, [None] * count)
                prepared.columns = (await self._run(sql, describe_only=True)).columns
            columns, formats = prepared.columns, []
        else:
            portal = self._portal(parsed.name)
            columns, formats = portal.result.columns, portal.formats
            if portal.result.copy is not None:
                columns = None
        if columns is None or columns is True:
            self._out.append(messages.make_no_data())
        else:
            self._out.append(_row_description(columns, formats))  # type: ignore[arg-type]

    async def _run(self, sql: str, describe_only: bool = False) -> WireResult:
        """Run a statement in the thread pool. A cancel request (psql's Ctrl-C) answers the client
        at once and interrupts the DuckDB work."""
        assert self.session is not None
        loop = asyncio.get_running_loop()
        self.cancel = loop.create_future()
        cancellation = Cancellation()
        work = loop.run_in_executor(self.server.pool, self.session.execute, sql, describe_only, cancellation)
        await asyncio.wait((work, self.cancel), return_when=asyncio.FIRST_COMPLETED)
        if self.cancel.done():
            _interrupt_until_done(work, cancellation)
            work.add_done_callback(lambda future: future.exception())  # nobody waits for it any more
            raise WireError("57014", "canceling statement due to user request")
        self.cancel.cancel()
        result = work.result()
        if self.server.metrics is not None and result.columns is not None and not describe_only:
            self.server.metrics.queries.labels("postgres").inc()
        return result

    async def _send(self, portal: _Portal, max_rows: int, describe: bool = False) -> None:
        """Rows in chunks (the client's reading paces the writing), then notices and the tag."""
        result = portal.result
        if result.tag == "EMPTY":
            self._out.append(messages.make_empty_query_response())
            return
        if result.copy is not None:
            await self._copy_out(result)
            return
        if result.columns is not None and describe:
            self._out.append(_row_description(result.columns, portal.formats))
        end = len(result.rows) if max_rows <= 0 else min(len(result.rows), portal.sent + max_rows)
        while result.columns is not None and portal.sent < end:
            chunk = result.rows[portal.sent: min(end, portal.sent + _CHUNK_ROWS)]
            try:
                for values in encode_rows(chunk, result.columns, portal.formats):
                    self._out.append(messages.make_data_row(values))
            except ValueError as exc:
                raise WireError("0A000", str(exc)) from None
            portal.sent += len(chunk)
            await self._drain()
        if portal.sent < len(result.rows):
            self._out.append(messages.make_portal_suspended())
            return
        if not portal.notices_sent:
            for notice in result.notices:
                self._out.append(messages.make_notice_response({"S": "NOTICE", "V": "NOTICE", "C": "01000",
                                                                 "M": notice}))
            portal.notices_sent = True
        tag = result.tag if result.columns is None else f"SELECT {portal.sent}"
        self._out.append(messages.make_command_complete(tag))

    async def _copy_out(self, result: WireResult) -> None:
        """CopyOutResponse, one CopyData per line (text or CSV), CopyDone, then the tag."""
        assert result.columns is not None
        columns = len(result.columns)
        self._out.append(b"H" + struct.pack("!ibh", 4 + 1 + 2 + 2 * columns, 0, columns) + b"\x00\x00" * columns)
        csv = result.copy != "text"
        if result.copy == "csv header":
            self._out.append(copy_data(b",".join(csv_field(c.name.encode()) for c in result.columns) + b"\n"))
        for start in range(0, len(result.rows), _CHUNK_ROWS):
            for values in encode_rows(result.rows[start:start + _CHUNK_ROWS], result.columns, []):
                if csv:
                    line = b",".join(b"" if v is None else csv_field(v) for v in values)
                else:
                    line = b"\t".join(b"\\N" if v is None else copy_text(v) for v in values)
                self._out.append(copy_data(line + b"\n"))
            await self._drain()
        self._out.append(b"c" + struct.pack("!i", 4))
        for notice in result.notices:
            self._out.append(messages.make_notice_response({"S": "NOTICE", "V": "NOTICE", "C": "01000", "M": notice}))
        self._out.append(messages.make_command_complete(result.tag))

    def _statement(self, name: str) -> _Prepared:
        if name not in self.statements:
            raise WireError("26000", f'prepared statement "{name}" does not exist')
        return self.statements[name]

    def _portal(self, name: str) -> _Portal:
        if name not in self.portals:
            raise WireError("34000", f'portal "{name}" does not exist')
        return self.portals[name]


def _buffered(reader: asyncio.StreamReader) -> int:
    buffer = getattr(reader, "_buffer", None)
    return len(buffer) if buffer is not None else 0


def messages_format(codes: list[int], index: int) -> int:
    if not codes:
        return 0
    return codes[0] if len(codes) == 1 else codes[index]


def _row_description(columns: list[WireColumn], formats: list[int]) -> bytes:
    return messages.make_row_description([
        FieldSpec(name=c.name, oid=c.oid, type_size=c.type_size, type_modifier=c.type_modifier,
                  format_code=messages_format(formats, i))
        for i, c in enumerate(columns)
    ])


def _interrupt_until_done(work: asyncio.Future[Any], cancellation: Cancellation, every: float = 0.05) -> None:
    """Interrupt a cancelled statement's DuckDB work until it has ended (DuckDB clears an interrupt
    that lands just before it starts the query)."""
    if not work.done():
        cancellation.cancel()
        asyncio.get_running_loop().call_later(every, _interrupt_until_done, work, cancellation, every)
