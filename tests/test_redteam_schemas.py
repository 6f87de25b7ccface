"""Red team: one table per way a real schema broke the promise, in the real PostgreSQL fixture.

* PII denormalised into a child under concatenated names (``billingaddress``, ``contactname``,
  ``shipcity``), each client's values repeated on seven invoices;
* a client's street copied into a table with no key to clients, under a name that says nothing;
* low-entropy identifiers (6-digit birth numbers, 8-digit ``account_to``), mostly outside the sample;
* a 3-row and an 8-row table referenced by others, and a chain of small parents (3 -> 6 -> 40 -> 400);
* ``CHAR(n)`` labels, an enum with a rare label, one-decimal floats, a ``VARCHAR(12)`` phone.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from faker import Faker
from public_schemas import libpq_dsn
from schema_checks import foreign_key_integrity

from catalog_synth.core.config import validate_config
from catalog_synth.core.sections import SandboxConfig
from catalog_synth.core.types import TableStatus
from catalog_synth.core.values import normalize
from catalog_synth.run.sync import run_sync
from catalog_synth.serve.engine import QueryEngine
from catalog_synth.store.copies import Store

CLIENTS = 600
SAMPLE_ROWS = 150  # most real clients are never sampled: fakes must still avoid their values

DDL = """
CREATE TYPE mood AS ENUM ('calm', 'angry', 'ecstatic');
CREATE TABLE districts (district_id int PRIMARY KEY, district_name text NOT NULL, region char(10) NOT NULL);
CREATE TABLE clients (client_id int PRIMARY KEY, full_name text NOT NULL, street text NOT NULL,
    login text NOT NULL, birth_number int NOT NULL, district_id int NOT NULL REFERENCES districts);
CREATE TABLE invoices (invoice_id int PRIMARY KEY, client_id int NOT NULL REFERENCES clients,
    billingaddress text NOT NULL, shipcity text NOT NULL, contactname text NOT NULL, total numeric(8,2) NOT NULL,
    rating real NOT NULL);
CREATE TABLE deliveries (delivery_id int PRIMARY KEY, deliver_to text NOT NULL, recipient text NOT NULL,
    kg real NOT NULL);
CREATE TABLE transfers (transfer_id int PRIMARY KEY, client_id int NOT NULL REFERENCES clients,
    account_to bigint NOT NULL, amount numeric(10,2) NOT NULL);
CREATE TABLE statuses (status_id int PRIMARY KEY, label varchar(12) NOT NULL);
CREATE TABLE agents (agent_id int PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL,
    phone varchar(12) NOT NULL);
CREATE TABLE tickets (ticket_id int PRIMARY KEY, status_id int NOT NULL REFERENCES statuses,
    agent_id int NOT NULL REFERENCES agents, client_id int REFERENCES clients, priority char(8) NOT NULL,
    feeling mood NOT NULL);
