"""The synthesis stage: real sample in, gated synthetic copy out.

    classify columns -> split off a holdout (whole people on one side) -> replace rare
    categories -> fit SDV on the modelled columns of the training rows -> sample -> round,
    move real extremes inward, drop copies of rare real rows -> fakes for identifying columns
    -> privacy gate (one stricter retry) -> quality score -> output types

Rare means held by fewer than ``k`` *people* (:class:`~catalog_synth.protect.subjects.Subjects`),
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
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum

import numpy as np
import pandas as pd

from catalog_synth.model import GeneratorReport, GeneratorUnavailable, Target, open_generator
from catalog_synth.protect.classify import UNSUPPORTED, classify_columns, describes_people, is_public
from catalog_synth.protect.evidence import Evidence
from catalog_synth.protect.fakes import (
    FakeContext,
    emails_following_names,
    fake_column,
    fake_foreign_key,
    fill,
    fit_text,
    mask_of,
    name_part,
)
from catalog_synth.model.frames import (
    ColumnTypeError,
    ModelFrame,
    from_model_space,
    microseconds_to_datetimes,
    resolution,
    to_model_space,
)
from catalog_synth.gate.checks import (
    ClassCheck,
    GateInput,
    as_numbers,
    forbidden_identifying_values,
    rare_extremes,
    row_keys,
    run_gate,
)
from catalog_synth.protect.locales import DEFAULT_LOCALE, country_column, infer_locale_weights, row_locales
from catalog_synth.protect.meanings import Meaning, Replacer, Style, country_locale, meaning_of
from catalog_synth.gate.quality import quality_score
from catalog_synth.protect.subjects import Subjects
from catalog_synth.core.values import Forbidden, normalize
from catalog_synth.core.timings import stage
from catalog_synth.core.types import (
    ColumnClass,
    ColumnInfo,
    ColumnKind,
    GateFailed,
    GateResult,
    RebalanceSpec,
    SynthesisError,
    SynthesisSettings,
    SyntheticTable,
    TableInfo,
    TableSkipped,
)

LOG = logging.getLogger(__name__)
# Extra rows sampled so that dropping copies of rare real rows still leaves enough.
OVERSAMPLE = 1.25
# The holdout never has fewer rows than this (or half the sample), so the DCR check is not noise.
MIN_HOLDOUT_ROWS = 50
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


def synthesize_table(
    info: TableInfo, sample: pd.DataFrame, settings: SynthesisSettings, evidence: Evidence | None = None
) -> SyntheticTable:
    """Synthesize one table; raises TableSkipped, GateFailed or SynthesisError (never with a value).

    ``evidence`` is what the worker learnt from the warehouse (who each row is about, whether
    the table is a reference table, lookups of real values); without it rows are counted. With
    ``settings.rebalance`` the copy is a rebalanced one: the target's shares of rows hold its
    values, and the gate also checks the rows of each target class on their own.
    """
    with stage("classify"):
        table = _prepare(info, sample, settings, evidence or Evidence.of_sample(sample))
    rng = np.random.default_rng(settings.seed)
    if settings.rebalance:
        table = _rebalancing(table, settings.rebalance, rng)
    gate = GateResult()
    for number in (1, 2):
        if number == 2:
            table = _split_again(table, rng)
        attempt = _Attempt(number, settings.min_category_count * number, int(rng.integers(2**31)))
        target = _target(table, attempt.min_count)
        with stage("generate"):
            synthetic, generator = _generate(table, attempt, rng, target)
        with stage("gate"):
            gate = run_gate(_gate_input(table, synthetic, target), attempt.min_count, settings.dcr_threshold, rng)
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
        generator=generator,
        rebalance=_class_shares(table, synthetic, target),
    )


def _gate_input(table: _Table, synthetic: pd.DataFrame, target: Target | None) -> GateInput:
    key = _checked_key(table.info, table.settings)
    return GateInput(
        table.frame, table.holdout, synthetic, table.classes, key, table.forbidden, table.subjects,
        modelled_rows=table.mode is Mode.MODEL, class_check=_class_check(target), trained=table.trained,
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
    forbidden = Forbidden(forbidden_identifying_values(real.frame, classes))
    about_people = describes_people(info)
    meanings = {
        c.name: meaning_of(c.name, real.frame[c.name], about_people, classes[c.name].semantic)
        for c in columns
        if c.kind is ColumnKind.STRING and not classes[c.name].identifying
    }
    locales = infer_locale_weights(real.frame, classes, settings.min_category_count, evidence.subjects)
    return _Table(info, columns, real, classes, holdout, n_rows, settings, forbidden, evidence, mode, meanings, locales)


def _split_again(table: _Table, rng: np.random.Generator) -> _Table:
    """The table with a new holdout, for the gate's second attempt (and, for a rebalanced copy,
    its training rows drawn again from the new training part).

    Where the model puts rows in a region few real rows share (the long tail of a duration), the
    distance check's share depends on which side of the split those few rows fell; a model that
    memorises its training rows is closer to them under any split. The second attempt is also
    stricter (twice ``min_category_count``)."""
    settings = table.settings
    holdout = _holdout(table.subjects.holdout_groups(), settings.holdout_share, rng)
    fresh = replace(table, holdout=holdout, trained=None)
    return _rebalancing(fresh, settings.rebalance, rng) if settings.rebalance else fresh


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


def _generate(
    table: _Table, attempt: _Attempt, rng: np.random.Generator, target: Target | None
) -> tuple[pd.DataFrame, GeneratorReport | None]:
    generator = None
    if table.mode is Mode.REFERENCE:
        modelled = _reference_rows(table, rng)
    elif table.mode is Mode.GENERATED:
        modelled = _generated_columns(table, attempt, rng)
    else:
        modelled, generator = _sample_model(table, attempt, rng, target)
        modelled = _drop_rare_row_copies(table, modelled, attempt.min_count)
    for name in table.empty():
        modelled[name] = None
    modelled = modelled.head(table.n_rows).reset_index(drop=True)
    with stage("fakes"):
        fakes = _fakes(table, modelled, attempt, rng)
    synthetic = pd.concat([modelled, fakes], axis=1)[[c.name for c in table.columns]]
    return _unique_primary_key(table, _within_lengths(table, synthetic), rng), generator


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
            values = present.iloc[rng.integers(0, len(present), table.n_rows)].reset_index(drop=True)
        empty = rng.random(table.n_rows) < 1 - len(present) / len(real)
        columns[name] = values.astype(object).where(~empty, None) if values.dtype == object else values.mask(empty)
    drawn = pd.DataFrame(columns, index=pd.RangeIndex(table.n_rows))
    return _protect_categories(table, drawn, attempt.min_count, rng)


def _within_lengths(table: _Table, synthetic: pd.DataFrame) -> pd.DataFrame:
    """Text no longer than the column's ``VARCHAR(n)``/``CHAR(n)``."""
    for column in table.columns:
        if column.kind is ColumnKind.STRING and column.length and column.name in synthetic.columns:
            synthetic[column.name] = synthetic[column.name].map(lambda v: fit_text(v, column.length), na_action="ignore")
    return synthetic


