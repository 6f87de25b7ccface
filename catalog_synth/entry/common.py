"""Pieces every CLI command shares: the --config option, friendly config loading, logging options.

Command modules import this at start-up (``catalog-synth --help`` lists every command),
so it imports nothing heavy: the config module (pydantic, SQLAlchemy) loads when a
command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from catalog_synth.core.config import Config

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default: ./catalog-synth.yml, or $CATALOG_SYNTH_CONFIG).",
)

_LOGGING_FLAGS = "catalog_synth.logging"


def load_or_exit(config_path: str | None, *, store_only: bool = False) -> Config:
    """Load the config, turning a ConfigError into a one-line CLI error. ``store_only``: the
    command reads only the synthetic store, so unset warehouse URL variables do not matter."""
    from catalog_synth.core.config import ConfigError, load_config

    try:
        return load_config(config_path, store_only=store_only)
    except ConfigError as exc:
        raise click.ClickException(f"config: {exc}") from None


def logging_options() -> list[click.Option]:
    """``-v`` and ``--log-json``, accepted before the command and after it (``sync -v``).

    Given anywhere on the line, a flag counts for the whole run.
    """
    return [
        click.Option(["--log-json"], is_flag=True, expose_value=False, callback=_set_logging_flag,
                     help="Write logs to stderr as JSON lines."),
        click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, callback=_set_logging_flag,
                     help="Log more (sync: a line per finished table)."),
    ]


def _set_logging_flag(context: click.Context, option: click.Parameter, given: bool) -> None:
    flags = context.find_root().meta.setdefault(_LOGGING_FLAGS, {"log_json": False, "verbose": False})
    if given:
        flags[option.name] = True
        configure_logging_from(context)


def configure_logging_from(context: click.Context) -> None:
    """Set up logging with the flags given so far on the command line."""
    from catalog_synth.core.logs import configure_logging

    flags = context.find_root().meta.get(_LOGGING_FLAGS, {})
    configure_logging(json_lines=flags.get("log_json", False), verbose=flags.get("verbose", False))
