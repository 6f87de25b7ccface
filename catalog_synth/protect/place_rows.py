"""Rows whose places agree with each other: a state of the row's country, a city of its country
(and, in the United States, of its state), in every table with such columns, people or not.

A model learns pairs loosely and a small table is drawn column by column, so a synthetic row may
hold "Grand Rapids, NH" or a French region beside a Canadian country. A value agrees when a real
row holds the same pair, or when public data (``pycountry``'s subdivisions, GeoNames' cities)
says so, the latter only where at least ``ENFORCED_SHARE`` of the real rows agree by it (a
benchmark's random city and state pairs are left as random as they are). A row that disagrees
gets a value of its own column that agrees (those are protected already), else a new public one
no real row holds for fewer than ``min_count`` people, else keeps its value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from catalog_synth.core.values import normalize
from catalog_synth.protect.locales import (
    country_of_value,
    locale_of_country,
    subdivisions,
)
from catalog_synth.protect.meanings import Meaning, Style, plausible
from catalog_synth.protect.places import (
    city_in_state,
    city_of,
    knows_city,
    states_of_us_city,
)
from catalog_synth.protect.prepare import PreparedTable

ENFORCED_SHARE = 0.8
NEW_VALUE_TRIES = 8

# (country code, state or None, value) -> the value agrees with its row by public data
Check = Callable[[str, "str | None", str], bool]


def state_agrees(country: str, _state: str | None, value: str) -> bool:
    return value.strip().casefold() in subdivisions(country)


def city_agrees(country: str, state: str | None, value: str) -> bool:
    if not knows_city(country, value):
        return False
    return country != "US" or state is None or state.strip().upper() in states_of_us_city(value)


@dataclass(frozen=True)
class Places:
    country: str
    state: str | None
    city: str | None

    @classmethod
    def of(cls, table: PreparedTable, frame: pd.DataFrame) -> Places | None:
        named = {meaning: next((n for n, m in table.meanings.items() if m is meaning and n in frame.columns), None)
                 for meaning in (Meaning.COUNTRY, Meaning.SUBDIVISION, Meaning.CITY)}  # fmt: skip
        country = named[Meaning.COUNTRY]
        return cls(country, named[Meaning.SUBDIVISION], named[Meaning.CITY]) if country else None


def agreeing_places(table: PreparedTable, frame: pd.DataFrame, min_count: int, rng: np.random.Generator) -> pd.DataFrame:
    """``frame`` (synthetic rows of ``table``'s modelled columns) with states and cities that agree
    with their row's country (and a city with its US state)."""
    places = Places.of(table, frame)
    if places is None:
        return frame
    real_codes = table.frame[places.country].map(_code)
    codes = frame[places.country].map(_code)
    if places.state:
        _agree(table, frame, places.state, codes, None, real_codes, state_agrees, min_count, rng)
    if places.city:
        real_states = table.frame[places.state] if places.state else None
        states = frame[places.state] if places.state else None
        _agree(table, frame, places.city, codes, states, real_codes, city_agrees, min_count, rng, real_states)
    return frame


def _code(value: object) -> str | None:
    return country_of_value(value) if pd.notna(value) else None


def _agree(
    table: PreparedTable,
    frame: pd.DataFrame,
    name: str,
    codes: pd.Series,
    states: pd.Series | None,
    real_codes: pd.Series,
    check: Check,
    min_count: int,
    rng: np.random.Generator,
    real_states: pd.Series | None = None,
) -> None:
    """Values of column ``name`` made to agree with their row's country (and state), in place."""
    real = table.frame[name]
    real_keys = [(code, _text(state), _text(value)) for code, state, value in
                 zip(real_codes, _or_none(real_states, len(real)), real)]  # fmt: skip
    pairs = {key for key in real_keys if None not in (key[0], key[2])}
    checked = [check(*key) for key in real_keys if None not in (key[0], key[2])]
    public = bool(checked) and float(np.mean(checked)) >= ENFORCED_SHARE

    def agrees(code: str, state: str | None, value: str) -> bool:
        return (code, state, value) in pairs or (public and check(code, state, value))

    keys = [(code, _text(state), _text(value)) for code, state, value in
            zip(codes, _or_none(states, len(frame)), frame[name])]  # fmt: skip
    own = frame[name].dropna().astype(str)
    weights = own.value_counts()
    rare = _rare_values(table, name, min_count)
    fitting_of: dict[tuple[str, str | None], list[str]] = {}
    for position, (code, state, value) in enumerate(keys):
        if code is None or value is None or agrees(code, state, value):
            continue
        if (code, state) not in fitting_of:
            fitting_of[code, state] = [v for v in weights.index if agrees(code, state, v)]
        fitting = fitting_of[code, state]
        if fitting:
            chosen = rng.choice(len(fitting), p=weights[fitting].to_numpy() / weights[fitting].sum())
            frame.iat[position, frame.columns.get_loc(name)] = fitting[int(chosen)]
            continue
        new = _new_value(table, name, code, state, rare, rng) if public else None
        if new is not None:
            frame.iat[position, frame.columns.get_loc(name)] = new


def _text(value: object) -> str | None:
    return str(value).strip() if value is not None and pd.notna(value) else None


def _or_none(values: pd.Series | None, n_rows: int) -> list:
    return list(values) if values is not None else [None] * n_rows


def _rare_values(table: PreparedTable, name: str, min_count: int) -> set[str]:
    """Normalised real values of the column fewer than ``min_count`` people hold."""
    counts = table.subjects.counts(table.frame[name].map(normalize, na_action="ignore"))
    return {key for key, people in counts.items() if people < min_count}


def _new_value(
    table: PreparedTable, name: str, code: str, state: str | None, rare: set[str], rng: np.random.Generator
) -> str | None:
    """A public state or city of the row's country (and US state) no real row holds for few people."""
    locale = locale_of_country(code)
    meaning = table.meanings[name]
    style = Style.of(table.frame[name].dropna())
    for _ in range(NEW_VALUE_TRIES):
        if meaning is Meaning.SUBDIVISION:
            value = plausible(meaning, locale, style, rng) if locale else None
        elif code == "US" and state:
            value = city_in_state(state, rng)
        else:
            value = city_of(locale, rng) if locale else None
        if value is None:
            return None
        if normalize(value) not in rare:
            return value
    return None
