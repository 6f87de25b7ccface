"""A category that follows from the range a date or amount falls in (a schema-wide rule, issue 20).

Some categories are set by a date: a line is "open" when it ships after the day the data was
taken and "filled" before it; an order is "returned" only once it was received. The real rows
of each category then lie in a range of that date that does not overlap the others'. Generated
per column, the copy draws the category and the date apart, and queries that group by the
category over a date range (TPC-H's query 1) count the wrong rows.

* **worker side** (:func:`find_bands`): for each text column with few values in the sample, one
  aggregate query gives, per value, its rows and the least and greatest of each date and amount
  of the table. Where the values' ranges of one column fall apart into separate groups (each of
  at least ``min_category_count`` rows), the column follows from that range: the rule keeps the
  cut points (halfway between two groups: no row's value) and which values each band holds;
  the least and greatest values stay in the worker;
* **enforcement** (:func:`keep_bands`, on the model's rows, and again in the calling process once
  offsets from a parent moved the date): each band's rows get its values as often as the real
  rows of the band have them (a value fewer than ``min_category_count`` rows hold gets a common
  small weight), each row keeping the model's value while that value has room; only values the
  copy already shows are used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from catalog_synth.core.types import ColumnKind, TableInfo
from catalog_synth.link.assign import scale_to
from catalog_synth.link.enforce import Outcome, ordered
from catalog_synth.link.rules import NUMBERS, TIMES, Rule
from connectors import Capability, Connector

# A text column with at most this many values (in the sample and in the table) may follow a range.
MAX_BAND_VALUES = 12
# At most this many text columns of a table are measured (one aggregate query each).
MAX_BAND_COLUMNS = 8
DAY_US = 86_400_000_000


def find_bands(connector: Connector, info: TableInfo, sample: pd.DataFrame, min_count: int
               ) -> tuple[list[Rule], list[str]]:
    """The table's band rules, and a note of their cost (worker side: per-value ranges are read
    here and stay here)."""
    if not connector.supports(Capability.RULE_SHARES) or sample.empty:
        return [], []
    keys = {c for fk in info.foreign_keys for c in fk.columns} | set(info.primary_key)
    usable = [c for c in info.columns if c.name not in keys and c.name in sample.columns]
    anchors = [c.name for c in usable if c.kind in TIMES or c.kind in NUMBERS]
    labels = [c.name for c in usable if c.kind is ColumnKind.STRING and 2 <= sample[c.name].nunique() <= MAX_BAND_VALUES]
    labels = labels[:MAX_BAND_COLUMNS] if anchors else []
    if not labels:
        return [], []
    rules = []
    for column in labels:
        ranges = connector.ranges_by_value(info, column, anchors, MAX_BAND_VALUES + 1)
        if not 2 <= len(ranges) <= MAX_BAND_VALUES:
            continue
        found = [(anchor, _groups(ranges, i, min_count)) for i, anchor in enumerate(anchors)]
        anchor, groups = max(found, key=lambda pair: len(pair[1]))
        if len(groups) >= 2:
            cuts = tuple((high + low) / 2 for (_, high, _), (low, _, _) in zip(groups, groups[1:]))
            bands = tuple(values for _, _, values in groups)
            counts = dict(zip(ranges["value"].map(lambda v: str(v).strip()), ranges["rows"].astype(int)))
            weights = tuple(tuple(counts[v] if counts[v] >= min_count else max(min_count // 2, 1) for v in values)
                            for values in bands)  # a rare value's count is not kept
            rows = int(ranges["rows"].sum())
            rules.append(Rule("band", column, anchor, 1.0, rows, cuts=cuts, bands=bands, band_rows=weights))
    queries = f"{len(labels)} aggregate quer{'y' if len(labels) == 1 else 'ies'}"
    return rules, [f"schema-wide rules: {len(labels)} text columns of few values against {len(anchors)} dates and"
                   f" amounts in {queries}, {len(rules)} rules found"]


def _groups(ranges: pd.DataFrame, at: int, min_count: int) -> list[tuple[float, float, tuple[str, ...]]]:
    """The values' ranges of anchor ``at`` merged where they overlap: (low, high, values) in order;
    none when a group has fewer than ``min_count`` rows or a value has no range."""
    low, high = _numbers(ranges[f"low{at}"]), _numbers(ranges[f"high{at}"])
    if low.isna().any() or high.isna().any():
        return []
    groups: list[list] = []
    for i in np.argsort(low.to_numpy(), kind="stable"):
        value, rows = str(ranges["value"].iloc[i]).strip(), int(ranges["rows"].iloc[i])
        if groups and low.iloc[i] <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], high.iloc[i])
            groups[-1][2].append(value)
            groups[-1][3] += rows
        else:
            groups.append([low.iloc[i], high.iloc[i], [value], rows])
    if any(rows < min_count for *_, rows in groups):
        return []
    return [(a, b, tuple(sorted(values))) for a, b, values, _ in groups]


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers, and dates as days since 1970."""
    values = ordered(values)
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("int64").where(values.notna()) / DAY_US
    return values


