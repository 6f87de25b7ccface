"""A table ready to protect and model: its columns classified, whole people held out, what its
text columns mean, which locales its people are in, and how it is made.

Three modes (:class:`Mode`): a **reference table** (a small lookup table other tables point at,
about no one) keeps its rows' labels; a **tiny table** (fewer than ``min_rows`` rows) is
generated column by column; every other table is learnt by a generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np
import pandas as pd

from catalog_synth.core.frames import ColumnTypeError, ModelFrame, to_model_space
from catalog_synth.core.types import (
    ColumnClass,
    ColumnInfo,
    ColumnKind,
    Semantic,
    SynthesisError,
    SynthesisSettings,
    TableInfo,
    TableSkipped,
)
from catalog_synth.core.values import Forbidden
from catalog_synth.protect.classify import (
    UNSUPPORTED,
    classify_columns,
    describes_people,
    forbidden_identifying_values,
    holds_labels_only,
)
from catalog_synth.protect.evidence import Evidence
from catalog_synth.protect.locales import DEFAULT_LOCALE, infer_locale_weights
from catalog_synth.protect.meanings import Meaning, meaning_of
from catalog_synth.protect.public_reference import public_list
from catalog_synth.protect.rare import holdout
from catalog_synth.protect.subjects import Subjects


@dataclass(frozen=True)
class Attempt:
    number: int
    min_count: int
    seed: int


class Mode(str, Enum):
    """How a table's non-identifying columns are made."""

    MODEL = "model"  # learnt by the generator
    REFERENCE = "reference"  # a lookup table's labels, kept row by row
    GENERATED = "generated"  # too few rows to learn from: drawn column by column


# Numbers and dates with at most this many distinct values are modelled (and balance the holdout)
# as categories.
DISCRETE_LEVELS = 20


@dataclass
class PreparedTable:
    """Everything one table's attempts share."""

    info: TableInfo
    columns: list[ColumnInfo]  # supported columns, in table order
    real: ModelFrame
    classes: dict[str, ColumnClass]
    holdout: pd.Index
    n_rows: int
    settings: SynthesisSettings
    forbidden: Forbidden  # normalised real values of every identifying column (and the warehouse's)
    evidence: Evidence
    mode: Mode = Mode.MODEL
    meanings: dict[str, Meaning] = field(default_factory=dict)  # text columns: what their values mean
    locales: dict[str, float] = field(default_factory=lambda: {DEFAULT_LOCALE: 1.0})  # of the table's people

    trained: pd.Index | None = None  # rows the model learns from (None: every row not held out)

    @property
    def default_locale(self) -> str:
        """The locale most of the table's people are in."""
        return max(self.locales, key=self.locales.get)

    @property
    def subjects(self) -> Subjects:
        return self.evidence.subjects

    @property
    def frame(self) -> pd.DataFrame:
        return self.real.frame

    def column(self, name: str) -> ColumnInfo:
        return self.info.column(name)

    def modelled(self) -> list[str]:
        """Columns the model learns: not identifying, and with at least one real value."""
        return [name for name in self._not_identifying() if self.frame[name].notna().any()]

    def empty(self) -> list[str]:
        """Columns with no real value at all: they stay empty."""
        return [name for name in self._not_identifying() if self.frame[name].isna().all()]

    def _not_identifying(self) -> list[str]:
        return [c.name for c in self.columns if not self.classes[c.name].identifying]

    def identifying(self) -> list[str]:
        return [c.name for c in self.columns if self.classes[c.name].identifying]

    def training_rows(self) -> pd.Index:
        """Rows the model learns from (a rebalanced copy may repeat those of its target classes)."""
        return self.trained if self.trained is not None else self.frame.index[~self.frame.index.isin(self.holdout)]


def mode_notes(table: PreparedTable) -> list[str]:
    if table.frame.empty:
        return ["the table is empty: published as an empty copy"]
    if table.mode is Mode.REFERENCE:
        kept = table.modelled()
        if not kept:
            return ["reference table: no label kept (its labels name people or organisations: faked)"]
        return [f"reference table: labels kept ({', '.join(kept)}; privacy.reference_tables)"]
    if table.mode is Mode.GENERATED:
        return [
            f"only {len(table.frame)} rows (fewer than privacy.min_rows = {table.settings.min_rows}): generated"
            " column by column, not learnt from the rows"
        ]
    return []


