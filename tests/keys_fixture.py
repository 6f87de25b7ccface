"""A small multi-schema shop with every kind of relationship, for the referential-integrity tests.

    crm.employees      employee_id; manager_id -> crm.employees (self-reference, CEO has none)
    crm.customers      customer_id; served_by_employee_id -> crm.employees (nullable)
    catalog.categories category_id
    catalog.products   product_id
    catalog.product_categories  (product_id, category_id): many-to-many link, composite key
    sales.orders       order_id; customer_id -> crm.customers
    sales.order_items  (order_id, line_no): composite key; product_id -> catalog.products
    support.tickets    ticket_id; order_id -> sales.orders declared ONLY in the config (nullable)

Ids are random 6-digit numbers (4 for employees, categories), so synthetic ids of the same
shape could meet real ones. Built from :mod:`catalog_synth.entry.demo_data`; deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from faker import Faker

from catalog_synth.entry.demo_data import order_items, orders, people, products

CUSTOMERS = 150
EMPLOYEES = 30
CATEGORIES = 20
PRODUCTS = 40
TICKETS = 120

# Declared by the warehouse (with_keys=True) vs. only in the config.
CONFIG_RELATIONSHIP = {"child": "support.tickets(order_id)", "parent": "sales.orders(order_id)"}

# (child, child columns, parent, parent columns) of every relationship in the fixture.
RELATIONSHIPS = {
    ("crm.employees", ("manager_id",), "crm.employees", ("employee_id",)),
    ("crm.customers", ("served_by_employee_id",), "crm.employees", ("employee_id",)),
    ("catalog.product_categories", ("product_id",), "catalog.products", ("product_id",)),
    ("catalog.product_categories", ("category_id",), "catalog.categories", ("category_id",)),
    ("sales.orders", ("customer_id",), "crm.customers", ("customer_id",)),
    ("sales.order_items", ("order_id",), "sales.orders", ("order_id",)),
    ("sales.order_items", ("product_id",), "catalog.products", ("product_id",)),
    ("support.tickets", ("order_id",), "sales.orders", ("order_id",)),
}

_TABLES = """
CREATE TABLE crm.employees (employee_id integer {pk}, first_name text NOT NULL, last_name text NOT NULL,
    title text NOT NULL, hired_on date NOT NULL, manager_id integer {self_fk});
CREATE TABLE crm.customers (customer_id integer {pk}, first_name text NOT NULL, last_name text NOT NULL,
    email text NOT NULL, country char(2) NOT NULL, signup_at timestamp NOT NULL, loyalty_tier text,
    served_by_employee_id integer {employee_fk});
CREATE TABLE catalog.categories (category_id integer {pk}, label text NOT NULL);
CREATE TABLE catalog.products (product_id integer {pk}, sku text NOT NULL, name text NOT NULL,
    list_price numeric(10,2) NOT NULL, launched_on date NOT NULL);
CREATE TABLE catalog.product_categories (product_id integer NOT NULL {product_fk},
    category_id integer NOT NULL {category_fk}, is_primary boolean NOT NULL{link_pk});
CREATE TABLE sales.orders (order_id integer {pk}, customer_id integer NOT NULL {customer_fk},
    ordered_at timestamp NOT NULL, status text NOT NULL, shipping_country char(2) NOT NULL);
CREATE TABLE sales.order_items (order_id integer NOT NULL {order_fk}, line_no integer NOT NULL,
    product_id integer NOT NULL {product_fk}, quantity integer NOT NULL, unit_price numeric(10,2) NOT NULL{items_pk});
CREATE TABLE support.tickets (ticket_id integer {pk}, order_id integer, opened_at timestamp NOT NULL,
    channel text NOT NULL, priority text NOT NULL);
