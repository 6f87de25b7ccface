"""What a sandbox query returns: Arrow data for the HTTP API, Python rows for the PostgreSQL
endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class ResultColumn:
    name: str
    type: str  # the DuckDB type, e.g. BIGINT, VARCHAR, DECIMAL(10,2)


@dataclass(frozen=True)
class QueryResult:
    columns: list[ResultColumn]
    data: pa.Table
    truncated: bool
    elapsed_ms: float

    @property
    def row_count(self) -> int:
        return self.data.num_rows

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        return arrow_rows(self.data)


@dataclass(frozen=True)
class RowsResult:
    columns: list[ResultColumn]
    rows: list[tuple[Any, ...]]
    truncated: bool
    elapsed_ms: float

    @property
    def row_count(self) -> int:
        return len(self.rows)


def value_bytes(value: Any) -> int:
    """About how many bytes a fetched value (or row) holds, for the response size limit."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (tuple, list)):
        return sum(map(value_bytes, value))
    if isinstance(value, dict):
        return sum(map(value_bytes, value.values()))
    return 8


def arrow_rows(data: pa.Table) -> list[tuple[Any, ...]]:
    """Rows as tuples (column names may repeat, so not dicts)."""
    return list(zip(*(column.to_pylist() for column in data.columns)))
