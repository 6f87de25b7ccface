"""Shares of rows obeying a schema-wide rule, for the SQLAlchemy connector
(:attr:`connectors.Capability.RULE_SHARES`): one aggregate query per table, or per foreign key
across a join. Only counts come back, never a value."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from catalog_synth.core.types import TableInfo, TableRef
from connectors import TOTAL_CENT, TOTAL_RELATIVE, Comparison, Total

_OPS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}


class RuleShares:
    """Mixed into :class:`~connectors.sqlalchemy.SQLAlchemyConnector`, whose ``_table`` and
    ``_read`` it uses."""

    def compare_columns(self, info: TableInfo, comparisons: Sequence[Comparison]) -> list[tuple[int, int]]:
        if not comparisons:
            return []
        names = sorted({c for a, _, b in comparisons for c in (a, b)})
        table = self._table(info.ref, names)
        sums = _sums([(table.c[a], op, table.c[b]) for a, op, b in comparisons])
        return _pairs(self._read(sa.select(*sums).select_from(table), info.ref, "measure rules of"))

    def compare_with_parent(
        self,
        info: TableInfo,
        columns: tuple[str, ...],
        parent: TableRef,
        parent_columns: tuple[str, ...],
        comparisons: Sequence[Comparison],
    ) -> list[tuple[int, int]]:
        if not comparisons:
            return []
        child = self._table(info.ref, sorted({*columns, *(a for a, _, _ in comparisons)})).alias("c")
        above = self._table(parent, sorted({*parent_columns, *(b for _, _, b in comparisons)})).alias("p")
        on = sa.and_(*[child.c[c] == above.c[p] for c, p in zip(columns, parent_columns)])
        sums = _sums([(child.c[a], op, above.c[b]) for a, op, b in comparisons])
        statement = sa.select(*sums).select_from(child.join(above, on))
        return _pairs(self._read(statement, info.ref, "measure rules of"))

    def compare_totals(
        self,
        info: TableInfo,
        child: TableRef,
        columns: tuple[str, ...],
        parent_columns: tuple[str, ...],
        totals: Sequence[Total],
    ) -> list[tuple[int, int]]:
        if not totals:
            return []
        below = self._table(child, sorted({*columns, *(f for _, factors in totals for f in factors)})).alias("c")
        keys = [below.c[c].label(f"k{i}") for i, c in enumerate(columns)]
        sums = [sa.func.sum(_product(below, factors)).label(f"t{i}") for i, (_, factors) in enumerate(totals)]
        grouped = sa.select(*keys, *sums).group_by(*[below.c[c] for c in columns]).subquery("s")
        above = self._table(info.ref, sorted({*parent_columns, *(column for column, _ in totals)})).alias("p")
        on = sa.and_(*[above.c[p] == grouped.c[f"k{i}"] for i, p in enumerate(parent_columns)])
        counts = []
        for i, (column, _) in enumerate(totals):
            total, summed = above.c[column], grouped.c[f"t{i}"]
            present = sa.and_(total.is_not(None), summed.is_not(None))
            holds = sa.and_(present, sa.func.abs(total - summed) <= TOTAL_CENT + TOTAL_RELATIVE * sa.func.abs(total))
            counts += [sa.func.sum(sa.case((present, 1), else_=0)), sa.func.sum(sa.case((holds, 1), else_=0))]
        statement = sa.select(*counts).select_from(above.join(grouped, on))
        return _pairs(self._read(statement, info.ref, "measure rules of"))

    def count_dependencies(self, info: TableInfo, pairs: Sequence[tuple[str, str]]) -> list[tuple[int, int, int]]:
        counts = []
        for determinant, dependent in pairs:
            table = self._table(info.ref, sorted({determinant, dependent}))
            a, b = table.c[determinant], table.c[dependent]
            combos = (
                sa.select(a.label("a"), sa.func.count().label("n"))
                .where(a.is_not(None), b.is_not(None))
                .group_by(a, b)
                .subquery("combos")
            )
            per_value = (
                sa.select(sa.func.max(combos.c.n).label("top"), sa.func.sum(combos.c.n).label("rows"))
                .group_by(combos.c.a)
                .subquery("per_value")
            )
            statement = sa.select(
                sa.func.sum(per_value.c.rows), sa.func.sum(per_value.c.top), sa.func.count()
            ).select_from(per_value)
            row = self._read(statement, info.ref, "measure rules of").iloc[0].tolist()
            counts.append(tuple(0 if v is None or v != v else int(v) for v in row))
        return counts


    def ranges_by_value(self, info: TableInfo, column: str, anchors: Sequence[str], limit: int):
        table = self._table(info.ref, sorted({column, *anchors}))
        label = table.c[column]
        ranges = [f(table.c[a]).label(f"{name}{i}") for i, a in enumerate(anchors)
                  for f, name in ((sa.func.min, "low"), (sa.func.max, "high"))]  # fmt: skip
        statement = (
            sa.select(label.label("value"), sa.func.count().label("rows"), *ranges)
            .where(label.is_not(None)).group_by(label).limit(limit)
        )
        return self._read(statement, info.ref, "measure rules of")


def _product(table: sa.FromClause, factors: tuple[str, ...]) -> sa.ColumnElement:
    product = table.c[factors[0]]
    for factor in factors[1:]:
        product = product * table.c[factor]
    return product


def _sums(comparisons: list[tuple[sa.ColumnElement, str, sa.ColumnElement]]) -> list[sa.ColumnElement]:
    """Two sums per comparison: rows where both sides are present (all rows for ``=``), rows holding."""
    sums = []
    for i, (a, op, b) in enumerate(comparisons):
        if op == "=":
            present = sa.literal(True)
            holds = sa.or_(a == b, sa.and_(a.is_(None), b.is_(None)))
        else:
            present = sa.and_(a.is_not(None), b.is_not(None))
            holds = _OPS[op](a, b)
        sums.append(sa.func.sum(sa.case((present, 1), else_=0)).label(f"present{i}"))
        sums.append(sa.func.sum(sa.case((sa.and_(present, holds), 1), else_=0)).label(f"holds{i}"))
    return sums


def _pairs(frame) -> list[tuple[int, int]]:
    row = [0 if value is None or value != value else int(value) for value in frame.iloc[0].tolist()]
    return [(row[i], row[i + 1]) for i in range(0, len(row), 2)]
