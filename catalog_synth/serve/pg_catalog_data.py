"""The rows of the sandbox's PostgreSQL catalog, built from the store's table list.

Tables get PostgreSQL OIDs from 16384 up (as user objects do in PostgreSQL), columns their
PostgreSQL type and modifier (``numeric(12,2)``), primary keys where the store records them
(``"primary_key": true`` on a column) and foreign keys from the relationships the store
measured. Catalog tables a client may read but that have nothing to say here (defaults,
comments, triggers, policies …) exist and are empty.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from catalog_synth.serve.pg_catalog_schema import ISC_COLUMNS as _ISC_COLUMNS
from catalog_synth.serve.pg_catalog_schema import MACROS as _MACROS
from catalog_synth.serve.pg_catalog_schema import PG_COLUMNS as _PG_COLUMNS
from catalog_synth.serve.pg_catalog_schema import PG_TABLES
from catalog_synth.serve.pg_catalog_schema import TYPES as _TYPES
from catalog_synth.serve.pg_types import wire_column
from catalog_synth.store.copies import StoredTable

__all__ = ["PG_TABLES", "build_catalog"]

OWNER = 10
PG_CATALOG_NS, INFORMATION_SCHEMA_NS = 11, 13000
_FIRST_OID = 16384

def build_catalog(con: duckdb.DuckDBPyConnection, tables: list[StoredTable]) -> list[str]:
    """Create and fill the catalog tables on ``con``; return the synthetic schemas (sorted)."""
    con.execute("CREATE SCHEMA isc")
    for name, columns in _PG_COLUMNS.items():
        # xmin: PostgreSQL's system column, which DataGrip's introspection reads on every catalog table.
        con.execute(f"CREATE TABLE main.{name} ({columns}, xmin BIGINT DEFAULT 1)")
    for name, columns in _ISC_COLUMNS.items():
        con.execute(f"CREATE TABLE isc.{name} ({columns})")
    database = tables[0].warehouse if len({t.warehouse for t in tables}) == 1 else "synthetic"
    rows = _Rows(database)
    rows.fixed()
    schemas = sorted({t.schema_name for t in tables})
    for schema in schemas:
        rows.namespace(schema)
    by_name = {(t.schema_name.lower(), t.table_name.lower()): t for t in tables}
    for table in tables:
        rows.table(table)
    for table in tables:
        for relation in table.relations or []:
            parent = by_name.get(tuple(str(relation.get("parent", "")).lower().split(".", 1)))  # type: ignore[arg-type]
            if parent is not None and relation.get("columns") and relation.get("parent_columns"):
                rows.foreign_key(table, parent, list(relation["columns"]), list(relation["parent_columns"]))
    rows.mark_triggers()
    # Look-ups are CASE expressions, not subqueries: a macro's argument named like a column of
    # the subquery (``pg_get_constraintdef(oid)``) would bind to the subquery's column.
    con.execute(_MACROS.replace("{type_names}", _case("t", [(t[0], t[2]) for t in _TYPES]))
                .replace("{constraints}", _case("c", [(r[0], r[-1]) for r in rows.data["pg_constraint"]]))
                .replace("{indexes}", _case("i", [(r[0], r[-1]) for r in rows.data["pg_index"]]))
                .replace("{index_columns}", _case("CAST(i AS BIGINT) * 1000 + n", rows.index_columns))
                .replace("{type_oids}", _case("n", [(name, oid) for oid, typname, sql_name, *_ in _TYPES
                                                     for name in {typname, sql_name}], "BIGINT"))
                .replace("{class_oids}", _case("n", rows.class_names(), "BIGINT")))
    for name, values in rows.data.items():
        if values:
            schema = "isc" if name in _ISC_COLUMNS else "main"
            width = len(values[0])
            names = ", ".join(c.split(" ")[0] for c in {**_PG_COLUMNS, **_ISC_COLUMNS}[name].split(", "))
            con.executemany(f"INSERT INTO {schema}.{name} ({names}) VALUES ({', '.join(['?'] * width)})", values)
    return schemas


class _Rows:
    """The rows of every catalog table, collected before one insert per table."""

    def __init__(self, database: str):
        self.database = database
        self.data: dict[str, list[tuple[Any, ...]]] = {name: [] for name in [*_PG_COLUMNS, *_ISC_COLUMNS]}
        self.widths = {name: len(cols.split(", ")) for name, cols in {**_PG_COLUMNS, **_ISC_COLUMNS}.items()}
        self.next_oid = _FIRST_OID
        self.namespaces: dict[str, int] = {}
        self.relations: dict[tuple[str, str], tuple[int, dict[str, int]]] = {}
        self.keys: dict[tuple[str, str], tuple[str, list[str], int]] = {}  # table -> primary key, index oid
        self.triggers: set[int] = set()
        self.index_columns: list[tuple[int, str]] = []  # (index oid * 1000 + key position, column)

    def oid(self) -> int:
        self.next_oid += 1
        return self.next_oid

    def add(self, name: str, **values: Any) -> None:
        columns = [c.split(" ")[0] for c in ({**_PG_COLUMNS, **_ISC_COLUMNS}[name]).split(", ")]
        unknown = set(values) - set(columns)
        assert not unknown, (name, unknown)
        self.data[name].append(tuple(values.get(c) for c in columns))

    def fixed(self) -> None:
        self.add("pg_namespace", oid=PG_CATALOG_NS, nspname="pg_catalog", nspowner=OWNER)
        self.add("pg_namespace", oid=INFORMATION_SCHEMA_NS, nspname="information_schema", nspowner=OWNER)
        self.add("pg_am", oid=2, amname="heap", amtype="t")
        self.add("pg_am", oid=403, amname="btree", amtype="i")
        self.add("pg_database", oid=_FIRST_OID - 1, datname=self.database, datdba=OWNER, encoding=6,
                 datlocprovider="c", datistemplate=False, datallowconn=True, datconnlimit=-1,
                 dattablespace=1663, datcollate="C", datctype="C")
        self.add("pg_roles", oid=OWNER, rolname="catalog_synth", rolsuper=False, rolinherit=True,
                 rolcreaterole=False, rolcreatedb=False, rolcanlogin=True, rolreplication=False,
                 rolconnlimit=-1, rolbypassrls=False)
        self.add("pg_user", usename="catalog_synth", usesysid=OWNER, usecreatedb=False, usesuper=False,
                 userepl=False, usebypassrls=False)
        self.add("pg_tablespace", oid=1663, spcname="pg_default", spcowner=OWNER)
        for oid, typname, sql_name, length, category, array, element in _TYPES:
            self.add("pg_type", oid=oid, typname=typname, typnamespace=PG_CATALOG_NS, typowner=OWNER, typlen=length,
                     typbyval=0 < length <= 8, typtype="p" if category == "P" else "b", typcategory=category,
                     typispreferred=False, typisdefined=True, typdelim=",", typrelid=0, typelem=element,
                     typarray=array, typinput="array_in" if element else f"{typname}in",
                     typoutput="array_out" if element else f"{typname}out", typreceive=f"{typname}recv",
                     typsend=f"{typname}send", typalign="i", typstorage="p", typnotnull=False, typbasetype=0,
                     typtypmod=-1, typndims=0, typcollation=100 if category == "S" else 0)

    def namespace(self, schema: str) -> None:
        oid = self.oid()
        self.namespaces[schema] = oid
        self.add("pg_namespace", oid=oid, nspname=schema, nspowner=OWNER)
        self.add("schemata", catalog_name=self.database, schema_name=schema, schema_owner="catalog_synth")

    def table(self, table: StoredTable) -> None:
        oid, namespace = self.oid(), self.namespaces[table.schema_name]
        primary = [c["name"] for c in table.columns if c.get("primary_key")]
        self.add("pg_class", oid=oid, relname=table.table_name, relnamespace=namespace, reltype=0, reloftype=0,
                 relowner=OWNER, relam=2, relfilenode=oid, reltablespace=0, relpages=1,
                 reltuples=float(table.row_count), relallvisible=0, reltoastrelid=0, relhasindex=bool(primary),
                 relisshared=False, relpersistence="p", relkind="r", relnatts=len(table.columns), relchecks=0,
                 relhasrules=False, relhastriggers=False, relhassubclass=False, relrowsecurity=False,
                 relforcerowsecurity=False, relispopulated=True, relreplident="d", relispartition=False,
                 relrewrite=0, relfrozenxid=0, relminmxid=0)
        self.add("pg_tables", schemaname=table.schema_name, tablename=table.table_name, tableowner="catalog_synth",
                 hasindexes=bool(primary), hasrules=False, hastriggers=False, rowsecurity=False)
        self.add("tables", table_catalog=self.database, table_schema=table.schema_name, table_name=table.table_name,
                 table_type="BASE TABLE", is_insertable_into="NO", is_typed="NO")
        attnums = {}
        for number, column in enumerate(table.columns, start=1):
            attnums[column["name"]] = number
            self._column(oid, table, number, column, column["name"] in primary)
        self.relations[(table.schema_name.lower(), table.table_name.lower())] = (oid, attnums)
        if primary:
            self._key(table, oid, namespace, attnums, primary)

    def _column(self, relid: int, table: StoredTable, number: int, column: dict[str, Any], not_null: bool) -> None:
        wire = wire_column(column["name"], column["type"])
        length = next((t[3] for t in _TYPES if t[0] == wire.oid), -1)
        self.add("pg_attribute", attrelid=relid, attname=column["name"], atttypid=wire.oid, attstattarget=-1,
                 attlen=length, attnum=number, attndims=0, attcacheoff=-1, atttypmod=wire.type_modifier,
                 attbyval=0 < length <= 8, attalign="i", attstorage="p", attcompression="", attnotnull=not_null,
                 atthasdef=False, atthasmissing=False, attidentity="", attgenerated="", attisdropped=False,
                 attislocal=True, attinhcount=0, attcollation=100 if wire.oid in (25, 1043) else 0)
        sql_name = next(t[2] for t in _TYPES if t[0] == wire.oid)
        precision = scale = None
        if wire.type_modifier >= 4:
            precision, scale = (wire.type_modifier - 4) >> 16, (wire.type_modifier - 4) & 65535
        elif wire.oid in (20, 21, 23):
            precision, scale = {20: 64, 21: 16, 23: 32}[wire.oid], 0
        elif wire.oid in (700, 701):
            precision = {700: 24, 701: 53}[wire.oid]
        self.add("columns", table_catalog=self.database, table_schema=table.schema_name,
                 table_name=table.table_name, column_name=column["name"], ordinal_position=number,
                 is_nullable="NO" if not_null else "YES", data_type=sql_name if wire.oid < 1000 or wire.oid >= 1082
                 or wire.oid in (1042, 1043) else "ARRAY", numeric_precision=precision,
                 numeric_precision_radix=(10 if wire.oid == 1700 else 2) if precision else None,
                 numeric_scale=scale, datetime_precision=6 if wire.oid in (1114, 1184, 1083) else None,
                 udt_catalog=self.database, udt_schema="pg_catalog",
                 udt_name=next(t[1] for t in _TYPES if t[0] == wire.oid), dtd_identifier=str(number),
                 is_identity="NO", is_generated="NEVER", is_updatable="NO")

    def _key(self, table: StoredTable, relid: int, namespace: int, attnums: dict[str, int], columns: list[str]) -> None:
        name = f"{table.table_name}_pkey"
        index, constraint = self.oid(), self.oid()
        keys = [attnums[c] for c in columns]
        self.index_columns += [(index * 1000 + position, column) for position, column in enumerate(columns, start=1)]
        quoted = ", ".join(_ident(c) for c in columns)
        indexdef = (f"CREATE UNIQUE INDEX {_ident(name)} ON {_ident(table.schema_name)}."
                    f"{_ident(table.table_name)} USING btree ({quoted})")
        self.add("pg_class", oid=index, relname=name, relnamespace=namespace, reltype=0, relowner=OWNER, relam=403,
                 relkind="i", relnatts=len(keys), relpersistence="p", relhasindex=False, relispartition=False,
                 reltuples=float(table.row_count), relpages=1, relhasrules=False, relhastriggers=False,
                 relrowsecurity=False, relforcerowsecurity=False, relreplident="n", relispopulated=True)
        self.add("pg_index", indexrelid=index, indrelid=relid, indnatts=len(keys), indnkeyatts=len(keys),
                 indisunique=True, indnullsnotdistinct=False, indisprimary=True, indisexclusion=False,
                 indimmediate=True, indisclustered=False, indisvalid=True, indcheckxmin=False, indisready=True,
                 indislive=True, indisreplident=False, indkey=keys, indoption=[0] * len(keys), indexdef=indexdef)
        self.add("pg_indexes", schemaname=table.schema_name, tablename=table.table_name, indexname=name,
                 indexdef=indexdef)
        self.add("pg_constraint", oid=constraint, conname=name, connamespace=namespace, contype="p",
                 condeferrable=False, condeferred=False, convalidated=True, conrelid=relid, contypid=0,
                 conindid=index, conparentid=0, confrelid=0, confupdtype=" ", confdeltype=" ", confmatchtype=" ",
                 conislocal=True, coninhcount=0, connoinherit=True, conkey=keys, condef=f"PRIMARY KEY ({quoted})")
        self._constraint_views(table, name, "PRIMARY KEY", columns)
        self.keys[(table.schema_name.lower(), table.table_name.lower())] = (name, columns, index)

    def class_names(self) -> list[tuple[str, int]]:
        """(name, oid) of every table and index, bare and schema-qualified."""
        namespaces = {oid: name for name, oid in self.namespaces.items()}
        columns = [c.split(" ")[0] for c in _PG_COLUMNS["pg_class"].split(", ")]
        oid, name, namespace = columns.index("oid"), columns.index("relname"), columns.index("relnamespace")
        pairs = []
        for row in self.data["pg_class"]:
            pairs += [(row[name], row[oid]), (f"{namespaces[row[namespace]]}.{row[name]}", row[oid])]
        return pairs

    def mark_triggers(self) -> None:
        """Tables on either side of a foreign key have triggers in PostgreSQL (psql lists keys only then)."""
        columns = [c.split(" ")[0] for c in _PG_COLUMNS["pg_class"].split(", ")]
        oid, flag = columns.index("oid"), columns.index("relhastriggers")
        self.data["pg_class"] = [row[:flag] + (row[oid] in self.triggers,) + row[flag + 1:]
                                 for row in self.data["pg_class"]]

    def foreign_key(self, child: StoredTable, parent: StoredTable, columns: list[str], referred: list[str]) -> None:
        child_oid, child_attnums = self.relations[(child.schema_name.lower(), child.table_name.lower())]
        parent_oid, parent_attnums = self.relations[(parent.schema_name.lower(), parent.table_name.lower())]
        if not all(c in child_attnums for c in columns) or not all(c in parent_attnums for c in referred):
            return  # a key column the synthetic copy dropped
        name = f"{child.table_name}_{'_'.join(columns)}_fkey"
        definition = (f"FOREIGN KEY ({', '.join(_ident(c) for c in columns)}) REFERENCES "
                      f"{_ident(parent.schema_name)}.{_ident(parent.table_name)}"
                      f"({', '.join(_ident(c) for c in referred)})")
        parent_key = self.keys.get((parent.schema_name.lower(), parent.table_name.lower()))
        self.add("pg_constraint", oid=self.oid(), conname=name, connamespace=self.namespaces[child.schema_name],
                 contype="f", condeferrable=False, condeferred=False, convalidated=True, conrelid=child_oid,
                 contypid=0, conindid=parent_key[2] if parent_key else 0, conparentid=0, confrelid=parent_oid,
                 confupdtype="a", confdeltype="a",
                 confmatchtype="s", conislocal=True, coninhcount=0, connoinherit=True,
                 conkey=[child_attnums[c] for c in columns], confkey=[parent_attnums[c] for c in referred],
                 condef=definition)
        self._constraint_views(child, name, "FOREIGN KEY", columns)
        self.triggers.update((child_oid, parent_oid))
        self.add("referential_constraints", constraint_catalog=self.database, constraint_schema=child.schema_name,
                 constraint_name=name, unique_constraint_catalog=self.database,
                 unique_constraint_schema=parent.schema_name,
                 unique_constraint_name=parent_key[0] if parent_key else None, match_option="NONE",
                 update_rule="NO ACTION", delete_rule="NO ACTION")
        for column in referred:
            self.add("constraint_column_usage", table_catalog=self.database, table_schema=parent.schema_name,
                     table_name=parent.table_name, column_name=column, constraint_catalog=self.database,
                     constraint_schema=child.schema_name, constraint_name=name)

    def _constraint_views(self, table: StoredTable, name: str, kind: str, columns: list[str]) -> None:
        self.add("table_constraints", constraint_catalog=self.database, constraint_schema=table.schema_name,
                 constraint_name=name, table_catalog=self.database, table_schema=table.schema_name,
                 table_name=table.table_name, constraint_type=kind, is_deferrable="NO", initially_deferred="NO",
                 enforced="YES")
        for position, column in enumerate(columns, start=1):
            self.add("key_column_usage", constraint_catalog=self.database, constraint_schema=table.schema_name,
                     constraint_name=name, table_catalog=self.database, table_schema=table.schema_name,
                     table_name=table.table_name, column_name=column, ordinal_position=position,
                     position_in_unique_constraint=position if kind == "FOREIGN KEY" else None)


def _case(argument: str, pairs: list[tuple[Any, Any]], kind: str = "VARCHAR") -> str:
    if not pairs:
        return f"CAST(NULL AS {kind})"
    branches = " ".join(f"WHEN {_sql(key)} THEN {_sql(value)}" for key, value in pairs)
    return f"(CASE {argument} {branches} END)"


def _sql(value: Any) -> str:
    return str(int(value)) if isinstance(value, int) else _literal(str(value))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'
