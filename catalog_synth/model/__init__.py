"""Generators: the model stage as plugins (entry point group ``catalog_synth.generators``).

Built in: ``gaussian_copula`` (default), ``ctgan`` and ``tvae`` (SDV, Business Source License
1.1) and ``tabular_argn`` (mostlyai-engine, Apache-2.0; the ``argn`` extra). Loading a
generator class imports no model library: that happens when it fits.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from catalog_synth.core import plugins
from catalog_synth.model.base import (
    Generator,
    GeneratorConfig,
    GeneratorReport,
    GeneratorUnavailable,
    Target,
)

ENTRY_POINT_GROUP = "catalog_synth.generators"
DEFAULT_GENERATOR = "gaussian_copula"

__all__ = [
    "DEFAULT_GENERATOR",
    "Generator",
    "GeneratorConfig",
    "GeneratorError",
    "GeneratorReport",
    "GeneratorUnavailable",
    "Target",
    "generator_class",
    "installed_generators",
    "open_generator",
    "validate_settings",
]


class GeneratorError(ValueError):
    """An unknown generator or bad generator settings (one line, names the key)."""


def installed_generators() -> list[str]:
    return list(plugins.installed(ENTRY_POINT_GROUP))


def generator_class(name: str) -> type[Generator]:
    try:
        return plugins.load(ENTRY_POINT_GROUP, name, "generator")
    except plugins.UnknownPlugin as exc:
        raise GeneratorError(str(exc)) from None


def validate_settings(name: str, settings: dict[str, Any]) -> GeneratorConfig:
    """The generator's config from plain settings; the error names the first bad key."""
    cls = generator_class(name)
    try:
        return cls.config_class.model_validate(settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise GeneratorError(f"{key}: {message}") from None


def open_generator(name: str, settings: dict[str, Any], seed: int) -> Generator:
    """A fresh generator for one fit."""
    return generator_class(name)(validate_settings(name, settings), seed)
