"""Warehouse connectors: the read stage. Table metadata, bounded samples and, where a connector
declares them, reads of the whole warehouse that privacy and keys rely on.

A connector is registered under the entry point group ``catalog_synth.connectors``
(``name = "package.module:factory"``, a callable ``(name, url) -> Connector``), so a third-party package can add one;
a warehouse picks it with ``connector: NAME`` in the config.

The contract is :class:`Connector`: four methods every connector has (``list_tables``,
``describe``, ``sample``, ``close``) and optional ones grouped in :class:`Capability`, which a
connector declares in ``capabilities`` and implements. A missing capability degrades visibly:
the table's result and ``report`` say what was not done, and where privacy depends on it (fakes
checked against the whole real column, people counted through keys) the table is refused
unless ``privacy.allow_sample_only_checks`` is set.
"""

from __future__ import annotations

import enum
import fnmatch
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar, TypeVar

from catalog_synth.core import plugins
from catalog_synth.core.types import ColumnInfo, TableInfo, TableRef

if TYPE_CHECKING:
    import pandas as pd

ENTRY_POINT_GROUP = "catalog_synth.connectors"


class ConnectorError(RuntimeError):
    """A warehouse problem, phrased without secrets or real values."""


class TableVanished(ConnectorError):
    """The table was listed but no longer exists when described or sampled."""


class WarehouseUnavailable(ConnectorError):
    """A transient failure (lost connection, server restarting, deadlock): worth retrying."""


class CapabilityMissing(ConnectorError, NotImplementedError):
    """The connector does not offer a capability a caller asked for."""

    def __init__(self, connector: Connector, capability: Capability):
        super().__init__(f"connector {type(connector).__name__} does not offer {capability.value} ({capability.meaning})")


class Capability(enum.Enum):
    """Reads beyond a sample, each a group of optional :class:`Connector` methods."""

    #: ``count_values``: fakes and replaced categories are checked against the whole real column
    #: (not only the sample), and text copied from identifying columns elsewhere is found.
    VALUE_COUNTS = "value_counts"
    #: ``lookup`` and ``existing_keys``: rows are traced through foreign keys to the people they
    #: are about, and synthetic keys equal to a real key anywhere in the table are dropped.
    KEY_LOOKUPS = "key_lookups"
    #: ``sample_children``, ``count_by_key`` and ``count_missing``: samples of whole families and
    #: the real number of children per parent.
    FAMILY_SAMPLES = "family_samples"
    #: ``change_marker(s)`` that change with the data: an unchanged table is not synthesized again.
    CHANGE_MARKERS = "change_markers"
    #: ``compare_columns``, ``compare_with_parent``, ``compare_totals``, ``count_dependencies`` and
    #: ``ranges_by_value``: shares of rows where one column is on or before another, equal to its
    #: parent's, or follows from another, and each category's range of a date (schema-wide rules).
    RULE_SHARES = "rule_shares"

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    Capability.VALUE_COUNTS: "whole-column value counts",
    Capability.KEY_LOOKUPS: "lookups of rows by key",
    Capability.FAMILY_SAMPLES: "samples of whole families",
    Capability.CHANGE_MARKERS: "change markers",
    Capability.RULE_SHARES: "shares of rows obeying a rule",
}

#: A comparison of two columns: ``(left, op, right)`` with ``op`` one of ``<=``, ``>=``, ``=``
#: (``=`` counts two empty values as equal). Its count: ``(rows with both present, rows holding)``;
#: for ``=``, every row is present (joined rows, across a foreign key).
Comparison = tuple[str, str, str]
# A parent's column, and the child columns whose product summed over its children may equal it.
Total = tuple[str, tuple[str, ...]]
# A total equals its children's sum within half a cent, or a millionth of itself (float sums).
TOTAL_CENT, TOTAL_RELATIVE = 0.005, 1e-6


