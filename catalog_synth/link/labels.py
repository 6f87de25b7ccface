"""Foreign keys into reference tables keep their meaning (a schema-wide rule).

A reference table (genres, media types, regions, nations: a small lookup about no one, see
``privacy.reference_tables``) keeps its labels row by row with new keys. Its children's keys are
re-drawn by the linker; drawn at random, tracks land in the wrong genres and nations in the wrong
regions. Here the real meaning is carried over without a real key leaving a worker:

* **tokens**: each worker of a run turns a real key of a reference table into a *token*, a keyed
  hash (HMAC-SHA256 under a random secret made per run and never stored). The reference table's
  own worker tokens the key of each synthetic row (it knows which real row's labels the row
  kept); a child's worker tokens the parent keys its counts are about. Tokens are compared only
  in memory by the linker; they are never written to the store, a report or a log;
* **label counts** (child side, worker): the child's rows per parent row of a reference table,
  counted inside the warehouse (an aggregate per label); a count held by fewer than
  ``privacy.min_category_count`` rows gets one common weight, so no rare label's exact count
  comes out. Only for children whose rows are about no one or about themselves (one row, one
  person): where rows are about people through other tables, counts per row are not counts of
  people, and the children-per-parent shape is used as before;
* **rows of a reference child** (``nation -> region``, both reference tables): each kept row
  carries the token of its real parent, and the linker gives it the synthetic parent holding the
  same real row's labels, so every nation stays in its region.

When the reference table is unchanged (its copy from an earlier sync stays), the child's worker
gets the stored copy's keys and kept labels and tokens them itself (:func:`stored_key_tokens`).

Worker side: :func:`label_counts`, :func:`reference_tokens`, :func:`stored_key_tokens`. Calling process:
:func:`token_positions`, :func:`weighted_parents`, :func:`matched_parents` (synthetic data and
tokens only).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from catalog_synth.core.values import normalize
from catalog_synth.link.assign import scale_to

if TYPE_CHECKING:
    from catalog_synth.core.types import SyntheticTable, TableInfo
    from catalog_synth.link.plan import KeyPlan, ParentKeys
    from connectors import Connector

Token = int
EMPTY: Token = -1  # a kept row whose real foreign key is empty (tokens are never negative)


def token(secret: bytes, values: Iterable[object]) -> Token | None:
    """The token of one real key (None when part of it is empty)."""
    texts = [normalize(value) for value in values]
    if not secret or any(text is None for text in texts):
        return None
    digest = hmac.new(secret, "\x1f".join(texts).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def smooth_rare(counts: dict[Token, int], min_count: int) -> dict[Token, float]:
    """Counts per label; a label held by 1 to ``min_count - 1`` rows gets the same weight
    (``min_count / 2``) whatever its real count, so its exact count is not given away."""
    return {t: (float(n) if n >= min_count else min_count / 2) for t, n in counts.items() if n > 0}


def label_counts(
    connector: Connector, info: TableInfo, parent_keys: ParentKeys, secret: bytes, min_count: int
) -> dict[Token, float]:
    """The child's rows per row of a reference parent, keyed by the parent key's token (worker side:
    the parent's keys are real and stay here; the counts are an aggregate read in the warehouse)."""
    parent = parent_keys.parent
    keys = connector.sample(parent, max(parent.row_count, 1), None).dropna().drop_duplicates()
    if keys.empty:
        return {}
    counted = connector.count_by_key(info, parent_keys.relationship.columns, keys.reset_index(drop=True))
    counts: dict[Token, int] = defaultdict(int)
    for row in counted.itertuples(index=False):
        tok = token(secret, row[:-1])
        if tok is not None:
            counts[tok] += int(row[-1])
    return smooth_rare(counts, min_count)


def reference_tokens(
    sample: pd.DataFrame, table: SyntheticTable, plan: KeyPlan
) -> tuple[dict[tuple[str, ...], list[Token | None]], dict[tuple[str, ...], list[Token | None]]]:
    """For each synthetic row of a reference table, the tokens of the real row whose labels it kept:
    ``(own, parents)``, ``own[columns]`` the token of the row's real key for each column set
    children reference, ``parents[columns]`` the token of its real parent for each foreign key.

    The real row is found by the labels the row kept (its columns that are not identifying);
    rows with the same labels are told apart in order. Worker side: ``sample`` holds real rows."""
    kept = [
        c for c in table.data.columns
        if c in sample.columns and c in table.classes and not table.classes[c].identifying
    ]  # fmt: skip
    wanted = {cols for cols in plan.referenced if set(cols) <= set(sample.columns)}
    wanted_parents = {p.relationship.columns for p in plan.measured if set(p.relationship.columns) <= set(sample.columns)}
    if not kept or not (wanted or wanted_parents):
        return {}, {}
    matched = match_rows(sample, table.data, kept)
    own = {cols: _row_tokens(sample, cols, matched, plan.label_secret) for cols in wanted}
    parents = {cols: _row_tokens(sample, cols, matched, plan.label_secret) for cols in wanted_parents}
    return own, parents


def match_rows(real: pd.DataFrame, synthetic: pd.DataFrame, labels: list[str]) -> list[int | None]:
    """For each synthetic row, the position of a real row with the same labels (each real row
    used once, in order; None when none is left)."""
    real_rows: dict[tuple, list[int]] = defaultdict(list)
    for position, row in enumerate(_label_rows(real, labels)):
        real_rows[row].append(position)
    for positions in real_rows.values():
        positions.reverse()  # pop() takes them in order
    return [real_rows[row].pop() if real_rows.get(row) else None for row in _label_rows(synthetic, labels)]


def stored_key_tokens(
    connector: Connector, parent: TableInfo, stored: pd.DataFrame, keys: tuple[str, ...], secret: bytes
) -> dict[tuple, Token | None]:
    """Synthetic key -> token for a reference table whose copy stays in the store (unchanged): its
    stored rows are matched to the real rows by the labels they kept (worker side)."""
    labels = [c for c in stored.columns if c not in keys]
    if not labels or not secret:
        return {}
    columns = [parent.column(c) for c in (*keys, *labels)]
    reduced = replace(parent, columns=columns, primary_key=(), foreign_keys=[])
    real = connector.sample(reduced, max(parent.row_count, 1), None).reset_index(drop=True)
    return key_tokens(stored, keys, _row_tokens(real, keys, match_rows(real, stored, labels), secret))


def _label_rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(normalize(v) for v in row) for row in frame[columns].itertuples(index=False)]


