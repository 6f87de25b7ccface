"""What a sync reads back from the store being written: a table's distinct synthetic keys (for
the key linker), and a stored reference table's synthetic keys with the labels it kept (for an
incremental sync).

When a reference table is unchanged (its copy stays in the store) but a child of it is
synthesized again, the child's worker matches the stored copy's kept labels to the real rows to
learn which synthetic key holds which real row's labels (``catalog_synth.link.labels``). Only
synthetic data is read here: the copy's key columns and its columns that are not identifying.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import duckdb
import pandas as pd

from catalog_synth.core.types import TableRef
from catalog_synth.store.copies import META_TABLE, logical_name, quote


def stored_labels(
    con: duckdb.DuckDBPyConnection, multi_warehouse: bool, ref: TableRef, keys: tuple[str, ...]
) -> pd.DataFrame | None:
    """The stored copy's ``keys`` and kept label columns (None without a copy or labels)."""
    row = con.execute(
        f"SELECT physical_schema, physical_table, classes FROM {META_TABLE} WHERE logical_name = ?",
        [logical_name(ref, multi_warehouse)],
    ).fetchone()
    if row is None or row[2] is None:
        return None
    classes = json.loads(row[2])
    labels = [name for name, cls in classes.items() if not cls.get("identifying") and name not in keys]
    if not labels:
        return None
    selected = ", ".join(quote(c) for c in (*keys, *labels))
    return con.execute(f"SELECT {selected} FROM {quote(row[0])}.{quote(row[1])}").df()


def store_keys(con: duckdb.DuckDBPyConnection, multi_warehouse: bool) -> Callable[[TableRef, tuple[str, ...]], pd.DataFrame | None]:
    """A reader of a table's distinct keys in the store being written (None when it holds no copy),
    for the key linker (:data:`catalog_synth.link.link.StoredKeys`)."""

    def read(ref: TableRef, columns: tuple[str, ...]) -> pd.DataFrame | None:
        row = con.execute(
            f"SELECT physical_schema, physical_table FROM {META_TABLE} WHERE logical_name = ?",
            [logical_name(ref, multi_warehouse)],
        ).fetchone()
        if row is None:
            return None
        selected = ", ".join(quote(c) for c in columns)
        not_null = " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)
        return con.execute(f"SELECT DISTINCT {selected} FROM {quote(row[0])}.{quote(row[1])} WHERE {not_null}").df()

    return read
