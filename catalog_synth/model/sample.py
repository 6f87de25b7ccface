"""The non-identifying columns of a copy: learnt by the table's generator from the protected
training rows, or, for tables not learnt, drawn (a reference table's labels row by row, a tiny
table column by column). Numbers come out on the column's grid, never at a rare real extreme."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

from catalog_synth.core.frames import microseconds_to_datetimes, resolution
from catalog_synth.core.timings import stage
from catalog_synth.core.types import Semantic, SynthesisError
from catalog_synth.core.values import as_numbers
from catalog_synth.model import (
    GeneratorReport,
    GeneratorUnavailable,
    Target,
    open_generator,
)
from catalog_synth.protect.categories import protect_categories
from catalog_synth.protect.classify import is_public
from catalog_synth.protect.place_rows import agreeing_places
from catalog_synth.protect.prepare import DISCRETE_LEVELS, Attempt, PreparedTable
from catalog_synth.protect.rare import (
    avoid_extremes,
    drop_rare_row_copies,
    merge_rare_numbers,
    round_to_step,
)

# Extra rows sampled so that dropping copies of rare real rows still leaves enough.
OVERSAMPLE = 1.25
# Times more rows are sampled when the protections dropped too many (each time for the rows missing).
REPLACEMENT_ROUNDS = 4
# Most rows one round of replacements samples, relative to the rows asked.
MAX_REPLACEMENT_FACTOR = 10
_T = TypeVar("_T")


# Kept values with more distinct values than this share of rows are drawn, not learnt.
UNIQUE_SHARE = 0.5


def reference_rows(table: PreparedTable, rng: np.random.Generator) -> pd.DataFrame:
    """A reference table's labels, row by row (in a new order): ``WHERE region = 'ASIA'`` and
    joins on them mean on the copy what they mean on the warehouse."""
    rows = rng.permutation(len(table.frame))[: table.n_rows]
    return table.frame.loc[rows, table.modelled()].reset_index(drop=True)


def generated_columns(table: PreparedTable, attempt: Attempt, rng: np.random.Generator) -> pd.DataFrame:
    """A tiny table's columns drawn one by one: nothing learnt from its few rows (each row is
    about one of a handful of people), real shares of empty values kept. A row that happens to
    equal a real row few people hold (a warehouse's one row without an offset) is drawn again."""
    rows = without_rare_copies(table, _drawn_columns(table, table.n_rows, attempt, rng), attempt.min_count)
    for _ in range(REPLACEMENT_ROUNDS):
        if len(rows) >= table.n_rows:
            break
        more = _drawn_columns(table, table.n_rows - len(rows), attempt, rng)
        rows = pd.concat([rows, without_rare_copies(table, more, attempt.min_count)], ignore_index=True)
    return rows.reset_index(drop=True)


def _drawn_columns(table: PreparedTable, n_rows: int, attempt: Attempt, rng: np.random.Generator) -> pd.DataFrame:
    columns = {}
    for name in table.modelled():
        real = table.frame[name]
        present = real.dropna()
        semantic = table.classes[name].semantic
        if semantic in (Semantic.NUMERICAL, Semantic.DATETIME):
            low, high = as_numbers(present).min(), as_numbers(present).max()
            values = pd.Series(rng.uniform(low, high, n_rows) if high > low else np.full(n_rows, low))
            if semantic == Semantic.DATETIME:
                values = microseconds_to_datetimes(values.to_numpy())
            values = finish_numbers(values, table, name, attempt.min_count, rng)
        else:
            values = present.iloc[rng.integers(0, len(present), n_rows)].reset_index(drop=True)
        empty = rng.random(n_rows) < 1 - len(present) / len(real)
        columns[name] = values.astype(object).where(~empty, None) if values.dtype == object else values.mask(empty)
    drawn = pd.DataFrame(columns, index=pd.RangeIndex(n_rows))
    return agreeing_places(table, protect_categories(table, drawn, attempt.min_count, rng), attempt.min_count, rng)


def without_rare_copies(table: PreparedTable, sampled: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """``sampled`` without the rows equal to a real row fewer than ``min_count`` people hold, on
    the columns the gate compares (kept labels aside: equal to real values on purpose)."""
    compared = [name for name in sampled.columns if table.classes[name].source != "reference"]
    return sampled.loc[drop_rare_row_copies(table.frame, sampled[compared], table.subjects, min_count).index]


def sample_model(
    table: PreparedTable, attempt: Attempt, rng: np.random.Generator, target: Target | None
) -> tuple[pd.DataFrame, GeneratorReport | None]:
    drawn = [name for name in table.modelled() if _kept_and_unique(table, name)]
    names = [name for name in table.modelled() if name not in drawn]
    n_sample = int(np.ceil(table.n_rows * OVERSAMPLE)) + 5
    sdtypes = {name: model_sdtype(table, name, attempt.min_count) for name in names}
    train = table.frame.loc[table.training_rows(), names].reset_index(drop=True)
    train = protect_categories(table, train, attempt.min_count, rng)
    for name in names:
        train[name] = _training_values(train[name], table, name, sdtypes[name], attempt.min_count, rng)
    def finish(sampled: pd.DataFrame) -> pd.DataFrame:
        for name in drawn:
            real = table.frame[name]
            sampled[name] = real.iloc[rng.integers(0, len(real), len(sampled))].to_numpy()
        for name in names:
            if table.classes[name].semantic == Semantic.DATETIME:
                sampled[name] = microseconds_to_datetimes(sampled[name].to_numpy(dtype="float64") * 1e6)
            if table.classes[name].semantic in (Semantic.NUMERICAL, Semantic.DATETIME):
                sampled[name] = finish_numbers(sampled[name], table, name, attempt.min_count, rng)
        sampled = agreeing_places(table, sampled, attempt.min_count, rng)
        return without_rare_copies(table, sampled, attempt.min_count)

    if not names:  # nothing to learn: the kept columns drawn, or no column at all
        return (finish(pd.DataFrame(index=pd.RangeIndex(n_sample))) if drawn else
                pd.DataFrame(index=pd.RangeIndex(n_sample))), None
    with stage("model"):
        return _fit_and_sample(table, train, sdtypes, n_sample, attempt.seed, target, finish)


def _kept_and_unique(table: PreparedTable, name: str) -> bool:
    """Real values kept on purpose (product names in a table about things) that nearly every row
    has its own of: drawn at random from the real column, never learnt, or the model would tie
    each row's other values to its name and give back the real rows."""
    values = table.frame[name].dropna()
    return table.classes[name].source == "reference" and values.nunique() > UNIQUE_SHARE * len(values)


def model_sdtype(table: PreparedTable, name: str, min_count: int) -> str:
    """SDV sdtype: numbers and dates with few distinct values are learnt as categories."""
    semantic = table.classes[name].semantic
    if semantic in (Semantic.NUMERICAL, Semantic.DATETIME):
        counts = table.subjects.counts(table.frame[name])
        discrete = len(counts) <= DISCRETE_LEVELS and bool((counts >= min_count).any())
        return "categorical" if discrete else "numerical"
    return semantic


def _training_values(
    train: pd.Series, table: PreparedTable, name: str, sdtype: str, min_count: int, rng: np.random.Generator
) -> pd.Series:
    """What the model sees of numbers: no rare value of a few-valued column, dates as seconds
    (categories are protected by :func:`protect_categories`)."""
    cls, real = table.classes[name], table.frame[name]
    if cls.semantic in (Semantic.NUMERICAL, Semantic.DATETIME):
        numbers = pd.Series(as_numbers(train), index=train.index)
        if sdtype == Semantic.CATEGORICAL and not is_public(cls):
            numbers = merge_rare_numbers(numbers, pd.Series(as_numbers(real)), min_count, table.subjects)
        return numbers / 1e6 if cls.semantic == Semantic.DATETIME else numbers  # seconds: SDV sees plain numbers
    return train


def _fit_and_sample(
    table: PreparedTable,
    train: pd.DataFrame,
    sdtypes: dict[str, str],
    n_rows: int,
    seed: int,
    target: Target | None,
    finish: Callable[[pd.DataFrame], pd.DataFrame],
) -> tuple[pd.DataFrame, GeneratorReport]:
    """The generator the settings name, fitted on the protected training rows, its rows after
    ``finish`` (which may drop rows: replacements are drawn, up to ``REPLACEMENT_ROUNDS`` times,
    as many as the share of rows kept so far needs, until ``table.n_rows`` remain); its report."""
    name = table.settings.synthesizer
    try:
        generator = open_generator(name, table.settings.generator_settings, seed)
    except ValueError as exc:  # unknown generator or bad settings: names keys, never values
        raise SynthesisError(f"generator {name}: {exc}") from None
    try:
        _library(name, generator.fit, train, sdtypes)
        sampled = finish(_library(name, generator.sample, n_rows, target))
        kept_share = len(sampled) / max(n_rows, 1)
        for _ in range(REPLACEMENT_ROUNDS):
            short = table.n_rows - len(sampled)
            if short <= 0 or kept_share == 0:
                break
            asked = min(int(np.ceil(short * OVERSAMPLE / kept_share)) + 5, MAX_REPLACEMENT_FACTOR * table.n_rows)
            more = finish(_library(name, generator.sample, asked, target))
            kept_share = max(len(more) / asked, 1 / asked)
            sampled = pd.concat([sampled, more], ignore_index=True)
    finally:
        generator.close()
    return sampled.reset_index(drop=True), generator.report


def _library(name: str, call: Callable[..., _T], *args: object) -> _T:
    """A call into the generator's library: its errors name the generator, never a value."""
    try:
        return call(*args)
    except GeneratorUnavailable as exc:
        raise SynthesisError(str(exc)) from None
    except Exception as exc:  # library messages may quote values: never pass them on
        raise SynthesisError(f"the {name} model could not be fitted or sampled ({type(exc).__name__})") from None


def finish_numbers(
    values: pd.Series, table: PreparedTable, name: str, min_count: int, rng: np.random.Generator
) -> pd.Series:
    """Round to the column's step, then move values equal to a rare real extreme inward."""
    real = table.frame[name]
    is_datetime = table.classes[name].semantic == Semantic.DATETIME
    step = resolution(real, table.column(name))
    numbers = round_to_step(as_numbers(values), step)
    if not is_public(table.classes[name]):
        numbers = avoid_extremes(numbers, real, min_count, step, rng, table.subjects)
    if is_datetime:
        return microseconds_to_datetimes(numbers).set_axis(values.index)
    return pd.Series(numbers, index=values.index)
