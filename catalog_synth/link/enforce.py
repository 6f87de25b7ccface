"""Copies obey the schema-wide rules (:mod:`catalog_synth.link.rules`) at their real share, by
construction, not by dropping rows.

* **order within a table** (worker side, on the model's rows before the gate): a row breaking
  ``column >= anchor`` gets ``column`` redrawn as an offset from its anchor, the offset drawn
  from the synthetic rows that keep the order; the columns that follow ``column`` move with it,
  so the row's later orders still hold. Only as many rows as the real share needs are moved.
* **order across a foreign key** (calling process, once keys are linked): the same, from the
  synthetic parent's date.
* **copy** (calling process, once keys are linked): the child column takes its synthetic
  parent's value on the real share of rows. The parent's value is synthetic (a fake or a
  modelled value): no real value enters.
* **total** (calling process, once a child is linked; its parent waits for it): the parent's
  amount becomes the sum over its synthetic children, on the real share of parents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
import pandas as pd

from catalog_synth.core.rule_notes import rule_note
from catalog_synth.core.types import ColumnKind, SyntheticTable, TableInfo
from catalog_synth.core.values import normalized
from catalog_synth.link.rules import Rule
from catalog_synth.protect.subjects import Subjects
from connectors import TOTAL_CENT, TOTAL_RELATIVE
from connectors.graph import Relationship

# A tendency whose synthetic share exceeds the real one by more than this is brought down to it.
LOWER_ABOVE = 0.005


@dataclass(frozen=True)
class Outcome:
    """A rule as found, its synthetic share before and after, and what was done."""

    rule: Rule
    before: float | None
    after: float | None
    action: str

    def note(self) -> str:
        """The note that carries it to the summary and ``report`` (core/rule_notes.py reads it back)."""
        action = f"{self.action} (added by the config)" if self.rule.source == "config" else self.action
        return rule_note(self.rule.name, self.rule.kind, self.rule.real_share, self.after, action)


def within(frame: pd.DataFrame, rules: Sequence[Rule], rng: np.random.Generator) -> list[Outcome]:
    """Enforce a table's own rules on the model's rows (in place): orders, then dependencies."""
    return [*order_within(frame, rules, rng), *depends_within(frame, rules, rng)]


def depends_within(frame: pd.DataFrame, rules: Sequence[Rule], rng: np.random.Generator) -> list[Outcome]:
    """Functional dependencies (``brand -> manufacturer``): a row whose dependent is not the most
    common one among the synthetic rows of its determinant gets that one, on as many rows as the
    real share needs (determinants first: postal code -> city before city -> country). Only
    values of the synthetic rows are used."""
    mine = [r for r in rules if r.kind == "depends" and {r.column, r.anchor} <= set(frame.columns)]
    outcomes = []
    for rule in anchors_first(mine):
        determinant, dependent = frame[rule.anchor], frame[rule.column]
        present = determinant.notna() & dependent.notna()
        rows = int(present.sum())
        if not rows:
            outcomes.append(Outcome(rule, None, None, "nothing to do: no rows with both values"))
            continue
        pairs = pd.DataFrame({"a": determinant[present].astype(str), "b": dependent[present]})
        counted = pairs.groupby(["a", "b"], sort=False).size().rename("n").reset_index()
        counted = counted.iloc[rng.permutation(len(counted))].sort_values("n", ascending=False, kind="stable")
        modes = counted.drop_duplicates("a").set_index("a")["b"]  # ties broken at random
        expected = determinant.astype(str).map(modes).where(present)
        holds = present & (dependent.astype(object) == expected.astype(object))
        before = float(holds.sum() / rows)
        need = min(math.ceil(rule.real_share * rows - 1e-9) - int(holds.sum()), int((present & ~holds).sum()))
        if need <= 0:
            outcomes.append(Outcome(rule, before, before, "kept as generated (already at the real share)"))
            continue
        chosen = frame.index[np.sort(rng.choice(np.flatnonzero((present & ~holds).to_numpy()), need, replace=False))]
        updated = dependent.astype(object)
        updated.loc[chosen] = expected.loc[chosen]
        frame[rule.column] = updated if dependent.dtype == object else updated.astype(dependent.dtype)
        after = float((present & (frame[rule.column].astype(object) == expected.astype(object))).sum() / rows)
        outcomes.append(Outcome(rule, before, after, f"{need} rows take the {rule.column} of their {rule.anchor}"))
    return outcomes


def order_within(frame: pd.DataFrame, rules: Sequence[Rule], rng: np.random.Generator) -> list[Outcome]:
    """Enforce a table's own order rules on ``frame`` (model space: naive datetimes), in place."""
    mine = [r for r in rules if r.kind == "order" and not r.across and {r.column, r.anchor} <= set(frame.columns)]
    outcomes = []
    for rule in anchors_first(mine):
        anchor = ordered(frame[rule.anchor])
        outcomes.append(_order(frame, rule, anchor, None, mine, rng))
    return outcomes


