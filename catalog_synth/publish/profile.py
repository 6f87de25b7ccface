"""The ``datasetProfile`` DataHub shows for a synthesized table.

DataHub's UI shows only the newest full-table profile and does not merge
profiles, so this one carries every statistic that should be visible. All
column statistics come from the synthetic copy (``table.data``) and the sample
values from its preview; only the row and column counts describe the real table
(they are aggregates, and DataHub's own source reports them too).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from datahub.metadata.schema_classes import (
    DatasetFieldProfileClass,
    DatasetProfileClass,
    PartitionSpecClass,
    PartitionTypeClass,
)

from catalog_synth.core.types import ColumnKind, SyntheticTable
from catalog_synth.publish.urns import DatasetLocation

# Marks profiles written by catalog-synth (``purge-real-samples`` keeps these).
MESSAGE_ID_PREFIX = "catalog-synth:"

_NUMERIC_KINDS = {ColumnKind.INTEGER, ColumnKind.FLOAT, ColumnKind.DECIMAL}
_TEMPORAL_KINDS = {ColumnKind.DATE, ColumnKind.DATETIME}


def build_profile(table: SyntheticTable, location: DatasetLocation, timestamp_ms: int) -> DatasetProfileClass:
    return DatasetProfileClass(
        timestampMillis=timestamp_ms,
        partitionSpec=PartitionSpecClass(partition="FULL_TABLE_SNAPSHOT", type=PartitionTypeClass.FULL_TABLE),
        messageId=f"{MESSAGE_ID_PREFIX}{timestamp_ms}",
        rowCount=table.info.row_count,
        columnCount=len(table.info.columns),
        fieldProfiles=[
            field_profile(table, column, location.field_path(column))
            for column in table.data.columns
        ],
    )


def is_catalog_synth_profile(profile: DatasetProfileClass) -> bool:
    return (profile.messageId or "").startswith(MESSAGE_ID_PREFIX)


def field_profile(table: SyntheticTable, column: str, field_path: str) -> DatasetFieldProfileClass:
    values = table.data[column]
    kind = _kind(table, column)
    present = values.dropna()
    null_share = float(values.isna().mean()) if len(values) else 0.0
    profile = DatasetFieldProfileClass(
        fieldPath=field_path,
        # Scaled to the real row count the profile reports, so count and share agree.
        nullCount=round(null_share * table.info.row_count),
        nullProportion=null_share,
        uniqueCount=int(present.nunique()),
        uniqueProportion=float(present.nunique() / len(present)) if len(present) else None,
        sampleValues=[_cell_text(value, kind) for value in table.preview[column].dropna()],
    )
    if len(present):
        if kind in _NUMERIC_KINDS:
            _add_numeric_stats(profile, pd.to_numeric(present, errors="coerce").dropna(), kind)
        elif kind in _TEMPORAL_KINDS:
            profile.min, profile.max = as_text(present.min()), as_text(present.max())
    return profile


def _add_numeric_stats(profile: DatasetFieldProfileClass, numbers: pd.Series, kind: ColumnKind) -> None:
    if numbers.empty:
        return
    extreme = (lambda v: str(int(v))) if kind is ColumnKind.INTEGER else (lambda v: as_text(float(v)))
    profile.min, profile.max = extreme(numbers.min()), extreme(numbers.max())
    profile.mean = as_text(float(numbers.mean()))
    profile.median = as_text(float(numbers.median()))
    if len(numbers) > 1:
        profile.stdev = as_text(float(numbers.std()))


def _cell_text(value: Any, kind: ColumnKind) -> str:
    # pandas turns an integer column with nulls into floats: show 3, not 3.0.
    if kind is ColumnKind.INTEGER and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return as_text(value)


def _kind(table: SyntheticTable, column: str) -> ColumnKind:
    try:
        return table.info.column(column).kind
    except KeyError:
        return ColumnKind.STRING


def as_text(value: Any) -> str:
    """A value as DataHub shows it: ISO dates, plain numbers, ``True``/``False``."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float):
        return str(round(value, 6))
    return str(value)
