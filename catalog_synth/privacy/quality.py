"""SDMetrics quality score of a synthetic table against the real sample.

The metadata handed to SDMetrics is built from our own column classes (never detected).
Identifying columns hold fakes by design and are left out; so are columns with no real
value. Scores are aggregates: they carry no value.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from catalog_synth.types import ColumnClass, QualityScore

MAX_QUALITY_ROWS = 2000
# Column Pair Trends costs ~10 ms a pair (pandas overhead, whatever the rows): wider tables are
# scored on a random set of columns, at most 28 pairs (~0.25 s).
MAX_QUALITY_COLUMNS = 8
_TABLE = "table"
_SDTYPES = {"categorical": "categorical", "numerical": "numerical", "datetime": "datetime", "boolean": "boolean"}


def sdmetrics_metadata(classes: dict[str, ColumnClass], columns: list[str]) -> dict:
    return {"tables": {_TABLE: {"columns": {name: {"sdtype": _SDTYPES[classes[name].semantic]} for name in columns}}}}


def scored_columns(real: pd.DataFrame, synthetic: pd.DataFrame, classes: dict[str, ColumnClass]) -> list[str]:
    return [
        name
        for name, cls in classes.items()
        if cls.semantic in _SDTYPES and name in synthetic.columns and real[name].notna().any()
    ]


def quality_score(
    real: pd.DataFrame, synthetic: pd.DataFrame, classes: dict[str, ColumnClass], seed: int = 0
) -> QualityScore | None:
    """Column Shapes, Column Pair Trends and their mean, on at most ``MAX_QUALITY_ROWS`` rows a side
    and ``MAX_QUALITY_COLUMNS`` columns.

    Returns None when no column is modelled. With a single modelled column there are no
    pairs, and the pair score is reported equal to the shapes score.
    """
    from sdmetrics.reports import QualityReport  # imports torch: only when scoring

    columns = scored_columns(real, synthetic, classes)
    if not columns:
        return None
    if len(columns) > MAX_QUALITY_COLUMNS:
        chosen = np.random.default_rng(seed).choice(len(columns), MAX_QUALITY_COLUMNS, replace=False)
        columns = [columns[index] for index in sorted(chosen)]
    report = QualityReport()
    # Every column pair counts, not only pairs strongly associated in the real data (SDMetrics'
    # default since 0.2x): tables of independent columns then still get a pair score.
    report.real_correlation_threshold = 0
    report.real_association_threshold = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(
            {_TABLE: _bounded(real[columns], seed)},
            {_TABLE: _bounded(synthetic[columns], seed)},
            sdmetrics_metadata(classes, columns),
            verbose=False,
        )
    properties = report.get_properties().set_index("Property")["Score"]
    shapes = float(properties["Column Shapes"])
    pairs = float(properties.get("Column Pair Trends", np.nan))
    if math.isnan(pairs):
        pairs = shapes
    return QualityScore(overall=round((shapes + pairs) / 2, 4), column_shapes=round(shapes, 4),
                        column_pair_trends=round(pairs, 4))


def _bounded(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    if len(frame) <= MAX_QUALITY_ROWS:
        return frame.reset_index(drop=True)
    return frame.sample(MAX_QUALITY_ROWS, random_state=seed).reset_index(drop=True)
