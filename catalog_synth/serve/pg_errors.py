"""PostgreSQL errors of the sandbox: the SQLSTATE of each refusal and failure.

The message is the HTTP API's, word for word; the SQLSTATE tells PostgreSQL clients what kind of
error it is (42501 not allowed, 42601 syntax, 42P01 unknown table, 57014 timeout, 53400 the client's
share in use, 54000 too large …).
"""

from __future__ import annotations

from catalog_synth.serve.errors import (
    QueryError,
    QueryFailed,
    QueryRefused,
    QueryTimeout,
    ResultTooLarge,
    SandboxBusy,
    StoreUnavailable,
    TableNotFound,
    TooManyQueries,
)


class WireError(Exception):
    """An error for the client, with its SQLSTATE."""

    def __init__(self, sqlstate: str, message: str, severity: str = "ERROR"):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.severity = severity


_REFUSAL_CODES = (
    ("could not parse", "42601"),
    ("send one statement", "42601"),
    ("is empty", "42601"),
    ("is not a synthetic table", "42P01"),
    ("ambiguous", "42P09"),
    ("unknown sql dialect", "22023"),
    ("longer than", "54000"),
    ("nested too deeply", "54001"),
    ("cannot translate", "0A000"),
    ("limit must be", "22023"),
)
_FAILURE_CODES = (
    ("unrecognized configuration parameter", "42704"),
    ("Parser Error", "42601"),
    ("Binder Error: Referenced column", "42703"),
    ("not found in FROM clause", "42703"),
    ("Function with name", "42883"),
    ("No function matches", "42883"),
    ("Catalog Error", "42P01"),
    ("Binder Error", "42803"),
    ("more memory", "53200"),
    ("conversion error", "22P02"),
    ("out of range", "22003"),
    ("division", "22012"),
)

# The other sandbox errors, each with its own SQLSTATE.
_SQLSTATES: dict[type[QueryError], str] = {
    QueryTimeout: "57014",
    ResultTooLarge: "54000",
    TooManyQueries: "53400",
    SandboxBusy: "53000",
    StoreUnavailable: "57P03",
    TableNotFound: "42P01",
}


def wire_error(exc: QueryError) -> WireError:
    """The SQLSTATE of a sandbox error (the message is the same as the HTTP API's)."""
    message = str(exc)
    if isinstance(exc, QueryRefused):
        code = next((c for text, c in _REFUSAL_CODES if text in message.lower()), "42501")
    elif isinstance(exc, QueryFailed):
        code = next((c for text, c in _FAILURE_CODES if text in message), "XX000")
    else:
        code = next((c for kind, c in _SQLSTATES.items() if isinstance(exc, kind)), "XX000")
    return WireError(code, message)
