"""Realistic demo data: a small international shop full of personal data.

Used by ``catalog-synth demo`` and by the privacy tests. Every column a catalog
could leak (names, e-mails, phones, addresses, IBANs, card numbers, free-text
notes) is filled with Faker values in several locales, with realistic nulls,
skew, low-cardinality categoricals and declared primary/foreign keys:

    people 1--* orders 1--* order_items *--1 products

All generators are deterministic for a given ``seed``.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from faker import Faker

from catalog_synth.protect.locales import stable_faker

WarehouseKind = Literal["duckdb", "sqlite"]


@dataclass(frozen=True)
class Market:
    """A country the shop sells to: its Faker locale, ISO-2 code and currency."""

    locale: str
    country: str
    currency: str
    share: float


MARKETS = (
    Market("en_US", "US", "USD", 0.34),
    Market("de_DE", "DE", "EUR", 0.20),
    Market("fr_FR", "FR", "EUR", 0.14),
    Market("en_GB", "GB", "GBP", 0.14),
    Market("nl_NL", "NL", "EUR", 0.10),
    Market("es_ES", "ES", "EUR", 0.05),
    Market("it_IT", "IT", "EUR", 0.03),
)
LOYALTY_TIERS = {"bronze": 0.5, "silver": 0.3, "gold": 0.15, "platinum": 0.05}
LOYALTY_NULL_SHARE = 0.3
NOTES_NULL_SHARE = 0.55
ORDER_STATUSES = {
    "delivered": 0.66,
    "shipped": 0.12,
    "placed": 0.07,
    "cancelled": 0.09,
    "returned": 0.06,
}
PRODUCT_CATEGORIES = {
    "kitchen": ("kettle", "pan", "knife set", "grinder", "mug"),
    "garden": ("hose", "trowel", "planter", "lantern", "bench"),
    "electronics": ("headphones", "charger", "speaker", "keyboard", "webcam"),
    "books": ("cookbook", "novel", "atlas", "field guide", "notebook"),
    "toys": ("puzzle", "kite", "robot kit", "board game", "plush bear"),
}
PRODUCT_ADJECTIVES = ("compact", "classic", "deluxe", "eco", "travel", "smart", "vintage")
NOTE_TEMPLATES = (
    "Prefers contact by e-mail.",
    "Call back on {phone} after 5pm.",
    "Moved to {address}, {city} - update billing.",
    "VIP customer of {company}.",
    "Complained about late delivery.",
    "{sentence}",
)

SIGNUP_RANGE = (datetime(2018, 1, 1), datetime(2025, 6, 30))
ORDER_RANGE = (datetime(2022, 1, 1), datetime(2025, 10, 31))
LAUNCH_RANGE = (datetime(2015, 1, 1), datetime(2025, 1, 1))


def people(n: int, seed: int = 7) -> pd.DataFrame:
    """Customers with names, contact details, bank and card numbers in 7 locales."""
    rng = np.random.default_rng(seed)
    fakers = _seeded_fakers(seed)
    markets = rng.choice(len(MARKETS), size=n, p=_shares([m.share for m in MARKETS]))
    frame = pd.DataFrame([_person(fakers[MARKETS[i].locale], MARKETS[i]) for i in markets])
    frame.insert(0, "id", np.arange(1, n + 1, dtype="int64"))
    frame["email"] = _unique_emails(frame["first_name"], frame["last_name"], frame.pop("email_domain"))
    frame["salary"] = np.round(rng.lognormal(mean=10.8, sigma=0.45, size=n), 2)
    frame["signup_at"] = _timestamps(rng, n, *SIGNUP_RANGE)
    frame["is_active"] = rng.random(n) < 0.82
    frame["notes"] = frame["notes"].where(rng.random(n) >= NOTES_NULL_SHARE, None)
    frame["loyalty_tier"] = _categorical(rng, n, LOYALTY_TIERS, null_share=LOYALTY_NULL_SHARE)
    return frame[list(PEOPLE_COLUMNS)]


def orders(n: int, people_ids: pd.Series | np.ndarray, seed: int = 7) -> pd.DataFrame:
    """Orders by a skewed set of customers: a few buy often, most rarely."""
    rng = np.random.default_rng(seed + 1)
    ids = np.asarray(people_ids)
    activity = rng.gamma(shape=0.6, size=len(ids))
    country_index = rng.choice(len(MARKETS), size=n, p=_shares([m.share for m in MARKETS]))
    return pd.DataFrame(
        {
            "order_id": np.arange(1, n + 1, dtype="int64"),
            "customer_id": rng.choice(ids, size=n, p=activity / activity.sum()),
            "ordered_at": _timestamps(rng, n, *ORDER_RANGE),
            "amount": np.round(np.maximum(rng.lognormal(3.8, 0.9, size=n), 0.5), 2),
            "currency": [MARKETS[i].currency for i in country_index],
            "status": _categorical(rng, n, ORDER_STATUSES),
            "shipping_country": [MARKETS[i].country for i in country_index],
        }
    )


def products(n: int, seed: int = 7) -> pd.DataFrame:
    """A catalogue of products in a handful of categories."""
    rng = np.random.default_rng(seed + 2)
    categories = rng.choice(list(PRODUCT_CATEGORIES), size=n)
    names = [
        f"{rng.choice(PRODUCT_ADJECTIVES)} {rng.choice(PRODUCT_CATEGORIES[category])}"
        for category in categories
    ]
    sku_numbers = rng.choice(np.arange(10_000, 100_000), size=n, replace=False)
    return pd.DataFrame(
        {
            "product_id": np.arange(1, n + 1, dtype="int64"),
            "sku": [f"{c[:3].upper()}-{number}" for c, number in zip(categories, sku_numbers)],
            "name": names,
            "category": categories,
            "list_price": np.round(rng.lognormal(3.0, 0.8, size=n) + 0.99, 2),
            "launched_on": _timestamps(rng, n, *LAUNCH_RANGE).dt.date,
            "is_discontinued": rng.random(n) < 0.1,
        }
    )


def order_items(orders_frame: pd.DataFrame, products_frame: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """1-6 lines per order; ``(order_id, line_no)`` is the composite primary key."""
    rng = np.random.default_rng(seed + 3)
    lines_per_order = np.minimum(rng.geometric(0.55, size=len(orders_frame)), 6)
    order_ids = np.repeat(orders_frame["order_id"].to_numpy(), lines_per_order)
    popularity = rng.gamma(shape=0.8, size=len(products_frame))
    picked = rng.choice(len(products_frame), size=len(order_ids), p=popularity / popularity.sum())
    discount = rng.choice([0.0, 0.1, 0.2], size=len(order_ids), p=[0.8, 0.15, 0.05])
    list_prices = products_frame["list_price"].to_numpy()[picked]
    items = pd.DataFrame(
        {
            "order_id": order_ids,
            "product_id": products_frame["product_id"].to_numpy()[picked],
            "quantity": 1 + rng.poisson(0.6, size=len(order_ids)),
            "unit_price": np.round(list_prices * (1 - discount), 2),
        }
    )
    items.insert(1, "line_no", items.groupby("order_id").cumcount().astype("int64") + 1)
    return items


def demo_frames(rows: int = 300, seed: int = 7) -> dict[str, pd.DataFrame]:
    """All four demo tables, ``rows`` people, 3 orders per person on average."""
    customers = people(rows, seed)
    shop_orders = orders(rows * 3, customers["id"], seed)
    catalogue = products(max(20, rows // 10), seed)
    return {
        "people": customers,
        "orders": shop_orders,
        "products": catalogue,
        "order_items": order_items(shop_orders, catalogue, seed),
    }


def demo_metadata(schema: str | None = None) -> sa.MetaData:
    """The demo tables with real SQL types and declared keys, for any dialect."""
    metadata = sa.MetaData(schema=schema)
    prefix = f"{schema}." if schema else ""
    money = sa.Numeric(12, 2)
    sa.Table(
        "people",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("street_address", sa.String(200), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("postal_code", sa.String(20), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("company", sa.String(200), nullable=False),
        sa.Column("iban", sa.String(34), nullable=False),
        sa.Column("credit_card_number", sa.String(19), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("salary", money, nullable=False),
        sa.Column("signup_at", sa.TIMESTAMP, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("loyalty_tier", sa.String(16)),
    )
    sa.Table(
        "orders",
        metadata,
        sa.Column("order_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey(f"{prefix}people.id"), nullable=False),
        sa.Column("ordered_at", sa.TIMESTAMP, nullable=False),
        sa.Column("amount", money, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("shipping_country", sa.String(2), nullable=False),
    )
    sa.Table(
        "products",
        metadata,
        sa.Column("product_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sku", sa.String(16), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("list_price", money, nullable=False),
        sa.Column("launched_on", sa.Date, nullable=False),
        sa.Column("is_discontinued", sa.Boolean, nullable=False),
    )
    sa.Table(
        "order_items",
        metadata,
        sa.Column("order_id", sa.Integer, sa.ForeignKey(f"{prefix}orders.order_id"), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("product_id", sa.Integer, sa.ForeignKey(f"{prefix}products.product_id"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", money, nullable=False),
    )
    return metadata


def load_demo_tables(url: str, schema: str | None = None, rows: int = 300, seed: int = 7) -> dict[str, int]:
    """Create the demo tables (with keys) in the database at ``url`` and fill them.

    Works for any SQLAlchemy URL whose dialect supports the types (PostgreSQL,
    SQLite, DuckDB). The tables must not exist yet. Returns rows per table.
    """
    frames = demo_frames(rows, seed)
    metadata = demo_metadata(schema)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            if schema:
                connection.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
            metadata.create_all(connection, checkfirst=False)
            for table in metadata.sorted_tables:
                connection.execute(table.insert(), _records(frames[table.name]))
    finally:
        engine.dispose()
    return {name: len(frame) for name, frame in frames.items()}


def load_into_postgres(url: str, schema: str = "public", rows: int = 300, seed: int = 7) -> dict[str, int]:
    """The demo tables in PostgreSQL: NUMERIC(12,2), DATE, TIMESTAMP, BOOLEAN, keys."""
    return load_demo_tables(url, schema=schema, rows=rows, seed=seed)


def build_demo_warehouse(
    path: Path, kind: WarehouseKind, rows: int = 300, seed: int = 7, overwrite: bool = False
) -> str:
    """Write the demo tables into a new DuckDB or SQLite file; returns its SQLAlchemy URL.

    Refuses to touch an existing file unless ``overwrite`` is set.
    """
    if kind not in ("duckdb", "sqlite"):
        raise ValueError(f"unknown warehouse kind {kind!r}: expected 'duckdb' or 'sqlite'")
    path = Path(path).resolve()
    if path.exists():
        if not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"{kind}:///{path}"
    load_demo_tables(url, rows=rows, seed=seed)
    return url


PEOPLE_COLUMNS = tuple(column.name for column in demo_metadata().tables["people"].columns)


def _seeded_fakers(seed: int) -> dict[str, Faker]:
    fakers = {}
    for offset, market in enumerate(MARKETS):
        fake = stable_faker(market.locale)
        fake.seed_instance(seed * 100 + offset)
        fakers[market.locale] = fake
    return fakers


def _person(fake: Faker, market: Market) -> dict[str, object]:
    phone = fake.phone_number()
    street, city, company = fake.street_address(), fake.city(), fake.company()
    note = fake.random_element(NOTE_TEMPLATES).format(
        phone=phone, address=street, city=city, company=company, sentence=fake.sentence()
    )
    return {
        "first_name": fake.first_name(),
        "last_name": fake.last_name(),
        "email_domain": fake.free_email_domain(),
        "phone": phone,
        "street_address": street,
        "city": city,
        "postal_code": fake.postcode(),
        "country": market.country,
        "company": company,
        "iban": fake.iban(),
        "credit_card_number": fake.credit_card_number(),
        "birth_date": fake.date_of_birth(minimum_age=18, maximum_age=85),
        "notes": note,
    }


def _unique_emails(first: pd.Series, last: pd.Series, domains: pd.Series) -> list[str]:
    """``first.last@domain`` in ASCII; repeated addresses get a running number."""
    seen: Counter[str] = Counter()
    emails = []
    for first_name, last_name, domain in zip(first, last, domains):
        local = f"{_ascii_slug(first_name)}.{_ascii_slug(last_name)}"
        seen[local + domain] += 1
        suffix = "" if seen[local + domain] == 1 else str(seen[local + domain])
        emails.append(f"{local}{suffix}@{domain}")
    return emails


def _ascii_slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _categorical(
    rng: np.random.Generator, n: int, shares: dict[str, float], null_share: float = 0.0
) -> pd.Series:
    values = pd.Series(rng.choice(list(shares), size=n, p=_shares(list(shares.values()))), dtype=object)
    return values.where(rng.random(n) >= null_share, None)


def _timestamps(rng: np.random.Generator, n: int, start: datetime, end: datetime) -> pd.Series:
    """Uniform timestamps in [start, end) at whole seconds, ``datetime64[ns]``."""
    seconds = rng.integers(0, int((end - start).total_seconds()), size=n)
    return pd.Series(pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s")).astype("datetime64[ns]")


def _shares(weights: list[float]) -> np.ndarray:
    array = np.asarray(weights, dtype=float)
    return array / array.sum()


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as plain Python values (int, float, bool, date, datetime, None) for DB drivers."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")
