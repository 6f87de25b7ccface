"""The SQLAlchemy connector: PostgreSQL, SQLite, DuckDB (duckdb-engine), MySQL and cloud dialects.

Samples are drawn inside the warehouse (``TABLESAMPLE``, ``USING SAMPLE``,
``SAMPLE (n ROWS)``, ``ORDER BY random() LIMIT n``; see :mod:`connectors.sampling`),
so at most ``rows`` rows ever reach Python.
"""

from __future__ import annotations

import itertools
import warnings
from typing import TYPE_CHECKING, Any

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
    matches,
    or_error,
)
from connectors.sampling import SampleTarget, sample_statements, supports
from connectors.sql_changes import ChangeMarkers
from connectors.sql_errors import (
    LOCK_NOT_AVAILABLE,
    database_file_missing,
    missing_driver,
    safe_error,
    sqlstate,
    table_error,
    warehouse_error,
)
from connectors.sql_lookups import KeyedReads
from connectors.sql_rules import RuleShares
from connectors.sql_types import column_kind, kind_from_type_name, unpadded

if TYPE_CHECKING:
    import pandas as pd

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


class SQLAlchemyConnector(KeyedReads, RuleShares, ChangeMarkers, Connector):
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
            if bounded and sqlstate(exc) == LOCK_NOT_AVAILABLE:
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
        import pandas as pd  # only a table being synthesized pays for it

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

    def _read(self, statement: sa.Executable, ref: TableRef, action: str) -> pd.DataFrame:
        import pandas as pd

        try:
            with self.engine.connect() as con:
                return pd.read_sql(statement, con)
        except sa_exc.SQLAlchemyError as exc:
            raise table_error(exc, ref, action) from None


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
