"""Which Faker locales a table's rows are in (its people, suppliers, stores...), inferred from its data.

Sources: phone numbers (their country, by ``phonenumbers``), IBAN country codes, country
columns (ISO codes or names in many languages, by ``pycountry``), failing those states only
one country has (``Ontario``), and failing those the script names are written in. Faker's own
locale list maps a country to its locale. Only countries at least ``min_count`` people are
from count (one customer abroad must not show in the fakes). Each synthetic row of every table
gets one locale, so its name, phone, address and company agree; the row's synthetic country
decides where the table has a country column, else its state where only one of the table's
countries has it.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
from faker import Faker

from catalog_synth.core.types import ColumnClass, Semantic
from catalog_synth.core.values import non_null
from catalog_synth.protect.names import name_tokens
from catalog_synth.protect.subjects import Subjects

DEFAULT_LOCALE = "en_US"
# Languages whose country names (from pycountry's translations) are recognised in country columns.
COUNTRY_NAME_LANGUAGES = ("de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb", "fi", "pl", "cs", "hu", "ru", "ja",
                          "zh_CN", "ko", "tr", "el")  # fmt: skip
# Names in common use that are no ISO name, code or translation.
_COUNTRY_ALIASES = {"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB",
                    "holland": "NL", "korea": "KR", "south korea": "KR", "america": "US", "u.s.a.": "US", "u.s.": "US"}
_SCRIPT_COUNTRIES = {"CYRILLIC": "RU", "HIRAGANA": "JP", "KATAKANA": "JP", "HANGUL": "KR", "CJK": "CN", "GREEK": "GR"}
_COUNTRY_COLUMN_TOKENS = ("country", "country_code", "country_iso", "nation", "pays", "land", "pais")
# A country someone was born in or holds a passport of is not where their phone and address are.
_NOT_RESIDENCE = re.compile(r"birth|origin|nationality|citizenship|passport|issuing")
_TEXT_SEMANTICS = {"person_name", "address", "company"}
_STATE_COLUMN = re.compile(r"(?:^|_)(?:state|province|prov|region|prefecture|canton|bundesland|state_province)$")
# Faker locales whose suffix is not the country they describe: ``en_MS`` holds Malaysia's
# addresses, phones and states in English (Montserrat, ``MS``, has no locale).
_LOCALE_COUNTRIES = {"en_MS": "MY"}


@lru_cache(maxsize=None)
def faker_for(locale: str) -> Faker:
    """One Faker per locale and process (building one costs tens of milliseconds)."""
    return stable_faker(locale)


def stable_faker(locale: str) -> Faker:
    """A Faker whose seeded draws are the same in every process: Faker builds ``it_IT``'s city
    list from a set, whose order changes with Python's hash seed, so city lists are sorted."""
    faker = Faker(locale)
    for provider in faker.get_providers():
        cities = getattr(provider, "cities", None)
        if isinstance(cities, list):
            provider.cities = sorted(cities)
    return faker


@lru_cache(maxsize=1)
def country_locales() -> dict[str, str]:
    """ISO country code -> the Faker locale for it, from Faker's own list (the first in
    alphabetical order where a country has several: ``en_CA`` before ``fr_CA``)."""
    from faker.config import AVAILABLE_LOCALES

    chosen: dict[str, str] = {}
    for locale in sorted(AVAILABLE_LOCALES):
        country = locale_country(locale)
        if country:
            chosen.setdefault(country, locale)
    return chosen


@lru_cache(maxsize=None)
def kin_locales(locale: str) -> tuple[str, ...]:
    """Faker's other locales of ``locale``'s language (``en_IE``, ``en_NZ``... for ``en_US``), of
    countries ISO knows (not the deprecated ``fr_QC``)."""
    from faker.config import AVAILABLE_LOCALES

    def known(other: str) -> bool:
        country = locale_country(other)
        return country is None or is_iso_country(country)

    language = locale.split("_")[0]
    return tuple(sorted(o for o in AVAILABLE_LOCALES if o.split("_")[0] == language and o != locale and known(o)))


def is_iso_country(code: str) -> bool:
    """``code`` is an ISO 3166 alpha-2 country code (Faker's ``fr_QC`` names none)."""
    import pycountry

    return pycountry.countries.get(alpha_2=code) is not None


