"""Shapes of codes: a value's mask (digits and letters as classes), templates from groups of
real values that share a mask, and random characters in a template's classes.
"""

from __future__ import annotations

import math
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from catalog_synth.protect.fake_context import FakeContext

DIGIT, UPPER, LOWER = "\x01", "\x02", "\x03"


CLASS_CHARS = {DIGIT: string.digits, UPPER: string.ascii_uppercase, LOWER: string.ascii_lowercase}


# Fakes must not fill more than this share of their shape's space with likely real values.
MAX_DENSITY = 0.01


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
        if char in CLASS_CHARS and len({member[position] for member in members}) == 1:
            chars[position] = next(iter(members))[position]
    return "".join(chars)


def fill(template: str, rng: np.random.Generator) -> str:
    """Random characters in the template's class positions (one random draw per template)."""
    draws = rng.random(len(template)).tolist()
    return "".join(
        CLASS_CHARS[char][int(draw * len(CLASS_CHARS[char]))] if char in CLASS_CHARS else char
        for char, draw in zip(template, draws)
    )


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
    kept = [i for i, char in enumerate(template) if char not in CLASS_CHARS and char_class(char) in kinds]
    if not kept:
        return None
    position = kept[-1]
    return template[:position] + char_class(template[position]) + template[position + 1 :]


def _longer(template: str, max_length: int | None) -> str | None:
    if max_length is not None and len(template) >= max_length:
        return None
    return template + next((char for char in reversed(template) if char in CLASS_CHARS), DIGIT)


def _space(template: str) -> int:
    return math.prod(len(CLASS_CHARS[char]) for char in template if char in CLASS_CHARS)


@dataclass(frozen=True)
class LocalShapes:
    """Shapes per locale (from a country code inside the value), and all of them together."""

    by_locale: dict[str, Shapes]
    every: Shapes

    @classmethod
    def build(
        cls, values: pd.Series, min_count: int, keep: Callable[[str], int], locale_of: Callable[[str], str | None]
    ) -> LocalShapes:
        texts = values.astype(str).str.strip().tolist()
        groups: dict[str, list[str]] = defaultdict(list)
        for text in texts:
            locale = locale_of(text)
            if locale:
                groups[locale].append(text)
        by_locale = {locale: build_shapes(group, min_count, keep) for locale, group in groups.items()}
        every = build_shapes(texts, min_count, keep)
        return cls({locale: shapes for locale, shapes in by_locale.items() if shapes}, every)

    def pick(self, locale: str, rng: np.random.Generator) -> str | None:
        """A template of ``locale`` (of any locale where it has none); None without templates."""
        shapes = self.by_locale.get(locale) or self.every
        return shapes.pick(rng) if shapes else None

    def fill(self, locale: str, ctx: FakeContext) -> str | None:
        template = self.pick(locale, ctx.rng)
        return fill(template, ctx.rng) if template is not None else None
