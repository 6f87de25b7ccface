"""Rare-value protections: what the model, and so the copy, never sees of few people.

Rare means held by fewer than ``k`` *people* (:class:`~catalog_synth.protect.subjects.Subjects`),
not seen on fewer than ``k`` rows. Each function works on one column's values (or one frame's
rows) and returns protected values; none keeps a real value beyond its call.

- :func:`holdout`: whole people kept out of training, for the gate's distance check;
- :func:`replace_rare_categories`, :func:`merge_rare_numbers`: rare values become common or new ones;
- :func:`avoid_extremes`: a real extreme held by few people is never emitted;
- :func:`drop_rare_row_copies`: a synthetic row equal to a rare real row is dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from catalog_synth.core.values import as_numbers, non_null, normalize, row_keys
from catalog_synth.protect.meanings import Replacer
from catalog_synth.protect.shapes import fill, mask_of
from catalog_synth.protect.subjects import Subjects


def rare_extremes(values: pd.Series, min_count: int, subjects: Subjects | None = None) -> list[float]:
    """The real minimum and maximum (as numbers) that fewer than ``min_count`` people share.

    ``values`` is indexed by sample row positions when ``subjects`` is given."""
    present = non_null(values)
    numbers = pd.Series(as_numbers(present), index=present.index)
    if numbers.empty:
        return []
    extremes = {numbers.min(), numbers.max()}
    held = numbers[numbers.isin(extremes)]  # the rows holding an extreme are all that count
    counts = (subjects or Subjects.of_rows(len(values))).counts(held)
    return [value for value in extremes if int(counts.get(value, 0)) < min_count]


# The holdout never has fewer rows than this (or half the sample), so the DCR check is not noise.
MIN_HOLDOUT_ROWS = 50
HOLDOUT_DRAWS = 16  # random splits of whole people, of which the most balanced is held out


def holdout(
    groups: np.ndarray, share: float, rng: np.random.Generator, categories: np.ndarray | None = None
) -> pd.Index:
    """Rows the model never sees: whole groups (all the invoices of a customer), about ``share``
    of the rows, never fewer than ``MIN_HOLDOUT_ROWS`` (or half the sample).

    With ``categories`` (one code column per modelled category of the table, a row per sample
    row), the split is the most balanced of ``HOLDOUT_DRAWS`` random ones: the one whose held-out
    rows hold each category's values in the shares the training rows do. Drawn once, the 18
    customers held out of Northwind's 89 held 4% of the orders to North America against 22% of
    the training rows, and 30 web sites split 15/15 put 5 of the 6 rows of one postal code on one
    side: a faithful copy of the training rows then sits nearer them on those values alone, and
    the distance check read a split as memorisation. Only real rows decide the split."""
    n_rows = len(groups)
    if n_rows == 0:
        return pd.Index([], dtype="int64")
    wanted = max(round(n_rows * share), min(n_rows // 2, MIN_HOLDOUT_ROWS), 1)
    labels, inverse = np.unique(groups, return_inverse=True)
    sizes = np.bincount(inverse)
    draws = 1 if categories is None or not categories.shape[1] else HOLDOUT_DRAWS
    splits = [_split(labels, inverse, sizes, wanted, rng) for _ in range(draws)]
    return min(splits, key=lambda held: holdout_imbalance(categories, held)) if draws > 1 else splits[0]


def _split(
    labels: np.ndarray, inverse: np.ndarray, sizes: np.ndarray, wanted: int, rng: np.random.Generator
) -> pd.Index:
    order = rng.permutation(len(labels))
    enough = min(int(np.searchsorted(np.cumsum(sizes[order]), wanted)) + 1, len(labels))
    if enough == len(labels) > 1:  # never every row: the model must have some to learn from
        enough -= 1
    chosen = np.zeros(len(labels), dtype=bool)
    chosen[order[:enough]] = True
    return pd.Index(np.flatnonzero(chosen[inverse]))


def holdout_imbalance(categories: np.ndarray, held: pd.Index) -> float:
    """Summed over the category columns: how far the held-out rows' shares of values are from
    the training rows' (total variation distance)."""
    out = np.zeros(len(categories), dtype=bool)
    out[held.to_numpy()] = True
    total = 0.0
    for codes in categories.T:
        levels = int(codes.max()) + 1
        held_share = np.bincount(codes[out], minlength=levels) / max(int(out.sum()), 1)
        train_share = np.bincount(codes[~out], minlength=levels) / max(int((~out).sum()), 1)
        total += 0.5 * float(np.abs(held_share - train_share).sum())
    return total