def rare_in_child(sample: pd.DataFrame, rules: Sequence[Rule], subjects: Subjects, min_count: int
                  ) -> dict[str, frozenset[int]]:
    """Worker side, for each column a copy rule fills: hashes of the real values fewer than
    ``min_count`` of the table's people hold. A parent may show a value its many people hold
    that the child's few share (a country of five customers, four of whom ordered): copied, it
    would be a rare value of the child's own people."""
    rare = {}
    for rule in rules:
        if rule.kind == "copy" and rule.column in sample.columns:
            values = sample[rule.column].reset_index(drop=True)  # subjects count by row position
            rare[rule.column] = frozenset(_hashes(sorted(subjects.rare(values, min_count))))
    return {column: hashes for column, hashes in rare.items() if hashes}


def _hashes(texts: list[str | None]) -> np.ndarray:
    return pd.util.hash_array(np.array(texts, dtype=object)) if texts else np.array([], dtype="uint64")


def across(
    table: SyntheticTable,
    rules: Sequence[Rule],
    parents: Callable[[Relationship, str], pd.DataFrame | None],
    rng: np.random.Generator,
    rare: dict[str, frozenset[int]] | None = None,
) -> list[Outcome]:
    """Enforce rules across foreign keys on a linked child copy (output space), in place; a copied
    column's class says so. ``parents(relationship, column)``: the parent's synthetic rows (its key
    columns and that column), None when they are not at hand; ``rare``: :func:`rare_in_child`."""
    frame, info = table.data, table.info
    own = [r for r in rules if r.kind == "order" and not r.across]
    outcomes = []
    for rule in rules:
        if not rule.across or rule.column not in frame.columns:
            continue
        parent = parents(rule.relationship, rule.anchor)
        if parent is None or rule.anchor not in parent.columns:
            outcomes.append(Outcome(rule, None, None, "not enforced: the synthetic parent's values are not at hand"))
            continue
        values = parent_values(frame, rule.relationship.columns, parent, rule.relationship.parent_columns, rule.anchor)
        if rule.kind == "copy":
            outcomes.append(_copy(frame, info, rule, values, rng, (rare or {}).get(rule.column, frozenset())))
            if rule.column in table.classes and rule.real_share >= 0.995:
                source = f"{rule.relationship.parent.name}.{rule.anchor}"
                reason = f"copied from its synthetic parent's {source}, like the real table"
                table.classes[rule.column] = replace(table.classes[rule.column], reason=reason)
        else:
            outcomes.append(_order(frame, rule, ordered(values), info, own, rng))
    return outcomes


