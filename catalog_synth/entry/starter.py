"""The commented starter config written by ``catalog-synth init``."""

STARTER_CONFIG = """\
# catalog-synth configuration. ${VAR} is read from the environment;
# ${VAR:-default} falls back to a default. Secrets never appear in output.

warehouses:
  - name: shop                      # logical name, used in the sandbox
    # Any SQLAlchemy URL: postgresql+psycopg://, mysql+pymysql://, sqlite:///file.db,
    # duckdb:///file.duckdb, snowflake://, bigquery:// ...
    url: postgresql+psycopg://analyst:${SHOP_DB_PASSWORD}@localhost:5432/shop
    include: ["public.*"]           # schema.table globs
    exclude: ["public.tmp_*"]
    # DataHub naming, as in DataHub's own source recipe:
    # platform_instance: prod_eu
    # env: PROD
    # convert_urns_to_lowercase: false
    # Relationships the warehouse does not declare (find them with: catalog-synth keys --suggest):
    # relationships:
    #   - child: public.orders(customer_id)
    #     parent: public.customers(id)

sample_rows: 2000        # most rows read from any one table (sampled in the warehouse)
preview_rows: 20         # synthetic rows shown in the catalog
copy_rows: 10000         # rows in the largest synthetic copy; parent->child families shrink together
store: .catalog-synth/sandbox.duckdb

catalog:
  file: .catalog-synth/datahub-mcps.json   # DataHub metadata change proposals
  # datahub:
  #   server: http://datahub-gms:8080
  #   token: ${DATAHUB_GMS_TOKEN}      # unset: $DATAHUB_GMS_URL / $DATAHUB_GMS_TOKEN are used
  # sandbox_url: https://sandbox.example.com   # links and the Preview tab embed

# Per-column privacy overrides (schema.table.column, globs allowed): sensitive | public
# columns:
#   public.customers.notes: sensitive
#   public.customers.country: public
#   public.genres.*: public

# The generator per table: gaussian_copula (default), ctgan, tvae, or tabular_argn
# (MOSTLY AI's engine; rebalanced copies use it by default); settings per generator and per table (schema.table globs):
# synthesizer: gaussian_copula
# generators:
#   tabular_argn: {time_budget_seconds: 60}
# tables:
#   "public.customers": {synthesizer: tabular_argn}

# Rebalanced copies: more rows of a rare class, stored as <table>__rebalanced:
# rebalance:
#   - {table: public.applicants, column: defaulted, target: {"yes": 0.5}, rows: 50000}

privacy:
  min_category_count: 5    # values held by fewer people are never emitted verbatim
  dcr_threshold: 0.55      # largest share of synthetic rows closer to training than to holdout
  # reference_tables: true # small lookup tables others reference keep their labels

# executor:
#   kind: local            # or dask (with scheduler: tcp://host:8786)
#   workers: 2
"""
