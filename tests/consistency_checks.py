"""Is a synthetic copy consistent as a schema? SQL aggregates on the warehouse against the store.

* ``label_shares``: a child's share of rows per label of a referenced lookup table (tracks per
  genre, customers per nation), on each side, and the largest absolute difference;
* ``pairs_kept``: the share of rows of one lookup table whose label still goes with the same
  label of another (each nation in its real region);
* ``composite_resolves``: the share of child rows whose composite key exists in its parent
  (line items whose (part, supplier) pair is in ``partsupp``);
* ``row_counts``: rows per table in the warehouse and in the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlalchemy as sa


@dataclass(frozen=True)
class Shares:
    real: dict[str, float]
    synthetic: dict[str, float]
    synthetic_rows: int  # child rows in the store with a label (shares move in steps of 1 / this)

    @property
    def max_difference(self) -> float:
        labels = set(self.real) | set(self.synthetic)
        return max(abs(self.real.get(x, 0.0) - self.synthetic.get(x, 0.0)) for x in labels) if labels else 0.0


def _warehouse(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return [tuple(row) for row in con.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def _store(store: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(store), read_only=True) as con:
        con.execute("SET schema = 'public'")
        return [tuple(row) for row in con.execute(sql).fetchall()]


def _shares(rows: list[tuple]) -> dict[str, float]:
    total = sum(n for _, n in rows) or 1
    return {str(label).rstrip(): n / total for label, n in rows}


def label_shares(url: str, store: Path, child: str, key: str, parent: str, parent_key: str, label: str) -> Shares:
    """Share of ``child`` rows per ``parent.label``, joined on ``child.key = parent.parent_key``."""
    sql = (
        f"SELECT p.{label}, count(*) FROM {child} c JOIN {parent} p ON p.{parent_key} = c.{key} "
        f"GROUP BY p.{label}"
    )
    synthetic = _store(store, sql)
    return Shares(_shares(_warehouse(url, sql)), _shares(synthetic), sum(n for _, n in synthetic))


def pairs_kept(
    url: str, store: Path, child: str, key: str, child_label: str, parent: str, parent_key: str, label: str
) -> float:
    """Share of real ``child_label`` values whose ``parent.label`` in the store equals the real one."""
    sql = f"SELECT c.{child_label}, p.{label} FROM {child} c JOIN {parent} p ON p.{parent_key} = c.{key}"
    real = {str(a).rstrip(): str(b).rstrip() for a, b in _warehouse(url, sql)}
    synthetic: dict[str, set[str]] = {}
    for a, b in _store(store, sql):
        synthetic.setdefault(str(a).rstrip(), set()).add(str(b).rstrip())
    kept = sum(1 for a, b in real.items() if synthetic.get(a) == {b})
    return kept / len(real) if real else 1.0


def composite_resolves(store: Path, child: str, columns: tuple[str, ...], parent: str, parent_columns: tuple[str, ...]) -> float:
    """Share of ``child`` rows (with the key present) whose composite key exists in ``parent``."""
    join = " AND ".join(f"p.{pc} = c.{c}" for c, pc in zip(columns, parent_columns))
    present = " AND ".join(f"c.{c} IS NOT NULL" for c in columns)
    total, found = _store(store, (
        f"SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM {parent} p WHERE {join})) "
        f"FROM {child} c WHERE {present}"
    ))[0]  # fmt: skip
    return found / total if total else 1.0


def row_counts(url: str, store: Path, tables: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """``{table: (real rows, synthetic rows)}`` (synthetic -1 when the store has no copy)."""
    counts = {}
    for table in tables:
        real = _warehouse(url, f"SELECT count(*) FROM {table}")[0][0]
        try:
            synthetic = _store(store, f"SELECT count(*) FROM {table}")[0][0]
        except duckdb.CatalogException:
            synthetic = -1
        counts[table] = (real, synthetic)
    return counts


# Schema-wide rules (issue 20, items 1-2): name -> (FROM clause, condition that holds). A copy
# counts two empty values as equal (an invoice without a state, of a customer without one).
RULES = {
    "chinook": {
        "invoice billing country = customer country": (
            "invoice i JOIN customer c ON c.customerid = i.customerid", "i.billingcountry IS NOT DISTINCT FROM c.country"),
        "invoice billing city = customer city": (
            "invoice i JOIN customer c ON c.customerid = i.customerid", "i.billingcity IS NOT DISTINCT FROM c.city"),
        "invoice billing postal code = customer postal code": (
            "invoice i JOIN customer c ON c.customerid = i.customerid", "i.billingpostalcode IS NOT DISTINCT FROM c.postalcode"),
        "employee hired after birth": ("employee e", "e.hiredate >= e.birthdate"),
        # a parent total: an invoice's total is the sum of its lines' unit price times quantity
        "invoice total = sum of its lines": (
            "invoice i JOIN (SELECT invoiceid, sum(unitprice * quantity) AS lines FROM invoiceline GROUP BY invoiceid) l"
            " ON l.invoiceid = i.invoiceid", "abs(i.total - l.lines) < 0.005"),
    },
    "tpch": {
        "line item shipped on or after its order date": (
            "lineitem l JOIN orders o ON o.o_orderkey = l.l_orderkey", "l.l_shipdate >= o.o_orderdate"),
        "line item committed on or after its order date": (
            "lineitem l JOIN orders o ON o.o_orderkey = l.l_orderkey", "l.l_commitdate >= o.o_orderdate"),
        "line item received on or after shipped": ("lineitem l", "l.l_receiptdate >= l.l_shipdate"),
        # offsets, not only order: the specification ships a line 1 to 121 days after its order
        "line item shipped 1 to 121 days after its order date": (
            "lineitem l JOIN orders o ON o.o_orderkey = l.l_orderkey", "l.l_shipdate - o.o_orderdate BETWEEN 1 AND 121"),
        # bands: a line is open (O) when it ships after the day the data was taken, 1995-06-17,
        # and not yet returned (N) when received after it
        "line status O exactly when shipped after 1995-06-17": (
            "lineitem l", "(l.l_linestatus = 'O') = (l.l_shipdate > date '1995-06-17')"),
        "return flag N exactly when received after 1995-06-17": (
            "lineitem l", "(l.l_returnflag = 'N') = (l.l_receiptdate > date '1995-06-17')"),
        # a row holds when its manufacturer is the most common one of its brand
        "part brand -> manufacturer": (
            "(SELECT n, max(n) OVER (PARTITION BY p_brand) AS top FROM (SELECT p_brand,"
            " count(*) OVER (PARTITION BY p_brand, p_mfgr) AS n FROM part) y) x", "x.n = x.top"),
    },
    "tpcds": {
        "address zip code -> city": (
            "(SELECT n, max(n) OVER (PARTITION BY ca_zip) AS top FROM (SELECT ca_zip, count(*) OVER"
            " (PARTITION BY ca_zip, ca_city) AS n FROM customer_address WHERE ca_zip IS NOT NULL"
            " AND ca_city IS NOT NULL) y) x", "x.n = x.top"),
    },
}  # fmt: skip


def pair_share(url: str, store: Path, sql: str) -> float:
    """Share of the store's rows of ``sql`` (two columns) whose second value is the one the first
    goes with in the warehouse (a phone's country code and its customer's nation)."""
    real = {str(a).rstrip(): str(b).rstrip() for a, b in _warehouse(url, sql)}
    rows = _store(store, sql)
    return sum(1 for a, b in rows if real.get(str(a).rstrip()) == str(b).rstrip()) / (len(rows) or 1)


def rule_shares(url: str, store: Path, source: str, condition: str) -> tuple[float, float]:
    """(real, synthetic) share of the rows of ``source`` where ``condition`` holds."""
    sql = f"SELECT count(*), sum(CASE WHEN {condition} THEN 1 ELSE 0 END) FROM {source}"
    (real_rows, real_holds), = _warehouse(url, sql)
    (rows, holds), = _store(store, sql)
    return (real_holds or 0) / (real_rows or 1), (holds or 0) / (rows or 1)
