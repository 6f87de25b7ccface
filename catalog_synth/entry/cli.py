"""The ``catalog-synth`` command line: a thin layer over the library API.

Start-up is cheap on purpose: ``--help`` and the light commands import only click and
rich here; each command imports what it needs when it runs (see ``cli_common``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from catalog_synth import __version__
from catalog_synth.entry.common import (
    config_option,
    configure_logging_from,
    load_or_exit,
    logging_options,
)
from catalog_synth.entry.output import (
    console,
    frame_table,
    print_summary,
    sync_with_progress,
)

if TYPE_CHECKING:

    from catalog_synth.core.config import Config


class CommandGroup(click.Group):
    """A group whose every command, wherever it is defined, also takes the logging options."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        cmd.params.extend(logging_options())
        super().add_command(cmd, name)


@click.group(cls=CommandGroup, params=logging_options())
@click.version_option(__version__, prog_name="catalog-synth")
@click.pass_context
def main(context: click.Context) -> None:
    """Synthetic sample data for data catalogs: previews and sandbox copies that describe nobody."""
    configure_logging_from(context)


@main.command()
@click.option("--path", "-p", type=click.Path(dir_okay=False), default=None, help="Where to write the config.")
@click.option("--url", default=None, help="The warehouse's SQLAlchemy URL (default: $CATALOG_SYNTH_URL); "
              "the template fits its family (SQLite/DuckDB: main.*, PostgreSQL: public.*...).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str | None, url: str | None, force: bool) -> None:
    """Write a commented starter catalog-synth.yml (asks nothing)."""
    from catalog_synth.core.config import config_path
    from catalog_synth.entry.init_config import InitError, starter_for, url_from

    target = Path(path) if path else config_path()
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists (use --force to overwrite)")
    try:
        starter = starter_for(url_from(url), target.parent)
    except InitError as exc:
        raise click.ClickException(f"--url: {exc}") from None
    target.write_text(starter.text, encoding="utf-8")
    console.print(f"Wrote [bold]{escape(str(target))}[/] for {starter.family} (tables {starter.include}).", soft_wrap=True)
    if starter.password_variable:
        console.print(f"The password is read from ${starter.password_variable}: export it before syncing.")
    if url_from(url) is None:
        console.print("Set the warehouse URL in it (or run [bold]catalog-synth init --force --url URL[/]).")
    console.print(f"Next: [bold]catalog-synth sync{_config_flag(target)}[/]", soft_wrap=True)


def _config_flag(target: Path) -> str:
    """`` -c PATH`` unless ``target`` is the file commands read by default."""
    from catalog_synth.core.config import config_path

    return "" if target.resolve() == config_path().resolve() else f" -c {escape(str(target))}"


@main.command()
@config_option
@click.option("--full", is_flag=True, help="Re-synthesize every table, even unchanged ones.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write a JSON run report here.")
@click.option(
    "--executor",
    "executor_kind",
    type=click.Choice(["local", "dask"]),
    default=None,
    help="Where per-table work runs: local worker processes, or a Dask cluster (default: the config's).",
)
@click.option("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786 (implies --executor dask).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Local worker processes (default: all cores).")
@click.option(
    "--create-missing", is_flag=True, help="Also publish to datasets DataHub does not know yet (creates them)."
)
def sync(
    config_path: str | None,
    full: bool,
    report_path: str | None,
    executor_kind: str | None,
    scheduler: str | None,
    workers: int | None,
    create_missing: bool,
) -> None:
    """Synthesize every included table into the store and publish it to the catalog."""
    if scheduler and executor_kind == "local":
        raise click.UsageError("--scheduler is for --executor dask")
    config = with_executor_options(load_or_exit(config_path), executor_kind, scheduler, workers)
    if create_missing:
        from catalog_synth.entry.catalog_commands import with_create_missing

        config = with_create_missing(config)
    report = sync_with_progress(config, full=full)
    print_summary(report)
    if report_path:
        Path(report_path).write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    if report.failed:
        sys.exit(1)


def with_executor_options(
    config: Config, kind: str | None, scheduler: str | None, workers: int | None
) -> Config:
    """The config with ``sync``'s --executor/--scheduler/--workers applied (a scheduler implies dask)."""
    updates: dict[str, object] = {}
    if scheduler:
        updates.update(kind="dask", scheduler=scheduler)
    if kind:
        updates["kind"] = kind
    if workers:
        updates["workers"] = workers
    return config.model_copy(update={"executor": config.executor.model_copy(update=updates)})


@main.command()
@config_option
@click.argument("table")
@click.option("--rows", "-n", type=click.IntRange(min=1), default=None, help="How many rows (default: preview_rows).")
@click.option("--columns", "-C", default=None, help="Only these columns, comma-separated: --columns id,name,email.")
@click.option("--vertical", "-x", is_flag=True, help="A block of 'column value' lines per row (fits any width).")
def preview(config_path: str | None, table: str, rows: int | None, columns: str | None, vertical: bool) -> None:
    """Print the synthetic preview rows of TABLE (customer, main.customer or shop.main.customer).

    Rows are a table when they fit the terminal; wider rows are turned, a line per column.
    """
    from catalog_synth.entry.preview_layout import ColumnsError, more_hint, pick_columns
    from catalog_synth.entry.preview_layout import vertical as vertical_layout
    from catalog_synth.store.copies import Store, StoreError

    config = load_or_exit(config_path, store_only=True)
    try:
        frame = pick_columns(Store(config.store).preview(table, rows), columns)
    except (StoreError, ColumnsError) as exc:
        raise click.ClickException(str(exc)) from None
    title = f"{table} (synthetic)"
    if vertical:
        console.print(vertical_layout(frame, title))
        return
    shown = frame_table(frame, title=title, width=console.width)
    console.print(shown)
    if shown.columns and shown.columns[0].header == "column" and len(shown.columns) - 1 < len(frame):
        console.print(f"[dim]{escape(more_hint(table, len(shown.columns) - 1, len(frame), console.width))}[/]")


@main.command()
@config_option
@click.argument("table")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def report(config_path: str | None, table: str, as_json: bool) -> None:
    """Quality score, column classification and privacy-gate results of SCHEMA.TABLE."""
    from catalog_synth.entry.reporting import render_table_report
    from catalog_synth.store.copies import Store, StoreError

    config = load_or_exit(config_path, store_only=True)
    try:
        stored = Store(config.store).table(table)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(stored.as_dict(), indent=2, default=str))
        return
    render_table_report(console, stored)


@main.command()
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False), default=".catalog-synth/demo", show_default=True
)
@click.option("--rows", type=int, default=300, show_default=True, help="People in the demo warehouse.")
def demo(directory: str, rows: int) -> None:
    """Build a small embedded warehouse, sync it, and show the synthetic result (no server needed)."""
    from catalog_synth.entry.demo import run_demo

    run_demo(Path(directory), rows, console)


def _register_stage_commands() -> None:
    """Commands that live with their stage: the sandbox serves, the catalog purges."""
    from catalog_synth.entry.catalog_commands import purge_real_samples_command
    from catalog_synth.entry.inspect import inspect_command
    from catalog_synth.entry.keys_commands import keys_command
    from catalog_synth.entry.serve_commands import query_command, serve_command

    for command in (serve_command, query_command, purge_real_samples_command, keys_command, inspect_command):
        main.add_command(command)


_register_stage_commands()
