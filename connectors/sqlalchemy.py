"""The SQLAlchemy connector: PostgreSQL, SQLite, DuckDB (duckdb-engine), MySQL and cloud dialects.

Samples are drawn inside the warehouse (``TABLESAMPLE``, ``USING SAMPLE``,
``SAMPLE (n ROWS)``, ``ORDER BY random() LIMIT n``; see :mod:`connectors.sampling`),
so at most ``rows`` rows ever reach Python.
"""

from __future__ import annotations

import itertools
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import types as sa_types
from sqlalchemy.engine import Engine, make_url

from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    ForeignKey,
    TableInfo,
    TableRef,
)
from connectors import (
    Capability,
    Connector,
    ConnectorError,
    TableVanished,
    WarehouseUnavailable,
    matches,
    or_error,
)
from connectors.sampling import SampleTarget, sample_statements, supports

# SQLAlchemy dialect name -> (DataHub platform, sqlglot dialect)
_PLATFORMS = {
    "postgresql": ("postgres", "postgres"),
    "mysql": ("mysql", "mysql"),
    "mariadb": ("mariadb", "mysql"),
    "sqlite": ("sqlite", "sqlite"),
    "duckdb": ("duckdb", "duckdb"),
    "snowflake": ("snowflake", "snowflake"),
    "bigquery": ("bigquery", "bigquery"),
    "redshift": ("redshift", "redshift"),
    "mssql": ("mssql", "tsql"),
    "oracle": ("oracle", "oracle"),
    "trino": ("trino", "trino"),
    "databricks": ("databricks", "databricks"),
    "clickhouse": ("clickhouse", "clickhouse"),
}

_SYSTEM_SCHEMAS = {
    "information_schema",
    "pg_catalog",
    "pg_toast",
    "mysql",
    "performance_schema",
    "sys",
    "temp",
}

# Above this many rows an exact COUNT(*) is replaced by catalog statistics where available.
EXACT_COUNT_LIMIT = 1_000_000
# Planning reads of other tables wait at most this long for a lock (then use the estimate).
LOCK_WAIT_MS = 2000
_LOCK_NOT_AVAILABLE = "55P03"

# SQLSTATE classes and codes of failures that a retry can cure: connection exceptions (08),
# insufficient resources (53), operator intervention (57: shutdown, restart, cancel),
# system errors (58), serialization failures and deadlocks.
_TRANSIENT_SQLSTATE_CLASSES = {"08", "53", "57", "58"}
_TRANSIENT_SQLSTATES = {"40001", "40P01"}
# Drivers without SQLSTATEs (pymysql, sqlite3) raise OperationalError for these too: not transient.
_PERMANENT_MARKERS = ("no such", "unknown column", "does not exist", "doesn't exist", "syntax", "denied", "permission")


def column_kind(sql_type: sa_types.TypeEngine) -> tuple[ColumnKind, str | None]:
    """Map a reflected SQL type to a logical kind (and why it is unsupported, if it is)."""
    type_name = type(sql_type).__name__.upper()
    unsupported = _unsupported_reason(sql_type, type_name)
    if unsupported:
        return ColumnKind.UNSUPPORTED, unsupported
    if isinstance(sql_type, sa_types.Boolean):
        return ColumnKind.BOOLEAN, None
    if isinstance(sql_type, sa_types.Integer):
        return ColumnKind.INTEGER, None
    if isinstance(sql_type, sa_types.Float) or type_name in {"REAL", "DOUBLE", "DOUBLE_PRECISION"}:
        return ColumnKind.FLOAT, None
    if isinstance(sql_type, sa_types.Numeric):
        has_scale = getattr(sql_type, "scale", None) is not None
        return (ColumnKind.DECIMAL if has_scale else ColumnKind.FLOAT), None
    if isinstance(sql_type, sa_types.DateTime):
        return ColumnKind.DATETIME, None
    if isinstance(sql_type, sa_types.Date):
        return ColumnKind.DATE, None
    if isinstance(sql_type, sa_types.Uuid) or type_name == "UUID":
        return ColumnKind.UUID, None
    if isinstance(sql_type, (sa_types.String, sa_types.Enum)):
        return ColumnKind.STRING, None
    return ColumnKind.UNSUPPORTED, f"type {type_name.lower()} has no synthetic model"


