"""Fake makers, one per kind of value: each makes one fake per row locale from the real values'
shapes, Faker's data of the row's locale, or the column's meaning (a state of the row's country).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from catalog_synth.core.types import ColumnInfo, ColumnKind, Semantic
from catalog_synth.core.values import distinct_share
from catalog_synth.protect.fake_context import (
    FakeContext,
    FakeMaker,
    expected_distinct,
    pooled,
)
from catalog_synth.protect.meanings import Meaning, Style, meaning_of, plausible
from catalog_synth.protect.names import name_tokens
from catalog_synth.protect.shapes import (
    DIGIT,
    MAX_DENSITY,
    Shapes,
    build_shapes,
    fill,
    mask_of,
    masks_only,
    widen,
)

MAX_DIGITS = 18
_CJK_LOCALES = {"ja_JP", "zh_CN", "zh_TW", "ko_KR"}


_FIRST_NAME = re.compile(r"(?:^|_)(?:first|given|fore)_?name$|(?:^|_)(?:prenom|vorname|nombre)$")


_LAST_NAME = re.compile(r"(?:^|_)(?:last|sur|family|maiden)_?name$|(?:^|_)(?:nachname|apellidos?|cognome|nom)$")


# Identifier-like columns (mostly held by few people) whose values still have a meaning.
SHARED_MEANINGS = frozenset({Meaning.COUNTRY, Meaning.SUBDIVISION, Meaning.CITY, Meaning.CURRENCY})


MEANINGFUL = SHARED_MEANINGS | {Meaning.TITLE, Meaning.JOB}


def identifier_meaning(
    semantic: str, column: ColumnInfo, present: pd.Series, about_people: bool = False
) -> Meaning | None:
    if semantic != Semantic.IDENTIFIER or column.kind is not ColumnKind.STRING:
        return None
    meaning = meaning_of(column.name, present, about_people=about_people, semantic=semantic)
    return meaning if meaning in MEANINGFUL else None


def of_meaning(meaning: Meaning, style: Style, max_length: int | None) -> FakeMaker:
    """Values of ``meaning`` in each row's locale (a state of the row's country); where a locale
    has none (a country without states), random characters in a real value's shape."""

    def make(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[Any]:
        made = [plausible(meaning, locale, style, ctx.rng) for locale in locales]
        missing = [position for position, value in enumerate(made) if value is None]
        if missing:
            for position, value in zip(missing, make_identifiers(values, locales[missing], ctx, max_length)):
                made[position] = value
        return made

    return make


def make_identifiers(
    values: pd.Series, locales: np.ndarray, ctx: FakeContext, max_length: int | None = None
) -> list[str]:
    texts = values.astype(str).tolist()
    if looks_like_words(texts):
        return make_words(texts, locales, ctx)
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


def make_words(texts: Sequence[str], locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """Faker words in the row's locale, as many as in a real value drawn at random."""
    counts = np.array([max(1, len(text.split())) for text in texts])
    title = sum(text[:1].isupper() for text in texts) >= len(texts) / 2
    per_row = counts[ctx.rng.integers(0, len(counts), len(locales))]
    words = pooled(lambda faker: faker.word(), np.repeat(locales, per_row), ctx)
    if title:
        words = np.array([word.capitalize() for word in words], dtype=object)
    return [" ".join(row) for row in np.split(words, np.cumsum(per_row)[:-1])]


def make_numbers(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[float]:
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


def unique_integers(
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


def make_datetimes(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[pd.Timestamp]:
    """Uniform over the whole calendar years the real values span (never their exact bounds)."""
    stamps = pd.to_datetime(values)
    start = pd.Timestamp(year=stamps.min().year, month=1, day=1).value
    end = pd.Timestamp(year=stamps.max().year + 1, month=1, day=1).value
    return list(pd.to_datetime(ctx.rng.integers(start, end, size=len(locales))).normalize())


def make_booleans(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[bool]:
    return list(ctx.rng.random(len(locales)) < 0.5)


def make_addresses(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    texts = values.astype(str).tolist()
    multiline = sum("\n" in text for text in texts) >= len(texts) / 2
    street_only = sum(("," not in text and "\n" not in text) for text in texts) >= len(texts) / 2
    make = (lambda faker: faker.street_address()) if street_only else (lambda faker: faker.address())
    addresses = pooled(make, locales, ctx, distinct_share(values))
    return [address if multiline else address.replace("\n", ", ") for address in addresses]


def address_part_maker(method: str) -> FakeMaker:
    """Fakes of one part of street addresses (``street_suffix``, ``building_number`` ...) in each
    row's locale: "Parkway" for a street type, never random letters."""

    def make(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
        return list(pooled(lambda faker: str(getattr(faker, method)()), locales, ctx, distinct_share(values)))

    return make


def make_cities(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    from catalog_synth.protect.places import city_of

    return list(pooled(lambda faker: city_of(faker.locales[0], ctx.rng), locales, ctx, distinct_share(values)))


def name_part(column_name: str, present: pd.Series) -> str | None:
    """``first_name`` or ``last_name`` for a column of one part of names; None for full names."""
    tokens = name_tokens(column_name)
    if _FIRST_NAME.search(tokens):
        return "first_name"
    if _LAST_NAME.search(tokens):
        return "last_name"
    single_words = not present.empty and present.astype(str).str.split().str.len().mean() < 1.3
    return "first_name" if single_words else None


def person_name_maker(column_name: str, present: pd.Series) -> FakeMaker:
    part = name_part(column_name, present)

    def person_names(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
        if part:
            return list(pooled(lambda faker: getattr(faker, part)(), locales, ctx, distinct_share(values)))
        # First and last names drawn apart: few Faker calls, yet mostly distinct full names.
        first = pooled(lambda faker: faker.first_name(), locales, ctx)
        last = pooled(lambda faker: faker.last_name(), locales, ctx)
        names = np.array([f"{given} {family}" for given, family in zip(first, last)], dtype=object)
        cjk = np.isin(locales, list(_CJK_LOCALES))
        if cjk.any():  # family name first: Faker's own order for these locales
            names[cjk] = pooled(lambda faker: faker.name(), locales[cjk], ctx, distinct_share(values))
        return list(names)

    return person_names


def make_uuids(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    return [str(uuid.UUID(bytes=ctx.rng.bytes(16), version=4)) for _ in locales]


def make_ip_addresses(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    v6_share = float(values.astype(str).str.contains(":").mean()) if len(values) else 0.0

    def address(faker: Any) -> str:
        return faker.ipv6() if ctx.rng.random() < v6_share else faker.ipv4_public()

    return list(pooled(address, locales, ctx, distinct_share(values)))


def make_urls(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    with_path = float(values.astype(str).str.contains(r"//[^/]+/.", regex=True).mean()) if len(values) else 0.0

    def url(faker: Any) -> str:
        return faker.uri() if ctx.rng.random() < with_path else faker.url()

    return list(pooled(url, locales, ctx, distinct_share(values)))


def make_companies(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    return list(pooled(lambda faker: faker.company(), locales, ctx, distinct_share(values)))


def make_postal_codes(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """The row locale's Faker postcode: in a table of several countries always (each row's code in
    its country's format), in a one-country table when the column holds codes of that shape
    (else a common real shape)."""
    texts = values.astype(str).str.strip().tolist()
    real_masks = {mask_of(text) for text in texts}
    shapes = build_shapes(texts, ctx.min_count) or masks_only(texts)
    codes = pooled(lambda faker: faker.postcode(), locales, ctx, distinct_share(values))
    if len(set(locales)) > 1 or not shapes:
        return list(codes)
    return [code if mask_of(code) in real_masks else fill(shapes.pick(ctx.rng), ctx.rng) for code in codes]
