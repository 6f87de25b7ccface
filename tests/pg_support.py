"""A small store for the PostgreSQL endpoint's tests: keys, decimals, dates, booleans, UUIDs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd

from catalog_synth.core.config import Config
from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    QualityScore,
    SyntheticTable,
    TableInfo,
    TableRef,
)
from catalog_synth.serve.engine import QueryEngine
from catalog_synth.serve.pgwire import WireThread
from catalog_synth.store.copies import Store

CUSTOMERS, ORDERS = 50, 400


def customers_table() -> SyntheticTable:
    ref = TableRef("shop", "sales", "customers")
    frame = pd.DataFrame(
        {
            "id": range(1, CUSTOMERS + 1),
            "name": [f"customer-{i:03d}" if i % 10 else None for i in range(1, CUSTOMERS + 1)],
            "signup": [date(2024, 1, 1) + timedelta(days=i) for i in range(CUSTOMERS)],
            "vip": [i % 3 == 0 for i in range(CUSTOMERS)],
            "uid": [str(uuid.UUID(int=i)) for i in range(CUSTOMERS)],
        }
    )
    columns = [
        ColumnInfo("id", "integer", ColumnKind.INTEGER, nullable=False),
        ColumnInfo("name", "text", ColumnKind.STRING),
        ColumnInfo("signup", "date", ColumnKind.DATE),
        ColumnInfo("vip", "boolean", ColumnKind.BOOLEAN),
        ColumnInfo("uid", "uuid", ColumnKind.UUID),
    ]
    return _table(ref, frame, columns, ("id",))


def orders_table() -> SyntheticTable:
    ref = TableRef("shop", "sales", "orders")
    frame = pd.DataFrame(
        {
            "order_id": range(1, ORDERS + 1),
            "customer_id": [1 + (i * 7) % CUSTOMERS for i in range(ORDERS)],
            "amount": [Decimal(i * 37 % 10_000) / 100 for i in range(ORDERS)],
            "ordered_at": [datetime(2024, 3, 1, 8) + timedelta(hours=5 * i) for i in range(ORDERS)],
        }
    )
    columns = [
        ColumnInfo("order_id", "bigint", ColumnKind.INTEGER, nullable=False),
        ColumnInfo("customer_id", "integer", ColumnKind.INTEGER),
        ColumnInfo("amount", "numeric(12,2)", ColumnKind.DECIMAL, precision=12, scale=2),
        ColumnInfo("ordered_at", "timestamp", ColumnKind.DATETIME),
    ]
    return _table(ref, frame, columns, ("order_id",))


def _table(ref: TableRef, frame: pd.DataFrame, columns: list[ColumnInfo], key: tuple[str, ...]) -> SyntheticTable:
    return SyntheticTable(
        ref=ref,
        info=TableInfo(ref=ref, columns=columns, row_count=len(frame), primary_key=key),
        data=frame,
        preview_rows=5,
        quality=QualityScore(overall=0.8, column_shapes=0.85, column_pair_trends=0.75),
    )


def write_shop_store(path: Path) -> None:
    """``sales.customers`` and ``sales.orders`` (orders.customer_id -> customers.id), warehouse postgres."""
    with Store(path).writer() as writer:
        for table in (customers_table(), orders_table()):
            writer.write(table, multi_warehouse=False, dialect="postgres")
        writer.set_relations(
            "sales.orders",
            [{"relationship": "sales.orders(customer_id) -> sales.customers(id)", "child": "sales.orders",
              "columns": ["customer_id"], "parent": "sales.customers", "parent_columns": ["id"],
              "origin": "warehouse"}],
        )


@contextmanager
def wire_thread(config: Config) -> Iterator[tuple[QueryEngine, WireThread]]:
    """The PostgreSQL endpoint on a free 127.0.0.1 port over a fresh engine."""
    engine = QueryEngine(config.store, config.sandbox)
    wire = WireThread(engine, config.sandbox, "127.0.0.1", 0).start()
    try:
        yield engine, wire
    finally:
        wire.stop()
        engine.close()


@contextmanager
def wire_server(config: Config) -> Iterator[tuple[QueryEngine, int]]:
    with wire_thread(config) as (engine, wire):
        yield engine, wire.port