def keep_bands(frame: pd.DataFrame, rules: Sequence[Rule], rng: np.random.Generator) -> list[Outcome]:
    """Each row's category one its band holds, as often within the band as in the real rows (in
    place): rows keep the model's value where they can; only values the copy shows are used."""
    outcomes = []
    for rule in rules:
        if rule.kind != "band" or not {rule.column, rule.anchor} <= set(frame.columns):
            continue
        position, labels = _numbers(frame[rule.anchor]), frame[rule.column]
        text = labels.map(lambda v: str(v).strip(), na_action="ignore")
        present = position.notna() & labels.notna()
        rows = int(present.sum())
        if not rows:
            outcomes.append(Outcome(rule, None, None, "nothing to do: no rows with both values"))
            continue
        band = np.searchsorted(np.asarray(rule.cuts), position.fillna(0).to_numpy())
        fits = present & pd.Series([t in rule.bands[b] for t, b in zip(text, band)], index=frame.index)
        shown = {t: v for t, v in zip(text[labels.notna()], labels[labels.notna()])}  # the copy's own spelling
        updated, changed = labels.astype(object).copy(), 0
        for number, values in enumerate(rule.bands):
            weights = dict(zip(values, rule.band_rows[number] if rule.band_rows else [1] * len(values)))
            usable = [v for v in values if v in shown]
            rows_here = frame.index[present & (band == number)]
            if usable and len(rows_here):
                changed += _share_out(updated, text, rows_here, usable, [weights[v] for v in usable], shown, rng)
        frame[rule.column] = updated if labels.dtype == object else updated.astype(labels.dtype)
        before = float(fits.sum() / rows)
        action = f"{changed} rows take a {rule.column} of their {rule.anchor}'s range, as often as in the real rows"
        outcomes.append(Outcome(rule, before, 1.0 if changed or before == 1.0 else before, action))
    return outcomes


def _share_out(updated: pd.Series, text: pd.Series, rows: pd.Index, values: list[str], weights: list[float],
               shown: dict[str, object], rng: np.random.Generator) -> int:
    """Give ``rows`` the ``values`` in proportion to ``weights``, keeping each row's value while its
    value has room; the rows changed."""
    wanted = dict(zip(values, scale_to(np.asarray(weights, dtype="float64"), len(rows), rng)))
    order = rows[rng.permutation(len(rows))]
    moving = []
    for row in order:
        value = text[row]
        if wanted.get(value, 0) > 0:
            wanted[value] -= 1
        else:
            moving.append(row)
    slots = np.repeat(np.array(values, dtype=object), [wanted[v] for v in values])
    rng.shuffle(slots)
    for row, value in zip(moving, slots):
        updated[row] = shown[value]
    return len(moving)
