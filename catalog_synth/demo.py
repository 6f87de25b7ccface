"""``catalog-synth demo``: an embedded warehouse, synced end to end with no server."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from catalog_synth.config import load_config

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
    from catalog_synth.demo_data import build_demo_warehouse

    directory.mkdir(parents=True, exist_ok=True)
    warehouse = (directory / "warehouse.duckdb").resolve()
    build_demo_warehouse(warehouse, "duckdb", rows=rows, overwrite=True)
    config_file = directory / "catalog-synth.yml"
    config_file.write_text(DEMO_CONFIG.format(warehouse=warehouse), encoding="utf-8")
    return config_file


def run_demo(directory: Path, rows: int, console: Console) -> None:
    from catalog_synth.cli import frame_table, print_summary, sync_with_progress
    from catalog_synth.sandbox.commands import result_table, run_query
    from catalog_synth.sandbox.engine import QueryError
    from catalog_synth.store import Store

    config_file = write_demo(directory, rows)
    config = load_config(config_file)
    console.print(f"Built a demo warehouse with {rows} people and their orders; syncing it...")
    report = sync_with_progress(config, full=True)
    print_summary(report)
    console.print(frame_table(Store(config.store).preview("main.people"), title="main.people (synthetic preview)"))
    console.print(f"[bold]Query on the synthetic copy:[/]\n{DEMO_QUERY}")
    try:
        console.print(result_table(run_query(config, DEMO_QUERY)))
    except QueryError as exc:  # e.g. the orders table did not pass the privacy gate
        console.print(f"[red]The sample query could not run: {exc}[/]")
    console.print(f"Catalog file (DataHub MCPs): [bold]{config.catalog.file}[/]")
    console.print(f"Sandbox store (DuckDB):      [bold]{config.store}[/]")
    console.print(f"Config used:                 [bold]{config_file}[/]  (try: catalog-synth preview -c {config_file} main.orders)")
    if report.failed:
        raise SystemExit(1)