def merge_rare_numbers(
    train: pd.Series, real: pd.Series, min_count: int, subjects: Subjects | None = None
) -> pd.Series:
    """Values held by fewer than ``min_count`` people in the sample become the nearest common value
    (``real`` is indexed by sample row positions)."""
    counts = (subjects or Subjects.of_rows(len(real))).counts(real)
    common = np.sort(counts.index[counts >= min_count].to_numpy(dtype="float64"))
    rare = train.notna() & ~train.isin(common)
    if not rare.any():
        return train
    values = train[rare].to_numpy(dtype="float64")
    right = np.clip(np.searchsorted(common, values), 0, len(common) - 1)
    left = np.clip(right - 1, 0, len(common) - 1)
    nearest = np.where(np.abs(common[left] - values) <= np.abs(common[right] - values), common[left], common[right])
    merged = train.copy()
    merged[rare] = nearest
    return merged


def replace_rare_categories(
    train: pd.Series,
    real: pd.Series,
    min_count: int,
    rng: np.random.Generator,
    subjects: Subjects | None = None,
    replacer: Replacer | None = None,
) -> pd.Series:
    """Each category held by fewer than ``min_count`` people in the sample becomes another value
    (``real`` is indexed by sample row positions): a plausible one of the column's meaning from
    ``replacer`` (a country for a country, a city of the row's country for a city), one of the
    column's common categories where the meaning is unknown, or, for codes, random characters of
    its shape.

    A new value never equals a real value of the sample (nor, with the warehouse at hand, one the
    whole column holds for too few rows), so the model (and its metadata) never holds the rare
    category. One real category maps to one value, keeping the column's frequencies.
    """
    subjects = subjects or Subjects.of_rows(len(real))
    counts = subjects.value_counts(real)
    rare = set(counts.index[counts < min_count])
    if not rare:
        return train
    taken = set(counts.index)
    examples = {normalize(value): str(value) for value in real.dropna()}
    common = counts[counts >= min_count]
    planned = (
        replacer.replacements(sorted(rare), taken, [examples[key] for key in common.index],
                              (common / common.sum()).to_numpy(dtype=float), rng)
        if replacer else {}
    )  # fmt: skip
    replacements: dict[str, str] = {}
    for key in sorted(rare):
        replacements[key] = planned.get(key) or same_shape(examples[key], taken, rng)
    keys = train.map(normalize)
    return train.where(~keys.isin(rare), keys.map(replacements))


def same_shape(example: str, taken: set[str], rng: np.random.Generator) -> str:
    """Random characters in the shape of ``example``, equal to nothing in ``taken`` (codes)."""
    template = mask_of(example)
    replacement = fill(template, rng)
    while normalize(replacement) in taken:
        template += "\x03"
        replacement = fill(template, rng)
    taken.add(normalize(replacement))
    return replacement


def round_to_step(numbers: np.ndarray, step: float | None) -> np.ndarray:
    """``numbers`` on the column's grid; decimal steps by decimal rounding, so that 79.8 stays
    79.8 rather than 79.80000000000001."""
    if not step:
        return numbers
    if step >= 1:
        return np.round(numbers / step) * step
    return np.round(numbers, round(-np.log10(step)))


def avoid_extremes(
    numbers: np.ndarray,
    real: pd.Series,
    min_count: int,
    step: float | None,
    rng: np.random.Generator,
    subjects: Subjects | None = None,
) -> np.ndarray:
    """Values equal to a real extreme shared by fewer than ``min_count`` people move toward the
    ``min_count``-th value from that end (never onto the extreme itself). ``real`` holds the real
    values in model space, indexed by sample row positions."""
    ordered = np.sort(as_numbers(real.dropna()))
    out = numbers.copy()
    extremes = rare_extremes(real, min_count, subjects)
    for extreme in extremes:
        hits = out == extreme
        if not hits.any():
            continue
        direction = 1.0 if extreme == ordered[0] else -1.0
        depth = min(min_count, len(ordered) - 1)
        inner = ordered[depth] if direction > 0 else ordered[-1 - depth]
        moved = round_to_step(extreme + rng.random(int(hits.sum())) * (inner - extreme), step)
        moved[moved == extreme] = extreme + direction * (step or abs(inner - extreme) / 2 or 1.0)
        out[hits] = round_to_step(moved, step)
    for extreme in extremes:  # in a column of a few values, a value moved off one end can reach the other
        hits = out == extreme
        out[hits] = extreme + (1.0 if extreme == ordered[0] else -1.0) * (step or (ordered[-1] - ordered[0]) / 4)
    return out


def drop_rare_row_copies(real: pd.DataFrame, sampled: pd.DataFrame, subjects: Subjects, min_count: int) -> pd.DataFrame:
    """Drop synthetic rows equal (on the modelled columns) to a real row seen fewer than k times."""
    columns = list(sampled.columns)
    if not columns:
        return sampled
    counts = subjects.counts(row_keys(real, columns))
    rare = set(counts.index[counts < min_count])
    return sampled[~row_keys(sampled, columns).isin(rare).to_numpy()]
