"""Warehouse connectors: table metadata and bounded samples.

A connector is registered under the entry point group ``catalog_synth.connectors``
(``name = "package.module:factory"``, a callable ``(name, url) -> Connector``), so a third-party package can add one;
a warehouse picks it with ``connector: NAME`` in the config.
"""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TypeVar

import pandas as pd

from catalog_synth.core import plugins
from catalog_synth.core.types import TableInfo, TableRef

ENTRY_POINT_GROUP = "catalog_synth.connectors"


class ConnectorError(RuntimeError):
    """A warehouse problem, phrased without secrets or real values."""


class TableVanished(ConnectorError):
    """The table was listed but no longer exists when described or sampled."""


class WarehouseUnavailable(ConnectorError):
    """A transient failure (lost connection, server restarting, deadlock): worth retrying."""


class Connector(ABC):
    """Reads one warehouse. Implementations must never pull a whole table into Python."""

    #: DataHub platform name (``postgres``, ``mysql``, ``snowflake``, ``sqlite``, ``duckdb`` ...).
    platform: str
    #: SQLGlot dialect of the warehouse, for the sandbox's transpiler.
    dialect: str
    #: Database name as DataHub's own source puts it in URNs (None where it has none).
    database: str | None

    def __init__(self, name: str, url: str):
        self.name = name
        self.url = url

    @abstractmethod
    def list_tables(self, include: list[str], exclude: list[str]) -> list[TableRef]:
        """Tables whose ``schema.table`` matches an include glob and no exclude glob."""

    @abstractmethod
    def describe(self, ref: TableRef) -> TableInfo:
        """Columns with SQL types and nullability, primary and foreign keys, row count."""

    @abstractmethod
    def sample(self, info: TableInfo, rows: int, seed: int | None = None) -> pd.DataFrame:
        """A random sample of at most ``rows`` rows, drawn inside the warehouse."""

    def describe_many(self, refs: list[TableRef]) -> dict[TableRef, TableInfo | ConnectorError]:
        """``describe`` of many tables, for planning a run: each table maps to its description
        or to the error describing it raised.

        Implementations batch their catalog queries, and never wait long on a row count of a
        table another session has locked (the catalog's estimate stands in).
        """
        return {ref: or_error(lambda ref=ref: self.describe(ref)) for ref in refs}

    def change_marker(self, info: TableInfo, watermark: str | None = None) -> str | None:
        """Something that changes whenever the table's data does, for incremental sync.

        Database change statistics and/or ``MAX(watermark)``; None when the warehouse
        offers neither (then the schema and the row count decide). It may hold a real
        value: callers only ever hash it.
        """
        return None

    def change_markers(
        self, infos: list[TableInfo], watermarks: dict[str, str]
    ) -> dict[TableRef, str | None | ConnectorError]:
        """``change_marker`` of many tables (``watermarks``: ``schema.table`` -> column), or the error."""
        return {
            info.ref: or_error(lambda info=info: self.change_marker(info, watermarks.get(info.ref.qualified)))
            for info in infos
        }

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_T = TypeVar("_T")


def or_error(action: Callable[[], _T]) -> _T | ConnectorError:
    """The action's result, or the ConnectorError it raised (for per-table results of batch calls)."""
    try:
        return action()
    except ConnectorError as exc:
        return exc


def matches(qualified: str, include: list[str], exclude: list[str]) -> bool:
    """Glob match of ``schema.table`` (case-sensitive, like the warehouse's own names)."""
    return any(fnmatch.fnmatchcase(qualified, p) for p in include) and not any(
        fnmatch.fnmatchcase(qualified, p) for p in exclude
    )


def connector_factory(name: str) -> Callable[[str, str], Connector]:
    """Find a connector factory by its entry point name."""
    try:
        return plugins.load(ENTRY_POINT_GROUP, name, "connector")
    except plugins.UnknownPlugin as exc:
        raise ConnectorError(str(exc)) from None


def open_connector(name: str, connector: str, url: str) -> Connector:
    return connector_factory(connector)(name, url)
