"""The synthesis stage: real sample in, gated synthetic copy out.

    classify columns -> split off a holdout -> replace rare categories -> fit SDV on the
    modelled columns of the training rows -> sample -> round, move real extremes inward,
    drop copies of rare real rows -> fakes for identifying columns -> privacy gate
    (one stricter retry) -> quality score -> output types

Identifying columns never reach the model: their values are format-preserving fakes.
Nothing returned carries a real value; errors name columns, never values. Models are not
kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from catalog_synth.generators import GeneratorReport, GeneratorUnavailable, Target, open_generator
from catalog_synth.privacy.classify import UNSUPPORTED, classify_columns, is_public
from catalog_synth.privacy.fakes import FakeContext, fake_column, fake_foreign_key, fill, mask_of
from catalog_synth.privacy.frames import (
    ColumnTypeError,
    ModelFrame,
    from_model_space,
    microseconds_to_datetimes,
    resolution,
    to_model_space,
)
from catalog_synth.privacy.gate import (
    ClassCheck,
    GateInput,
    as_numbers,
    forbidden_identifying_values,
    rare_extremes,
    rare_normalized,
    row_keys,
    run_gate,
)
from catalog_synth.privacy.locales import country_column, infer_locale_weights, row_locales
from catalog_synth.privacy.quality import quality_score
from catalog_synth.privacy.values import normalize, normalized_set
from catalog_synth.types import (
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
    trained: pd.Index | None = None  # rows the model learns from (None: every row not held out)

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


def synthesize_table(info: TableInfo, sample: pd.DataFrame, settings: SynthesisSettings) -> SyntheticTable:
    """Synthesize one table; raises TableSkipped, GateFailed or SynthesisError (never with a value).

    With ``settings.rebalance`` the copy is a rebalanced one: the target's shares of rows hold
    its values, and the gate also checks the rows of each target class on their own.
    """
    table = _prepare(info, sample, settings)
    rng = np.random.default_rng(settings.seed)
    if settings.rebalance:
        table = _rebalancing(table, settings.rebalance, rng)
    gate = GateResult()
    for number in (1, 2):
        attempt = _Attempt(number, settings.min_category_count * number, int(rng.integers(2**31)))
        target = _target(table, attempt.min_count)
        synthetic, generator = _generate(table, attempt, rng, target)
        gate = run_gate(
            GateInput(table.frame, table.holdout, synthetic, table.classes, _checked_key(info, settings), table.forbidden,
                      _class_check(target), table.trained),
            attempt.min_count,
            settings.dcr_threshold,
            rng,
        )
        gate.attempts = number
        if gate.passed:
            break
        LOG.info("%s: privacy gate attempt %d failed: %s", info.ref, number, gate.summary())
    if not gate.passed:
        raise GateFailed(gate)
    return SyntheticTable(
        ref=info.ref,
        info=info,
        data=_output(table, synthetic),
        preview_rows=min(settings.preview_rows, len(synthetic)),
        classes=table.classes,
        dropped_columns=_dropped(info, sample, table.classes),
        quality=quality_score(table.frame, synthetic, table.classes, seed=settings.seed or 0),
        gate=gate,
        synced_at=datetime.now(timezone.utc),
        generator=generator,
        rebalance=_class_shares(table, synthetic, target),
    )


def _prepare(info: TableInfo, sample: pd.DataFrame, settings: SynthesisSettings) -> _Table:
    if all(column.kind is ColumnKind.UNSUPPORTED for column in info.columns):
        raise TableSkipped("no column has a type that can be synthesized")
    if sample.empty:
        raise TableSkipped("the table is empty")
    if len(sample) < settings.min_rows:
        raise TableSkipped(
            f"only {len(sample)} rows: at least {settings.min_rows} are needed to synthesize without copying anyone"
        )
    candidates = [c for c in info.columns if c.kind is not ColumnKind.UNSUPPORTED and c.name in sample.columns]
    try:
        real = to_model_space(sample, candidates)
    except ColumnTypeError as exc:
        raise SynthesisError(str(exc)) from None
    classes = classify_columns(info, sample, settings)  # raw values: exact for 64-bit ids
    columns = [c for c in candidates if classes[c.name].semantic != UNSUPPORTED]
    if not columns:
        raise TableSkipped("no column of a type that can be synthesized was in the sample")
    n_rows = min(settings.copy_rows, max(info.row_count, len(sample)))
    holdout = _holdout(len(sample), settings.holdout_share, np.random.default_rng(settings.seed))
    forbidden = forbidden_identifying_values(real.frame, classes)
    return _Table(info, columns, real, classes, holdout, n_rows, settings, forbidden)


def _holdout(n_rows: int, share: float, rng: np.random.Generator) -> pd.Index:
    size = max(round(n_rows * share), min(n_rows // 2, MIN_HOLDOUT_ROWS), 1)
    return pd.Index(np.sort(rng.choice(n_rows, size=size, replace=False)))


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
    modelled, generator = _sample_model(table, attempt, rng, target)
    for name in table.empty():
        modelled[name] = None
    modelled = _drop_rare_row_copies(table, modelled, attempt.min_count).head(table.n_rows).reset_index(drop=True)
    fakes = _fakes(table, modelled, attempt, rng)
    synthetic = pd.concat([modelled, fakes], axis=1)[[c.name for c in table.columns]]
    return _unique_primary_key(table, synthetic, rng), generator


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
    for name in names:
        train[name] = _training_values(train[name], table, name, sdtypes[name], attempt.min_count, rng)
    sampled, generator = _fit_and_sample(table, train, sdtypes, n_sample, attempt.seed, target)
    for name in names:
        if table.classes[name].semantic == "datetime":
            sampled[name] = microseconds_to_datetimes(sampled[name].to_numpy(dtype="float64") * 1e6)
        if table.classes[name].semantic in ("numerical", "datetime"):
            sampled[name] = _finish_numbers(sampled[name], table, name, attempt.min_count, rng)
    return sampled, generator


def _model_sdtype(table: _Table, name: str, min_count: int) -> str:
    """SDV sdtype: numbers and dates with few distinct values are learnt as categories."""
    semantic = table.classes[name].semantic
    if semantic in ("numerical", "datetime"):
        counts = table.frame[name].value_counts()
        discrete = len(counts) <= DISCRETE_LEVELS and bool((counts >= min_count).any())
        return "categorical" if discrete else "numerical"
    return semantic


def _training_values(
    train: pd.Series, table: _Table, name: str, sdtype: str, min_count: int, rng: np.random.Generator
) -> pd.Series:
    """What the model sees: no rare category, dates as seconds."""
    cls, real = table.classes[name], table.frame[name]
    if cls.semantic == "categorical" and not is_public(cls):
        return replace_rare_categories(train, real, min_count, rng)
    if cls.semantic in ("numerical", "datetime"):
        numbers = pd.Series(as_numbers(train), index=train.index)
        if sdtype == "categorical" and not is_public(cls):
            numbers = merge_rare_numbers(numbers, pd.Series(as_numbers(real)), min_count)
        return numbers / 1e6 if cls.semantic == "datetime" else numbers  # seconds: SDV sees plain numbers
    return train


def merge_rare_numbers(train: pd.Series, real: pd.Series, min_count: int) -> pd.Series:
    """Values seen fewer than ``min_count`` times in the sample become the nearest common value."""
    counts = real.value_counts()
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
    train: pd.Series, real: pd.Series, min_count: int, rng: np.random.Generator
) -> pd.Series:
    """Each category seen fewer than ``min_count`` times in the sample becomes a new value of its shape.

    The new value differs from every real value, so the model (and its metadata) never holds the
    rare category. One real category maps to one new value, keeping the column's frequencies.
    """
    rare = rare_normalized(real, min_count)
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
        held = int(Target(spec.columns, ((real, share),)).matches(table.frame).sum())
        if held < min_count:
            raise SynthesisError(
                f"rebalance target {number} is held by {held} sampled rows, fewer than {min_count}:"
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
    numbers = as_numbers(values)
    if step:
        numbers = np.round(numbers / step) * step
    if not is_public(table.classes[name]):
        numbers = avoid_extremes(numbers, as_numbers(real.dropna()), min_count, step, rng)
    if is_datetime:
        return microseconds_to_datetimes(numbers).set_axis(values.index)
    return pd.Series(numbers, index=values.index)


def avoid_extremes(
    numbers: np.ndarray, real: np.ndarray, min_count: int, step: float | None, rng: np.random.Generator
) -> np.ndarray:
    """Values equal to a real extreme shared by fewer than ``min_count`` rows move toward the
    ``min_count``-th value from that end (never onto the extreme itself)."""
    ordered = np.sort(real)
    out = numbers.copy()
    for extreme in rare_extremes(pd.Series(real), min_count):
        hits = out == extreme
        if not hits.any():
            continue
        direction = 1.0 if extreme == ordered[0] else -1.0
        depth = min(min_count, len(ordered) - 1)
        inner = ordered[depth] if direction > 0 else ordered[-1 - depth]
        moved = extreme + rng.random(int(hits.sum())) * (inner - extreme)
        if step:
            moved = np.round(moved / step) * step
        moved[moved == extreme] = extreme + direction * (step or abs(inner - extreme) / 2 or 1.0)
        out[hits] = moved
    return out


def _drop_rare_row_copies(table: _Table, sampled: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """Drop synthetic rows equal (on the modelled columns) to a real row seen fewer than k times."""
    columns = list(sampled.columns)
    if not columns:
        return sampled
    counts = row_keys(table.frame, columns).value_counts()
    rare = set(counts.index[counts < min_count])
    return sampled[~row_keys(sampled, columns).isin(rare).to_numpy()]


# --- fakes ---


def _fakes(table: _Table, modelled: pd.DataFrame, attempt: _Attempt, rng: np.random.Generator) -> pd.DataFrame:
    names = table.identifying()
    n_rows = len(modelled)
    if not names:
        return pd.DataFrame(index=modelled.index)
    country = country_column(table.frame, table.classes)
    weights = infer_locale_weights(table.frame, table.classes, attempt.min_count)
    countries = modelled[country] if country in modelled.columns else None
    ctx = FakeContext(
        rng=rng,
        locales=row_locales(n_rows, weights, rng, countries),
        forbidden=table.forbidden,
        min_count=attempt.min_count,
        seed=attempt.seed,
        population=max(table.info.row_count, len(table.frame)),
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

