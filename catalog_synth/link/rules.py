"""Schema-wide rules, discovered inside the warehouse from aggregates only (issue 20).

Three kinds, for now:

* **order**: one date/time column on or after another of the same table (a line item's receipt
  date on or after its ship date), or of its parent across a foreign key (a line item ships on
  or after its order's date); or one amount at least another of the same table (a list price
  at least the sales price; amounts and quantities are told by their names);
* **depends**: a text column of places or categories that follows from another of the table
  (``p_brand -> p_mfgr``, postal code -> city): a functional dependency;
* **copy**: a child column equal to its parent's column on most joined rows (an invoice's
  billing country is its customer's country): a denormalised copy;
* **band**: a category that follows from the range a date or amount of the row falls in (a line
  is "open" when it ships after a day, "filled" before it): :mod:`catalog_synth.link.bands`;
* **prefix**: a text whose first characters follow its parent in a reference table (a phone's
  country code, its nation): :mod:`catalog_synth.link.prefixes`;
* **total**: a parent's amount equal to the sum over its children of one of their amounts, or of
  an amount times a quantity (an invoice's total, its lines' unit price times quantity).

Planning (:func:`candidates`) names the pairs worth measuring from the schema alone (names and
types); a table's worker (:func:`measure`) asks the warehouse, in one aggregate query for the
table, one per foreign key (to a parent, and from children for totals) and one per pair of label
columns, on how many rows each holds. Only those counts leave the warehouse. A pair holding on at least ``ORDER_RULE_SHARE`` (order),
``DEPENDENCY_RULE_SHARE`` (depends) or ``COPY_RULE_SHARE`` (copy) of the real rows is a rule,
kept at its real share by :mod:`catalog_synth.link.enforce`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog_synth.core.types import ColumnInfo, ColumnKind, TableInfo
from connectors import Capability, Comparison, Connector
from connectors.graph import KeyGraph, Relationship

# An order holding on at least this share of real rows (either way) is a rule; fewer is no rule.
ORDER_RULE_SHARE = 0.8
# A child column equal to its parent's on at least this share of joined rows is a copy.
COPY_RULE_SHARE = 0.5
# At most this many date/time columns of a table are compared pairwise.
MAX_TIME_COLUMNS = 12
TIMES = (ColumnKind.DATE, ColumnKind.DATETIME)
NUMBERS = (ColumnKind.INTEGER, ColumnKind.FLOAT, ColumnKind.DECIMAL)
# Numeric columns compared with each other only within one family, told by their names.
FAMILIES = {
    "amount": ("amount", "amt", "price", "total", "cost", "revenue", "balance", "payment", "fee", "charge", "sales",
               "profit", "paid", "due"),
    "quantity": ("quantity", "qty", "units"),
}  # fmt: skip
# Text columns of places and categories, whose values may follow from one another (postal code
# -> city -> state -> country, brand -> manufacturer); at most MAX_LABEL_COLUMNS per table.
LABEL_WORDS = ("country", "state", "province", "region", "city", "postal", "zip", "county", "district", "nation",
               "brand", "manufacturer", "mfgr", "category", "type", "class", "segment", "operation", "container")
MAX_LABEL_COLUMNS = 8
# A dependent that is the most common one for its determinant on at least this share of real rows,
# whose determinant repeats (at most this share of distinct values per row), follows from it.
DEPENDENCY_RULE_SHARE = 0.95
MAX_DISTINCT_SHARE = 0.5
# A parent's amount that is its children's sum on at least this share of parents is a total.
TOTAL_RULE_SHARE = 0.8
MAX_SUMS = 8  # children's sums compared with each amount of the parent, per relationship
COPIED_KINDS = (ColumnKind.STRING, ColumnKind.DATE, ColumnKind.DATETIME, ColumnKind.INTEGER, ColumnKind.DECIMAL)


@dataclass(frozen=True)
class Candidate:
    """A pair to measure: ``column`` against ``anchor`` (of the parent, across ``relationship``;
    for a total, the sum over the children across ``relationship`` of ``anchor``, a product)."""

    kind: str  # "order", "copy", "depends" or "total"
    column: str
    anchor: str
    relationship: Relationship | None = None


@dataclass(frozen=True)
class Rule:
    """A rule found in the real data: ``column >= anchor`` (order), ``anchor -> column`` (depends),
    ``column = parent.anchor`` (copy) or ``column = sum(child.anchor)`` (total: a rule of the
    parent, across a relationship from a child), holding on ``real_share`` of the ``rows``
    measured. Aggregates only."""

    kind: str
    column: str
    anchor: str
    real_share: float
    rows: int
    relationship: Relationship | None = None
    source: str = "data"  # "data": found in the warehouse; "config": added by the config
    # An order across a foreign key: inner quantiles of the real offsets ``column - parent.anchor``
    # (days for dates), read by the worker from its sample (link/offsets.py); () where not measured.
    offsets: tuple[float, ...] = field(default=(), compare=False, repr=False)
    # A band rule: the anchor's cut points (days since 1970 for dates) and the column's values
    # found in each band between them (link/bands.py).
    cuts: tuple[float, ...] = field(default=(), compare=False, repr=False)
    bands: tuple[tuple[str, ...], ...] = field(default=(), compare=False, repr=False)
    band_rows: tuple[tuple[int, ...], ...] = field(default=(), compare=False, repr=False)  # rows per value
    # A prefix rule: (token of a real parent, its prefix, its rows) per parent (link/prefixes.py).
    prefixes: tuple[tuple[int, str, int], ...] = field(default=(), compare=False, repr=False)

    @property
    def name(self) -> str:
        if self.kind == "depends":
            return f"{self.anchor} -> {self.column}"
        if self.kind == "band":
            return f"{self.anchor} ranges -> {self.column}"
        if self.kind == "prefix":
            return f"{self.relationship.parent.name} -> {self.anchor}"
        if self.kind == "total":
            return f"{self.column} = sum({self.relationship.child.name}.{self.anchor})"
        if self.relationship is None:
            return f"{self.column} >= {self.anchor}"
        parent = f"{self.relationship.parent.name}.{self.anchor}"
        return f"{self.column} {'>=' if self.kind == 'order' else '='} {parent}"

    @property
    def across(self) -> bool:
        """A rule across a foreign key to a parent (a total is one from children)."""
        return self.relationship is not None and self.kind not in ("total", "prefix")

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.name, "kind": self.kind, "real_share": round(self.real_share, 4), "rows": self.rows,
                "source": self.source}  # fmt: skip


def candidates(graph: KeyGraph, info: TableInfo) -> tuple[Candidate, ...]:
    """The pairs of ``info`` worth measuring, from names and types only."""
    keys = {c for fk in info.foreign_keys for c in fk.columns} | set(info.primary_key)
    times = [c.name for c in info.columns if c.kind in TIMES and c.name not in keys][:MAX_TIME_COLUMNS]
    found = [Candidate("order", b, a) for i, a in enumerate(times) for b in times[i + 1 :]]
    for family in FAMILIES:
        numbers = [c.name for c in info.columns if c.kind in NUMBERS and c.name not in keys
                   and _family(c.name) == family]  # fmt: skip
        found += [Candidate("order", b, a) for i, a in enumerate(numbers) for b in numbers[i + 1 : MAX_TIME_COLUMNS]]
    labels = [c.name for c in info.columns if c.kind is ColumnKind.STRING and c.name not in keys
              and any(w in _bare(c.name) for w in LABEL_WORDS)][:MAX_LABEL_COLUMNS]  # fmt: skip
    found += [Candidate("depends", b, a) for a in labels for b in labels if a != b]
    found += _total_candidates(graph, info, keys)
    for relationship in graph.parents_of(info.ref):
        parent = graph.tables.get(relationship.parent)
        if relationship.self_reference or parent is None:
            continue
        parent_keys = {c for fk in parent.foreign_keys for c in fk.columns} | set(parent.primary_key)
        theirs = [c for c in parent.columns if c.name not in parent_keys]
        their_times = [p.name for p in theirs if p.kind in TIMES][:MAX_TIME_COLUMNS]
        found += [Candidate("order", c, p, relationship) for c in times for p in their_times]
        mine = [c for c in info.columns if c.name not in keys and c.kind in COPIED_KINDS]
        found += [
            Candidate("copy", c.name, p.name, relationship) for c in mine for p in theirs if _alike(c, p)
        ]
    return tuple(found)


def _total_candidates(graph: KeyGraph, info: TableInfo, keys: set[str]) -> list[Candidate]:
    """Amounts of ``info`` that may be sums over its children of an amount, or of an amount times
    a quantity."""
    mine = _numbers(info, keys, "amount")
    found = []
    for relationship in graph.children_of(info.ref):
        child = graph.tables.get(relationship.child)
        if relationship.self_reference or child is None or not mine:
            continue
        child_keys = {c for fk in child.foreign_keys for c in fk.columns} | set(child.primary_key)
        amounts, quantities = _numbers(child, child_keys, "amount"), _numbers(child, child_keys, "quantity")
        sums = [*(f"{a} * {q}" for a in amounts for q in quantities), *amounts][:MAX_SUMS]
        found += [Candidate("total", column, summed, relationship) for column in mine for summed in sums]
    return found


def _numbers(info: TableInfo, keys: set[str], family: str) -> list[str]:
    return [c.name for c in info.columns if c.kind in NUMBERS and c.name not in keys and _family(c.name) == family]


def _family(name: str) -> str | None:
    """The family of a numeric column by its name (amounts, quantities), or None."""
    bare = _bare(name)
    return next((family for family, words in FAMILIES.items() if any(w in bare for w in words)), None)


def _alike(child: ColumnInfo, parent: ColumnInfo) -> bool:
    """Same kind, and the child's name ends with the parent's (``billingcountry``, ``country``;
    ``ShipCity``, ``City``), once prefixes like TPC-H's ``o_`` are dropped."""
    if child.kind is not parent.kind:
        return False
    mine, theirs = _bare(child.name), _bare(parent.name)
    return len(theirs) >= 4 and mine.endswith(theirs)


