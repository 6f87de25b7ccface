"""What a text column's values mean, and new values of that meaning in a row's locale.

A value that must be replaced (a category too few people hold, an identifying value) is
replaced by a plausible value of the same meaning: a real country for a country column, a
state code of the row's country, a city of the row's country, a person's name, a company name,
a title-like phrase for titles, a job for an employee's title, a courtesy title of the row's
locale (``Mrs.``) for a courtesy title. Random characters of the same
shape are kept for codes whose real values are codes (ids, SKUs, plates). Where the meaning is
unknown, a replaced category becomes one of the column's common categories.

Lists come from maintained libraries: countries, subdivisions and currencies from
``pycountry``, everything else from Faker's locales.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from catalog_synth.core.values import normalize
from catalog_synth.protect.locales import (
    country_of_value,
    faker_for,
    faker_provider,
    locale_country,
    locale_of_country,
)
from catalog_synth.protect.names import is_place_name, name_tokens
from catalog_synth.protect.places import city_of
from catalog_synth.protect.public_reference import is_courtesy_title


class Meaning(str, enum.Enum):
    COUNTRY = "country"
    SUBDIVISION = "subdivision"  # a state, province, region or county
    CITY = "city"
    CURRENCY = "currency"
    PERSON_NAME = "person_name"
    COMPANY = "company"
    JOB = "job"  # an employee's title
    COURTESY = "courtesy"  # a courtesy title: Mr., Ms., Dr.
    TITLE = "title"  # the title or name of a thing: a song, a product, a playlist
    CODE = "code"  # codes made of characters: ids, SKUs, plates
    UNKNOWN = "unknown"


_COUNTRY_NAME = re.compile(r"(?:^|_)(?:country|country_code|country_iso|nation|nationality|pays|land|pais|ctry)$")
_SUBDIVISION_NAME = re.compile(r"(?:^|_|billing|shipping|ship|home|mailing)(?:state|province|prov|region|county|prefecture"
                               r"|canton|bundesland|departement|state_code|state_province)$")
_CURRENCY_NAME = re.compile(r"(?:^|_)(?:currency|currency_code|ccy|cur)$")
_JOB_NAME = re.compile(r"(?:^|_)(?:title|job|job_title|position|role|occupation|profession)$")
_TITLE_NAME = re.compile(r"(?:^|_)(?:title|name|label|subject|headline|caption)$")
CONTENT_SHARE = 0.8


def meaning_of(column: str, values: pd.Series, about_people: bool, semantic: str = "") -> Meaning:
    """The meaning of a text column, from its name and its values (a bounded head of them)."""
    tokens = name_tokens(column)
    texts = values.dropna().astype(str).str.strip().head(500)
    texts = texts[texts != ""]
    if semantic in (Meaning.PERSON_NAME.value, Meaning.COMPANY.value):
        return Meaning(semantic)
    named_country = bool(_COUNTRY_NAME.search(tokens)) or tokens.endswith("country")  # billingcountry
    if _mostly(texts, country_of_value) and (
        named_country or _mostly(texts, lambda text: len(text) > 3 and country_of_value(text))
    ):
        return Meaning.COUNTRY
    if _SUBDIVISION_NAME.search(tokens):
        return Meaning.SUBDIVISION
    if is_place_name(column):
        return Meaning.CITY
    if _CURRENCY_NAME.search(tokens) and _mostly(texts, _is_currency):
        return Meaning.CURRENCY
    if about_people and _JOB_NAME.search(tokens):
        return Meaning.JOB
    if _mostly(texts, is_courtesy_title):
        return Meaning.COURTESY
    if _mostly(texts, _is_code):
        return Meaning.CODE
    if _TITLE_NAME.search(tokens) and _mostly(texts, lambda text: any(char.isalpha() for char in text)):
        return Meaning.TITLE
    return Meaning.UNKNOWN


def _mostly(texts: pd.Series, test) -> bool:
    return not texts.empty and sum(bool(test(text)) for text in texts) >= CONTENT_SHARE * len(texts)


def _is_code(text: str) -> bool:
    """One token of letters and digits, upper-case or with digits (``INV-2031``, ``AB12CD``, ``UVA``)."""
    return " " not in text and (any(char.isdigit() for char in text) or (text.isupper() and len(text) <= 12))


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    import pycountry

    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


def _is_currency(text: str) -> bool:
    return text.upper() in currency_codes()


@dataclass(frozen=True)
class Style:
    """How a column writes its values: case, and for countries and subdivisions codes or names."""

    case: str  # "upper" | "lower" | "title" | "as_is"
    codes: bool  # ISO codes (``BR``, ``SP``) rather than names
    code_length: int = 2
    words: tuple[int, ...] = (1,)  # word counts of real values, to draw from

    @classmethod
    def of(cls, values: pd.Series) -> Style:
        texts = values.dropna().astype(str).str.strip()
        texts = texts[texts != ""].head(500)
        if texts.empty:
            return cls("as_is", False)
        case = ("upper" if texts.str.isupper().mean() > 0.8 else "lower" if texts.str.islower().mean() > 0.8
                else "title" if texts.str.istitle().mean() > 0.8 else "as_is")  # fmt: skip
        lengths = texts.str.len()
        codes = bool((lengths <= 3).mean() > 0.8 and texts.str.isalpha().mean() > 0.8)
        words = tuple(int(n) for n in texts.str.split().str.len().clip(1, 8))
        return cls(case, codes, int(lengths.mode().iloc[0]) if codes else 2, words)

    def apply(self, text: str) -> str:
        return {"upper": str.upper, "lower": str.lower, "title": str.title}.get(self.case, lambda t: t)(text)


def plausible(
    meaning: Meaning, locale: str, style: Style, rng: np.random.Generator, languages: frozenset[str] = frozenset()
) -> str | None:
    """A new value of ``meaning`` for a row in ``locale``, written in ``style`` (None: no such value
    for this meaning, e.g. a code, or a country without subdivisions). A new country is one whose
    Faker locale speaks one of ``languages`` (the table's), when there is such a country."""
    faker = faker_for(locale)
    maker = {
        Meaning.COUNTRY: lambda: _country(style, rng, languages),
        Meaning.SUBDIVISION: lambda: _subdivision(locale, style, rng),
        Meaning.CITY: lambda: city_of(locale, rng),
        Meaning.CURRENCY: lambda: str(rng.choice(sorted(currency_codes()))),
        Meaning.PERSON_NAME: lambda: faker.name() if _word_count(style, rng) > 1 else faker.first_name(),
        Meaning.COMPANY: faker.company,
        Meaning.JOB: faker.job,
        Meaning.COURTESY: lambda: faker.prefix_female() if rng.random() < 0.5 else faker.prefix_male(),
        Meaning.TITLE: lambda: _title(faker, _word_count(style, rng)),
    }.get(meaning)
    if maker is None:
        return None
    value = maker()
    return None if value is None else style.apply(value)


def _unused(meaning: Meaning, locale: str, taken: set[str]) -> list[str]:
    """The values of a closed list (a locale's courtesy titles) no real value takes, for when random
    draws kept missing them; empty for open meanings."""
    if meaning is not Meaning.COURTESY:
        return []
    provider = faker_provider("person", locale)
    titles = {*getattr(provider, "prefixes_female", ()), *getattr(provider, "prefixes_male", ())}
    return sorted(str(title) for title in titles if normalize(str(title)) not in taken)


def _word_count(style: Style, rng: np.random.Generator) -> int:
    return int(style.words[int(rng.integers(len(style.words)))])


def _title(faker, words: int) -> str:
    return " ".join(word.capitalize() for word in faker.words(max(1, words)))


@lru_cache(maxsize=None)
def _countries_with_locales(languages: frozenset[str]) -> tuple[str, ...]:
    """ISO codes of the countries Faker has a locale for (a new country's rows get coherent fakes),
    speaking one of ``languages`` where any does (a Brazilian and Canadian shop gets Portugal or
    Australia, not Nepal)."""
    from catalog_synth.protect.locales import country_locales, is_iso_country

    known = {code: locale for code, locale in country_locales().items() if is_iso_country(code)}
    speaking = [code for code, locale in known.items() if locale.split("_")[0] in languages]
    return tuple(sorted(speaking or known))


def _country(style: Style, rng: np.random.Generator, languages: frozenset[str]) -> str:
    import pycountry

    choices = _countries_with_locales(languages)
    code = str(choices[int(rng.integers(len(choices)))])
    country = pycountry.countries.get(alpha_2=code)
    if style.codes:
        return country.alpha_3 if style.code_length == 3 else country.alpha_2
    return getattr(country, "common_name", None) or country.name


def _subdivision(locale: str, style: Style, rng: np.random.Generator) -> str | None:
    import pycountry

    country = locale_country(locale)
    choices = [s for s in pycountry.subdivisions.get(country_code=country) or () if s.parent_code is None] if country else []
    if not choices:
        return None
    chosen = choices[int(rng.integers(len(choices)))]
    return chosen.code.split("-", 1)[1] if style.codes else chosen.name


def country_locale(value: object) -> str | None:
    """The Faker locale of the country a value names (``"Brasil"`` -> ``pt_BR``)."""
    return locale_of_country(country_of_value(value))


ROUNDS = 12


@dataclass
class Replacer:
    """New values for the rare categories of one column: of the column's meaning, in the locale of
    the rows holding each, never a value of the real column (the sample's, or one the whole real
    column holds for fewer than ``min_count`` rows: ``held``)."""

    meaning: Meaning
    style: Style
    locale_of: Callable[[str], str]  # normalised rare value -> locale of the rows holding it
    held: Callable[[list[str]], set[str]] | None = None  # normalised values held by too few real rows
    languages: frozenset[str] = frozenset()  # of the table's people: new countries speak them

    def replacements(
        self, rare: list[str], taken: set[str], common: list[str], weights: np.ndarray, rng: np.random.Generator
    ) -> dict[str, str | None]:
        """A replacement for each rare key; None where only a value of the same shape will do (codes)."""
        if self.meaning is Meaning.CODE:
            return dict.fromkeys(rare)
        out = self._plausible(rare, taken, rng)
        new = sorted(set(out.values()))  # a closed list (courtesy titles) may run out of new values
        for key in rare:
            if key in out:
                continue
            if common:
                out[key] = common[int(rng.choice(len(common), p=weights))]
            elif new:
                out[key] = new[int(rng.integers(len(new)))]
            elif spare := _unused(self.meaning, self.locale_of(key), taken):
                out[key] = self.style.apply(spare[int(rng.integers(len(spare)))])
            else:
                out[key] = self.style.apply(_title(faker_for(self.locale_of(key)), _word_count(self.style, rng)))
        return out

    def _plausible(self, rare: list[str], taken: set[str], rng: np.random.Generator) -> dict[str, str]:
        out: dict[str, str] = {}
        pending = list(rare)
        for _ in range(ROUNDS):
            candidates = {
                key: plausible(self.meaning, self.locale_of(key), self.style, rng, self.languages) for key in pending
            }
            fresh = {key: value for key, value in candidates.items() if value and normalize(value) not in taken}
            held = self.held(list(fresh.values())) if self.held and fresh else set()
            for key, value in fresh.items():
                if normalize(value) not in held and normalize(value) not in taken:
                    out[key] = value
                    taken.add(normalize(value))
            pending = [key for key in pending if key not in out and candidates[key] is not None]
            if not pending:
                break
        return out
