"""Worker side: samples that hold whole families, and the real shape of every relationship.

Runs where the real sample is read. :func:`read_sample` returns the sample (real rows that
never leave the worker) and a :class:`KeyProfile` of aggregates only: how many sampled
parents have how many children (without the exact real extremes), the share of empty
keys, and which key column numbers the children of a parent (``order_items.line_no``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from catalog_synth.core.types import ColumnKind, SyntheticTable, TableInfo, TableResult
from catalog_synth.core.values import normalize
from catalog_synth.link.labels import label_counts, reference_tokens, stored_key_tokens
from catalog_synth.link.plan import MIN_SAMPLED_PARENTS, KeyPlan, ParentKeys
from catalog_synth.link.rules import Rule
from connectors import Capability, Connector
from connectors.graph import Relationship

# A key column numbers children when this share of the sampled families is numbered 1..n.
COUNTER_SHARE = 0.98
# Parents whose keys are read for a consistent sample, relative to the families expected to fit.
PARENT_OVERSAMPLE = 1.5
# Below this share of the rows wanted, a sample of whole families is dropped for a random one.
MIN_FAMILY_SAMPLE_SHARE = 0.5


@dataclass(frozen=True)
class RelationProfile:
    """One relationship measured on the real data: aggregates, never values."""

    relationship: Relationship
    # number of children -> how many measured parents have that many
    children_per_parent: dict[int, int]
    null_share: float = 0.0
    counter: str | None = None  # key column numbering each parent's children
    counter_start: int = 1
    sampled_together: bool = False
    # The warehouse's row counts of the child and the parent table (aggregates): the whole
    # tables' children per parent, where ``children_per_parent`` counts sampled parents only.
    table_rows: tuple[int, int] | None = None
    # A reference parent: child rows per parent row, by token of its real key (link/labels.py;
    # held in memory only, never in as_dict).
    label_counts: dict[int, float] = field(default_factory=dict, repr=False)
    # A reference child of a reference parent: the token of each synthetic row's real parent.
    row_tokens: tuple[int | None, ...] = field(default=(), repr=False)
    # An unchanged reference parent: its stored synthetic keys -> token of the real row they hold.
    parent_key_tokens: dict[tuple, int | None] = field(default_factory=dict, repr=False)

    def counts(self) -> np.ndarray:
        """The measured children counts, one per measured parent."""
        return np.repeat(
            np.fromiter(self.children_per_parent, dtype="int64"),
            np.fromiter(self.children_per_parent.values(), dtype="int64"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "children_per_parent": {str(n): parents for n, parents in self.children_per_parent.items()},
            "null_share": self.null_share,
            "counter": self.counter,
            "counter_start": self.counter_start,
            "sampled_together": self.sampled_together,
            **({"table_rows": list(self.table_rows)} if self.table_rows else {}),
        }

    @classmethod
    def from_dict(cls, relationship: Relationship, data: dict[str, Any]) -> RelationProfile:
        return cls(
            relationship,
            {int(n): int(parents) for n, parents in data.get("children_per_parent", {}).items()},
            float(data.get("null_share", 0.0)),
            data.get("counter"),
            int(data.get("counter_start", 1)),
            bool(data.get("sampled_together", False)),
            tuple(data["table_rows"]) if data.get("table_rows") else None,
        )


@dataclass
class KeyProfile:
    relations: list[RelationProfile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A reference table: per referenced column set, the token of each synthetic row's real key.
    own_tokens: dict[tuple[str, ...], list[int | None]] = field(default_factory=dict, repr=False)
    # Schema-wide rules found in the real table (names and shares only: link/rules.py).
    rules: list[Rule] = field(default_factory=list)
    # Per column a copy rule fills: hashes of the real values fewer than k of this table's people
    # hold (a parent's value among them is not copied: link/enforce.py ``rare_in_child``).
    rare_copies: dict[str, frozenset[int]] = field(default_factory=dict, repr=False)

    def of(self, relationship: Relationship) -> RelationProfile | None:
        return next((p for p in self.relations if p.relationship == relationship), None)


def read_sample(
    connector: Connector, info: TableInfo, plan: KeyPlan, rows: int, seed: int | None, min_count: int
) -> tuple[pd.DataFrame, KeyProfile]:
    """The table's sample and the profile of its relationships.

    With a sampling parent the sample is the children of randomly sampled parents, whole
    families only, at most ``rows`` rows; otherwise the connector's random sample.
    """
    if not plan.measured:
        return connector.sample(info, rows, seed), KeyProfile()
    if not connector.supports(Capability.FAMILY_SAMPLES):
        note = "the connector cannot read related rows: children per parent are not measured"
        return connector.sample(info, rows, seed), KeyProfile(notes=[note])
    sample: pd.DataFrame | None = None
    profile = KeyProfile()
    rng = np.random.default_rng(seed)
    for parent_keys in plan.measured:
        together = parent_keys == plan.sampled_with
        measured, families = _measure(connector, info, parent_keys, together, rows, seed, min_count, rng)
        if parent_keys.reference and plan.subject is None and plan.label_secret:
            counts = label_counts(connector, info, parent_keys, plan.label_secret, min_count)
            measured = replace(measured, label_counts=counts)
        stored = plan.stored_parents.get(parent_keys.relationship.parent)
        if parent_keys.reference and stored is not None and plan.label_secret:
            keys = stored_key_tokens(connector, *stored, parent_keys.relationship.parent_columns, plan.label_secret)
            measured = replace(measured, parent_key_tokens=keys)
        profile.relations.append(measured)
        sample = families if families is not None else sample
    if sample is None:
        sample = connector.sample(info, rows, seed)
    return sample, profile


def _measure(
    connector: Connector,
    info: TableInfo,
    parent_keys: ParentKeys,
    together: bool,
    rows: int,
    seed: int | None,
    min_count: int,
    rng: np.random.Generator,
) -> tuple[RelationProfile, pd.DataFrame | None]:
    """One relationship's profile, and (when sampled together) the sample of whole families."""
    relationship = parent_keys.relationship
    keys = _parent_keys(connector, parent_keys, info, rows, seed)
    counts = _children_counts(connector, info, relationship.columns, keys)
    families = _family_sample(connector, info, relationship, keys, counts, rows) if together else None
    counter = find_counter(info, relationship, families) if families is not None else (None, 1)
    measured = RelationProfile(
        relationship,
        histogram(counts, min_count, rng),
        _null_share(connector, info, relationship),
        *counter,
        sampled_together=families is not None,
        table_rows=(info.row_count, parent_keys.parent.row_count),
    )
    return measured, families