def kind_from_type_name(type_text: str) -> tuple[ColumnKind, str | None, int | None, int | None]:
    """Map a type as the database spells it (``DECIMAL(12,2)``, ``VARCHAR``, ``INTEGER[]``) to a kind.

    Returns (kind, unsupported reason, precision, scale).
    """
    text = type_text.strip().upper()
    base = re.split(r"[(\s]", text, maxsplit=1)[0]
    if text.endswith("]") or base in {"STRUCT", "MAP", "UNION", "LIST"}:
        return ColumnKind.UNSUPPORTED, "array or nested columns cannot be synthesized", None, None
    simple = {
        "BOOLEAN": ColumnKind.BOOLEAN, "BOOL": ColumnKind.BOOLEAN, "DATE": ColumnKind.DATE,
        "UUID": ColumnKind.UUID, "VARCHAR": ColumnKind.STRING, "TEXT": ColumnKind.STRING,
        "STRING": ColumnKind.STRING, "CHAR": ColumnKind.STRING, "BPCHAR": ColumnKind.STRING,
        "DOUBLE": ColumnKind.FLOAT, "FLOAT": ColumnKind.FLOAT, "REAL": ColumnKind.FLOAT,
    }
    if base in simple:
        return simple[base], None, None, None
    if base.endswith("INT") or base in {"INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UHUGEINT"} or (
        base.startswith("U") and "INT" in base
    ):
        return ColumnKind.INTEGER, None, None, None
    if base.startswith("TIMESTAMP") or base == "DATETIME":
        return ColumnKind.DATETIME, None, None, None
    if base in {"DECIMAL", "NUMERIC"}:
        digits = [int(d) for d in re.findall(r"\d+", text)]
        if len(digits) == 2:
            return ColumnKind.DECIMAL, None, digits[0], digits[1]
        return ColumnKind.FLOAT, None, None, None
    reasons = {"JSON": "json", "BLOB": "binary", "BYTEA": "binary", "INTERVAL": "interval", "TIME": "time of day",
               "BIT": "bit string", "GEOMETRY": "geometry"}
    reason = reasons.get(base, f"type {base.lower()}")
    return ColumnKind.UNSUPPORTED, f"{reason} columns cannot be synthesized", None, None


def _unsupported_reason(sql_type: sa_types.TypeEngine, type_name: str) -> str | None:
    checks: list[tuple[Callable[[], bool], str]] = [
        (lambda: isinstance(sql_type, sa_types.JSON) or "JSON" in type_name, "json"),
        (lambda: isinstance(sql_type, sa_types.ARRAY) or type_name.endswith("ARRAY"), "array"),
        (lambda: isinstance(sql_type, sa_types._Binary) or type_name in {"BYTEA", "BLOB", "VARBINARY"}, "binary"),
        (lambda: isinstance(sql_type, sa_types.Interval) or type_name == "INTERVAL", "interval"),
        (lambda: isinstance(sql_type, sa_types.Time), "time of day"),
        (lambda: type_name in {"GEOMETRY", "GEOGRAPHY", "POINT", "NULLTYPE"}, "geometry or unknown type"),
        (lambda: type_name in {"STRUCT", "MAP", "UNION", "HSTORE", "TSVECTOR", "INET", "CIDR", "BIT"}, type_name.lower()),
    ]
    for check, reason in checks:
        if check():
            return f"{reason} columns cannot be synthesized"
    return None


# SQLAlchemy backend -> the catalog-synth extra that installs its driver.
DRIVER_EXTRAS = {
    "mysql": "mysql", "mariadb": "mysql", "snowflake": "snowflake", "bigquery": "bigquery", "redshift": "redshift",
}  # fmt: skip
# Backends whose database is a local file (or ":memory:").
_FILE_BACKENDS = {"sqlite", "duckdb"}


def missing_driver(backend: str, exc: BaseException) -> str:
    """What to install when the driver (or the SQLAlchemy dialect) of ``backend`` is missing."""
    extra = DRIVER_EXTRAS.get(backend)
    how = f"pip install 'catalog-synth[{extra}]'" if extra else f"install the SQLAlchemy driver for {backend}"
    return f"the {backend} driver is not installed ({safe_error(exc)}); {how}"


def database_file_missing(backend: str, database: str | None) -> str | None:
    """Why a SQLite or DuckDB file cannot be opened (None when it can): a mistyped path must not
    be taken for an empty warehouse (SQLite would even create the file)."""
    if backend not in _FILE_BACKENDS or not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    if not path.exists():
        return f"{backend} database file {path} does not exist"
    if not path.is_file():
        return f"{backend} database path {path} is not a file"
    if not os.access(path, os.R_OK):
        return f"{backend} database file {path} cannot be read (permission denied)"
    return None


