"""The privacy gate: checks every synthetic table before anything of it is published.

Checks (each reports counts and shares only, never a value):
- ``identifying_values``: no value of an identifying or free-text column equals a real
  identifying value of the table (case- and whitespace-insensitive);
- ``rare_categories``: no category held by fewer than ``k`` people in the sample is emitted;
- ``extremes``: the exact real minimum and maximum of a numeric or date column are not
  emitted (unless ``k`` or more people share that value: then it describes no one);
- ``row_copies``: no synthetic row equals a real row whose combination of modelled values
  is held by fewer than ``k`` people in the sample;
- ``distance_to_closest_record``: the share of synthetic rows closer to training rows than
  to held-out rows (ties count for the holdout; scaled to equal-size sides) stays at or
  below ``dcr_threshold`` plus 1.645 times its own bootstrap noise;
- ``primary_key``: key columns are unique and never missing;
- ``class_row_copies`` and ``class_distance_to_closest_record`` (rebalanced copies): the two
  row checks again on the rows of each target class alone — the upsampled minority is the
  most exposed part of a rebalanced copy.
People, not rows, are counted (:class:`~catalog_synth.protect.subjects.Subjects`): a value on
seven invoices of one customer is held by one person. Columns whose real values may be emitted
(marked public, a reference table's labels, an enum's labels) are exempt from the value checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from catalog_synth.core.types import CheckResult, ColumnClass, GateResult, Semantic
from catalog_synth.core.values import (
    ROUND_DECIMALS,
    Forbidden,
    as_numbers,
    is_numeric,
    non_null,
    normalized,
    row_keys,
)
from catalog_synth.protect.classify import forbidden_identifying_values, is_public
from catalog_synth.protect.rare import rare_extremes
from catalog_synth.protect.subjects import Subjects

DCR_MAX_ROWS = 2000  # synthetic rows and training rows compared (bounded cost)
DCR_DRAWS = 30
DCR_NEIGHBOURS = 16
# Synthetic rows compared at once: their distances to every reference row (a block of at most
# 256 x 2,000) stay in the CPU cache, and no full distance matrix is ever held.
DCR_BLOCK_ROWS = 256
# Columns probed per neighbour to bound a row's nearest distances before choosing them (k_smallest).
DCR_PROBE = 16
_BOOTSTRAP_INCLUSION = 1 - np.exp(-1)
# The share may exceed the threshold by this many standard deviations of its own noise:
# with a few dozen rows the share of a sound generator swings by +-0.1.
DCR_NOISE_Z = 1.645


@dataclass(frozen=True)
class ClassCheck:
    """The target classes of a rebalanced copy: combinations of model-space values of ``columns``."""

    columns: tuple[str, ...]
    classes: tuple[tuple[Any, ...], ...]

    def mask(self, frame: pd.DataFrame, number: int) -> np.ndarray:
        """Rows of ``frame`` in class ``number`` (0-based), compared as the row checks compare values."""
        wanted = row_keys(pd.DataFrame([self.classes[number]], columns=list(self.columns)), list(self.columns))
        return (row_keys(frame, list(self.columns)) == wanted.iloc[0]).to_numpy()


@dataclass
class GateInput:
    """Model-space frames (numbers as floats, dates as datetime64) and how columns are treated."""

    real: pd.DataFrame  # the whole real sample
    holdout: pd.Index  # rows of ``real`` the model never saw
    synthetic: pd.DataFrame
    classes: dict[str, ColumnClass]
    primary_key: tuple[str, ...] = ()
    # Normalised real identifying values, when the caller has them already (with the warehouse's).
    forbidden: Forbidden | None = None
    # Who each real row is about: rare means held by few people, not seen on few rows.
    subjects: Subjects | None = None
    # False when no model learnt from the rows (tiny tables are generated column by column).
    modelled_rows: bool = True
    class_check: ClassCheck | None = None
    # The rows the model learnt from, when not every row outside the holdout (a rebalanced copy).
    trained: pd.Index | None = None

    def __post_init__(self) -> None:
        if self.subjects is None:
            self.subjects = Subjects.of_rows(len(self.real))

    def columns(self, predicate: Callable[[ColumnClass], bool]) -> list[str]:
        return [name for name, cls in self.classes.items() if name in self.synthetic.columns and predicate(cls)]

    @property
    def modelled(self) -> list[str]:
        """Columns whose synthetic values come from the model (compared row by row); a reference
        table's labels are copied on purpose and are not compared."""
        return self.columns(
            lambda cls: not cls.identifying and cls.semantic != Semantic.UNSUPPORTED and cls.source != "reference"
        )


