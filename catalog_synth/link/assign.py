"""Drawing synthetic parents for synthetic children: pure functions on synthetic data.

Every function takes the measured children counts of a relationship (one per measured
real parent, an aggregate) and returns, for each synthetic child row, the position of its
synthetic parent in the parent's key pool (-1 for an empty key).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from connectors.graph import KeyGraph, Relationship

# Rounds of re-drawing the non-sampling parents of rows whose composite key repeats.
KEY_REDRAW_ROUNDS = 10


def scale_to(counts: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """Integer counts proportional to ``counts`` that add up to ``total`` (zeros stay zero
    unless every count is zero); remainders go to random members, likelier for larger ones."""
    counts = np.asarray(counts, dtype="float64")
    if counts.size == 0:
        return np.zeros(0, dtype="int64")
    if counts.sum() == 0:
        counts = np.ones_like(counts)
    exact = counts * total / counts.sum()
    scaled = np.floor(exact).astype("int64")
    short = int(total - scaled.sum())
    if short > 0:
        fractions = exact - scaled
        weights = fractions / fractions.sum() if fractions.sum() > 0 else None
        scaled[rng.choice(counts.size, size=short, replace=False, p=weights)] += 1
    return scaled


def draw_counts(measured: np.ndarray, parents: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """Children for each of ``parents`` synthetic parents: drawn from the measured counts
    (without replacement while there are enough, so small parent tables keep their exact
    spread), then scaled to add up to ``total`` (uniform when nothing was measured)."""
    if parents == 0:
        return np.zeros(0, dtype="int64")
    drawn = rng.choice(measured, size=parents, replace=parents > measured.size) if measured.size else np.ones(parents)
    return scale_to(drawn, total, rng)


def draw_parents(
    n_rows: int, pool_size: int, measured: np.ndarray, null_share: float, rng: np.random.Generator
) -> np.ndarray:
    """The parent of every child row (-1 for an empty key), shuffled over the rows."""
    empty = rng.random(n_rows) < null_share
    parents = np.full(n_rows, -1, dtype="int64")
    if pool_size == 0:
        return parents
    keyed = int((~empty).sum())
    order = np.repeat(np.arange(pool_size), draw_counts(measured, pool_size, keyed, rng))
    rng.shuffle(order)
    parents[~empty] = order
    return parents


def draw_self_parents(n_rows: int, measured: np.ndarray, null_share: float, rng: np.random.Generator) -> np.ndarray:
    """Parents within the same table (``manager_id``) that form a forest, never a cycle.

    Each row gets a number of children drawn from the measured shape; rows are placed with
    the largest families first, and each row takes a free slot of a row placed before it.
    The first ``null_share`` of the rows are roots (-1); without roots the first row is
    its own parent, as a NOT NULL self-reference requires.
    """
    roots = min(n_rows, round(null_share * n_rows))
    capacity = draw_counts(measured, n_rows, n_rows - roots, rng)
    order = np.lexsort((rng.random(n_rows), -capacity))
    parents = np.full(n_rows, -1, dtype="int64")
    slots: list[int] = []
    for position, row in enumerate(order.tolist()):
        if position >= roots:
            parents[row] = _take_slot(slots, rng) if slots else (order[0] if position else row)
        slots.extend([row] * int(capacity[row]))
    return parents


def _take_slot(slots: list[int], rng: np.random.Generator) -> int:
    pick = int(rng.integers(len(slots)))
    taken = slots[pick]
    slots[pick] = slots[-1]
    slots.pop()
    return taken


def set_keys(data: pd.DataFrame, columns: tuple[str, ...], pool: pd.DataFrame, parents: np.ndarray) -> None:
    """Write the pool rows at ``parents`` into ``columns`` (empty where the position is -1)."""
    for own, referred in zip(columns, pool.columns):
        values = pool[referred].reset_index(drop=True)
        if pd.api.types.is_integer_dtype(values.dtype):
            values = values.astype("Int64")  # room for empty keys
        chosen = values.reindex(parents)
        chosen.index = data.index
        data[own] = chosen


def number_children(data: pd.DataFrame, columns: tuple[str, ...], counter: str, start: int) -> None:
    """Number the rows of each parent ``start, start + 1, ...`` (like ``order_items.line_no``)."""
    data[counter] = (data.groupby(list(columns), sort=False, dropna=False).cumcount() + start).astype("Int64")


def unique_key(
    data: pd.DataFrame, key: tuple[str, ...], redraw: list[tuple[tuple[str, ...], pd.DataFrame]], rng: np.random.Generator
) -> pd.DataFrame:
    """Rows whose key repeats get other parents from ``redraw`` (columns, pool) until the key
    is unique; rows still repeating a key, or missing part of it, are dropped."""
    columns = list(key)
    for _ in range(KEY_REDRAW_ROUNDS if redraw else 0):
        repeated = data.duplicated(subset=columns).to_numpy()
        if not repeated.any():
            break
        for own, pool in redraw:
            picks = rng.integers(0, len(pool), int(repeated.sum()))
            for column, referred in zip(own, pool.columns):
                data.loc[repeated, column] = pool[referred].to_numpy()[picks]
    return data.dropna(subset=columns).drop_duplicates(subset=columns).reset_index(drop=True)


def covered_by_wider(
    graph: KeyGraph, relationships: list[Relationship], pools: Mapping[Relationship, object]
) -> dict[Relationship, Relationship]:
    """Relationships whose columns are part of a wider foreign key of the same table that can be
    linked (``lineitem(l_partkey) -> part`` inside ``lineitem(l_partkey, l_suppkey) -> partsupp``)
    and whose parent the wider parent's own keys point at (``partsupp(ps_partkey) -> part``):
    drawing the wider key as a unit satisfies them (``pools``: a parent's keys, when it has some)."""
    covered = {}
    for narrow in relationships:
        for wider in sorted(relationships, key=lambda r: -len(r.columns)):
            if narrow.self_reference or wider.self_reference or not set(narrow.columns) < set(wider.columns):
                continue
            if isinstance(pools.get(wider), pd.DataFrame) and _points_at(graph, wider, narrow):
                covered[narrow] = wider
                break
    return covered


def _points_at(graph: KeyGraph, wider: Relationship, narrow: Relationship) -> bool:
    """Whether the wider parent's columns under ``narrow``'s columns are a foreign key to its parent."""
    through = dict(zip(wider.columns, wider.parent_columns))
    columns = tuple(through[c] for c in narrow.columns)
    return any(
        r.columns == columns and r.parent == narrow.parent and r.parent_columns == narrow.parent_columns
        for r in graph.parents_of(wider.parent)
    )
