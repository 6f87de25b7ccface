"""Rules that keep a shape, not only a share (issue 20): a child's date at a real-like offset from
its parent's, a category that follows the range of a date, a text prefix that follows a parent
in a reference table. Unit tests on frames; ``test_schema_consistency.py`` checks them on TPC-H."""

from __future__ import annotations

import numpy as np
import pandas as pd

from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    SyntheticTable,
    TableInfo,
    TableRef,
)
from catalog_synth.link.bands import _groups, keep_bands
from catalog_synth.link.labels import token
from catalog_synth.link.offsets import draw, place, place_within, quantiles
from catalog_synth.link.plan import KeyPlan, ParentKeys
from catalog_synth.link.prefixes import find_prefixes, keep_prefixes, with_prefix_tokens
from catalog_synth.link.profile import KeyProfile
from catalog_synth.link.rules import Rule
from catalog_synth.protect.subjects import Subjects
from connectors.graph import Relationship

ORDERS, LINES = TableRef("w", "s", "orders"), TableRef("w", "s", "lineitem")
NATION, CUSTOMER = TableRef("w", "s", "nation"), TableRef("w", "s", "customer")


def _info(ref: TableRef, columns: dict[str, ColumnKind], key: tuple[str, ...] = ()) -> TableInfo:
    return TableInfo(ref, [ColumnInfo(n, k.value, k) for n, k in columns.items()], primary_key=key, row_count=10)


def test_offsets_are_inner_quantiles_and_draws_stay_inside_them() -> None:
    rng = np.random.default_rng(1)
    offsets = quantiles(pd.Series(rng.integers(1, 122, 5000).astype(float)))
    assert len(offsets) == 50 and 1 < offsets[0] < 5 and 117 < offsets[-1] < 121  # no extreme kept
    drawn = draw(offsets, 10_000, rng)
    assert offsets[0] <= drawn.min() and drawn.max() <= offsets[-1] and abs(np.median(drawn) - 61) < 4
    assert quantiles(pd.Series([1.0, 2.0, None])) == ()  # too few rows: no offsets


def test_a_child_date_is_placed_at_a_real_offset_from_its_synthetic_parent_and_followers_move_along() -> None:
    """Generated apart, line items shipped up to years after their order; placed, they ship 1 to
    121 days after it, and their receipt date keeps its own gap to the ship date."""
    rng = np.random.default_rng(2)
    orders = pd.DataFrame({"o_orderkey": range(500), "o_orderdate": pd.Timestamp("1992-01-01")
                           + pd.to_timedelta(rng.integers(0, 2400, 500), unit="D")})  # fmt: skip
    shipped = pd.Timestamp("1992-01-01") + pd.to_timedelta(rng.integers(0, 2500, 3000), unit="D")
    gap = pd.to_timedelta(rng.integers(1, 31, 3000), unit="D")
    lines = pd.DataFrame({"l_orderkey": rng.integers(0, 500, 3000), "l_shipdate": shipped.date,
                          "l_receiptdate": (shipped + gap).date})  # fmt: skip
    info = _info(LINES, {"l_orderkey": ColumnKind.INTEGER, "l_shipdate": ColumnKind.DATE,
                         "l_receiptdate": ColumnKind.DATE})  # fmt: skip
    relationship = Relationship(LINES, ("l_orderkey",), ORDERS, ("o_orderkey",))
    real_offsets = quantiles(pd.Series(rng.integers(1, 122, 2000).astype(float)))
    rules = [Rule("order", "l_shipdate", "o_orderdate", 1.0, 100, relationship, offsets=real_offsets),
             Rule("order", "l_receiptdate", "o_orderdate", 1.0, 100, relationship, offsets=real_offsets),
             Rule("order", "l_receiptdate", "l_shipdate", 1.0, 100)]  # fmt: skip
    table = SyntheticTable(ref=LINES, info=info, data=lines, preview_rows=0)
    outcomes, placed = place(table, rules, lambda r, c: orders, rng)
    joined = lines.merge(orders, left_on="l_orderkey", right_on="o_orderkey")
    days = (pd.to_datetime(joined.l_shipdate) - joined.o_orderdate).dt.days
    assert days.between(1, 121).all() and days.nunique() > 60, days.describe()
    assert ((pd.to_datetime(lines.l_receiptdate) - pd.to_datetime(lines.l_shipdate)).dt.days.to_numpy() == gap.days).all()
    assert [r.column for r in placed] == ["l_shipdate"]  # the receipt date follows the ship date
    assert "with l_receiptdate" in outcomes[0].action and outcomes[0].after == 1.0


def test_dates_of_one_row_keep_their_real_offsets_and_a_tendency_its_share() -> None:
    """Received 1 to 30 days after shipped (TPC-H): the model's gaps reached 51 days; committed
    before received on 85% of rows: a tendency, kept by offsets that are sometimes negative."""
    rng = np.random.default_rng(6)
    start = pd.Timestamp("1994-01-01") + pd.to_timedelta(rng.integers(0, 900, 3000), unit="D")
    frame = pd.DataFrame({"shipped": start, "received": start + pd.to_timedelta(rng.integers(-5, 60, 3000), unit="D"),
                          "committed": start + pd.to_timedelta(rng.integers(-20, 20, 3000), unit="D")})  # fmt: skip
    days = rng.integers(1, 40, 4000)
    tendency = quantiles(pd.Series(np.where(rng.random(4000) < 0.85, days, -days).astype(float)))
    one_to_thirty = quantiles(pd.Series(rng.integers(1, 31, 4000).astype(float)))
    rules = [Rule("order", "received", "shipped", 1.0, 100, offsets=one_to_thirty),
             Rule("order", "received", "committed", 0.85, 100, offsets=tendency)]  # fmt: skip
    outcomes, placed = place_within(frame, rules, rng)
    gaps = (frame.received - frame.shipped).dt.days
    assert gaps.between(1, 30).all() and gaps.nunique() == 30, gaps.describe()
    assert placed == rules[:1] and len(outcomes) == 1  # one anchor per date: the other rule keeps its share as before
    rules = [Rule("order", "committed", "shipped", 0.85, 100, offsets=tendency)]
    place_within(frame, rules, rng)
    assert abs((frame.committed >= frame.shipped).mean() - 0.85) < 0.02