def run_gate(data: GateInput, min_count: int, dcr_threshold: float, rng: np.random.Generator) -> GateResult:
    checks: list[CheckResult] = []
    checks += _check_identifying_values(data)
    checks += _check_rare_categories(data, min_count)
    checks += _check_extremes(data, min_count)
    checks.append(_check_row_copies(data, min_count))
    checks.append(_check_dcr(data, dcr_threshold, rng))
    checks += _check_primary_key(data)
    checks += _check_classes(data, min_count, dcr_threshold, rng)
    return GateResult(checks=checks)


def _check_classes(data: GateInput, min_count: int, threshold: float, rng: np.random.Generator) -> list[CheckResult]:
    """Row copies and DCR on each target class's rows alone (counts and shares only)."""
    check = data.class_check
    if check is None:
        return []
    results = []
    for number in range(len(check.classes)):
        real = check.mask(data.real, number)
        rows = replace(data, real=data.real[real], synthetic=data.synthetic[check.mask(data.synthetic, number)])
        where = f"target class {number + 1} ({int(real.sum())} real rows, {len(rows.synthetic)} synthetic)"
        for result in (_check_row_copies(rows, min_count), _check_class_dcr(rows, threshold, rng)):
            results.append(CheckResult(f"class_{result.name}", result.passed, ", ".join(check.columns),
                                       f"{where}: {result.detail}"))
    return results


def _check_class_dcr(data: GateInput, threshold: float, rng: np.random.Generator) -> CheckResult:
    if not data.real.index.isin(data.holdout).any() or data.synthetic.empty:
        return CheckResult("distance_to_closest_record", True, None, "not measurable: no held-out or synthetic row")
    return _check_dcr(data, threshold, rng)


def _per_column(name: str, results: Iterable[tuple[str, int, int]], what: str) -> list[CheckResult]:
    """One passing result for all columns, or one failing result per offending column."""
    results = list(results)
    failures = [
        CheckResult(name, False, column, f"{bad} of {total} synthetic values {what}")
        for column, bad, total in results
        if bad
    ]
    if failures:
        return failures
    return [CheckResult(name, True, None, f"{len(results)} column(s) checked")]


def _check_identifying_values(data: GateInput) -> list[CheckResult]:
    forbidden = data.forbidden or Forbidden(forbidden_identifying_values(data.real, data.classes))
    columns = data.columns(lambda cls: cls.identifying)
    results = (
        (column, _count_in(data.synthetic[column], forbidden.of(column)), int(data.synthetic[column].notna().sum()))
        for column in columns
    )
    return _per_column("identifying_values", results, "equal a real value")


def _count_in(values: pd.Series, forbidden: set[str]) -> int:
    return int(normalized(non_null(values)).isin(forbidden).sum()) if forbidden else 0


def _check_rare_categories(data: GateInput, min_count: int) -> list[CheckResult]:
    columns = data.columns(lambda cls: cls.semantic == Semantic.CATEGORICAL and not is_public(cls))
    results = (
        (
            column,
            _count_in(data.synthetic[column], data.subjects.rare(data.real[column], min_count)),
            int(data.synthetic[column].notna().sum()),
        )
        for column in columns
    )
    return _per_column("rare_categories", results, f"are categories held by fewer than {min_count} people")


def _check_extremes(data: GateInput, min_count: int) -> list[CheckResult]:
    columns = data.columns(lambda cls: cls.semantic in (Semantic.NUMERICAL, Semantic.DATETIME) and not is_public(cls))
    results = []
    for column in columns:
        synthetic = as_numbers(non_null(data.synthetic[column]))
        extremes = rare_extremes(data.real[column], min_count, data.subjects)
        results.append((column, int(np.isin(synthetic, extremes).sum()), synthetic.size))
    return _per_column("extremes", results, "equal the real minimum or maximum")


def _check_row_copies(data: GateInput, min_count: int) -> CheckResult:
    columns = data.modelled
    if not columns:
        return CheckResult("row_copies", True, None, "no modelled columns: every row holds fakes")
    counts = data.subjects.counts(row_keys(data.real, columns))
    rare = set(counts.index[counts < min_count])
    synthetic_keys = row_keys(data.synthetic, columns)
    copies = int(synthetic_keys.isin(rare).sum())
    common = int(synthetic_keys.isin(set(counts.index)).sum()) - copies
    detail = (
        f"{copies} of {len(synthetic_keys)} synthetic rows copy a real row held by fewer than {min_count} people"
        f" ({common} equal a combination shared by {min_count} or more people)"
    )
    return CheckResult("row_copies", copies == 0, None, detail)


