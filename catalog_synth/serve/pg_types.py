"""DuckDB result types on the PostgreSQL wire: type OIDs, type modifiers, values, parameters.

A column's OID and modifier come from its DuckDB type (``DECIMAL(12,2)`` is ``numeric``
with the modifier PostgreSQL gives ``numeric(12,2)``), never from the values. Values are
encoded by pg-mimic's codecs in text or binary format, as the client asked at Bind.

Parameters (``$1`` …) are written into the query as literals before the validator sees it:
the validator checks one self-contained query, exactly as ``POST /api/query`` does, and a
literal is rendered from the parameter's declared type (a number only when it parses as
one, anything else a quoted string), so a parameter can never change the query's shape.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pg_mimic.arrays import ARRAY_OID
from pg_mimic.results import encode_row
from pg_mimic.types import (
    BOOL,
    BYTEA,
    DATE,
    FLOAT4,
    FLOAT8,
    INT2,
    INT4,
    INT8,
    INTERVAL,
    JSON,
    NUMERIC,
    OID,
    TEXT,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    UUID,
    VARCHAR,
)

__all__ = ["WireColumn", "bind_parameters", "encode_rows", "wire_column"]

_SIMPLE_TYPES = {
    "BOOLEAN": BOOL,
    "TINYINT": INT2,
    "SMALLINT": INT2,
    "UTINYINT": INT2,
    "INTEGER": INT4,
    "USMALLINT": INT4,
    "BIGINT": INT8,
    "UINTEGER": INT8,
    "UBIGINT": NUMERIC,
    "HUGEINT": NUMERIC,
    "UHUGEINT": NUMERIC,
    "FLOAT": FLOAT4,
    "DOUBLE": FLOAT8,
    "VARCHAR": VARCHAR,
    "BLOB": BYTEA,
    "DATE": DATE,
    "TIME": TIME,
    "TIMESTAMP": TIMESTAMP,
    "TIMESTAMP_NS": TIMESTAMP,
    "TIMESTAMP_MS": TIMESTAMP,
    "TIMESTAMP_S": TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": TIMESTAMPTZ,
    "INTERVAL": INTERVAL,
    "UUID": UUID,
    "JSON": JSON,
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_TYPE_SIZES = {BOOL: 1, INT2: 2, INT4: 4, INT8: 8, FLOAT4: 4, FLOAT8: 8, DATE: 4, TIME: 8, TIMESTAMP: 8,
               TIMESTAMPTZ: 8, UUID: 16, INTERVAL: 16, OID: 4}
_INTEGER_OIDS = {INT2, INT4, INT8, OID}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE_WITH_ZONE = re.compile(r"\d{4}-\d{2}-\d{2} [+-]\d{2}(:?\d{2})?")
_CASTS = {DATE: "DATE", TIMESTAMP: "TIMESTAMP", TIME: "TIME"}


@dataclass(frozen=True)
class WireColumn:
    name: str
    oid: int
    type_modifier: int = -1
    decimal: bool = False  # values must be Decimal for the numeric codecs

    @property
    def type_size(self) -> int:
        return _TYPE_SIZES.get(self.oid, -1)


def wire_column(name: str, duckdb_type: str) -> WireColumn:
    """The PostgreSQL type of a DuckDB result column (anything unknown travels as text)."""
    kind = duckdb_type.upper()
    if kind in _SIMPLE_TYPES:
        oid = _SIMPLE_TYPES[kind]
        return WireColumn(name, oid, decimal=oid == NUMERIC)
    match = _DECIMAL.fullmatch(kind)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        return WireColumn(name, NUMERIC, ((precision << 16) | scale) + 4, decimal=True)
    if kind.endswith("[]"):
        element = wire_column(name, kind[:-2])
        if element.oid in ARRAY_OID and not element.decimal:
            return WireColumn(name, ARRAY_OID[element.oid])
    return WireColumn(name, TEXT)


def encode_rows(rows: list[tuple[Any, ...]], columns: list[WireColumn], formats: list[int]) -> list[list[bytes | None]]:
    """DataRow values of ``rows`` in the formats the client asked for."""
    from pg_mimic.results import ResultColumn

    described = [ResultColumn(c.name, c.oid) for c in columns]
    fixes = [i for i, c in enumerate(columns) if c.decimal or c.oid == TEXT]
    intervals = [i for i, c in enumerate(columns) if c.oid == INTERVAL]
    encoded = []
    for row in rows:
        if fixes or intervals:
            row = list(row)
            for i in fixes:
                row[i] = _plain(row[i], columns[i])
            spliced = {i: _interval(row[i], _format_of(formats, i)) for i in intervals}
            for i in intervals:
                row[i] = None
            values = encode_row(tuple(row), described, formats)
            for i, value in spliced.items():
                values[i] = value
            encoded.append(values)
        else:
            encoded.append(encode_row(tuple(row), described, formats))
    return encoded


def _format_of(formats: list[int], index: int) -> int:
    if not formats:
        return 0
    return formats[0] if len(formats) == 1 else formats[index]


def _interval(value: Any, binary: int) -> bytes | None:
    """An interval (DuckDB's months, days and nanoseconds) in PostgreSQL's text or binary form."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        months, days, micros = 0, value.days, value.seconds * 1_000_000 + value.microseconds
    else:  # pyarrow's MonthDayNano
        months, days, micros = int(value.months), int(value.days), int(value.nanoseconds) // 1000
    if binary:
        return struct.pack("!qii", micros, days, months)
    years, months = divmod(months, 12) if months >= 0 else (-(-months // 12), -(-months % 12))
    parts = [f"{n} {unit}{'s' if abs(n) != 1 else ''}" for n, unit in ((years, "year"), (months, "mon"), (days, "day"))
             if n]
    if micros or not parts:
        sign, micros = ("-" if micros < 0 else ""), abs(micros)
        seconds, fraction = divmod(micros, 1_000_000)
        text = f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        parts.append(text + (f".{fraction:06d}".rstrip("0") if fraction else ""))
    return " ".join(parts).encode()


def _plain(value: Any, column: WireColumn) -> Any:
    if value is None:
        return None
    if column.decimal:
        return value if isinstance(value, Decimal) else Decimal(value)
    return value if isinstance(value, str) else str(value)


# --- parameters --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$(\d+)")
_ANY = re.compile(r"\b(ANY|ALL)\s*\(\s*$", re.IGNORECASE)


def bind_parameters(sql: str, values: list[Any], oids: list[int | None], backslash_escapes: bool = False) -> str:
    """``sql`` with every ``$n`` outside strings, quoted names and comments replaced by the
    literal of parameter ``n``."""
    if not values and "$" not in sql:
        return sql
    literals = [_literal(value, oids[i] if i < len(oids) else None, backslash_escapes) for i, value in enumerate(values)]
    pieces: list[str] = []
    position = 0
    for start, end, number in _placeholders(sql):
        if number < 1 or number > len(literals):
            raise ValueError(f"there is no parameter ${number}")
        pieces.append(sql[position:start])
        value = values[number - 1]
        if isinstance(value, str) and value.startswith("{") and _ANY.search(sql, 0, start):
            # = ANY($1) with an untyped array ('{a,b}'): PostgreSQL reads it as an array
            from pg_mimic.arrays import parse_array_literal

            pieces.append(_literal(parse_array_literal(value), None, backslash_escapes))
        else:
            pieces.append(literals[number - 1])
        position = end
    pieces.append(sql[position:])
    return "".join(pieces)


def count_parameters(sql: str) -> int:
    return max((number for _, _, number in _placeholders(sql)), default=0)


def _placeholders(sql: str) -> list[tuple[int, int, int]]:
    """(start, end, number) of each ``$n`` in code (not in literals, identifiers or comments)."""
    found = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":
            i = _skip_quoted(sql, i, char)
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif char == "$":
            match = _PLACEHOLDER.match(sql, i)
            tag = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", sql[i:])
            if match and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                found.append((i, match.end(), int(match.group(1))))
                i = match.end()
            elif tag:  # $tag$ … $tag$ dollar quoting
                end = sql.find(tag.group(0), i + len(tag.group(0)))
                i = n if end < 0 else end + len(tag.group(0))
            else:
                i += 1
        else:
            i += 1
    return found


def _skip_quoted(sql: str, start: int, quote: str) -> int:
    i = start + 1
    escapes = quote == "'" and start > 0 and sql[start - 1] in "eE"
    while i < len(sql):
        if escapes and sql[i] == "\\":
            i += 2
            continue
        if sql[i] == quote:
            if sql.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def _literal(value: Any, oid: int | None, backslash_escapes: bool) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):  # an array parameter: ARRAY[…] of its elements
        element = next((scalar for scalar, array in ARRAY_OID.items() if array == oid), None)
        return "ARRAY[" + ", ".join(_literal(item, element, backslash_escapes) for item in value) + "]"
    text = str(value)
    if oid == BOOL:
        lowered = text.strip().lower()
        if lowered in ("t", "true", "1", "y", "yes", "on"):
            return "TRUE"
        if lowered in ("f", "false", "0", "n", "no", "off"):
            return "FALSE"
    if oid in _INTEGER_OIDS and re.fullmatch(r"[+-]?\d+", text.strip()):
        return str(int(text))
    if oid in (NUMERIC, FLOAT4, FLOAT8) and _NUMBER.fullmatch(text.strip()):
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite() and math.isfinite(float(number)):
            return text.strip()
    if oid is None and _DATE_WITH_ZONE.fullmatch(text):
        text = text[:10]  # JDBC's setDate: '2024-01-01 +00', untyped; PostgreSQL reads it as the date
    quoted = _quote(text, backslash_escapes)
    if oid in _CASTS:
        return f"CAST({quoted} AS {_CASTS[oid]})"
    return quoted


def _quote(text: str, backslash_escapes: bool) -> str:
    if "\x00" in text:
        raise ValueError("a parameter holds a NUL character")
    escaped = text.replace("'", "''")
    if backslash_escapes:
        escaped = escaped.replace("\\", "\\\\")
    return f"'{escaped}'"


# --- COPY … TO STDOUT ---------------------------------------------------------------------


def copy_data(line: bytes) -> bytes:
    """A CopyData message holding one line of COPY … TO STDOUT."""
    return b"d" + struct.pack("!i", 4 + len(line)) + line


def csv_field(value: bytes) -> bytes:
    if value == b"" or any(c in value for c in (b",", b'"', b"\n", b"\r")):
        return b'"' + value.replace(b'"', b'""') + b'"'
    return value


def copy_text(value: bytes) -> bytes:
    return (value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")
            .replace(b"\r", b"\\r"))