def _family_sample(
    connector: Connector, info: TableInfo, relationship: Relationship, keys: pd.DataFrame, counts: np.ndarray, rows: int
) -> pd.DataFrame | None:
    """The whole families of the first sampled parents, at most ``rows`` rows; None when children
    crowd on a few parents (3 airports of 1,500 have flights) and a random sample serves better."""
    sample = connector.sample_children(info, relationship.columns, keys[np.cumsum(counts) <= rows], rows)
    return sample if len(sample) >= MIN_FAMILY_SAMPLE_SHARE * min(rows, info.row_count) else None


def _parent_keys(
    connector: Connector, parent_keys: ParentKeys, child: TableInfo, rows: int, seed: int | None
) -> pd.DataFrame:
    """Distinct keys of randomly sampled parent rows (real values: they stay in this worker):
    ``rows`` of them, or more when that many families would not fill a sample of ``rows``."""
    parent = parent_keys.parent
    families = PARENT_OVERSAMPLE * rows * parent.row_count / max(child.row_count, 1)
    wanted = max(rows, MIN_SAMPLED_PARENTS, math.ceil(families))
    keys = connector.sample(parent, min(wanted, parent.row_count), seed)
    return keys.dropna().drop_duplicates().reset_index(drop=True)


def _children_counts(
    connector: Connector, info: TableInfo, columns: tuple[str, ...], keys: pd.DataFrame
) -> np.ndarray:
    """How many rows of ``info`` reference each row of ``keys`` (0 for none)."""
    if keys.empty:
        return np.zeros(0, dtype="int64")
    counted = connector.count_by_key(info, columns, keys)
    found = {_key(row[:-1]): int(row[-1]) for row in counted.itertuples(index=False)}
    return np.array([found.get(_key(row), 0) for row in keys.itertuples(index=False)], dtype="int64")


