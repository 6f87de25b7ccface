"""The catalog PostgreSQL clients read, for the synthetic tables and nothing else.

psql's ``\\dt``/``\\dn``/``\\d``, SQLAlchemy's reflection and JDBC's ``DatabaseMetaData`` ask
``pg_catalog`` and ``information_schema``. They are answered by a small in-memory DuckDB
database (:mod:`.pg_catalog_data` fills it) holding only catalog rows built from the store's
metadata: the synthetic tables under their warehouse schemas, their columns with PostgreSQL
types, and the primary and foreign keys the store records. It holds no data and no other
object; DuckDB's own ``pg_catalog`` (the store's internals, settings) is never reached: a
catalog query may name only the tables built here.

A catalog query is parsed as PostgreSQL, rewritten (``pg_catalog.x`` to the tables here,
session functions to literals, ``::regclass``/``::regtype`` casts to look-ups), checked like
any sandbox query (one read-only query, no file/network functions) and run in the
client's fair share of the query slots, on a connection with no external access.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError

from catalog_synth.serve.engine import LOCKED_DOWN
from catalog_synth.serve.errors import QueryFailed, QueryRefused, QueryTimeout
from catalog_synth.serve.pg_catalog_data import PG_TABLES, build_catalog
from catalog_synth.serve.pg_settings import (
    SERVER_VERSION,
    SessionFacts,
    WireResult,
    default_settings,
)
from catalog_synth.serve.pg_types import wire_column
from catalog_synth.serve.validator import check_statement

if TYPE_CHECKING:
    from catalog_synth.serve.engine import QueryEngine
    from catalog_synth.store.copies import StoredTable

_HINT = re.compile(
    r"\b(pg_\w+|information_schema|current_schemas?|current_database|current_catalog|current_setting|"
    r"current_user|session_user|version|format_type|obj_description|col_description|has_\w+_privilege)\b"
    r"|::\s*(reg\w+|oid)\b",
    re.IGNORECASE,
)
_PSQL_OPERATOR = re.compile(r"OPERATOR\s*\(\s*pg_catalog\s*\.\s*([~!*=<>]+)\s*\)", re.IGNORECASE)
_PSQL_COLLATE = re.compile(r"\s+COLLATE\s+(pg_catalog\s*\.\s*)?\"?(default|C)\"?", re.IGNORECASE)
_QUALIFIED_CALL = re.compile(r"\b(pg_catalog|information_schema)\s*\.\s*(?=\w+\s*\()", re.IGNORECASE)
_SESSION_FUNCTIONS = (exp.CurrentUser, exp.SessionUser, exp.CurrentSchema, exp.CurrentSchemas,
                      exp.CurrentDatabase, exp.CurrentVersion)
_TABLE_FUNCTIONS = {"generate_series", "generate_subscripts", "unnest", "range", "pg_get_keywords"}
_CATALOG_SCHEMAS = {"pg_catalog", "information_schema"}


def looks_like_catalog_query(sql: str) -> bool:
    """A cheap first look: could ``sql`` be a catalog query? (Most queries are not.)"""
    return bool(_HINT.search(sql))


class CatalogCache:
    """The catalog databases of the store's current tables, rebuilt when a sync changes them.

    With several warehouses, a connection whose database is a warehouse's name sees that
    warehouse's tables (as a PostgreSQL database holds its own schemas); any other sees all.
    """

    def __init__(self, engine: QueryEngine):
        self.engine = engine
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._catalogs: dict[str | None, tuple[duckdb.DuckDBPyConnection, list[str]]] = {}

    def answer(self, sql: str, session: SessionFacts) -> WireResult | None:
        """The answer to a catalog query, or None when ``sql`` is not one (it goes to the engine)."""
        statement = _parse(sql)
        if statement is None or not _is_catalog_query(statement):
            return None
        connection, schemas = self._current(session.database)
        rewritten = _rewrite(statement, session, schemas)
        check_statement(rewritten)
        text = rewritten.sql("duckdb")
        limit = self.engine.settings.row_limit
        with self.engine.slots.hold(session.client):
            cursor = connection.cursor()
            try:
                relation = cursor.sql(text)
                if relation is None:
                    raise QueryRefused("only read-only queries are allowed")
                columns = [wire_column(name, str(kind)) for name, kind in zip(relation.columns, relation.types)]
                rows = relation.limit(limit).fetchall()
            except duckdb.InterruptException:
                raise QueryTimeout(
                    f"the query was stopped after the sandbox's {self.engine.settings.timeout_seconds:g} s limit"
                ) from None
            except duckdb.Error as exc:
                raise QueryFailed(str(exc).strip().splitlines()[0]) from None
            finally:
                cursor.close()

        return WireResult(f"SELECT {len(rows)}", columns, rows)

    def close(self) -> None:
        with self._lock:
            for connection, _ in self._catalogs.values():
                connection.close()
            self._catalogs.clear()

    def _current(self, database: str) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
        tables = self.engine.tables()
        key = tuple((t.logical_name, t.synced_at, t.fingerprint) for t in tables)
        warehouses = {t.warehouse for t in tables}
        scope = database if len(warehouses) > 1 and database in warehouses else None
        with self._lock:
            if key != self._key:
                # Dropped, not closed: a catalog query still running keeps its database until it ends.
                self._catalogs = {}
                self._key = key
            if scope not in self._catalogs:
                self._catalogs[scope] = self._build([t for t in tables if scope in (None, t.warehouse)])
            return self._catalogs[scope]

    def _build(self, tables: list[StoredTable]) -> tuple[duckdb.DuckDBPyConnection, list[str]]:

        fresh = _connect(self.engine.settings.timeout_seconds)
        try:
            schemas = build_catalog(fresh, tables)
            fresh.executemany("INSERT INTO main.pg_settings (name, setting, vartype, source) VALUES (?, ?, "
                              "'string', 'default')", sorted(default_settings().items()))
            fresh.execute("SET enable_external_access = false")
            fresh.execute("SET lock_configuration = true")
        except BaseException:
            fresh.close()
            raise
        return fresh, schemas


def _connect(timeout_seconds: float) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        ":memory:",
        config={
            **LOCKED_DOWN,
            "threads": 1,
            "memory_limit": "256MB",
            "lambda_syntax": "ENABLE_SINGLE_ARROW",  # sqlglot writes x -> y
            "max_execution_time": int(timeout_seconds * 1000),
        },
    )


def _parse(sql: str) -> exp.Expr | None:
    text = _PSQL_COLLATE.sub("", _PSQL_OPERATOR.sub(r" \1 ", sql))
    text = _QUALIFIED_CALL.sub("", text)  # pg_catalog.version() is version(): sqlglot then knows it
    try:
        statements = [s for s in sqlglot.parse(text, read="postgres", error_level=ErrorLevel.RAISE) if s is not None]
    except (ParseError, TokenError, RecursionError):
        return None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        return None
    return statements[0]


def _is_catalog_query(statement: exp.Expr) -> bool:
    for table in statement.find_all(exp.Table):
        if table.db.lower() in _CATALOG_SCHEMAS or (not table.db and table.name.lower() in PG_TABLES):
            return True
    for node in statement.walk():
        if isinstance(node, _SESSION_FUNCTIONS):
            return True
        if isinstance(node, exp.Anonymous) and _is_catalog_function(node.name):
            return True
        if isinstance(node, exp.Cast) and isinstance(node.to, exp.ObjectIdentifier):
            return True
    return False


def _is_catalog_function(name: str) -> bool:
    name = name.lower()
    return (name.startswith(("pg_", "has_")) or name in ("current_setting", "format_type", "obj_description",
                                                           "col_description", "shobj_description"))


def _rewrite(statement: exp.Expr, session: SessionFacts, schemas: list[str]) -> exp.Expr:
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    _name_function_columns(statement)

    def transform(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            return _catalog_table(node, ctes)
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Cast):  # pg_partition_ancestors(x)
            select = sqlglot.parse_one(f"SELECT {node.this.sql('duckdb')} AS relid, 1 AS depth", read="duckdb")
            return exp.Subquery(this=select, alias=node.args.get("alias"))
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
            name = node.this.name.lower() if isinstance(node.this, exp.Anonymous) else node.this.sql_name().lower()
            if name not in _TABLE_FUNCTIONS and not isinstance(node.this, (exp.Unnest, exp.GenerateSeries)):
                raise QueryRefused(f"table function {name}() is not allowed in a catalog query")
            node.set("db", None)
            return node
        if isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier) and node.this.name.lower() == "pg_catalog":
            return node.expression
        if isinstance(node, exp.Column) and node.args.get("db") is not None:
            schema = node.args["db"].name.lower()
            if schema in _CATALOG_SCHEMAS:
                node.set("db", exp.to_identifier("main" if schema == "pg_catalog" else "isc"))
            return node
        if isinstance(node, exp.Column) and not node.table and node.name.lower() in ("user", "current_user", "session_user") and not node.this.quoted:
            return exp.Literal.string(session.user)
        if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
            return exp.Literal.string(session.user)
        if isinstance(node, exp.CurrentDatabase):
            return exp.Literal.string(session.database)
        if isinstance(node, exp.CurrentVersion):

            return exp.Literal.string(f"PostgreSQL {SERVER_VERSION} on DuckDB, read-only synthetic data")
        if isinstance(node, exp.CurrentSchema):
            return exp.Literal.string(schemas[0] if schemas else "public")
        if isinstance(node, exp.CurrentSchemas):
            implicit = bool(node.this) and node.this.sql().upper() == "TRUE"
            names = (["pg_catalog"] if implicit else []) + schemas
            return exp.Array(expressions=[exp.Literal.string(s) for s in names])
        if isinstance(node, (exp.JSONObject, exp.Anonymous)) and node.sql_name().lower() in ("json_build_object", "json_object") or (
                isinstance(node, exp.Anonymous) and node.name.lower() == "json_build_object"):
            return exp.Cast(this=exp.null(), to=exp.DataType.build("VARCHAR"))  # only over empty sequences here
        if isinstance(node, exp.Anonymous) and node.name.lower() == "_pg_expandarray" and node.expressions:
            array = node.expressions[0].sql("duckdb")  # JDBC's getPrimaryKeys: one (x, n) row per element
            return sqlglot.parse_one(
                f"UNNEST(LIST_TRANSFORM(RANGE(1, LEN({array}) + 1), _k -> {{'x': ({array})[_k], 'n': _k}}))",
                read="duckdb",
            )
        if isinstance(node, exp.Anonymous) and node.name.lower() == "pg_partition_ancestors" and node.expressions:
            return exp.Cast(this=node.expressions[0], to=exp.DataType.build("BIGINT"))  # no partitions here
        if isinstance(node, exp.Anonymous) and node.name.lower() in ("current_setting", "current_catalog"):
            return _current_setting(node, session)
        if isinstance(node, exp.Cast) and isinstance(node.to, exp.ObjectIdentifier):
            return _object_cast(node, node.to.name.upper())
        if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.USERDEFINED:
            kind = node.to.args.get("kind")
            name = (kind.expression if isinstance(kind, exp.Dot) else kind).name.lower() if kind else ""
            if name.startswith("reg") or name == "oid":
                return _object_cast(node, name.upper())
            builtin = {"text": "VARCHAR", "name": "VARCHAR", "char": "VARCHAR", "varchar": "VARCHAR",
                       "int2": "SMALLINT", "int4": "INTEGER", "int8": "BIGINT", "bool": "BOOLEAN"}
            return exp.Cast(this=node.this, to=exp.DataType.build(builtin.get(name, "VARCHAR")))
        return node

    # Children first: a cast of a cast, a function under pg_catalog's prefix, are rewritten inside out.
    for node in reversed(list(statement.walk(bfs=False))):
        fresh = transform(node)
        if fresh is not node:
            if node is statement:
                statement = fresh
            else:
                node.replace(fresh)
    return statement


_FUNCTION_COLUMNS = {exp.CurrentUser: "current_user", exp.SessionUser: "session_user",
                     exp.CurrentSchema: "current_schema", exp.CurrentSchemas: "current_schemas",
                     exp.CurrentDatabase: "current_database", exp.CurrentVersion: "version"}


def _name_function_columns(statement: exp.Expr) -> None:
    """An unnamed function column is named after the function, as PostgreSQL does (``version``)."""
    for select in statement.find_all(exp.Select):
        for index, projection in enumerate(select.expressions):
            name = _FUNCTION_COLUMNS.get(type(projection))
            if name is None and isinstance(projection, exp.Anonymous) or name is None and isinstance(projection, exp.Column) and not projection.table and \
                    projection.name.lower() in ("user", "current_user", "session_user") and not projection.this.quoted:
                name = projection.name.lower()
            if name:
                select.expressions[index] = exp.alias_(projection.copy(), name, quoted=True)


def _catalog_table(table: exp.Table, ctes: set[str]) -> exp.Table:
    schema, name = table.db.lower(), table.name.lower()
    if table.catalog:
        raise QueryRefused(f"relation {table.sql('postgres')!r} is not in the sandbox's catalog")
    if not schema and name in ctes:
        return table
    if schema == "information_schema":
        if f"isc.{name}" not in PG_TABLES.values():
            raise QueryFailed(f'relation "information_schema.{name}" does not exist')
        table.set("db", exp.to_identifier("isc"))
        return table
    if schema in ("pg_catalog", "") and name in PG_TABLES:
        table.set("db", exp.to_identifier("main"))
        table.set("this", exp.to_identifier(name))
        return table
    if schema == "pg_catalog" or (not schema and name.startswith("pg_")):
        raise QueryFailed(f'relation "pg_catalog.{name}" does not exist')
    # A synthetic table beside the catalog: catalog queries read the catalog only.
    raise QueryRefused(f"a catalog query reads pg_catalog and information_schema only (not {table.sql('postgres')!r})")


def _current_setting(node: exp.Anonymous, session: SessionFacts) -> exp.Expr:
    if node.name.lower() == "current_catalog":
        return exp.Literal.string(session.database)
    argument = node.expressions[0] if node.expressions else None
    if not isinstance(argument, exp.Literal) or not argument.is_string:
        raise QueryRefused("current_setting() takes a setting's name as a string")
    value = session.setting(argument.this)
    if value is None:
        missing_ok = len(node.expressions) > 1 and node.expressions[1].sql().upper() == "TRUE"
        if missing_ok:
            return exp.null()
        raise QueryFailed(f'unrecognized configuration parameter "{argument.this}"')
    return exp.Literal.string(value)


def _object_cast(node: exp.Cast, kind: str) -> exp.Expr:
    value = node.this
    if kind == "OID":
        return exp.Cast(this=value, to=exp.DataType.build("BIGINT"))
    if kind.startswith("REG") and isinstance(value, exp.Literal) and value.is_string and value.this.isdigit():
        return exp.Cast(this=value, to=exp.DataType.build("BIGINT"))
    if kind == "REGCLASS" and isinstance(value, exp.Literal) and value.is_string:
        parts = [p.strip('"') for p in value.this.split(".")]
        where = f"c.relname = {_quote(parts[-1])}"
        if len(parts) > 1:
            where += f" AND n.nspname = {_quote(parts[-2])}"
        lookup = f"(SELECT min(c.oid) FROM main.pg_class c JOIN main.pg_namespace n ON n.oid = c.relnamespace WHERE {where})"
        return sqlglot.parse_one(lookup, read="duckdb")
    if kind == "REGCLASS":
        return sqlglot.parse_one(f"(SELECT min(relname) FROM main.pg_class WHERE oid = {value.sql('duckdb')})", read="duckdb")
    if kind == "REGTYPE" and isinstance(value, exp.Literal) and value.is_string:
        return sqlglot.parse_one(f"(SELECT min(oid) FROM main.pg_type WHERE typname = {_quote(value.this)})", read="duckdb")
    if kind == "REGTYPE":
        return exp.Anonymous(this="format_type", expressions=[value, exp.null()])
    if kind == "REGNAMESPACE":
        return sqlglot.parse_one(f"(SELECT min(nspname) FROM main.pg_namespace WHERE oid = {value.sql('duckdb')})", read="duckdb")
    # regproc, regprocedure, regrole …: their names
    return exp.Cast(this=value, to=exp.DataType.build("VARCHAR"))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
