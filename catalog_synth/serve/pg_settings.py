"""What a PostgreSQL session over the sandbox reports of itself: its server version, the settings
clients read at start-up and with ``SHOW`` (and may ``SET``), and the shape of one statement's
result on the wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from catalog_synth.serve.pg_types import WireColumn

SERVER_VERSION = "16.0 (catalog-synth sandbox)"


DIALECT_SETTING = "catalog_synth.dialect"


@dataclass
class WireResult:
    tag: str
    columns: list[WireColumn] | None = None  # None: no rows (SET, BEGIN …)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    copy: str | None = None  # COPY … TO STDOUT: "text", "csv" or "csv header"


DEFAULT_SETTINGS = {
    "server_version": SERVER_VERSION.split(" ")[0],
    "server_version_num": "160000",
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "datestyle": "ISO, MDY",
    "intervalstyle": "postgres",
    "timezone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "transaction_isolation": "read committed",
    "default_transaction_isolation": "read committed",
    "transaction_read_only": "on",
    "default_transaction_read_only": "on",
    "search_path": '"$user", public',
    "max_identifier_length": "63",
    "max_index_keys": "32",
    "block_size": "8192",
    "is_superuser": "off",
    "application_name": "",
    "extra_float_digits": "1",
    "lc_collate": "C",
    "lc_ctype": "C",
    "lc_messages": "C",
    "lc_monetary": "C",
    "lc_numeric": "C",
    "lc_time": "C",
    "bytea_output": "hex",
    "statement_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
}


def default_settings() -> dict[str, str]:
    """The session settings a new connection starts with (``pg_settings`` lists them)."""
    return dict(DEFAULT_SETTINGS)


class SessionFacts(Protocol):
    """What the catalog answers read of a session (:class:`~.pg_session.WireSession` has them)."""

    client: str
    user: str
    database: str

    def setting(self, name: str) -> str | None: ...
