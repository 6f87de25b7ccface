"""The shape of the sandbox's PostgreSQL catalog: its tables' columns, the types it knows, its functions.

Each catalog table lists the columns clients read (psql, SQLAlchemy, JDBC, DBeaver); the rows are
built by :mod:`.pg_catalog_data`. Functions are DuckDB macros: look-ups by OID are CASE expressions
filled in when the catalog is built (``{constraints}`` …).
"""

from __future__ import annotations

# name -> columns (DuckDB types); every table lives in the catalog database's main schema.
PG_COLUMNS = {
    "pg_namespace": "oid BIGINT, nspname VARCHAR, nspowner BIGINT, nspacl VARCHAR",
    "pg_class": (
        "oid BIGINT, relname VARCHAR, relnamespace BIGINT, reltype BIGINT, reloftype BIGINT, relowner BIGINT, "
        "relam BIGINT, relfilenode BIGINT, reltablespace BIGINT, relpages INTEGER, reltuples DOUBLE, "
        "relallvisible INTEGER, reltoastrelid BIGINT, relhasindex BOOLEAN, relisshared BOOLEAN, "
        "relpersistence VARCHAR, relkind VARCHAR, relnatts SMALLINT, relchecks SMALLINT, relhasrules BOOLEAN, "
        "relhastriggers BOOLEAN, relhassubclass BOOLEAN, relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, "
        "relispopulated BOOLEAN, relreplident VARCHAR, relispartition BOOLEAN, relrewrite BIGINT, "
        "relfrozenxid BIGINT, relminmxid BIGINT, relacl VARCHAR[], reloptions VARCHAR[], relpartbound VARCHAR"
    ),
    "pg_attribute": (
        "attrelid BIGINT, attname VARCHAR, atttypid BIGINT, attstattarget INTEGER, attlen SMALLINT, "
        "attnum SMALLINT, attndims INTEGER, attcacheoff INTEGER, atttypmod INTEGER, attbyval BOOLEAN, "
        "attalign VARCHAR, attstorage VARCHAR, attcompression VARCHAR, attnotnull BOOLEAN, atthasdef BOOLEAN, "
        "atthasmissing BOOLEAN, attidentity VARCHAR, attgenerated VARCHAR, attisdropped BOOLEAN, "
        "attislocal BOOLEAN, attinhcount INTEGER, attcollation BIGINT, attacl VARCHAR[], attoptions VARCHAR[], "
        "attfdwoptions VARCHAR[], attmissingval VARCHAR"
    ),
    "pg_type": (
        "oid BIGINT, typname VARCHAR, typnamespace BIGINT, typowner BIGINT, typlen SMALLINT, typbyval BOOLEAN, "
        "typtype VARCHAR, typcategory VARCHAR, typispreferred BOOLEAN, typisdefined BOOLEAN, typdelim VARCHAR, "
        "typrelid BIGINT, typsubscript VARCHAR, typelem BIGINT, typarray BIGINT, typinput VARCHAR, "
        "typoutput VARCHAR, typreceive VARCHAR, typsend VARCHAR, typmodin VARCHAR, typmodout VARCHAR, "
        "typanalyze VARCHAR, typalign VARCHAR, typstorage VARCHAR, typnotnull BOOLEAN, typbasetype BIGINT, "
        "typtypmod INTEGER, typndims INTEGER, typcollation BIGINT, typdefaultbin VARCHAR, typdefault VARCHAR, "
        "typacl VARCHAR[]"
    ),
    "pg_constraint": (
        "oid BIGINT, conname VARCHAR, connamespace BIGINT, contype VARCHAR, condeferrable BOOLEAN, "
        "condeferred BOOLEAN, convalidated BOOLEAN, conrelid BIGINT, contypid BIGINT, conindid BIGINT, "
        "conparentid BIGINT, confrelid BIGINT, confupdtype VARCHAR, confdeltype VARCHAR, confmatchtype VARCHAR, "
        "conislocal BOOLEAN, coninhcount INTEGER, connoinherit BOOLEAN, conkey SMALLINT[], confkey SMALLINT[], "
        "conpfeqop BIGINT[], conppeqop BIGINT[], conffeqop BIGINT[], confdelsetcols SMALLINT[], "
        "conexclop BIGINT[], conbin VARCHAR, condef VARCHAR"
    ),
    "pg_index": (
        "indexrelid BIGINT, indrelid BIGINT, indnatts SMALLINT, indnkeyatts SMALLINT, indisunique BOOLEAN, "
        "indnullsnotdistinct BOOLEAN, indisprimary BOOLEAN, indisexclusion BOOLEAN, indimmediate BOOLEAN, "
        "indisclustered BOOLEAN, indisvalid BOOLEAN, indcheckxmin BOOLEAN, indisready BOOLEAN, "
        "indislive BOOLEAN, indisreplident BOOLEAN, indkey SMALLINT[], indcollation BIGINT[], "
        "indclass BIGINT[], indoption SMALLINT[], indexprs VARCHAR, indpred VARCHAR, indexdef VARCHAR"
    ),
    "pg_attrdef": "oid BIGINT, adrelid BIGINT, adnum SMALLINT, adbin VARCHAR",
    "pg_description": "objoid BIGINT, classoid BIGINT, objsubid INTEGER, description VARCHAR",
    "pg_shdescription": "objoid BIGINT, classoid BIGINT, description VARCHAR",
    "pg_am": "oid BIGINT, amname VARCHAR, amhandler VARCHAR, amtype VARCHAR",
    "pg_inherits": "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN",
    "pg_collation": (
        "oid BIGINT, collname VARCHAR, collnamespace BIGINT, collowner BIGINT, collprovider VARCHAR, "
        "collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, collctype VARCHAR"
    ),
    "pg_database": (
        "oid BIGINT, datname VARCHAR, datdba BIGINT, encoding INTEGER, datlocprovider VARCHAR, "
        "datistemplate BOOLEAN, datallowconn BOOLEAN, datconnlimit INTEGER, datfrozenxid BIGINT, "
        "datminmxid BIGINT, dattablespace BIGINT, datcollate VARCHAR, datctype VARCHAR, daticulocale VARCHAR, "
        "datcollversion VARCHAR, datacl VARCHAR[]"
    ),
    "pg_roles": (
        "oid BIGINT, rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN, rolcreaterole BOOLEAN, "
        "rolcreatedb BOOLEAN, rolcanlogin BOOLEAN, rolreplication BOOLEAN, rolconnlimit INTEGER, "
        "rolpassword VARCHAR, rolvaliduntil TIMESTAMP, rolbypassrls BOOLEAN, rolconfig VARCHAR[]"
    ),
    "pg_user": "usename VARCHAR, usesysid BIGINT, usecreatedb BOOLEAN, usesuper BOOLEAN, userepl BOOLEAN, "
    "usebypassrls BOOLEAN, passwd VARCHAR, valuntil TIMESTAMP, useconfig VARCHAR[]",
    "pg_auth_members": "oid BIGINT, roleid BIGINT, member BIGINT, grantor BIGINT, admin_option BOOLEAN",
    "pg_tablespace": "oid BIGINT, spcname VARCHAR, spcowner BIGINT, spcacl VARCHAR[], spcoptions VARCHAR[]",
    "pg_proc": (
        "oid BIGINT, proname VARCHAR, pronamespace BIGINT, proowner BIGINT, prolang BIGINT, prokind VARCHAR, "
        "proretset BOOLEAN, prorettype BIGINT, pronargs SMALLINT, proargtypes BIGINT[], proallargtypes BIGINT[], "
        "proargmodes VARCHAR[], proargnames VARCHAR[], prosrc VARCHAR, prosecdef BOOLEAN, provolatile VARCHAR"
    ),
    "pg_enum": "oid BIGINT, enumtypid BIGINT, enumsortorder DOUBLE, enumlabel VARCHAR",
    "pg_range": "rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT",
    "pg_trigger": "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, tgtype SMALLINT, "
    "tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstraint BIGINT",
    "pg_rewrite": "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, ev_enabled VARCHAR, is_instead BOOLEAN",
    "pg_policy": "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, polpermissive BOOLEAN, "
    "polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR",
    "pg_statistic_ext": "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, stxowner BIGINT, "
    "stxstattarget INTEGER, stxkeys SMALLINT[], stxkind VARCHAR[]",
    "pg_statistic_ext_data": "stxoid BIGINT, stxdinherit BOOLEAN",
    "pg_publication": "oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, pubinsert BOOLEAN, "
    "pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN",
    "pg_publication_rel": "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs SMALLINT[]",
    "pg_publication_namespace": "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT",
    "pg_partitioned_table": "partrelid BIGINT, partstrat VARCHAR, partnatts SMALLINT, partdefid BIGINT",
    "pg_foreign_table": "ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR[]",
    "pg_sequence": "seqrelid BIGINT, seqtypid BIGINT, seqstart BIGINT, seqincrement BIGINT, seqmax BIGINT, "
    "seqmin BIGINT, seqcache BIGINT, seqcycle BOOLEAN",
    "pg_depend": "classid BIGINT, objid BIGINT, objsubid INTEGER, refclassid BIGINT, refobjid BIGINT, "
    "refobjsubid INTEGER, deptype VARCHAR",
    "pg_extension": "oid BIGINT, extname VARCHAR, extowner BIGINT, extnamespace BIGINT, extrelocatable BOOLEAN, "
    "extversion VARCHAR",
    "pg_settings": "name VARCHAR, setting VARCHAR, unit VARCHAR, category VARCHAR, short_desc VARCHAR, "
    "vartype VARCHAR, source VARCHAR",
    "pg_tables": "schemaname VARCHAR, tablename VARCHAR, tableowner VARCHAR, tablespace VARCHAR, "
    "hasindexes BOOLEAN, hasrules BOOLEAN, hastriggers BOOLEAN, rowsecurity BOOLEAN",
    "pg_views": "schemaname VARCHAR, viewname VARCHAR, viewowner VARCHAR, definition VARCHAR",
    "pg_matviews": "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, tablespace VARCHAR, "
    "hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR",
    "pg_indexes": "schemaname VARCHAR, tablename VARCHAR, indexname VARCHAR, tablespace VARCHAR, indexdef VARCHAR",
    "pg_opclass": "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, opcdefault BOOLEAN",
    "pg_language": "oid BIGINT, lanname VARCHAR",
    "pg_event_trigger": "oid BIGINT, evtname VARCHAR, evtevent VARCHAR, evtenabled VARCHAR",
    "pg_foreign_server": "oid BIGINT, srvname VARCHAR",
    "pg_foreign_data_wrapper": "oid BIGINT, fdwname VARCHAR",
    "pg_cast": "oid BIGINT, castsource BIGINT, casttarget BIGINT, castfunc BIGINT, castcontext VARCHAR",
    "pg_operator": "oid BIGINT, oprname VARCHAR, oprnamespace BIGINT, oprleft BIGINT, oprright BIGINT, oprresult BIGINT",
}
ISC_COLUMNS = {
    "schemata": "catalog_name VARCHAR, schema_name VARCHAR, schema_owner VARCHAR, "
    "default_character_set_catalog VARCHAR, default_character_set_schema VARCHAR, "
    "default_character_set_name VARCHAR, sql_path VARCHAR",
    "tables": "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR, "
    "self_referencing_column_name VARCHAR, reference_generation VARCHAR, user_defined_type_catalog VARCHAR, "
    "user_defined_type_schema VARCHAR, user_defined_type_name VARCHAR, is_insertable_into VARCHAR, "
    "is_typed VARCHAR, commit_action VARCHAR",
    "columns": "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, "
    "ordinal_position INTEGER, column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR, "
    "character_maximum_length INTEGER, character_octet_length INTEGER, numeric_precision INTEGER, "
    "numeric_precision_radix INTEGER, numeric_scale INTEGER, datetime_precision INTEGER, interval_type VARCHAR, "
    "interval_precision INTEGER, udt_catalog VARCHAR, udt_schema VARCHAR, udt_name VARCHAR, "
    "dtd_identifier VARCHAR, is_identity VARCHAR, identity_generation VARCHAR, is_generated VARCHAR, "
    "generation_expression VARCHAR, is_updatable VARCHAR, collation_name VARCHAR",
    "table_constraints": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, "
    "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, constraint_type VARCHAR, "
    "is_deferrable VARCHAR, initially_deferred VARCHAR, enforced VARCHAR, nulls_distinct VARCHAR",
    "key_column_usage": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, "
    "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, "
    "ordinal_position INTEGER, position_in_unique_constraint INTEGER",
    "referential_constraints": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, "
    "unique_constraint_catalog VARCHAR, unique_constraint_schema VARCHAR, unique_constraint_name VARCHAR, "
    "match_option VARCHAR, update_rule VARCHAR, delete_rule VARCHAR",
    "constraint_column_usage": "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, "
    "column_name VARCHAR, constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR",
    "views": "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, view_definition VARCHAR",
    "routines": "specific_catalog VARCHAR, specific_schema VARCHAR, specific_name VARCHAR, routine_name VARCHAR, "
    "routine_type VARCHAR",
    "sequences": "sequence_catalog VARCHAR, sequence_schema VARCHAR, sequence_name VARCHAR",
}
PG_TABLES = {**{name: f"main.{name}" for name in PG_COLUMNS},
             **{f"information_schema.{name}": f"isc.{name}" for name in ISC_COLUMNS}}

