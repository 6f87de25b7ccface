"""Fake cities and postal codes that agree with their row's state: a US city of the row's state
(GeoNames), a postal code of the row's state or province where the row locale's Faker provider
draws one (``zipcode_in_state`` for ``en_US``, ``postcode_in_province`` for ``en_CA``).

Each fake column is made per row locale, so its values already belong to the row's country; the
state, modelled or faked, is another column, drawn apart. A replacement keeps the column's shape
(a mask its other fakes have) and is checked against the column's real values like any fake.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from catalog_synth.core.types import Semantic
from catalog_synth.protect.fake_context import FakeContext
from catalog_synth.protect.locales import (
    country_locales,
    country_of_value,
    faker_provider,
    is_iso_country,
    locale_country,
    subdivisions,
)
from catalog_synth.protect.meanings import Meaning, Style, meaning_of
from catalog_synth.protect.place_rows import ENFORCED_SHARE, state_agrees
from catalog_synth.protect.places import (
    city_in_state,
    states_of_us_city,
    us_states_with_cities,
)
from catalog_synth.protect.prepare import PreparedTable
from catalog_synth.protect.shapes import mask_of

# Faker's methods drawing a postal code of one state or province, and the attribute naming the
# codes of the states or provinces it knows, per locale.
_POSTCODE_IN_STATE = {"en_US": ("zipcode_in_state", "states_postcode"),
                      "en_CA": ("postcode_in_province", "provinces_postcode_prefixes")}  # fmt: skip


def agreeing_fakes(table: PreparedTable, modelled: pd.DataFrame, fakes: dict[str, pd.Series], ctx: FakeContext) -> None:
    """Fake US cities and postal codes replaced, in ``fakes``, by ones of the row's state where
    they are not of it (and the replacement is no real value); a fake state of another country
    than the row's (made in another locale, the row's own being all real values) left empty,
    where the real rows' states are of their country."""
    state_name = _column_of(table, Meaning.SUBDIVISION, list(modelled.columns) + list(fakes))
    if state_name is None:
        return
    city_name = _column_of(table, Meaning.CITY, list(fakes))
    if state_name in fakes:
        countries = _row_countries(table, modelled, ctx)
        fakes[state_name] = _states_of_row_countries(table, state_name, fakes[state_name], countries)
        if city_name is not None:
            fakes[state_name] = _states_of_cities(table, state_name, fakes[state_name], fakes[city_name], countries, ctx)
    states = pd.Series(fakes[state_name].to_numpy() if state_name in fakes else modelled[state_name].to_numpy())
    states = states.map(lambda v: str(v).strip().upper() if isinstance(v, str) else None)
    if city_name is not None:
        fakes[city_name] = _replaced(table, city_name, fakes[city_name], states, ctx, _city_of_state, shared=True)
    for name in fakes:
        if table.classes[name].semantic == Semantic.POSTAL_CODE:
            fakes[name] = _replaced(table, name, fakes[name], states, ctx, _postcode_of_state, shared=False)


def countries_of_rows(table: PreparedTable, names: list[str], ctx: FakeContext) -> tuple[str, pd.Series] | None:
    """A fake country column (identifying: its countries are held by few people) written from each
    row's locale, so that the row's other fakes are of its country; a row whose country is a real
    value held by few gets another country Faker has a locale for, and that locale. None without
    such a column. Made before the other fakes: it may change ``ctx.locales``."""
    name = _column_of(table, Meaning.COUNTRY, names)
    if name is None:
        return None
    real = table.frame[name]
    style = Style.of(real)
    column, semantic = table.column(name), table.classes[name].semantic
    values = [_country_written(locale_country(str(locale)), style) for locale in ctx.locales]
    held = ctx.held_in_warehouse(column, semantic, values, shared=True)
    if held:
        locales = sorted({locale for code, locale in country_locales().items() if is_iso_country(code)})
        written = [_country_written(locale_country(locale), style) for locale in locales]
        taken = set(ctx.held_in_warehouse(column, semantic, written, shared=True))
        free = [position for position in range(len(locales)) if position not in taken and written[position]]
        for position in held:
            if free:
                chosen = free[int(ctx.rng.integers(len(free)))]
                ctx.locales[position], values[position] = locales[chosen], written[chosen]
            else:
                values[position] = None
    empty = ctx.rng.random(len(values)) < real.isna().mean()
    return name, pd.Series([None if blank else value for value, blank in zip(values, empty)], dtype=object)


def _country_written(code: str | None, style: Style) -> str | None:
    """A country in a column's style: ``USA``, ``US`` or ``United States``."""
    import pycountry

    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return None
    if style.codes:
        return style.apply(country.alpha_3 if style.code_length == 3 else country.alpha_2)
    return style.apply(getattr(country, "common_name", None) or country.name)


