"""``catalog-synth keys``: list the relationships a sync links, or propose missing ones."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from catalog_synth.entry.common import config_option, load_or_exit

if TYPE_CHECKING:  # imported when the command runs: `catalog-synth --help` stays fast
    from catalog_synth.core.config import Config, WarehouseConfig
    from catalog_synth.link.suggest import Suggestion
    from connectors.graph import KeyGraph, Relationship

console = Console()


@click.command("keys")
@config_option
@click.option("--suggest", is_flag=True, help="Propose undeclared relationships (config YAML), verified on samples.")
@click.option("--warehouse", "-w", "warehouse_name", default=None, help="Only this warehouse.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (listing only).")
def keys_command(config_path: str | None, suggest: bool, warehouse_name: str | None, as_json: bool) -> None:
    """List the relationships a sync keeps (declared foreign keys and the config's), or --suggest more."""
    from catalog_synth.core.config import ConfigError
    from catalog_synth.link.suggest import suggestions_yaml
    from connectors import ConnectorError

    config = load_or_exit(config_path)
    try:
        warehouses = [config.warehouse(warehouse_name)] if warehouse_name else config.warehouses
        if suggest:
            proposals = {w.name: _suggestions(config, w) for w in warehouses}
            click.echo(suggestions_yaml(proposals), nl=False)
        else:
            _print_relationships(config, warehouses, as_json)
    except (ConfigError, ConnectorError) as exc:
        raise click.ClickException(str(exc)) from None


def _suggestions(config: Config, warehouse: WarehouseConfig) -> list[Suggestion]:
    from catalog_synth.link.suggest import suggest_relationships
    from connectors import open_connector

    with open_connector(warehouse.name, warehouse.connector, warehouse.url.get_secret_value()) as connector:
        return suggest_relationships(connector, warehouse, config.sample_rows, config.seed)


def _print_relationships(config: Config, warehouses: list[WarehouseConfig], as_json: bool) -> None:
    from catalog_synth.link.plan import plan_keys
    from connectors import open_connector
    from connectors.graph import discover

    listings = []
    for warehouse in warehouses:
        with open_connector(warehouse.name, warehouse.connector, warehouse.url.get_secret_value()) as connector:
            graph, problems = discover(connector, warehouse, connector.list_tables(warehouse.include, warehouse.exclude))
        plans, _ = plan_keys(graph, config.sample_rows, config.copy_rows)
        sampled = {p.sampled_with.relationship for p in plans.values() if p.sampled_with}
        listings.append((warehouse.name, graph, problems, sampled))
    if as_json:
        click.echo(json.dumps([_listing_json(*listing) for listing in listings], indent=2))
        return
    for name, graph, problems, sampled in listings:
        console.print(_relationship_table(name, graph, sampled))
        for problem in problems:
            console.print(f"[red]config problem[/] {problem}")


def _listing_json(name: str, graph: KeyGraph, problems: list[str], sampled: set[Relationship]) -> dict:
    entries = [
        {**r.as_dict(), "sampled_together": r in sampled, "nullable": graph.nullable(r)} for r in graph.relationships
    ]
    return {"warehouse": name, "relationships": entries, "problems": problems}


def _relationship_table(name: str, graph: KeyGraph, sampled: set[Relationship]) -> Table:
    table = Table(title=f"Relationships of warehouse {name} ({len(graph.relationships)})")
    for header in ("child", "columns", "parent", "parent columns", "origin", "empty allowed", "sampled together"):
        table.add_column(header)
    for relationship in sorted(graph.relationships, key=lambda r: (r.child, r.columns)):
        table.add_row(
            relationship.child.qualified,
            ", ".join(relationship.columns),
            relationship.parent.qualified + (" (itself)" if relationship.self_reference else ""),
            ", ".join(relationship.parent_columns),
            relationship.origin,
            "yes" if graph.nullable(relationship) else "no",
            "yes" if relationship in sampled else "",
        )
    return table
