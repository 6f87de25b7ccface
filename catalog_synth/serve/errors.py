"""Why a sandbox query did not return rows.

Messages name the rule that stopped the query, never a value from the store.
"""

from __future__ import annotations


class QueryError(Exception):
    """Base class: the query produced no result."""


class QueryRefused(QueryError):
    """The validator (or a limit checked before running) refused the query."""


class QueryFailed(QueryError):
    """DuckDB rejected or could not finish an accepted query (unknown column, bad cast, memory)."""


class QueryTimeout(QueryError):
    """The query ran past the sandbox's time limit and was stopped."""


class QueryCancelled(QueryTimeout):
    """The client asked to stop the query (PostgreSQL's cancel request); same SQLSTATE as a timeout."""


class ResultTooLarge(QueryError):
    """The result is bigger than the response size limit."""


class TryLater(QueryError):
    """The query did not run for want of a slot; the same query may run shortly."""


class SandboxBusy(TryLater):
    """Every query slot stayed taken for the whole wait: try again shortly."""


class TooManyQueries(TryLater):
    """This client already runs or waits for its share of the slots: try again when one ends."""


class StoreUnavailable(QueryError):
    """There is no synthetic store to query yet (or it cannot be opened)."""


class TableNotFound(QueryError):
    """No synthetic table has that name."""