def _key(values: tuple) -> tuple:
    return tuple(normalize(value) for value in values)


def histogram(counts: np.ndarray, min_count: int, rng: np.random.Generator) -> dict[int, int]:
    """``{children: parents}``. As for any numeric column, a smallest or largest family size
    shared by fewer than ``min_count`` parents is not copied: it moves toward the
    ``min_count``-th size from its end (one customer's exact number of orders stays unknown)."""
    if counts.size == 0:
        return {}
    from catalog_synth.protect.rare import avoid_extremes

    numbers = counts.astype("float64")
    moved = avoid_extremes(numbers, pd.Series(numbers), min_count, 1.0, rng).astype("int64")
    values, parents = np.unique(moved, return_counts=True)
    return {int(n): int(p) for n, p in zip(values, parents)}


def _null_share(connector: Connector, info: TableInfo, relationship: Relationship) -> float:
    if info.row_count == 0 or not all(info.column(c).nullable for c in relationship.columns):
        return 0.0
    return connector.count_missing(info, relationship.columns) / info.row_count


def find_counter(info: TableInfo, relationship: Relationship, sample: pd.DataFrame) -> tuple[str | None, int]:
    """The primary-key column that numbers each parent's children (``line_no`` of
    ``order_items(order_id, line_no)``) and where numbering starts; (None, 1) if none."""
    foreign = {c for fk in info.foreign_keys for c in fk.columns}
    rest = [c for c in info.primary_key if c not in relationship.columns]
    if len(rest) != 1 or rest[0] in foreign or not set(relationship.columns) < set(info.primary_key):
        return None, 1
    column = rest[0]
    if info.column(column).kind is not ColumnKind.INTEGER or sample.empty or column not in sample.columns:
        return None, 1
    groups = sample.groupby(list(relationship.columns))[column]
    sizes, lowest, highest, distinct = groups.size(), groups.min(), groups.max(), groups.nunique()
    start = int(lowest.mode().iloc[0])
    numbered = (lowest == start) & (distinct == sizes) & (highest - lowest + 1 == sizes)
    if start in (0, 1) and numbered.mean() >= COUNTER_SHARE:
        return column, start
    return None, 1


def drop_real_keys(connector: Connector, table: SyntheticTable, plan: KeyPlan) -> int:
    """Drop synthetic rows whose referenced key exists anywhere in the real table.

    The privacy gate compares keys with the sample; other tables will point at these keys,
    so they are also looked up in the whole warehouse table. Returns the rows dropped.
    """
    columns = plan.checked_key
    if not columns or not connector.supports(Capability.KEY_LOOKUPS):
        return 0
    if not all(c in table.data.columns and table.classes[c].identifying for c in columns):
        return 0
    real = connector.existing_keys(table.ref, columns, table.data[list(columns)].dropna())
    if real.empty:
        return 0
    taken = {_key(row) for row in real.itertuples(index=False)}
    clashes = np.array([_key(row) in taken for row in table.data[list(columns)].itertuples(index=False)])
    table.data = table.data[~clashes].reset_index(drop=True)
    return int(clashes.sum())


def with_tokens(profile: KeyProfile, sample: pd.DataFrame, table: SyntheticTable, plan: KeyPlan) -> KeyProfile:
    """A reference table's profile with the tokens of its synthetic rows' real keys and real parents
    (worker side; see :mod:`catalog_synth.link.labels`)."""
    if not plan.reference or not plan.label_secret or table.data.empty:
        return profile
    own, parents = reference_tokens(sample, table, plan)
    profile.own_tokens = own
    relations = {r.relationship: r for r in profile.relations}
    for parent_keys in plan.measured:
        relationship = parent_keys.relationship
        if parent_keys.reference and relationship.columns in parents:
            measured = relations.get(relationship) or RelationProfile(relationship, {})
            relations[relationship] = replace(measured, row_tokens=tuple(parents[relationship.columns]))
    profile.relations = list(relations.values())
    return profile


class Outcome(Protocol):
    """What the linker needs of a worker's answer (``catalog_synth.run.tasks.TableOutcome``)."""

    result: TableResult
    table: SyntheticTable | None
    keys: KeyProfile | None
    settled: bool  # not published for a reason that holds while the table's fingerprint does
