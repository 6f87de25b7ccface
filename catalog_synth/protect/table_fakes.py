"""A table's identifying columns filled with fakes: one locale per row (from its synthetic
country), foreign keys drawn from fake parents, e-mails that spell the row's fake name, texts
within the column's length and composite keys that never repeat."""

from __future__ import annotations

import numpy as np
import pandas as pd

from catalog_synth.core.types import ColumnKind, Semantic
from catalog_synth.protect.classify import describes_people
from catalog_synth.protect.contact_fakes import emails_following_names
from catalog_synth.protect.fake_context import FakeContext
from catalog_synth.protect.fake_makers import name_part
from catalog_synth.protect.fake_places import agreeing_fakes, countries_of_rows
from catalog_synth.protect.fakes import fake_column, fake_foreign_key, fit_text
from catalog_synth.protect.locales import (
    countries_of_states,
    country_column,
    infer_locale_weights,
    row_locales,
)
from catalog_synth.protect.meanings import Meaning
from catalog_synth.protect.prepare import Attempt, PreparedTable, checked_key

KEY_REDRAW_ROUNDS = 10


def within_lengths(table: PreparedTable, synthetic: pd.DataFrame) -> pd.DataFrame:
    """Text no longer than the column's ``VARCHAR(n)``/``CHAR(n)``."""
    for column in table.columns:
        if column.kind is ColumnKind.STRING and column.length and column.name in synthetic.columns:
            synthetic[column.name] = synthetic[column.name].map(
                lambda v: fit_text(v, column.length), na_action="ignore"
            )
    return synthetic


def fake_identifying_columns(
    table: PreparedTable, modelled: pd.DataFrame, attempt: Attempt, rng: np.random.Generator
) -> pd.DataFrame:
    names = table.identifying()
    n_rows = len(modelled)
    if not names:
        return pd.DataFrame(index=modelled.index)
    country = country_column(table.frame, table.classes)
    weights = table.locales  # counted with settings.min_category_count: the first attempt's
    if attempt.min_count != table.settings.min_category_count:
        weights = infer_locale_weights(table.frame, table.classes, attempt.min_count, table.subjects)
    countries = modelled[country] if country in modelled.columns else _countries_of_states(table, modelled, weights)
    ctx = FakeContext(
        rng=rng,
        locales=row_locales(n_rows, weights, rng, countries),
        forbidden=table.forbidden,
        min_count=attempt.min_count,
        seed=attempt.seed,
        population=max(table.info.row_count, len(table.frame)),
        subjects=table.subjects,
        about_people=describes_people(table.info),
        real_counts=table.evidence.real_counts,
    )
    single_key = set(table.info.primary_key) if len(table.info.primary_key) == 1 else set()
    foreign = {name for fk in table.info.foreign_keys for name in fk.columns} - single_key
    fakes = {}
    made_countries = countries_of_rows(table, [n for n in names if n not in foreign], ctx) if country is None else None
    if made_countries is not None:  # first: the other fakes follow each row's country
        fakes[made_countries[0]] = made_countries[1]
    for name in names:
        column, real = table.column(name), table.frame[name]
        if name in fakes:
            continue
        if name in foreign:
            fakes[name] = fake_foreign_key(column, real, ctx)
        else:
            unique = table.info.primary_key == (name,)
            fakes[name] = fake_column(table.classes[name].semantic, column, real, ctx, unique=unique)
    agreeing_fakes(table, modelled, fakes, ctx)
    row_names = _names_of_rows(table, fakes)
    if row_names is not None:
        for name in names:
            if table.classes[name].semantic == Semantic.EMAIL and name not in foreign:
                fakes[name] = emails_following_names(fakes[name], row_names, table.column(name), ctx)
    return pd.DataFrame(fakes, index=modelled.index)


def _countries_of_states(table: PreparedTable, modelled: pd.DataFrame, weights: dict[str, float]) -> pd.Series | None:
    """Without a country column, each row's country from its modelled state, where that names one."""
    state = next((n for n, m in table.meanings.items() if m is Meaning.SUBDIVISION and n in modelled.columns), None)
    return countries_of_states(modelled[state], weights) if state else None


def _names_of_rows(table: PreparedTable, fakes: dict[str, pd.Series]) -> pd.DataFrame | None:
    """Each synthetic row's fake given and family name, from the table's person-name columns
    (a first and a last name column, or full names), for e-mails that spell them; None without."""
    parts: dict[str, pd.Series] = {}
    for name, values in fakes.items():
        if table.classes[name].semantic != Semantic.PERSON_NAME:
            continue
        part = name_part(name, table.frame[name].dropna())
        if part == "first_name":
            parts.setdefault("given", values)
        elif part == "last_name":
            parts.setdefault("family", values)
        elif "given" not in parts:
            words = values.str.split()
            parts.setdefault("given", words.str[0])
            parts.setdefault("family", words.str[-1])
    return pd.DataFrame(parts).reset_index(drop=True) if {"given", "family"} <= set(parts) else None


def unique_primary_key(table: PreparedTable, synthetic: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A composite key must not repeat: its fake members (foreign keys) are drawn again from
    their own values where a combination repeats; rows still repeating one are dropped."""
    key = list(checked_key(table.info, table.settings))
    if len(key) < 2 or not set(key) <= set(synthetic.columns):
        return synthetic
    redrawn = [name for name in key if table.classes[name].identifying]
    synthetic = synthetic.dropna(subset=key).reset_index(drop=True)
    for _ in range(KEY_REDRAW_ROUNDS if redrawn else 0):
        repeated = synthetic.duplicated(subset=key).to_numpy()
        if not repeated.any():
            break
        for name in redrawn:
            pool = synthetic[name].unique()
            synthetic.loc[repeated, name] = pool[rng.integers(0, len(pool), int(repeated.sum()))]
    return synthetic.drop_duplicates(subset=key).reset_index(drop=True)
