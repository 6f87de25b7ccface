"""Small synthetic tables for the catalog tests (no SDV needed)."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from catalog_synth.core.config import Config, validate_config
from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    QualityScore,
    SyntheticTable,
    TableInfo,
    TableRef,
)

COLUMNS = [
    ColumnInfo("id", "integer", ColumnKind.INTEGER, nullable=False),
    ColumnInfo("email", "text", ColumnKind.STRING),
    ColumnInfo("amount", "numeric(10,2)", ColumnKind.DECIMAL, precision=10, scale=2),
    ColumnInfo("born", "date", ColumnKind.DATE),
    ColumnInfo("vip", "boolean", ColumnKind.BOOLEAN),
    ColumnInfo("doc", "jsonb", ColumnKind.UNSUPPORTED, unsupported_reason="json"),
]
SYNCED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def synthetic_table(name: str = "people", *, warehouse: str = "shop", rows: int = 8) -> SyntheticTable:
    """A synthesized-looking table: every value made up here, ``doc`` left out as unsupported."""
    ref = TableRef(warehouse, "public", name)
    data = pd.DataFrame(
        {
            "id": pd.array([n if n % 4 else None for n in range(1, rows + 1)], dtype="Int64"),
            "email": [f"synthetic{n}@example.invalid" for n in range(rows)],
            "amount": [10.5 * n for n in range(rows)],
            "born": pd.to_datetime([f"19{70 + n}-01-0{1 + n % 9}" for n in range(rows)]),
            "vip": [n % 2 == 0 for n in range(rows)],
        }
    )
    info = TableInfo(ref, list(COLUMNS), primary_key=("id",), row_count=1234)
    return SyntheticTable(
        ref=ref,
        info=info,
        data=data,
        preview_rows=3,
        dropped_columns={"doc": "json columns are not synthesized"},
        quality=QualityScore(overall=0.8123, column_shapes=0.8, column_pair_trends=0.82),
        synced_at=SYNCED_AT,
    )


def catalog_config(tmp_path, **catalog: object) -> Config:
    raw = {
        "warehouses": [{"name": "shop", "url": "postgresql+psycopg://u@localhost/shopdb"}],
        "store": str(tmp_path / "store.duckdb"),
        "catalog": {"file": str(tmp_path / "mcps.json"), **catalog},
    }
    return validate_config(raw)