"""

_KEYS = {
    "pk": "PRIMARY KEY",
    "self_fk": "REFERENCES crm.employees",
    "employee_fk": "REFERENCES crm.employees",
    "product_fk": "REFERENCES catalog.products",
    "category_fk": "REFERENCES catalog.categories",
    "customer_fk": "REFERENCES crm.customers",
    "order_fk": "REFERENCES sales.orders",
    "link_pk": ", PRIMARY KEY (product_id, category_id)",
    "items_pk": ", PRIMARY KEY (order_id, line_no)",
}
# Parents before children, for inserting with enforced keys.
LOAD_ORDER = [
    ("crm", "employees"), ("crm", "customers"), ("catalog", "categories"), ("catalog", "products"),
    ("catalog", "product_categories"), ("sales", "orders"), ("sales", "order_items"), ("support", "tickets"),
]


def shop_frames(seed: int = 11) -> dict[tuple[str, str], pd.DataFrame]:
    rng = np.random.default_rng(seed)
    employees = _employees(rng, seed)
    customers = _customers(rng, seed, employees["employee_id"])
    catalogue = products(PRODUCTS, seed).drop(columns=["category", "is_discontinued"])
    catalogue["product_id"] = _ids(rng, PRODUCTS, 6)
    shop_orders = orders(CUSTOMERS * 3, customers["customer_id"], seed)
    shop_orders["order_id"] = _ids(rng, len(shop_orders), 6)
    items = order_items(shop_orders, catalogue, seed)
    categories = pd.DataFrame({"category_id": _ids(rng, CATEGORIES, 4), "label": [f"aisle {i}" for i in range(CATEGORIES)]})
    return {
        ("crm", "employees"): employees,
        ("crm", "customers"): customers,
        ("catalog", "categories"): categories,
        ("catalog", "products"): catalogue,
        ("catalog", "product_categories"): _product_categories(rng, catalogue["product_id"], categories["category_id"]),
        ("sales", "orders"): shop_orders.drop(columns=["amount", "currency"]),
        ("sales", "order_items"): items,
        ("support", "tickets"): _tickets(rng, shop_orders["order_id"]),
    }


def load_shop(url: str, with_keys: bool = True, seed: int = 11) -> dict[tuple[str, str], pd.DataFrame]:
    """Create the four schemas and the tables (with or without keys) and fill them; returns the frames."""
    frames = shop_frames(seed)
    keys = _KEYS if with_keys else {name: "" for name in _KEYS}
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for schema in ("crm", "catalog", "sales", "support"):
                connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
            for statement in _TABLES.format(**keys).split(";"):
                if statement.strip():
                    connection.exec_driver_sql(statement)
            for schema, table in LOAD_ORDER:
                frames[(schema, table)].to_sql(table, connection, schema=schema, if_exists="append", index=False)
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return frames


def _ids(rng: np.random.Generator, n: int, digits: int) -> np.ndarray:
    return rng.choice(np.arange(10 ** (digits - 1), 10**digits), size=n, replace=False).astype("int64")


def _employees(rng: np.random.Generator, seed: int) -> pd.DataFrame:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    ids = _ids(rng, EMPLOYEES, 4)
    # One CEO, five directors reporting to the CEO, everyone else to a director.
    managers = [None] + [ids[0]] * 5 + list(rng.choice(ids[1:6], size=EMPLOYEES - 6))
    titles = ["ceo"] + ["director"] * 5 + list(rng.choice(["sales rep", "account manager", "support agent"], EMPLOYEES - 6))
    return pd.DataFrame(
        {
            "employee_id": ids,
            "first_name": [fake.first_name() for _ in range(EMPLOYEES)],
            "last_name": [fake.last_name() for _ in range(EMPLOYEES)],
            "title": titles,
            "hired_on": pd.to_datetime(rng.integers(0, 3650, EMPLOYEES), unit="D", origin="2012-01-01").date,
            "manager_id": pd.array(managers, dtype="Int64"),
        }
    )


def _customers(rng: np.random.Generator, seed: int, employee_ids: pd.Series) -> pd.DataFrame:
    frame = people(CUSTOMERS, seed)[["first_name", "last_name", "email", "country", "signup_at", "loyalty_tier"]]
    frame.insert(0, "customer_id", _ids(rng, CUSTOMERS, 6))
    reps = employee_ids.to_numpy()[6:]
    served = pd.array(rng.choice(reps, size=CUSTOMERS), dtype="Int64")
    served[rng.random(CUSTOMERS) < 0.15] = pd.NA
    frame["served_by_employee_id"] = served
    return frame


def _product_categories(rng: np.random.Generator, product_ids: pd.Series, category_ids: pd.Series) -> pd.DataFrame:
    rows = []
    for product in product_ids:
        chosen = rng.choice(category_ids.to_numpy(), size=int(rng.integers(1, 4)), replace=False)
        rows += [(product, category, index == 0) for index, category in enumerate(chosen)]
    return pd.DataFrame(rows, columns=["product_id", "category_id", "is_primary"])


def _tickets(rng: np.random.Generator, order_ids: pd.Series) -> pd.DataFrame:
    about = pd.array(rng.choice(order_ids.to_numpy(), size=TICKETS), dtype="Int64")
    about[rng.random(TICKETS) < 0.2] = pd.NA
    return pd.DataFrame(
        {
            "ticket_id": _ids(rng, TICKETS, 6),
            "order_id": about,
            "opened_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, TICKETS), unit="s"),
            "channel": rng.choice(["email", "phone", "chat"], size=TICKETS, p=[0.5, 0.2, 0.3]),
            "priority": rng.choice(["low", "normal", "high"], size=TICKETS, p=[0.3, 0.55, 0.15]),
        }
    )
