"""What one PostgreSQL connection's statements mean: session statements, catalog queries, queries.

Every statement is one of:

* a session statement clients send on their own (``SET``, ``SHOW``, ``RESET``, ``DISCARD``,
  ``BEGIN``/``COMMIT``/``ROLLBACK``/``SAVEPOINT``/``RELEASE``): answered here, no-ops on a
  read-only session; ``SET catalog_synth.dialect = 'snowflake'`` picks the dialect of the
  connection's queries;
* a catalog query (it reads ``pg_catalog``/``information_schema`` or calls catalog
  functions): answered by :mod:`.pg_catalog`, which knows only the synthetic tables;
* anything else: the same call as ``POST /api/query`` (:meth:`QueryEngine.run`: validator,
  hardened read-only DuckDB, limits, the client's fair share), so answers and refusals match.

Server-side cursors (``DECLARE``/``FETCH``) are refused with a clear message.
"""

from __future__ import annotations

import re

import sqlglot

from catalog_synth.serve.cancellation import Cancellation
from catalog_synth.serve.engine import QueryEngine
from catalog_synth.serve.errors import (
    QueryError,
)
from catalog_synth.serve.pg_catalog import CatalogCache, looks_like_catalog_query
from catalog_synth.serve.pg_errors import WireError, wire_error
from catalog_synth.serve.pg_settings import (
    DEFAULT_SETTINGS,
    DIALECT_SETTING,
    WireResult,
)
from catalog_synth.serve.pg_types import wire_column

_BACKSLASH_DIALECTS = {"mysql", "bigquery", "spark", "databricks", "hive", "doris", "starrocks"}


