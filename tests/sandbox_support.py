"""Helpers for the sandbox tests: small synthetic stores and a live server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import uvicorn
from fastapi import FastAPI

from catalog_synth.core.config import Config, validate_config
from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    QualityScore,
    SyntheticTable,
    TableInfo,
    TableRef,
)
from catalog_synth.store.copies import Store

# pandas dtype kind -> (SQL type, column kind) of the warehouse column it stands for
_COLUMN_TYPES = {
    "i": ("integer", ColumnKind.INTEGER),
    "f": ("double precision", ColumnKind.FLOAT),
    "b": ("boolean", ColumnKind.BOOLEAN),
    "M": ("timestamp", ColumnKind.DATETIME),
}


# Debian's chromium, started as on this kind of machine (no network at start, no GPU, as root).
CHROMIUM = Path(os.environ.get("CATALOG_SYNTH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

def people_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """A frame standing for a synthetic copy: ids, names, ages, cities, scores, signup times."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "name": [f"person-{i:05d}" for i in range(1, rows + 1)],
            "age": rng.integers(18, 90, rows),
            "city": rng.choice(["Lyon", "Oslo", "Lima", "Pune"], rows),
            "score": rng.normal(50, 10, rows).round(3),
            "signup": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, rows), unit="h"),
        }
    )


def orders_frame(rows: int, people: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "order_id": np.arange(1, rows + 1),
            "person_id": rng.integers(1, people + 1, rows),
            "amount": rng.gamma(2.0, 20.0, rows).round(2),
        }
    )


def synthetic_table(schema: str, name: str, frame: pd.DataFrame, warehouse: str = "wh") -> SyntheticTable:
    ref = TableRef(warehouse, schema, name)
    columns = [
        ColumnInfo(column, *_COLUMN_TYPES.get(frame[column].dtype.kind, ("text", ColumnKind.STRING)))
        for column in frame.columns
    ]
    return SyntheticTable(
        ref=ref,
        info=TableInfo(ref=ref, columns=columns, row_count=len(frame)),
        data=frame,
        preview_rows=5,
        quality=QualityScore(overall=0.81, column_shapes=0.86, column_pair_trends=0.76),
    )


def write_store(
    path: Path, tables: list[SyntheticTable], *, multi_warehouse: bool = False, dialect: str | None = "postgres"
) -> None:
    with Store(path).writer() as writer:
        for table in tables:
            writer.write(table, multi_warehouse=multi_warehouse, dialect=dialect)


def sandbox_config(store: Path, **sandbox: object) -> Config:
    settings = {"timeout_seconds": 1.0, "memory_limit": "256MB", "max_temp_directory_size": "16MB", **sandbox}
    return validate_config(
        {"warehouses": [{"name": "wh", "url": "sqlite:///unused.db"}], "store": str(store), "sandbox": settings}
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free 127.0.0.1 port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def client_from(address: str, base_url: str, **headers: str) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (any of 127.0.0.0/8): without
    tokens, the sandbox tells clients apart by address."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base_url, transport=transport, headers=headers, timeout=60)
