"""Dataset URNs and fieldPaths exactly as DataHub's own source for each platform writes them.

A synthetic profile is only useful on the dataset DataHub's own ingestion created,
with columns matched by exact ``fieldPath``. The naming rules below mirror the
installed acryl-datahub sources (``datahub/ingestion/source/...``):

* postgres, redshift, mssql, trino: ``database.schema.table``
  (``PostgresSource.get_identifier``: the recipe's ``database`` or the URL's);
* snowflake: ``database.schema.table``, lowercased together with the column names
  unless ``convert_urns_to_lowercase: false`` (``SnowflakeIdentifierBuilder``; the
  platform instance keeps its case);
* bigquery: ``project.dataset.table`` without a platform instance (``BigQueryIdentifierBuilder``);
* mysql, mariadb (two-tier sources): ``database.table``, the database being our schema;
* duckdb: DataHub has no DuckDB source; its generic ``sqlalchemy`` source names
  tables ``<schema>.<table>`` with the schema as duckdb-engine lists it,
  ``<catalog>.<schema>`` quoted by duckdb-engine (``shop.main.orders``,
  ``shop."Sales".orders``); the catalog is the file name up to its first dot;
* sqlite, oracle and anything else: ``schema.table``, as the generic ``sqlalchemy``
  source names them (SQLite files have the schema ``main``).

``platform_instance`` and ``env`` go through DataHub's own
``make_dataset_urn_with_platform_instance``. ``convert_urns_to_lowercase: true``
goes through its ``lowercase_dataset_urn`` (name and instance, never the env or
fieldPaths), as DataHub's ``AutoLowercaseUrnsProcessor`` does when a recipe sets
it; left unset (None) it means the platform's default, as in a recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import quote

from datahub.emitter.mce_builder import make_dataset_urn_with_platform_instance
from datahub.utilities.urns.urn_iter import lowercase_dataset_urn

from catalog_synth.core.config import WarehouseConfig
from catalog_synth.core.types import TableRef

# GMS refuses URNs longer than this many bytes once URL-encoded.
MAX_URN_BYTES = 512


class UrnError(ValueError):
    """A table cannot be named in DataHub (the message names the table, never data)."""


@dataclass(frozen=True)
class NamingRule:
    """How one platform's DataHub source spells dataset names."""

    # "schema.table", "database.schema.table" or "duckdb" (see the module docstring).
    style: str = "schema.table"
    # The source itself lowercases names and column names unless
    # ``convert_urns_to_lowercase: false`` (snowflake, whose default is true).
    folds_case: bool = False
    # Whether ``platform_instance`` takes part in the URN.
    uses_platform_instance: bool = True


_THREE_PART = NamingRule(style="database.schema.table")
# Generic and two-tier sources: for mysql/mariadb our schema is the MySQL database.
GENERIC_RULE = NamingRule()

NAMING_RULES: dict[str, NamingRule] = {
    "postgres": _THREE_PART,
    "redshift": _THREE_PART,
    "mssql": _THREE_PART,
    "trino": _THREE_PART,
    "snowflake": NamingRule(style="database.schema.table", folds_case=True),
    "bigquery": NamingRule(style="database.schema.table", uses_platform_instance=False),
    "duckdb": NamingRule(style="duckdb"),
    "mysql": GENERIC_RULE,
    "mariadb": GENERIC_RULE,
    "sqlite": GENERIC_RULE,
    "oracle": GENERIC_RULE,
}


@dataclass(frozen=True)
class DatasetLocation:
    """Where a warehouse's tables live in DataHub.

    ``platform`` and ``database`` come from the connector; the warehouse config's
    ``platform`` and ``database`` override them, as the same keys do in a DataHub recipe.
    """

    platform: str
    database: str | None
    warehouse: WarehouseConfig

    @property
    def effective_platform(self) -> str:
        return self.warehouse.platform or self.platform

    @property
    def rule(self) -> NamingRule:
        return NAMING_RULES.get(self.effective_platform, GENERIC_RULE)

    @property
    def folds_case(self) -> bool:
        return self.rule.folds_case and self.warehouse.convert_urns_to_lowercase is not False

    def dataset_name(self, ref: TableRef) -> str:
        """The dataset name inside the URN, before lowercasing and platform instance."""
        if self.rule.style == "database.schema.table":
            return f"{self._database(ref)}.{ref.schema}.{ref.name}"
        if self.rule.style == "duckdb":
            return f"{_duckdb_schema(self._duckdb_catalog(), ref.schema)}.{ref.name}"
        return f"{ref.schema}.{ref.name}"

    def dataset_urn(self, ref: TableRef) -> str:
        instance = self.warehouse.platform_instance if self.rule.uses_platform_instance else None
        name = self.dataset_name(ref)
        if self.folds_case:
            name = name.lower()
        urn = make_dataset_urn_with_platform_instance(self.effective_platform, name, instance, self.warehouse.env)
        if self.warehouse.convert_urns_to_lowercase:
            urn = lowercase_dataset_urn(urn)
        if len(quote(urn, safe="")) > MAX_URN_BYTES:
            raise UrnError(f"{ref}: the DataHub URN would exceed {MAX_URN_BYTES} bytes")
        return urn

    def field_path(self, column: str) -> str:
        """The column's ``fieldPath`` in the dataset's schemaMetadata."""
        if self.folds_case:
            return column.lower()
        return column

    def _database(self, ref: TableRef) -> str:
        database = self.warehouse.database or self.database
        if not database:
            raise UrnError(
                f"{ref}: DataHub names {self.effective_platform} datasets database.schema.table, "
                f"but the warehouse URL names no database; set 'database' on warehouse {ref.warehouse!r}"
            )
        # snowflake://account/DB/SCHEMA: the URL's database part carries the schema too.
        return database.split("/", 1)[0]

    def _duckdb_catalog(self) -> str:
        if self.warehouse.database:
            return self.warehouse.database
        if not self.database or self.database == ":memory:":
            return "memory"
        # DuckDB names a file's catalog after the file name up to its first dot.
        return PurePath(self.database).name.split(".", 1)[0]


def _duckdb_schema(catalog: str, schema: str) -> str:
    """``catalog.schema`` as duckdb-engine's ``get_schema_names`` spells it."""
    from duckdb_engine import Dialect

    return Dialect().identifier_preparer.quote_schema(f"{catalog}.{schema}")