# --- the model ---


def _sample_model(
    table: _Table, attempt: _Attempt, rng: np.random.Generator, target: Target | None
) -> tuple[pd.DataFrame, GeneratorReport | None]:
    names = table.modelled()
    n_sample = int(np.ceil(table.n_rows * OVERSAMPLE)) + 5
    if not names:
        return pd.DataFrame(index=pd.RangeIndex(n_sample)), None
    sdtypes = {name: _model_sdtype(table, name, attempt.min_count) for name in names}
    train = table.frame.loc[table.training_rows(), names].reset_index(drop=True)
    train = _protect_categories(table, train, attempt.min_count, rng)
    for name in names:
        train[name] = _training_values(train[name], table, name, sdtypes[name], attempt.min_count, rng)
    with stage("model"):
        sampled, generator = _fit_and_sample(table, train, sdtypes, n_sample, attempt.seed, target)
    for name in names:
        if table.classes[name].semantic == "datetime":
            sampled[name] = microseconds_to_datetimes(sampled[name].to_numpy(dtype="float64") * 1e6)
        if table.classes[name].semantic in ("numerical", "datetime"):
            sampled[name] = _finish_numbers(sampled[name], table, name, attempt.min_count, rng)
    return _coherent_places(table, sampled, train, rng), generator


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
    """What the model sees of numbers: no rare value of a few-valued column, dates as seconds
    (categories are protected by :func:`_protect_categories`)."""
    cls, real = table.classes[name], table.frame[name]
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
    train: pd.Series,
    real: pd.Series,
    min_count: int,
    rng: np.random.Generator,
    subjects: Subjects | None = None,
    replacer: Replacer | None = None,
) -> pd.Series:
    """Each category held by fewer than ``min_count`` people in the sample becomes another value
    (``real`` is indexed by sample row positions): a plausible one of the column's meaning from
    ``replacer`` (a country for a country, a city of the row's country for a city), one of the
    column's common categories where the meaning is unknown, or, for codes, random characters of
    its shape.

    A new value never equals a real value of the sample (nor, with the warehouse at hand, one the
    whole column holds for too few rows), so the model (and its metadata) never holds the rare
    category. One real category maps to one value, keeping the column's frequencies.
    """
    subjects = subjects or Subjects.of_rows(len(real))
    counts = subjects.value_counts(real)
    rare = set(counts.index[counts < min_count])
    if not rare:
        return train
    taken = set(counts.index)
    examples = {normalize(value): str(value) for value in real.dropna()}
    common = counts[counts >= min_count]
    planned = (
        replacer.replacements(sorted(rare), taken, [examples[key] for key in common.index],
                              (common / common.sum()).to_numpy(dtype=float), rng)
        if replacer else {}
    )  # fmt: skip
    replacements: dict[str, str] = {}
    for key in sorted(rare):
        replacements[key] = planned.get(key) or _same_shape(examples[key], taken, rng)
    keys = train.map(normalize)
    return train.where(~keys.isin(rare), keys.map(replacements))


