"""Privacy counts people, not rows.

A value repeated on every invoice of one customer is that one customer's value: seen on 7
rows, it is still held by one person. :class:`Subjects` says, for every row of the real
sample, who the row is about, along each *dimension*: the table's own rows (its primary key)
and each chain of foreign keys up to a table that describes people (``invoiceline -> invoice
-> customer``). A value is common when at least ``k`` distinct subjects hold it along every
dimension; every rare-value protection and every matching check of the gate counts this way.

The ids are hashes of real keys; they stay in the worker with the sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from catalog_synth.core.values import normalized


@dataclass(frozen=True)
class Subjects:
    """Who each sample row is about: one id array per dimension, aligned with the sample rows."""

    rows: int
    dimensions: tuple[np.ndarray, ...] = ()

    @classmethod
    def of_rows(cls, rows: int) -> Subjects:
        """Every row its own subject (a table about no one in particular)."""
        return cls(rows)

    def counts(self, keys: pd.Series) -> pd.Series:
        """Distinct subjects holding each distinct non-missing key (the fewest along any dimension).

        ``keys`` is indexed by sample row positions (a column of the sample, or part of one).
        """
        present = keys[keys.notna()]
        counts = present.value_counts()  # the rows dimension: one subject per row
        positions = present.index.to_numpy()
        for ids in self.dimensions:
            held = pd.DataFrame({"key": present.to_numpy(), "subject": ids[positions]})
            by_subject = held.groupby("key", sort=False)["subject"].nunique()
            counts = np.minimum(counts, by_subject.reindex(counts.index))
        return counts.astype("int64")

    def value_counts(self, values: pd.Series) -> pd.Series:
        """:meth:`counts` of normalised values (``' Ann '`` and ``'ann'`` are one value)."""
        return self.counts(normalized(values))

    def rare(self, values: pd.Series, min_count: int) -> set[str]:
        """Normalised values held by fewer than ``min_count`` subjects."""
        counts = self.value_counts(values)
        return set(counts.index[counts < min_count])

    def people(self, rows: np.ndarray) -> int:
        """Distinct subjects of the rows selected by the boolean array ``rows`` (the fewest along
        any dimension)."""
        held = [int(rows.sum())] + [len(np.unique(ids[rows])) for ids in self.dimensions]
        return min(held)

    def holdout_groups(self) -> np.ndarray:
        """One group per sample row for splitting off a holdout: the first person dimension, so
        that one customer's invoices are all on the same side."""
        return self.dimensions[0] if self.dimensions else np.arange(self.rows)


def subject_ids(keys: Sequence[pd.Series], rows: int) -> np.ndarray:
    """One int64 id per row from the real key columns that name its subject; a row with a
    missing key is a subject of its own (a negative id no key hashes to twice)."""
    frame = pd.DataFrame({position: key.reset_index(drop=True) for position, key in enumerate(keys)})
    ids = pd.util.hash_pandas_object(frame, index=False).to_numpy().astype("int64")
    missing = frame.isna().any(axis=1).to_numpy()
    ids[missing] = -1 - np.flatnonzero(missing)
    if len(ids) != rows:
        raise ValueError("subject keys must have one value per sample row")
    return ids
