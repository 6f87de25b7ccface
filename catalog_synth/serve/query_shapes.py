"""Validation by query shape: queries that differ only in their numbers are checked once.

Analysts' tools send one query again and again with another number in it (a point lookup per
row clicked, a notebook's loop, a dashboard's date range in days). No check of the validator
reads the value of a numeric literal, and sqlglot translates a number's text unchanged, so the
*shape* of a query (the query with each number replaced by a sentinel) is validated once per
store generation; later queries of that shape get the cached DuckDB translation with their own
numbers put back. A shape is cached only when every sentinel comes out of the translation
exactly once and unchanged; anything else is validated in full, as is every refusal (so its
message quotes the user's own text). String literals are never substituted: their quoting and
escapes differ between dialects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from catalog_synth.serve.errors import QueryRefused
from catalog_synth.serve.validator import ValidatedQuery

_CACHE_SIZE = 256
_CACHED_SQL_CHARS = 4096
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SENTINEL_STEM = "730471"
_SENTINEL = re.compile(rf"(?<![\w.]){_SENTINEL_STEM}(\d{{3}})(\.5)?(?![\w.])")
_MAX_NUMBERS = 1000  # sentinels number them with three digits

Validate = Callable[[str, str], ValidatedQuery]


@dataclass(frozen=True)
class _Shape:
    text: str  # the query with sentinels in place of its numbers
    numbers: tuple[str, ...]  # the numbers' own text, in order


@dataclass(frozen=True)
class _Template:
    pieces: tuple[str, ...]  # DuckDB text between the numbers
    slots: tuple[int, ...]  # which number goes after each piece but the last
    tables: tuple[str, ...]

    def fill(self, numbers: tuple[str, ...]) -> ValidatedQuery:
        parts = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:]):
            parts += [numbers[slot], piece]
        return ValidatedQuery(sql="".join(parts), tables=self.tables)


class ShapeCache:
    """Validated queries of one store generation, looked up by text and by shape (thread-safe)."""

    def __init__(self, validate: Validate):
        self._validate = validate
        self._exact = lru_cache(maxsize=_CACHE_SIZE)(validate)
        self._template = lru_cache(maxsize=_CACHE_SIZE)(self._learn)

    def validate(self, sql: str, dialect: str) -> ValidatedQuery:
        """What ``validate(sql, dialect)`` returns, or raises, without re-checking known shapes."""
        if len(sql) > _CACHED_SQL_CHARS:
            return self._validate(sql, dialect)
        shape = shape_of(sql, dialect)
        if shape is None:
            return self._exact(sql, dialect)
        try:
            template = self._template(shape.text, dialect)
        except QueryRefused:
            template = None
        if template is None:
            return self._exact(sql, dialect)
        return template.fill(shape.numbers)

    def _learn(self, shape_text: str, dialect: str) -> _Template | None:
        """The shape's translation as a template, or None when its numbers do not come out
        one for one (then each query of the shape is validated in full)."""
        classes = [bool(match.group(2)) for match in _SENTINEL.finditer(shape_text)]
        validated = self._validate(shape_text, dialect)
        pieces, slots, last = [], [], 0
        for match in _SENTINEL.finditer(validated.sql):
            slot = int(match.group(1))
            if slot >= len(classes) or bool(match.group(2)) != classes[slot]:
                return None
            pieces.append(validated.sql[last:match.start()])
            slots.append(slot)
            last = match.end()
        pieces.append(validated.sql[last:])
        if sorted(slots) != list(range(len(classes))):
            return None
        return _Template(tuple(pieces), tuple(slots), validated.tables)


def shape_of(sql: str, dialect: str) -> _Shape | None:
    """The query with sentinels for its plain numbers, or None (no numbers, too many, a text
    the tokenizer refuses, or one that already holds the sentinels' digits)."""
    if _SENTINEL_STEM in sql:
        return None
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(sql)
    except (SqlglotError, ValueError):
        return None
    numbers = [t for t in tokens if t.token_type == TokenType.NUMBER and _PLAIN_NUMBER.fullmatch(t.text)]
    if not numbers or len(numbers) > _MAX_NUMBERS or any(sql[t.start:t.end + 1] != t.text for t in numbers):
        return None
    parts, last = [], 0
    for index, token in enumerate(numbers):
        parts += [sql[last:token.start], f"{_SENTINEL_STEM}{index:03d}" + (".5" if "." in token.text else "")]
        last = token.end + 1
    parts.append(sql[last:])
    return _Shape("".join(parts), tuple(t.text for t in numbers))
