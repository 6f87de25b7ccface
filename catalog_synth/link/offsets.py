"""A child's date (or amount) drawn as an offset from its parent's, like the real offsets (issue 20).

An order rule across a foreign key (a line item ships on or after its order's date) says on how
many rows the child's value follows its parent's, not by how much. Generated per table, a line
item's dates know nothing of their order's, and keeping the order alone moves only the rows
that break it: items still ship years after their order. Here the offset itself is kept:

* **worker side** (:func:`with_offsets`): for each such rule, the parent's anchor of the sampled
  child rows is looked up in the warehouse (``lookup``, one query per relationship) and the
  offsets ``child - parent`` are summed up as ``OFFSET_QUANTILES`` inner quantiles. Only those
  quantiles leave the worker: an aggregate over the sample, no extreme and no row's value;
* **calling process** (:func:`place`, once keys are linked): each child row's value becomes its
  synthetic parent's value plus an offset drawn from those quantiles (dates in whole days), and
  the columns that follow it within the table (its receipt date after its ship date) move by the
  same amount, so the row's own gaps stay as the model made them. Where several such columns
  follow one another, only the first is placed; the others move with it.

The real share of the order comes out of the drawn offsets (negative ones where the real data
has them); :func:`catalog_synth.link.enforce.across` then keeps the rules that have no offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from catalog_synth.core.types import SyntheticTable, TableInfo
from catalog_synth.link.enforce import (
    Outcome,
    anchors_first,
    followers_of,
    in_form_of,
    ordered,
    parent_values,
    share,
)
from catalog_synth.link.rules import TIMES, Rule
from connectors import Capability, Connector, ConnectorError, WarehouseUnavailable
from connectors.graph import Relationship

# Offsets are kept as this many quantiles, at the levels (i + 0.5) / OFFSET_QUANTILES: no extreme.
OFFSET_QUANTILES = 50
# Fewer sampled rows joined to their parent than this: no offsets (the share is kept as before).
MIN_OFFSET_ROWS = 50
DAY = np.timedelta64(1, "D")


def with_offsets(connector: Connector, info: TableInfo, rules: Sequence[Rule], sample: pd.DataFrame
                 ) -> tuple[list[Rule], list[str]]:
    """``rules`` with the real offsets of each date's order rule, from ``sample`` and, across a
    foreign key, its parents' anchors (worker side: real values stay here, quantiles leave), and a
    note of the lookups it cost."""
    rules = [_with_own_offsets(info, r, sample) for r in rules]
    wanted = [r for r in rules if r.kind == "order" and r.across and r.source == "data" and r.column in sample.columns]
    if not wanted or not connector.supports(Capability.KEY_LOOKUPS):
        return rules, []
    anchors: dict[Relationship, pd.DataFrame] = {}
    for relationship in dict.fromkeys(r.relationship for r in wanted):
        columns = list(relationship.columns)
        if set(columns) <= set(sample.columns) and len(sample):
            keys = sample[columns].dropna().drop_duplicates().reset_index(drop=True)
            needed = tuple(sorted({r.anchor for r in wanted if r.relationship == relationship}))
            try:
                found = connector.lookup(relationship.parent, relationship.parent_columns, needed, keys)
            except WarehouseUnavailable:
                raise
            except ConnectorError:  # types it will not look up: the share is kept as before
                continue
            if len(found):
                anchors[relationship] = found.set_axis([*relationship.parent_columns, *needed], axis=1)
    placed = []
    for rule in rules:
        parents = anchors.get(rule.relationship) if rule in wanted else None
        if parents is not None:
            values = parent_values(sample, rule.relationship.columns, parents, rule.relationship.parent_columns,
                                   rule.anchor)  # fmt: skip
            rule = replace(rule, offsets=quantiles(_difference(ordered(sample[rule.column]), ordered(values))))
        placed.append(rule)
    lookups = f"{len(anchors)} key lookup{'' if len(anchors) == 1 else 's'}"
    return placed, [f"schema-wide rules: offsets of {len(wanted)} order rules across foreign keys read in {lookups}"]


def _with_own_offsets(info: TableInfo, rule: Rule, sample: pd.DataFrame) -> Rule:
    """A date's order rule within the table, with the offsets of the sample's rows (a rule the
    config adds holds on every row: it keeps no offsets the data breaks it with)."""
    names = {c.name for c in info.columns if c.kind in TIMES}
    dates = names & set(sample.columns)
    if rule.kind != "order" or rule.across or rule.source != "data" or not {rule.column, rule.anchor} <= dates:
        return rule
    return replace(rule, offsets=quantiles(_difference(ordered(sample[rule.column]), ordered(sample[rule.anchor]))))


def quantiles(offsets: pd.Series) -> tuple[float, ...]:
    """The inner quantiles of ``offsets`` (none where too few rows have one)."""
    present = offsets.dropna().to_numpy(dtype="float64")
    if len(present) < MIN_OFFSET_ROWS:
        return ()
    levels = (np.arange(OFFSET_QUANTILES) + 0.5) / OFFSET_QUANTILES
    return tuple(float(q) for q in np.round(np.quantile(present, levels), 6))


def draw(offsets: Sequence[float], size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` offsets from the quantiles, linear between them."""
    levels = (np.arange(len(offsets)) + 0.5) / len(offsets)
    return np.interp(rng.uniform(levels[0], levels[-1], size), levels, np.asarray(offsets, dtype="float64"))


