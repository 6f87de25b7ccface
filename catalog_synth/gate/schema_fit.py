"""How a schema's synthetic copy fits the real one, beyond single values: measures for issue 21.

Each measure is a :class:`Share` (values or rows checked, and how many pass), computed the same
way on real rows (the reference) and on synthetic rows:

* **row coherence** (:func:`row_coherence`): per row, a city among the cities of the row's
  country (GeoNames' and Faker's), a state or region among its subdivisions (``pycountry``), a
  phone valid for that country (``phonenumbers.is_valid_number_for_region``, area codes
  included), a postal code with a layout of that country (``realism.postal_agrees``). A place or
  contact column is checked against the country column whose name shares the longest prefix
  with it (``ship_city`` with ``ship_country``);
* **vocabulary fit** (:func:`vocabulary_fit`): share of text values most of whose words occur
  in a vocabulary (the real column's, or for the real reference, the other half of its rows);
* **real labels** (:func:`real_labels`): share of values that are values of the real column.

Used by ``bench/realism.py``; it reads frames only, never publishes anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from catalog_synth.gate.realism import phone_columns, postal_agrees, postal_columns
from catalog_synth.protect.locales import (
    country_of_value,
    faker_provider,
    locale_of_country,
)
from catalog_synth.protect.meanings import Meaning, meaning_of
from catalog_synth.protect.places import cities_of

COHERENCE_CHECKS = ("city in country", "state in country", "phone valid for country", "postal code of country")
_WORD = re.compile(r"[^\W\d_]+")


@dataclass
class Share:
    checked: int = 0
    passed: int = 0

    def add(self, other: Share) -> Share:
        return Share(self.checked + other.checked, self.passed + other.passed)

    @property
    def value(self) -> float | None:
        return round(self.passed / self.checked, 4) if self.checked else None


def share_of(values: Iterable[object], test: Callable[[object], bool]) -> Share:
    results = [bool(test(value)) for value in values]
    return Share(len(results), sum(results))


# -- row coherence -----------------------------------------------------------------------------
def place_groups(real: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    """Country column -> {check: the columns it applies to}, from the real table's meanings and names."""
    meanings = {name: meaning_of(name, real[name], about_people=False) for name in real.columns
                if real[name].dtype == object}  # fmt: skip
    countries = [name for name, meaning in meanings.items() if meaning is Meaning.COUNTRY]
    groups: dict[str, dict[str, list[str]]] = {country: {check: [] for check in COHERENCE_CHECKS} for country in countries}
    if not countries:
        return {}
    dependents = [(name, "city in country") for name, m in meanings.items() if m is Meaning.CITY]
    dependents += [(name, "state in country") for name, m in meanings.items() if m is Meaning.SUBDIVISION]
    dependents += [(name, "phone valid for country") for name in phone_columns(real)]
    dependents += [(name, "postal code of country") for name in postal_columns(real)]
    for name, check in dependents:
        country = max(countries, key=lambda c: len(os.path.commonprefix([c, name])))
        groups[country][check].append(name)
    return groups


def row_coherence(frame: pd.DataFrame, groups: dict[str, dict[str, list[str]]]) -> dict[str, Share]:
    """Per check, the rows (with a known country and a value) whose value belongs to the row's country."""
    tests = {"city in country": _city_in, "state in country": _state_in,
             "phone valid for country": _phone_valid, "postal code of country": postal_agrees}  # fmt: skip
    result = {check: Share() for check in COHERENCE_CHECKS}
    for country_column, checks in groups.items():
        if country_column not in frame:
            continue
        codes = frame[country_column].map(lambda v: country_of_value(v) if pd.notna(v) else None)
        for check, columns in checks.items():
            for name in (c for c in columns if c in frame):
                pairs = [(str(v).strip(), code) for v, code in zip(frame[name], codes) if code and pd.notna(v)]
                result[check] = result[check].add(share_of(pairs, lambda pair, t=tests[check]: t(*pair)))
    return result


@lru_cache(maxsize=None)
def _cities(country: str) -> frozenset[str]:
    locale = locale_of_country(country)
    faker_cities = getattr(faker_provider("address", locale), "cities", ()) if locale else ()
    return frozenset(name.casefold() for name in (*cities_of(country), *(faker_cities or ())))


def _city_in(city: str, country: str) -> bool:
    return city.casefold() in _cities(country)


@lru_cache(maxsize=None)
def _subdivisions(country: str) -> frozenset[str]:
    import pycountry

    found = pycountry.subdivisions.get(country_code=country) or ()
    return frozenset(name for s in found for name in (s.code.split("-", 1)[1].casefold(), s.name.casefold()))


def _state_in(state: str, country: str) -> bool:
    return state.casefold() in _subdivisions(country)


def _phone_valid(phone: str, country: str) -> bool:
    import phonenumbers

    try:
        return phonenumbers.is_valid_number_for_region(phonenumbers.parse(phone, country), country)
    except phonenumbers.NumberParseException:
        return False


# -- vocabulary and labels -----------------------------------------------------------------------
def words(text: object) -> list[str]:
    return _WORD.findall(str(text).casefold())


def vocabulary(values: Iterable[object]) -> frozenset[str]:
    return frozenset(word for value in values for word in words(value))


def vocabulary_fit(values: Iterable[object], known: frozenset[str]) -> Share:
    """Values (with words) more than half of whose words are in ``known``."""
    counted = [(sum(word in known for word in found), len(found)) for found in map(words, values) if found]
    return Share(len(counted), sum(2 * hits > total for hits, total in counted))


def real_labels(values: Iterable[object], real: Iterable[object]) -> Share:
    """Values (CHAR padding aside) that are values of the real column."""
    labels = {str(value).strip() for value in real}
    return share_of(values, lambda value: str(value).strip() in labels)
