"""The synthesis stage: real sample in, gated synthetic copy out.

    classify columns -> split off a holdout (whole people on one side) -> replace rare
    categories -> fit SDV on the modelled columns of the training rows -> sample -> round,
    move real extremes inward, drop copies of rare real rows -> fakes for identifying columns
    -> privacy gate (one stricter retry) -> quality score -> output types

Rare means held by fewer than ``k`` *people* (:class:`~catalog_synth.privacy.subjects.Subjects`),
not seen on fewer than ``k`` rows. Two kinds of table are not modelled:

* a **reference table** (a small lookup table other tables point at, about no one) keeps its
  rows' labels; its keys are new and its identifying and free-text columns are fakes;
* a **tiny table** (fewer than ``min_rows`` rows) is generated column by column: fakes,
  replaced categories, numbers and dates drawn over the real range, never a real extreme.

An empty table gives an empty copy. Identifying columns never reach the model: their values are
format-preserving fakes, checked against the whole real column where a warehouse is at hand.
Nothing returned carries a real value; errors name columns, never values. Models are not kept.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

import numpy as np
import pandas as pd

from catalog_synth.privacy.classify import UNSUPPORTED, classify_columns, is_public
from catalog_synth.privacy.evidence import Evidence
from catalog_synth.privacy.fakes import FakeContext, fake_column, fake_foreign_key, fill, fit_text, mask_of
from catalog_synth.privacy.frames import (
    ColumnTypeError,
    ModelFrame,
    from_model_space,
    microseconds_to_datetimes,
    resolution,
    to_model_space,
)
from catalog_synth.privacy.gate import (
    GateInput,
    as_numbers,
    forbidden_identifying_values,
    rare_extremes,
    row_keys,
    run_gate,
)
from catalog_synth.privacy.locales import country_column, infer_locale_weights, row_locales
from catalog_synth.privacy.quality import quality_score
from catalog_synth.privacy.subjects import Subjects
from catalog_synth.privacy.values import normalize, normalized_set
from catalog_synth.timings import stage
from catalog_synth.types import (
    ColumnClass,
    ColumnInfo,
    ColumnKind,
    GateFailed,
    GateResult,
    SynthesisError,
    SynthesisSettings,
    SyntheticTable,
    TableInfo,
    TableSkipped,
)

LOG = logging.getLogger(__name__)
# 'norm' fits in closed form; 'truncnorm' fits by numerical optimisation (~12 ms a column) and
# scored no better on bench/quality.py (median 0.888 against 0.885). SDV's min/max enforcement
# keeps bounded columns bounded either way.
DEFAULT_DISTRIBUTION = "norm"
# Extra rows sampled so that dropping copies of rare real rows still leaves enough.
OVERSAMPLE = 1.25
# The holdout never has fewer rows than this (or half the sample), so the DCR check is not noise.
MIN_HOLDOUT_ROWS = 50
_TABLE = "table"
# Numbers and dates with at most this many distinct values are modelled as categories.
DISCRETE_LEVELS = 20
KEY_REDRAW_ROUNDS = 10


@dataclass(frozen=True)
class _Attempt:
    number: int
    min_count: int
    seed: int


class Mode(str, Enum):
    """How a table's non-identifying columns are made."""

    MODEL = "model"  # learnt by the generator
    REFERENCE = "reference"  # a lookup table's labels, kept row by row
    GENERATED = "generated"  # too few rows to learn from: drawn column by column


@dataclass
class _Table:
    """Everything one table's attempts share."""

    info: TableInfo
    columns: list[ColumnInfo]  # supported columns, in table order
    real: ModelFrame
    classes: dict[str, ColumnClass]
    holdout: pd.Index
    n_rows: int
    settings: SynthesisSettings
    forbidden: set[str]  # normalised real values of every identifying column
    evidence: Evidence
    mode: Mode = Mode.MODEL

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


