"""Model space: one pandas representation per SQL kind, used by classification, the model,
the gate and the quality score; and the way back to the output types.

- integers, floats, decimals -> float64 (NaN for missing and for infinities)
- dates, datetimes -> naive UTC ``datetime64[us]`` (wide range: ``9999-12-31`` fits)
- booleans -> object (True / False / None)
- strings, UUIDs -> object (str / None)

Conversion errors name the column and its SQL type, never a value.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from catalog_synth.core.types import ColumnInfo, ColumnKind

_NUMERIC = (ColumnKind.INTEGER, ColumnKind.FLOAT, ColumnKind.DECIMAL)
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
US_PER_DAY = 86_400_000_000
US_PER_SECOND = 1_000_000


class ColumnTypeError(ValueError):
    """A sample column does not hold what its SQL type says (the message names no value)."""


@dataclass(frozen=True)
class ModelFrame:
    """The real sample in model space, with what is needed to convert synthetic rows back."""

    frame: pd.DataFrame
    timezones: dict[str, str]  # datetime column -> original time zone


def to_model_space(sample: pd.DataFrame, columns: list[ColumnInfo]) -> ModelFrame:
    frame = {}
    timezones = {}
    for column in columns:
        series = sample[column.name].reset_index(drop=True)
        try:
            frame[column.name], zone = _convert(series, column.kind)
        except (TypeError, ValueError, ArithmeticError, OverflowError):
            raise ColumnTypeError(
                f"column {column.name!r}: sample values do not match its SQL type {column.sql_type}"
            ) from None
        if zone:
            timezones[column.name] = zone
    return ModelFrame(pd.DataFrame(frame, index=pd.RangeIndex(len(sample))), timezones)


def _convert(series: pd.Series, kind: ColumnKind) -> tuple[pd.Series, str | None]:
    if kind in _NUMERIC and pd.api.types.is_numeric_dtype(series.dtype):  # the driver gave numbers already
        numbers = series.astype("float64")
        return numbers.mask(np.isinf(numbers)), None  # as _to_float: infinities count as missing
    if kind in _NUMERIC:
        return series.map(_to_float, na_action="ignore").astype("float64"), None
    if kind in (ColumnKind.DATE, ColumnKind.DATETIME):
        return _to_microseconds(series, kind)
    if kind is ColumnKind.BOOLEAN:
        return series.map(_to_bool, na_action="ignore").astype(object).where(series.notna(), None), None
    return series.map(str, na_action="ignore").astype(object).where(series.notna(), None), None


def _to_float(value: object) -> float:
    """A number; infinities (float columns may hold them) count as missing: no model takes them."""
    number = float(value)  # type: ignore[arg-type]
    return math.nan if math.isinf(number) else number


def _to_bool(value: object) -> bool:
    if isinstance(value, (bool, np.bool_, int, np.integer, decimal.Decimal, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError("not a boolean")


def _to_microseconds(series: pd.Series, kind: ColumnKind) -> tuple[pd.Series, str | None]:
    zone = _timezone(series)
    if zone:
        series = pd.to_datetime(series, utc=True).dt.tz_localize(None)
    stamps = series.astype("datetime64[us]")
    if kind is ColumnKind.DATE:
        stamps = stamps.dt.floor("D")
    return stamps, zone


def _timezone(series: pd.Series) -> str | None:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return str(series.dtype.tz)
    first = next((value for value in series if isinstance(value, dt.datetime) and value.tzinfo), None)
    return str(first.tzinfo) if first is not None else None


def microseconds_to_datetimes(numbers: np.ndarray) -> pd.Series:
    """Float microseconds since 1970 (NaN for missing) -> ``datetime64[us]``."""
    stamps = np.full(len(numbers), np.datetime64("NaT"), dtype="datetime64[us]")
    present = ~np.isnan(numbers)
    stamps[present] = np.round(numbers[present]).astype("int64").view("datetime64[us]")
    return pd.Series(stamps)


def resolution(real: pd.Series, column: ColumnInfo) -> float | None:
    """The step synthetic values are rounded to, in model units (None: no rounding)."""
    if column.kind is ColumnKind.INTEGER:
        return 1.0
    if column.kind is ColumnKind.DECIMAL and column.scale is not None:
        return 10.0 ** -column.scale
    if column.kind is ColumnKind.DATE:
        return float(US_PER_DAY)
    numbers = real.dropna()
    if column.kind is ColumnKind.DATETIME:
        whole_seconds = (numbers.astype("int64") % US_PER_SECOND == 0).all()
        return float(US_PER_SECOND) if whole_seconds else None
    if column.kind is ColumnKind.FLOAT and _single_precision(numbers):
        # A REAL column holds 4.2 as 4.199999809: the data's precision is that of the shortest
        # text that reads back as the same single-precision number.
        numbers = numbers.map(lambda number: float(str(np.float32(number))))
    for decimals in range(7):
        scaled = numbers * 10**decimals
        if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6):
            return 10.0**-decimals
    return None


def _single_precision(numbers: pd.Series) -> bool:
    """Every value is exactly a float32 (read from a single-precision column)."""
    values = numbers.to_numpy(dtype="float64")
    return bool(len(values)) and bool(np.all(values.astype(np.float32).astype(np.float64) == values))


def from_model_space(synthetic: pd.DataFrame, columns: list[ColumnInfo], timezones: dict[str, str],
                     nullable: set[str]) -> pd.DataFrame:
    """Output types per SQL kind; ``nullable`` names integer columns that keep a nullable dtype."""
    out = {}
    for column in columns:
        out[column.name] = _output(synthetic[column.name], column, timezones.get(column.name), column.name in nullable)
    return pd.DataFrame(out, index=synthetic.index).reset_index(drop=True)


def _output(values: pd.Series, column: ColumnInfo, zone: str | None, nullable: bool) -> pd.Series:
    kind = column.kind
    if kind is ColumnKind.INTEGER:
        rounded = pd.to_numeric(values, errors="raise").round()
        return rounded.astype("Int64") if nullable or rounded.isna().any() else rounded.astype("int64")
    if kind is ColumnKind.DECIMAL:
        numbers = pd.to_numeric(values, errors="raise").astype("float64")
        return numbers.round(column.scale) if column.scale is not None else numbers
    if kind is ColumnKind.FLOAT:
        return pd.to_numeric(values, errors="raise").astype("float64")
    if kind is ColumnKind.BOOLEAN:
        flags = values.astype("boolean")
        return flags if flags.isna().any() else flags.astype(bool)
    if kind is ColumnKind.DATE:
        stamps = pd.Series(values).astype("datetime64[us]")
        return pd.Series(stamps.dt.date, index=stamps.index, dtype=object).where(stamps.notna(), None)
    if kind is ColumnKind.DATETIME:
        stamps = pd.Series(values).astype("datetime64[us]")
        return stamps.dt.tz_localize("UTC").dt.tz_convert(zone) if zone else stamps
    return values.astype(object).where(values.notna(), None)