_TRANSACTION = re.compile(
    r"^\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ABORT|ROLLBACK|SAVEPOINT|RELEASE)\b(.*)$", re.IGNORECASE | re.DOTALL
)
_SET = re.compile(r"^\s*SET\s+(?:SESSION\s+|LOCAL\s+)?(.+?)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_SET_VALUE = re.compile(r"^([\w.\"]+)\s*(?:=|\s+TO\s+|\s+)\s*(.+)$", re.IGNORECASE | re.DOTALL)
_SHOW = re.compile(r"^\s*SHOW\s+(.+?)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_RESET = re.compile(r"^\s*(RESET\s+(\S+)|DISCARD\s+\w+)\s*;?\s*$", re.IGNORECASE)
_COPY_OUT = re.compile(
    r"^COPY\s*(?:\((?P<query>.*)\)|(?P<table>[\w.\"]+)\s*(?:\((?P<columns>[^)]*)\))?)\s+TO\s+STDOUT\b(?P<options>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_CURSOR = re.compile(r"^\s*(DECLARE|FETCH|MOVE|CLOSE)\b", re.IGNORECASE)
_COMMENTS = re.compile(r"^\s*(--[^\n]*\n|/\*.*?\*/)*\s*", re.DOTALL)

# Settings a client may SET: what PostgreSQL clients send on their own, and the dialect. Anything else
# (a DuckDB setting, say) is refused like SET is on the HTTP API.
_SETTABLE = {*DEFAULT_SETTINGS, DIALECT_SETTING, "client_min_messages", "lock_timeout", "jit", "geqo",
             "work_mem", "row_security", "session_replication_role", "search_path", "names", "role",
             "session_authorization", "xmloption", "synchronous_commit", "join_collapse_limit",
             "from_collapse_limit", "cursor_tuple_fraction", "array_nulls", "backslash_quote",
             "escape_string_warning", "default_transaction_deferrable", "transaction_deferrable"}
_ALIASES = {"time zone": "timezone", "transaction isolation level": "transaction_isolation",
            "session authorization": "session_authorization"}


class WireSession:
    """The state of one connection and the meaning of each statement; runs in a worker thread."""

    def __init__(self, engine: QueryEngine, catalog: CatalogCache, client: str, user: str, database: str,
                 startup: dict[str, str]):
        self.engine = engine
        self.catalog = catalog
        self.client = client
        self.user = user
        self.database = database
        self.settings: dict[str, str] = {}
        self.in_transaction = False
        self.failed_transaction = False
        self.cancellation = Cancellation()  # the running statement's
        for name, value in _startup_settings(startup).items():
            self._set(name, value, startup=True)

    # --- transaction status for ReadyForQuery ------------------------------------------

    @property
    def status(self) -> bytes:
        if self.failed_transaction:
            return b"E"
        return b"T" if self.in_transaction else b"I"

    def failed(self) -> None:
        if self.in_transaction:
            self.failed_transaction = True

    # --- statements -----------------------------------------------------------------------

    def execute(self, sql: str, describe_only: bool = False, cancellation: Cancellation | None = None) -> WireResult:
        """Run one statement (parameters already bound); ``cancellation`` can stop its query from
        another thread. Raises :class:`WireError`."""
        self.cancellation = cancellation or Cancellation()
        text = _COMMENTS.sub("", sql, count=1).strip().rstrip(";").strip()
        if not text:
            return WireResult("EMPTY")
        if ";" in text and len(split_statements(text)) > 1 and not looks_like_query(text):
            raise WireError("42601", "cannot insert multiple commands into a prepared statement")
        transaction = _TRANSACTION.match(text)
        if transaction:
            return self._transaction(transaction.group(1).upper(), transaction.group(2))
        if self.failed_transaction:
            raise WireError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
        copy = _COPY_OUT.match(text)
        if copy:
            return self._copy_out(copy, describe_only)
        if _CURSOR.match(text):
            raise WireError(
                "0A000",
                "server-side cursors are not supported by the sandbox: run the query itself "
                "(results are capped at sandbox.row_limit rows)",
            )
        for pattern, handler in ((_SET, self._set_statement), (_SHOW, self._show), (_RESET, self._reset)):
            match = pattern.match(text)
            if match:
                return handler(match)
        if looks_like_catalog_query(text):
            try:
                answer = self.catalog.answer(text, self)
            except QueryError as exc:
                raise wire_error(exc) from None
            if answer is not None:
                return answer
        return self._query(text, limit=1 if describe_only else None)

    def _query(self, sql: str, limit: int | None) -> WireResult:
        try:
            result = self.engine.run_rows(sql, dialect=self.dialect, limit=limit, client=self.client,
                                          cancellation=self.cancellation)
        except QueryError as exc:
            raise wire_error(exc) from None
        columns = [wire_column(c.name, c.type) for c in result.columns]
        notices = []
        if result.truncated and limit is None:
            notices.append(
                f"the result was truncated to {result.row_count} rows (the sandbox's row limit, "
                "sandbox.row_limit): add a LIMIT or an aggregate"
            )
        return WireResult(f"SELECT {result.row_count}", columns, result.rows, notices)

    def _copy_out(self, match: re.Match[str], describe_only: bool) -> WireResult:
        """``COPY (query) TO STDOUT`` (psql's ``\\copy … to 'file'``): the query's rows as text or CSV."""
        query = match.group("query")
        if query is None:
            query = f"SELECT {match.group('columns') or '*'} FROM {match.group('table')}"
        options = match.group("options").lower()
        mode = "csv" if re.search(r"\bcsv\b", options) else "text"
        if mode == "csv" and re.search(r"\bheader\b(?!\s*(false|off|0)\b)", options):
            mode = "csv header"
        result = self._query(query, limit=1 if describe_only else None)
        result.tag, result.copy = f"COPY {len(result.rows)}", mode
        return result

    @property
    def dialect(self) -> str:
        return self.settings.get(DIALECT_SETTING) or self.engine.default_dialect()

    @property
    def backslash_escapes(self) -> bool:
        return self.dialect in _BACKSLASH_DIALECTS

    def setting(self, name: str) -> str | None:
        name = _ALIASES.get(name.lower(), name.lower())
        if name == DIALECT_SETTING:
            return self.dialect
        if name in ("session_authorization", "current_user"):
            return self.user
        if name == "search_path" and name not in self.settings:
            # Every synthetic schema is on the path: unqualified names resolve against all of them.
            try:
                return ", ".join(sorted({t.schema_name for t in self.engine.tables()})) or "public"
            except QueryError:  # no store yet
                return "public"
        return self.settings.get(name, DEFAULT_SETTINGS.get(name))

    def _transaction(self, verb: str, rest: str) -> WireResult:
        if verb in ("BEGIN", "START"):
            self.in_transaction = True
            return WireResult("BEGIN" if verb == "BEGIN" else "START TRANSACTION")
        if verb == "SAVEPOINT":
            return WireResult("SAVEPOINT")
        if verb == "RELEASE":
            return WireResult("RELEASE")
        if verb == "ROLLBACK" and re.match(r"\s*(WORK\s+|TRANSACTION\s+)?TO\b", rest, re.IGNORECASE):
            self.failed_transaction = False  # back to the savepoint: the transaction goes on
            return WireResult("ROLLBACK")
        failed = self.failed_transaction
        self.in_transaction = self.failed_transaction = False
        if verb in ("ROLLBACK", "ABORT") or failed:
            return WireResult("ROLLBACK")
        return WireResult("COMMIT")

    def _set_statement(self, match: re.Match[str]) -> WireResult:
        body = match.group(1).strip()
        lowered = body.lower()
        if lowered.startswith("time zone"):
            self._set("timezone", body[len("time zone"):])
            return WireResult("SET")
        if lowered.startswith(("transaction", "session characteristics")):
            if "read write" in lowered:
                raise WireError("25006", "the sandbox is read-only: transactions cannot be read-write")
            return WireResult("SET")
        if lowered.startswith("names"):
            self._set("client_encoding", body[len("names"):])
            return WireResult("SET")
        parts = _SET_VALUE.match(body)
        if not parts:
            raise WireError("42601", f"cannot read this SET statement: {body[:80]!r}")
        self._set(parts.group(1).replace('"', ""), parts.group(2))
        return WireResult("SET")

    def _set(self, name: str, raw: str, startup: bool = False) -> None:
        name = _ALIASES.get(name.lower(), name.lower())
        value = _setting_value(raw)
        if name not in _SETTABLE:
            if startup:
                return  # unknown startup parameters are ignored, as PostgreSQL reports them, not fails
            raise WireError("42501", f"SET {name} is not allowed in the sandbox: only client settings "
                                     f"({DIALECT_SETTING}, search_path, TimeZone, application_name …) may change")
        if name == DIALECT_SETTING:
            if value.lower() in ("", "default"):
                self.settings.pop(name, None)
                return
            try:
                sqlglot.Dialect.get_or_raise(value.lower())
            except ValueError:
                raise WireError("22023", f"unknown SQL dialect {value!r} for {DIALECT_SETTING}") from None
            value = value.lower()
        elif name in ("transaction_read_only", "default_transaction_read_only") and value.lower() in ("off", "false"):
            raise WireError("25006", "the sandbox is read-only")
        if name in ("client_encoding",) and value.upper().replace("-", "") not in ("UTF8", "UNICODE"):
            raise WireError("22023", "the sandbox speaks UTF8 only")
        self.settings[name] = value

    def _show(self, match: re.Match[str]) -> WireResult:
        name = match.group(1).strip().strip('"')
        if name.lower() == "all":
            names = sorted({*DEFAULT_SETTINGS, *self.settings, DIALECT_SETTING})
            rows = [(n, self.setting(n) or "", "") for n in names]
            return WireResult("SHOW", [wire_column(c, "VARCHAR") for c in ("name", "setting", "description")], rows)
        value = self.setting(name)
        if value is None:
            raise WireError("42704", f'unrecognized configuration parameter "{name}"')
        column = _ALIASES.get(name.lower(), name.lower())
        column = {"timezone": "TimeZone", "datestyle": "DateStyle"}.get(column, column)
        return WireResult("SHOW", [wire_column(column, "VARCHAR")], [(value,)])

    def _reset(self, match: re.Match[str]) -> WireResult:
        name = match.group(2)
        if name is None or name.lower() == "all":
            self.settings.clear()
            return WireResult("DISCARD ALL" if name is None else "RESET")
        name = _ALIASES.get(name.lower(), name.lower())
        if name not in _SETTABLE:
            raise WireError("42501", f"RESET {name} is not allowed in the sandbox: only client settings may change")
        self.settings.pop(name, None)
        return WireResult("RESET")


def split_statements(sql: str) -> list[str]:
    """The statements of a simple query (``;`` outside strings, quoted names and comments)."""
    if ";" not in sql:
        return [sql] if sql.strip() else []
    pieces, start, i, n = [], 0, 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":
            i = sql.find(char, i + 1)
            while i != -1 and sql.startswith(char * 2, i):
                i = sql.find(char, i + 2)
            i = n if i == -1 else i + 1
        elif sql.startswith("--", i):
            i = n if sql.find("\n", i) == -1 else sql.find("\n", i) + 1
        elif sql.startswith("/*", i):
            i = n if sql.find("*/", i) == -1 else sql.find("*/", i) + 2
        elif char == ";":
            pieces.append(sql[start:i])
            start = i = i + 1
        else:
            i += 1
    pieces.append(sql[start:])
    return [p for p in pieces if p.strip()]


def looks_like_query(text: str) -> bool:
    """A query (the validator refuses several in one), not a session statement."""
    return not (_TRANSACTION.match(text) or _SET.match(text) or _SHOW.match(text) or _RESET.match(text)
                or _CURSOR.match(text))


def _setting_value(raw: str) -> str:
    value = raw.strip().rstrip(";").strip()
    if value.upper() in ("DEFAULT", "LOCAL"):
        return ""
    parts = [part.strip() for part in value.split(",")]
    return ", ".join(part[1:-1].replace("''", "'") if len(part) > 1 and part[0] == part[-1] == "'" else part
                     for part in parts)


def _startup_settings(startup: dict[str, str]) -> dict[str, str]:
    """Settings a client passes when it connects: ``options=-c name=value`` and plain parameters."""
    settings = {k: v for k, v in startup.items() if k not in ("user", "database", "options", "replication")}
    options = startup.get("options", "")
    for match in re.finditer(r"(?:-c\s*|--)([\w.]+)=((?:\\ |\S)+)", options):
        settings[match.group(1).replace("-", "_")] = match.group(2).replace("\\ ", " ")
    return settings