def _states_of_row_countries(
    table: PreparedTable, state_name: str, states: pd.Series, countries: list[str | None]
) -> pd.Series:
    """Fake states emptied where the row's country is one whose real rows mostly hold none, or
    (where the real rows' states are of their country) where the state is not of the row's
    country: made in another locale, the row's own states being all real values."""
    country = next((n for n, m in table.meanings.items() if m is Meaning.COUNTRY), None)
    if country is None:
        return states
    real = pd.DataFrame({"code": table.frame[country].map(country_of_value, na_action="ignore"),
                         "state": table.frame[state_name]}).dropna(subset=["code"])  # fmt: skip
    held = real["state"].notna().groupby(real["code"]).mean().to_dict()
    pairs = real.dropna().astype(str)
    agree = [state_agrees(code, None, state) for code, state in zip(pairs["code"], pairs["state"])]
    checked = bool(agree) and sum(agree) >= ENFORCED_SHARE * len(agree)

    def kept(state: object, code: str | None) -> bool:
        if not isinstance(state, str) or not code:
            return True
        if held.get(code, 1.0) < 0.5:
            return False
        return not checked or not subdivisions(code) or state_agrees(code, None, state)

    return states.where([kept(state, code) for state, code in zip(states, countries)])


def _states_of_cities(
    table: PreparedTable, state_name: str, states: pd.Series, cities: pd.Series, countries: list[str | None],
    ctx: FakeContext,
) -> pd.Series:
    """US fake states GeoNames lists no city of (Puerto Rico, the Virgin Islands) set to a state of
    the row's city where that is no real value, else emptied: no city could agree with them."""
    with_cities = us_states_with_cities()
    candidates: dict[int, str | None] = {}
    for position, (state, city, code) in enumerate(zip(states, cities, countries)):
        if code == "US" and isinstance(state, str) and state.strip().upper() not in with_cities:
            of_city = sorted(states_of_us_city(city)) if isinstance(city, str) and len(state.strip()) == 2 else []
            candidates[position] = of_city[0] if of_city else None
    positions = [position for position, state in candidates.items() if state is not None]
    held = set(ctx.held_in_warehouse(table.column(state_name), table.classes[state_name].semantic,
                                     [candidates[p] for p in positions], shared=True))  # fmt: skip
    out = states.copy()
    for position, state in candidates.items():
        out.iloc[position] = None if state is None or positions.index(position) in held else state
    return out


def _row_countries(table: PreparedTable, modelled: pd.DataFrame, ctx: FakeContext) -> list[str | None]:
    """Each synthetic row's country: its country column's, else its locale's."""
    country = next((n for n, m in table.meanings.items() if m is Meaning.COUNTRY and n in modelled.columns), None)
    named = modelled[country].map(country_of_value, na_action="ignore") if country else pd.Series([None] * len(ctx.locales))
    return [code if isinstance(code, str) else locale_country(str(locale)) for code, locale in zip(named, ctx.locales)]


def _column_of(table: PreparedTable, meaning: Meaning, names: list[str]) -> str | None:
    for name in names:
        known = table.meanings.get(name)
        if known is None and table.classes[name].identifying and table.frame[name].dtype == object:
            known = meaning_of(name, table.frame[name].dropna(), about_people=False, semantic=table.classes[name].semantic)
        if known is meaning:
            return name
    return None


# (current fake, row locale, row state code, context) -> a value of that state, or None to keep the fake
Replacement = Callable[[object, str, str, FakeContext], "str | None"]


def _city_of_state(city: object, locale: str, state: str, ctx: FakeContext) -> str | None:
    if locale_country(locale) != "US" or not isinstance(city, str) or state in states_of_us_city(city):
        return None
    return city_in_state(state, ctx.rng)


def _postcode_of_state(code: object, locale: str, state: str, ctx: FakeContext) -> str | None:
    method, known = _POSTCODE_IN_STATE.get(locale, (None, None))
    if method is None or not isinstance(code, str) or state not in getattr(faker_provider("address", locale), known):
        return None
    return str(getattr(ctx.faker(locale), method)(state))


def _replaced(
    table: PreparedTable, name: str, values: pd.Series, states: pd.Series, ctx: FakeContext, replace: Replacement,
    shared: bool,
) -> pd.Series:
    out = values.copy()
    masks = {mask_of(value) for value in out if isinstance(value, str)}
    candidates: dict[int, str] = {}
    for position, (value, locale, state) in enumerate(zip(out.tolist(), ctx.locales, states)):
        if state is None or value is None:
            continue
        new = replace(value, str(locale), state, ctx)
        if new is not None and (replace is _city_of_state or mask_of(new) in masks):
            candidates[position] = new
    positions = list(candidates)
    held = set(ctx.held_in_warehouse(table.column(name), table.classes[name].semantic,
                                     [candidates[p] for p in positions], shared=shared))  # fmt: skip
    for index, position in enumerate(positions):
        if index not in held:
            out.iloc[position] = candidates[position]
    return out

