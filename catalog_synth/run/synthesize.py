"""One table's synthesis: real sample in, gated synthetic copy out.

    prepare (classify, holdout, meanings: protect/prepare.py)
    -> per attempt: model (model/sample.py; reference and tiny tables drawn, not learnt)
                    -> fakes for identifying columns (protect/table_fakes.py)
                    -> privacy gate (gate/checks.py; the second attempt is stricter, on a new split)
    -> quality score (gate/quality.py) -> output types (model/frames.py)

An empty table gives an empty copy. Identifying columns never reach the model: their values are
format-preserving fakes, checked against the whole real column where a warehouse is at hand.
Nothing returned carries a real value; errors name columns, never values. Models are not kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from catalog_synth.core.frames import from_model_space
from catalog_synth.core.generators import rare_class_warning
from catalog_synth.core.timings import stage
from catalog_synth.core.types import (
    GateFailed,
    GateResult,
    Semantic,
    SynthesisError,
    SynthesisSettings,
    SyntheticTable,
    TableInfo,
)
from catalog_synth.gate.checks import ClassCheck, GateInput, run_gate
from catalog_synth.gate.quality import quality_score
from catalog_synth.gate.utility import rebalance_utility, utility_warning
from catalog_synth.link.bands import keep_bands
from catalog_synth.link.enforce import within
from catalog_synth.link.offsets import place_within
from catalog_synth.link.prefixes import keep_prefixes
from catalog_synth.link.rules import Rule
from catalog_synth.model import GeneratorReport, Target
from catalog_synth.model.rebalance import (
    class_shares,
    meet_shares,
    rebalancing,
    target_of,
)
from catalog_synth.model.sample import (
    finish_numbers,
    generated_columns,
    reference_rows,
    sample_model,
)
from catalog_synth.protect.evidence import Evidence
from catalog_synth.protect.prepare import (
    Attempt,
    Mode,
    PreparedTable,
    category_codes,
    checked_key,
    dropped_columns,
    mode_notes,
    prepare_table,
)
from catalog_synth.protect.rare import holdout
from catalog_synth.protect.table_fakes import (
    fake_identifying_columns,
    unique_primary_key,
    within_lengths,
)

LOG = logging.getLogger(__name__)


def synthesize_table(
    info: TableInfo,
    sample: pd.DataFrame,
    settings: SynthesisSettings,
    evidence: Evidence | None = None,
    rules: Sequence[Rule] = (),
) -> SyntheticTable:
    """Synthesize one table; raises TableSkipped, GateFailed or SynthesisError (never with a value).

    ``evidence`` is what the worker learnt from the warehouse (who each row is about, whether
    the table is a reference table, lookups of real values); without it rows are counted. With
    ``settings.rebalance`` the copy is a rebalanced one: the target's shares of rows hold its
    values, and the gate also checks the rows of each target class on their own. ``rules``:
    the table's schema-wide rules (link/rules.py); its own order rules hold on the model's rows
    at their real share before the gate (link/enforce.py).
    """
    with stage("classify"):
        table = prepare_table(info, sample, settings, evidence or Evidence.of_sample(sample))
    rng = np.random.default_rng(settings.seed)
    if settings.rebalance:
        table = rebalancing(table, settings.rebalance, rng)
    gate = GateResult()
    for number in (1, 2):
        if number == 2:
            table = _split_again(table, rng)
        attempt = Attempt(number, attempt_min_count(table, number), int(rng.integers(2**31)))
        target = target_of(table, attempt.min_count)
        with stage("generate"):
            synthetic, generator, kept = _generate(table, attempt, rng, target, rules)
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
    rebalance, notes = _rebalance_measures(table, synthetic, target)
    with stage("generate"):
        data = _output(table, synthetic)
    return SyntheticTable(
        ref=info.ref,
        info=info,
        data=data,
        preview_rows=min(settings.preview_rows, len(synthetic)),
        classes=table.classes,
        dropped_columns=dropped_columns(info, sample, table.classes),
        quality=quality,
        gate=gate,
        synced_at=datetime.now(timezone.utc),
        notes=[*mode_notes(table), *(outcome.note() for outcome in kept), *notes],
        generator=generator,
        rebalance=rebalance,
        shortfall=_shortfall(table, len(data)),
    )


def _rebalance_measures(
    table: PreparedTable, synthetic: pd.DataFrame, target: Target | None
) -> tuple[dict | None, list[str]]:
    """A rebalanced copy's class shares, utility and diversity, and its warnings; raises
    SynthesisError for a copy whose gain is below the request's ``min_gain``."""
    shares = class_shares(table, synthetic, target)
    if shares is None:
        return None, []
    settings = table.settings
    with stage("utility"):
        shares.update(rebalance_utility(table, synthetic, target, settings.min_category_count, settings.seed or 0))
    notes = [note for note in (rare_class_warning(settings.synthesizer), utility_warning(shares["utility"])) if note]
    min_gain = settings.rebalance.min_gain
    utility = shares["utility"]
    if min_gain is not None and (not utility["measured"] or utility["gain_auc_roc"] < min_gain):
        measured = f"gain {utility['gain_auc_roc']:+.3f}" if utility["measured"] else f"not measured: {utility['reason']}"
        raise SynthesisError(f"rebalanced copy not published: utility {measured}, below min_gain {min_gain:+.3f}")
    return shares, notes