def _bare(name: str) -> str:
    return re.sub(r"^[a-z]{1,2}_", "", name.lower()).replace("_", "")


def measure(connector: Connector, info: TableInfo, found: tuple[Candidate, ...]) -> tuple[list[Rule], list[str]]:
    """The rules among ``found``, with their real shares (one query for the table, one per
    foreign key), and notes on what could not be measured."""
    if not found:
        return [], []
    if not connector.supports(Capability.RULE_SHARES):
        return [], ["the connector cannot count rows obeying a rule: schema-wide rules were not looked for"]
    rules: list[Rule] = _dependencies(connector, info, [c for c in found if c.kind == "depends"])
    totals = _by_relationship([c for c in found if c.kind == "total"])
    rules += [rule for relationship, group in totals.items() for rule in _totals(connector, info, relationship, group)]
    groups = _by_relationship([c for c in found if c.kind in ("order", "copy")])
    for relationship, group in groups.items():
        comparisons = [_comparisons(c) for c in group]
        flat = [comparison for pair in comparisons for comparison in pair]
        if relationship is None:
            counts = connector.compare_columns(info, flat)
        else:
            counts = connector.compare_with_parent(
                info, relationship.columns, relationship.parent, relationship.parent_columns, flat
            )
        at = 0
        for candidate, pair in zip(group, comparisons):
            rule = _rule(candidate, counts[at : at + len(pair)])
            at += len(pair)
            if rule is not None:
                rules.append(rule)
    asked = len(groups) + len(totals) + sum(1 for c in found if c.kind == "depends")
    queries = f"{asked} aggregate quer{'y' if asked == 1 else 'ies'}"
    return rules, [f"schema-wide rules: {len(found)} pairs of columns measured in {queries}, {len(rules)} rules found"]