def _same_shape(example: str, taken: set[str], rng: np.random.Generator) -> str:
    """Random characters in the shape of ``example``, equal to nothing in ``taken`` (codes)."""
    template = mask_of(example)
    replacement = fill(template, rng)
    while normalize(replacement) in taken:
        template += "\x03"
        replacement = fill(template, rng)
    taken.add(normalize(replacement))
    return replacement


def _protect_categories(table: _Table, frame: pd.DataFrame, min_count: int, rng: np.random.Generator) -> pd.DataFrame:
    """``frame`` (training rows, or rows drawn for a tiny table) with the rare categories of every
    modelled category column replaced; the country column first, so that a replaced city belongs
    to the country its row now has."""
    names = [
        name for name in frame.columns
        if table.classes[name].semantic == "categorical" and not is_public(table.classes[name])
    ]  # fmt: skip
    names.sort(key=lambda name: table.meanings.get(name) is not Meaning.COUNTRY)
    row_locales: pd.Series | None = None
    for name in names:
        replacer = _replacer(table, name, frame[name], row_locales, min_count)
        frame[name] = replace_rare_categories(frame[name], table.frame[name], min_count, rng, table.subjects, replacer)
        if table.meanings.get(name) is Meaning.COUNTRY:
            row_locales = frame[name].map(country_locale, na_action="ignore")
    return frame