def _check_primary_key(data: GateInput) -> list[CheckResult]:
    key = [column for column in data.primary_key if column in data.synthetic.columns]
    if not key or any(is_public(data.classes[column]) for column in key):
        return []
    missing = data.synthetic[key].isna().any(axis=1)
    repeated = row_keys(data.synthetic[~missing], key).duplicated()
    bad = int(missing.sum() + repeated.sum())
    detail = f"{bad} of {len(data.synthetic)} synthetic rows have a missing or repeated key"
    return [CheckResult("primary_key", bad == 0, ", ".join(key) if bad else None, detail)]


# --- distance to closest record ---


def _check_dcr(data: GateInput, threshold: float, rng: np.random.Generator) -> CheckResult:
    columns = data.modelled
    holdout = data.real.loc[data.real.index.isin(data.holdout)]
    learnt = ~data.real.index.isin(data.holdout)
    if data.trained is not None:
        learnt &= data.real.index.isin(data.trained)
    train = data.real.loc[learnt]
    if not data.modelled_rows:
        return CheckResult("distance_to_closest_record", True, None, "not applicable: no model learnt from the rows")
    if not columns or holdout.empty or train.empty:
        return CheckResult("distance_to_closest_record", True, None, "not applicable: no modelled columns")
    result = dcr_share(train[columns], holdout[columns], data.synthetic[columns], rng)
    limit = threshold + DCR_NOISE_Z * result.noise
    detail = (
        f"{result.share:.3f} of synthetic rows are closer to training rows than to held-out rows"
        f" (limit {threshold} + {DCR_NOISE_Z} x noise {result.noise:.3f} = {limit:.3f})"
    )
    return CheckResult("distance_to_closest_record", result.share <= limit, None, detail)


@dataclass(frozen=True)
class DcrResult:
    share: float  # equal-size share: 0.5 for a generator that does not memorise, 1.0 for copies
    noise: float  # its standard deviation over bootstrap draws: large for small samples


def dcr_share(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, rng: np.random.Generator
) -> DcrResult:
    """Share of synthetic rows strictly closer to the training rows than to the held-out rows.

    One fixed normalisation (from the real rows) for all sides: numbers scaled by the real
    range (a missing number is at least one unit away from any number), plus one for each
    differing category. The whole training part is the reference; the
    raw share is then converted to what it would be with equally many training and held-out
    rows (a synthetic row that is ``a`` times likelier to sit next to a training row than to
    a held-out one scores ``a / (1 + a)``), so 0.5 means no memorisation at any split.
    The noise is the spread of that share over bootstrap draws of both sides.
    """
    encoder = _Encoder(pd.concat([train, holdout]))
    points = encoder.encode(_at_most(synthetic, DCR_MAX_ROWS, rng))
    near_holdout = _Nearest(encoder.encode(holdout), points)
    near_train = _Nearest(encoder.encode(_at_most(train, DCR_MAX_ROWS, rng)), points)
    sizes = (near_train.size, near_holdout.size)
    share = _equal_size_share(near_train.distances[:, 0] < near_holdout.distances[:, 0], *sizes)
    uniform = rng.random((DCR_DRAWS, sum(sizes)))  # per draw: the training rows' numbers, then the holdout's
    closer = near_train.bootstrap(uniform[:, : sizes[0]]) < near_holdout.bootstrap(uniform[:, sizes[0] :])
    draws = [_equal_size_share(draw, *sizes) for draw in closer]
    return DcrResult(share, float(np.std(draws)))


def _equal_size_share(closer_to_train: np.ndarray, n_train: int, n_holdout: int) -> float:
    raw = float(np.mean(closer_to_train))
    if raw >= 1.0:
        return 1.0
    affinity = raw / (1 - raw) * n_holdout / n_train
    return affinity / (1 + affinity)


class _Nearest:
    """The ``DCR_NEIGHBOURS`` nearest reference rows of every point, nearest first (found a block
    of points at a time: each point's neighbours are the same as from the whole matrix)."""

    def __init__(self, reference: _Encoded, points: _Encoded):
        self.size = len(reference.numbers)
        k = min(DCR_NEIGHBOURS, self.size)
        nearest = np.empty((len(points.numbers), k), dtype=np.intp)
        nearest_distances = np.empty((len(points.numbers), k))
        for start in range(0, len(points.numbers), DCR_BLOCK_ROWS):
            block = slice(start, start + DCR_BLOCK_ROWS)
            distances = points.rows(block).distances_to(reference)
            nearest[block] = k_smallest(distances, k)
            nearest_distances[block] = np.take_along_axis(distances, nearest[block], axis=1)
        # Rounded (sums in another order are equal) after choosing: rounding keeps the order, so the
        # k nearest have the same rounded distances as if every distance had been rounded first.
        nearest_distances = np.round(nearest_distances, ROUND_DECIMALS)
        order = np.argsort(nearest_distances, axis=1, kind="stable")
        self.rows = np.take_along_axis(nearest, order, axis=1)
        self.distances = np.take_along_axis(nearest_distances, order, axis=1)

    def bootstrap(self, uniform: np.ndarray) -> np.ndarray:
        """Per draw, the distance of every point to the nearest row of a bootstrap draw of the
        reference (its distinct rows: each row is in it with probability 1 - 1/e). ``uniform``
        holds a uniform number per draw and reference row."""
        included = (uniform < _BOOTSTRAP_INCLUSION)[:, self.rows]  # draws x points x neighbours
        first = included.argmax(axis=2)
        found = np.take_along_axis(self.distances[np.newaxis], first[..., np.newaxis], axis=2)[..., 0]
        return np.where(included.any(axis=2), found, self.distances[:, -1])


