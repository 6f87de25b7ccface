"""The parts of link/labels.py and the linker's overlapping keys, on small frames (no SDV, no warehouse).

The end-to-end measurements on public databases are in ``test_schema_consistency.py``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from catalog_synth.core.types import TableRef, with_rows_note
from catalog_synth.link.assign import covered_by_wider
from catalog_synth.link.labels import (
    EMPTY,
    key_tokens,
    matched_parents,
    smooth_rare,
    token,
    token_positions,
    weighted_parents,
)
from connectors.graph import KeyGraph, Relationship


def test_tokens_match_across_types_and_depend_on_the_run_secret() -> None:
    assert token(b"s", (3,)) == token(b"s", (np.int64(3),)) == token(b"s", ("3",))
    assert token(b"s", (3,)) != token(b"t", (3,))
    assert token(b"s", (None,)) is None and token(b"", (3,)) is None


def test_a_rare_label_gets_one_common_weight_not_its_count() -> None:
    smoothed = smooth_rare({1: 100, 2: 4, 3: 1, 4: 0}, min_count=5)
    assert smoothed == {1: 100.0, 2: 2.5, 3: 2.5}


def test_children_follow_the_counts_per_label() -> None:
    pool = pd.DataFrame({"genre_id": [900, 901, 902]})
    positions = token_positions(pool, key_tokens(pool, ("genre_id",), [11, 12, 13]))
    assert positions == {11: 0, 12: 1, 13: 2}
    parents = weighted_parents(1000, positions, {11: 600.0, 12: 300.0, 13: 100.0}, 0.0, np.random.default_rng(0))
    assert np.bincount(parents).tolist() == [600, 300, 100]
    assert weighted_parents(10, positions, {99: 5.0}, 0.0, np.random.default_rng(0)) is None  # nothing counted


def test_a_kept_row_gets_the_parent_holding_its_real_parents_labels() -> None:
    fallback = np.array([7, 7, 7, 7])
    assert matched_parents([12, None, 99, EMPTY], {11: 0, 12: 1}, fallback).tolist() == [1, 7, 7, -1]


def test_a_key_inside_a_wider_key_to_a_parent_that_points_at_its_parent_is_drawn_with_it() -> None:
    ref = {name: TableRef("w", "s", name) for name in ("lineitem", "partsupp", "part", "supplier", "orders")}
    wide = Relationship(ref["lineitem"], ("l_partkey", "l_suppkey"), ref["partsupp"], ("ps_partkey", "ps_suppkey"))
    part = Relationship(ref["lineitem"], ("l_partkey",), ref["part"], ("p_partkey",))
    supplier = Relationship(ref["lineitem"], ("l_suppkey",), ref["supplier"], ("s_suppkey",))
    orders = Relationship(ref["lineitem"], ("l_orderkey",), ref["orders"], ("o_orderkey",))
    ps_part = Relationship(ref["partsupp"], ("ps_partkey",), ref["part"], ("p_partkey",))
    graph = KeyGraph({}, [wide, part, supplier, orders, ps_part])
    pools = {r: pd.DataFrame({"k": [1]}) for r in (wide, part, supplier, orders)}
    covered = covered_by_wider(graph, [wide, part, supplier, orders], pools)
    # partsupp's part keys point at part: covered; no partsupp(ps_suppkey) -> supplier is declared here
    assert covered == {part: wide}


def test_a_short_copy_says_how_many_rows_and_why() -> None:
    notes = with_rows_note(["reference table"], 600, 465, ["135 rows short after replacements"])
    assert notes == ["reference table", "465 of the 600 rows asked: 135 rows short after replacements"]
    assert with_rows_note(notes, 600, 600, []) == ["reference table"]