def parent_values(
    frame: pd.DataFrame, columns: tuple[str, ...], parent: pd.DataFrame, parent_columns: tuple[str, ...], anchor: str
) -> pd.Series:
    """Each child row's parent's ``anchor`` value (None where its key points at no known parent)."""
    keys = parent[[*parent_columns, anchor]].drop_duplicates(list(parent_columns))
    keys = keys.set_axis([*[f"_k{i}" for i in range(len(columns))], "_value"], axis=1)
    left = frame[list(columns)].set_axis([f"_k{i}" for i in range(len(columns))], axis=1).reset_index(drop=True)
    for i in range(len(columns)):  # one type on both sides of the join
        left[f"_k{i}"], keys[f"_k{i}"] = left[f"_k{i}"].astype(object), keys[f"_k{i}"].astype(object)
    joined = left.merge(keys.assign(_found=True), how="left", on=list(left.columns))
    values = pd.Series(joined["_value"].to_numpy(), index=frame.index)
    values.attrs["found"] = joined["_found"].notna().to_numpy()  # rows whose parent is known
    return values


def share(frame: pd.DataFrame, rule: Rule, values: pd.Series | None = None) -> float | None:
    """The rule's share in ``frame`` (``values``: the parent's, for a rule across a key)."""
    other = values if values is not None else frame[rule.anchor]
    if rule.kind == "copy":
        mine, theirs = frame[rule.column], other
        holds = (mine.astype(object) == theirs.astype(object)) | (mine.isna() & theirs.isna())
        present = pd.Series(theirs.attrs.get("found", theirs.notna() | mine.isna()), index=frame.index)
        return float(holds[present].mean()) if present.any() else None
    column, anchor = ordered(frame[rule.column]), ordered(other)
    present = column.notna() & anchor.notna()
    return float((column[present] >= anchor[present]).mean()) if present.any() else None


# -- order -------------------------------------------------------------------------------------
def _order(
    frame: pd.DataFrame,
    rule: Rule,
    anchor: pd.Series,
    info: TableInfo | None,
    own: Sequence[Rule],
    rng: np.random.Generator,
) -> Outcome:
    column = ordered(frame[rule.column])
    present = column.notna() & anchor.notna()
    holds = present & (column >= anchor)
    rows = int(present.sum())
    if not rows:
        return Outcome(rule, None, None, "nothing to do: no rows with both dates")
    before = float(holds.sum() / rows)
    need = min(math.ceil(rule.real_share * rows - 1e-9) - int(holds.sum()), int((present & ~holds).sum()))
    alone = not rule.across and not any(r.column == rule.column and r != rule for r in own)
    if need <= 0 and before - rule.real_share > LOWER_ABOVE and alone:
        return _fewer(frame, rule, column, anchor, holds, info, before, rng)
    if need <= 0:
        return Outcome(rule, before, before, "kept as generated (already at the real share)")
    breaking = np.flatnonzero((present & ~holds).to_numpy())
    chosen = frame.index[np.sort(rng.choice(breaking, size=need, replace=False))]
    gaps = (column - anchor)[holds]
    offsets = rng.choice(gaps.to_numpy(), size=need) if len(gaps) else np.zeros(need, dtype=gaps.dtype)
    delta = (anchor[chosen] + offsets).to_numpy() - column[chosen].to_numpy()
    moved = [rule.column, *followers_of(rule.column, own)]
    for name in moved:
        if name in frame.columns:
            shifted = ordered(frame[name])
            shifted.loc[chosen] = shifted.loc[chosen] + delta
            frame[name] = in_form_of(shifted, frame[name], info, name)
    after = share(frame, rule, anchor if rule.across else None)
    also = f" (with {', '.join(moved[1:])})" if len(moved) > 1 else ""
    return Outcome(rule, before, after, f"{need} rows redrawn as an offset from {rule.anchor}{also}")


