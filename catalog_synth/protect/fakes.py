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

import math
import re
import string
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker

from catalog_synth.protect.classify import is_place_name, name_tokens
from catalog_synth.protect.evidence import RealCounts
from catalog_synth.protect.locales import (
    faker_for,
    faker_provider,
    kin_locales,
    locale_country,
    locale_of_country,
    phone_region,
)
from catalog_synth.protect.meanings import Meaning, Style, meaning_of, plausible
from catalog_synth.protect.subjects import Subjects
from catalog_synth.core.values import Forbidden, distinct_share, non_null, normalize, normalized_set
from catalog_synth.core.types import ColumnInfo, ColumnKind

DIGIT, UPPER, LOWER = "\x01", "\x02", "\x03"
_CLASS_CHARS = {DIGIT: string.digits, UPPER: string.ascii_uppercase, LOWER: string.ascii_lowercase}
MAX_ROUNDS = 30
# Fakes must not fill more than this share of their shape's space with likely real values.
MAX_DENSITY = 0.01
MAX_DIGITS = 18
# The least share of fake email user names that get a number, as real ones often do.
EMAIL_NUMBERED_SHARE = 0.3
# After this many rounds in the row's own locale, collisions are made again in other locales
# (a small locale's first names can all be taken by the real sample), for the kinds of value
# that belong to no country; a phone or a postal code stays in its row's country. Locales of
# the row's language come first (see _Fallbacks), then any of FALLBACK_LOCALES.
LOCAL_ROUNDS = 8
KIN_ROUNDS = 8
KIN_LIKENESS = 0.2  # kin locales less alike than this share of the most alike one are left out
_ANY_LOCALE = frozenset({"person_name", "company", "email", "free_text", "identifier", "url"})
PHONE_TRIES = 20
FALLBACK_LOCALES = (
    "en_US", "en_GB", "en_IE", "de_DE", "de_AT", "fr_FR", "es_ES", "es_MX", "it_IT", "nl_NL", "pt_BR", "pt_PT",
    "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ", "sk_SK", "hu_HU", "ro_RO", "hr_HR", "sl_SI", "lt_LT",
    "lv_LV", "et_EE", "tr_TR", "id_ID",
)
_CJK_LOCALES = {"ja_JP", "zh_CN", "zh_TW", "ko_KR"}
# Faker makes a value in 0.1-0.25 ms, too slow for one call per row: a generator draws its
# rows from a pool made per locale, at least this big (when there are as many rows).
POOL_SIZE = 256
_FIRST_NAME = re.compile(r"(?:^|_)(?:first|given|fore)_?name$|(?:^|_)(?:prenom|vorname|nombre)$")
_LAST_NAME = re.compile(r"(?:^|_)(?:last|sur|family|maiden)_?name$|(?:^|_)(?:nachname|apellidos?|cognome|nom)$")


@dataclass
class FakeContext:
    """What every fake generator of one table shares."""

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

    def faker(self, locale: str) -> Faker:
        """The process's Faker for ``locale``, seeded from this context on first use."""
        faker = faker_for(locale)
        if locale not in self._seeded:
            faker.seed_instance(self.seed)
            self._seeded.add(locale)
        return faker

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
        generator = fitted(generator_for(semantic, column, present, ctx.about_people), column)
        shared = _shared_meaning(semantic, column, present)
        out[mask] = _without_collisions(generator, present, ctx.locales[mask], ctx, unique, column, semantic, shared)
    return out


def _shared_meaning(semantic: str, column: ColumnInfo, present: pd.Series) -> bool:
    """Values that many people share by nature (countries, states, cities, currencies): one the whole
    real column holds for at least ``k`` rows describes no one, even where the sample is too small
    to show it (a birth country among 600 sampled of 100,000 customers)."""
    if semantic == "address" and is_place_name(column.name):
        return True
    return _identifier_meaning(semantic, column, present) in _SHARED_MEANINGS