def place(
    table: SyntheticTable,
    rules: Sequence[Rule],
    parents: Callable[[Relationship, str], pd.DataFrame | None],
    rng: np.random.Generator,
) -> tuple[list[Outcome], list[Rule]]:
    """Place each child value with offsets at that offset from its synthetic parent's anchor (in
    place); the outcomes, and the rules placed."""
    frame, info = table.data, table.info
    own = [r for r in rules if r.kind == "order" and not r.across]
    offsetting = [r for r in rules if r.offsets and r.across and r.column in frame.columns]
    leads = [r for r in offsetting if not any(r.column in followers_of(o.column, own) for o in offsetting if o != r)]
    outcomes, placed, done = [], [], set()
    for rule in leads:
        parent = parents(rule.relationship, rule.anchor)
        if rule.column in done or parent is None or rule.anchor not in parent.columns:
            continue
        values = parent_values(frame, rule.relationship.columns, parent, rule.relationship.parent_columns, rule.anchor)
        source = f"their synthetic {rule.relationship.parent.name}.{rule.anchor}"
        outcomes.append(_place(frame, info, rule, values, followers_of(rule.column, own), rng, source))
        placed.append(rule)
        done.add(rule.column)
    return outcomes, placed


def place_within(frame: pd.DataFrame, rules: Sequence[Rule], rng: np.random.Generator) -> tuple[list[Outcome], list[Rule]]:
    """On the model's rows (in place): each date with offsets from another date of the row at such
    an offset from it, anchors first; a date with two such anchors is placed from the one it
    follows on more real rows (the other rule then keeps its share as before)."""
    own = [r for r in rules if r.kind == "order" and not r.across and {r.column, r.anchor} <= set(frame.columns)]
    best: dict[str, Rule] = {}
    for rule in own:
        if rule.offsets and (rule.column not in best or rule.real_share > best[rule.column].real_share):
            best[rule.column] = rule
    outcomes, placed = [], []
    for rule in anchors_first(own):
        if best.get(rule.column) == rule:
            outcomes.append(_place(frame, None, rule, frame[rule.anchor], [], rng, f"their {rule.anchor}"))
            placed.append(rule)
    return outcomes, placed


def _place(frame: pd.DataFrame, info: TableInfo | None, rule: Rule, values: pd.Series, followers: list[str],
           rng: np.random.Generator, source: str) -> Outcome:
    anchor, column = ordered(values), ordered(frame[rule.column])
    present = anchor.notna() & column.notna()
    rows = int(present.sum())
    if not rows:
        return Outcome(rule, None, None, "nothing to do: no rows with both values")
    before = share(frame, rule, values)
    offsets = draw(rule.offsets, rows, rng)
    if np.issubdtype(anchor.dtype, np.datetime64):
        days = np.round(offsets) if _whole_days(anchor[present]) else offsets
        delta = (anchor[present].to_numpy() + (days * 86_400_000_000).astype("timedelta64[us]")) - column[present].to_numpy()
    else:
        delta = anchor[present].to_numpy() + offsets - column[present].to_numpy()
    moved = [rule.column, *followers]
    for name in moved:
        if name in frame.columns:
            shifted = ordered(frame[name])
            shifted.loc[present] = shifted.loc[present] + delta
            frame[name] = in_form_of(shifted, frame[name], info, name)
    after = share(frame, rule, values)
    also = f" (with {', '.join(moved[1:])})" if len(moved) > 1 else ""
    return Outcome(rule, before, after, f"{rows} rows placed at real-like offsets from {source}{also}")


def _difference(column: pd.Series, anchor: pd.Series) -> pd.Series:
    """``column - anchor`` as numbers: days for dates and times."""
    difference = column - anchor
    return difference / DAY if np.issubdtype(difference.dtype, np.timedelta64) else difference


def _whole_days(stamps: pd.Series) -> bool:
    return bool((stamps == stamps.dt.normalize()).all())