def prepare_table(
    info: TableInfo, sample: pd.DataFrame, settings: SynthesisSettings, evidence: Evidence
) -> PreparedTable:
    if all(column.kind is ColumnKind.UNSUPPORTED for column in info.columns):
        raise TableSkipped("no column has a type that can be synthesized")
    candidates = [c for c in info.columns if c.kind is not ColumnKind.UNSUPPORTED and c.name in sample.columns]
    try:
        real = to_model_space(sample, candidates)
    except ColumnTypeError as exc:
        raise SynthesisError(str(exc)) from None
    if evidence.lookup and not evidence.reference and (
        holds_public_reference(info, sample) or holds_labels_only(info, sample)
    ):
        evidence = replace(evidence, reference=True)
    classes = classify_columns(info, sample, settings, evidence)  # raw values: exact for 64-bit ids
    columns = [c for c in candidates if classes[c.name].semantic != UNSUPPORTED]
    if not columns:
        raise TableSkipped("no column of a type that can be synthesized was in the sample")
    n_rows = min(settings.copy_rows, max(info.row_count, len(sample)))
    mode = Mode.MODEL
    if evidence.reference and not sample.empty:
        mode, n_rows = Mode.REFERENCE, min(n_rows, len(sample))
    elif len(sample) < settings.min_rows:
        mode, n_rows = Mode.GENERATED, min(n_rows, len(sample))
    groups = evidence.subjects.holdout_groups()
    categories = category_codes(real.frame, classes)
    held_out = holdout(groups, settings.holdout_share, np.random.default_rng(settings.seed), categories)
    forbidden = Forbidden(forbidden_identifying_values(real.frame, classes))
    about_people = describes_people(info)
    meanings = {
        c.name: meaning_of(c.name, real.frame[c.name], about_people, classes[c.name].semantic)
        for c in columns
        if c.kind is ColumnKind.STRING and not classes[c.name].identifying
    }
    locales = infer_locale_weights(real.frame, classes, settings.min_category_count, evidence.subjects)
    return PreparedTable(
        info, columns, real, classes, held_out, n_rows, settings, forbidden, evidence, mode, meanings, locales
    )


def category_codes(frame: pd.DataFrame, classes: dict[str, ColumnClass]) -> np.ndarray:
    """Integer codes, a column per modelled category (text categories and numbers of at most
    ``DISCRETE_LEVELS`` values; a missing value is a code of its own), for a balanced holdout."""
    codes = [
        pd.factorize(frame[name].astype(str).where(frame[name].notna(), ""))[0]
        for name, cls in classes.items()
        if name in frame.columns and not cls.identifying and cls.source != "reference"
        and (cls.semantic == Semantic.CATEGORICAL
             or (cls.semantic == Semantic.NUMERICAL and frame[name].nunique() <= DISCRETE_LEVELS))
    ]  # fmt: skip
    return np.column_stack(codes) if codes else np.zeros((len(frame), 0), dtype=np.int64)


def holds_public_reference(info: TableInfo, sample: pd.DataFrame) -> bool:
    """A text column of the table is mostly values of a public list (states, countries,
    currencies): a small table about no one holding it is reference data, kept like a lookup."""
    for column in info.columns:
        if column.kind is ColumnKind.STRING and column.name in sample.columns:
            texts = [text for text in sample[column.name].dropna().astype(str).str.strip().head(500) if text]
            if public_list(column.name, texts):
                return True
    return False


def dropped_columns(info: TableInfo, sample: pd.DataFrame, classes: dict[str, ColumnClass]) -> dict[str, str]:
    dropped = {}
    for column in info.columns:
        if column.kind is ColumnKind.UNSUPPORTED:
            dropped[column.name] = f"left out: unsupported SQL type ({column.unsupported_reason or column.sql_type})"
        elif column.name not in sample.columns:
            dropped[column.name] = "left out: the column was not in the sample read from the warehouse"
    return dropped


def checked_key(info: TableInfo, settings: SynthesisSettings) -> tuple[str, ...]:
    """The primary key the gate checks here: none when the key linker re-draws part of it."""
    return () if set(info.primary_key) & set(settings.relinked) else info.primary_key
