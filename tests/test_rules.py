"""Schema-wide rules (issue 20): found from names and aggregates, kept at their real share by
construction, added or switched off by the config, listed with their shares."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scale_support import config_dict

from catalog_synth.core.config import RuleConfig, validate_config
from catalog_synth.core.rule_notes import rules_of
from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    ForeignKey,
    SyntheticTable,
    TableInfo,
    TableRef,
)
from catalog_synth.link.enforce import across, order_within, rare_in_child, within
from catalog_synth.link.rules import Rule, candidates
from catalog_synth.protect.subjects import Subjects
from catalog_synth.run.sync import run_sync
from connectors.graph import KeyGraph, Relationship


def _dates(rng: np.random.Generator, n: int) -> pd.Series:
    days = pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    return pd.Series(pd.Timestamp("2024-01-01") + days).astype("datetime64[us]")


def test_order_rules_hold_at_their_real_share_and_later_dates_move_along() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"ordered": _dates(rng, 2000), "shipped": _dates(rng, 2000), "received": _dates(rng, 2000)})
    rules = [Rule("order", "shipped", "ordered", 1.0, 100), Rule("order", "received", "shipped", 0.967, 100)]
    outcomes = order_within(frame, rules, rng)
    assert (frame.shipped >= frame.ordered).mean() == 1.0  # a rule: every row
    assert abs((frame.received >= frame.shipped).mean() - 0.967) <= 0.01  # a tendency: kept at its share
    assert [o.rule.name for o in outcomes] == ["shipped >= ordered", "received >= shipped"]
    assert "with received" in outcomes[0].action  # moved with the date it follows
    assert {e["rule"] for e in rules_of([o.note() for o in outcomes])} == {"shipped >= ordered", "received >= shipped"}


def _column(name: str, kind: ColumnKind) -> ColumnInfo:
    return ColumnInfo(name, kind.value, kind)


def test_candidates_come_from_names_and_types_never_keys() -> None:
    customer = TableInfo(TableRef("w", "s", "customer"), [
        _column("customerid", ColumnKind.INTEGER), _column("country", ColumnKind.STRING),
        _column("city", ColumnKind.STRING), _column("since", ColumnKind.DATE),
    ], primary_key=("customerid",), row_count=10)  # fmt: skip
    invoice = TableInfo(TableRef("w", "s", "invoice"), [
        _column("invoiceid", ColumnKind.INTEGER), _column("customerid", ColumnKind.INTEGER),
        _column("billingcountry", ColumnKind.STRING), _column("billingcity", ColumnKind.INTEGER),
        _column("invoicedate", ColumnKind.DATE), _column("duedate", ColumnKind.DATE),
    ], primary_key=("invoiceid",), foreign_keys=[ForeignKey(("customerid",), customer.ref, ("customerid",))],
        row_count=20)  # fmt: skip
    relationship = Relationship(invoice.ref, ("customerid",), customer.ref, ("customerid",))
    graph = KeyGraph({customer.ref: customer, invoice.ref: invoice}, [relationship])
    found = {(c.kind, c.column, c.anchor, c.relationship is not None) for c in candidates(graph, invoice)}
    assert found == {
        ("order", "duedate", "invoicedate", False),
        ("order", "invoicedate", "since", True), ("order", "duedate", "since", True),
        ("copy", "billingcountry", "country", True),  # billingcity is a number: not a copy of city
    }  # fmt: skip


def test_config_rules_are_checked() -> None:
    assert RuleConfig(table="s.t", rule="shipped>=ordered").rule == "shipped >= ordered"
    with pytest.raises(ValueError):
        RuleConfig(table="s.t", rule="a = b")  # a copy needs the parent's column


def _warehouse(path: Path) -> None:
    rng = np.random.default_rng(3)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE customers (id INTEGER PRIMARY KEY, country VARCHAR(20) NOT NULL, signup DATE NOT NULL);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
            ordered DATE NOT NULL, shipped DATE NOT NULL, ship_country VARCHAR(20) NOT NULL, amount REAL);
    """)  # fmt: skip
    countries = ["France", "Germany", "Brazil", "Canada", "India", "Japan"]
    customers = []
    for i in range(1, 201):
        customers.append((i, countries[i % 6], date(2020, 1, 1) + timedelta(days=int(rng.integers(0, 900)))))
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(i, c, d.isoformat()) for i, c, d in customers])
    orders = []
    for i in range(1, 801):
        cid, country, signup = customers[int(rng.integers(0, 200))]
        ordered = signup + timedelta(days=int(rng.integers(0, 400)))
        shipped = ordered + timedelta(days=int(rng.integers(-30, 30)))  # in order on about half the rows
        orders.append((i, cid, ordered.isoformat(), shipped.isoformat(), country, float(rng.gamma(2, 30))))
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", orders)
    con.commit()
    con.close()


