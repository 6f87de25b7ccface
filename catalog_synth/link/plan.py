"""What each table's worker needs to know about keys, decided once per run.

* **Sampled together**: a child is sampled as "the children of randomly sampled parents"
  along one relationship (its *sampling parent*), so that the sample holds whole families
  and the real number of children per parent can be measured. Only a relationship whose
  parent has few enough children per row qualifies (at least ``MIN_SAMPLED_PARENTS``
  families must fit in ``sample_rows``); lookup tables (a handful of carriers for
  300,000 flights) do not, and their children are sampled at random as before.
* **Measured**: for every relationship of a table, the children of a random sample of
  parents are counted in the warehouse (aggregates only), so that the synthetic copy can
  give each synthetic parent a real-looking number of children.
* **Sizes**: tables linked by sampling parents form trees (customers -> orders ->
  order_items). When ``copy_rows`` is smaller than a table of a tree, the whole tree is
  scaled down by the same factor, so that each synthetic parent keeps a real number of
  children and no table exceeds ``copy_rows``. Other tables get ``min(copy_rows, rows)``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from catalog_synth.core.types import ForeignKey, TableInfo, TableRef
from catalog_synth.link.rules import Candidate, Rule, candidates
from connectors.graph import KeyGraph, Relationship

if TYPE_CHECKING:  # the people stage loads pandas and Faker: only plan_keys needs it
    from catalog_synth.protect.people import (
        IdentifyingSources,
        SourceColumn,
        SubjectPath,
    )

# A consistent sample must hold at least this many families (parents with their children).
MIN_SAMPLED_PARENTS = 50


@dataclass(frozen=True)
class ParentKeys:
    """One relationship of a child, with what a worker needs to sample the parent's keys."""

    relationship: Relationship
    parent: TableInfo  # described, reduced to the referenced columns
    # The parent is a reference table: the child's rows per label are counted (link/labels.py).
    reference: bool = False


@dataclass(frozen=True)
class KeyPlan:
    """The key work of one table's worker (picklable; no values)."""

    # Relationships declared only in the config, added to the table's foreign keys.
    declared: tuple[ForeignKey, ...] = ()
    # The relationship along which the table is sampled as children of sampled parents.
    sampled_with: ParentKeys | None = None
    # Every relationship whose children-per-parent shape is measured (sampled_with included).
    measured: tuple[ParentKeys, ...] = ()
    # Key columns of a table other tables reference: synthetic keys equal to a real key
    # anywhere in the warehouse are dropped (the sample alone cannot rule them out).
    checked_key: tuple[str, ...] = ()
    # Foreign-key columns the calling process re-draws from synthetic parents.
    relinked: tuple[str, ...] = ()
    # Who the table's rows are about (None: each row is its own subject).
    subject: SubjectPath | None = None
    # Identifying columns of nearby and people tables, whose values copied here identify too.
    sources: tuple[SourceColumn, ...] = ()
    # A reference table: a lookup of labels about no one, whose labels are kept.
    reference: bool = False
    # Small, about no one, no contact columns (a reference table if referenced; if not, one when
    # its content is public reference data: protect/prepare.py).
    lookup: bool = False
    # Column sets other tables reference (a reference table tokens each kept row's real key).
    referenced: tuple[tuple[str, ...], ...] = ()
    # The run's secret for tokens of reference tables' real keys (link/labels.py; never stored).
    label_secret: bytes = field(default=b"", repr=False)
    # Unchanged reference parents: their description and stored copy (synthetic keys and kept
    # labels), so that this table's worker can token them (set by the sync, per round).
    stored_parents: dict[TableRef, tuple[TableInfo, Any]] = field(default_factory=dict, compare=False, repr=False)
    # Pairs of columns whose share of rows obeying a rule the worker measures (link/rules.py).
    rule_candidates: tuple[Candidate, ...] = ()
    # The config's rules: added (whatever the data shows) and switched off (by name).
    rules_added: tuple[Rule, ...] = ()
    rules_off: frozenset[str] = frozenset()


def plan_keys(
    graph: KeyGraph, sample_rows: int, copy_rows: int, reference_max_rows: int | None = None
) -> tuple[dict[TableRef, KeyPlan], dict[TableRef, int]]:
    """Each described table's :class:`KeyPlan`, and the synthetic row count of every table in a
    tree of sampling parents (the others keep ``min(copy_rows, rows)``).

    Tables of at most ``reference_max_rows`` rows that others reference and that are about no
    one are reference tables (None: no table is)."""
    from catalog_synth.protect.people import IdentifyingSources

    sampling_parent = {ref: _sampling_relationship(graph, info, sample_rows) for ref, info in graph.tables.items()}
    _break_loops(sampling_parent)
    sources = IdentifyingSources(graph)
    plans = {
        ref: _with_people(graph, info, _plan(graph, info, sampling_parent[ref]), reference_max_rows, sources)
        for ref, info in graph.tables.items()
    }
    return _with_references(graph, plans), _tree_sizes(graph, sampling_parent, copy_rows)


