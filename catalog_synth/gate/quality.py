"""Quality score of a synthetic table against the real sample: SDMetrics' Column Shapes and
Column Pair Trends, computed on numpy arrays with the formulas of SDMetrics' ``QualityReport``
(0.32; ``tests/test_quality_score.py`` checks the two agree on real datasets).

* Column Shapes, per column: ``KSComplement`` (numbers, dates: 1 - the two-sample
  Kolmogorov-Smirnov statistic) or ``TVComplement`` (categories, booleans: 1 - the total
  variation distance; SDMetrics' 1e-6 weight for values only the synthetic side has moves a
  score by less than 1e-8 and is left out).
* Column Pair Trends, per pair: ``CorrelationSimilarity`` for two continuous columns
  (1 - |Pearson real - Pearson synthetic| / 2), else ``ContingencySimilarity`` (1 - the total
  variation distance of the joint frequencies, missing values a category of their own; a
  continuous column is cut into the 10 histogram bins of each side's own values, as the
  report does). Every pair counts, not only pairs strongly associated in the real data.
* Each property is the mean of the scores it can compute; the overall score their mean.

The metadata is our own column classes (never detected). Identifying columns hold fakes by
design and are left out; so are columns with no real value. Scores are aggregates: they carry
no value.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from catalog_synth.core.types import ColumnClass, QualityScore, Semantic
from catalog_synth.core.values import as_numbers

MAX_QUALITY_ROWS = 2000
# Wider tables are scored on a random set of columns (at most 120 pairs, a few milliseconds).
MAX_QUALITY_COLUMNS = 16
# SDMetrics sdtypes: our semantic classes
_SCORED = (Semantic.CATEGORICAL, Semantic.NUMERICAL, Semantic.DATETIME, Semantic.BOOLEAN)
_CONTINUOUS = ("numerical", "datetime")
# SDMetrics' settings: KS compares values rounded to 14 decimals; continuous columns are cut into
# 10 bins for contingency tables.
_KS_DECIMALS = 14
_BINS = 10


def scored_columns(real: pd.DataFrame, synthetic: pd.DataFrame, classes: dict[str, ColumnClass]) -> list[str]:
    return [
        name
        for name, cls in classes.items()
        if cls.semantic in _SCORED and name in synthetic.columns and real[name].count()
    ]


def scored_frames(
    real: pd.DataFrame, synthetic: pd.DataFrame, classes: dict[str, ColumnClass], seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the score compares: at most ``MAX_QUALITY_ROWS`` rows a side, ``MAX_QUALITY_COLUMNS`` columns."""
    columns = scored_columns(real, synthetic, classes)
    if len(columns) > MAX_QUALITY_COLUMNS:
        chosen = np.random.default_rng(seed).choice(len(columns), MAX_QUALITY_COLUMNS, replace=False)
        columns = [columns[index] for index in sorted(chosen)]
    return _bounded(real[columns], seed), _bounded(synthetic[columns], seed)


def quality_score(
    real: pd.DataFrame, synthetic: pd.DataFrame, classes: dict[str, ColumnClass], seed: int = 0
) -> QualityScore | None:
    """Column Shapes, Column Pair Trends and their mean. None when no column is scored; with a
    single column (no pairs) the pair score is reported equal to the shapes score."""
    real, synthetic = scored_frames(real, synthetic, classes, seed)
    if real.columns.empty:
        return None
    columns = [_Column.of(classes[name].semantic, real[name], synthetic[name]) for name in real.columns]
    shape_scores = {name: column.shape() for name, column in zip(real.columns, columns)}
    pair_scores = {
        (first_name, second_name): _pair_trend(first, second)
        for (first_name, first), (second_name, second) in itertools.combinations(zip(real.columns, columns), 2)
    }
    shapes = _mean(shape_scores.values())
    pairs = _mean(pair_scores.values())
    if math.isnan(pairs):
        pairs = shapes
    return QualityScore(
        overall=round((shapes + pairs) / 2, 4), column_shapes=round(shapes, 4), column_pair_trends=round(pairs, 4),
        weakest=_weakest(shape_scores, pair_scores),
    )


WEAKEST_SHOWN = 3


def _weakest(shapes: dict[str, float], pairs: dict[tuple[str, str], float]) -> dict[str, list]:
    """The lowest column shape and pair trend scores (names and scores, no value)."""
    def lowest(scores: dict) -> list:
        present = [(key, score) for key, score in scores.items() if not math.isnan(score)]
        return sorted(present, key=lambda item: item[1])[:WEAKEST_SHOWN]

    return {
        "columns": [{"column": str(name), "score": round(score, 4)} for name, score in lowest(shapes)],
        "pairs": [{"columns": [str(a), str(b)], "score": round(score, 4)} for (a, b), score in lowest(pairs)],
    }