def test_the_config_adds_a_rule_the_data_does_not_show_and_switches_one_off(tmp_path: Path) -> None:
    _warehouse(tmp_path / "w.sqlite")
    config = validate_config(config_dict(
        f"sqlite:///{tmp_path / 'w.sqlite'}", tmp_path / "store.duckdb",
        {"rules": [{"table": "main.orders", "rule": "shipped >= ordered"},
                   {"table": "main.orders", "rule": "ship_country = customers.country", "off": True}]},
        sample_rows=500, copy_rows=400, seed=4,
    ))  # fmt: skip
    report = run_sync(config)
    orders = next(r for r in report.results if r.ref.name == "orders")
    rules = {e["rule"]: e for e in orders.as_dict()["rules"]}
    assert "added by the config" in rules["shipped >= ordered"]["action"], orders.notes
    assert rules["ship_country = customers.country"]["action"] == "switched off by the config", orders.notes
    assert rules["ordered >= customers.signup"]["real_share"] == 1.0  # found in the data
    with duckdb.connect(str(config.store), read_only=True) as con:
        con.execute("SET schema = 'main'")
        in_order, after_signup = con.execute(
            "SELECT avg(CASE WHEN o.shipped >= o.ordered THEN 1 ELSE 0 END),"
            " avg(CASE WHEN o.ordered >= c.signup THEN 1 ELSE 0 END)"
            " FROM orders o JOIN customers c ON c.id = o.customer_id"
        ).fetchone()
    assert in_order >= 0.99 and after_signup >= 0.99, (in_order, after_signup)


def test_a_tendency_the_model_overshoots_is_brought_down_to_its_real_share() -> None:
    rng = np.random.default_rng(2)
    ordered = _dates(rng, 2000)
    frame = pd.DataFrame({"ordered": ordered, "shipped": ordered + pd.to_timedelta(rng.integers(0, 9, 2000), unit="D")})
    (outcome,) = order_within(frame, [Rule("order", "shipped", "ordered", 0.85, 100)], rng)
    assert abs((frame.shipped >= frame.ordered).mean() - 0.85) <= 0.01, outcome.note()
    assert "put before ordered" in outcome.action


def test_amounts_of_one_family_keep_their_order_and_whole_numbers_stay_whole() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({
        "list_price": rng.integers(10, 100, 1000).astype("int64"),
        "sales_price": rng.integers(10, 100, 1000).astype("int64"),
        "quantity": rng.integers(1, 9, 1000),
    })  # fmt: skip
    (outcome,) = order_within(frame, [Rule("order", "list_price", "sales_price", 1.0, 100)], rng)
    assert (frame.list_price >= frame.sales_price).all() and frame.list_price.dtype == "int64", outcome.note()
    info = TableInfo(TableRef("w", "s", "sales"), [
        _column("id", ColumnKind.INTEGER), _column("list_price", ColumnKind.DECIMAL),
        _column("sales_price", ColumnKind.DECIMAL), _column("quantity", ColumnKind.INTEGER),
    ], primary_key=("id",), row_count=10)  # fmt: skip
    found = {(c.column, c.anchor) for c in candidates(KeyGraph({info.ref: info}, []), info)}
    assert found == {("sales_price", "list_price")}  # a quantity is no amount; the key is no number to order


