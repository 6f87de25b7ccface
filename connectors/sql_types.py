"""SQL types as the pipeline sees them: a :class:`ColumnKind` per SQLAlchemy type or type name,
with the reason a type cannot be synthesized.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import types as sa_types

from catalog_synth.core.types import ColumnKind, TableInfo

if TYPE_CHECKING:
    import pandas as pd


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


def unpadded(frame: pd.DataFrame, info: TableInfo) -> pd.DataFrame:
    """``CHAR(n)`` values without the warehouse's trailing padding: compared as the warehouse
    compares them (``'BUILDING  ' = 'BUILDING'``), they are stored and served unpadded."""
    for column in info.columns:
        if column.padded and column.name in frame.columns:
            frame[column.name] = frame[column.name].map(lambda value: value.rstrip(" "), na_action="ignore")
    return frame
