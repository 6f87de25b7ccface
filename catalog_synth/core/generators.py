"""Generator plugins as the core sees them: the entry point group, lookup by name, settings
validation (the config checks them at load) and the report every generator fills.

Looking a generator up loads its class only: no model library is imported until it fits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from catalog_synth.core import plugins


@dataclass
class GeneratorReport:
    """What a generator did for one table: aggregates only."""

    generator: str
    fit_seconds: float = 0.0
    sample_seconds: float = 0.0
    epochs: float | None = None
    rows_sampled: int = 0

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        return {key: round(value, 3) if isinstance(value, float) else value for key, value in values.items()}


ENTRY_POINT_GROUP = "catalog_synth.generators"


DEFAULT_GENERATOR = "gaussian_copula"


class GeneratorError(ValueError):
    """An unknown generator or bad generator settings (one line, names the key)."""


def installed_generators() -> list[str]:
    return list(plugins.installed(ENTRY_POINT_GROUP))


def generator_class(name: str) -> type[Any]:
    """The class the entry point names (a :class:`catalog_synth.model.base.Generator` subclass)."""
    try:
        return plugins.load(ENTRY_POINT_GROUP, name, "generator")
    except plugins.UnknownPlugin as exc:
        raise GeneratorError(str(exc)) from None


def validate_settings(name: str, settings: dict[str, Any]) -> BaseModel:
    """The generator's config from plain settings; the error names the first bad key."""
    cls = generator_class(name)
    try:
        return cls.config_class.model_validate(settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise GeneratorError(f"{key}: {message}") from None


def rare_class_warning(name: str) -> str | None:
    """The warning for a rebalanced copy made with a generator that cannot learn a rare class
    (its class says ``learns_rare_classes = False``), or None."""
    if getattr(generator_class(name), "learns_rare_classes", True):
        return None
    return (
        f"rebalanced copy made with {name}, as asked: its conditioned sampling does not learn how a rare"
        " class differs (in the benchmark its copies trained worse models than the imbalanced rows);"
        " leave `synthesizer` out for the default"
    )