def _by_relationship(found: list[Candidate]) -> dict[Relationship | None, list[Candidate]]:
    groups: dict[Relationship | None, list[Candidate]] = {}
    for candidate in found:
        groups.setdefault(candidate.relationship, []).append(candidate)
    return groups


def _totals(connector: Connector, info: TableInfo, relationship: Relationship, found: list[Candidate]) -> list[Rule]:
    """The parent's amounts that are their children's sums: per amount, the best-holding sum."""
    counts = connector.compare_totals(info, relationship.child, relationship.columns, relationship.parent_columns,
                                      [(c.column, tuple(c.anchor.split(" * "))) for c in found])
    best: dict[str, Rule] = {}
    for candidate, (present, holds) in zip(found, counts):
        share = holds / present if present else 0.0
        if share >= TOTAL_RULE_SHARE and share > (best[candidate.column].real_share if candidate.column in best else 0):
            best[candidate.column] = Rule("total", candidate.column, candidate.anchor, share, present, relationship)
    return list(best.values())


def _dependencies(connector: Connector, info: TableInfo, found: list[Candidate]) -> list[Rule]:
    """Functional dependencies among ``found`` (both directions of each pair are candidates): where
    both hold (a code and its name), the one from the column with more distinct values."""
    if not found:
        return []
    counts = connector.count_dependencies(info, [(c.anchor, c.column) for c in found])
    distinct = {c.anchor: n for c, (_, _, n) in zip(found, counts)}
    rules = []
    for candidate, (rows, top, values) in zip(found, counts):
        if not rows or top / rows < DEPENDENCY_RULE_SHARE or values > MAX_DISTINCT_SHARE * rows:
            continue
        other = distinct.get(candidate.column, 0)
        if values < other or (values == other and candidate.anchor > candidate.column) or other <= 1:
            continue  # the coarser column does not determine the finer; of two alike, one is kept; a
            # column with one value follows from anything
        rules.append(Rule("depends", candidate.column, candidate.anchor, top / rows, rows))
    return rules


