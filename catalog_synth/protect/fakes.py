"""Format-preserving fakes for identifying columns.

Real values of an identifying column never reach a model: its synthetic values are made
here, shaped like the real ones. Shapes (``+33 9 99 99 99 99``, ``AA99 9AA``, ``CUST-99999``)
come only from groups of at least ``min_count`` distinct real values, and a position keeps
its real character only when the whole group shares it (``+33``, ``CUST-``). Where no
shape is common enough, Faker makes the value in the row's locale. Every fake is compared
(case- and whitespace-insensitively) with every real identifying value of the table and
made again on a collision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from catalog_synth.core.types import ColumnInfo, ColumnKind, Semantic
from catalog_synth.core.values import non_null, normalize, normalized_set
from catalog_synth.protect.fake_context import FakeContext, FakeMaker, expected_distinct
from catalog_synth.protect.fake_makers import (
    SHARED_MEANINGS,
    identifier_meaning,
    make_booleans,
    make_datetimes,
    make_numbers,
    name_part,
    of_meaning,
    unique_integers,
)
from catalog_synth.protect.kinds import fakes_for
from catalog_synth.protect.locales import faker_provider, kin_locales
from catalog_synth.protect.meanings import Style
from catalog_synth.protect.names import is_place_name

MAX_ROUNDS = 30
# After this many rounds in the row's own locale, collisions are made again in other locales
# (a small locale's first names can all be taken by the real sample), for the kinds of value
# that belong to no country; a phone or a postal code stays in its row's country. Locales of
# the row's language come first (see _Fallbacks), then any of FALLBACK_LOCALES.
LOCAL_ROUNDS = 8
KIN_ROUNDS = 8
KIN_LIKENESS = 0.2  # kin locales less alike than this share of the most alike one are left out
_ANY_LOCALE = frozenset({
    Semantic.PERSON_NAME, Semantic.COMPANY, Semantic.EMAIL, Semantic.FREE_TEXT, Semantic.IDENTIFIER, Semantic.URL,
})  # fmt: skip
FALLBACK_LOCALES = (
    "en_US", "en_GB", "en_IE", "de_DE", "de_AT", "fr_FR", "es_ES", "es_MX", "it_IT", "nl_NL", "pt_BR", "pt_PT",
    "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ", "sk_SK", "hu_HU", "ro_RO", "hr_HR", "sl_SI", "lt_LT",
    "lv_LV", "et_EE", "tr_TR", "id_ID",
)


def fake_column(
    semantic: str, column: ColumnInfo, real: pd.Series, ctx: FakeContext, *, unique: bool = False
) -> pd.Series:
    """Synthetic values for one identifying column, one per row of ``ctx.locales``.

    Missing values keep the real column's null share (keys: ``unique=True``, never missing).
    """
    n_rows = len(ctx.locales)
    present = non_null(real)
    null_share = 0.0 if unique or len(real) == 0 else 1 - len(present) / len(real)
    mask = ctx.rng.random(n_rows) >= null_share
    out = pd.Series([None] * n_rows, dtype=object)
    if unique and column.kind is ColumnKind.INTEGER:
        out[:] = _unique_integers_not_held(column, semantic, present, n_rows, ctx)
    elif mask.any():
        maker = fitted(fake_maker_for(semantic, column, present, ctx.about_people), column)
        shared = _shared_meaning(semantic, column, present)
        out[mask] = _without_collisions(maker, present, ctx.locales[mask], ctx, unique, column, semantic, shared)
    return out


def _shared_meaning(semantic: str, column: ColumnInfo, present: pd.Series) -> bool:
    """Values that many people share by nature (countries, states, cities, currencies): one the whole
    real column holds for at least ``k`` rows describes no one, even where the sample is too small
    to show it (a birth country among 600 sampled of 100,000 customers)."""
    if semantic == Semantic.ADDRESS and is_place_name(column.name):
        return True
    return identifier_meaning(semantic, column, present) in SHARED_MEANINGS


def fitted(maker: FakeMaker, column: ColumnInfo) -> FakeMaker:
    """``maker`` whose texts fit ``VARCHAR(n)``/``CHAR(n)`` (cut at the last whole word that fits)."""
    if not column.length or column.kind is not ColumnKind.STRING:
        return maker

    def fitting(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[Any]:
        return [fit_text(value, column.length) for value in maker(values, locales, ctx)]

    return fitting


def fit_text(value: Any, length: int | None) -> Any:
    if not isinstance(value, str) or not length or len(value) <= length:
        return value
    cut = value[:length]
    words = cut.rsplit(" ", 1)[0] if " " in cut and not value[length].isspace() else cut
    return words.rstrip(" ,;-") or cut


def fake_maker_for(semantic: str, column: ColumnInfo, present: pd.Series, about_people: bool = False) -> FakeMaker:
    """The fake maker for one column: by its SQL type for numbers, dates and booleans; by its
    meaning for identifier-like text that still means something (a state, a job title); else its
    kind's (:mod:`catalog_synth.protect.kinds`)."""
    if column.kind in (ColumnKind.INTEGER, ColumnKind.FLOAT, ColumnKind.DECIMAL):
        return make_numbers
    if column.kind in (ColumnKind.DATE, ColumnKind.DATETIME):
        return make_datetimes
    if column.kind is ColumnKind.BOOLEAN:
        return make_booleans
    meaning = identifier_meaning(semantic, column, present, about_people)
    if meaning is not None:
        return of_meaning(meaning, Style.of(present), column.length)
    return fakes_for(semantic, column, present)


