"""Generators: the model stage as plugins (entry point group ``catalog_synth.generators``).

Built in: ``gaussian_copula`` (default), ``ctgan`` and ``tvae`` (SDV, Business Source License
1.1), ``copula`` (numpy and scipy) and ``tabular_argn`` (mostlyai-engine, Apache-2.0). Loading a
generator class imports no model library: that happens when it fits.
"""

from __future__ import annotations

from typing import Any

from catalog_synth.core.generators import (
    DEFAULT_GENERATOR,
    GeneratorError,
    GeneratorReport,
    generator_class,
    installed_generators,
    validate_settings,
)
from catalog_synth.model.base import (
    Generator,
    GeneratorConfig,
    GeneratorUnavailable,
    Target,
)

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


def open_generator(name: str, settings: dict[str, Any], seed: int) -> Generator:
    """A fresh generator for one fit."""
    return generator_class(name)(validate_settings(name, settings), seed)
