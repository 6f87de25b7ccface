"""Reads of the whole warehouse beyond a sample, for the SQLAlchemy connector: value counts,
lookups by key and samples of whole families (:class:`connectors.Capability`). Keys and values
go to the warehouse as bound parameters, in chunks; only aggregates and the asked rows come back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from catalog_synth.core.types import ColumnInfo, ColumnKind, TableInfo, TableRef
from connectors.sql_types import unpadded

if TYPE_CHECKING:
    import pandas as pd


class KeyedReads:
    """Mixed into :class:`~connectors.sqlalchemy.SQLAlchemyConnector`, whose ``_table``, ``_read``
    and ``dialect_name`` it uses."""

    # -- related rows (referential integrity) --------------------------------------------
    # Key values are sent in bound IN lists of at most this many keys.
    KEY_CHUNK = 500

    # Values looked up in a whole column (each lookup scans it): fewer, longer lists.
    VALUE_CHUNK = 5000

    def count_by_key(self, info: TableInfo, columns: tuple[str, ...], keys: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``info`` per value of ``columns`` among ``keys`` (a frame with those columns):
        the key columns plus ``children``; keys without rows are absent."""
        table = self._table(info.ref, list(columns))
        selected = [table.c[c] for c in columns]
        parts = [
            self._read(
                sa.select(*selected, sa.func.count().label("children"))
                .where(self._key_condition(table, columns, chunk))
                .group_by(*selected),
                info.ref,
                "count related rows of",
            )
            for chunk in self._key_chunks(keys, columns)
        ]
        return concat(parts, [*columns, "children"])

    def sample_children(
        self, info: TableInfo, columns: tuple[str, ...], keys: pd.DataFrame, rows: int
    ) -> pd.DataFrame:
        """At most ``rows`` rows of ``info`` (the columns synthesis can use) whose ``columns``
        equal a row of ``keys``: the children of sampled parents."""
        readable = [c.name for c in info.columns if c.kind is not ColumnKind.UNSUPPORTED]
        table = self._table(info.ref, sorted({*readable, *columns}))
        parts: list[pd.DataFrame] = []
        for chunk in self._key_chunks(keys, columns):
            remaining = rows - sum(len(part) for part in parts)
            if remaining <= 0:
                break
            statement = sa.select(*[table.c[c] for c in readable]).where(
                self._key_condition(table, columns, chunk)
            )
            parts.append(self._read(statement.limit(remaining), info.ref, "sample"))
        return unpadded(concat(parts, readable).head(rows), info)

    def existing_keys(self, ref: TableRef, columns: tuple[str, ...], keys: pd.DataFrame) -> pd.DataFrame:
        """The distinct rows of ``keys`` that also occur as values of ``columns`` in the table."""
        table = self._table(ref, list(columns))
        parts = [
            self._read(
                sa.select(*[table.c[c] for c in columns]).where(self._key_condition(table, columns, chunk)).distinct(),
                ref,
                "look up keys in",
            )
            for chunk in self._key_chunks(keys, columns)
        ]
        return concat(parts, list(columns))

    def lookup(
        self, ref: TableRef, key_columns: tuple[str, ...], value_columns: tuple[str, ...], keys: pd.DataFrame
    ) -> pd.DataFrame:
        """The ``value_columns`` of the rows whose ``key_columns`` equal a row of ``keys``: the key
        columns first, then the values (``invoice.customerid`` of sampled invoices)."""
        table = self._table(ref, sorted({*key_columns, *value_columns}))
        selected = [table.c[c].label(f"key{i}") for i, c in enumerate(key_columns)] + [
            table.c[c].label(f"value{i}") for i, c in enumerate(value_columns)
        ]
        parts = [
            self._read(sa.select(*selected).where(self._key_condition(table, key_columns, chunk)), ref, "look up keys in")
            for chunk in self._key_chunks(keys, key_columns)
        ]
        return concat(parts, [label.name for label in selected])

    def count_values(
        self, ref: TableRef, column: ColumnInfo, values: Sequence[object], distinct_of: str | None = None
    ) -> dict[object, int]:
        """Rows of the whole column holding each of ``values`` (or, with ``distinct_of``, distinct
        values of that column among them: the people holding it); values no row holds are absent.

        Text is compared as a reader would, ignoring case and spaces (``' Ann  Lee '`` holds
        ``ann lee``), and keyed in that form."""
        table = self._table(ref, [column.name, *([distinct_of] if distinct_of else [])])
        textual = column.kind is ColumnKind.STRING
        target = sa.func.lower(sa.func.replace(table.c[column.name], " ", "")) if textual else table.c[column.name]
        wanted = list(dict.fromkeys(str(v).replace(" ", "").lower() if textual else native(v) for v in values))
        counted = sa.func.count(sa.distinct(table.c[distinct_of])) if distinct_of else sa.func.count()
        counts: dict[object, int] = {}
        for condition in self._among(target, column.kind, wanted):
            statement = sa.select(target, counted).where(condition).group_by(target)
            counts.update(self._read(statement, ref, "look up values in").itertuples(index=False))
        return counts

    def _among(self, target: sa.ColumnElement, kind: ColumnKind, values: list[object]) -> list[sa.ColumnElement]:
        """Conditions that ``target`` is one of ``values``: on PostgreSQL one array parameter for
        text and whole numbers (an IN list of thousands costs more to build than to run),
        elsewhere IN lists of ``VALUE_CHUNK`` values."""
        if self.dialect_name == "postgresql" and kind in (ColumnKind.STRING, ColumnKind.INTEGER):
            from sqlalchemy.dialects.postgresql import ARRAY

            if kind is ColumnKind.INTEGER:  # no whole-number column holds 12.5
                values = [int(v) for v in values if isinstance(v, (int, float)) and float(v).is_integer()]
            element = sa.Text() if kind is ColumnKind.STRING else sa.BigInteger()
            return [target == sa.any_(sa.literal(values, ARRAY(element)))]
        chunks = [values[start : start + self.VALUE_CHUNK] for start in range(0, len(values), self.VALUE_CHUNK)]
        return [target.in_(chunk) for chunk in chunks]

    def count_missing(self, info: TableInfo, columns: tuple[str, ...]) -> int:
        """Rows of ``info`` where any of ``columns`` is NULL (a foreign key that points nowhere)."""
        table = self._table(info.ref, list(columns))
        statement = sa.select(sa.func.count()).select_from(table).where(sa.or_(*[table.c[c].is_(None) for c in columns]))
        return int(self._read(statement, info.ref, "count missing keys of").iloc[0, 0])

    def _key_chunks(self, keys: pd.DataFrame, columns: tuple[str, ...]) -> list[list[tuple]]:
        """``keys`` as bound-parameter tuples, in chunks; its columns pair with ``columns`` by position."""
        values = keys.iloc[:, : len(columns)].itertuples(index=False)
        rows = [tuple(native(value) for value in row) for row in values]
        return [rows[start : start + self.KEY_CHUNK] for start in range(0, len(rows), self.KEY_CHUNK)]

    @staticmethod
    def _key_condition(table: sa.TableClause, columns: tuple[str, ...], chunk: list[tuple]) -> sa.ColumnElement:
        if len(columns) == 1:
            return table.c[columns[0]].in_([row[0] for row in chunk])
        return sa.tuple_(*[table.c[c] for c in columns]).in_(chunk)


def native(value: object) -> object:
    """A driver-friendly Python value (numpy scalars and pandas timestamps unwrapped)."""
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


def concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    parts = [part for part in parts if not part.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