def test_a_category_follows_the_range_of_its_date() -> None:
    """A line is filled (F) when shipped up to a day, open (O) after; returned (R) or accepted (A)
    both only before it: two bands, R and A sharing one."""
    day = pd.Timestamp("1995-06-17")
    ranges = pd.DataFrame({"value": ["A", "R", "N"], "rows": [400, 410, 800],
                           "low0": [day - pd.Timedelta(days=1200)] * 2 + [day + pd.Timedelta(days=1)],
                           "high0": [day, day - pd.Timedelta(days=1), day + pd.Timedelta(days=1200)]})  # fmt: skip
    groups = _groups(ranges, 0, min_count=5)
    assert [values for *_, values in groups] == [("A", "R"), ("N",)]
    assert _groups(ranges, 0, min_count=801) == []  # a band of fewer rows than k (800 open lines) is no rule
    cut = (groups[0][1] + groups[1][0]) / 2
    rng = np.random.default_rng(3)
    dates = day + pd.to_timedelta(rng.integers(-900, 900, 4000), unit="D")
    frame = pd.DataFrame({"flag": rng.choice(["A", "R", "N"], 4000), "received": dates})
    (outcome,) = keep_bands(frame, [Rule("band", "flag", "received", 1.0, 100, cuts=(cut,), bands=(("A", "R"), ("N",)))], rng)
    late = frame.received > day
    assert (frame.flag[late] == "N").all() and frame.flag[~late].isin(["A", "R"]).all(), outcome.note()
    assert 0.4 < (frame.flag[~late] == "A").mean() < 0.6  # no counts: the band's values alike
    weighted = Rule("band", "flag", "received", 1.0, 100, cuts=(cut,), bands=(("A", "R"), ("N",)),
                    band_rows=((300, 100), (5,)))
    kept_rows = frame.flag[~late & (frame.flag == "A")].index[:100]
    keep_bands(frame, [weighted], rng)
    assert abs((frame.flag[~late] == "A").mean() - 0.75) < 0.01  # as often as in the real rows of the band
    assert (frame.flag[kept_rows] == "A").all()  # rows whose value has room keep it


def _nation_plan(secret: bytes) -> KeyPlan:
    relationship = Relationship(CUSTOMER, ("c_nationkey",), NATION, ("n_nationkey",))
    parent = ParentKeys(relationship, _info(NATION, {"n_nationkey": ColumnKind.INTEGER}), reference=True)
    return KeyPlan(measured=(parent,), label_secret=secret)


def test_a_phone_prefix_follows_its_nation_and_names_the_synthetic_parent() -> None:
    rng = np.random.default_rng(4)
    nations = rng.integers(0, 5, 600)
    sample = pd.DataFrame({"c_custkey": range(600), "c_nationkey": nations,
                           "c_phone": [f"{n + 10}-{rng.integers(100, 999)}-{rng.integers(1000, 9999)}" for n in nations],
                           "c_name": [f"Customer#{i:06d}" for i in range(600)]})  # fmt: skip
    info = _info(CUSTOMER, {"c_custkey": ColumnKind.INTEGER, "c_nationkey": ColumnKind.INTEGER,
                            "c_phone": ColumnKind.STRING, "c_name": ColumnKind.STRING}, key=("c_custkey",))  # fmt: skip
    secret = b"s" * 32
    (rule,) = find_prefixes(info, sample, _nation_plan(secret), Subjects.of_rows(len(sample)), min_count=5)
    assert rule.name == "nation -> c_phone[:3]" and rule.real_share == 1.0  # a name's constant prefix is no rule
    assert {p for _, p, _ in rule.prefixes} == {f"{n}-" for n in range(10, 15)}
    synthetic = pd.DataFrame({"c_phone": [f"{rng.integers(10, 99)}-555-{rng.integers(1000, 9999)}" for _ in range(900)]})
    keep_prefixes(synthetic, [rule], rng)
    shares = synthetic.c_phone.str[:2].value_counts(normalize=True)
    assert set(shares.index) == {"10", "11", "12", "13", "14"} and shares.min() > 0.13
    profile = with_prefix_tokens(KeyProfile(), synthetic, [rule])
    (relation,) = profile.relations
    expected = [token(secret, [int(p[:2]) - 10]) for p in synthetic.c_phone]
    assert list(relation.row_tokens) == expected  # each row gets the parent its prefix names


def test_a_prefix_of_nations_too_few_people_hold_is_not_kept() -> None:
    rng = np.random.default_rng(5)
    nations = rng.integers(0, 25, 100)  # about 4 customers a nation, k = 5
    sample = pd.DataFrame({"c_nationkey": nations, "c_phone": [f"{n + 10}-{rng.integers(100, 999)}" for n in nations]})
    info = _info(CUSTOMER, {"c_nationkey": ColumnKind.INTEGER, "c_phone": ColumnKind.STRING})
    assert find_prefixes(info, sample, _nation_plan(b"s" * 32), Subjects.of_rows(len(sample)), min_count=5) == []
