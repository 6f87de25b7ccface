"""Relationships between tables: foreign keys the warehouse declares plus those in the config.

A :class:`Relationship` says that the ``columns`` of ``child`` hold values of the
``parent_columns`` of ``parent`` (a composite key is a tuple of columns). A
self-reference (``employees.manager_id -> employees.employee_id``) has
``child == parent``. :class:`KeyGraph` holds the described tables and every
relationship between them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from catalog_synth.core.config import RelationshipConfig, WarehouseConfig
from catalog_synth.core.types import ColumnKind, ForeignKey, TableInfo, TableRef
from connectors import Connector, ConnectorError

log = logging.getLogger("catalog_synth.link")

# Kinds whose values can match each other (an INTEGER key referenced by a NUMERIC(10,0) column).
_KIND_FAMILY = {ColumnKind.DECIMAL: ColumnKind.INTEGER, ColumnKind.UUID: ColumnKind.STRING}
_ENDPOINT = re.compile(r"^(?P<table>[^()]+)\.(?P<name>[^().]+)\((?P<columns>[^()]+)\)$")


class RelationshipError(ValueError):
    """A relationship in the config that does not match the warehouse (names only, no values)."""


@dataclass(frozen=True)
class Relationship:
    child: TableRef
    columns: tuple[str, ...]
    parent: TableRef
    parent_columns: tuple[str, ...]
    # "warehouse" (declared foreign key) or "config" (``relationships`` in the config).
    origin: str = "warehouse"

    @property
    def self_reference(self) -> bool:
        return self.child == self.parent

    @property
    def label(self) -> str:
        return f"{endpoint(self.child, self.columns)} -> {endpoint(self.parent, self.parent_columns)}"

    def foreign_key(self) -> ForeignKey:
        return ForeignKey(self.columns, self.parent, self.parent_columns, self.origin)

    def as_dict(self) -> dict[str, Any]:
        return {
            "child": self.child.qualified,
            "columns": list(self.columns),
            "parent": self.parent.qualified,
            "parent_columns": list(self.parent_columns),
            "origin": self.origin,
        }


def endpoint(ref: TableRef, columns: Iterable[str]) -> str:
    """``schema.table(col, col)``: the config's spelling of one side of a relationship."""
    return f"{ref.qualified}({', '.join(columns)})"


def parse_endpoint(warehouse: str, text: str) -> tuple[TableRef, tuple[str, ...]]:
    match = _ENDPOINT.match(text.strip())
    if not match:
        raise RelationshipError(f"{text!r}: expected 'schema.table(column[, column...])'")
    columns = tuple(column.strip() for column in match["columns"].split(","))
    if any(not column for column in columns):
        raise RelationshipError(f"{text!r}: empty column name")
    return TableRef(warehouse, match["table"].strip(), match["name"].strip()), columns


def config_relationship(warehouse: str, declared: RelationshipConfig) -> Relationship:
    child, columns = parse_endpoint(warehouse, declared.child)
    parent, parent_columns = parse_endpoint(warehouse, declared.parent)
    if len(columns) != len(parent_columns):
        raise RelationshipError(
            f"{declared.child} -> {declared.parent}: "
            f"{len(columns)} child column(s) but {len(parent_columns)} parent column(s)"
        )
    return Relationship(child, columns, parent, parent_columns, "config")


