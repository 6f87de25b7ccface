"""``catalog-synth demo``: an embedded warehouse, synced end to end with no server."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from catalog_synth.core.config import load_config

if TYPE_CHECKING:
    from catalog_synth.run.sync import SyncReport

DEMO_QUERY = """\
SELECT status, count(*) AS orders, round(avg(amount), 2) AS avg_amount
FROM orders GROUP BY status ORDER BY orders DESC"""

DEMO_CONFIG = """\
warehouses:
  - name: demo
    url: duckdb:///{warehouse}
sample_rows: 2000
preview_rows: 10
copy_rows: 1000
store: sandbox.duckdb
catalog:
  file: datahub-mcps.json
seed: 7
"""


def write_demo(directory: Path, rows: int) -> Path:
    """Build the demo warehouse and its config; returns the config path."""
    from catalog_synth.entry.demo_data import build_demo_warehouse

    directory.mkdir(parents=True, exist_ok=True)
    warehouse = (directory / "warehouse.duckdb").resolve()
    build_demo_warehouse(warehouse, "duckdb", rows=rows, overwrite=True)
    config_file = directory / "catalog-synth.yml"
    config_file.write_text(DEMO_CONFIG.format(warehouse=warehouse), encoding="utf-8")
    return config_file


def run_demo(directory: Path, rows: int, console: Console) -> None:
    from catalog_synth.entry.output import (
        frame_table,
        print_summary,
        sync_with_progress,
    )
    from catalog_synth.entry.serve_commands import result_table, run_query
    from catalog_synth.serve.errors import QueryError
    from catalog_synth.store.copies import Store

    config_file = write_demo(directory, rows).resolve()
    config = load_config(config_file)
    console.print(f"Built a demo warehouse with {rows} people and their orders; syncing it...")
    report = sync_with_progress(config, full=True)
    print_summary(report)
    note = sizes_note(report, real_row_counts(config_file.parent / "warehouse.duckdb"), config.copy_rows)
    if note:
        console.print(note)
    preview = Store(config.store).preview("main.people")
    console.print(frame_table(preview, title="main.people (synthetic preview)", width=console.width))
    console.print(f"[bold]Query on the synthetic copy:[/]\n{DEMO_QUERY}")
    try:
        console.print(result_table(run_query(config, DEMO_QUERY)))
    except QueryError as exc:  # e.g. the orders table did not pass the privacy gate
        console.print(f"[red]The sample query could not run: {exc}[/]")
    # Paths and the command are printed whole (never wrapped) so they can be copied and run.
    console.print(f"Catalog file (DataHub MCPs): [bold]{escape(str(config.catalog.file))}[/]", soft_wrap=True)
    console.print(f"Sandbox store (DuckDB):      [bold]{escape(str(config.store))}[/]", soft_wrap=True)
    console.print(f"Config used:                 [bold]{escape(str(config_file))}[/]", soft_wrap=True)
    hint = shlex.join([*own_command(), "preview", "-c", str(config_file), "main.orders"])
    console.print(f"Try: {escape(hint)}", soft_wrap=True)
    if report.failed:
        raise SystemExit(1)


def real_row_counts(warehouse: Path) -> dict[str, int]:
    """Rows of each table in the demo warehouse, by ``schema.table``."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in names}


def sizes_note(report: SyncReport, real_rows: dict[str, int], copy_rows: int) -> str | None:
    """Why some synthetic copies have fewer rows than their real tables (None when none has)."""
    smaller = [
        f"{result.ref.qualified} {result.rows_written:,} of {real_rows[result.ref.qualified]:,}"
        for result in report.results
        if result.rows_written and result.rows_written < real_rows.get(result.ref.qualified, 0)
    ]
    if not smaller:
        return None
    return (
        f"Synthetic rows of real rows: {', '.join(smaller)}. The demo caps every copy at copy_rows ({copy_rows:,}); "
        "tables linked by foreign keys shrink together by one factor, so each synthetic parent keeps "
        "a real-looking number of children."
    )


def own_command() -> list[str]:
    """How to run catalog-synth again as this process was: the venv's command by its full path
    (it is not on PATH until the venv is activated), else this interpreter with ``-m``."""
    installed = Path(sys.executable).with_name("catalog-synth")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "catalog_synth"]
