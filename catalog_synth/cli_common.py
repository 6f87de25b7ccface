"""Pieces every CLI command shares: the --config option and friendly config loading."""

from __future__ import annotations

import click

from catalog_synth.config import Config, ConfigError, load_config

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: ./catalog-synth.yml, or $CATALOG_SYNTH_CONFIG).",
)


def load_or_exit(config_path: str | None) -> Config:
    """Load the config, turning a ConfigError into a one-line CLI error."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"config: {exc}") from None