def _with_references(graph: KeyGraph, plans: dict[TableRef, KeyPlan]) -> dict[TableRef, KeyPlan]:
    """Mark relationships into reference tables, and hand every plan the run's token secret."""
    secret = os.urandom(16)
    reference = {ref for ref, plan in plans.items() if plan.reference}

    def marked(keys: ParentKeys | None) -> ParentKeys | None:
        return None if keys is None else replace(keys, reference=keys.relationship.parent in reference)

    return {
        ref: replace(
            plan,
            measured=tuple(marked(p) for p in plan.measured),
            sampled_with=marked(plan.sampled_with),
            referenced=tuple(sorted({r.parent_columns for r in graph.children_of(ref) if not r.self_reference})),
            label_secret=secret,
        )
        for ref, plan in plans.items()
    }


def _with_people(
    graph: KeyGraph, info: TableInfo, plan: KeyPlan, reference_max_rows: int | None, sources: IdentifyingSources
) -> KeyPlan:
    from catalog_synth.protect.classify import describes_people, has_contact_columns
    from catalog_synth.protect.people import subject_path

    subject = subject_path(graph, info.ref)
    referenced = any(not r.self_reference for r in graph.children_of(info.ref))
    lookup = (
        reference_max_rows is not None
        and info.row_count <= reference_max_rows
        and not describes_people(info)
        and not has_contact_columns(info)
        and subject is None
    )
    return replace(plan, subject=subject, sources=sources.of(info.ref), reference=lookup and referenced, lookup=lookup)


def _plan(graph: KeyGraph, info: TableInfo, sampled_with: Relationship | None) -> KeyPlan:
    measured = tuple(
        ParentKeys(r, _key_columns_only(graph.tables[r.parent], r.parent_columns))
        for r in graph.parents_of(info.ref)
        if r.parent in graph.tables
    )
    together = next((p for p in measured if p.relationship == sampled_with), None)
    referenced = sorted({r.parent_columns for r in graph.children_of(info.ref) if len(r.parent_columns) == 1})
    checked = info.primary_key if info.primary_key in referenced else next(iter(referenced), ())
    relinked = tuple(dict.fromkeys(c for r in graph.parents_of(info.ref) for c in r.columns))
    return KeyPlan(
        graph.declared_for(info.ref), together, measured, checked, relinked, rule_candidates=candidates(graph, info)
    )


def _key_columns_only(info: TableInfo, columns: tuple[str, ...]) -> TableInfo:
    return replace(info, columns=[info.column(c) for c in columns], primary_key=(), foreign_keys=[])


def _sampling_relationship(graph: KeyGraph, info: TableInfo, sample_rows: int) -> Relationship | None:
    """The relationship to sample ``info`` along: key columns that are never empty, a parent
    with few enough children each; preferring keys inside the primary key (order_items of an
    order), then the parent with the most rows."""
    candidates = [
        r
        for r in graph.parents_of(info.ref)
        if not r.self_reference
        and r.parent in graph.tables
        and not any(info.column(c).nullable for c in r.columns)
        and _families_fit(info, graph.tables[r.parent], sample_rows)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (set(r.columns) <= set(info.primary_key), graph.tables[r.parent].row_count))


def _families_fit(child: TableInfo, parent: TableInfo, sample_rows: int) -> bool:
    if parent.row_count == 0:
        return False
    children_per_parent = child.row_count / parent.row_count
    return children_per_parent * MIN_SAMPLED_PARENTS <= sample_rows


def _break_loops(sampling_parent: dict[TableRef, Relationship | None]) -> None:
    """Sampling parents must form trees: a loop (never seen in real data with non-null keys)
    loses its last link."""
    for start in sampling_parent:
        seen = {start}
        relationship = sampling_parent[start]
        while relationship is not None:
            if relationship.parent in seen:
                sampling_parent[relationship.child] = None
                break
            seen.add(relationship.parent)
            relationship = sampling_parent.get(relationship.parent)


def _tree_sizes(
    graph: KeyGraph, sampling_parent: dict[TableRef, Relationship | None], copy_rows: int
) -> dict[TableRef, int]:
    root_of = {ref: _root(ref, sampling_parent) for ref in sampling_parent}
    members: dict[TableRef, list[TableRef]] = {}
    for ref, root in root_of.items():
        members.setdefault(root, []).append(ref)
    sizes: dict[TableRef, int] = {}
    for tree in members.values():
        if len(tree) < 2:
            continue
        scale = min([1.0] + [copy_rows / graph.tables[ref].row_count for ref in tree if graph.tables[ref].row_count])
        for ref in tree:
            rows = graph.tables[ref].row_count
            sizes[ref] = max(1, math.floor(rows * scale)) if rows else 0
    return sizes


def _root(ref: TableRef, sampling_parent: dict[TableRef, Relationship | None]) -> TableRef:
    relationship = sampling_parent.get(ref)
    while relationship is not None:
        ref = relationship.parent
        relationship = sampling_parent.get(ref)
    return ref
