"""What every fake maker of one table shares (:class:`FakeContext`), and pools of Faker values
drawn per locale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from faker import Faker

from catalog_synth.core.types import ColumnInfo, ColumnKind
from catalog_synth.core.values import Forbidden, distinct_share, normalize
from catalog_synth.protect.evidence import RealCounts
from catalog_synth.protect.locales import faker_for
from catalog_synth.protect.subjects import Subjects

_Fitted = TypeVar("_Fitted")

# Faker makes a value in 0.1-0.25 ms, too slow for one call per row: a fake maker draws its
# rows from a pool made per locale, at least this big (when there are as many rows).
POOL_SIZE = 256


@dataclass
class FakeContext:
    """What every fake maker of one table shares."""

    rng: np.random.Generator
    locales: np.ndarray  # one Faker locale per synthetic row
    forbidden: Forbidden  # normalised real values no fake may equal (per column, with what the warehouse holds)
    min_count: int  # shapes and domains held by fewer people are never reused
    seed: int = 0
    population: int = 0  # rows in the real table (the sample may hold only some of them)
    subjects: Subjects | None = None  # who each real sample row is about
    about_people: bool = False  # the table describes people (a "title" there is a job)
    # Counts of candidate fakes among the whole real column, in the warehouse (None: sample only).
    real_counts: RealCounts | None = None
    _seeded: set[str] = field(default_factory=set)
    _checked: dict[str, set[str]] = field(default_factory=dict)  # per column: fakes the warehouse does not hold
    _fitted: dict[tuple[int, Callable], tuple[pd.Series, Any]] = field(default_factory=dict)

    def faker(self, locale: str) -> Faker:
        """The process's Faker for ``locale``, seeded from this context and the locale on first use
        (one seed for all would make ``en_US`` and ``en_CA`` draw the same street addresses)."""
        faker = faker_for(locale)
        if locale not in self._seeded:
            faker.seed_instance(f"{self.seed}:{locale}")
            self._seeded.add(locale)
        return faker

    def fitted(self, values: pd.Series, fit: Callable[[pd.Series, FakeContext], _Fitted]) -> _Fitted:
        """``fit(values, self)``, once per column: a fake maker runs again on every collision
        retry, with the same real ``values`` (the entry holds them, so their id is not reused)."""
        key = (id(values), fit)
        if key not in self._fitted or self._fitted[key][0] is not values:
            self._fitted[key] = (values, fit(values, self))
        return self._fitted[key][1]

    def people(self, values: pd.Series) -> pd.Series:
        """Distinct people holding each value of ``values`` (a part of a real sample column)."""
        return (self.subjects or Subjects.of_rows(int(values.index.max() + 1) if len(values) else 0)).counts(values)

    def held_in_warehouse(
        self, column: ColumnInfo, semantic: str, values: Sequence[Any], shared: bool = False
    ) -> list[int]:
        """Positions of ``values`` that a real row of the whole column holds (the sample shows only
        some of them); those values join the column's ``forbidden`` values, so the gate checks
        them too. With ``shared`` (countries, cities), a value at least ``min_count`` real people
        hold is common and allowed, even where the sample held it for fewer."""
        keys = [normalize(value) for value in values]
        if self.real_counts is not None and column.kind is not ColumnKind.UUID:  # random UUIDs collide with nothing
            checked = self._checked.setdefault(column.name, set())
            unchecked = {key: value for key, value in zip(keys, values) if key is not None and key not in checked}
            if unchecked:
                counts = self.real_counts(column, semantic, list(unchecked.values()))
                common = {key for key, people in counts.items() if shared and people >= self.min_count}
                self.forbidden.held.setdefault(column.name, set()).update(set(counts) - common)
                self.forbidden.common.setdefault(column.name, set()).update(common)
                checked.update(set(unchecked) - set(counts) | common)
        forbidden = self.forbidden.of(column.name)
        return [position for position, key in enumerate(keys) if key in forbidden]


# A fake maker makes one fake per row locale: (real non-missing values, row locales, context) -> values.
FakeMaker = Callable[[pd.Series, np.ndarray, FakeContext], list[Any]]


def pooled(make: Callable[[Any], Any], locales: np.ndarray, ctx: FakeContext, distinct: float = 0.0) -> np.ndarray:
    """One value of ``make(faker)`` per row, from a pool made once per locale.

    A locale's pool holds ``max(POOL_SIZE, distinct * rows)`` values, never more than its
    rows: a column whose real values are mostly distinct (``distinct`` near 1) gets mostly
    distinct fakes. Pool values equal to a real identifying value are dropped before drawing.
    """
    out = np.empty(len(locales), dtype=object)
    for locale in pd.unique(locales):
        rows = np.flatnonzero(locales == locale)
        size = min(len(rows), max(POOL_SIZE, math.ceil(distinct * len(rows))))
        faker = ctx.faker(locale)
        pool = [make(faker) for _ in range(size)]
        allowed = [value for value in pool if normalize(value) not in ctx.forbidden.shared] or pool
        out[rows] = spread(allowed, len(rows), ctx.rng)
    return out


def spread(pool: list[Any], n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """``n_rows`` values: each pool value once (as far as they go), then random repeats, shuffled."""
    values = np.empty(len(pool), dtype=object)
    values[:] = pool
    if len(values) >= n_rows:
        return values[:n_rows]
    repeats = values[rng.integers(0, len(values), n_rows - len(values))]
    return rng.permutation(np.concatenate([values, repeats]))


def expected_distinct(values: pd.Series, ctx: FakeContext) -> int:
    """Distinct values the whole real column likely holds (the sample's share, scaled up)."""
    population = max(ctx.population, len(values))
    return max(values.nunique(), round(distinct_share(values) * population))