def fitted(generator: FakeMaker, column: ColumnInfo) -> FakeMaker:
    """``generator`` whose texts fit ``VARCHAR(n)``/``CHAR(n)`` (cut at the last whole word that fits)."""
    if not column.length or column.kind is not ColumnKind.STRING:
        return generator

    def fitting(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[Any]:
        return [fit_text(value, column.length) for value in generator(values, locales, ctx)]

    return fitting


def fit_text(value: Any, length: int | None) -> Any:
    if not isinstance(value, str) or not length or len(value) <= length:
        return value
    cut = value[:length]
    words = cut.rsplit(" ", 1)[0] if " " in cut and not value[length].isspace() else cut
    return words.rstrip(" ,;-") or cut


def generator_for(semantic: str, column: ColumnInfo, present: pd.Series, about_people: bool = False) -> FakeMaker:
    if column.kind in (ColumnKind.INTEGER, ColumnKind.FLOAT, ColumnKind.DECIMAL):
        return _numbers
    if column.kind in (ColumnKind.DATE, ColumnKind.DATETIME):
        return _datetimes
    if column.kind is ColumnKind.BOOLEAN:
        return _booleans
    if semantic == "person_name":
        return _person_name_generator(column.name, present)
    if semantic == "address" and is_place_name(column.name):
        return _cities
    meaning = _identifier_meaning(semantic, column, present, about_people)
    if meaning is not None:
        return _of_meaning(meaning, Style.of(present), column.length)
    generator = _TEXT_GENERATORS.get(semantic, _identifiers)
    return partial(_identifiers, max_length=column.length) if generator is _identifiers else generator


# Identifier-like columns (mostly held by few people) whose values still have a meaning.
_SHARED_MEANINGS = frozenset({Meaning.COUNTRY, Meaning.SUBDIVISION, Meaning.CITY, Meaning.CURRENCY})
_MEANINGFUL = _SHARED_MEANINGS | {Meaning.TITLE, Meaning.JOB}


def _identifier_meaning(
    semantic: str, column: ColumnInfo, present: pd.Series, about_people: bool = False
) -> Meaning | None:
    if semantic != "identifier" or column.kind is not ColumnKind.STRING:
        return None
    meaning = meaning_of(column.name, present, about_people=about_people, semantic=semantic)
    return meaning if meaning in _MEANINGFUL else None


def _of_meaning(meaning: Meaning, style: Style, max_length: int | None) -> FakeMaker:
    """Values of ``meaning`` in each row's locale (a state of the row's country); where a locale
    has none (a country without states), random characters in a real value's shape."""

    def make(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[Any]:
        made = [plausible(meaning, locale, style, ctx.rng) for locale in locales]
        missing = [position for position, value in enumerate(made) if value is None]
        if missing:
            for position, value in zip(missing, _identifiers(values, locales[missing], ctx, max_length)):
                made[position] = value
        return made

    return make


def _without_collisions(
    generator: FakeMaker,
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
    values = list(generator(present, locales, ctx))
    taken: set[str | None] = set()
    forbidden = ctx.forbidden.of(column.name)
    pending = _reject(values, range(len(values)), taken, forbidden, unique)
    likeness = _name_likeness(present, forbidden, name_part(column.name, present)) if semantic == "person_name" else None
    fallbacks = _Fallbacks(ctx.rng, likeness)
    for round_number in range(MAX_ROUNDS):
        held = set(ctx.held_in_warehouse(column, semantic, values, shared)) - set(pending)
        taken.difference_update(normalize(values[position]) for position in held)
        pending = sorted({*pending, *held})
        if not pending:
            break
        retry_locales = fallbacks.locales(locales[pending], round_number if semantic in _ANY_LOCALE else 0)
        for position, value in zip(pending, generator(present, retry_locales, ctx)):
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


def _pooled(make: Callable[[Any], Any], locales: np.ndarray, ctx: FakeContext, distinct: float = 0.0) -> np.ndarray:
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
        out[rows] = _spread(allowed, len(rows), ctx.rng)
    return out


def _spread(pool: list[Any], n_rows: int, rng: np.random.Generator) -> np.ndarray:
    """``n_rows`` values: each pool value once (as far as they go), then random repeats, shuffled."""
    values = np.empty(len(pool), dtype=object)
    values[:] = pool
    if len(values) >= n_rows:
        return values[:n_rows]
    repeats = values[rng.integers(0, len(values), n_rows - len(values))]
    return rng.permutation(np.concatenate([values, repeats]))


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
    pool = fake_column("identifier", column, present, pool_ctx, unique=True)
    null_share = 0.0 if len(real) == 0 else 1 - len(present) / len(real)
    return sample_from_pool(list(pool), n_rows, ctx.rng, null_share)


# --- shapes ---


def char_class(char: str) -> str | None:
    if char.isdigit() and char.isascii():
        return DIGIT
    if char.isalpha():
        return UPPER if char.isupper() else LOWER
    return None


def mask_of(text: str, keep: int = 0) -> str:
    """The shape of ``text``: digits and letters become classes, the first ``keep`` characters stay."""
    return text[:keep] + "".join(char_class(char) or char for char in text[keep:])


@dataclass(frozen=True)
class Shapes:
    """Weighted shape templates; a template is a mask whose shared positions hold their real character."""

    templates: tuple[str, ...]
    weights: tuple[float, ...]

    def __bool__(self) -> bool:
        return bool(self.templates)

    def pick(self, rng: np.random.Generator) -> str:
        return self.templates[rng.choice(len(self.templates), p=self.weights)]


def build_shapes(values: Sequence[str], min_count: int, keep: Callable[[str], int] = lambda _: 0) -> Shapes:
    """Templates from groups (same mask) of at least ``min_count`` distinct real values."""
    groups: dict[str, set[str]] = defaultdict(set)
    for value in values:
        groups[mask_of(value, keep(value))].add(value)
    common = {mask: members for mask, members in groups.items() if len(members) >= min_count}
    templates = [_shared_positions(mask, members) for mask, members in common.items()]
    counts = [len(members) for members in common.values()]
    return Shapes(tuple(templates), tuple(count / sum(counts) for count in counts))


def masks_only(values: Sequence[str]) -> Shapes:
    """Bare masks of every value (no real character kept): the fallback for tiny samples."""
    counts = Counter(mask_of(value) for value in values)
    total = sum(counts.values())
    return Shapes(tuple(counts), tuple(count / total for count in counts.values()))


def _shared_positions(mask: str, members: set[str]) -> str:
    chars = list(mask)
    for position, char in enumerate(mask):
        if char in _CLASS_CHARS and len({member[position] for member in members}) == 1:
            chars[position] = next(iter(members))[position]
    return "".join(chars)


def fill(template: str, rng: np.random.Generator) -> str:
    """Random characters in the template's class positions (one random draw per template)."""
    draws = rng.random(len(template)).tolist()
    return "".join(
        _CLASS_CHARS[char][int(draw * len(_CLASS_CHARS[char]))] if char in _CLASS_CHARS else char
        for char, draw in zip(template, draws)
    )



# --- generators per semantic ---


def _identifiers(values: pd.Series, locales: np.ndarray, ctx: FakeContext, max_length: int | None = None) -> list[str]:
    texts = values.astype(str).tolist()
    if looks_like_words(texts):
        return _words(texts, locales, ctx)
    shapes = build_shapes(texts, ctx.min_count) or masks_only(texts) or Shapes((DIGIT * 8,), (1.0,))
    shapes = widen(shapes, expected_distinct(values, ctx), max_length)
    return [fill(shapes.pick(ctx.rng), ctx.rng) for _ in locales]


def looks_like_words(texts: Sequence[str]) -> bool:
    """Mostly letters, in more than one word on average (names of things, not codes)."""
    if not texts:
        return False
    letters = sum(char.isalpha() for text in texts for char in text)
    visible = sum(not char.isspace() for text in texts for char in text)
    mean_words = sum(len(text.split()) for text in texts) / len(texts)
    return mean_words >= 1.5 and letters >= 0.8 * max(visible, 1)


def _words(texts: Sequence[str], locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """Faker words in the row's locale, as many as in a real value drawn at random."""
    counts = np.array([max(1, len(text.split())) for text in texts])
    title = sum(text[:1].isupper() for text in texts) >= len(texts) / 2
    per_row = counts[ctx.rng.integers(0, len(counts), len(locales))]
    words = _pooled(lambda faker: faker.word(), np.repeat(locales, per_row), ctx)
    if title:
        words = np.array([word.capitalize() for word in words], dtype=object)
    return [" ".join(row) for row in np.split(words, np.cumsum(per_row)[:-1])]


def expected_distinct(values: pd.Series, ctx: FakeContext) -> int:
    """Distinct values the whole real column likely holds (the sample's share, scaled up)."""
    population = max(ctx.population, len(values))
    return max(values.nunique(), round(distinct_share(values) * population))


def widen(shapes: Shapes, distinct: int, max_length: int | None = None) -> Shapes:
    """Enlarge templates whose space is so small that fakes would often hit real values the
    sample did not show (three-letter codes of 3,000 airports: 17% of all such codes).

    First the digits every real value shared become variable, from the right
    (``Supplier#000000034``: the padding zeros vary, the length stays); then the template grows,
    up to ``max_length`` (``CHAR(15)``); then shared letters become variable. Growing comes late:
    a longer fake would hold the real value it grew from (``Supplier#0000000345``)."""
    templates = []
    for template in shapes.templates:
        while distinct > MAX_DENSITY * _space(template):
            wider = _unkept(template, DIGIT) or _longer(template, max_length) or _unkept(template, None)
            if wider is None:
                break
            template = wider
        templates.append(template)
    return Shapes(tuple(templates), shapes.weights)


def _unkept(template: str, char_kind: str | None) -> str | None:
    """``template`` with its rightmost kept real character (of ``char_kind``, or any) made variable."""
    kinds = (char_kind,) if char_kind else (DIGIT, UPPER, LOWER)
    kept = [i for i, char in enumerate(template) if char not in _CLASS_CHARS and char_class(char) in kinds]
    if not kept:
        return None
    position = kept[-1]
    return template[:position] + char_class(template[position]) + template[position + 1 :]


def _longer(template: str, max_length: int | None) -> str | None:
    if max_length is not None and len(template) >= max_length:
        return None
    return template + next((char for char in reversed(template) if char in _CLASS_CHARS), DIGIT)


def _space(template: str) -> int:
    return math.prod(len(_CLASS_CHARS[char]) for char in template if char in _CLASS_CHARS)


def _numbers(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[float]:
    """Numbers with the digit counts of the real ones (no leading zero), as floats."""
    texts = [_number_text(value) for value in values]
    shapes = build_shapes(texts, ctx.min_count) or masks_only(texts) or Shapes((DIGIT * 6,), (1.0,))
    shapes = widen(shapes, expected_distinct(values, ctx))
    out = []
    for _ in locales:
        text = fill(shapes.pick(ctx.rng), ctx.rng)
        digits_at = next((index for index, char in enumerate(text) if char.isdigit()), None)
        if digits_at is not None and text[digits_at] == "0" and len(re.sub(r"\D", "", text)) > 1:
            text = text[:digits_at] + str(ctx.rng.integers(1, 10)) + text[digits_at + 1 :]
        out.append(float(text))
    return out


def _number_text(value: Any) -> str:
    return np.format_float_positional(float(value), trim="-")


def _unique_integers(
    present: pd.Series, n_rows: int, ctx: FakeContext, forbidden: set[str], taken: set[int] | None = None
) -> list[float]:
    """Distinct whole numbers with as many digits as the real ones (more when those run out,
    or when the real ids would fill more than ``MAX_DENSITY`` of the range), none in ``taken``."""
    taken = taken or set()
    digits = max((len(str(abs(int(value)))) for value in present), default=6)
    needed = max(2 * (n_rows + len(forbidden) + len(taken)), expected_distinct(present, ctx) / MAX_DENSITY)
    while 9 * 10 ** (digits - 1) < needed and digits < MAX_DIGITS:
        digits += 1
    chosen: dict[int, None] = {}
    while len(chosen) < n_rows:
        for number in ctx.rng.integers(10 ** (digits - 1), 10**digits, size=n_rows - len(chosen)).tolist():
            if str(number) not in forbidden and number not in taken:
                chosen.setdefault(number)
    return [float(number) for number in chosen]


def _unique_integers_not_held(
    column: ColumnInfo, semantic: str, present: pd.Series, n_rows: int, ctx: FakeContext
) -> list[float]:
    """:func:`_unique_integers`, drawn again where the whole real column holds one of them."""
    values = _unique_integers(present, n_rows, ctx, ctx.forbidden.of(column.name))
    for _ in range(MAX_ROUNDS):
        held = ctx.held_in_warehouse(column, semantic, values)
        if not held:
            break
        redrawn = _unique_integers(present, len(held), ctx, ctx.forbidden.of(column.name), {int(v) for v in values})
        for position, number in zip(held, redrawn):
            values[position] = number
    return values


def _datetimes(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[pd.Timestamp]:
    """Uniform over the whole calendar years the real values span (never their exact bounds)."""
    stamps = pd.to_datetime(values)
    start = pd.Timestamp(year=stamps.min().year, month=1, day=1).value
    end = pd.Timestamp(year=stamps.max().year + 1, month=1, day=1).value
    return list(pd.to_datetime(ctx.rng.integers(start, end, size=len(locales))).normalize())


def _booleans(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[bool]:
    return list(ctx.rng.random(len(locales)) < 0.5)


def _phones(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """Phones of the row's country: in a common real shape of that country (calling code kept);
    for a country the real column shows too few of, in the layout ``phonenumbers`` gives that
    country's numbers (international when the column writes numbers so); else Faker's."""
    shapes = _LocalShapes.build(values, ctx.min_count, _calling_code_length, _phone_locale)
    texts = values.astype(str).str.strip()
    international = bool(len(texts)) and bool(texts.str.match(r"^(?:\+|00)").mean() >= 0.5)
    out = []
    for locale in locales:
        region = locale_country(locale)
        if locale in shapes.by_locale or not shapes.by_locale:  # the row's country, or a one-country column
            phone = shapes.fill(locale, ctx)
        else:
            phone = phone_of_region(region, ctx.rng) if international else ctx.faker(locale).phone_number()
        if international and region and phone_region(phone or "") != region:  # +1 (452): not Canada's
            phone = phone_of_region(region, ctx.rng)
        out.append(phone or ctx.faker(locale).phone_number())
    return out


def phone_of_region(region: str | None, rng: np.random.Generator) -> str | None:
    """An international number of ``region`` in its own layout (``+354 611 1234``), new digits after
    the calling code; None when ``phonenumbers`` knows no number of the region."""
    import phonenumbers

    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE) if region else None
    example = example or (phonenumbers.example_number(region) if region else None)
    if example is None:
        return None
    text = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    prefix = f"+{example.country_code}"
    if len(phonenumbers.region_codes_for_country_code(example.country_code)) > 1:  # +1: the area code tells
        prefix = re.match(r"\+\d+[\s-]*\(?\d+\)?", text).group(0)
    for _ in range(PHONE_TRIES):
        phone = prefix + fill(mask_of(text[len(prefix) :]), rng)
        if phone_region(phone) == region:  # a valid number of the region (NANP exchanges never start 0 or 1)
            return phone
    return prefix + text[len(prefix) : -4] + fill(mask_of(text[-4:]), rng)


def _ibans(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """IBANs in a common real country and layout (the row's country first), with a valid checksum."""
    shapes = _LocalShapes.build(values, ctx.min_count, lambda _: 2, _iban_locale)
    return [with_iban_checksum(shapes.fill(locale, ctx) or ctx.faker(locale).iban()) for locale in locales]


@dataclass(frozen=True)
class _LocalShapes:
    """Shapes per locale (from a country code inside the value), and all of them together."""

    by_locale: dict[str, Shapes]
    every: Shapes

    @classmethod
    def build(
        cls, values: pd.Series, min_count: int, keep: Callable[[str], int], locale_of: Callable[[str], str | None]
    ) -> _LocalShapes:
        texts = values.astype(str).str.strip().tolist()
        groups: dict[str, list[str]] = defaultdict(list)
        for text in texts:
            locale = locale_of(text)
            if locale:
                groups[locale].append(text)
        by_locale = {locale: build_shapes(group, min_count, keep) for locale, group in groups.items()}
        every = build_shapes(texts, min_count, keep)
        return cls({locale: shapes for locale, shapes in by_locale.items() if shapes}, every)

    def fill(self, locale: str, ctx: FakeContext) -> str | None:
        shapes = self.by_locale.get(locale) or self.every
        return fill(shapes.pick(ctx.rng), ctx.rng) if shapes else None


def _phone_locale(text: str) -> str | None:
    return locale_of_country(phone_region(text))


def _iban_locale(text: str) -> str | None:
    return locale_of_country(text[:2].upper())


def _calling_code_length(text: str) -> int:
    """Characters up to the end of the country calling code (``+33``, ``0049``), 0 without one."""
    region = phone_region(text)
    if not region:
        return 0
    import phonenumbers

    code = str(phonenumbers.country_code_for_region(region))
    return text.index(code) + len(code) if code in text else 0


def with_iban_checksum(text: str) -> str:
    """``text`` with its two IBAN check digits recomputed (separators kept in place)."""
    from stdnum import iban

    positions = [index for index, char in enumerate(text) if char.isalnum()]
    compact = "".join(text[index] for index in positions).upper()
    check = iban.calc_check_digits(compact)
    chars = list(text)
    chars[positions[2]], chars[positions[3]] = check
    return "".join(chars)


def _cards(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """Card numbers in a common real layout and network (first digit), with a valid Luhn digit."""
    texts = values.astype(str).str.strip().tolist()
    shapes = build_shapes(texts, ctx.min_count, keep=lambda _: 1)
    out = []
    for locale in locales:
        text = fill(shapes.pick(ctx.rng), ctx.rng) if shapes else ctx.faker(locale).credit_card_number()
        out.append(with_luhn_digit(text))
    return out


def with_luhn_digit(text: str) -> str:
    """``text`` with its last digit set so that its digits pass the Luhn check."""
    from stdnum import luhn

    positions = [index for index, char in enumerate(text) if char.isdigit()]
    digits = "".join(text[index] for index in positions)
    chars = list(text)
    chars[positions[-1]] = luhn.calc_check_digit(digits[:-1])
    return "".join(chars)


def _emails(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """Faker user names at the real column's common domains (rare ones, like employers', never)
    that fit the row's country (``wanadoo.fr`` for a French row, ``gmail.com`` for any), else at
    a free mail domain of the row's locale.

    As many user names as the real column has distinct addresses get a number (``ann.lee4821``).
    """
    texts = values.astype(str).str.strip().tolist()
    domains = values.astype(str).str.strip().str.rsplit("@", n=1).str[-1].str.lower()[values.astype(str).str.contains("@")]
    common = {domain: int(count) for domain, count in ctx.people(domains).items() if count >= ctx.min_count}
    common_share = sum(common.values()) / max(1, len(texts))
    names, weights = np.array(list(common), dtype=object), np.array(list(common.values()), dtype=float)
    n_rows = len(locales)
    users = _pooled(lambda faker: faker.user_name(), locales, ctx)
    numbered = ctx.rng.random(n_rows) < max(EMAIL_NUMBERED_SHARE, distinct_share(values))
    numbers = ctx.rng.integers(10, 10_000, n_rows).astype(str)
    domain = _pooled(lambda faker: faker.free_email_domain(), locales, ctx)
    at_common = ctx.rng.random(n_rows) < common_share
    for locale in pd.unique(locales[at_common]):
        rows = np.flatnonzero(at_common & (locales == locale))
        fits = np.array([_domain_fits(name, locale_country(str(locale))) for name in names], dtype=bool)
        if fits.any():
            chosen = ctx.rng.choice(int(fits.sum()), size=len(rows), p=weights[fits] / weights[fits].sum())
            domain[rows] = names[fits][chosen]
    emails = [
        f"{user}{number if with_number else ''}@{at}" for user, number, with_number, at in zip(users, numbers, numbered, domain)
    ]
    return [email.lower() for email in emails] if all(text == text.lower() for text in texts) else emails


# How people spell their name before the @ (g: given name, f: family name), and how often.
_NAMED_USERS = (("{g}.{f}", 0.4), ("{g}{f}", 0.2), ("{g}_{f}", 0.1), ("{i}{f}", 0.2), ("{g}", 0.1))


def emails_following_names(emails: pd.Series, names: pd.DataFrame, column: ColumnInfo, ctx: FakeContext) -> pd.Series:
    """The e-mail fakes with the user part spelt from the row's fake name (``kyle.gibson41@...``:
    the fake's number and domain kept), wherever that address is neither a real one (the sample,
    the whole column in the warehouse) nor another row's; elsewhere the fake stays as made.
    ``names`` holds each row's fake ``given`` and ``family`` name."""
    patterns, weights = zip(*_NAMED_USERS)
    chosen = ctx.rng.choice(len(patterns), size=len(emails), p=np.array(weights) / sum(weights))
    candidates = [
        _named_address(email, given, family, patterns[pattern])
        for email, given, family, pattern in zip(emails, names["given"], names["family"], chosen)
    ]
    spelt = [position for position, candidate in enumerate(candidates) if candidate is not None]
    held = {spelt[i] for i in ctx.held_in_warehouse(column, "email", [candidates[p] for p in spelt])}
    out, seen = emails.copy(), set(normalized_set(emails))
    for position in spelt:
        key = normalize(candidates[position])
        if position not in held and key not in seen:
            out.iloc[position] = candidates[position]
            seen.add(key)
    return out


def _named_address(email: Any, given: Any, family: Any, pattern: str) -> str | None:
    if not isinstance(email, str) or "@" not in email or not isinstance(given, str) or not isinstance(family, str):
        return None
    user, domain = email.rsplit("@", 1)
    g, f = _ascii_word(given), _ascii_word(family)
    if not g or not f:
        return None
    number = re.search(r"\d*$", user).group()
    return f"{pattern.format(g=g, f=f, i=g[0])}{number}@{domain}"


def _ascii_word(text: str) -> str:
    """``Éléonore`` -> ``eleonore``, ``O'Hehir`` -> ``ohehir``: letters only, without accents."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum())


def _domain_fits(domain: str, country: str | None) -> bool:
    """A mail domain fits a row of ``country``: a generic one (``.com``), or the country's own."""
    top = domain.rsplit(".", 1)[-1]
    return len(top) > 2 or (country is not None and top == ("uk" if country == "GB" else country.lower()))


def _addresses(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    texts = values.astype(str).tolist()
    multiline = sum("\n" in text for text in texts) >= len(texts) / 2
    street_only = sum(("," not in text and "\n" not in text) for text in texts) >= len(texts) / 2
    make = (lambda faker: faker.street_address()) if street_only else (lambda faker: faker.address())
    addresses = _pooled(make, locales, ctx, distinct_share(values))
    return [address if multiline else address.replace("\n", ", ") for address in addresses]


def _cities(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    from catalog_synth.protect.places import city_of

    return list(_pooled(lambda faker: city_of(faker.locales[0], ctx.rng), locales, ctx, distinct_share(values)))


def name_part(column_name: str, present: pd.Series) -> str | None:
    """``first_name`` or ``last_name`` for a column of one part of names; None for full names."""
    tokens = name_tokens(column_name)
    if _FIRST_NAME.search(tokens):
        return "first_name"
    if _LAST_NAME.search(tokens):
        return "last_name"
    single_words = not present.empty and present.astype(str).str.split().str.len().mean() < 1.3
    return "first_name" if single_words else None


def _person_name_generator(column_name: str, present: pd.Series) -> FakeMaker:
    part = name_part(column_name, present)

    def person_names(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
        if part:
            return list(_pooled(lambda faker: getattr(faker, part)(), locales, ctx, distinct_share(values)))
        # First and last names drawn apart: few Faker calls, yet mostly distinct full names.
        first = _pooled(lambda faker: faker.first_name(), locales, ctx)
        last = _pooled(lambda faker: faker.last_name(), locales, ctx)
        names = np.array([f"{given} {family}" for given, family in zip(first, last)], dtype=object)
        cjk = np.isin(locales, list(_CJK_LOCALES))
        if cjk.any():  # family name first: Faker's own order for these locales
            names[cjk] = _pooled(lambda faker: faker.name(), locales[cjk], ctx, distinct_share(values))
        return list(names)

    return person_names


def _free_text(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """Faker text in the row's locale, as long as a real text drawn at random."""
    lengths = values.astype(str).str.len().to_numpy() if len(values) else np.array([60])

    def text(faker: Any) -> str:
        return faker.text(max_nb_chars=max(5, int(lengths[ctx.rng.integers(len(lengths))])))

    return list(_pooled(text, locales, ctx, distinct_share(values)))


def _uuids(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    return [str(uuid.UUID(bytes=ctx.rng.bytes(16), version=4)) for _ in locales]


def _ip_addresses(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    v6_share = float(values.astype(str).str.contains(":").mean()) if len(values) else 0.0

    def address(faker: Any) -> str:
        return faker.ipv6() if ctx.rng.random() < v6_share else faker.ipv4_public()

    return list(_pooled(address, locales, ctx, distinct_share(values)))


def _urls(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    with_path = float(values.astype(str).str.contains(r"//[^/]+/.", regex=True).mean()) if len(values) else 0.0

    def url(faker: Any) -> str:
        return faker.uri() if ctx.rng.random() < with_path else faker.url()

    return list(_pooled(url, locales, ctx, distinct_share(values)))


def _companies(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    return list(_pooled(lambda faker: faker.company(), locales, ctx, distinct_share(values)))


def _postal_codes(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """The row locale's Faker postcode: in a table of several countries always (each row's code in
    its country's format), in a one-country table when the column holds codes of that shape
    (else a common real shape)."""
    texts = values.astype(str).str.strip().tolist()
    real_masks = {mask_of(text) for text in texts}
    shapes = build_shapes(texts, ctx.min_count) or masks_only(texts)
    codes = _pooled(lambda faker: faker.postcode(), locales, ctx, distinct_share(values))
    if len(set(locales)) > 1 or not shapes:
        return list(codes)
    return [code if mask_of(code) in real_masks else fill(shapes.pick(ctx.rng), ctx.rng) for code in codes]


_TEXT_GENERATORS: dict[str, FakeMaker] = {
    "email": _emails,
    "phone": _phones,
    "address": _addresses,
    "company": _companies,
    "postal_code": _postal_codes,
    "iban": _ibans,
    "credit_card": _cards,
    "national_id": _identifiers,
    "ip_address": _ip_addresses,
    "url": _urls,
    "uuid": _uuids,
    "free_text": _free_text,
    "identifier": _identifiers,
}