def _shortfall(table: PreparedTable, rows: int) -> list[str]:
    """Why the copy is short of ``table.n_rows`` (replacements were drawn: these are what is left)."""
    short = table.n_rows - rows
    if short <= 0:
        return []
    if table.mode is Mode.MODEL:
        return [f"{short} rows short after drawing replacements for rows the protections removed"
                " (copies of rare real rows, repeated composite keys)"]  # fmt: skip
    return [f"{short} rows short: repeated composite keys were removed"]


def _gate_input(table: PreparedTable, synthetic: pd.DataFrame, target: Target | None) -> GateInput:
    key = checked_key(table.info, table.settings)
    return GateInput(
        table.frame, table.holdout, synthetic, table.classes, key, table.forbidden, table.subjects,
        modelled_rows=table.mode is Mode.MODEL, class_check=_class_check(target), trained=table.trained,
    )  # fmt: skip


def attempt_min_count(table: PreparedTable, number: int) -> int:
    """``k`` on the first attempt, ``2k`` on the second, but never more than the table's people
    (when they are ``k`` or more): a value every one of them holds (a warehouse table's one
    country) says nothing about any of them, and stays common however strict the attempt."""
    k = table.settings.min_category_count
    people = table.subjects.people(np.ones(table.subjects.rows, dtype=bool))
    return k * number if people < k else max(k, min(k * number, people))


def _split_again(table: PreparedTable, rng: np.random.Generator) -> PreparedTable:
    """The table with a new holdout, for the gate's second attempt (and, for a rebalanced copy,
    its training rows drawn again from the new training part).

    Where the model puts rows in a region few real rows share (the long tail of a duration), the
    distance check's share depends on which side of the split those few rows fell; a model that
    memorises its training rows is closer to them under any split. The second attempt is also
    stricter (twice ``min_category_count``)."""
    settings = table.settings
    categories = category_codes(table.frame, table.classes)
    held_out = holdout(table.subjects.holdout_groups(), settings.holdout_share, rng, categories)
    fresh = replace(table, holdout=held_out, trained=None)
    return rebalancing(fresh, settings.rebalance, rng) if settings.rebalance else fresh


def _generate(
    table: PreparedTable, attempt: Attempt, rng: np.random.Generator, target: Target | None, rules: Sequence[Rule]
) -> tuple[pd.DataFrame, GeneratorReport | None, list]:
    generator = None
    if table.mode is Mode.REFERENCE:
        modelled = reference_rows(table, rng)
    elif table.mode is Mode.GENERATED:
        modelled = generated_columns(table, attempt, rng)
    else:
        modelled, generator = sample_model(table, attempt, rng, target)  # rare-row copies replaced
        if target is not None:
            modelled = meet_shares(modelled, target, table.n_rows, rng)
    for name in table.empty():
        modelled[name] = None
    modelled = modelled.head(table.n_rows).reset_index(drop=True)
    with stage("fakes"):
        fakes = fake_identifying_columns(table, modelled, attempt, rng)
    synthetic = pd.concat([modelled, fakes], axis=1)[[c.name for c in table.columns]]
    with stage("enforce"):
        kept, placed = place_within(synthetic, rules, rng)
        rest = [rule for rule in rules if rule not in placed]
        kept += [*within(synthetic, rest, rng), *keep_bands(synthetic, rules, rng), *keep_prefixes(synthetic, rules, rng)]
        _off_rare_extremes(synthetic, table, {rule.column for rule in rules}, attempt.min_count, rng)
    return unique_primary_key(table, within_lengths(table, synthetic), rng), generator, kept


def _off_rare_extremes(
    synthetic: pd.DataFrame, table: PreparedTable, columns: set[str], min_count: int, rng: np.random.Generator
) -> None:
    """Dates and amounts the rules moved (an offset from their anchor) can land on a real extreme
    held by few people, as the model's values could: move those inward again."""
    for name in sorted(columns & set(synthetic.columns)):
        values = synthetic[name]
        numeric = pd.api.types.is_datetime64_any_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype)
        if numeric and table.classes[name].semantic in (Semantic.NUMERICAL, Semantic.DATETIME):
            synthetic[name] = finish_numbers(values, table, name, min_count, rng)


def _class_check(target: Target | None) -> ClassCheck | None:
    return ClassCheck(target.columns, tuple(values for values, _ in target.shares)) if target else None


def _output(table: PreparedTable, synthetic: pd.DataFrame) -> pd.DataFrame:
    nullable = {c.name for c in table.columns if c.nullable and table.frame[c.name].isna().any()}
    return from_model_space(synthetic, table.columns, table.real.timezones, nullable)
