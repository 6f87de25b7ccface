"""Rare categories of a table's modelled columns replaced before the model sees them, each by a
value of the column's meaning that agrees with its row (a city of the row's new country)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from catalog_synth.core.types import Semantic
from catalog_synth.core.values import normalize
from catalog_synth.protect.classify import is_public
from catalog_synth.protect.meanings import Meaning, Replacer, Style, country_locale
from catalog_synth.protect.prepare import PreparedTable
from catalog_synth.protect.rare import replace_rare_categories


def protect_categories(
    table: PreparedTable, frame: pd.DataFrame, min_count: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``frame`` (training rows, or rows drawn for a tiny table) with the rare categories of every
    modelled category column replaced; the country column first, so that a replaced city belongs
    to the country its row now has."""
    names = [
        name for name in frame.columns
        if table.classes[name].semantic == Semantic.CATEGORICAL and not is_public(table.classes[name])
    ]  # fmt: skip
    names.sort(key=lambda name: table.meanings.get(name) is not Meaning.COUNTRY)
    row_locales: pd.Series | None = None
    for name in names:
        replacer = _replacer(table, name, frame[name], row_locales, min_count)
        frame[name] = replace_rare_categories(frame[name], table.frame[name], min_count, rng, table.subjects, replacer)
        if table.meanings.get(name) is Meaning.COUNTRY:
            row_locales = frame[name].map(country_locale, na_action="ignore")
    return frame


def _replacer(
    table: PreparedTable, name: str, values: pd.Series, row_locales: pd.Series | None, min_count: int
) -> Replacer | None:
    meaning = table.meanings.get(name)
    if meaning is None:
        return None
    locales = _locales_by_value(values, row_locales)
    column = table.column(name)
    real_counts = table.evidence.real_counts

    def held(candidates: list[str]) -> set[str]:
        counts = real_counts(column, "categorical", candidates) if real_counts else {}
        return {key for key, rows in counts.items() if rows < min_count}

    return Replacer(
        meaning,
        Style.of(table.frame[name]),
        lambda key: locales.get(key) or table.default_locale,
        held,
        frozenset(locale.split("_")[0] for locale in table.locales),
    )


def _locales_by_value(values: pd.Series, row_locales: pd.Series | None) -> dict[str, str]:
    """Normalised value -> the locale most of the rows holding it are in (by their country)."""
    if row_locales is None:
        return {}
    pairs = pd.DataFrame({"key": values.map(normalize), "locale": row_locales}).dropna()
    if pairs.empty:
        return {}
    return pairs.groupby("key")["locale"].agg(lambda locales: locales.mode().iloc[0]).to_dict()
