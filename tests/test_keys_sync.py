"""Key linking through real syncs of SQLite warehouses: key cycles, incremental runs, bad config."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
from scale_support import config_dict

from catalog_synth.core.config import Config, validate_config
from catalog_synth.core.types import TableStatus
from catalog_synth.entry.demo_data import build_demo_warehouse
from catalog_synth.run.sync import run_sync
from catalog_synth.store.copies import Store


def make_config(tmp_path: Path, url: str, relationships: list[dict] | None = None) -> Config:
    raw = config_dict(
        url, tmp_path / "sandbox.duckdb", {"relationships": relationships or []}, sample_rows=1000, copy_rows=5000, seed=9
    )
    return validate_config(raw)


def integrity(config: Config) -> dict[str, float]:
    return {
        entry["relationship"]: entry["integrity"]
        for table in Store(config.store).tables()
        for entry in table.relations or []
    }


def test_tables_that_reference_each_other_are_linked(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    employees = pd.DataFrame(
        {
            "employee_id": rng.choice(np.arange(10_000, 99_999), 200, replace=False),
            "department_id": rng.choice(np.arange(101, 116), 200),
            "salary": np.round(rng.lognormal(10.5, 0.3, 200), 2),
        }
    )
    heads = employees.groupby("department_id")["employee_id"].first()
    departments = pd.DataFrame({"department_id": np.arange(101, 116), "budget": rng.integers(10, 99, 15) * 1000})
    departments["head_employee_id"] = departments["department_id"].map(heads)
    path = tmp_path / "org.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(
            "CREATE TABLE departments (department_id INTEGER PRIMARY KEY, budget INTEGER NOT NULL,"
            " head_employee_id INTEGER REFERENCES employees (employee_id));"
            "CREATE TABLE employees (employee_id INTEGER PRIMARY KEY,"
            " department_id INTEGER NOT NULL REFERENCES departments (department_id), salary REAL NOT NULL);"
        )
        departments.to_sql("departments", con, if_exists="append", index=False)
        employees.to_sql("employees", con, if_exists="append", index=False)
    config = make_config(tmp_path, f"sqlite:///{path}")
    report = run_sync(config)
    assert report.count(TableStatus.SYNTHESIZED) == 2, [(r.ref.qualified, r.reason) for r in report.results]
    assert set(integrity(config).values()) == {1.0}
    store = Store(config.store)
    assert store.table("main.departments").relations[0]["join_rows"] > 0


def test_children_of_a_changed_parent_are_synthesized_again(tmp_path: Path) -> None:
    url = build_demo_warehouse(tmp_path / "shop.sqlite", "sqlite", rows=60)
    bad = {"child": "main.orders(customer_id)", "parent": "main.customers(id)"}
    config = make_config(tmp_path, url, [bad])
    first = run_sync(config)
    assert first.count(TableStatus.SYNTHESIZED) == 4
    problem = next(r for r in first.results if r.ref.name == "relationships")
    assert problem.status is TableStatus.FAILED and "main.customers is not in the warehouse" in problem.reason
    with sqlite3.connect(tmp_path / "shop.sqlite") as con:  # a new customer: people gets new synthetic keys
        con.execute(
            "INSERT INTO people SELECT id + 1000, first_name, last_name, 'x' || email, phone, street_address, city,"
            " postal_code, country, company, iban, credit_card_number, birth_date, salary, signup_at, is_active, notes,"
            " loyalty_tier FROM people WHERE id = 1"
        )
    second = run_sync(config)
    statuses = {r.ref.name: r.status for r in second.results if r.ref.name != "relationships"}
    assert statuses == {
        "people": TableStatus.SYNTHESIZED,
        "orders": TableStatus.SYNTHESIZED,  # unchanged itself, but its parent's keys are new
        "order_items": TableStatus.SYNTHESIZED,
        "products": TableStatus.UNCHANGED,
    }
    assert set(integrity(config).values()) == {1.0}
