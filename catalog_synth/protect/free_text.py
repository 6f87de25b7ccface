"""Free text (comments, descriptions, notes) that reads like its column, from its own words.

A word-level n-gram model over the column's real sample (:class:`TextModel`):

- **words**: only words (whitespace-separated, with their case and punctuation, so the column's
  style stays: TPC-H's lowercase fragments, capitalised product descriptions) that at least
  ``k`` people use (rows, where the table has no people; counted like rare values, by
  :meth:`FakeContext.people`). In a table about people, no word that is a first or last name in
  Faker's lists of any locale (``will`` and ``may`` go too: a name's privacy weighs more).
- **order**: a word follows the ``MAX_ORDER - 1`` words before it where at least ``k`` people
  wrote that run, else fewer (a bigram), else any common word; values begin with a common
  first word, take a common real word count, and end like most real values do (a full stop).
- **no copies**: a value holding a run of ``RUN`` consecutive words of a real value (or a whole
  real value of at least ``MIN_CONTAINED`` characters, spaces and case aside) is made again, and
  after ``MAX_TRIES`` cut before the run ends.

Where fewer than ``MIN_WORDS`` words pass ``k`` the column has nothing to say that is not
somebody's: its values are null (an honest blank, not filler, and never a real value).
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from catalog_synth.core.values import normalize
from catalog_synth.protect.fake_context import FakeContext
from catalog_synth.protect.locales import faker_provider

MAX_ORDER = 3  # a word follows the two words before it (a trigram), where k people wrote them
RUN = 6  # never this many consecutive words of a real value
MIN_CONTAINED = 10  # nor a whole real value of this many characters (normalised) or more
MIN_WORDS = 5  # fewer common words: the column's values are null
MAX_TRIES = 20
_ENDINGS = ".!?"
_TRAILING = ",;:-" + _ENDINGS  # marks a value's final mark replaces


@dataclass(frozen=True)
class Choice:
    """Items drawn with weights."""

    items: tuple[str, ...]
    cumulative: np.ndarray

    @classmethod
    def of(cls, counts: pd.Series) -> Choice:
        return cls(tuple(counts.index), np.cumsum(counts.to_numpy(dtype="float64")))

    def pick(self, rng: np.random.Generator) -> str:
        return self.items[int(np.searchsorted(self.cumulative, rng.random() * self.cumulative[-1], side="right"))]


@dataclass(frozen=True)
class Substrings:
    """Texts found inside another, looked up by their first ``MIN_CONTAINED`` characters."""

    by_prefix: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Substrings:
        by_prefix: dict[str, set[str]] = {}
        for text in texts:
            by_prefix.setdefault(text[:MIN_CONTAINED], set()).add(text)
        return cls({prefix: tuple(found) for prefix, found in by_prefix.items()})

    def first_end(self, text: str) -> int | None:
        """Where the first of the texts found in ``text`` ends (None: none is)."""
        ends = [
            start + len(found)
            for start in range(len(text) - MIN_CONTAINED + 1)
            for found in self.by_prefix.get(text[start : start + MIN_CONTAINED], ())
            if text.startswith(found, start)
        ]
        return min(ends, default=None)


@dataclass(frozen=True)
class TextModel:
    """What one column's free text is made of: only common words, runs and lengths."""

    words: Choice  # every common word, by the people who use it
    starts: Choice  # common first words
    follows: dict[str, Choice]  # "w1 w2" (the words before) -> the next word
    lengths: Choice  # word counts (as text)
    ending: str  # the final mark most real values end with ("" when they do not)
    runs: frozenset[tuple[str, ...]]  # every RUN-word run of a real value (words normalised)
    contained: Substrings  # normalised real values of MIN_CONTAINED characters or more

    def draw(self, rng: np.random.Generator) -> str | None:
        """A value free of real runs: made again up to ``MAX_TRIES`` times, then cut."""
        words: list[str] = []
        for _ in range(MAX_TRIES):
            words = self._ended(self._words(rng))
            if self._copied_up_to(words) is None:
                return " ".join(words)
        while words and (end := self._copied_up_to(words)) is not None:
            words = self._ended(words[: end - 1])
        return " ".join(words) or None

    def _words(self, rng: np.random.Generator) -> list[str]:
        length = int(self.lengths.pick(rng))
        words = [self.starts.pick(rng)]
        while len(words) < length:
            words.append(self._next(words, rng))
        return words

    def _next(self, words: list[str], rng: np.random.Generator) -> str:
        for order in range(MAX_ORDER, 1, -1):
            choice = self.follows.get(" ".join(words[-(order - 1) :])) if len(words) >= order - 1 else None
            if choice is not None:
                return choice.pick(rng)
        word = self.words.pick(rng)  # any common word, drawn again once where it repeats the last
        return word if word != words[-1] else self.words.pick(rng)

    def _copied_up_to(self, words: list[str]) -> int | None:
        """The number of words up to the end of the first real run or real value the value holds
        (None: it holds none)."""
        keys = [_word_key(word) for word in words]
        ends = [end for end in range(RUN, len(keys) + 1) if tuple(keys[end - RUN : end]) in self.runs]
        pieces = [word.casefold() for word in words]  # normalize(" ".join(words)), word by word
        char_end = self.contained.first_end("".join(pieces))
        if char_end is not None:
            ends.append(bisect.bisect_left(list(itertools.accumulate(map(len, pieces))), char_end) + 1)
        return min(ends, default=None)

    def _ended(self, words: list[str]) -> list[str]:
        """``words`` ending with the column's final mark (where it has one), in place of any other."""
        if not self.ending:
            return words
        while words and not words[-1].rstrip(_TRAILING):
            words = words[:-1]
        return [*words[:-1], words[-1].rstrip(_TRAILING) + self.ending] if words else words


