"""What the privacy stage knows about a table beyond its sample.

The worker that read the sample fills it from the run's plan and the warehouse:

* ``subjects``: who each sampled row is about (:mod:`catalog_synth.protect.subjects`);
* ``reference``: the table is a lookup table of labels that other tables reference, about no
  one (its labels are kept);
* ``lookup``: the table is small, about no one and has no contact columns, whether or not a key
  refers to it: when its content is public reference data (a table of US states, of currencies),
  it is a reference table too;
* ``copied_from``: asks the warehouse whether a column's values are those of an identifying
  column of another table (``invoice.billingaddress`` holding ``customer.address``), counts only;
* ``real_counts``: asks the warehouse how many real rows of the whole column (and of identifying
  columns of the same kind in related tables: ``contactname`` and ``customer.name``) hold each of
  some candidate fakes, so that no fake equals a real value the sample did not show.

Without a warehouse (tests, benchmarks on frames) every row is its own subject and nothing is
looked up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from catalog_synth.core.types import ColumnInfo
from catalog_synth.protect.subjects import Subjects

# (column, its sampled values) -> (where they come from, its semantic), or None
CopiedFrom = Callable[[ColumnInfo, pd.Series], "tuple[str, str] | None"]
# (column, its semantic, candidate values) -> {normalised value: real people holding it in the whole
# column, and in identifying columns of the same semantic that the column's values may come from}
RealCounts = Callable[[ColumnInfo, str, Sequence[Any]], dict[str, int]]


@dataclass
class Evidence:
    subjects: Subjects
    reference: bool = False
    lookup: bool = False
    copied_from: CopiedFrom | None = None
    real_counts: RealCounts | None = None

    @classmethod
    def of_sample(cls, sample: pd.DataFrame) -> Evidence:
        return cls(Subjects.of_rows(len(sample)))
