"""CLI commands for the catalog side (the lead wires them into ``catalog_synth.entry.cli``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from catalog_synth.entry.common import config_option, load_or_exit

if TYPE_CHECKING:  # imported when the command runs: `catalog-synth --help` stays fast
    from catalog_synth.core.config import Config
    from catalog_synth.publish.purge import PurgeReport


@click.command("purge-real-samples")
@config_option
@click.option("--delete", is_flag=True, help="Delete the profiles found (default: dry run, only list them).")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(min=1), help="Profiles read per dataset.")
def purge_real_samples_command(config_path: str | None, delete: bool, limit: int) -> None:
    """Delete earlier DataHub profiles of synced datasets that still hold real sample values."""
    from catalog_synth.core.config import ConfigError
    from catalog_synth.publish.gms import CatalogConnectionError
    from catalog_synth.publish.purge import purge_real_samples
    from catalog_synth.publish.sinks import CatalogError
    from catalog_synth.publish.urns import UrnError
    from catalog_synth.store.copies import StoreError
    from connectors import ConnectorError

    config = load_or_exit(config_path)
    try:
        report = purge_real_samples(config, dry_run=not delete, limit=limit)
    except (CatalogError, CatalogConnectionError, StoreError, ConfigError, ConnectorError, UrnError) as exc:
        raise click.ClickException(str(exc)) from None
    print_purge_report(report)


def print_purge_report(report: PurgeReport) -> None:
    verb = "would delete" if report.dry_run else "deleted"
    for profile in report.found:
        click.echo(
            f"{verb}: {profile.urn} profile of {profile.taken_at:%Y-%m-%d %H:%M:%S} UTC "
            f"({profile.columns_with_samples} columns with sample values)"
        )
    for urn in report.truncated:
        click.echo(f"note: {urn} has more profiles than were read; run again after deleting", err=True)
    summary = f"{len(report.found)} profiles with real sample values on {len(report.datasets)} synced datasets"
    if report.dry_run:
        click.echo(f"{summary}; dry run, nothing deleted (use --delete)")
    else:
        click.echo(f"{summary}; {report.deleted} deleted")


def with_create_missing(config: Config) -> Config:
    """The config with ``catalog.datahub.create_missing`` on (``sync --create-missing``)."""
    rest = config.catalog.datahub
    if rest is None:
        return config
    catalog = config.catalog.model_copy(update={"datahub": rest.model_copy(update={"create_missing": True})})
    return config.model_copy(update={"catalog": catalog})
