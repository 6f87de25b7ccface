"""The SQLAlchemy connector: PostgreSQL, SQLite, DuckDB (duckdb-engine), MySQL and cloud dialects.

Samples are drawn inside the warehouse (``TABLESAMPLE``, ``USING SAMPLE``,
``ORDER BY random() LIMIT n``), so at most ``rows`` rows ever reach Python.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import types as sa_types
from sqlalchemy.engine import Engine, make_url

from catalog_synth.types import ColumnInfo, ColumnKind, ForeignKey, TableInfo, TableRef
from connectors import Connector, ConnectorError, TableVanished, matches

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
# Below this many rows a full ORDER BY random() is cheaper than block sampling.
SMALL_TABLE_ROWS = 100_000


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


def safe_error(exc: BaseException) -> str:
    """The first line of a driver error: no statement, no parameters, no DETAIL with values."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    first = text[0] if text else type(original).__name__
    return f"{type(original).__name__}: {first}"[:300]


class SQLAlchemyConnector(Connector):
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
            try:
                self._engine = sa.create_engine(self.url, pool_pre_ping=True)
            except Exception as exc:  # bad driver, bad URL: never echo the URL
                raise ConnectorError(f"warehouse {self.name!r}: cannot create engine ({safe_error(exc)})") from None
        return self._engine

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
            raise ConnectorError(f"warehouse {self.name!r}: cannot list tables ({safe_error(exc)})") from None
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
    def describe(self, ref: TableRef) -> TableInfo:
        schema = self._schema_arg(ref)
        try:
            inspector = sa.inspect(self.engine)
            with warnings.catch_warnings():  # unknown types (point, geometry) become UNSUPPORTED
                warnings.simplefilter("ignore", sa_exc.SAWarning)
                columns = [self._column(c) for c in inspector.get_columns(ref.name, schema=schema)]
            primary_key = tuple(inspector.get_pk_constraint(ref.name, schema=schema).get("constrained_columns") or ())
            default_schema = inspector.default_schema_name or ref.schema
            foreign_keys = [
                self._foreign_key(fk, default_schema) for fk in inspector.get_foreign_keys(ref.name, schema=schema)
            ]
            row_count, estimated = self._row_count(ref)
        except sa_exc.NoSuchTableError:
            raise TableVanished(f"table {ref.qualified} no longer exists") from None
        except sa_exc.SQLAlchemyError as exc:
            if _is_missing_table(exc):
                raise TableVanished(f"table {ref.qualified} no longer exists") from None
            raise ConnectorError(f"cannot describe {ref.qualified} ({safe_error(exc)})") from None
        if not columns:
            raise TableVanished(f"table {ref.qualified} no longer exists")
        return TableInfo(ref, columns, primary_key, foreign_keys, row_count, estimated)

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
        return ColumnInfo(
            name=reflected["name"],
            sql_type=type_text,
            kind=kind,
            nullable=bool(reflected.get("nullable", True)),
            precision=getattr(sql_type, "precision", None) if kind is ColumnKind.DECIMAL else None,
            scale=getattr(sql_type, "scale", None) if kind is ColumnKind.DECIMAL else None,
            unsupported_reason=reason,
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

    def _row_count(self, ref: TableRef) -> tuple[int, bool]:
        estimate = self._estimated_rows(ref)
        if estimate is not None and estimate > EXACT_COUNT_LIMIT:
            return estimate, True
        with self.engine.connect() as con:
            return int(con.execute(sa.select(sa.func.count()).select_from(self._table(ref))).scalar_one()), False

    def _estimated_rows(self, ref: TableRef) -> int | None:
        """Row count from catalog statistics, where the warehouse keeps them cheaply."""
        if self.dialect_name != "postgresql":
            return None
        query = sa.text(
            "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = :table"
        )
        with self.engine.connect() as con:
            value = con.execute(query, {"schema": ref.schema, "table": ref.name}).scalar()
        return int(value) if value is not None and value >= 0 else None

    # -- sampling ------------------------------------------------------------------------
    def sample(self, info: TableInfo, rows: int, seed: int | None = None) -> pd.DataFrame:
        """At most ``rows`` random rows of the columns synthesis can use (unsupported ones are not read)."""
        columns = [c.name for c in info.columns if c.kind is not ColumnKind.UNSUPPORTED]
        if not columns or info.row_count == 0:
            return pd.DataFrame(columns=columns)
        try:
            with self.engine.connect() as con:
                frame = pd.read_sql(self._sample_query(info, columns, rows), con)
                if len(frame) < min(rows, info.row_count) and info.row_count_estimated:
                    # Block sampling on stale statistics came back short: draw exactly.
                    frame = pd.read_sql(self._random_rows(info.ref, columns, rows), con)
        except sa_exc.SQLAlchemyError as exc:
            if _is_missing_table(exc):
                raise TableVanished(f"table {info.ref.qualified} no longer exists") from None
            raise ConnectorError(f"cannot sample {info.ref.qualified} ({safe_error(exc)})") from None
        return frame.head(rows)

    def _sample_query(self, info: TableInfo, columns: list[str], rows: int) -> sa.Executable:
        ref = info.ref
        if info.row_count <= rows:
            return sa.select(*[sa.column(c) for c in columns]).select_from(self._table(ref))
        if self.dialect_name == "duckdb":
            return self._duckdb_reservoir(ref, columns, rows)
        percent = min(100.0, math.ceil(rows * 150.0 / max(info.row_count, 1) * 1000) / 1000)
        if self.dialect_name == "postgresql" and info.row_count > SMALL_TABLE_ROWS:
            method = sa.func.system if info.row_count > 50 * SMALL_TABLE_ROWS else sa.func.bernoulli
            sampled = sa.tablesample(self._table(ref, columns), method(percent))
            return sa.select(*[sampled.c[c] for c in columns]).order_by(sa.func.random()).limit(rows)
        return self._random_rows(ref, columns, rows)

    def _random_rows(self, ref: TableRef, columns: list[str], rows: int) -> sa.Executable:
        random = sa.func.rand() if self.dialect_name in {"mysql", "mariadb"} else sa.func.random()
        if self.dialect_name == "mssql":
            random = sa.func.newid()
        table = self._table(ref, columns)
        return sa.select(*[table.c[c] for c in columns]).order_by(random).limit(rows)

    def _duckdb_reservoir(self, ref: TableRef, columns: list[str], rows: int) -> sa.TextClause:
        prepare = self.engine.dialect.identifier_preparer
        target = prepare.quote(ref.name) if ref.schema is None else f"{prepare.quote(ref.schema)}.{prepare.quote(ref.name)}"
        select_list = ", ".join(prepare.quote(c) for c in columns)
        return sa.text(f"SELECT {select_list} FROM {target} USING SAMPLE reservoir({int(rows)} ROWS)")


def _is_missing_table(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return any(
        marker in text
        for marker in ("does not exist", "no such table", "doesn't exist", "not found", "undefinedtable")
    )


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
            self._engine = sa.create_engine(self.url, connect_args={"read_only": True})
        return self._engine

    def list_tables(self, include: list[str], exclude: list[str]) -> list[TableRef]:
        query = sa.text(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'"
        )
        rows = self._fetch(query, {}, "list tables")
        refs = [TableRef(self.name, schema, table) for schema, table in rows if schema not in _SYSTEM_SCHEMAS]
        return sorted(ref for ref in refs if matches(ref.qualified, include, exclude))

    def describe(self, ref: TableRef) -> TableInfo:
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
        row_count, estimated = self._row_count(ref)
        return TableInfo(ref, columns, primary_key, foreign_keys, row_count, estimated)

    @staticmethod
    def _column_from_text(name: str, type_text: str, nullable: bool) -> ColumnInfo:
        kind, reason, precision, scale = kind_from_type_name(type_text)
        return ColumnInfo(name, type_text, kind, nullable, precision, scale, reason)

    def _fetch(self, query: sa.TextClause, params: dict, action: str) -> list[tuple]:
        try:
            with self.engine.connect() as con:
                return [tuple(row) for row in con.execute(query, params)]
        except sa_exc.SQLAlchemyError as exc:
            raise ConnectorError(f"cannot {action} ({safe_error(exc)})") from None


def open_sqlalchemy(name: str, url: str) -> SQLAlchemyConnector:
    """The ``sqlalchemy`` connector entry point: picks the dialect-specific class."""
    backend = make_url(url).get_backend_name()
    return DuckDBConnector(name, url) if backend == "duckdb" else SQLAlchemyConnector(name, url)