def _bounded(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    if len(frame) <= MAX_QUALITY_ROWS:
        return frame.reset_index(drop=True)
    return frame.sample(MAX_QUALITY_ROWS, random_state=seed).reset_index(drop=True)


def _mean(scores: object) -> float:
    """The mean of the scores that could be computed (NaN when none could)."""
    present = [score for score in scores if not math.isnan(score)]
    return sum(present) / len(present) if present else math.nan


@dataclass(frozen=True)
class _Column:
    """One column of both sides, prepared once for every metric that uses it.

    Continuous columns hold float64 numbers (dates in microseconds, NaN for missing); discrete
    ones hold codes shared by both sides (0 for missing) and their count, ``levels``.
    """

    continuous: bool
    real: np.ndarray
    synthetic: np.ndarray
    levels: int = 0

    @classmethod
    def of(cls, semantic: str, real: pd.Series, synthetic: pd.Series) -> _Column:
        if semantic in _CONTINUOUS:
            return cls(True, as_numbers(real), as_numbers(synthetic))
        codes, uniques = pd.factorize(pd.concat([real, synthetic], ignore_index=True))
        codes = codes + 1
        return cls(False, codes[: len(real)], codes[len(real) :], len(uniques) + 1)

    def shape(self) -> float:
        return _ks_complement(self.real, self.synthetic) if self.continuous else self._tv_complement()

    @cached_property
    def binned(self) -> _Column | None:
        """A continuous column as SDMetrics bins it for contingency tables (None if it cannot)."""
        real, synthetic = _bins(self.real), _bins(self.synthetic)
        if real is None or synthetic is None:
            return None
        return _Column(False, real, synthetic, _BINS + 2)

    def _tv_complement(self) -> float:
        real = np.bincount(self.real[self.real > 0], minlength=self.levels)
        synthetic = np.bincount(self.synthetic[self.synthetic > 0], minlength=self.levels)
        if not real.sum() or not synthetic.sum():
            return math.nan
        return 1 - 0.5 * float(np.abs(synthetic / synthetic.sum() - real / real.sum()).sum())


def _ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    real = np.sort(np.round(real[~np.isnan(real)], _KS_DECIMALS))
    synthetic = np.sort(np.round(synthetic[~np.isnan(synthetic)], _KS_DECIMALS))
    if not real.size or not synthetic.size:
        return math.nan
    values = np.concatenate([real, synthetic])
    gaps = np.searchsorted(real, values, side="right") / real.size
    gaps -= np.searchsorted(synthetic, values, side="right") / synthetic.size
    return 1 - float(np.abs(gaps).max())


def _bins(numbers: np.ndarray) -> np.ndarray | None:
    present = numbers[~np.isnan(numbers)]
    if not np.isfinite(present).all():
        return None
    try:
        edges = np.histogram_bin_edges(present, bins=_BINS)
    except ValueError:  # a range too narrow for the values' size (one date, in nanoseconds): no
        return None  # bins, and no pair trend (as SDMetrics, whose binning fails alike)
    return np.digitize(numbers, edges)  # NaN (and the maximum) -> 11


def _pair_trend(first: _Column, second: _Column) -> float:
    if first.continuous and second.continuous:
        return _correlation_similarity(first, second)
    if first.continuous != second.continuous:
        binned = (first if first.continuous else second).binned
        if binned is None:
            return math.nan
        first, second = (binned, second) if first.continuous else (first, binned)
    return _contingency_similarity(first, second)


def _correlation_similarity(first: _Column, second: _Column) -> float:
    if any(_constant(values) for values in (first.real, second.real, first.synthetic, second.synthetic)):
        return math.nan  # SDMetrics refuses constant columns
    real = _pearson(first.real, second.real)
    if real == 0:  # SDMetrics scores only pairs whose real correlation exceeds the threshold (0)
        return math.nan
    return 1 - abs(real - _pearson(first.synthetic, second.synthetic)) / 2


def _constant(values: np.ndarray) -> bool:
    present = values[~np.isnan(values)]
    return present.size > 0 and present.min() == present.max()


def _pearson(first: np.ndarray, second: np.ndarray) -> float:
    """Pearson's r over the rows where both are present (NaN when undefined)."""
    both = ~(np.isnan(first) | np.isnan(second))
    if both.sum() < 2:
        return math.nan
    first, second = first[both] - first[both].mean(), second[both] - second[both].mean()
    norms = float(np.linalg.norm(first) * np.linalg.norm(second))
    return float(np.clip(first @ second / norms, -1.0, 1.0)) if norms else math.nan


def _contingency_similarity(first: _Column, second: _Column) -> float:
    if not first.real.size or not first.synthetic.size:
        return math.nan
    cells = first.levels * second.levels
    real = np.bincount(first.real * second.levels + second.real, minlength=cells) / first.real.size
    synthetic = np.bincount(first.synthetic * second.levels + second.synthetic, minlength=cells) / first.synthetic.size
    return 1 - 0.5 * float(np.abs(real - synthetic).sum())