# oid, typname, SQL name (format_type), len, category, array oid, element oid
TYPES = [
    (16, "bool", "boolean", 1, "B", 1000, 0), (17, "bytea", "bytea", -1, "U", 1001, 0),
    (18, "char", '"char"', 1, "Z", 1002, 0), (19, "name", "name", 64, "S", 1003, 0),
    (20, "int8", "bigint", 8, "N", 1016, 0), (21, "int2", "smallint", 2, "N", 1005, 0),
    (23, "int4", "integer", 4, "N", 1007, 0), (25, "text", "text", -1, "S", 1009, 0),
    (26, "oid", "oid", 4, "N", 1028, 0), (114, "json", "json", -1, "U", 199, 0),
    (700, "float4", "real", 4, "N", 1021, 0), (701, "float8", "double precision", 8, "N", 1022, 0),
    (1042, "bpchar", "character", -1, "S", 1014, 0), (1043, "varchar", "character varying", -1, "S", 1015, 0),
    (1082, "date", "date", 4, "D", 1182, 0), (1083, "time", "time without time zone", 8, "D", 1183, 0),
    (1114, "timestamp", "timestamp without time zone", 8, "D", 1115, 0),
    (1184, "timestamptz", "timestamp with time zone", 8, "D", 1185, 0),
    (1186, "interval", "interval", 16, "T", 1187, 0), (1700, "numeric", "numeric", -1, "N", 1231, 0),
    (2950, "uuid", "uuid", 16, "U", 2951, 0), (3802, "jsonb", "jsonb", -1, "U", 3807, 0),
    (1000, "_bool", "boolean[]", -1, "A", 0, 16), (1005, "_int2", "smallint[]", -1, "A", 0, 21),
    (1007, "_int4", "integer[]", -1, "A", 0, 23), (1016, "_int8", "bigint[]", -1, "A", 0, 20),
    (1009, "_text", "text[]", -1, "A", 0, 25), (1015, "_varchar", "character varying[]", -1, "A", 0, 1043),
    (1028, "_oid", "oid[]", -1, "A", 0, 26), (1022, "_float8", "double precision[]", -1, "A", 0, 701),
    (1231, "_numeric", "numeric[]", -1, "A", 0, 1700), (1182, "_date", "date[]", -1, "A", 0, 1082),
    (1115, "_timestamp", "timestamp without time zone[]", -1, "A", 0, 1114),
    (2951, "_uuid", "uuid[]", -1, "A", 0, 2950), (705, "unknown", "unknown", -2, "X", 0, 0),
    (2249, "record", "record", -1, "P", 2287, 0), (2205, "regclass", "regclass", 4, "N", 2210, 0),
    (2206, "regtype", "regtype", 4, "N", 2211, 0), (24, "regproc", "regproc", 4, "N", 1008, 0),
]
MACROS = """
CREATE MACRO format_type(t, m) AS CASE
  WHEN t IS NULL THEN NULL
  WHEN t = 1700 AND m >= 4 THEN 'numeric(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')'
  WHEN t = 1043 AND m >= 4 THEN 'character varying(' || (m - 4) || ')'
  WHEN t = 1042 AND m >= 4 THEN 'character(' || (m - 4) || ')'
  ELSE coalesce({type_names}, '???') END;
CREATE MACRO pg_get_constraintdef(c) AS {constraints}, (c, p) AS {constraints};
CREATE MACRO pg_get_indexdef(i) AS {indexes},
  (i, n, p) AS CASE WHEN n = 0 THEN {indexes} ELSE {index_columns} END;
CREATE MACRO to_regtype(n) AS {type_oids};
CREATE MACRO to_regclass(n) AS {class_oids};
CREATE MACRO pg_table_is_visible(c) AS TRUE;
CREATE MACRO pg_get_userbyid(u) AS 'catalog_synth';
CREATE MACRO pg_relation_is_publishable(r) AS FALSE;
CREATE MACRO array_upper(a, d) AS CASE WHEN len(a) > 0 THEN len(a) END;
CREATE MACRO array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END;
CREATE MACRO quote_ident(s) AS CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_]*') THEN s
  ELSE '"' || replace(s, '"', '""') || '"' END;
CREATE MACRO pg_get_function_identity_arguments(f) AS '';
CREATE MACRO pg_get_function_arguments(f) AS '';
CREATE MACRO pg_get_function_result(f) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_type_is_visible(t) AS TRUE;
CREATE MACRO pg_function_is_visible(f) AS TRUE;
CREATE MACRO pg_get_expr(e, r) AS CAST(NULL AS VARCHAR), (e, r, p) AS CAST(NULL AS VARCHAR);
CREATE MACRO obj_description(o) AS CAST(NULL AS VARCHAR), (o, c) AS CAST(NULL AS VARCHAR);
CREATE MACRO col_description(o, n) AS CAST(NULL AS VARCHAR);
CREATE MACRO shobj_description(o, c) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_encoding_to_char(e) AS 'UTF8';
CREATE MACRO pg_get_partkeydef(r) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_get_viewdef(v) AS CAST(NULL AS VARCHAR), (v, p) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_get_triggerdef(t) AS CAST(NULL AS VARCHAR), (t, p) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_get_statisticsobjdef_columns(s) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_relation_size(r) AS 0, (r, f) AS 0;
CREATE MACRO pg_total_relation_size(r) AS 0;
CREATE MACRO pg_table_size(r) AS 0;
CREATE MACRO pg_size_pretty(n) AS n || ' bytes';
CREATE MACRO pg_is_in_recovery() AS FALSE;
CREATE MACRO age(x) AS 0;
CREATE MACRO txid_current() AS 1;
CREATE MACRO pg_current_xact_id() AS 1;
CREATE MACRO pg_backend_pid() AS 0;
CREATE MACRO pg_postmaster_start_time() AS TIMESTAMP '2000-01-01';
CREATE MACRO has_table_privilege(a, b) AS TRUE, (a, b, c) AS TRUE;
CREATE MACRO has_schema_privilege(a, b) AS TRUE, (a, b, c) AS TRUE;
CREATE MACRO has_database_privilege(a, b) AS TRUE, (a, b, c) AS TRUE;
CREATE MACRO has_column_privilege(a, b, c) AS TRUE, (a, b, c, d) AS TRUE;
CREATE MACRO has_any_column_privilege(a, b) AS TRUE, (a, b, c) AS TRUE;
CREATE MACRO has_function_privilege(a, b) AS TRUE, (a, b, c) AS TRUE;
CREATE MACRO pg_has_role(a, b) AS FALSE, (a, b, c) AS FALSE;
CREATE MACRO pg_get_serial_sequence(t, c) AS CAST(NULL AS VARCHAR);
CREATE MACRO pg_get_keywords() AS TABLE SELECT 'select' AS word, 'R' AS catcode, 'reserved' AS catdesc WHERE FALSE;
"""
