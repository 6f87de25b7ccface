"""``catalog-synth init --url URL``: a starter config that fits the warehouse it is given.

The template depends on the URL's family only (nothing is asked, nothing is connected to):
SQLite and DuckDB files list their tables in schema ``main``, PostgreSQL in ``public``,
MySQL in the database itself, Snowflake and BigQuery in the URL's schema or dataset (and they
rarely declare foreign keys, so the ``relationships`` block is spelled out). A password typed
into the URL is never written to the file: it becomes a ``${VARIABLE}`` to export.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from catalog_synth.entry.starter import STARTER_CONFIG

URL_ENV_VAR = "CATALOG_SYNTH_URL"
_FILE_BACKENDS = {"sqlite", "duckdb"}
_WAREHOUSE_BLOCK = re.compile(r"^warehouses:\n.*?(?=^sample_rows:)", re.DOTALL | re.MULTILINE)
_PASSWORD = re.compile(r"^(?P<head>[^:/]+://[^:/@?]*:)(?P<password>[^@]*)(?P<at>@)")


class InitError(ValueError):
    """The URL given to ``init`` cannot be used (one line, never the URL's password)."""


@dataclass(frozen=True)
class Starter:
    """The config text and what ``init`` tells the user about it."""

    text: str
    family: str  # "SQLite file", "PostgreSQL", ...
    include: str  # the include glob written
    password_variable: str | None = None  # to export before `sync`


def starter_for(url: str | None, config_dir: Path | None = None) -> Starter:
    """The starter config for ``url`` (None: the PostgreSQL example)."""
    if not url:
        return Starter(STARTER_CONFIG, "PostgreSQL (example URL)", "public.*", "SHOP_DB_PASSWORD")
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise InitError("the URL is not a SQLAlchemy URL (dialect+driver://user:password@host/db, sqlite:///file.db)") from None
    backend = parsed.get_backend_name()
    name = _warehouse_name(parsed.database, parsed.host, backend)
    url, variable = _password_as_variable(url, parsed.password, name)
    if backend in _FILE_BACKENDS:
        url = _file_url(url, parsed.database, config_dir)
    family, schema, block = _warehouse_block(backend, name, url, parsed.database, parsed.host)
    text = _WAREHOUSE_BLOCK.sub(lambda _: block, STARTER_CONFIG, count=1)
    if schema != "public":  # the commented examples name the warehouse's own schema
        text = text.replace("public.", f"{schema}.")
    return Starter(text, family, f"{schema}.*", variable)


def url_from(option: str | None) -> str | None:
    """``--url``, else ``$CATALOG_SYNTH_URL``."""
    return option or os.environ.get(URL_ENV_VAR) or None


def _warehouse_name(database: str | None, host: str | None, backend: str) -> str:
    stem = Path(database).stem if database and backend in _FILE_BACKENDS else (database or "").split("/")[0]
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem or host or backend).strip("_").lower() or "warehouse"
    return name if re.match(r"[A-Za-z_]", name) else f"w_{name}"


def _password_as_variable(url: str, password: str | None, name: str) -> tuple[str, str | None]:
    """The URL with its password replaced by ``${NAME_DB_PASSWORD}`` (kept when it is a variable)."""
    if not password:
        return url, None
    existing = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}", password)
    if existing:
        return url, existing.group(1)
    variable = f"{name.upper()}_DB_PASSWORD"
    return _PASSWORD.sub(lambda m: f"{m['head']}${{{variable}}}{m['at']}", url, count=1), variable


def _file_url(url: str, database: str | None, config_dir: Path | None) -> str:
    """A relative file path that exists from here but the config lives elsewhere: written absolute
    (relative paths in the config are read from the config file's folder)."""
    if not database or database == ":memory:" or database.startswith("file:") or Path(database).is_absolute():
        return url
    here = Path(database).expanduser()
    if config_dir is None or config_dir.resolve() == Path.cwd().resolve():
        return url
    absolute = str(here.resolve())
    return url.replace(database, absolute, 1)


def _warehouse_block(
    backend: str, name: str, url: str, database: str | None, host: str | None
) -> tuple[str, str, str]:
    """(family, schema, the ``warehouses:`` block) for one backend."""
    exclude = ""
    if backend in _FILE_BACKENDS:
        family = "SQLite file" if backend == "sqlite" else "DuckDB file"
        schema = "main"
        note = (
            f"# A {family.split()[0]} file lists its tables in schema `main` (main.customer, main.invoice...).\n"
            "    # A relative path is read from this file's folder, as `store` is."
        )
    elif backend == "postgresql":
        family, schema = "PostgreSQL", "public"
        note = "# PostgreSQL's default schema is `public`; add others: [\"public.*\", \"sales.*\"]."
        exclude = '    exclude: ["public.tmp_*"]\n'
    elif backend in ("mysql", "mariadb"):
        family, schema = "MySQL", (database or "shop")
        note = f"# MySQL lists tables in the database itself: schema `{schema}`."
    elif backend == "snowflake":
        family = "Snowflake"
        parts = (database or "").split("/")
        schema = (parts[1] if len(parts) > 1 and parts[1] else "public").lower()
        note = f"# Snowflake: schema `{schema}` of the URL's database, in lower case as SQLAlchemy reports it."
    elif backend == "bigquery":
        family, schema = "BigQuery", (database or "dataset")
        note = f"# BigQuery: the dataset `{schema}` is the schema."
    else:
        family, schema = backend, "*"
        note = "# schema.table globs; run `catalog-synth sync` once: a listing that matches nothing names the schemas."
    declares_keys = backend not in ("snowflake", "bigquery")
    relationships = (
        "    # Relationships the warehouse does not declare (find them with: catalog-synth keys --suggest):\n"
        "    # relationships:\n"
        f"    #   - child: {schema}.orders(customer_id)\n"
        f"    #     parent: {schema}.customers(id)\n"
        if declares_keys
        else f"    # {family} does not enforce foreign keys and most schemas declare none: declare them here so that\n"
        "    # children keep pointing at their parents (candidates: catalog-synth keys --suggest).\n"
        "    # relationships:\n"
        f"    #   - child: {schema}.orders(customer_id)\n"
        f"    #     parent: {schema}.customers(id)\n"
    )
    block = (
        "warehouses:\n"
        f"  - name: {name}                      # logical name, used in the sandbox\n"
        f"    url: {url}\n"
        f"    {note}\n"
        f'    include: ["{schema}.*"]           # schema.table globs\n'
        f"{exclude}"
        "    # DataHub naming, as in DataHub's own source recipe:\n"
        "    # platform_instance: prod_eu\n"
        "    # env: PROD\n"
        "    # convert_urns_to_lowercase: false\n"
        f"{relationships}"
        "\n"
    )
    return family, schema, block
