"""RDT's ``UniformEncoder`` with its per-row step done once per distinct category.

RDT maps each category to a random point of its frequency interval with one Python call per
row (``Series.map`` of a function); this does the same draw for the whole column at once: the
interval bounds are looked up once per distinct category and ``numpy.random.uniform`` draws
from the same global generator (seeded by RDT's random-state decorator), in the same order, so
the encoded values are the ones RDT itself would give. Imported only when an SDV model is fitted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rdt.transformers import UniformEncoder
from rdt.transformers.utils import fill_nan_with_none


class VectorisedUniformEncoder(UniformEncoder):
    """``UniformEncoder`` whose transform is vectorised; fitting and reversing are RDT's own."""

    def _transform(self, data: pd.Series) -> pd.Series:
        if self.missing_value_encoding is not None:
            data = fill_nan_with_none(data)
        known = data.isin(self.frequencies)
        if not known.all() and not (self.missing_value_encoding is None and pd.isna(data[~known]).all()):
            return super()._transform(data)  # unseen categories: RDT's warning and random choice
        result = pd.Series(np.nan, index=data.index, name=data.name, dtype=float)
        if known.any():
            codes, uniques = pd.factorize(data[known], use_na_sentinel=False)
            bounds = np.array([self._interval(label) for label in uniques], dtype=float).reshape(-1, 2)
            result[known.to_numpy()] = np.random.uniform(bounds[codes, 0], bounds[codes, 1])
        return result

    def _interval(self, label: object) -> list[float]:
        """The interval of a category (a missing value is whichever missing key RDT learnt)."""
        if label in self.intervals:
            return self.intervals[label]
        return next(interval for key, interval in self.intervals.items() if pd.isna(key) and pd.isna(label))


def vectorised(transformers: dict[str, object]) -> dict[str, VectorisedUniformEncoder]:
    """The columns SDV gave a plain ``UniformEncoder``, each with a vectorised one of the same settings."""
    return {
        column: VectorisedUniformEncoder(missing_value_encoding=transformer.missing_value_encoding)
        for column, transformer in transformers.items()
        if type(transformer) is UniformEncoder
    }