def _fewer(
    frame: pd.DataFrame,
    rule: Rule,
    column: pd.Series,
    anchor: pd.Series,
    holds: pd.Series,
    info: TableInfo | None,
    before: float,
    rng: np.random.Generator,
) -> Outcome:
    """A tendency the model overshoots (every synthetic row in order where 85% of real rows are):
    rows chosen at random get ``column`` before its anchor, by a gap the synthetic rows out of order
    have (else one the rows in order have, mirrored). Only ``column`` moves: what follows it stays
    after it. Only for a column that follows no other date (moving it could break that order) and
    within a table (across a key the parent's date is the one to keep)."""
    rows = int((column.notna() & anchor.notna()).sum())
    surplus = int(holds.sum()) - math.ceil(rule.real_share * rows - 1e-9)
    gaps = (anchor - column)[column.notna() & anchor.notna() & ~holds]
    gaps = gaps if len(gaps) else (column - anchor)[holds]
    gaps = gaps[gaps > np.zeros(1, dtype=gaps.dtype)[0]]
    if surplus <= 0 or not len(gaps):
        return Outcome(rule, before, before, "kept as generated")
    chosen = frame.index[np.sort(rng.choice(np.flatnonzero(holds.to_numpy()), size=surplus, replace=False))]
    moved = column.copy()
    moved.loc[chosen] = anchor[chosen] - rng.choice(gaps.to_numpy(), size=surplus)
    frame[rule.column] = in_form_of(moved, frame[rule.column], info, rule.column)
    after = share(frame, rule, anchor if rule.across else None)
    return Outcome(rule, before, after, f"{surplus} rows put before {rule.anchor}, as often as in the real table")


