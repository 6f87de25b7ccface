"""Likely relationships for warehouses that declare no foreign keys (Snowflake, BigQuery, Redshift).

A column is proposed as a foreign key when its **name** points at another table's key
(``orders.customer_id`` -> ``customers.customer_id``; ``customers.served_by_employee_id``
-> ``employees.employee_id``; ``employees.manager_id`` -> the table's own key) and its
**values** confirm it: the distinct values of a sample of the column are looked up in the
parent (inside the warehouse), and nearly all of them must be found. A table's key is its
declared single-column primary key, or a column named ``id``/``<table>_id`` whose sampled
values are unique and never empty. Only names and counts are reported, never values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pandas as pd

from catalog_synth.core.config import WarehouseConfig
from catalog_synth.core.types import ColumnKind, TableInfo, TableRef
from catalog_synth.protect.names import name_tokens
from connectors import Capability, Connector, ConnectorError
from connectors.graph import Relationship, discover, endpoint, kind_family

# Share of a child's sampled distinct values that must exist in the parent.
MIN_CONTAINMENT = 0.98
# Names of columns that point at a row of their own table.
_SELF_NAMES = re.compile(r"^(?:parent|manager|supervisor|boss|lead|mentor|reports_to|parent_\w+|\w+_parent)(?:_id)?$")
_KEY_KINDS = {ColumnKind.INTEGER, ColumnKind.DECIMAL, ColumnKind.STRING, ColumnKind.UUID}
_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman", "data": "data"}


@dataclass(frozen=True)
class Suggestion:
    relationship: Relationship
    checked: int  # distinct sampled child values looked up in the parent
    found: int

    @property
    def containment(self) -> float:
        return self.found / self.checked if self.checked else 0.0


@dataclass(frozen=True)
class _Key:
    ref: TableRef
    column: str
    kind: ColumnKind


def suggest_relationships(
    connector: Connector, warehouse: WarehouseConfig, sample_rows: int, seed: int | None = None
) -> list[Suggestion]:
    """Relationships the warehouse and the config do not declare yet, verified on samples."""
    if not connector.supports(Capability.KEY_LOOKUPS):
        raise ConnectorError(f"connector {warehouse.connector!r} cannot look up keys, so it cannot verify suggestions")
    refs = connector.list_tables(warehouse.include, warehouse.exclude)
    graph, _ = discover(connector, warehouse, refs)
    samples = {ref: _sample_id_columns(connector, info, sample_rows, seed) for ref, info in graph.tables.items()}
    keys = [key for info in graph.tables.values() if (key := _table_key(info, samples[info.ref]))]
    known = {(r.child, r.columns) for r in graph.relationships}
    suggestions = []
    for info in graph.tables.values():
        for column in info.columns:
            if (info.ref, (column.name,)) in known:
                continue
            parent = _named_parent(info, column.name, keys)
            if parent is None or kind_family(column.kind) is not kind_family(parent.kind):
                continue
            suggestion = _verify(connector, info.ref, column.name, parent, samples[info.ref])
            if suggestion is not None and suggestion.containment >= MIN_CONTAINMENT:
                suggestions.append(suggestion)
    return suggestions


def _sample_id_columns(connector: Connector, info: TableInfo, rows: int, seed: int | None) -> pd.DataFrame:
    """A sample of the columns that could be keys (whole numbers, text, UUIDs)."""
    columns = [c for c in info.columns if c.kind in _KEY_KINDS]
    if not columns:
        return pd.DataFrame()
    return connector.sample(replace(info, columns=columns), rows, seed)


def _table_key(info: TableInfo, sample: pd.DataFrame) -> _Key | None:
    if len(info.primary_key) == 1:
        return _Key(info.ref, info.primary_key[0], info.column(info.primary_key[0]).kind)
    if info.primary_key:
        return None
    for column in info.columns:
        if column.name in sample.columns and _names_own_key(info.ref.name, column.name):
            values = sample[column.name]
            if len(values) and values.notna().all() and values.is_unique:
                return _Key(info.ref, column.name, column.kind)
    return None


def _names_own_key(table: str, column: str) -> bool:
    tokens = name_tokens(column)
    return tokens == "id" or tokens in {f"{name}_id" for name in _table_names(table)}


def _table_names(table: str) -> set[str]:
    """``order_items`` -> {"order_items", "order_item"}."""
    tokens = name_tokens(table)
    return {tokens, singular(tokens)}


def singular(tokens: str) -> str:
    """The singular of a table name's last word (``categories`` -> ``category``)."""
    head, _, last = tokens.rpartition("_")
    if last in _IRREGULAR:
        word = _IRREGULAR[last]
    elif last.endswith("ies") and len(last) > 4:
        word = last[:-3] + "y"
    elif last.endswith(("sses", "xes", "ches", "shes")):
        word = last[:-2]
    elif last.endswith("s") and not last.endswith("ss"):
        word = last[:-1]
    else:
        word = last
    return f"{head}_{word}" if head else word


def _named_parent(info: TableInfo, column: str, keys: list[_Key]) -> _Key | None:
    """The table key that the column's name points at, if exactly one does."""
    tokens = name_tokens(column)
    own = next((key for key in keys if key.ref == info.ref), None)
    if own is not None and own.column == column:
        return None
    if own is not None and _SELF_NAMES.match(tokens):
        return own
    matches = [key for key in keys if key.ref != info.ref and _points_at(tokens, key)]
    return matches[0] if len(matches) == 1 else None


def _points_at(tokens: str, key: _Key) -> bool:
    """``customer_id``/``billing_customer_id`` point at ``customers.customer_id`` (or ``customers.id``)."""
    key_tokens = name_tokens(key.column)
    names = {key_tokens} if key_tokens != "id" else set()
    names |= {f"{name}_id" for name in _table_names(key.ref.name)}
    return any(tokens == name or tokens.endswith(f"_{name}") for name in names)


def _verify(
    connector: Connector, child: TableRef, column: str, parent: _Key, sample: pd.DataFrame
) -> Suggestion | None:
    values = sample[column].dropna().drop_duplicates() if column in sample.columns else pd.Series([], dtype=object)
    if values.empty:
        return None
    found = connector.existing_keys(parent.ref, (parent.column,), values.to_frame())
    relationship = Relationship(child, (column,), parent.ref, (parent.column,), "suggested")
    return Suggestion(relationship, len(values), len(found))


def suggestions_yaml(proposals: dict[str, list[Suggestion]]) -> str:
    """Proposals per warehouse as a config fragment to paste, with the evidence as comments."""
    lines = [
        "# Proposed relationships, from column names, verified on samples of the warehouse.",
        "# Copy the ones you trust into the warehouse's entry of catalog-synth.yml.",
        "warehouses:",
    ]
    for warehouse, suggestions in proposals.items():
        lines += [f"  - name: {warehouse}", "    relationships:" + ("" if suggestions else " []")]
        for suggestion in suggestions:
            relationship = suggestion.relationship
            lines += [
                f"      # {suggestion.found} of {suggestion.checked} sampled distinct values found in the parent",
                f"      - child: {endpoint(relationship.child, relationship.columns)}",
                f"        parent: {endpoint(relationship.parent, relationship.parent_columns)}",
            ]
    return "\n".join(lines) + "\n"