def synthesize_table(
    info: TableInfo, sample: pd.DataFrame, settings: SynthesisSettings, evidence: Evidence | None = None
) -> SyntheticTable:
    """Synthesize one table; raises TableSkipped, GateFailed or SynthesisError (never with a value).

    ``evidence`` is what the worker learnt from the warehouse (who each row is about, whether
    the table is a reference table, lookups of real values); without it rows are counted.
    """
    with stage("classify"):
        table = _prepare(info, sample, settings, evidence or Evidence.of_sample(sample))
    rng = np.random.default_rng(settings.seed)
    gate = GateResult()
    for number in (1, 2):
        attempt = _Attempt(number, settings.min_category_count * number, int(rng.integers(2**31)))
        with stage("generate"):
            synthetic = _generate(table, attempt, rng)
        with stage("gate"):
            gate = run_gate(_gate_input(table, synthetic), attempt.min_count, settings.dcr_threshold, rng)
        gate.attempts = number
        if gate.passed:
            break
        LOG.info("%s: privacy gate attempt %d failed: %s", info.ref, number, gate.summary())
    if not gate.passed:
        raise GateFailed(gate)
    with stage("quality"):
        modelled = table.mode is Mode.MODEL
        quality = quality_score(table.frame, synthetic, table.classes, seed=settings.seed or 0) if modelled else None
    with stage("generate"):
        data = _output(table, synthetic)
    return SyntheticTable(
        ref=info.ref,
        info=info,
        data=data,
        preview_rows=min(settings.preview_rows, len(synthetic)),
        classes=table.classes,
        dropped_columns=_dropped(info, sample, table.classes),
        quality=quality,
        gate=gate,
        synced_at=datetime.now(timezone.utc),
        notes=_mode_notes(table),
    )


def _gate_input(table: _Table, synthetic: pd.DataFrame) -> GateInput:
    key = _checked_key(table.info, table.settings)
    return GateInput(
        table.frame, table.holdout, synthetic, table.classes, key, table.forbidden, table.subjects,
        modelled_rows=table.mode is Mode.MODEL,
    )  # fmt: skip


def _mode_notes(table: _Table) -> list[str]:
    if table.frame.empty:
        return ["the table is empty: published as an empty copy"]
    if table.mode is Mode.REFERENCE:
        return ["reference table: labels kept (privacy.reference_tables)"]
    if table.mode is Mode.GENERATED:
        return [
            f"only {len(table.frame)} rows (fewer than privacy.min_rows = {table.settings.min_rows}): generated"
            " column by column, not learnt from the rows"
        ]
    return []


def _prepare(info: TableInfo, sample: pd.DataFrame, settings: SynthesisSettings, evidence: Evidence) -> _Table:
    if all(column.kind is ColumnKind.UNSUPPORTED for column in info.columns):
        raise TableSkipped("no column has a type that can be synthesized")
    candidates = [c for c in info.columns if c.kind is not ColumnKind.UNSUPPORTED and c.name in sample.columns]
    try:
        real = to_model_space(sample, candidates)
    except ColumnTypeError as exc:
        raise SynthesisError(str(exc)) from None
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
    holdout = _holdout(groups, settings.holdout_share, np.random.default_rng(settings.seed))
    forbidden = forbidden_identifying_values(real.frame, classes)
    return _Table(info, columns, real, classes, holdout, n_rows, settings, forbidden, evidence, mode)