def anchors_first(rules: list[Rule]) -> list[Rule]:
    """Rules ordered so that a column is fixed before the columns that follow it."""
    depth: dict[str, int] = {}

    def level(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in depth:
            before = [r.anchor for r in rules if r.column == name and r.anchor not in seen]
            depth[name] = 1 + max((level(a, seen | {name}) for a in before), default=-1)
        return depth[name]

    return sorted(rules, key=lambda r: (level(r.anchor), r.column, r.anchor))


def followers_of(name: str, rules: Sequence[Rule]) -> list[str]:
    """Columns that must stay on or after ``name`` through the table's own order rules."""
    found, pending = [], [name]
    while pending:
        current = pending.pop()
        for rule in rules:
            if rule.anchor == current and rule.column not in found and rule.column != name:
                found.append(rule.column)
                pending.append(rule.column)
    return found


def ordered(values: pd.Series) -> pd.Series:
    """Values that order: numbers as float64, dates and datetimes as :func:`stamps`."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    if values.dtype == object and values.map(lambda v: isinstance(v, (int, float, Decimal)), na_action="ignore").any():
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return stamps(values)


def stamps(values: pd.Series) -> pd.Series:
    """Dates and datetimes as naive UTC ``datetime64[us]`` (NaT where empty)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    converted = pd.to_datetime(values, errors="coerce", utc=True)
    return converted.dt.tz_localize(None).astype("datetime64[us]")


def in_form_of(shifted: pd.Series, original: pd.Series, info: TableInfo | None, name: str) -> pd.Series:
    """``shifted`` in the form of ``original`` (dates stay dates, a time zone stays, whole numbers
    stay whole)."""
    if shifted.dtype == "float64":
        if pd.api.types.is_integer_dtype(original.dtype):
            return shifted.round().astype(original.dtype)
        return shifted.astype(original.dtype) if pd.api.types.is_numeric_dtype(original.dtype) else shifted
    kind = info.column(name).kind if info is not None and any(c.name == name for c in info.columns) else None
    if kind is ColumnKind.DATE or (original.dtype == object and kind is None):
        return shifted.map(lambda stamp: stamp.date(), na_action="ignore").astype(object).where(shifted.notna(), None)
    if isinstance(original.dtype, pd.DatetimeTZDtype):
        return shifted.dt.tz_localize("UTC").dt.tz_convert(original.dtype.tz)
    return shifted.astype(original.dtype) if str(original.dtype).startswith("datetime64") else shifted


# -- total -------------------------------------------------------------------------------------
def total(parent: SyntheticTable, rule: Rule, children: pd.DataFrame, rng: np.random.Generator) -> Outcome:
    """Set ``rule.column`` of ``parent`` (in place) to the sum over its synthetic ``children`` of
    ``rule.anchor`` (a product of their columns), rounded to the column's scale, on as many of
    the parents with children as the real share needs. Sums of synthetic values only."""
    relationship, factors = rule.relationship, rule.anchor.split(" * ")
    frame = parent.data
    if not {*factors, *relationship.columns} <= set(children.columns) or rule.column not in frame.columns:
        return Outcome(rule, None, None, "not enforced: the columns are not in the copies")
    product = ordered(children[factors[0]])
    for factor in factors[1:]:
        product = product * ordered(children[factor])
    sums = children[list(relationship.columns)].assign(_sum=product).groupby(list(relationship.columns))["_sum"]
    sums = sums.sum(min_count=1).reset_index()
    values = ordered(parent_values(frame, relationship.parent_columns, sums, relationship.columns, "_sum"))
    column = ordered(frame[rule.column])
    present = values.notna() & column.notna()
    rows = int(present.sum())
    if not rows:
        return Outcome(rule, None, None, "nothing to do: no parent with children")
    holds = present & _sums_match(column, values)
    before = float(holds.sum() / rows)
    need = min(math.ceil(rule.real_share * rows - 1e-9) - int(holds.sum()), int((present & ~holds).sum()))
    if need <= 0:
        return Outcome(rule, before, before, "kept as generated (already at the real share)")
    chosen = frame.index[np.sort(rng.choice(np.flatnonzero((present & ~holds).to_numpy()), need, replace=False))]
    scale = parent.info.column(rule.column).scale
    column.loc[chosen] = values[chosen].round(2 if scale is None else scale)
    frame[rule.column] = in_form_of(column, frame[rule.column], parent.info, rule.column)
    after = float((present & _sums_match(column, values)).sum() / rows)
    return Outcome(rule, before, after, f"{need} rows take the sum of their synthetic children")


def _sums_match(totals: pd.Series, sums: pd.Series) -> pd.Series:
    """Totals equal to their sums as the warehouse measured them (connectors.TOTAL_CENT)."""
    return (totals - sums).abs() <= TOTAL_CENT + TOTAL_RELATIVE * totals.abs()


# -- copy --------------------------------------------------------------------------------------
def _copy(frame: pd.DataFrame, info: TableInfo, rule: Rule, values: pd.Series, rng: np.random.Generator,
          rare: frozenset[int]) -> Outcome:
    column = info.column(rule.column)
    mine = frame[rule.column]
    holds = (mine.astype(object) == values.astype(object)) | (mine.isna() & values.isna())
    present = pd.Series(values.attrs.get("found", values.notna()), index=frame.index)
    rows = int(present.sum())
    if not rows:
        return Outcome(rule, None, None, "nothing to do: no rows with a parent")
    before = float((holds & present).sum() / rows)
    shown = ~pd.Series(_hashes(list(normalized(values))), index=frame.index).isin(rare) if rare else True
    settable = present & ~holds & (values.notna() | column.nullable) & shown
    need = min(math.ceil(rule.real_share * rows - 1e-9) - int((holds & present).sum()), int(settable.sum()))
    if need <= 0:
        return Outcome(rule, before, before, "kept as generated (already at the real share)")
    chosen = frame.index[np.sort(rng.choice(np.flatnonzero(settable.to_numpy()), size=need, replace=False))]
    copied = values[chosen]
    if column.length and column.kind is ColumnKind.STRING:
        copied = copied.map(lambda v: v[: column.length] if isinstance(v, str) else v)
    updated = frame[rule.column].astype(object)
    updated.loc[chosen] = copied.astype(object)
    frame[rule.column] = updated if mine.dtype == object else updated.astype(mine.dtype)
    after = share(frame, rule, values)
    return Outcome(rule, before, after, f"{need} rows copy the synthetic parent's {rule.anchor}")
