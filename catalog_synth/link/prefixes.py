"""A text whose first characters follow a foreign key into a reference table (a schema-wide rule, issue 20).

A customer's phone starts with its nation's country code; an account number with its branch's
code. The phone is faked (identifying) and the nation key re-drawn by the linker, so the two
drift apart: a query counting customers by the first two characters of their phone counts
random codes. Here the prefix and the parent go together:

* **worker side** (:func:`find_prefixes`, from the sample): a text column whose first ``k``
  characters (the longest ``k`` up to ``MAX_PREFIX``) are one-to-one with the real parent of a
  reference table on at least ``PREFIX_RULE_SHARE`` of the rows is a rule; it keeps, per parent
  held by at least ``min_category_count`` of the table's people, the token of that parent's real
  key (link/labels.py), the prefix and its rows. A prefix fewer people hold is not kept;
* **on the model's rows, before the gate** (:func:`keep_prefixes`): each row's text gets the prefix
  of a parent drawn by those rows; the rest of the value stays as faked, and the gate checks the
  whole value as always;
* **linking** (:func:`with_prefix_tokens`): each row's prefix names the token of its parent, and
  the linker gives it the synthetic parent holding that real row's labels
  (:func:`catalog_synth.link.labels.matched_parents`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from catalog_synth.core.types import ColumnKind, TableInfo
from catalog_synth.core.values import normalize
from catalog_synth.link.assign import scale_to
from catalog_synth.link.enforce import Outcome
from catalog_synth.link.labels import token
from catalog_synth.link.rules import Rule

if TYPE_CHECKING:
    from catalog_synth.link.plan import KeyPlan
    from catalog_synth.link.profile import KeyProfile
    from catalog_synth.protect.subjects import Subjects

MAX_PREFIX = 4
PREFIX_RULE_SHARE = 0.99
# The parents whose prefix is kept must hold at least this share of the rows, else no rule.
MIN_PREFIX_COVER = 0.9


def find_prefixes(info: TableInfo, sample: pd.DataFrame, plan: KeyPlan, subjects: Subjects, min_count: int
                  ) -> list[Rule]:
    """Prefixes of text columns that follow a reference parent, from the sample (worker side)."""
    if not plan.label_secret or sample.empty:
        return []
    keys = {c for fk in info.foreign_keys for c in fk.columns} | set(info.primary_key)
    texts = [c.name for c in info.columns if c.kind is ColumnKind.STRING and c.name not in keys and c.name in sample]
    rules = []
    for parent_keys in plan.measured:
        relationship = parent_keys.relationship
        if not parent_keys.reference or not set(relationship.columns) <= set(sample.columns):
            continue
        parents = sample[list(relationship.columns)].astype(str).agg("\x1f".join, axis=1)
        parents = parents.where(sample[list(relationship.columns)].notna().all(axis=1))
        for column in texts:
            found = _prefix(sample, column, parents, relationship.columns, plan.label_secret, subjects, min_count)
            if found is not None:
                length, mapping, share, rows = found
                rules.append(Rule("prefix", column, f"{column}[:{length}]", share, rows, relationship, prefixes=mapping))
    return rules


def _prefix(sample: pd.DataFrame, column: str, parents: pd.Series, columns: tuple[str, ...], secret: bytes,
            subjects: Subjects, min_count: int) -> tuple[int, tuple[tuple[int, str, int], ...], float, int] | None:
    """The longest prefix of ``column`` one-to-one with ``parents``: its length, (token, prefix,
    rows) per parent its people hold often enough, the share of rows it holds on, and the rows."""
    values = sample[column].where(sample[column].map(lambda v: isinstance(v, str) and len(v) > MAX_PREFIX))
    present = values.notna() & parents.notna()
    if present.sum() < 2 * min_count or parents[present].nunique() < 2:
        return None
    for length in range(MAX_PREFIX, 0, -1):
        prefix = values[present].str[:length]
        pairs = pd.DataFrame({"parent": parents[present], "prefix": prefix})
        counted = pairs.groupby(["parent", "prefix"]).size().sort_values(ascending=False, kind="stable")
        top = counted.reset_index().drop_duplicates("parent")
        if top["prefix"].duplicated().any() or top[0].sum() < PREFIX_RULE_SHARE * present.sum():
            continue  # two parents share a prefix, or too many rows break it
        rare = subjects.rare(values.str[:length].where(present).reset_index(drop=True), min_count)
        kept = top[~top["prefix"].map(normalize).isin(rare)]
        if kept[0].sum() < MIN_PREFIX_COVER * present.sum():
            return None  # most parents are held by too few people to show their prefix
        first = sample.loc[present, list(columns)].groupby(parents[present]).first()
        mapping = tuple((token(secret, first.loc[p].tolist()), prefix, int(n))
                        for p, prefix, n in kept.itertuples(index=False))  # fmt: skip
        mapping = tuple(m for m in mapping if m[0] is not None)
        rows = int(present.sum())
        return (length, mapping, float(top[0].sum() / rows), rows) if len(mapping) >= 2 else None
    return None


def keep_prefixes(frame: pd.DataFrame, rules: Sequence[Rule], rng: np.random.Generator) -> list[Outcome]:
    """Each row's text starts with the prefix of a parent drawn by the real rows (in place)."""
    outcomes = []
    for rule in rules:
        if rule.kind != "prefix" or rule.column not in frame.columns or not rule.prefixes:
            continue
        values = frame[rule.column]
        length = len(rule.prefixes[0][1])
        long_enough = values.map(lambda v: isinstance(v, str) and len(v) > length).astype(bool)
        rest = max(rule.rows - sum(n for _, _, n in rule.prefixes), 0)  # rows of parents not kept: as faked
        weights = np.array([*(n for _, _, n in rule.prefixes), rest], dtype="float64")
        counts = scale_to(weights, int(long_enough.sum()), rng)  # as many as the real rows, to the row
        drawn = np.repeat(np.array([*(p for _, p, _ in rule.prefixes), ""], dtype=object), counts)
        rng.shuffle(drawn)
        updated = values.astype(object).copy()
        updated.loc[long_enough] = [v if not p else p + v[length:] for p, v in zip(drawn, values[long_enough])]
        frame[rule.column] = updated
        rows = int(values.notna().sum())
        after = float(long_enough.sum() / rows) if rows else None
        outcomes.append(Outcome(rule, None, after, f"{int(long_enough.sum())} rows start with the prefix of a parent"
                                " drawn as often as in the real table, and get that parent"))
    return outcomes


def with_prefix_tokens(profile: KeyProfile, data: pd.DataFrame, rules: Sequence[Rule]) -> KeyProfile:
    """Per relationship a prefix rule follows, the token of each row's parent, named by its prefix."""
    from catalog_synth.link.profile import RelationProfile

    relations = {r.relationship: r for r in profile.relations}
    for rule in rules:
        if rule.kind != "prefix" or rule.column not in data.columns or not rule.prefixes:
            continue
        by_prefix = {p: t for t, p, _ in rule.prefixes}
        length = len(rule.prefixes[0][1])
        tokens = tuple(by_prefix.get(v[:length]) if isinstance(v, str) else None for v in data[rule.column])
        measured = relations.get(rule.relationship) or RelationProfile(rule.relationship, {})
        relations[rule.relationship] = replace(measured, row_tokens=tokens)
    profile.relations = list(relations.values())
    return profile
