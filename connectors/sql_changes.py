"""Change markers for incremental sync: PostgreSQL's per-table change counters and/or the
maximum of a watermark column, batched per warehouse.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from catalog_synth.core.types import TableInfo, TableRef
from connectors import ConnectorError
from connectors.sql_errors import table_error, warehouse_error


class ChangeMarkers:
    """Mixed into :class:`~connectors.sqlalchemy.SQLAlchemyConnector` (``Capability.CHANGE_MARKERS``)."""

    # -- change detection ----------------------------------------------------------------
    def change_marker(self, info: TableInfo, watermark: str | None = None) -> str | None:
        """PostgreSQL's per-table change counters and/or ``MAX(watermark)``; None where neither exists."""
        marker = self.change_markers([info], {info.ref.qualified: watermark} if watermark else {})[info.ref]
        if isinstance(marker, ConnectorError):
            raise marker
        return marker

    def change_markers(
        self, infos: list[TableInfo], watermarks: dict[str, str]
    ) -> dict[TableRef, str | None | ConnectorError]:
        """All tables' change counters in one query; a watermark query per table that has one."""
        markers: dict[TableRef, str | None | ConnectorError] = {}
        try:
            with self.engine.connect() as con:
                counters = self._postgres_change_counters(con, [info.ref for info in infos])
                for info in infos:
                    parts = [f"stats={counters.get(info.ref)}"] if counters is not None else []
                    watermark = watermarks.get(info.ref.qualified)
                    try:
                        if watermark:
                            parts.append(f"watermark={self._watermark(con, info, watermark)}")
                        markers[info.ref] = ";".join(parts) or None
                    except ConnectorError as exc:
                        markers[info.ref] = exc
                    except sa_exc.SQLAlchemyError as exc:
                        con.rollback()
                        markers[info.ref] = table_error(exc, info.ref, "read the change markers of")
        except sa_exc.SQLAlchemyError as exc:
            error = warehouse_error(exc, "read change markers", prefix=f"warehouse {self.name!r}: ")
            return {info.ref: error for info in infos}
        return markers

    def _postgres_change_counters(self, con: sa.Connection, refs: list[TableRef]) -> dict[TableRef, tuple] | None:
        """Rows inserted, updated and deleted since the statistics were reset, and the table's oid,
        of every table (None where the warehouse is not PostgreSQL).

        The server flushes these counters when a writing session goes idle (at most about a
        second late) and at its end; a reset or a re-created table changes them too.
        """
        if self.dialect_name != "postgresql":
            return None
        query = sa.text(
            "SELECT schemaname, relname, relid, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
            "WHERE schemaname = ANY(:schemas) AND relname = ANY(:tables)"
        )
        params = {"schemas": sorted({ref.schema for ref in refs}), "tables": sorted({ref.name for ref in refs})}
        return {TableRef(self.name, row[0], row[1]): tuple(row[2:]) for row in con.execute(query, params)}

    def _watermark(self, con: sa.Connection, info: TableInfo, column: str) -> str:
        """``MAX(column)`` as text: a real value, so only ever hashed into the fingerprint."""
        if column not in {c.name for c in info.columns}:
            raise ConnectorError(f"watermark column {column!r} is not a column of {info.ref.qualified}")
        query = sa.select(sa.func.max(sa.column(column))).select_from(self._table(info.ref))
        return str(con.execute(query).scalar())

