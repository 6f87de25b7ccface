"""Where the people are: tables that describe them, who each row is about, and where their
identifying values are copied.

Decided once per run from names and keys only (planning), read in the worker:

* **People tables** describe persons: named like ``customer``, ``employee``, ``patient``, or
  holding a column named like a person's name, e-mail, phone, address, national id or birth date.
* **Subject path**: the chain of foreign keys from a table to the people table its rows are about
  (``invoiceline -> invoice -> customer``); the worker reads, for every sampled row, the key of
  that person (aggregates and hashes only leave the worker: :class:`Subjects`). A table with
  several such chains counts by the people table with the most rows (orders are about their
  customers, not about the few employees who took them). A table named for people, or one with
  people's columns and no chain to another people table, is about its own rows.
* **Identifying sources**: string columns named as identifying in related tables (up to two
  keys away) and in people tables, whose values a column copied from them (``billingaddress``)
  would share; the worker measures that overlap inside the warehouse (counts only).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    Semantic,
    TableInfo,
    TableRef,
)
from catalog_synth.core.values import normalize
from catalog_synth.protect.classify import describes_people, named_for_people
from catalog_synth.protect.evidence import CopiedFrom, RealCounts
from catalog_synth.protect.kinds import identifying_semantics
from catalog_synth.protect.names import is_ambiguous_name, semantic_from_name
from catalog_synth.protect.subjects import Subjects, subject_ids
from connectors import Capability, Connector
from connectors.graph import KeyGraph, Relationship

MAX_HOPS = 3
SOURCE_HOPS = 2
MAX_SOURCES = 12


@dataclass(frozen=True)
class Hop:
    """From ``columns`` of one table to ``parent_columns`` of ``parent``."""

    columns: tuple[str, ...]
    parent: TableRef
    parent_columns: tuple[str, ...]


@dataclass(frozen=True)
class SubjectPath:
    """The foreign keys from a table to the people table its rows are about."""

    person: TableRef
    hops: tuple[Hop, ...]


def subject_path(graph: KeyGraph, ref: TableRef) -> SubjectPath | None:
    """The chain to the people table a row of ``ref`` is about (None: about no one, or itself).

    A table named for people is about its own rows; any other table with a chain to a people
    table is about the people there, even when it holds their names (``invoice.contactname``
    copied from the customer)."""
    info = graph.tables.get(ref)
    if info is None or named_for_people(info):
        return None
    found: list[SubjectPath] = []
    queue: deque[tuple[TableRef, tuple[Hop, ...]]] = deque([(ref, ())])
    seen = {ref}
    while queue:
        current, hops = queue.popleft()
        for relationship in graph.parents_of(current):
            parent = graph.tables.get(relationship.parent)
            if parent is None or relationship.parent in seen:
                continue
            path = (*hops, Hop(relationship.columns, relationship.parent, relationship.parent_columns))
            if describes_people(parent):
                found.append(SubjectPath(relationship.parent, path))
            elif len(path) < MAX_HOPS:
                seen.add(relationship.parent)
                queue.append((relationship.parent, path))
    if not found:
        return None
    return max(found, key=lambda path: (graph.tables[path.person].row_count, -len(path.hops)))


def read_subjects(connector: Connector, info: TableInfo, path: SubjectPath | None, sample: pd.DataFrame) -> Subjects:
    """Who each sampled row is about. Keys beyond the first hop are looked up in the warehouse
    (real keys, kept in this worker); a connector that cannot look keys up counts rows."""
    if path is None or not set(path.hops[0].columns) <= set(sample.columns):
        return Subjects.of_rows(len(sample))
    keys = sample[list(path.hops[0].columns)].reset_index(drop=True)
    for previous, hop in zip(path.hops, path.hops[1:]):
        if not connector.supports(Capability.KEY_LOOKUPS):
            return Subjects.of_rows(len(sample))
        keys = _follow(connector, previous, hop, keys)
    ids = subject_ids([keys[column] for column in keys.columns], len(sample))
    return Subjects(len(sample), (ids,))


def _follow(connector: Connector, previous: Hop, hop: Hop, keys: pd.DataFrame) -> pd.DataFrame:
    """For each row of ``keys`` (values of ``previous.parent_columns``), the parent row's ``hop.columns``."""
    distinct = keys.dropna().drop_duplicates()
    found = connector.lookup(previous.parent, previous.parent_columns, hop.columns, distinct)
    found.columns = [*(f"key{i}" for i in range(len(previous.parent_columns))), *hop.columns]
    keyed = keys.set_axis([f"key{i}" for i in range(len(previous.parent_columns))], axis=1)
    joined = keyed.merge(found.drop_duplicates(list(found.columns[: len(previous.parent_columns)])),
                         how="left", on=list(keyed.columns))
    return joined[list(hop.columns)]