def k_smallest(distances: np.ndarray, k: int) -> np.ndarray:
    """Column positions of each row's ``k`` smallest distances (in no order).

    The same distances as a partition of every row, at a fraction of its cost on a wide matrix: the
    ``k``-th smallest of every ``stride``-th column bounds each row's ``k``-th smallest from above,
    so only the few distances within that bound are partitioned."""
    rows, columns = distances.shape
    stride = columns // (DCR_PROBE * k)
    if stride < 2:
        return np.argpartition(distances, k - 1, axis=1)[:, :k]
    bound = np.partition(distances[:, ::stride], k - 1, axis=1)[:, k - 1]
    row, column = np.nonzero(distances <= bound[:, np.newaxis])
    counts = np.bincount(row, minlength=rows)
    slot = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    candidates = np.full((rows, counts.max()), np.inf)
    positions = np.zeros(candidates.shape, dtype=np.intp)
    candidates[row, slot] = distances[row, column]
    positions[row, slot] = column
    return np.take_along_axis(positions, np.argpartition(candidates, k - 1, axis=1)[:, :k], axis=1)


def _at_most(frame: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    return frame if len(frame) <= rows else frame.iloc[np.sort(rng.choice(len(frame), rows, replace=False))]


@dataclass(frozen=True)
class _Encoded:
    numbers: np.ndarray  # rows x numeric columns, scaled by the real range (-1 for missing)
    categories: np.ndarray  # rows x categorical columns, integer codes (-1: not a real category)

    def rows(self, which: slice) -> _Encoded:
        return _Encoded(self.numbers[which], self.categories[which])

    def distances_to(self, reference: _Encoded) -> np.ndarray:
        """Manhattan distance on numbers plus one per differing category (Gower-like)."""
        from scipy.spatial.distance import (
            cdist,  # scipy only where the gate runs (workers)
        )

        if self.numbers.shape[1]:
            total = cdist(self.numbers, reference.numbers, metric="cityblock")
        else:
            total = np.zeros((len(self.numbers), len(reference.numbers)))
        if self.categories.shape[1]:
            mismatches = np.zeros(total.shape, dtype=np.min_scalar_type(self.categories.shape[1]))
            for column in range(self.categories.shape[1]):
                mismatches += self.categories[:, column, np.newaxis] != reference.categories[np.newaxis, :, column]
            total += mismatches
        return total


class _Encoder:
    """One fixed normalisation, learnt from the real rows, for every side of the comparison."""

    def __init__(self, real: pd.DataFrame):
        self.ranges: dict[str, tuple[float, float]] = {}
        self.codes: dict[str, dict[str, int]] = {}
        for column in real.columns:
            values = real[column]
            if is_numeric(values):
                numbers = as_numbers(non_null(values))
                low = float(numbers.min()) if numbers.size else 0.0
                span = float(numbers.max()) - low if numbers.size else 1.0
                self.ranges[column] = (low, span or 1.0)
            else:
                self.codes[column] = {text: code for code, text in enumerate(_category_text(values).unique())}

    def encode(self, frame: pd.DataFrame) -> _Encoded:
        numbers = [
            np.nan_to_num((as_numbers(frame[column]) - low) / span, nan=-1.0)
            for column, (low, span) in self.ranges.items()
        ]
        categories = [
            _category_text(frame[column]).map(codes).fillna(-1).to_numpy(dtype="float64")
            for column, codes in self.codes.items()
        ]
        return _Encoded(_columns(numbers, len(frame)), _columns(categories, len(frame)))


def _columns(arrays: list[np.ndarray], rows: int) -> np.ndarray:
    return np.column_stack(arrays) if arrays else np.zeros((rows, 0))


def _category_text(values: pd.Series) -> pd.Series:
    return normalized(values).fillna("\x00missing")
