"""Query results and errors as HTTP responses: JSON (with JSON-safe values), CSV streamed in
chunks, Arrow IPC; each kind of query error with its HTTP status."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
from fastapi.responses import Response, StreamingResponse

from catalog_synth.serve.engine import QueryResult, arrow_rows
from catalog_synth.serve.errors import (
    QueryError,
    QueryFailed,
    QueryRefused,
    QueryTimeout,
    ResultTooLarge,
    SandboxBusy,
    StoreUnavailable,
    TableNotFound,
    TooManyQueries,
)

_CSV_CHUNK_ROWS = 1000


def _json_value(value: Any) -> Any:
    """A JSON-safe form of a DuckDB value (lossless for decimals: they become strings)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (Decimal, timedelta)):
        return str(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _json_columns(data: pa.Table) -> list[list[Any]]:
    """Python values per column; only columns that can hold non-JSON values are converted."""
    plain = (pa.types.is_integer, pa.types.is_string, pa.types.is_boolean, pa.types.is_null)
    columns = []
    for column in data.columns:
        values = column.to_pylist()
        if not any(check(column.type) for check in plain):
            values = [_json_value(value) for value in values]
        columns.append(values)
    return columns


def json_payload(result: QueryResult) -> dict[str, Any]:
    return {
        "columns": [{"name": c.name, "type": c.type} for c in result.columns],
        "rows": [list(row) for row in zip(*_json_columns(result.data))],
        "row_count": result.row_count,
        "truncated": result.truncated,
        "elapsed_ms": round(result.elapsed_ms, 3),
    }


def cells(row: tuple[Any, ...]) -> list[str]:
    """Text for an HTML or CSV cell (NULL becomes empty)."""
    return ["" if value is None else str(_json_value(value)) for value in row]


def _result_headers(result: QueryResult) -> dict[str, str]:
    return {"X-Row-Count": str(result.row_count), "X-Truncated": str(result.truncated).lower()}


def render_json(result: QueryResult) -> Response:
    body = json.dumps(json_payload(result), separators=(",", ":"), allow_nan=False)
    return Response(body, media_type="application/json", headers=_result_headers(result))


def render_csv(result: QueryResult) -> Response:
    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([column.name for column in result.columns])
        for start in range(0, result.row_count, _CSV_CHUNK_ROWS):
            writer.writerows(cells(row) for row in arrow_rows(result.data.slice(start, _CSV_CHUNK_ROWS)))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    headers = {**_result_headers(result), "Content-Disposition": 'attachment; filename="result.csv"'}
    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8", headers=headers)


def render_arrow(result: QueryResult) -> Response:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, result.data.schema) as writer:
        writer.write_table(result.data)
    body = sink.getvalue().to_pybytes()
    return Response(body, media_type="application/vnd.apache.arrow.stream", headers=_result_headers(result))


RENDERERS = {"json": render_json, "csv": render_csv, "arrow": render_arrow}


# QueryError subclass -> (HTTP status, short kind for clients and metrics)
ERROR_STATUS: dict[type[QueryError], tuple[int, str]] = {
    QueryRefused: (400, "refused"),
    QueryFailed: (400, "failed"),
    TableNotFound: (404, "not_found"),
    QueryTimeout: (408, "timeout"),
    ResultTooLarge: (413, "too_large"),
    TooManyQueries: (429, "too_many"),
    SandboxBusy: (503, "busy"),
    StoreUnavailable: (503, "unavailable"),
}


def error_status(exc: QueryError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400, "failed"