def _without_collisions(
    maker: FakeMaker,
    present: pd.Series,
    locales: np.ndarray,
    ctx: FakeContext,
    unique: bool,
    column: ColumnInfo,
    semantic: str,
    shared: bool = False,
) -> list[Any]:
    """Fakes, made again where they equal a real value of the sample (or, for keys, each other),
    then where the whole real column in the warehouse holds them; after ``LOCAL_ROUNDS`` rounds
    the remaining ones are made in other locales. What still collides after ``MAX_ROUNDS`` is
    left for the gate to catch (values the warehouse holds join the values it checks)."""
    values = list(maker(present, locales, ctx))
    taken: set[str | None] = set()
    forbidden = ctx.forbidden.of(column.name)
    pending = _reject(values, range(len(values)), taken, forbidden, unique)
    names = semantic == Semantic.PERSON_NAME
    likeness = _name_likeness(present, forbidden, name_part(column.name, present)) if names else None
    fallbacks = _Fallbacks(ctx.rng, likeness)
    for round_number in range(MAX_ROUNDS):
        held = set(ctx.held_in_warehouse(column, semantic, values, shared)) - set(pending)
        taken.difference_update(normalize(values[position]) for position in held)
        pending = sorted({*pending, *held})
        if not pending:
            break
        retry_locales = fallbacks.locales(locales[pending], round_number if semantic in _ANY_LOCALE else 0)
        for position, value in zip(pending, maker(present, retry_locales, ctx)):
            values[position] = value
        pending = _reject(values, pending, taken, forbidden, unique)
    else:
        ctx.held_in_warehouse(column, semantic, values, shared)  # the last ones made: known to the gate too
    return values


@dataclass
class _Fallbacks:
    """Where one column's fakes are made again: the rows' own locales, then Faker's other locales
    of the row's language, then any of FALLBACK_LOCALES.

    With a ``likeness``, kin locales are drawn by it, and those far less alike than the most
    alike are left out (or the free values of the least alike would win round after round).
    Without one, any kin locale."""

    rng: np.random.Generator
    likeness: Callable[[str], float] | None = None
    _kin: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def locales(self, locales: np.ndarray, round_number: int) -> np.ndarray:
        if round_number < LOCAL_ROUNDS:
            return locales
        if round_number >= LOCAL_ROUNDS + KIN_ROUNDS:
            return np.array(FALLBACK_LOCALES, dtype=object)[self.rng.integers(0, len(FALLBACK_LOCALES), len(locales))]
        out = np.empty(len(locales), dtype=object)
        for locale in pd.unique(locales):
            rows = np.flatnonzero(locales == locale)
            kin, weights = self._weighted_kin(str(locale))
            out[rows] = kin[self.rng.choice(len(kin), size=len(rows), p=weights)]
        return out

    def _weighted_kin(self, locale: str) -> tuple[np.ndarray, np.ndarray]:
        if locale not in self._kin:
            kin = kin_locales(locale) or FALLBACK_LOCALES
            likeness = np.array([self.likeness(other) for other in kin]) if self.likeness else np.zeros(len(kin))
            weights = likeness * (likeness >= KIN_LIKENESS * likeness.max()) if likeness.any() else np.ones(len(kin))
            self._kin[locale] = (np.array(kin, dtype=object), weights / weights.sum())
        return self._kin[locale]


