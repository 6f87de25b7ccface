"""Referential integrity end to end on real PostgreSQL: a multi-schema shop synced once.

Every relationship (declared, composite, many-to-many, self-referencing, config-only) must
resolve in the synthetic store, keep its children-per-parent shape, join in the sandbox,
and never reuse a real id. A copy of the shop without any declared key must get the same
relationships proposed by ``keys --suggest``, and no others.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner
from keys_fixture import CONFIG_RELATIONSHIP, RELATIONSHIPS, load_shop
from scale_support import config_dict

from catalog_synth.core.config import Config, validate_config
from catalog_synth.core.types import TableStatus
from catalog_synth.entry.cli import main
from catalog_synth.entry.serve_commands import run_query
from catalog_synth.run.sync import SyncReport, run_sync
from catalog_synth.store.copies import Store, StoredTable

ID_COLUMNS = {
    "crm.employees": ["employee_id", "manager_id"],
    "crm.customers": ["customer_id", "served_by_employee_id"],
    "catalog.categories": ["category_id"],
    "catalog.products": ["product_id"],
    "catalog.product_categories": ["product_id", "category_id"],
    "sales.orders": ["order_id", "customer_id"],
    "sales.order_items": ["order_id", "product_id"],
    "support.tickets": ["ticket_id", "order_id"],
}
PRIMARY_KEYS = {
    "crm.employees": ["employee_id"],
    "crm.customers": ["customer_id"],
    "catalog.categories": ["category_id"],
    "catalog.products": ["product_id"],
    "catalog.product_categories": ["product_id", "category_id"],
    "sales.orders": ["order_id"],
    "sales.order_items": ["order_id", "line_no"],
    "support.tickets": ["ticket_id"],
}


def write_config(tmp_path: Path, url: str, relationships: list[dict] | None = None) -> tuple[Config, Path]:
    raw = config_dict(
        url,
        tmp_path / "sandbox.duckdb",
        {"name": "shop", "relationships": relationships or []},
        sample_rows=300,  # smaller than orders and order_items: the sample must hold whole families
        copy_rows=2000,
        catalog={"file": str(tmp_path / "mcps.json")},
        seed=5,
    )
    path = tmp_path / "catalog-synth.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return validate_config(raw), path


class Shop:
    def __init__(self, config: Config, config_file: Path, report: SyncReport, real: dict[tuple[str, str], pd.DataFrame]):
        self.config, self.config_file, self.report, self.real = config, config_file, report, real
        self.tables = {t.logical_name: t for t in Store(config.store).tables()}

    def frame(self, name: str) -> pd.DataFrame:
        with duckdb.connect(str(self.config.store), read_only=True) as con:
            return con.execute(f"SELECT * FROM {self.tables[name].physical_sql}").df()

    def relation(self, child: str, columns: tuple[str, ...]) -> dict:
        table: StoredTable = self.tables[child]
        return next(entry for entry in table.relations or [] if tuple(entry["columns"]) == columns)


@pytest.fixture(scope="module")
def shop(pg_server, tmp_path_factory: pytest.TempPathFactory) -> Shop:
    url = pg_server.create_database()
    real = load_shop(url, with_keys=True)
    config, path = write_config(tmp_path_factory.mktemp("keys"), url, [CONFIG_RELATIONSHIP])
    return Shop(config, path, run_sync(config), real)


def test_every_table_is_published(shop: Shop) -> None:
    statuses = {r.ref.qualified: r.status for r in shop.report.results}
    assert statuses == {name: TableStatus.SYNTHESIZED for name in PRIMARY_KEYS}, [
        (r.ref.qualified, r.reason) for r in shop.report.results
    ]


def test_every_relationship_resolves_in_the_store(shop: Shop) -> None:
    for child, columns, parent, parent_columns in RELATIONSHIPS:
        children, parents = shop.frame(child), shop.frame(parent)
        keyed = children.dropna(subset=list(columns))
        resolved = keyed.merge(
            parents[list(parent_columns)].drop_duplicates(), left_on=list(columns), right_on=list(parent_columns)
        )
        assert len(keyed) > 0 and len(resolved) == len(keyed), (child, columns)
        entry = shop.relation(child, columns)
        assert entry["integrity"] == 1.0 and entry["join_rows"] == len(keyed)
        assert entry["cardinality_similarity"] is not None


def test_primary_keys_are_unique_and_complete(shop: Shop) -> None:
    for name, key in PRIMARY_KEYS.items():
        frame = shop.frame(name)
        assert frame[key].notna().all().all(), name
        assert not frame.duplicated(subset=key).any(), name


def test_children_per_parent_follow_the_real_shape(shop: Shop) -> None:
    orders = shop.relation("sales.orders", ("customer_id",))
    items = shop.relation("sales.order_items", ("order_id",))
    for entry in (orders, items):
        assert entry["profile"]["sampled_together"]
        assert entry["cardinality_similarity"] >= 0.8, entry
        per_parent = entry["children_per_parent"]
        assert per_parent["synthetic_mean"] == pytest.approx(per_parent["real_mean"], rel=0.25)
    # Line numbers count each order's items from 1, like the real ones.
    lines = shop.frame("sales.order_items").sort_values("line_no").groupby("order_id")["line_no"]
    assert (lines.apply(lambda numbers: list(numbers) == list(range(1, len(numbers) + 1)))).all()


def test_empty_keys_keep_their_real_share(shop: Shop) -> None:
    customers, tickets = shop.frame("crm.customers"), shop.frame("support.tickets")
    served = customers["served_by_employee_id"].isna().mean()
    assert 0.03 < served < 0.35  # real: 15%
    assert 0.05 < tickets["order_id"].isna().mean() < 0.4  # real: 20%
    assert shop.frame("sales.orders")["customer_id"].notna().all()


def test_the_self_reference_is_a_forest(shop: Shop) -> None:
    employees = shop.frame("crm.employees").set_index("employee_id")
    managers = employees["manager_id"]
    assert managers.isna().sum() == 1  # one CEO, like the real table
    for employee in employees.index:
        seen = {employee}
        manager = managers[employee]
        while pd.notna(manager):
            assert manager not in seen, "a management cycle"
            seen.add(manager)
            manager = managers[manager]


def test_sandbox_joins_return_plausible_rows(shop: Shop) -> None:
    revenue = run_query(
        shop.config,
        "SELECT c.country, SUM(i.quantity * i.unit_price) AS revenue, COUNT(DISTINCT o.order_id) AS orders "
        "FROM sales.order_items i JOIN sales.orders o ON o.order_id = i.order_id "
        "JOIN crm.customers c ON c.customer_id = o.customer_id GROUP BY c.country ORDER BY revenue DESC",
    )
    rows = revenue.rows
    assert len(rows) >= 3
    assert all(float(amount) > 0 and count > 0 for _, amount, count in rows)
    countries = {country for country, _, _ in rows}
    # Common real countries come through; rare ones are replaced by new codes of the same shape.
    assert all(len(country) == 2 and country.isupper() for country in countries)
    assert shop.real[("crm", "customers")]["country"].value_counts().index[0] in countries
    joins = {
        "SELECT count(*) FROM crm.employees e JOIN crm.employees m ON e.manager_id = m.employee_id": 29,
        "SELECT count(*) FROM support.tickets t JOIN sales.orders o ON o.order_id = t.order_id": None,
        "SELECT count(*) FROM catalog.products p JOIN catalog.product_categories pc ON pc.product_id = p.product_id "
        "JOIN catalog.categories c ON c.category_id = pc.category_id": None,
    }
    for sql, expected in joins.items():
        (count,) = run_query(shop.config, sql).rows[0]
        assert count > 0 and (expected is None or count == expected), sql


def test_no_real_id_appears_in_the_copy(shop: Shop) -> None:
    real_ids: set[int] = set()
    for (schema, table), frame in shop.real.items():
        for column in ID_COLUMNS[f"{schema}.{table}"]:
            real_ids |= {int(v) for v in frame[column].dropna()}
    for name, columns in ID_COLUMNS.items():
        synthetic = shop.frame(name)
        for column in columns:
            values = {int(v) for v in synthetic[column].dropna()}
            assert values and not values & real_ids, f"{name}.{column} reuses a real id"


def test_report_and_keys_commands_show_the_relationships(shop: Shop) -> None:
    runner = CliRunner()
    report = runner.invoke(main, ["report", "-c", str(shop.config_file), "sales.order_items"])
    assert report.exit_code == 0, report.output
    assert "Relationships" in report.output and "100.0%" in report.output and "sales.orders(order_id)" in report.output
    listing = runner.invoke(main, ["keys", "-c", str(shop.config_file), "--json"])
    assert listing.exit_code == 0, listing.output
    entries = yaml.safe_load(listing.output)[0]["relationships"]
    listed = {(e["child"], tuple(e["columns"]), e["parent"], tuple(e["parent_columns"])) for e in entries}
    assert listed == RELATIONSHIPS
    assert {e["origin"] for e in entries if e["child"] == "support.tickets"} == {"config"}


def test_suggest_finds_the_relationships_of_a_warehouse_without_keys(tmp_path: Path, pg_url: str) -> None:
    real = load_shop(pg_url, with_keys=False)
    # A decoy named like a key whose values are not customers' ids: it must not be proposed.
    engine = sa.create_engine(pg_url)
    with engine.begin() as con:
        con.exec_driver_sql("ALTER TABLE support.tickets ADD COLUMN customer_id integer")
        con.exec_driver_sql("UPDATE support.tickets SET customer_id = 100 + mod(ticket_id, 50)")
    engine.dispose()
    _, path = write_config(tmp_path, pg_url)
    result = CliRunner().invoke(main, ["keys", "-c", str(path), "--suggest"])
    assert result.exit_code == 0, result.output
    proposed = yaml.safe_load(result.output)["warehouses"][0]["relationships"]
    found = set()
    for entry in proposed:
        (child, columns), (parent, parent_columns) = _endpoint(entry["child"]), _endpoint(entry["parent"])
        found.add((child, columns, parent, parent_columns))
    assert found == RELATIONSHIPS
    real_values = {str(v) for frame in real.values() for column in frame.columns for v in frame[column].head(50)}
    assert not any(value in result.output for value in real_values if len(value) >= 4)


def _endpoint(text: str) -> tuple[str, tuple[str, ...]]:
    table, _, columns = text.rstrip(")").partition("(")
    return table, tuple(column.strip() for column in columns.split(","))


def test_counts_per_parent_match_a_direct_count(shop: Shop) -> None:
    """The reported synthetic mean is the store's own children-per-parent mean."""
    entry = shop.relation("sales.orders", ("customer_id",))
    customers, orders = shop.frame("crm.customers"), shop.frame("sales.orders")
    counts = orders["customer_id"].value_counts().reindex(customers["customer_id"], fill_value=0)
    assert entry["children_per_parent"]["synthetic_mean"] == pytest.approx(float(np.mean(counts)), abs=1e-3)