def _comparisons(candidate: Candidate) -> list[Comparison]:
    if candidate.kind == "copy":
        return [(candidate.column, "=", candidate.anchor)]
    return [(candidate.column, ">=", candidate.anchor), (candidate.column, "<=", candidate.anchor)]


def _rule(candidate: Candidate, counts: list[tuple[int, int]]) -> Rule | None:
    present = counts[0][0]
    if present == 0:
        return None
    if candidate.kind == "copy":
        share = counts[0][1] / present
        if share < COPY_RULE_SHARE:
            return None
        return Rule("copy", candidate.column, candidate.anchor, share, present, candidate.relationship)
    later, earlier = counts[0][1] / present, counts[1][1] / present
    if later >= ORDER_RULE_SHARE and later >= earlier:
        return Rule("order", candidate.column, candidate.anchor, later, present, candidate.relationship)
    if earlier >= ORDER_RULE_SHARE and candidate.relationship is None:  # the other way round
        return Rule("order", candidate.anchor, candidate.column, earlier, present)
    return None


def anchors_of(graph: KeyGraph, parent_ref) -> set[str]:
    """Columns of ``parent_ref`` that its children's rules may need (their anchors)."""
    needed: set[str] = set()
    for relationship in graph.children_of(parent_ref):
        child = graph.tables.get(relationship.child)
        if child is not None and not relationship.self_reference:
            needed |= {c.anchor for c in candidates(graph, child) if c.relationship == relationship}
    return needed


def configured(
    graph: KeyGraph, info: TableInfo, entries: Sequence[Any]
) -> tuple[tuple[Rule, ...], frozenset[str], list[str]]:
    """The config's rules for ``info`` (``warehouses[].rules``: core/config.py ``RuleConfig``):
    rules added (held at 100%), names of rules switched off, and problems (names only)."""
    added, off, problems = [], set(), []
    names = {c.name for c in info.columns}
    for index, entry in enumerate(entries):
        if entry.table != info.ref.qualified:
            continue
        if entry.off:
            off.add(entry.rule)
            continue
        column, op, right = entry.rule.split(" ")
        if op == "->":  # the determinant first
            column, right = right, column
        parent_name, _, anchor = right.rpartition(".")
        relationship = next(
            (r for r in graph.parents_of(info.ref) if not r.self_reference and r.parent.name == parent_name), None
        )
        parent = graph.tables.get(relationship.parent) if relationship else None
        if column not in names or (not parent_name and anchor not in names):
            problems.append(f"rules[{index}]: {entry.table} has no column named in {entry.rule!r}")
        elif parent_name and (parent is None or anchor not in {c.name for c in parent.columns}):
            problems.append(
                f"rules[{index}]: {entry.rule!r}: no foreign key of {entry.table} to a {parent_name} with that column"
            )
        else:
            kind = {"=": "copy", "->": "depends"}.get(op, "order")
            added.append(Rule(kind, column, anchor, 1.0, 0, relationship if parent_name else None, source="config"))
    return tuple(added), frozenset(off), problems


def chosen(measured: list[Rule], added: Sequence[Rule], off: frozenset[str]) -> tuple[list[Rule], list[Rule]]:
    """The rules to keep (measured ones not switched off, then the config's), and those switched off."""
    kept = [r for r in measured if r.name not in off]
    names = {r.name for r in kept}
    return kept + [r for r in added if r.name not in names], [r for r in measured if r.name in off]
