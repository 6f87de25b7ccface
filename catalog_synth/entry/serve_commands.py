"""``catalog-synth serve`` and ``catalog-synth query``: the sandbox from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from catalog_synth.entry.common import config_option, load_or_exit

if TYPE_CHECKING:
    from fastapi import FastAPI
    from pydantic.fields import FieldInfo

    from catalog_synth.core.config import Config
    from catalog_synth.serve.engine import QueryResult

console = Console()


class ServeCommand(click.Command):
    """``serve --help`` ends with every ``sandbox.*`` setting, read off the config model."""

    def format_epilog(self, context: click.Context, formatter: click.HelpFormatter) -> None:
        from catalog_synth.core.sections import SandboxConfig

        with formatter.section("Settings (sandbox.* in the config file)"):
            formatter.write_dl([(f"sandbox.{name}", _setting_help(field)) for name, field in SandboxConfig.model_fields.items()])


def _setting_help(field: FieldInfo) -> str:
    default = field.get_default(call_default_factory=True)
    return field.description if default is None else f"{field.description} Default: {default}."


@click.command("serve", cls=ServeCommand)
@config_option
@click.option("--host", default=None, help="Interface to listen on (default: sandbox.host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: sandbox.port, 8765).")
@click.option(
    "--pg-port", type=int, default=None, help="Also speak PostgreSQL on this port (default: sandbox.pg_port, off)."
)
def serve_command(config_path: str | None, host: str | None, port: int | None, pg_port: int | None) -> None:
    """Serve the synthetic store: JSON API, web page, Prometheus metrics (and PostgreSQL with --pg-port)."""
    import uvicorn

    from catalog_synth.serve.app import create_app
    from catalog_synth.serve.auth import is_loopback  # FastAPI: only when serving

    config = load_or_exit(config_path, store_only=True)
    pg_port = pg_port if pg_port is not None else config.sandbox.pg_port
    host = host or config.sandbox.host
    port = port or config.sandbox.port
    if not config.sandbox.token_hashes and not is_loopback(host):
        console.print(
            f"[yellow]warning:[/] listening on {host} without tokens: anyone who can reach it can query "
            "the synthetic tables (set sandbox.token_hashes)"
        )
    if not config.store.exists():
        console.print(f"[yellow]warning:[/] no store at {config.store} yet: run 'catalog-synth sync'")
    console.print(f"SQL sandbox on [bold]http://{host}:{port}/[/] (API docs at /docs)")
    app = create_app(config)
    wire = _start_wire(config, app, host, pg_port) if pg_port is not None else None
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if wire is not None:
            wire.stop()


def _start_wire(config: Config, app: FastAPI, host: str, pg_port: int) -> object:
    """The PostgreSQL endpoint beside the HTTP app, over the same engine (limits, fair shares, metrics)."""
    from catalog_synth.serve.pgwire import WireConfigError, WireThread

    pg_host = config.sandbox.pg_host or host
    try:
        wire = WireThread(app.state.engine, config.sandbox, pg_host, pg_port, app.state.metrics).start()
    except (WireConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"PostgreSQL protocol on [bold]{pg_host}:{wire.port}[/] (psql -h {pg_host} -p {wire.port})")
    return wire


@click.command("query")
@config_option
@click.argument("sql")
@click.option("--dialect", "-d", default=None, help="Dialect of SQL (default: the warehouse's own).")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=None, help="Most rows to show.")
def query_command(config_path: str | None, sql: str, dialect: str | None, limit: int | None) -> None:
    """Run one read-only query on the synthetic store, with the sandbox's checks and limits."""
    from catalog_synth.serve.errors import QueryError

    config = load_or_exit(config_path, store_only=True)
    try:
        result = run_query(config, sql, dialect=dialect, limit=limit)
    except QueryError as exc:
        from catalog_synth.entry.cli_advice import for_the_command_line

        raise click.ClickException(for_the_command_line(str(exc), config.store)) from None
    console.print(result_table(result))
    more = " (truncated)" if result.truncated else ""
    console.print(f"[dim]{result.row_count} rows in {result.elapsed_ms:.1f} ms{more} · synthetic data[/]")


def run_query(config: Config, sql: str, dialect: str | None = None, limit: int | None = None) -> QueryResult:
    """One query through the sandbox's validator, hardening and limits (``query`` and ``demo``)."""
    from catalog_synth.serve.engine import QueryEngine

    engine = QueryEngine(config.store, config.sandbox)
    try:
        return engine.run(sql, dialect=dialect, limit=limit)
    finally:
        engine.close()


def result_table(result: QueryResult) -> Table:
    table = Table(show_header=True, header_style="bold")
    for column in result.columns:
        table.add_column(column.name, overflow="fold")
    for row in result.rows:
        table.add_row(*("[dim]NULL[/]" if value is None else escape(str(value)) for value in row))
    return table