def faker_provider(kind: str, locale: str) -> type | None:
    """The ``Provider`` class of one of Faker's provider kinds (``person``, ``address``) for a
    locale; None where the locale has none of its own."""
    try:
        return importlib.import_module(f"faker.providers.{kind}.{locale}").Provider
    except ImportError:
        return None


def locale_country(locale: str) -> str | None:
    """``pt_BR`` -> ``BR`` (None for a language-only locale such as ``de``; ``en_MS`` -> ``MY``)."""
    if locale in _LOCALE_COUNTRIES:
        return _LOCALE_COUNTRIES[locale]
    _, _, country = locale.partition("_")
    return country if len(country) == 2 and country.isupper() else None


def _fold(text: str) -> str:
    folded = text.strip().casefold()
    return unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode() or folded


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Folded country name or code -> ISO alpha-2: ISO names, official and common names, alpha-2
    and alpha-3 codes, names in ``COUNTRY_NAME_LANGUAGES``, a few names in common use."""
    import gettext

    import pycountry

    names: dict[str, str] = {}
    translations = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
        for language in COUNTRY_NAME_LANGUAGES
    ]
    for country in pycountry.countries:
        spellings = {country.name, country.alpha_3, getattr(country, "official_name", ""), getattr(country, "common_name", "")}
        spellings |= {translation.gettext(country.name) for translation in translations}
        for spelling in filter(None, spellings):
            names.setdefault(_fold(spelling), country.alpha_2)
        names[_fold(country.alpha_2)] = country.alpha_2
    return {**names, **_COUNTRY_ALIASES}


def country_of_value(value: object) -> str | None:
    """ISO alpha-2 for a country code or name (``"fr"``, ``"FRA"``, ``"Deutschland"``), else None."""
    text = str(value).strip()
    if not text:
        return None
    return _country_names().get(_fold(text)) or _country_names().get(text.casefold())


def locale_of_country(code: str | None) -> str | None:
    return country_locales().get(code or "")


def phone_region(phone: str) -> str | None:
    """The country of an international number (``+33 6 ...``, ``0049 ...``, by ``phonenumbers``);
    None for national formats."""
    import phonenumbers

    text = phone.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(text)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(number.country_code)
    return None if region in (None, "ZZ", "001") else region


def country_column(sample: pd.DataFrame, classes: dict[str, ColumnClass]) -> str | None:
    """A modelled column that holds the countries the table's people live in (by name, and mostly
    recognisable values; a birth country or a nationality is not one)."""
    for name, column_class in classes.items():
        if column_class.identifying or column_class.semantic != Semantic.CATEGORICAL or name not in sample.columns:
            continue
        tokens = name_tokens(name)
        if tokens.endswith(_COUNTRY_COLUMN_TOKENS) and not _NOT_RESIDENCE.search(tokens) and _mostly_countries(
            non_null(sample[name])
        ):
            return name
    return None


def _mostly_countries(values: pd.Series) -> bool:
    head = values.head(500)
    return not head.empty and sum(country_of_value(value) is not None for value in head) >= 0.8 * len(head)


def infer_locale_weights(
    sample: pd.DataFrame, classes: dict[str, ColumnClass], min_count: int, subjects: Subjects | None = None
) -> dict[str, float]:
    """Locale -> share of rows, from the strongest evidence the table has; only countries at
    least ``min_count`` people are from count (one customer abroad must not show in the fakes)."""
    codes = _row_countries(sample, classes)
    people = (subjects or Subjects.of_rows(len(sample))).counts(codes) if not codes.empty else pd.Series(dtype=int)
    common = {code: int(count) for code, count in people.items() if count >= min_count and locale_of_country(code)}
    if not common:
        return {DEFAULT_LOCALE: 1.0}
    rows = codes.value_counts()
    locales: Counter[str] = Counter()
    for code in common:
        locales[locale_of_country(code)] += int(rows[code])
    total = sum(locales.values())
    return {locale: count / total for locale, count in sorted(locales.items())}


def _row_countries(sample: pd.DataFrame, classes: dict[str, ColumnClass]) -> pd.Series:
    """The countries each sample row shows (phones, IBANs, a country column, else states only one
    country has, else the script of names), one entry per row and country, indexed by the row's
    position."""
    found = [
        non_null(sample[name]).astype(str).map(_VALUE_COUNTRY[column_class.semantic])
        for name, column_class in classes.items()
        if name in sample.columns and column_class.semantic in _VALUE_COUNTRY
    ]
    country_name = country_column(sample, classes)
    if country_name:
        found.append(non_null(sample[country_name]).map(country_of_value))
    if not any(part.notna().any() for part in found):
        found = [
            non_null(sample[name]).astype(str).map(lambda text: _state_countries().get(_fold(text)))
            for name in sample.columns
            if _STATE_COLUMN.search(name_tokens(name))
        ]
    if not any(part.notna().any() for part in found):
        found = [
            non_null(sample[name]).astype(str).map(_script_country)
            for name, column_class in classes.items()
            if column_class.semantic in _TEXT_SEMANTICS and name in sample.columns
        ]
    codes = pd.concat(found) if found else pd.Series(dtype=object)
    codes = codes.dropna()
    pairs = pd.DataFrame({"row": codes.index, "code": codes.to_numpy()}).drop_duplicates()
    return pd.Series(pairs["code"].to_numpy(), index=pairs["row"].to_numpy(), dtype=object)


@lru_cache(maxsize=1)
def _state_countries() -> dict[str, str]:
    """Folded code or name of a state, province or region -> its country, for those only one
    country has (``Ontario``, ``Bavaria``; not ``WA``: Washington and Western Australia)."""
    import pycountry

    owners: dict[str, set[str]] = {}
    for subdivision in pycountry.subdivisions:
        for name in (subdivision.code.split("-", 1)[1], subdivision.name):
            owners.setdefault(_fold(name), set()).add(subdivision.country_code)
    return {name: next(iter(countries)) for name, countries in owners.items() if len(countries) == 1}


def _iban_country(text: str) -> str | None:
    code = text.strip()[:2].upper()
    return code if locale_of_country(code) else None


# Identifying values that name a country: semantic -> the country code of one value (or None).
_VALUE_COUNTRY: dict[str, Callable[[str], str | None]] = {
    "phone": phone_region,
    "iban": _iban_country,
}


def _script_country(text: str) -> str | None:
    for char in text:
        if char.isalpha():
            script = unicodedata.name(char, "").split(" ")[0]
            if script in _SCRIPT_COUNTRIES:
                return _SCRIPT_COUNTRIES[script]
    return None


@lru_cache(maxsize=None)
def subdivisions(country: str) -> frozenset[str]:
    """Codes (``MI``) and names (``Michigan``) of a country's subdivisions, folded."""
    import pycountry

    found = pycountry.subdivisions.get(country_code=country) or ()
    return frozenset(name.casefold() for s in found for name in (s.code.split("-", 1)[1], s.name))