def _row_tokens(sample: pd.DataFrame, columns: tuple[str, ...], matched: list[int | None], secret: bytes) -> list[Token | None]:
    values = sample[list(columns)].to_numpy(dtype=object)
    empty = sample[list(columns)].isna().all(axis=1).to_numpy()
    return [
        None if position is None else EMPTY if empty[position] else token(secret, values[position])
        for position in matched
    ]


# -- calling process: synthetic keys and tokens only ---------------------------------------


def token_positions(
    pool: pd.DataFrame, key_tokens: dict[tuple, Token | None]
) -> dict[Token, int]:
    """Token -> position in ``pool`` of the synthetic parent row holding that real row's labels."""
    positions: dict[Token, int] = {}
    for position, row in enumerate(pool.itertuples(index=False)):
        tok = key_tokens.get(_synthetic_key(row))
        if tok is not None:
            positions.setdefault(tok, position)
    return positions


def key_tokens(data: pd.DataFrame, columns: tuple[str, ...], tokens: Sequence[Token | None]) -> dict[tuple, Token | None]:
    """Synthetic key (normalised) -> token, for a reference table's rows as its worker sent them."""
    if len(tokens) != len(data) or not set(columns) <= set(data.columns):
        return {}
    return {_synthetic_key(row): tok for row, tok in zip(data[list(columns)].itertuples(index=False), tokens)}


def _synthetic_key(row: tuple) -> tuple:
    return tuple(normalize(value) for value in row)


def weighted_parents(
    n_rows: int, positions: dict[Token, int], counts: dict[Token, float], null_share: float, rng: np.random.Generator
) -> np.ndarray | None:
    """The parent of each child row so that rows per label follow the real counts (None when no
    label of the pool was counted: the caller draws as before)."""
    weights = np.zeros(max(positions.values(), default=-1) + 1)
    for tok, position in positions.items():
        weights[position] = counts.get(tok, 0.0)
    if weights.sum() <= 0:
        return None
    empty = rng.random(n_rows) < null_share
    parents = np.full(n_rows, -1, dtype="int64")
    order = np.repeat(np.arange(weights.size), scale_to(weights, int((~empty).sum()), rng))
    rng.shuffle(order)
    parents[~empty] = order
    return parents


def matched_parents(
    row_tokens: Sequence[Token | None], positions: dict[Token, int], fallback: np.ndarray
) -> np.ndarray:
    """Each kept row's synthetic parent: the one holding its real parent's labels, none where the
    real key is empty, else ``fallback``."""
    found = np.array([positions.get(t, -2) if t is not None else -2 for t in row_tokens], dtype="int64")
    empty = np.array([t == EMPTY for t in row_tokens], dtype=bool)
    return np.where(empty, -1, np.where(found >= 0, found, fallback))