def is_transient(exc: sa_exc.SQLAlchemyError) -> bool:
    """Whether a warehouse error is worth retrying (connection lost, server restarting, deadlock)."""
    if getattr(exc, "connection_invalidated", False) or isinstance(
        exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)
    ):
        return True
    original = getattr(exc, "orig", None)
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate:
        return sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES
    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return False
    text = str(original or exc).lower()
    return not any(marker in text for marker in _PERMANENT_MARKERS)


def warehouse_error(exc: sa_exc.SQLAlchemyError, action: str, prefix: str = "") -> ConnectorError:
    """The ConnectorError for a failed ``action``: WarehouseUnavailable when a retry may cure it."""
    error_class = WarehouseUnavailable if is_transient(exc) else ConnectorError
    return error_class(f"{prefix}cannot {action} ({safe_error(exc)})")


def table_error(exc: sa_exc.SQLAlchemyError, ref: TableRef, action: str) -> ConnectorError:
    """A failed read of one table: :class:`TableVanished` if it is gone, else a warehouse error."""
    if _is_missing_table(exc):
        return TableVanished(f"table {ref.qualified} no longer exists")
    return warehouse_error(exc, f"{action} {ref.qualified}")


def safe_error(exc: BaseException) -> str:
    """The first line of a driver error: no statement, no parameters, no DETAIL with values."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    first = text[0] if text else type(original).__name__
    return f"{type(original).__name__}: {first}"[:300]


class SQLAlchemyConnector(Connector):
    capabilities = frozenset(Capability)

    def __init__(self, name: str, url: str):
        super().__init__(name, url)
        parsed = make_url(url)
        self.dialect_name = parsed.get_backend_name()
        self.platform, self.dialect = _PLATFORMS.get(self.dialect_name, (self.dialect_name, self.dialect_name))
        self.database = parsed.database
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._create_engine(pool_pre_ping=True)
        return self._engine

    def _create_engine(self, **options: Any) -> Engine:
        """The engine, or a ConnectorError that says what to do: install the driver's extra,
        fix the path of a database file that is not there (it is never created)."""
        missing_file = database_file_missing(self.dialect_name, self.database)
        if missing_file:
            raise ConnectorError(f"warehouse {self.name!r}: {missing_file}")
        try:
            return sa.create_engine(self.url, **options)
        except (ImportError, sa_exc.NoSuchModuleError) as exc:
            raise ConnectorError(f"warehouse {self.name!r}: {missing_driver(self.dialect_name, exc)}") from None
        except Exception as exc:  # bad URL: never echo the URL
            raise ConnectorError(f"warehouse {self.name!r}: cannot create engine ({safe_error(exc)})") from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- listing -------------------------------------------------------------------------
    def list_tables(self, include: list[str], exclude: list[str]) -> list[TableRef]:
        try:
            inspector = sa.inspect(self.engine)
            refs = [
                TableRef(self.name, schema, table)
                for schema in self._schemas(inspector)
                for table in inspector.get_table_names(schema=schema)
            ]
        except sa_exc.SQLAlchemyError as exc:
            raise warehouse_error(exc, "list tables", prefix=f"warehouse {self.name!r}: ") from None
        return sorted(ref for ref in refs if matches(ref.qualified, include, exclude))

    def _schemas(self, inspector: sa.Inspector) -> list[str]:
        if self.dialect_name == "sqlite":
            return ["main"]
        schemas = [s for s in inspector.get_schema_names() if s.lower() not in _SYSTEM_SCHEMAS]
        if self.dialect_name == "duckdb":
            # duckdb-engine lists "catalog.schema" for attached catalogs; keep the file's own.
            schemas = [s for s in schemas if "." not in s and s not in {"pg_catalog"}]
        return schemas

    # -- describing ----------------------------------------------------------------------
    def describe(self, ref: TableRef, lock_wait_ms: int | None = None) -> TableInfo:
        """Columns, keys and row count. With ``lock_wait_ms`` the row count waits at most that
        long for another session's lock (PostgreSQL), then is the catalog's estimate."""
        try:
            described = self._describe_batch(self._schema_arg(ref), [ref], lock_wait_ms)[ref]
        except sa_exc.SQLAlchemyError as exc:
            raise table_error(exc, ref, "describe") from None
        if isinstance(described, ConnectorError):
            raise described
        return described

    def describe_many(self, refs: list[TableRef]) -> dict[TableRef, TableInfo | ConnectorError]:
        """One batch of catalog queries per schema (SQLAlchemy's multi-table reflection); a
        schema whose batch fails is described a table at a time, so a bad table fails alone."""
        described: dict[TableRef, TableInfo | ConnectorError] = {}
        for _, group in itertools.groupby(sorted(refs), key=lambda ref: ref.schema):
            tables = list(group)
            try:
                described.update(self._describe_batch(self._schema_arg(tables[0]), tables, LOCK_WAIT_MS))
            except sa_exc.SQLAlchemyError:
                described.update({ref: or_error(lambda ref=ref: self.describe(ref, LOCK_WAIT_MS)) for ref in tables})
        return described

    def _describe_batch(
        self, schema: str | None, refs: list[TableRef], lock_wait_ms: int | None
    ) -> dict[TableRef, TableInfo | ConnectorError]:
        names = [ref.name for ref in refs]
        inspector = sa.inspect(self.engine)
        with warnings.catch_warnings():  # unknown types (point, geometry) become UNSUPPORTED
            warnings.simplefilter("ignore", sa_exc.SAWarning)
            columns = inspector.get_multi_columns(schema=schema, filter_names=names)
        primary_keys = inspector.get_multi_pk_constraint(schema=schema, filter_names=names)
        foreign_keys = inspector.get_multi_foreign_keys(schema=schema, filter_names=names)
        default_schema = inspector.default_schema_name or refs[0].schema
        estimates = self._estimated_rows(refs)
        described: dict[TableRef, TableInfo | ConnectorError] = {}
        for ref in refs:
            key = (schema, ref.name) if (schema, ref.name) in columns else (None, ref.name)
            if not columns.get(key):
                described[ref] = TableVanished(f"table {ref.qualified} no longer exists")
                continue
            try:
                row_count, estimated = self._row_count(ref, lock_wait_ms, estimates.get(ref))
            except sa_exc.SQLAlchemyError as exc:
                described[ref] = table_error(exc, ref, "describe")
                continue
            described[ref] = TableInfo(
                ref,
                [self._column(column) for column in columns[key]],
                tuple((primary_keys.get(key) or {}).get("constrained_columns") or ()),
                [self._foreign_key(fk, default_schema) for fk in foreign_keys.get(key, [])],
                row_count,
                estimated,
            )
        return described

    def _schema_arg(self, ref: TableRef) -> str | None:
        return None if self.dialect_name == "sqlite" else ref.schema

    @staticmethod
    def _column(reflected: dict) -> ColumnInfo:
        sql_type = reflected["type"]
        kind, reason = column_kind(sql_type)
        try:
            type_text = str(sql_type)
        except Exception:  # some dialect types cannot render without a dialect
            type_text = type(sql_type).__name__
        text = kind is ColumnKind.STRING
        return ColumnInfo(
            name=reflected["name"],
            sql_type=type_text,
            kind=kind,
            nullable=bool(reflected.get("nullable", True)),
            precision=getattr(sql_type, "precision", None) if kind is ColumnKind.DECIMAL else None,
            scale=getattr(sql_type, "scale", None) if kind is ColumnKind.DECIMAL else None,
            unsupported_reason=reason,
            length=getattr(sql_type, "length", None) if text else None,
            padded=text and isinstance(sql_type, sa_types.CHAR) and not isinstance(sql_type, sa_types.Enum),
            labels=tuple(sql_type.enums) if isinstance(sql_type, sa_types.Enum) else (),
        )

    def _foreign_key(self, fk: dict, default_schema: str) -> ForeignKey:
        # Reflection leaves the schema out when the parent is in the default schema.
        referred_schema = fk.get("referred_schema") or default_schema
        return ForeignKey(
            columns=tuple(fk["constrained_columns"]),
            referred=TableRef(self.name, referred_schema, fk["referred_table"]),
            referred_columns=tuple(fk["referred_columns"]),
        )

    def _table(self, ref: TableRef, columns: list[str] | None = None) -> sa.TableClause:
        cols = [sa.column(c) for c in columns] if columns else []
        return sa.table(ref.name, *cols, schema=self._schema_arg(ref))

    def _row_count(self, ref: TableRef, lock_wait_ms: int | None, estimate: int | None) -> tuple[int, bool]:
        if estimate is not None and estimate > EXACT_COUNT_LIMIT:
            return estimate, True
        bounded = lock_wait_ms is not None and self.dialect_name == "postgresql"
        try:
            with self.engine.begin() as con:
                if bounded:
                    con.exec_driver_sql(f"SET LOCAL lock_timeout = {int(lock_wait_ms)}")
                return int(con.execute(sa.select(sa.func.count()).select_from(self._table(ref))).scalar_one()), False
        except sa_exc.OperationalError as exc:
            if bounded and _sqlstate(exc) == _LOCK_NOT_AVAILABLE:
                return max(estimate or 0, 0), True
            raise

    def _estimated_rows(self, refs: list[TableRef]) -> dict[TableRef, int]:
        """Row counts from catalog statistics, where the warehouse keeps them cheaply (one query)."""
        if self.dialect_name != "postgresql" or not refs:
            return {}
        query = sa.text(
            "SELECT n.nspname, c.relname, c.reltuples::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(:schemas) AND c.relname = ANY(:tables) AND c.reltuples >= 0"
        )
        wanted = set(refs)
        params = {"schemas": sorted({ref.schema for ref in refs}), "tables": sorted({ref.name for ref in refs})}
        with self.engine.connect() as con:
            rows = con.execute(query, params).all()
        estimates = {TableRef(self.name, schema, table): int(count) for schema, table, count in rows}
        return {ref: count for ref, count in estimates.items() if ref in wanted}

    # -- sampling ------------------------------------------------------------------------
    def sample(self, info: TableInfo, rows: int, seed: int | None = None) -> pd.DataFrame:
        """At most ``rows`` random rows of the columns synthesis can use (unsupported ones are not read)."""
        columns = [c.name for c in info.columns if c.kind is not ColumnKind.UNSUPPORTED]
        if not columns or info.row_count == 0:
            return pd.DataFrame(columns=columns)
        wanted = min(rows, info.row_count)
        try:
            with self.engine.connect() as con:
                self._seed_random(con, seed)
                for statement in self._sample_statements(info, columns, rows, seed):
                    # Block sampling on stale statistics can come back short: then the next, exact one.
                    frame = pd.read_sql(statement, con)
                    if len(frame) >= wanted:
                        break
        except sa_exc.SQLAlchemyError as exc:
            raise table_error(exc, info.ref, "sample") from None
        return unpadded(frame.head(rows), info)

    def _seed_random(self, con: sa.Connection, seed: int | None) -> None:
        """With a configured seed, ``random()`` draws the same sample each run (where the database allows)."""
        if seed is not None and self.dialect_name in {"postgresql", "duckdb"}:
            con.execute(sa.text("SELECT setseed(:seed)"), {"seed": (seed % 10_000) / 10_000})

    def _sample_statements(
        self, info: TableInfo, columns: list[str], rows: int, seed: int | None = None
    ) -> list[str | sa.Executable]:
        if supports(self.dialect_name):
            quote = self.engine.dialect.identifier_preparer.quote
            target = SampleTarget(
                self.dialect_name, self._schema_arg(info.ref), info.ref.name, tuple(columns), quote, seed
            )
            # Plain strings run as driver SQL; the dialect's quoting already escapes '%' for it.
            return sample_statements(target, rows, info.row_count)
        table = self._table(info.ref, columns)  # another dialect: let SQLAlchemy spell it
        return [sa.select(*[table.c[c] for c in columns]).order_by(sa.func.random()).limit(rows)]

    # -- related rows (referential integrity) --------------------------------------------
    # Key values are sent in bound IN lists of at most this many keys.
    KEY_CHUNK = 500
    # Values looked up in a whole column (each lookup scans it): fewer, longer lists.
    VALUE_CHUNK = 5000

    def count_by_key(self, info: TableInfo, columns: tuple[str, ...], keys: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``info`` per value of ``columns`` among ``keys`` (a frame with those columns):
        the key columns plus ``children``; keys without rows are absent."""
        table = self._table(info.ref, list(columns))
        selected = [table.c[c] for c in columns]
        parts = [
            self._read(
                sa.select(*selected, sa.func.count().label("children"))
                .where(self._key_condition(table, columns, chunk))
                .group_by(*selected),
                info.ref,
                "count related rows of",
            )
            for chunk in self._key_chunks(keys, columns)
        ]
        return _concat(parts, [*columns, "children"])

    def sample_children(
        self, info: TableInfo, columns: tuple[str, ...], keys: pd.DataFrame, rows: int
    ) -> pd.DataFrame:
        """At most ``rows`` rows of ``info`` (the columns synthesis can use) whose ``columns``
        equal a row of ``keys``: the children of sampled parents."""
        readable = [c.name for c in info.columns if c.kind is not ColumnKind.UNSUPPORTED]
        table = self._table(info.ref, sorted({*readable, *columns}))
        parts: list[pd.DataFrame] = []
        for chunk in self._key_chunks(keys, columns):
            remaining = rows - sum(len(part) for part in parts)
            if remaining <= 0:
                break
            statement = sa.select(*[table.c[c] for c in readable]).where(
                self._key_condition(table, columns, chunk)
            )
            parts.append(self._read(statement.limit(remaining), info.ref, "sample"))
        return unpadded(_concat(parts, readable).head(rows), info)

    def existing_keys(self, ref: TableRef, columns: tuple[str, ...], keys: pd.DataFrame) -> pd.DataFrame:
        """The distinct rows of ``keys`` that also occur as values of ``columns`` in the table."""
        table = self._table(ref, list(columns))
        parts = [
            self._read(
                sa.select(*[table.c[c] for c in columns]).where(self._key_condition(table, columns, chunk)).distinct(),
                ref,
                "look up keys in",
            )
            for chunk in self._key_chunks(keys, columns)
        ]
        return _concat(parts, list(columns))

    def lookup(
        self, ref: TableRef, key_columns: tuple[str, ...], value_columns: tuple[str, ...], keys: pd.DataFrame
    ) -> pd.DataFrame:
        """The ``value_columns`` of the rows whose ``key_columns`` equal a row of ``keys``: the key
        columns first, then the values (``invoice.customerid`` of sampled invoices)."""
        table = self._table(ref, sorted({*key_columns, *value_columns}))
        selected = [table.c[c].label(f"key{i}") for i, c in enumerate(key_columns)] + [
            table.c[c].label(f"value{i}") for i, c in enumerate(value_columns)
        ]
        parts = [
            self._read(sa.select(*selected).where(self._key_condition(table, key_columns, chunk)), ref, "look up keys in")
            for chunk in self._key_chunks(keys, key_columns)
        ]
        return _concat(parts, [label.name for label in selected])

    def count_values(
        self, ref: TableRef, column: ColumnInfo, values: Sequence[object], distinct_of: str | None = None
    ) -> dict[object, int]:
        """Rows of the whole column holding each of ``values`` (or, with ``distinct_of``, distinct
        values of that column among them: the people holding it); values no row holds are absent.

        Text is compared as a reader would, ignoring case and spaces (``' Ann  Lee '`` holds
        ``ann lee``), and keyed in that form."""
        table = self._table(ref, [column.name, *([distinct_of] if distinct_of else [])])
        textual = column.kind is ColumnKind.STRING
        target = sa.func.lower(sa.func.replace(table.c[column.name], " ", "")) if textual else table.c[column.name]
        wanted = list(dict.fromkeys(str(v).replace(" ", "").lower() if textual else _native(v) for v in values))
        counted = sa.func.count(sa.distinct(table.c[distinct_of])) if distinct_of else sa.func.count()
        counts: dict[object, int] = {}
        for condition in self._among(target, column.kind, wanted):
            statement = sa.select(target, counted).where(condition).group_by(target)
            counts.update(self._read(statement, ref, "look up values in").itertuples(index=False))
        return counts

    def _among(self, target: sa.ColumnElement, kind: ColumnKind, values: list[object]) -> list[sa.ColumnElement]:
        """Conditions that ``target`` is one of ``values``: on PostgreSQL one array parameter for
        text and whole numbers (an IN list of thousands costs more to build than to run),
        elsewhere IN lists of ``VALUE_CHUNK`` values."""
        if self.dialect_name == "postgresql" and kind in (ColumnKind.STRING, ColumnKind.INTEGER):
            from sqlalchemy.dialects.postgresql import ARRAY

            if kind is ColumnKind.INTEGER:  # no whole-number column holds 12.5
                values = [int(v) for v in values if isinstance(v, (int, float)) and float(v).is_integer()]
            element = sa.Text() if kind is ColumnKind.STRING else sa.BigInteger()
            return [target == sa.any_(sa.literal(values, ARRAY(element)))]
        chunks = [values[start : start + self.VALUE_CHUNK] for start in range(0, len(values), self.VALUE_CHUNK)]
        return [target.in_(chunk) for chunk in chunks]

    def count_missing(self, info: TableInfo, columns: tuple[str, ...]) -> int:
        """Rows of ``info`` where any of ``columns`` is NULL (a foreign key that points nowhere)."""
        table = self._table(info.ref, list(columns))
        statement = sa.select(sa.func.count()).select_from(table).where(sa.or_(*[table.c[c].is_(None) for c in columns]))
        return int(self._read(statement, info.ref, "count missing keys of").iloc[0, 0])

    def _key_chunks(self, keys: pd.DataFrame, columns: tuple[str, ...]) -> list[list[tuple]]:
        """``keys`` as bound-parameter tuples, in chunks; its columns pair with ``columns`` by position."""
        values = keys.iloc[:, : len(columns)].itertuples(index=False)
        rows = [tuple(_native(value) for value in row) for row in values]
        return [rows[start : start + self.KEY_CHUNK] for start in range(0, len(rows), self.KEY_CHUNK)]

    @staticmethod
    def _key_condition(table: sa.TableClause, columns: tuple[str, ...], chunk: list[tuple]) -> sa.ColumnElement:
        if len(columns) == 1:
            return table.c[columns[0]].in_([row[0] for row in chunk])
        return sa.tuple_(*[table.c[c] for c in columns]).in_(chunk)

    def _read(self, statement: sa.Executable, ref: TableRef, action: str) -> pd.DataFrame:
        try:
            with self.engine.connect() as con:
                return pd.read_sql(statement, con)
        except sa_exc.SQLAlchemyError as exc:
            raise table_error(exc, ref, action) from None

    # -- change detection ----------------------------------------------------------------
    def change_marker(self, info: TableInfo, watermark: str | None = None) -> str | None:
        """PostgreSQL's per-table change counters and/or ``MAX(watermark)``; None where neither exists."""
        marker = self.change_markers([info], {info.ref.qualified: watermark} if watermark else {})[info.ref]
        if isinstance(marker, ConnectorError):
            raise marker
        return marker

    def change_markers(
        self, infos: list[TableInfo], watermarks: dict[str, str]
    ) -> dict[TableRef, str | None | ConnectorError]:
        """All tables' change counters in one query; a watermark query per table that has one."""
        markers: dict[TableRef, str | None | ConnectorError] = {}
        try:
            with self.engine.connect() as con:
                counters = self._postgres_change_counters(con, [info.ref for info in infos])
                for info in infos:
                    parts = [f"stats={counters.get(info.ref)}"] if counters is not None else []
                    watermark = watermarks.get(info.ref.qualified)
                    try:
                        if watermark:
                            parts.append(f"watermark={self._watermark(con, info, watermark)}")
                        markers[info.ref] = ";".join(parts) or None
                    except ConnectorError as exc:
                        markers[info.ref] = exc
                    except sa_exc.SQLAlchemyError as exc:
                        con.rollback()
                        markers[info.ref] = table_error(exc, info.ref, "read the change markers of")
        except sa_exc.SQLAlchemyError as exc:
            error = warehouse_error(exc, "read change markers", prefix=f"warehouse {self.name!r}: ")
            return {info.ref: error for info in infos}
        return markers

    def _postgres_change_counters(self, con: sa.Connection, refs: list[TableRef]) -> dict[TableRef, tuple] | None:
        """Rows inserted, updated and deleted since the statistics were reset, and the table's oid,
        of every table (None where the warehouse is not PostgreSQL).

        The server flushes these counters when a writing session goes idle (at most about a
        second late) and at its end; a reset or a re-created table changes them too.
        """
        if self.dialect_name != "postgresql":
            return None
        query = sa.text(
            "SELECT schemaname, relname, relid, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
            "WHERE schemaname = ANY(:schemas) AND relname = ANY(:tables)"
        )
        params = {"schemas": sorted({ref.schema for ref in refs}), "tables": sorted({ref.name for ref in refs})}
        return {TableRef(self.name, row[0], row[1]): tuple(row[2:]) for row in con.execute(query, params)}

    def _watermark(self, con: sa.Connection, info: TableInfo, column: str) -> str:
        """``MAX(column)`` as text: a real value, so only ever hashed into the fingerprint."""
        if column not in {c.name for c in info.columns}:
            raise ConnectorError(f"watermark column {column!r} is not a column of {info.ref.qualified}")
        query = sa.select(sa.func.max(sa.column(column))).select_from(self._table(info.ref))
        return str(con.execute(query).scalar())


def unpadded(frame: pd.DataFrame, info: TableInfo) -> pd.DataFrame:
    """``CHAR(n)`` values without the warehouse's trailing padding: compared as the warehouse
    compares them (``'BUILDING  ' = 'BUILDING'``), they are stored and served unpadded."""
    for column in info.columns:
        if column.padded and column.name in frame.columns:
            frame[column.name] = frame[column.name].map(lambda value: value.rstrip(" "), na_action="ignore")
    return frame


def _native(value: object) -> object:
    """A driver-friendly Python value (numpy scalars and pandas timestamps unwrapped)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [part for part in parts if not part.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _sqlstate(exc: sa_exc.SQLAlchemyError) -> str | None:
    original = getattr(exc, "orig", None)
    return getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)


_UNDEFINED_TABLE = "42P01"
_MISSING_TABLE = re.compile(r"relation .* does not exist|no such table|table .* doesn't exist|table .* not found"
                            r"|undefinedtable|object .* does not exist")


def _is_missing_table(exc: BaseException) -> bool:
    """The table is gone (not a missing function or column, which name a bug or a type)."""
    original = getattr(exc, "orig", exc)
    if (getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)) == _UNDEFINED_TABLE:
        return True
    return bool(_MISSING_TABLE.search(str(original).lower()))


class DuckDBConnector(SQLAlchemyConnector):
    """DuckDB files through duckdb-engine, described from DuckDB's own catalog.

    duckdb-engine's reflection reuses PostgreSQL's catalog queries, which fail on
    foreign keys and report JSON as plain strings; DuckDB's ``information_schema``
    and ``duckdb_constraints()`` give the real types and keys.
    """

    _OWN = "table_catalog = current_database() AND table_schema = :schema"

    @property
    def engine(self) -> Engine:
        # Read-only, so parallel workers (and the sandbox) can open the same file at once.
        if self._engine is None:
            self._engine = self._create_engine(connect_args={"read_only": True})
        return self._engine

    def list_tables(self, include: list[str], exclude: list[str]) -> list[TableRef]:
        query = sa.text(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'"
        )
        rows = self._fetch(query, {}, "list tables")
        refs = [TableRef(self.name, schema, table) for schema, table in rows if schema not in _SYSTEM_SCHEMAS]
        return sorted(ref for ref in refs if matches(ref.qualified, include, exclude))

    def describe(self, ref: TableRef, lock_wait_ms: int | None = None) -> TableInfo:
        """Columns, keys and row count (a read-only file holds no locks to wait for)."""
        params = {"schema": ref.schema, "table": ref.name}
        column_rows = self._fetch(
            sa.text(
                f"SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                f"WHERE {self._OWN} AND table_name = :table ORDER BY ordinal_position"
            ),
            params,
            f"describe {ref.qualified}",
        )
        if not column_rows:
            raise TableVanished(f"table {ref.qualified} no longer exists")
        columns = [self._column_from_text(name, type_text, nullable == "YES") for name, type_text, nullable in column_rows]
        constraints = self._fetch(
            sa.text(
                "SELECT constraint_type, constraint_column_names, referenced_table, referenced_column_names "
                "FROM duckdb_constraints() WHERE database_name = current_database() "
                "AND schema_name = :schema AND table_name = :table"
            ),
            params,
            f"describe {ref.qualified}",
        )
        primary_key: tuple[str, ...] = ()
        foreign_keys = []
        for kind, names, referred, referred_names in constraints:
            if kind == "PRIMARY KEY":
                primary_key = tuple(names)
            elif kind == "FOREIGN KEY":
                foreign_keys.append(
                    ForeignKey(tuple(names), TableRef(self.name, ref.schema, referred), tuple(referred_names))
                )
        row_count, estimated = self._row_count(ref, None, None)
        return TableInfo(ref, columns, primary_key, foreign_keys, row_count, estimated)

    def describe_many(self, refs: list[TableRef]) -> dict[TableRef, TableInfo | ConnectorError]:
        """A table at a time: a local file answers catalog queries in microseconds."""
        return Connector.describe_many(self, refs)

    @staticmethod
    def _column_from_text(name: str, type_text: str, nullable: bool) -> ColumnInfo:
        kind, reason, precision, scale = kind_from_type_name(type_text)
        return ColumnInfo(name, type_text, kind, nullable, precision, scale, reason)

    def _fetch(self, query: sa.TextClause, params: dict, action: str) -> list[tuple]:
        try:
            with self.engine.connect() as con:
                return [tuple(row) for row in con.execute(query, params)]
        except sa_exc.SQLAlchemyError as exc:
            raise warehouse_error(exc, action) from None


def open_sqlalchemy(name: str, url: str) -> SQLAlchemyConnector:
    """The ``sqlalchemy`` connector entry point: picks the dialect-specific class."""
    backend = make_url(url).get_backend_name()
    return DuckDBConnector(name, url) if backend == "duckdb" else SQLAlchemyConnector(name, url)
