"""What the commands print: the sync's progress and summary, and frames as tables that fit the terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from catalog_synth.core.config import Config
    from catalog_synth.core.types import TableResult
    from catalog_synth.run.sync import SyncReport


# On a terminal (or with $COLUMNS) tables fit its width; elsewhere (pipes, cron logs) they
# keep their natural width instead of being squeezed.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 1000)


def sync_with_progress(config: Config, *, full: bool = False) -> SyncReport:
    """Run the sync with a progress bar on a terminal (plain log lines elsewhere)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from catalog_synth.run.executors import ExecutorError
    from catalog_synth.run.sync import SyncError, run_sync

    progress = Progress(
        TextColumn("[bold]sync"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task("", total=None)

        def on_table(result: TableResult) -> None:
            progress.update(task, advance=1, description=f"{result.stored_ref.qualified}: {result.status.value}")

        try:
            return run_sync(
                config, full=full, on_plan=lambda total: progress.update(task, total=total), on_table=on_table
            )
        except (SyncError, ExecutorError) as exc:
            raise click.ClickException(str(exc)) from None


_STATUS_STYLE = {"synthesized": "green", "unchanged": "cyan", "skipped": "yellow", "failed": "red"}


def print_summary(report: SyncReport) -> None:
    from catalog_synth.core.types import TableStatus

    table = Table(title="catalog-synth sync", show_lines=False)
    for header in ("warehouse", "table", "status", "rows", "quality", "reason / notes"):
        table.add_column(header)
    for result in report.results:
        quality = f"{result.quality.overall:.2f}" if result.quality else ""
        detail = "; ".join(filter(None, [result.reason, *_short_notes(result.notes), _helps(result.rebalance)]))
        style = _STATUS_STYLE[result.status.value]
        table.add_row(
            result.ref.warehouse,
            result.stored_ref.qualified,
            f"[{style}]{result.status.value}[/]",
            str(result.rows_written or ""),
            quality,
            detail,
        )
    console.print(table)
    counts = ", ".join(f"{report.count(s)} {s.value}" for s in TableStatus if report.count(s))
    where = f"store: {report.store}" if report.store.exists() else "nothing stored, no store written"
    console.print(f"{counts or 'no tables'} in {report.seconds:.1f} s; {where}", soft_wrap=True)
    for sink_report in report.sink_reports:
        console.print(sink_report.summary())


def _short_notes(notes: list[str]) -> list[str]:
    """The notes, with the schema-wide rules (one note each) summed up: ``report`` lists them."""
    from catalog_synth.core.rule_notes import PREFIX, rules_of

    rules = rules_of(notes)
    kept = [note for note in notes if not note.startswith(PREFIX) and not note.startswith("schema-wide rules: ")]
    if not rules:
        return kept
    held = sum(1 for rule in rules if rule["synthetic_share"] is not None
               and abs(rule["synthetic_share"] - rule["real_share"]) <= 0.01)  # fmt: skip
    return [*kept, f"{len(rules)} schema-wide rules, {held} at their real share (report lists them)"]


def _helps(rebalance: dict | None) -> str:
    """A rebalanced copy that trains a better model than the real rows says by how much (one that
    does not carries a warning note already)."""
    utility = (rebalance or {}).get("utility") or {}
    if not utility.get("measured") or not utility.get("helps"):
        return ""
    return (f"utility: AUC-ROC {utility['copy']['auc_roc']:.3f} trained on the copy vs {utility['real']['auc_roc']:.3f}"
            f" on the real rows ({utility['holdout_target_rows']} held-out rows of the class)")


def frame_table(frame: pd.DataFrame, title: str = "", width: int | None = None) -> Table:
    """The rows as a table; one wider than ``width`` is turned: a line per column, as many
    rows side by side as fit."""
    table = _rows_table(frame, title)
    if width is None or _natural_width(table) <= width:
        return table
    for rows in range(len(frame), 0, -1):
        turned = _columns_table(frame.head(rows), f"{title}: {rows} of {len(frame)} rows, a line per column")
        if rows == 1 or _natural_width(turned) <= width:
            return turned
    return table  # no rows: nothing to turn


def _rows_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.itertuples(index=False):
        table.add_row(*_cells(row))
    return table


def _columns_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    table.add_column("column", style="bold")
    for number in range(1, len(frame) + 1):
        table.add_column(f"row {number}")
    for column in frame.columns:
        table.add_row(str(column), *_cells(frame[column]))
    return table


def _cells(values: Iterable[object]) -> list[str]:
    import pandas as pd

    return ["" if pd.isna(value) else escape(str(value)) for value in values]


def _natural_width(table: Table) -> int:
    """The width ``table`` takes when nothing squeezes it."""
    return Measurement.get(console, console.options.update(max_width=1_000_000), table).maximum