def countries_of_states(states: pd.Series, weights: dict[str, float]) -> pd.Series:
    """For a table without a country column: each row's country (ISO code) from its state, where
    exactly one of the table's countries (those of ``weights``' locales) has a state of that code
    or name (``BC``: Canada, in a table of Canadians and Americans); else None."""
    countries = {locale_country(locale) for locale in weights} - {None}

    def country_of(state: object) -> str | None:
        if not isinstance(state, str):
            return None
        holding = [code for code in countries if state.strip().casefold() in subdivisions(code)]
        return holding[0] if len(holding) == 1 else None

    return states.map(country_of) if len(countries) > 1 else pd.Series([None] * len(states), index=states.index)


def row_locales(
    n_rows: int,
    weights: dict[str, float],
    rng: np.random.Generator,
    countries: pd.Series | None = None,
) -> np.ndarray:
    """One locale per synthetic row: the row's synthetic country when known, else drawn by weight."""
    names = list(weights)
    drawn = rng.choice(names, size=n_rows, p=np.array([weights[name] for name in names]))
    if countries is None:
        return drawn
    from_country = [locale_of_country(country_of_value(value)) if pd.notna(value) else None for value in countries]
    return np.array([mapped or fallback for mapped, fallback in zip(from_country, drawn)], dtype=object)