def _name_likeness(present: pd.Series, forbidden: set[str], part: str | None) -> Callable[[str], float]:
    """How well a locale's Faker names (of the column's part: first, last, or both) suit a column
    of real names: the share of them the real sample holds (the same naming tradition) times the
    share still free (no real value holds it). For US customers whose warehouse holds every en_US
    name: en_GB and en_NZ names, not en_PK ones, and none from a locale without names of its own
    (Faker repeats en_US's there)."""
    real = normalized_set(word for value in present.astype(str) for word in value.split())

    def likeness(locale: str) -> float:
        names = _faker_names(locale, part)
        if not names:
            return 0.0
        alike = sum(name in real for name in names) / len(names)
        free = sum(name not in real and name not in forbidden for name in names) / len(names)
        return alike * free

    return likeness


@lru_cache(maxsize=None)
def _faker_names(locale: str, part: str | None) -> tuple[str, ...]:
    """The normalised names (``first_name``, ``last_name``, or both for None) of a locale's own
    person provider (none: it has none)."""
    provider = faker_provider("person", locale)
    if provider is None:
        return ()
    lists = [f"{part}s"] if part else ["first_names", "last_names"]
    return tuple(normalize(name) for attribute in lists for name in getattr(provider, attribute, ()))


def _reject(
    values: list[Any], positions: Sequence[int], taken: set[str | None], forbidden: set[str], unique: bool
) -> list[int]:
    """Positions whose value equals a real value (or, for keys, an accepted fake); accepts the rest."""
    rejected = []
    for position in positions:
        key = normalize(values[position])
        if key in forbidden or (unique and key in taken):
            rejected.append(position)
        else:
            taken.add(key)
    return rejected


def sample_from_pool(
    pool: Sequence[Any], n_rows: int, rng: np.random.Generator, null_share: float = 0.0
) -> pd.Series:
    """``n_rows`` values drawn from ``pool`` (with repeats), missing at ``null_share``.

    The seam for foreign keys: a child column takes its values from the parent's synthetic keys.
    """
    if len(pool) == 0:
        return pd.Series([None] * n_rows, dtype=object)
    drawn = pd.Series(np.asarray(pool, dtype=object)[rng.integers(0, len(pool), size=n_rows)], dtype=object)
    drawn[rng.random(n_rows) < null_share] = None
    return drawn


def fake_foreign_key(column: ColumnInfo, real: pd.Series, ctx: FakeContext) -> pd.Series:
    """Foreign-key values shaped like the real ones, repeating like them, until keys are re-linked."""
    present = non_null(real)
    n_rows = len(ctx.locales)
    pool_size = max(1, min(expected_distinct(present, ctx), n_rows))
    pool_ctx = replace(ctx, locales=ctx.locales[:pool_size])
    pool = fake_column(Semantic.IDENTIFIER, column, present, pool_ctx, unique=True)
    null_share = 0.0 if len(real) == 0 else 1 - len(present) / len(real)
    return sample_from_pool(list(pool), n_rows, ctx.rng, null_share)



def _unique_integers_not_held(
    column: ColumnInfo, semantic: str, present: pd.Series, n_rows: int, ctx: FakeContext
) -> list[float]:
    """:func:`unique_integers`, drawn again where the whole real column holds one of them."""
    values = unique_integers(present, n_rows, ctx, ctx.forbidden.of(column.name))
    for _ in range(MAX_ROUNDS):
        held = ctx.held_in_warehouse(column, semantic, values)
        if not held:
            break
        redrawn = unique_integers(present, len(held), ctx, ctx.forbidden.of(column.name), {int(v) for v in values})
        for position, number in zip(held, redrawn):
            values[position] = number
    return values