def test_a_dependent_follows_its_determinant_from_synthetic_values_only() -> None:
    rng = np.random.default_rng(5)
    brands = [f"Brand#{m}{b}" for m in range(1, 6) for b in range(1, 6)]
    frame = pd.DataFrame({"p_brand": rng.choice(brands, 2000), "p_mfgr": rng.choice([f"Manufacturer#{m}" for m in range(1, 6)], 2000)})
    values = set(frame.p_mfgr)
    (outcome,) = within(frame, [Rule("depends", "p_mfgr", "p_brand", 1.0, 100)], rng)
    assert frame.groupby("p_brand").p_mfgr.nunique().max() == 1, outcome.note()  # each brand has one manufacturer
    assert set(frame.p_mfgr) <= values and outcome.rule.name == "p_brand -> p_mfgr"
    assert RuleConfig(table="s.t", rule="city->country").rule == "city -> country"


def test_a_copy_never_gives_the_child_a_value_too_few_of_its_own_people_hold() -> None:
    """Spain is shown by the customers table (5 customers) but only 4 of them ordered: copied onto
    orders, it would be a value of fewer than k of the orders' people."""
    rng = np.random.default_rng(6)
    customer = TableRef("w", "s", "customer")
    orders = TableInfo(TableRef("w", "s", "orders"),
                       [_column("customer_id", ColumnKind.INTEGER), _column("ship_country", ColumnKind.STRING)],
                       foreign_keys=[ForeignKey(("customer_id",), customer, ("id",))])
    relationship = Relationship(orders.ref, ("customer_id",), customer, ("id",))
    rule = Rule("copy", "ship_country", "country", 1.0, 100, relationship)
    real_orders = pd.DataFrame({"customer_id": [1, 1, 2, 3, 4, *range(10, 40)],
                                "ship_country": ["Spain"] * 5 + ["France"] * 10 + ["Germany"] * 10 + ["USA"] * 10})
    people = Subjects(len(real_orders), (real_orders.customer_id.to_numpy(),))
    rare = rare_in_child(real_orders, [rule], people, min_count=5)
    assert set(rare) == {"ship_country"} and len(rare["ship_country"]) == 1  # Spain: 4 people

    parents = pd.DataFrame({"id": range(100), "country": ["Spain"] * 20 + ["France"] * 40 + ["Brazil"] * 40})
    child = pd.DataFrame({"customer_id": rng.integers(0, 100, 500), "ship_country": ["Italy"] * 500})
    table = SyntheticTable(orders.ref, orders, child, preview_rows=5)
    (outcome,) = across(table, [rule], lambda rel, column: parents, rng, rare)
    spanish = child.customer_id < 20
    assert (child.ship_country[spanish] == "Italy").all()  # not copied: its own (synthetic) value stays
    assert (child.ship_country[~spanish] == parents.country[child.customer_id[~spanish]].to_numpy()).all()
    assert "copy the synthetic parent's country" in outcome.action


def test_a_warehouse_that_keeps_failing_rule_queries_costs_the_rules_not_the_table(tmp_path: Path, monkeypatch) -> None:
    from connectors import WarehouseUnavailable
    from connectors.sqlalchemy import SQLAlchemyConnector

    def unavailable(*_args, **_kwargs):
        raise WarehouseUnavailable("warehouse 'w': connection lost")

    monkeypatch.setattr(SQLAlchemyConnector, "compare_columns", unavailable)
    _warehouse(tmp_path / "w.sqlite")
    config = validate_config(config_dict(
        f"sqlite:///{tmp_path / 'w.sqlite'}", tmp_path / "store.duckdb", {"include": ["main.orders", "main.customers"]},
        sample_rows=300, copy_rows=100, seed=4, executor={"workers": 1, "retries": 0},
    ))  # fmt: skip
    results = {r.ref.name: r for r in run_sync(config).results}
    assert results["orders"].status.value == "synthesized", results["orders"].reason
    assert any(n.startswith("schema-wide rules were not measured") for n in results["orders"].notes)