@dataclass(frozen=True)
class SourceColumn:
    """A string column named as identifying in a related or people table."""

    table: TableRef
    column: str
    semantic: str


class IdentifyingSources:
    """Per table of ``graph``: identifying string columns of tables near it (nearest first), then
    of people tables. Which tables describe people, and each table's named columns, are worked
    out once for the whole graph (per table, they made planning quadratic in the tables)."""

    def __init__(self, graph: KeyGraph):
        self.graph = graph
        self.people = sorted(ref for ref, info in graph.tables.items() if describes_people(info))
        self._named: dict[TableRef, tuple[SourceColumn, ...]] = {}

    def of(self, ref: TableRef) -> tuple[SourceColumn, ...]:
        nearby = _nearby(self.graph, ref)
        skipped = {ref, *nearby}
        sources: list[SourceColumn] = []
        for table in itertools.chain(nearby, (people for people in self.people if people not in skipped)):
            sources.extend(self._named_columns(table))
            if len(sources) >= MAX_SOURCES:
                break
        return tuple(sources[:MAX_SOURCES])

    def _named_columns(self, table: TableRef) -> tuple[SourceColumn, ...]:
        if table not in self._named:
            self._named[table] = tuple(
                SourceColumn(table, column.name, semantic)
                for column in self.graph.tables[table].columns
                if column.kind is ColumnKind.STRING and not is_ambiguous_name(column.name)
                and (semantic := semantic_from_name(column.name)) in identifying_semantics()
                and semantic not in (Semantic.UUID, Semantic.URL, Semantic.FREE_TEXT)
            )  # fmt: skip
        return self._named[table]


def _nearby(graph: KeyGraph, ref: TableRef) -> list[TableRef]:
    """Tables at most ``SOURCE_HOPS`` keys from ``ref``, either way, nearest first."""
    order: list[TableRef] = []
    frontier = [ref]
    seen = {ref}
    for _ in range(SOURCE_HOPS):
        following = []
        for current in frontier:
            for relationship in [*graph.parents_of(current), *graph.children_of(current)]:
                other = _other_end(relationship, current)
                if other not in seen and other in graph.tables:
                    seen.add(other)
                    following.append(other)
        order.extend(sorted(following))
        frontier = following
    return order


def _other_end(relationship: Relationship, ref: TableRef) -> TableRef:
    return relationship.parent if relationship.child == ref else relationship.child


# --- probes of the warehouse (worker side; counts come back, values stay in the warehouse) -----

PROBE_MIN_VALUES = 10  # fewer distinct values: a label column, not copied identities
PROBE_MAX_VALUES = 200
COPIED_SHARE = 0.5  # of a column's distinct values found in an identifying column elsewhere


def real_counts_probe(
    connector: Connector, ref: TableRef, sources: tuple[SourceColumn, ...] = (), subject: SubjectPath | None = None
) -> RealCounts | None:
    """How many real people hold each candidate fake: in the whole column, and in the identifying
    columns of the same semantic among ``sources`` (None: the connector cannot ask).

    People are the table's rows, or the distinct keys of the one foreign key to the people its
    rows are about; further away (``invoiceline -> invoice -> customer``) they cannot be counted
    in one query, and a value held at all counts as held by one person."""
    if not connector.supports(Capability.VALUE_COUNTS):
        return None
    near = subject is not None and len(subject.hops) == 1 and len(subject.hops[0].columns) == 1
    distinct_of = subject.hops[0].columns[0] if near else None

    def counts(column: ColumnInfo, semantic: str, values: Sequence[Any]) -> dict[str, int]:
        found: dict[str, int] = {}
        places = [(ref, column, distinct_of)] + [
            (source.table, _text_column(source.column), None) for source in sources if source.semantic == semantic
        ]
        for table, where, people in places:
            for value, held_by in connector.count_values(table, where, values, people).items():
                key = normalize(value)
                if key is not None:
                    found[key] = found.get(key, 0) + (int(held_by) if subject is None or near else 1)
        return found

    return counts


def _text_column(name: str) -> ColumnInfo:
    return ColumnInfo(name, "text", ColumnKind.STRING)


def copied_from_probe(connector: Connector, sources: tuple[SourceColumn, ...]) -> CopiedFrom | None:
    """Whether a column's values are mostly those of an identifying column elsewhere."""
    if not sources or not connector.supports(Capability.VALUE_COUNTS):
        return None

    def copied_from(column: ColumnInfo, present: pd.Series) -> tuple[str, str] | None:
        distinct = list(dict.fromkeys(present.astype(str)))[:PROBE_MAX_VALUES]
        if len(distinct) < PROBE_MIN_VALUES:
            return None
        for source in sources:
            found = connector.count_values(source.table, _text_column(source.column), distinct)
            if len(found) >= COPIED_SHARE * len(distinct):
                return f"{source.table.qualified}.{source.column}", source.semantic
        return None

    return copied_from