CREATE TABLE tier_a (a_id int PRIMARY KEY, a_name text NOT NULL);
CREATE TABLE tier_b (b_id int PRIMARY KEY, a_id int NOT NULL REFERENCES tier_a, b_name text NOT NULL);
CREATE TABLE tier_c (c_id int PRIMARY KEY, b_id int NOT NULL REFERENCES tier_b, size int NOT NULL);
CREATE TABLE tier_d (d_id int PRIMARY KEY, c_id int NOT NULL REFERENCES tier_c, weight real NOT NULL);
"""


def _frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(3)
    fake = Faker("en_US")
    fake.seed_instance(3)
    regions = ["NORTH", "SOUTH", "EAST", "WEST"]
    districts = pd.DataFrame({"district_id": range(1, 9), "district_name": [fake.unique.city() for _ in range(8)],
                              "region": [regions[i % 4] for i in range(8)]})
    clients = pd.DataFrame({
        "client_id": range(1, CLIENTS + 1),
        "full_name": [fake.unique.name() for _ in range(CLIENTS)],
        "street": [fake.unique.street_address() for _ in range(CLIENTS)],
        "login": [fake.unique.user_name() for _ in range(CLIENTS)],
        "birth_number": rng.choice(np.arange(100_000, 1_000_000), CLIENTS, replace=False),
        "district_id": rng.integers(1, 9, CLIENTS),
        "city": [fake.city() for _ in range(CLIENTS)],
    })
    billed = clients.sample(200, random_state=1).loc[lambda f: f.index.repeat(7)].reset_index(drop=True)
    invoices = pd.DataFrame({
        "invoice_id": range(1, len(billed) + 1), "client_id": billed["client_id"],
        "billingaddress": billed["street"], "shipcity": billed["city"], "contactname": billed["full_name"],
        "total": np.round(rng.uniform(5, 500, len(billed)), 2), "rating": np.round(rng.uniform(1, 5, len(billed)), 1),
    })  # fmt: skip
    # Each client's street and login copied onto six deliveries, with no key to say whose they are.
    delivered = clients.sample(100, random_state=2).loc[lambda f: f.index.repeat(6)].reset_index(drop=True)
    deliveries = pd.DataFrame({"delivery_id": range(1, len(delivered) + 1), "deliver_to": delivered["street"],
                               "recipient": delivered["login"], "kg": np.round(rng.uniform(0.5, 30, len(delivered)), 1)})
    transfers = pd.DataFrame({
        "transfer_id": range(1, 801), "client_id": rng.integers(1, CLIENTS + 1, 800),
        "account_to": rng.choice(np.arange(10_000_000, 10_050_000), 800, replace=False),
        "amount": np.round(rng.uniform(10, 9000, 800), 2),
    })
    statuses = pd.DataFrame({"status_id": [1, 2, 3], "label": ["open", "pending", "closed"]})
    agents = pd.DataFrame({"agent_id": range(1, 9), "first_name": [fake.unique.first_name() for _ in range(8)],
                           "last_name": [fake.unique.last_name() for _ in range(8)],
                           "phone": [f"555-{rng.integers(1000, 9999)}-{i}" for i in range(8)]})
    tickets = pd.DataFrame({
        "ticket_id": range(1, 501), "status_id": rng.integers(1, 4, 500), "agent_id": rng.integers(1, 9, 500),
        "client_id": rng.integers(1, CLIENTS + 1, 500), "priority": rng.choice(["HIGH", "LOW", "NORMAL"], 500),
        "feeling": ["ecstatic"] + list(rng.choice(["calm", "angry"], 499)),
    })
    tier_a = pd.DataFrame({"a_id": [1, 2, 3], "a_name": ["alpha", "beta", "gamma"]})
    tier_b = pd.DataFrame({"b_id": range(1, 7), "a_id": [1, 1, 2, 2, 3, 3], "b_name": [f"b{i}" for i in range(6)]})
    tier_c = pd.DataFrame({"c_id": range(1, 41), "b_id": rng.integers(1, 7, 40), "size": rng.integers(1, 100, 40)})
    tier_d = pd.DataFrame({"d_id": range(1, 401), "c_id": rng.integers(1, 41, 400),
                           "weight": np.round(rng.uniform(1, 9, 400), 1)})
    return {
        "districts": districts, "clients": clients.drop(columns="city"), "invoices": invoices,
        "deliveries": deliveries, "transfers": transfers, "statuses": statuses, "agents": agents,
        "tickets": tickets, "tier_a": tier_a, "tier_b": tier_b, "tier_c": tier_c, "tier_d": tier_d,
    }  # fmt: skip


@pytest.fixture(scope="module")
def redteam(pg_server, tmp_path_factory: pytest.TempPathFactory):
    url = pg_server.create_database("redteam")
    frames = _frames()
    with psycopg.connect(libpq_dsn(url), autocommit=True) as con:
        con.execute(DDL)
        for name, frame in frames.items():
            columns = list(frame.columns)
            with con.cursor() as cursor, cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in frame.itertuples(index=False):
                    copy.write_row([value.item() if hasattr(value, "item") else value for value in row])
        con.execute("ANALYZE")
    folder = tmp_path_factory.mktemp("redteam")
    config = validate_config({
        "warehouses": [{"name": "rt", "url": url}], "sample_rows": SAMPLE_ROWS, "copy_rows": 400, "seed": 9,
        "executor": {"workers": 2}, "store": str(folder / "store.duckdb"), "catalog": {"file": None},
    })  # fmt: skip
    report = run_sync(config)
    with duckdb.connect(str(config.store), read_only=True) as con:
        stored = {name: con.execute(f'SELECT * FROM public."{name}"').df() for name in frames}
    return url, frames, config, report, stored


def _normalized(values) -> set[str]:
    return {normalize(value) for value in values if value is not None and not pd.isna(value)}


def test_every_table_is_published_and_every_foreign_key_resolves(redteam) -> None:
    url, frames, config, report, _ = redteam
    assert {r.ref.name: r.reason for r in report.results if r.status is not TableStatus.SYNTHESIZED} == {}
    assert sorted(t.table_name for t in Store(config.store).tables()) == sorted(frames)
    assert [c for c in foreign_key_integrity(config.store, url) if not c.resolves] == []


def test_pii_denormalised_under_concatenated_names_never_reaches_the_store(redteam) -> None:
    _, frames, _, _, stored = redteam
    clients, invoices = frames["clients"], stored["invoices"]
    assert not _normalized(invoices["billingaddress"]) & _normalized(clients["street"])
    assert not _normalized(invoices["contactname"]) & _normalized(clients["full_name"])
    real = frames["invoices"]
    people_per_city = real.groupby(real["shipcity"].map(normalize))["client_id"].nunique()
    rare_cities = set(people_per_city.index[people_per_city < 5])
    assert rare_cities and not _normalized(invoices["shipcity"]) & rare_cities  # 7 invoices, one person


def test_identities_copied_under_names_that_say_nothing_are_found(redteam) -> None:
    """Six deliveries per client: counted by rows, each street and login looks like a common category."""
    _, frames, config, _, stored = redteam
    assert not _normalized(stored["deliveries"]["deliver_to"]) & _normalized(frames["clients"]["street"])
    assert not _normalized(stored["deliveries"]["recipient"]) & _normalized(frames["clients"]["login"])
    classes = Store(config.store).table("public.deliveries").classes
    assert classes["deliver_to"]["identifying"] and classes["deliver_to"]["semantic"] == "address"
    assert classes["recipient"]["identifying"] and "public.clients.login" in classes["recipient"]["reason"]


def test_low_entropy_identifiers_never_equal_a_real_value_outside_the_sample(redteam) -> None:
    _, frames, _, _, stored = redteam
    assert not set(stored["clients"]["birth_number"]) & set(frames["clients"]["birth_number"])
    assert not set(stored["transfers"]["account_to"]) & set(frames["transfers"]["account_to"])
    assert stored["clients"]["birth_number"].between(100_000, 999_999).all()  # still six digits


def test_tiny_tables_are_published_labels_kept_people_faked(redteam) -> None:
    _, frames, _, report, stored = redteam
    assert set(stored["statuses"]["label"]) == {"open", "pending", "closed"}  # a 3-row reference table
    agents = stored["agents"]
    assert len(agents) == 8
    for column in ("first_name", "last_name", "phone"):
        assert not _normalized(agents[column]) & _normalized(frames["agents"][column]), column
    assert (agents["phone"].str.len() <= 12).all()  # VARCHAR(12)
    notes = {r.ref.name: " ".join(r.notes) for r in report.results}
    assert "reference table: labels kept" in notes["statuses"] and "generated column by column" in notes["agents"]


def test_a_chain_of_small_parents_is_published_whole(redteam) -> None:
    _, _, _, _, stored = redteam
    assert [len(stored[name]) for name in ("tier_a", "tier_b", "tier_c")] == [3, 6, 40]
    assert set(stored["tier_b"]["a_id"]) <= set(stored["tier_a"]["a_id"])
    assert set(stored["tier_d"]["c_id"]) <= set(stored["tier_c"]["c_id"])


def test_char_labels_enums_and_floats_are_faithful(redteam) -> None:
    _, frames, config, _, stored = redteam
    assert set(stored["tickets"]["priority"]) <= {"HIGH", "LOW", "NORMAL"}  # no CHAR(8) padding
    assert set(stored["tickets"]["feeling"]) <= {"calm", "angry", "ecstatic"}  # enum labels only
    assert set(stored["districts"]["region"]) == {"NORTH", "SOUTH", "EAST", "WEST"}
    for table, column in (("invoices", "rating"), ("deliveries", "kg"), ("tier_d", "weight")):
        values = stored[table][column]
        assert (values == values.round(1)).all() and all(len(repr(v).split(".")[-1]) <= 1 for v in values), table
    engine = QueryEngine(config.store, SandboxConfig())
    try:
        high = engine.run("SELECT count(*) FROM tickets t JOIN statuses s ON s.status_id = t.status_id "
                          "WHERE t.priority = 'HIGH' AND s.label = 'open'", dialect="postgres")
    finally:
        engine.close()
    assert high.rows[0][0] > 0


def test_the_real_tables_hold_what_the_assertions_look_for(redteam) -> None:
    """The red team is real: the warehouse holds the denormalised and low-entropy values."""
    url, frames, *_ = redteam
    engine = sa.create_engine(url)
    with engine.connect() as con:
        repeated = con.exec_driver_sql(
            "SELECT count(*) FROM invoices i JOIN clients c ON c.client_id = i.client_id AND c.street = i.billingaddress"
        ).scalar()
        padded = con.exec_driver_sql("SELECT count(*) FROM tickets WHERE priority = 'HIGH' AND octet_length(priority) = 8").scalar()
    engine.dispose()
    assert repeated == len(frames["invoices"]) and padded > 0

