"""Warehouse errors phrased without secrets or values: transient or not, a vanished table, a
missing driver (and the extra that installs it), a database file that is not there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import exc as sa_exc

from catalog_synth.core.types import TableRef
from connectors import ConnectorError, TableVanished, WarehouseUnavailable

LOCK_NOT_AVAILABLE = "55P03"


# SQLSTATE classes and codes of failures that a retry can cure: connection exceptions (08),
# insufficient resources (53), operator intervention (57: shutdown, restart, cancel),
# system errors (58), serialization failures and deadlocks.
_TRANSIENT_SQLSTATE_CLASSES = {"08", "53", "57", "58"}


_TRANSIENT_SQLSTATES = {"40001", "40P01"}


# Drivers without SQLSTATEs (pymysql, sqlite3) raise OperationalError for these too: not transient.
_PERMANENT_MARKERS = ("no such", "unknown column", "does not exist", "doesn't exist", "syntax", "denied", "permission")


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
    if is_missing_table(exc):
        return TableVanished(f"table {ref.qualified} no longer exists")
    return warehouse_error(exc, f"{action} {ref.qualified}")


def safe_error(exc: BaseException) -> str:
    """The first line of a driver error: no statement, no parameters, no DETAIL with values."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    first = text[0] if text else type(original).__name__
    return f"{type(original).__name__}: {first}"[:300]


def sqlstate(exc: sa_exc.SQLAlchemyError) -> str | None:
    original = getattr(exc, "orig", None)
    return getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)


_UNDEFINED_TABLE = "42P01"


_MISSING_TABLE = re.compile(r"relation .* does not exist|no such table|table .* doesn't exist|table .* not found"
                            r"|undefinedtable|object .* does not exist")


def is_missing_table(exc: BaseException) -> bool:
    """The table is gone (not a missing function or column, which name a bug or a type)."""
    original = getattr(exc, "orig", exc)
    if (getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)) == _UNDEFINED_TABLE:
        return True
    return bool(_MISSING_TABLE.search(str(original).lower()))
