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
    real_rows = real_row_counts(config_file.parent / "warehouse.duckdb")
    console.print(built_line(rows, real_rows))
    report = sync_with_progress(config, full=True)
    print_summary(report)
    note = sizes_note(report, real_rows, config.copy_rows)
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
    inspect = shlex.join([*own_command(), "inspect", "-c", str(config_file), "main.people"])
    console.print(f"What DataHub will show: {escape(inspect)}", soft_wrap=True)
    serve = shlex.join([*own_command(), "serve", "-c", str(config_file)])
    console.print(f"Open its SQL sandbox (web page and API): {escape(serve)}", soft_wrap=True)
    if report.failed:
        raise SystemExit(1)


def real_row_counts(warehouse: Path) -> dict[str, int]:
    """Rows of each table in the demo warehouse, by ``schema.table``."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in names}


def built_line(people: int, real_rows: dict[str, int]) -> str:
    """What the demo warehouse holds: every table, with its rows."""
    order = ["main.people", "main.orders", "main.order_items", "main.products"]
    names = sorted(real_rows, key=lambda name: (order.index(name) if name in order else len(order), name))
    tables = ", ".join(f"{name.removeprefix('main.')} ({real_rows[name]:,})" for name in names)
    return f"Built a demo DuckDB warehouse of {people} people and their orders, {len(names)} tables: {tables}; syncing it..."


def sizes_note(report: SyncReport, real_rows: dict[str, int], copy_rows: int) -> str | None:
    """Why some synthetic copies have fewer rows than their real tables, a line per reason
    (None when none has): the cap itself, then the tables that shrink with it."""
    smaller = [
        result
        for result in report.results
        if result.rows_written and result.rows_written < real_rows.get(result.ref.qualified, 0)
    ]
    if not smaller:
        return None

    def counts(results: list) -> str:
        return ", ".join(f"{r.ref.qualified} {r.rows_written:,} of {real_rows[r.ref.qualified]:,}" for r in results)

    capped = [r for r in smaller if r.rows_written >= copy_rows]
    linked = [r for r in smaller if r.rows_written < copy_rows]
    lines = []
    if capped:
        lines.append(f"Why {counts(capped)}: the demo caps every copy at copy_rows ({copy_rows:,}).")
    if linked:
        factor = linked[0].rows_written / real_rows[linked[0].ref.qualified]
        lines.append(
            f"Why {counts(linked)}: tables linked by foreign keys shrink together by one factor (×{factor:.2f}), "
            "so each synthetic parent keeps a real-looking number of children."
        )
    return "\n".join(lines)


def own_command() -> list[str]:
    """How to run catalog-synth again as this process was: the venv's command by its full path
    (it is not on PATH until the venv is activated), else this interpreter with ``-m``."""
    installed = Path(sys.executable).with_name("catalog-synth")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "catalog_synth"]
