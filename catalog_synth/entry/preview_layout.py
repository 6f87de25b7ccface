"""How ``catalog-synth preview`` lays rows out on a terminal of any width.

Rows as a table when they fit; wider rows turned (a line per column, as many rows side by side
as fit) with a caption saying how to see the rest; ``--vertical`` prints every row as a block
of ``column  value`` lines (psql's expanded display), which fits any width; ``--columns``
keeps the named columns only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    import pandas as pd


class ColumnsError(ValueError):
    """``--columns`` names a column the table does not have."""


def pick_columns(frame: pd.DataFrame, columns: str | None) -> pd.DataFrame:
    """The frame with only the comma-separated ``columns`` (case-insensitive), in that order."""
    if not columns:
        return frame
    by_lower = {str(name).lower(): name for name in frame.columns}
    wanted = [part.strip() for part in columns.split(",") if part.strip()]
    unknown = [name for name in wanted if name.lower() not in by_lower]
    if unknown:
        raise ColumnsError(
            f"no column {', '.join(map(repr, unknown))} in this table (columns: {', '.join(map(str, frame.columns))})"
        )
    return frame[[by_lower[name.lower()] for name in wanted]]


def vertical(frame: pd.DataFrame, title: str) -> Group:
    """Every row as a block of ``column  value`` lines."""
    import pandas as pd

    blocks: list[object] = [Text(title, style="italic")]
    for number, (_, row) in enumerate(frame.iterrows(), start=1):
        block = Table(show_header=False, box=None, padding=(0, 1), title=f"-[ row {number} ]-", title_justify="left")
        block.add_column(style="bold", no_wrap=True)
        block.add_column(overflow="fold")
        for column, value in row.items():
            block.add_row(escape(str(column)), "" if pd.isna(value) else escape(str(value)))
        blocks.append(block)
    return Group(*blocks)


def more_hint(table: str, shown: int, total: int, width: int | None) -> str:
    """What to type to see the rows a turned preview left out."""
    where = f" in {width} columns" if width else ""
    return (
        f"{shown} of {total} rows fit{where}; to see more: catalog-synth preview {table} --vertical "
        f"(all rows), --columns a,b (fewer columns) or --rows N"
    )
