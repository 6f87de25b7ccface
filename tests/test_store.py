"""The DuckDB store: typed copies, metadata, and atomic replacement."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from catalog_synth.core.types import (
    CheckResult,
    ColumnClass,
    ColumnInfo,
    ColumnKind,
    GateResult,
    QualityScore,
    SyntheticTable,
    TableInfo,
    TableRef,
)
from catalog_synth.store.copies import Store, StoreError

COLUMNS = [
    ColumnInfo("id", "INTEGER", ColumnKind.INTEGER, False),
    ColumnInfo("amount", "NUMERIC(12,2)", ColumnKind.DECIMAL, True, 12, 2),
    ColumnInfo("day", "DATE", ColumnKind.DATE),
    ColumnInfo("flag", "BOOLEAN", ColumnKind.BOOLEAN),
    ColumnInfo("label", "TEXT", ColumnKind.STRING),
]


def synthetic(name: str = "orders", rows: int = 5, warehouse: str = "shop", offset: int = 0) -> SyntheticTable:
    ref = TableRef(warehouse, "sales", name)
    data = pd.DataFrame(
        {
            "id": range(offset, offset + rows),
            "amount": [1.234 * i for i in range(rows)],
            "day": [date(2024, 1, 1 + i % 28) for i in range(rows)],
            "flag": [i % 2 == 0 for i in range(rows)],
            "label": [f"l{i}" for i in range(rows)],
        }
    )
    return SyntheticTable(
        ref=ref,
        info=TableInfo(ref, COLUMNS, ("id",), [], 1000),
        data=data,
        preview_rows=3,
        classes={"label": ColumnClass("label", "categorical", False, "few distinct values", "content")},
        quality=QualityScore(0.9, 0.92, 0.88),
        gate=GateResult([CheckResult("exact_row_copies", True, None, "0 of 5 rows")]),
        synced_at=datetime(2026, 11, 22, tzinfo=timezone.utc),
    )


def test_write_keeps_types_and_metadata(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.writer() as writer:
        assert writer.write(synthetic(), multi_warehouse=False, dialect="postgres") == "sales.orders"
    con = duckdb.connect(str(store.path), read_only=True)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name='orders'").fetchall())
    assert types == {"id": "BIGINT", "amount": "DECIMAL(12,2)", "day": "DATE", "flag": "BOOLEAN", "label": "VARCHAR"}
    assert str(con.execute("SELECT amount FROM sales.orders WHERE id = 3").fetchone()[0]) == "3.70"
    con.close()
    (table,) = store.tables()
    assert table.quality == {"overall": 0.9, "column_shapes": 0.92, "column_pair_trends": 0.88}
    assert table.gate["passed"] and table.classes["label"]["semantic"] == "categorical"
    assert table.dialect == "postgres" and table.row_count == 5
    assert list(store.preview("sales.orders")["id"]) == [0, 1, 2]


def test_several_warehouses_use_prefixed_names(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.writer() as writer:
        writer.write(synthetic(warehouse="eu"), multi_warehouse=True)
        writer.write(synthetic(warehouse="us"), multi_warehouse=True)
    names = {t.logical_name: t.physical_sql for t in store.tables()}
    assert names == {"eu.sales.orders": '"eu__sales"."orders"', "us.sales.orders": '"us__sales"."orders"'}
    assert len(store.preview("us.sales.orders")) == 3


def test_reader_never_sees_a_half_written_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.writer() as writer:
        writer.write(synthetic(rows=5), multi_warehouse=False)
    reader = store.connect()  # held open across the next sync, like the sandbox
    with store.writer() as writer:
        writer.write(synthetic(rows=7, offset=100), multi_warehouse=False)
        writer.write(synthetic(name="refunds"), multi_warehouse=False)
        # Mid-sync: the live file still shows the old copy only.
        assert store.preview("sales.orders", 10)["id"].min() == 0
        assert [t.logical_name for t in store.tables()] == ["sales.orders"]
    assert reader.execute("SELECT count(*) FROM sales.orders").fetchone()[0] == 5
    reader.close()
    assert store.preview("sales.orders", 10)["id"].min() == 100
    assert [t.logical_name for t in store.tables()] == ["sales.orders", "sales.refunds"]


def test_failed_sync_leaves_the_live_store_untouched(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.writer() as writer:
        writer.write(synthetic(), multi_warehouse=False)
    with pytest.raises(RuntimeError), store.writer() as writer:
        writer.remove("sales.orders")
        raise RuntimeError("crash mid-run")
    assert [t.logical_name for t in store.tables()] == ["sales.orders"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_stale_temporary_from_a_killed_run_is_cleaned(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    stale = tmp_path / ".s.duckdb.999999999.tmp"
    stale.write_bytes(b"half written")
    with store.writer() as writer:
        writer.write(synthetic(), multi_warehouse=False)
    assert not stale.exists()


def test_remove_and_unknown_table(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.writer() as writer:
        writer.write(synthetic(), multi_warehouse=False)
        writer.remove("sales.orders")
    assert store.tables() == []
    with pytest.raises(StoreError, match="no synthetic table 'sales.orders'"):
        store.preview("sales.orders")
    with pytest.raises(StoreError, match="run 'catalog-synth sync' first"):
        Store(tmp_path / "missing.duckdb").tables()