class Connector(ABC):
    """Reads one warehouse. Implementations must never pull a whole table into Python.

    Subclasses implement the abstract methods, and the optional methods of each
    :class:`Capability` they list in ``capabilities``.
    """

    #: What the connector offers beyond listing, describing and sampling.
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

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

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    # -- Capability.VALUE_COUNTS -----------------------------------------------------------
    def count_values(
        self, ref: TableRef, column: ColumnInfo, values: Sequence[object], distinct_of: str | None = None
    ) -> dict[object, int]:
        """Rows of the whole column holding each of ``values`` (with ``distinct_of``, the distinct
        values of that column among them: the people holding it); values no row holds are absent.
        Text compares as a reader would, ignoring case and spaces, and is keyed in that form."""
        raise CapabilityMissing(self, Capability.VALUE_COUNTS)

    # -- Capability.KEY_LOOKUPS ------------------------------------------------------------
    def lookup(
        self, ref: TableRef, key_columns: tuple[str, ...], value_columns: tuple[str, ...], keys: pd.DataFrame
    ) -> pd.DataFrame:
        """The ``value_columns`` of the rows whose ``key_columns`` equal a row of ``keys``: the key
        columns first, then the values."""
        raise CapabilityMissing(self, Capability.KEY_LOOKUPS)

    def existing_keys(self, ref: TableRef, columns: tuple[str, ...], keys: pd.DataFrame) -> pd.DataFrame:
        """The distinct rows of ``keys`` that also occur as values of ``columns`` in the table."""
        raise CapabilityMissing(self, Capability.KEY_LOOKUPS)

    # -- Capability.FAMILY_SAMPLES ---------------------------------------------------------
    def sample_children(self, info: TableInfo, columns: tuple[str, ...], keys: pd.DataFrame, rows: int) -> pd.DataFrame:
        """At most ``rows`` rows of ``info`` whose ``columns`` equal a row of ``keys``."""
        raise CapabilityMissing(self, Capability.FAMILY_SAMPLES)

    def count_by_key(self, info: TableInfo, columns: tuple[str, ...], keys: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``info`` per value of ``columns`` among ``keys``: the key columns plus ``children``."""
        raise CapabilityMissing(self, Capability.FAMILY_SAMPLES)

    def count_missing(self, info: TableInfo, columns: tuple[str, ...]) -> int:
        """Rows of ``info`` where any of ``columns`` is NULL."""
        raise CapabilityMissing(self, Capability.FAMILY_SAMPLES)

    # -- Capability.RULE_SHARES ------------------------------------------------------------
    def compare_columns(self, info: TableInfo, comparisons: Sequence[Comparison]) -> list[tuple[int, int]]:
        """For each comparison of two columns of ``info``, over the whole table in one aggregate
        query: rows where both are present, and rows where it holds."""
        raise CapabilityMissing(self, Capability.RULE_SHARES)

    def compare_with_parent(
        self,
        info: TableInfo,
        columns: tuple[str, ...],
        parent: TableRef,
        parent_columns: tuple[str, ...],
        comparisons: Sequence[Comparison],
    ) -> list[tuple[int, int]]:
        """The same across a foreign key (left: a column of ``info``; right: of ``parent``), over
        the rows of ``info`` joined to their parent on ``columns = parent_columns``: one query."""
        raise CapabilityMissing(self, Capability.RULE_SHARES)

    def compare_totals(
        self,
        info: TableInfo,
        child: TableRef,
        columns: tuple[str, ...],
        parent_columns: tuple[str, ...],
        totals: Sequence[Total],
    ) -> list[tuple[int, int]]:
        """For each ``(column, factors)`` of ``totals``: over the rows of ``info`` that have children
        in ``child`` (joined on ``columns = parent_columns``) and a value in ``column``, how many,
        and on how many ``column`` is the sum over its children of the product of ``factors``
        (within a cent): one query."""
        raise CapabilityMissing(self, Capability.RULE_SHARES)

    def count_dependencies(self, info: TableInfo, pairs: Sequence[tuple[str, str]]) -> list[tuple[int, int, int]]:
        """For each ``(determinant, dependent)`` pair of columns of ``info``, over the rows where both
        are present: the rows, the rows whose dependent is the most common one for their determinant,
        and the determinant's distinct values (one aggregate query per pair)."""
        raise CapabilityMissing(self, Capability.RULE_SHARES)

    # -- planning and Capability.CHANGE_MARKERS --------------------------------------------
    def ranges_by_value(self, info: TableInfo, column: str, anchors: Sequence[str], limit: int) -> pd.DataFrame:
        """Per value of ``column`` (at most ``limit`` of them): ``value``, ``rows``, and the least and
        greatest of each of ``anchors`` among those rows (``low0``, ``high0``, ...): one aggregate
        query. The worker turns them into cut points; they do not leave it."""
        raise CapabilityMissing(self, Capability.RULE_SHARES)

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
