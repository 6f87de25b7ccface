"""Rebalanced copies: the model learns every training row of the target classes (weighted) and a
bounded number of others; the copy holds the asked shares of the target's real categories."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from catalog_synth.core.types import RebalanceSpec, Semantic, SynthesisError
from catalog_synth.core.values import normalize
from catalog_synth.model import Target
from catalog_synth.model.sample import model_sdtype
from catalog_synth.protect.prepare import Mode, PreparedTable, mode_notes


def rebalancing(table: PreparedTable, spec: RebalanceSpec, rng: np.random.Generator) -> PreparedTable:
    """The table with the copy's own size, learning from every training row of the target classes
    (each ``spec.target_weight`` times) and at most ``spec.other_rows`` others: the model's time
    goes to the rare classes. The gate still compares with every real row."""
    if table.mode is not Mode.MODEL:
        raise SynthesisError(f"rebalance: the table is not modelled ({mode_notes(table)[0]})")
    for column in spec.columns:
        _check_rebalanced_column(table, column, table.settings.min_category_count)
    rows = table.training_rows()
    inside = Target(spec.columns, spec.target).matches(table.frame.loc[rows])
    others = rows[~inside]
    if spec.other_rows is not None and len(others) > spec.other_rows:
        others = pd.Index(np.sort(rng.choice(others.to_numpy(), spec.other_rows, replace=False)))
    trained = rows[inside].repeat(spec.target_weight).append(others)
    return replace(table, n_rows=spec.rows or table.n_rows, trained=trained)


def target_of(table: PreparedTable, min_count: int) -> Target | None:
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


def _check_rebalanced_column(table: PreparedTable, column: str, min_count: int) -> None:
    if column not in table.modelled():
        raise SynthesisError(f"rebalance: column {column!r} is not modelled (identifying, empty or unsupported)")
    if model_sdtype(table, column, min_count) not in (Semantic.CATEGORICAL, Semantic.BOOLEAN):
        raise SynthesisError(
            f"rebalance: column {column!r} is not categorical (a category, boolean or few-valued number)"
        )


def _real_category(table: PreparedTable, column: str, value: object, number: int) -> object:
    wanted = normalize(value)
    for real in table.frame[column].dropna().unique():
        if normalize(real) == wanted:
            return real
    raise SynthesisError(f"rebalance target {number}: no sampled value of column {column!r} equals it")


def class_shares(table: PreparedTable, synthetic: pd.DataFrame, target: Target | None) -> dict | None:
    """Real (sample) against synthetic share of each target class: aggregates and the config's own values."""
    if target is None:
        return None
    spec = table.settings.rebalance
    classes = []
    for (values, share), (asked, _) in zip(target.shares, spec.target):
        one = Target(target.columns, ((values, share),))
        classes.append(
            {
                "values": list(asked),
                "target": share,
                "real_share": round(float(one.matches(table.frame).mean()), 4),
                "synthetic_share": round(float(one.matches(synthetic).mean()), 4) if len(synthetic) else 0.0,
            }
        )
    return {"columns": list(target.columns), "classes": classes}


def meet_shares(sampled: pd.DataFrame, target: Target, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``n_rows`` of the sampled rows, each target class holding its share (rounded to a
    row) and the rest outside the target: the generator samples a spare share of rows, so its own
    drift from the asked shares (and rows dropped as copies) does not reach the copy. When a class
    ran short, the copy is smaller rather than off its shares."""
    classes = [np.flatnonzero(Target(target.columns, (pair,)).matches(sampled)) for pair in target.shares]
    others = np.flatnonzero(~target.matches(sampled))
    shares = [share for _, share in target.shares]
    rest = 1.0 - sum(shares)
    limits = [n_rows] + [len(rows) / share for rows, share in zip(classes, shares)]
    limits.append(len(others) / rest if rest > 0 else n_rows)
    total = int(np.floor(min(limits) + 1e-9))
    counts = [min(len(rows), int(round(total * share))) for rows, share in zip(classes, shares)]
    picked = [rows[:count] for rows, count in zip(classes, counts)]
    picked.append(others[: max(0, total - sum(counts))])
    order = rng.permutation(np.concatenate(picked).astype(int))
    return sampled.iloc[order].reset_index(drop=True)
