"""Value-level helpers shared by classification, fakes and the gate.

Everything here works on real sample values and returns sets or aggregates that
stay inside the synthesis stage: nothing in this module is ever persisted.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def normalize(value: Any) -> str | None:
    """Canonical text of one value: case-folded, whitespace removed, numbers canonical.

    Two values that a reader would call "the same" (``' Ann  Lee'`` and ``'ann lee'``,
    ``12`` and ``12.0``) normalise to the same string. Missing values give ``None``.
    """
    if type(value) is str:
        return _squeeze(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating, decimal.Decimal)):
        number = float(value)
        if math.isnan(number):
            return None
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    return _squeeze(str(value))


def _squeeze(text: str) -> str:
    # str.split() splits on exactly the characters a regex \s matches, and is several times faster.
    return "".join(text.split()).casefold()


# Object columns whose equal values always normalise alike (not datetimes: equal instants in two
# time zones print apart).
_ONE_KIND = frozenset({"string", "boolean", "integer", "floating", "decimal", "empty"})


def normalized(values: pd.Series) -> pd.Series:
    """:func:`normalize` of every value (``None`` for missing), computed once per distinct value.

    Object columns are grouped only when they hold values of one kind: grouping mixed
    objects would merge values that Python calls equal but that normalise apart (``True``, ``1``).
    """
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in _ONE_KIND:
        return pd.Series([normalize(value) for value in values], index=values.index, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.array([normalize(value) for value in uniques] + [None], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)


def normalized_set(values: Iterable[Any]) -> set[str]:
    """The set of normalised non-missing values."""
    texts = normalized(values) if isinstance(values, pd.Series) else map(normalize, values)
    return {text for text in texts if text is not None}


def non_null(series: pd.Series) -> pd.Series:
    return series[series.notna()]


def distinct_share(series: pd.Series) -> float:
    """Distinct values over non-missing values (1.0 means every value is unique)."""
    values = non_null(series)
    if values.empty:
        return 0.0
    return values.nunique() / len(values)


@dataclass
class Forbidden:
    """Normalised real values no fake may equal.

    ``shared``: the sample's values of every identifying column (a fake e-mail must not be a real
    phone either); ``held``: per column, the values the whole real column in the warehouse (and
    related columns of its kind) holds that the sample did not show; ``common``: per column of
    values many share by nature (countries, cities), those the whole column holds for at least
    ``k`` rows. One column's warehouse values do not forbid another column's fakes (a surname held
    in the warehouse is no first name)."""

    shared: set[str] = field(default_factory=set)
    held: dict[str, set[str]] = field(default_factory=dict)
    common: dict[str, set[str]] = field(default_factory=dict)

    def of(self, column: str) -> set[str]:
        held, common = self.held.get(column), self.common.get(column)
        if not held and not common:
            return self.shared
        return (self.shared - (common or set())) | (held or set())


ROUND_DECIMALS = 9


# A missing value hashes like an empty text, in number and text columns alike.
_MISSING_HASH = pd.util.hash_array(np.array([""], dtype=object))[0]


def as_numbers(values: pd.Series) -> np.ndarray:
    """Model-space numbers or datetimes as float64 (datetimes in microseconds, NaN for missing)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = values.astype("datetime64[us]")
        return np.where(stamps.isna(), np.nan, stamps.to_numpy().astype("int64").astype("float64"))
    return values.astype("float64").to_numpy()


def row_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One 64-bit hash per row of its canonical values over ``columns`` (equal rows give equal keys).

    Two different rows share a key with odds of about one in 2**64 per pair; such a clash can
    only make a check stricter (a row taken for a copy), never let a copy through.
    """
    if not columns:
        return pd.Series(np.zeros(len(frame), dtype="uint64"), index=frame.index)
    hashes = pd.DataFrame({position: _value_hashes(frame[column]) for position, column in enumerate(columns)})
    return pd.util.hash_pandas_object(hashes, index=False).set_axis(frame.index)


def _value_hashes(values: pd.Series) -> np.ndarray:
    """A hash per value: numbers and dates rounded, text normalised, missing like empty text."""
    if is_numeric(values):
        hashes = pd.util.hash_array(np.round(as_numbers(values), ROUND_DECIMALS))
    else:
        hashes = pd.util.hash_array(normalized(values).fillna("").to_numpy(dtype=object))
    hashes[values.isna().to_numpy()] = _MISSING_HASH
    return hashes


def is_numeric(values: pd.Series) -> bool:
    dtype = values.dtype
    return pd.api.types.is_datetime64_any_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    )