@dataclass
class KeyGraph:
    """Described tables of one or more warehouses and the relationships between them.

    A relationship whose parent is not among ``tables`` (excluded from the sync) is kept:
    its child's keys cannot be linked, and reports say so.
    """

    tables: dict[TableRef, TableInfo]
    relationships: list[Relationship] = field(default_factory=list)
    # Listed tables the warehouse could not describe, and why (names, no values).
    unreadable: dict[TableRef, ConnectorError] = field(default_factory=dict)

    def parents_of(self, ref: TableRef) -> list[Relationship]:
        return [r for r in self.relationships if r.child == ref]

    def children_of(self, ref: TableRef) -> list[Relationship]:
        return [r for r in self.relationships if r.parent == ref]

    def declared_for(self, ref: TableRef) -> tuple[ForeignKey, ...]:
        """Relationships from the config whose child is ``ref`` (the warehouse does not know them)."""
        return tuple(r.foreign_key() for r in self.parents_of(ref) if r.origin == "config")

    def nullable(self, relationship: Relationship) -> bool:
        """Whether the real child may leave the key empty (every key column nullable)."""
        info = self.tables.get(relationship.child)
        return info is not None and all(info.column(c).nullable for c in relationship.columns)

    def merge(self, other: KeyGraph) -> None:
        self.tables.update(other.tables)
        self.relationships.extend(other.relationships)
        self.unreadable.update(other.unreadable)


def with_declared(info: TableInfo, declared: Iterable[ForeignKey]) -> TableInfo:
    """``info`` with the config's relationships added to its foreign keys (once each)."""
    known = {(fk.columns, fk.referred, fk.referred_columns) for fk in info.foreign_keys}
    extra = [fk for fk in declared if (fk.columns, fk.referred, fk.referred_columns) not in known]
    return replace(info, foreign_keys=[*info.foreign_keys, *extra]) if extra else info


def discover(connector: Connector, warehouse: WarehouseConfig, refs: list[TableRef]) -> tuple[KeyGraph, list[str]]:
    """Describe ``refs`` and collect their relationships: declared foreign keys, then the
    config's. Returns the graph and the config entries that do not fit the warehouse.

    A table that cannot be described here is left out of the graph (its own task reports why).
    """
    problems: list[str] = []
    tables: dict[TableRef, TableInfo] = {}
    unreadable: dict[TableRef, ConnectorError] = {}
    for ref, described in connector.describe_many(refs).items():
        if isinstance(described, ConnectorError):
            log.debug("%s: not described for keys: %s", ref, described)
            unreadable[ref] = described
        else:
            tables[ref] = described
    relationships = [
        Relationship(info.ref, fk.columns, fk.referred, fk.referred_columns, fk.origin)
        for info in tables.values()
        for fk in info.foreign_keys
    ]
    known = {(r.child, r.columns) for r in relationships}
    for index, declared in enumerate(warehouse.relationships):
        try:
            relationship = config_relationship(warehouse.name, declared)
            check_relationship(relationship, tables)
        except RelationshipError as exc:
            problems.append(f"relationships[{index}]: {exc}")
            continue
        if (relationship.child, relationship.columns) not in known:
            relationships.append(relationship)
            known.add((relationship.child, relationship.columns))
    return KeyGraph(tables, relationships, unreadable), problems


def check_relationship(relationship: Relationship, tables: dict[TableRef, TableInfo]) -> None:
    """A config relationship must name listed tables and existing columns of matching kinds."""
    child = tables.get(relationship.child)
    parent = tables.get(relationship.parent)
    for ref, info in ((relationship.child, child), (relationship.parent, parent)):
        if info is None:
            raise RelationshipError(f"table {ref.qualified} is not in the warehouse (or not included)")
    assert child is not None and parent is not None
    for info, columns in ((child, relationship.columns), (parent, relationship.parent_columns)):
        missing = [c for c in columns if c not in {col.name for col in info.columns}]
        if missing:
            raise RelationshipError(f"{info.ref.qualified} has no column {missing[0]!r}")
    for own, referred in zip(relationship.columns, relationship.parent_columns):
        own_kind, referred_kind = child.column(own).kind, parent.column(referred).kind
        if kind_family(own_kind) is not kind_family(referred_kind):
            raise RelationshipError(
                f"{relationship.label}: column {own!r} ({own_kind.value}) cannot hold values of "
                f"{referred!r} ({referred_kind.value})"
            )


def kind_family(kind: ColumnKind) -> ColumnKind:
    """Kinds whose values can equal each other share a family (INTEGER and NUMERIC(10,0) keys)."""
    return _KIND_FAMILY.get(kind, kind)