def fit_text_model(values: pd.Series, ctx: FakeContext, about_people: bool = False) -> TextModel | None:
    """The model of a column's real (non-missing) values, indexed by sample row positions; None
    when fewer than ``MIN_WORDS`` words are used by ``ctx.min_count`` people."""
    texts = values.astype(str)
    tokens = texts.str.split()
    common = _common(tokens.explode().dropna(), ctx)
    if about_people:
        common = common[[_word_key(word) not in name_words() for word in common.index]]
    if len(common) < MIN_WORDS:
        return None
    allowed = set(common.index)
    starts = _common(tokens.str[0].dropna(), ctx)
    starts = starts[starts.index.isin(allowed)]
    lengths = _common(tokens.str.len().astype(str), ctx)
    if lengths.empty:
        lengths = pd.Series([1], index=[str(int(tokens.str.len().median()))])
    return TextModel(
        words=Choice.of(common),
        starts=Choice.of(starts) if not starts.empty else Choice.of(common),
        follows=_follows(tokens, allowed, ctx),
        lengths=Choice.of(lengths),
        ending=_ending(texts.str.strip().tolist()),
        runs=frozenset(run for words in tokens for run in _runs([_word_key(word) for word in words])),
        contained=Substrings.of(key for key in map(normalize, texts) if key and len(key) >= MIN_CONTAINED),
    )


def _context_model(values: pd.Series, ctx: FakeContext) -> TextModel | None:
    return fit_text_model(values, ctx, ctx.about_people)


def _common(keys: pd.Series, ctx: FakeContext) -> pd.Series:
    """People holding each key (``keys`` indexed by sample row positions, a row's repeats counted
    once), for the keys at least ``ctx.min_count`` people hold."""
    held = pd.DataFrame({"row": keys.index.to_numpy(), "key": keys.to_numpy()}).drop_duplicates()
    counts = ctx.people(pd.Series(held["key"].to_numpy(), index=held["row"].to_numpy()))
    return counts[counts >= ctx.min_count]


def _follows(tokens: pd.Series, allowed: set[str], ctx: FakeContext) -> dict[str, Choice]:
    """Context ("w1 w2") -> next words, from the runs of allowed words k people wrote."""
    rows, grams = [], []
    for row, words in tokens.items():
        for order in range(2, MAX_ORDER + 1):
            for start in range(len(words) - order + 1):
                gram = words[start : start + order]
                if all(word in allowed for word in gram):
                    rows.append(row)
                    grams.append(" ".join(gram))
    common = _common(pd.Series(grams, index=rows, dtype=object), ctx)
    by_context: dict[str, dict[str, int]] = {}
    for gram, people in common.items():
        context, _, word = gram.rpartition(" ")
        by_context.setdefault(context, {})[word] = int(people)
    return {context: Choice.of(pd.Series(nexts)) for context, nexts in by_context.items()}


def _runs(keys: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(keys[start : start + RUN]) for start in range(len(keys) - RUN + 1)]


def _ending(texts: list[str]) -> str:
    """The final mark (``.``) most real values end with, or ""."""
    ends = pd.Series([text[-1] for text in texts if text])
    if ends.empty:
        return ""
    mark, count = ends.value_counts().index[0], int(ends.value_counts().iloc[0])
    return mark if mark in _ENDINGS and count * 2 > len(texts) else ""


def _word_key(word: str) -> str:
    """A word's letters and digits, case-folded and unaccented (``"Café,"`` -> ``"cafe"``)."""
    folded = unicodedata.normalize("NFKD", word.casefold())
    return re.sub(r"\W", "", "".join(char for char in folded if not unicodedata.combining(char)))


@lru_cache(maxsize=1)
def name_words() -> frozenset[str]:
    """First and last names of every Faker locale's person provider, as :func:`_word_key`."""
    from faker.config import AVAILABLE_LOCALES

    names: set[str] = set()
    for locale in AVAILABLE_LOCALES:
        provider = faker_provider("person", locale)
        for attribute in dir(provider) if provider else ():
            entries = getattr(provider, attribute)
            if attribute.startswith(("first_names", "last_names")) and isinstance(entries, (dict, list, tuple)):
                names.update(_word_key(str(name)) for name in entries)
    return frozenset(names - {""})


def make_free_text(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str | None]:
    """One value per row from the column's own model (see the module); null where it has none."""
    model = ctx.fitted(values, _context_model)
    if model is None:
        return [None] * len(locales)
    return [model.draw(ctx.rng) for _ in locales]