def _replacer(
    table: _Table, name: str, values: pd.Series, row_locales: pd.Series | None, min_count: int
) -> Replacer | None:
    meaning = table.meanings.get(name)
    if meaning is None:
        return None
    locales = _locales_by_value(values, row_locales)
    column = table.column(name)
    real_counts = table.evidence.real_counts

    def held(candidates: list[str]) -> set[str]:
        counts = real_counts(column, "categorical", candidates) if real_counts else {}
        return {key for key, rows in counts.items() if rows < min_count}

    return Replacer(
        meaning, Style.of(table.frame[name]), lambda key: locales.get(key) or table.default_locale, held,
        frozenset(locale.split("_")[0] for locale in table.locales),
    )


def _locales_by_value(values: pd.Series, row_locales: pd.Series | None) -> dict[str, str]:
    """Normalised value -> the locale most of the rows holding it are in (by their country)."""
    if row_locales is None:
        return {}
    pairs = pd.DataFrame({"key": values.map(normalize), "locale": row_locales}).dropna()
    if pairs.empty:
        return {}
    return pairs.groupby("key")["locale"].agg(lambda locales: locales.mode().iloc[0]).to_dict()


def _coherent_places(table: _Table, sampled: pd.DataFrame, train: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Cities and states that agree with their row's country: a sampled (country, city) pair the
    training rows never hold gets a city those rows hold with that country (or, for a country they
    hold no city of, a new one of its locale). Only protected training values are reused."""
    country = next((n for n in train.columns if table.meanings.get(n) is Meaning.COUNTRY), None)
    if country is None or country not in sampled.columns:
        return sampled
    for name in train.columns:
        if table.meanings.get(name) not in (Meaning.CITY, Meaning.SUBDIVISION) or name not in sampled.columns:
            continue
        seen = train[[country, name]].dropna()
        by_country = {key: group[name].to_numpy() for key, group in seen.groupby(country)}
        pairs = set(zip(seen[country], seen[name]))
        wrong = [i for i, pair in enumerate(zip(sampled[country], sampled[name]))
                 if pd.notna(pair[1]) and pd.notna(pair[0]) and pair not in pairs]  # fmt: skip
        for position in wrong:
            choices = by_country.get(sampled.at[position, country])
            if choices is not None and len(choices):
                sampled.at[position, name] = choices[int(rng.integers(len(choices)))]
            else:
                sampled.at[position, name] = None
    return sampled


def _fit_and_sample(
    table: _Table, train: pd.DataFrame, sdtypes: dict[str, str], n_rows: int, seed: int, target: Target | None
) -> tuple[pd.DataFrame, GeneratorReport]:
    """The generator the settings name, fitted on the protected training rows; its report."""
    name = table.settings.synthesizer
    try:
        generator = open_generator(name, table.settings.generator_settings, seed)
    except ValueError as exc:  # unknown generator or bad settings: names keys, never values
        raise SynthesisError(f"generator {name}: {exc}") from None
    try:
        generator.fit(train, sdtypes)
        sampled = generator.sample(n_rows, target)
    except GeneratorUnavailable as exc:
        raise SynthesisError(str(exc)) from None
    except Exception as exc:  # library messages may quote values: never pass them on
        raise SynthesisError(f"the {name} model could not be fitted or sampled ({type(exc).__name__})") from None
    finally:
        generator.close()
    return sampled, generator.report


# --- rebalanced copies ---


def _rebalancing(table: _Table, spec: RebalanceSpec, rng: np.random.Generator) -> _Table:
    """The table with the copy's own size, learning from every training row of the target classes
    (each ``spec.target_weight`` times) and at most ``spec.other_rows`` others: the model's time
    goes to the rare classes. The gate still compares with every real row."""
    if table.mode is not Mode.MODEL:
        raise SynthesisError(f"rebalance: the table is not modelled ({_mode_notes(table)[0]})")
    for column in spec.columns:
        _check_rebalanced_column(table, column, table.settings.min_category_count)
    rows = table.training_rows()
    inside = Target(spec.columns, spec.target).matches(table.frame.loc[rows])
    others = rows[~inside]
    if spec.other_rows is not None and len(others) > spec.other_rows:
        others = pd.Index(np.sort(rng.choice(others.to_numpy(), spec.other_rows, replace=False)))
    trained = rows[inside].repeat(spec.target_weight).append(others)
    return replace(table, n_rows=spec.rows or table.n_rows, trained=trained)


def _target(table: _Table, min_count: int) -> Target | None:
    """The rebalance request in model space: each target value is the real category it names."""
    spec = table.settings.rebalance
    if spec is None:
        return None
    shares = []
    for number, (values, share) in enumerate(spec.target, start=1):
        real = tuple(_real_category(table, column, value, number) for column, value in zip(spec.columns, values))
        held = table.subjects.people(np.asarray(Target(spec.columns, ((real, share),)).matches(table.frame)))
        if held < min_count:
            raise SynthesisError(
                f"rebalance target {number} is held by {held} sampled people, fewer than {min_count}:"
                " a copy of it would describe them"
            )
        shares.append((real, share))
    return Target(spec.columns, tuple(shares))


def _check_rebalanced_column(table: _Table, column: str, min_count: int) -> None:
    if column not in table.modelled():
        raise SynthesisError(f"rebalance: column {column!r} is not modelled (identifying, empty or unsupported)")
    if _model_sdtype(table, column, min_count) not in ("categorical", "boolean"):
        raise SynthesisError(f"rebalance: column {column!r} is not categorical (a category, boolean or few-valued number)")


def _real_category(table: _Table, column: str, value: object, number: int) -> object:
    wanted = normalize(value)
    for real in table.frame[column].dropna().unique():
        if normalize(real) == wanted:
            return real
    raise SynthesisError(f"rebalance target {number}: no sampled value of column {column!r} equals it")


def _class_check(target: Target | None) -> ClassCheck | None:
    return ClassCheck(target.columns, tuple(values for values, _ in target.shares)) if target else None


def _class_shares(table: _Table, synthetic: pd.DataFrame, target: Target | None) -> dict | None:
    """Real (sample) against synthetic share of each target class: aggregates and the config's own values."""
    if target is None:
        return None
    spec = table.settings.rebalance
    classes = []
    for (values, share), (asked, _) in zip(target.shares, spec.target):
        one = Target(target.columns, ((values, share),))
        classes.append({
            "values": list(asked),
            "target": share,
            "real_share": round(float(one.matches(table.frame).mean()), 4),
            "synthetic_share": round(float(one.matches(synthetic).mean()), 4) if len(synthetic) else 0.0,
        })
    return {"columns": list(target.columns), "classes": classes}


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
    weights = table.locales  # counted with settings.min_category_count: the first attempt's
    if attempt.min_count != table.settings.min_category_count:
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
        about_people=describes_people(table.info),
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
    row_names = _names_of_rows(table, fakes)
    if row_names is not None:
        for name in names:
            if table.classes[name].semantic == "email" and name not in foreign:
                fakes[name] = emails_following_names(fakes[name], row_names, table.column(name), ctx)
    return pd.DataFrame(fakes, index=modelled.index)


def _names_of_rows(table: _Table, fakes: dict[str, pd.Series]) -> pd.DataFrame | None:
    """Each synthetic row's fake given and family name, from the table's person-name columns
    (a first and a last name column, or full names), for e-mails that spell them; None without."""
    parts: dict[str, pd.Series] = {}
    for name, values in fakes.items():
        if table.classes[name].semantic != "person_name":
            continue
        part = name_part(name, table.frame[name].dropna())
        if part == "first_name":
            parts.setdefault("given", values)
        elif part == "last_name":
            parts.setdefault("family", values)
        elif "given" not in parts:
            words = values.str.split()
            parts.setdefault("given", words.str[0])
            parts.setdefault("family", words.str[-1])
    return pd.DataFrame(parts).reset_index(drop=True) if {"given", "family"} <= set(parts) else None


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