def _holdout(groups: np.ndarray, share: float, rng: np.random.Generator) -> pd.Index:
    """Rows the model never sees: whole groups (all the invoices of a customer), about ``share``
    of the rows, never fewer than ``MIN_HOLDOUT_ROWS`` (or half the sample)."""
    n_rows = len(groups)
    if n_rows == 0:
        return pd.Index([], dtype="int64")
    wanted = max(round(n_rows * share), min(n_rows // 2, MIN_HOLDOUT_ROWS), 1)
    labels, inverse = np.unique(groups, return_inverse=True)
    sizes = np.bincount(inverse)
    order = rng.permutation(len(labels))
    enough = min(int(np.searchsorted(np.cumsum(sizes[order]), wanted)) + 1, len(labels))
    if enough == len(labels) > 1:  # never every row: the model must have some to learn from
        enough -= 1
    chosen = np.zeros(len(labels), dtype=bool)
    chosen[order[:enough]] = True
    return pd.Index(np.flatnonzero(chosen[inverse]))


def _dropped(info: TableInfo, sample: pd.DataFrame, classes: dict[str, ColumnClass]) -> dict[str, str]:
    dropped = {}
    for column in info.columns:
        if column.kind is ColumnKind.UNSUPPORTED:
            dropped[column.name] = f"left out: unsupported SQL type ({column.unsupported_reason or column.sql_type})"
        elif column.name not in sample.columns:
            dropped[column.name] = "left out: the column was not in the sample read from the warehouse"
    return dropped


def _generate(table: _Table, attempt: _Attempt, rng: np.random.Generator) -> pd.DataFrame:
    if table.mode is Mode.REFERENCE:
        modelled = _reference_rows(table, rng)
    elif table.mode is Mode.GENERATED:
        modelled = _generated_columns(table, attempt, rng)
    else:
        modelled = _drop_rare_row_copies(table, _sample_model(table, attempt, rng), attempt.min_count)
    for name in table.empty():
        modelled[name] = None
    modelled = modelled.head(table.n_rows).reset_index(drop=True)
    with stage("fakes"):
        fakes = _fakes(table, modelled, attempt, rng)
    synthetic = pd.concat([modelled, fakes], axis=1)[[c.name for c in table.columns]]
    return _unique_primary_key(table, _within_lengths(table, synthetic), rng)


# --- tables not modelled ---


def _reference_rows(table: _Table, rng: np.random.Generator) -> pd.DataFrame:
    """A reference table's labels, row by row (in a new order): ``WHERE region = 'ASIA'`` and
    joins on them mean on the copy what they mean on the warehouse."""
    rows = rng.permutation(len(table.frame))[: table.n_rows]
    return table.frame.loc[rows, table.modelled()].reset_index(drop=True)


def _generated_columns(table: _Table, attempt: _Attempt, rng: np.random.Generator) -> pd.DataFrame:
    """A tiny table's columns drawn one by one: nothing learnt from its few rows (each row is
    about one of a handful of people), real shares of empty values kept."""
    columns = {}
    for name in table.modelled():
        real = table.frame[name]
        present = real.dropna()
        semantic = table.classes[name].semantic
        if semantic in ("numerical", "datetime"):
            low, high = as_numbers(present).min(), as_numbers(present).max()
            values = pd.Series(rng.uniform(low, high, table.n_rows) if high > low else np.full(table.n_rows, low))
            if semantic == "datetime":
                values = microseconds_to_datetimes(values.to_numpy())
            values = _finish_numbers(values, table, name, attempt.min_count, rng)
        else:
            drawn = present.iloc[rng.integers(0, len(present), table.n_rows)].reset_index(drop=True)
            public = is_public(table.classes[name]) or semantic == "boolean"
            values = drawn if public else replace_rare_categories(drawn, real, attempt.min_count, rng, table.subjects)
        empty = rng.random(table.n_rows) < 1 - len(present) / len(real)
        columns[name] = values.astype(object).where(~empty, None) if values.dtype == object else values.mask(empty)
    return pd.DataFrame(columns, index=pd.RangeIndex(table.n_rows))


def _within_lengths(table: _Table, synthetic: pd.DataFrame) -> pd.DataFrame:
    """Text no longer than the column's ``VARCHAR(n)``/``CHAR(n)``."""
    for column in table.columns:
        if column.kind is ColumnKind.STRING and column.length and column.name in synthetic.columns:
            synthetic[column.name] = synthetic[column.name].map(lambda v: fit_text(v, column.length), na_action="ignore")
    return synthetic


# --- the model ---


def _sample_model(table: _Table, attempt: _Attempt, rng: np.random.Generator) -> pd.DataFrame:
    names = table.modelled()
    n_sample = int(np.ceil(table.n_rows * OVERSAMPLE)) + 5
    if not names:
        return pd.DataFrame(index=pd.RangeIndex(n_sample))
    sdtypes = {name: _model_sdtype(table, name, attempt.min_count) for name in names}
    train = table.frame.loc[~table.frame.index.isin(table.holdout), names].reset_index(drop=True)
    for name in names:
        train[name] = _training_values(train[name], table, name, sdtypes[name], attempt.min_count, rng)
    with stage("model"):
        sampled = _fit_and_sample(table, train, sdtypes, n_sample, attempt.seed)
    for name in names:
        if table.classes[name].semantic == "datetime":
            sampled[name] = microseconds_to_datetimes(sampled[name].to_numpy(dtype="float64") * 1e6)
        if table.classes[name].semantic in ("numerical", "datetime"):
            sampled[name] = _finish_numbers(sampled[name], table, name, attempt.min_count, rng)
    return sampled


def _model_sdtype(table: _Table, name: str, min_count: int) -> str:
    """SDV sdtype: numbers and dates with few distinct values are learnt as categories."""
    semantic = table.classes[name].semantic
    if semantic in ("numerical", "datetime"):
        counts = table.subjects.counts(table.frame[name])
        discrete = len(counts) <= DISCRETE_LEVELS and bool((counts >= min_count).any())
        return "categorical" if discrete else "numerical"
    return semantic


def _training_values(
    train: pd.Series, table: _Table, name: str, sdtype: str, min_count: int, rng: np.random.Generator
) -> pd.Series:
    """What the model sees: no rare category, dates as seconds."""
    cls, real = table.classes[name], table.frame[name]
    if cls.semantic == "categorical" and not is_public(cls):
        return replace_rare_categories(train, real, min_count, rng, table.subjects)
    if cls.semantic in ("numerical", "datetime"):
        numbers = pd.Series(as_numbers(train), index=train.index)
        if sdtype == "categorical" and not is_public(cls):
            numbers = merge_rare_numbers(numbers, pd.Series(as_numbers(real)), min_count, table.subjects)
        return numbers / 1e6 if cls.semantic == "datetime" else numbers  # seconds: SDV sees plain numbers
    return train


def merge_rare_numbers(
    train: pd.Series, real: pd.Series, min_count: int, subjects: Subjects | None = None
) -> pd.Series:
    """Values held by fewer than ``min_count`` people in the sample become the nearest common value
    (``real`` is indexed by sample row positions)."""
    counts = (subjects or Subjects.of_rows(len(real))).counts(real)
    common = np.sort(counts.index[counts >= min_count].to_numpy(dtype="float64"))
    rare = train.notna() & ~train.isin(common)
    if not rare.any():
        return train
    values = train[rare].to_numpy(dtype="float64")
    right = np.clip(np.searchsorted(common, values), 0, len(common) - 1)
    left = np.clip(right - 1, 0, len(common) - 1)
    nearest = np.where(np.abs(common[left] - values) <= np.abs(common[right] - values), common[left], common[right])
    merged = train.copy()
    merged[rare] = nearest
    return merged


def replace_rare_categories(
    train: pd.Series, real: pd.Series, min_count: int, rng: np.random.Generator, subjects: Subjects | None = None
) -> pd.Series:
    """Each category held by fewer than ``min_count`` people in the sample becomes a new value of
    its shape (``real`` is indexed by sample row positions).

    The new value differs from every real value, so the model (and its metadata) never holds the
    rare category. One real category maps to one new value, keeping the column's frequencies.
    """
    rare = (subjects or Subjects.of_rows(len(real))).rare(real, min_count)
    if not rare:
        return train
    taken = normalized_set(real)
    examples = {normalize(value): str(value) for value in real.dropna()}
    replacements: dict[str, str] = {}
    for key in sorted(rare):
        template = mask_of(examples[key])
        replacement = fill(template, rng)
        while normalize(replacement) in taken:
            template += "\x03"
            replacement = fill(template, rng)
        taken.add(normalize(replacement))
        replacements[key] = replacement
    keys = train.map(normalize)
    return train.where(~keys.isin(rare), keys.map(replacements))


def _fit_and_sample(
    table: _Table, train: pd.DataFrame, sdtypes: dict[str, str], n_rows: int, seed: int
) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            synthesizer = _synthesizer(table.settings.synthesizer, _sdv_metadata(sdtypes))
            synthesizer.fit({_TABLE: train})
            # SDV 2.0 has no public way to seed sampling; this is what its sample() calls itself.
            synthesizer._set_random_state(seed)
            sampled = synthesizer.sample(n_rows)[_TABLE]
    except Exception as exc:  # SDV/pandas messages may quote values: never pass them on
        raise SynthesisError(
            f"the {table.settings.synthesizer} model could not be fitted or sampled ({type(exc).__name__})"
        ) from None
    return sampled.reset_index(drop=True)


def _sdv_metadata(sdtypes: dict[str, str]):
    from sdv.metadata import Metadata  # heavy import: only when fitting

    columns = {name: {"sdtype": sdtype} for name, sdtype in sdtypes.items()}
    return Metadata.load_from_dict({"tables": {_TABLE: {"columns": columns}}})


def _synthesizer(name: str, metadata):
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    common = {"enforce_min_max_values": True, "enforce_rounding": True}
    if name == "gaussian_copula":
        return GaussianCopulaSynthesizer(metadata, default_distribution=DEFAULT_DISTRIBUTION, **common)
    if name == "ctgan":
        return CTGANSynthesizer(metadata, **common)
    if name == "tvae":
        return TVAESynthesizer(metadata, **common)
    raise SynthesisError(f"unknown synthesizer {name!r}")


def _finish_numbers(
    values: pd.Series, table: _Table, name: str, min_count: int, rng: np.random.Generator
) -> pd.Series:
    """Round to the column's step, then move values equal to a rare real extreme inward."""
    real = table.frame[name]
    is_datetime = table.classes[name].semantic == "datetime"
    step = resolution(real, table.column(name))
    numbers = round_to_step(as_numbers(values), step)
    if not is_public(table.classes[name]):
        numbers = avoid_extremes(numbers, real, min_count, step, rng, table.subjects)
    if is_datetime:
        return microseconds_to_datetimes(numbers).set_axis(values.index)
    return pd.Series(numbers, index=values.index)


def round_to_step(numbers: np.ndarray, step: float | None) -> np.ndarray:
    """``numbers`` on the column's grid; decimal steps by decimal rounding, so that 79.8 stays
    79.8 rather than 79.80000000000001."""
    if not step:
        return numbers
    if step >= 1:
        return np.round(numbers / step) * step
    return np.round(numbers, round(-np.log10(step)))


def avoid_extremes(
    numbers: np.ndarray,
    real: pd.Series,
    min_count: int,
    step: float | None,
    rng: np.random.Generator,
    subjects: Subjects | None = None,
) -> np.ndarray:
    """Values equal to a real extreme shared by fewer than ``min_count`` people move toward the
    ``min_count``-th value from that end (never onto the extreme itself). ``real`` holds the real
    values in model space, indexed by sample row positions."""
    ordered = np.sort(as_numbers(real.dropna()))
    out = numbers.copy()
    for extreme in rare_extremes(real, min_count, subjects):
        hits = out == extreme
        if not hits.any():
            continue
        direction = 1.0 if extreme == ordered[0] else -1.0
        depth = min(min_count, len(ordered) - 1)
        inner = ordered[depth] if direction > 0 else ordered[-1 - depth]
        moved = round_to_step(extreme + rng.random(int(hits.sum())) * (inner - extreme), step)
        moved[moved == extreme] = extreme + direction * (step or abs(inner - extreme) / 2 or 1.0)
        out[hits] = round_to_step(moved, step)
    return out


def _drop_rare_row_copies(table: _Table, sampled: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Drop synthetic rows equal (on the modelled columns) to a real row seen fewer than k times."""
    columns = list(sampled.columns)
    if not columns:
        return sampled
    counts = table.subjects.counts(row_keys(table.frame, columns))
    rare = set(counts.index[counts < min_count])
    return sampled[~row_keys(sampled, columns).isin(rare).to_numpy()]


# --- fakes ---


def _fakes(table: _Table, modelled: pd.DataFrame, attempt: _Attempt, rng: np.random.Generator) -> pd.DataFrame:
    names = table.identifying()
    n_rows = len(modelled)
    if not names:
        return pd.DataFrame(index=modelled.index)
    country = country_column(table.frame, table.classes)
    weights = infer_locale_weights(table.frame, table.classes, attempt.min_count, table.subjects)
    countries = modelled[country] if country in modelled.columns else None
    ctx = FakeContext(
        rng=rng,
        locales=row_locales(n_rows, weights, rng, countries),
        forbidden=table.forbidden,
        min_count=attempt.min_count,
        seed=attempt.seed,
        population=max(table.info.row_count, len(table.frame)),
        subjects=table.subjects,
        real_counts=table.evidence.real_counts,
    )
    single_key = set(table.info.primary_key) if len(table.info.primary_key) == 1 else set()
    foreign = {name for fk in table.info.foreign_keys for name in fk.columns} - single_key
    fakes = {}
    for name in names:
        column, real = table.column(name), table.frame[name]
        if name in foreign:
            fakes[name] = fake_foreign_key(column, real, ctx)
        else:
            unique = table.info.primary_key == (name,)
            fakes[name] = fake_column(table.classes[name].semantic, column, real, ctx, unique=unique)
    return pd.DataFrame(fakes, index=modelled.index)


def _checked_key(info: TableInfo, settings: SynthesisSettings) -> tuple[str, ...]:
    """The primary key the gate checks here: none when the key linker re-draws part of it."""
    return () if set(info.primary_key) & set(settings.relinked) else info.primary_key


def _unique_primary_key(table: _Table, synthetic: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A composite key must not repeat: its fake members (foreign keys) are drawn again from
    their own values where a combination repeats; rows still repeating one are dropped."""
    key = list(_checked_key(table.info, table.settings))
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


# --- output ---


def _output(table: _Table, synthetic: pd.DataFrame) -> pd.DataFrame:
    nullable = {c.name for c in table.columns if c.nullable and table.frame[c.name].isna().any()}
    return from_model_space(synthetic, table.columns, table.real.timezones, nullable)

