"""The one YAML config file: ``${ENV_VAR}`` interpolation, validated by pydantic.

Errors are one line naming the key (``ConfigError``). Secrets (warehouse URLs,
tokens) are ``SecretStr`` and never printed.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url

from catalog_synth.core.rebalancing import (  # noqa: F401 - the config's names for them
    REBALANCE_GENERATOR,
    REBALANCE_GENERATOR_SETTINGS,
    REBALANCE_OTHER_ROWS,
    REBALANCE_SAMPLE_ROWS,
    REBALANCE_TARGET_WEIGHT,
    REBALANCED_SUFFIX,
    RebalanceConfig,
)
from catalog_synth.core.sections import (
    CatalogConfig,
    ExecutorConfig,
    PrivacyConfig,
    SandboxConfig,
    Section,
)

DEFAULT_CONFIG_PATH = Path("catalog-synth.yml")
CONFIG_ENV_VAR = "CATALOG_SYNTH_CONFIG"
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A config problem, phrased as one line that names the key."""


class RelationshipConfig(Section):
    """A foreign key the warehouse does not declare: ``child: sales.orders(customer_id)``."""

    child: str
    parent: str

    @field_validator("child", "parent")
    @classmethod
    def _table_with_columns(cls, value: str) -> str:
        if not re.fullmatch(r"[^()]+\.[^().]+\([^()]+\)", value.strip()):
            raise ValueError("expected 'schema.table(column[, column...])'")
        return value.strip()


class RuleConfig(Section):
    """A schema-wide rule added or switched off: ``table: sales.orders``, ``rule: "shipped >= ordered"``
    (order), ``"city -> country"`` (a dependency), ``"shipped >= orders.ordered"`` or ``"country = customers.country"``."""

    table: str
    rule: str
    off: bool = False

    @field_validator("rule")
    @classmethod
    def _rule(cls, value: str) -> str:
        plain = re.fullmatch(r"\s*\w+\s*(>=|->)\s*\w+\s*", value)
        if not (plain or re.fullmatch(r"\s*\w+\s*(>=|=)\s*\w+\.\w+\s*", value)):
            raise ValueError("expected 'column >= column', 'column -> column' (the second follows from the"
                             " first), 'column >= parent.column' or 'column = parent.column'")  # fmt: skip
        return re.sub(r"\s*(>=|->|=)\s*", r" \1 ", value.strip())


class WarehouseConfig(Section):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    url: SecretStr
    connector: str = "sqlalchemy"
    include: list[str] = Field(default_factory=lambda: ["*.*"])
    exclude: list[str] = Field(default_factory=list)
    # DataHub naming, same option names as DataHub's own SQL sources.
    platform: str | None = None
    platform_instance: str | None = None
    env: str = "PROD"
    database: str | None = None
    # None: DataHub's default for the platform (true for snowflake, false elsewhere).
    convert_urns_to_lowercase: bool | None = None
    relationships: list[RelationshipConfig] = Field(default_factory=list)
    # Schema-wide rules added where the data does not show them, or switched off.
    rules: list[RuleConfig] = Field(default_factory=list)
    # Optional per-table watermark column for incremental sync: {"sales.orders": "updated_at"}.
    watermarks: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _parseable_url(cls, value: SecretStr) -> SecretStr:
        try:
            make_url(value.get_secret_value())
        except Exception:
            # Never echo the URL: it may hold a password.
            raise ValueError("not a valid SQLAlchemy URL (dialect+driver://user:password@host/db)") from None
        return value


class TableConfig(Section):
    """Per-table choices under ``tables:`` (keys are ``schema.table`` globs, optionally with the warehouse)."""

    synthesizer: str | None = None
    # The generator's settings for these tables, over ``generators.<name>``.
    settings: dict[str, Any] = Field(default_factory=dict)


class Config(Section):
    warehouses: list[WarehouseConfig] = Field(min_length=1)
    sample_rows: int = Field(default=2000, ge=1)
    preview_rows: int = Field(default=20, ge=1)
    copy_rows: int = Field(default=10_000, ge=1)
    store: Path = Path(".catalog-synth/sandbox.duckdb")
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    # The generator plugin (entry point group catalog_synth.generators) every table uses by default.
    synthesizer: str = "gaussian_copula"
    # Settings per generator: {"tabular_argn": {"max_training_seconds": 60}}.
    generators: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Per-table choices by schema.table glob: {"crm.customers": {"synthesizer": "tabular_argn"}}.
    tables: dict[str, TableConfig] = Field(default_factory=dict)
    rebalance: list[RebalanceConfig] = Field(default_factory=list)
    seed: int | None = None
    # Per-column privacy overrides: {"crm.customer.notes": "sensitive", "crm.genre.*": "public"}
    # Keys are schema.table.column globs, optionally prefixed by the warehouse name.
    columns: dict[str, Literal["sensitive", "public"]] = Field(default_factory=dict)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    @model_validator(mode="after")
    def _generators_exist(self) -> Config:
        _check_generator("synthesizer", self.synthesizer, self.generators.get(self.synthesizer, {}))
        for name, settings in self.generators.items():
            _check_generator(f"generators.{name}", name, settings, need_library=False)
        for glob, choice in self.tables.items():
            name = choice.synthesizer or self.synthesizer
            _check_generator(f"tables.{glob}", name, {**self.generators.get(name, {}), **choice.settings})
        for number, request in enumerate(self.rebalance):
            self.check_rebalance(request, f"rebalance.{number}")
        return self

    def check_rebalance(self, request: RebalanceConfig, key: str) -> None:
        """The request's generator is installed and its settings validate."""
        parts = request.table.split(".")
        warehouse, qualified = (parts[0], ".".join(parts[1:])) if len(parts) > 2 else ("", request.table)
        _check_generator(key, *self.generator_for(warehouse, qualified, request))

    def table_choice(self, warehouse: str, qualified: str) -> TableConfig:
        """The first ``tables`` entry whose glob matches the table (an empty choice if none does)."""
        for glob, choice in self.tables.items():
            if fnmatch.fnmatchcase(qualified, glob) or fnmatch.fnmatchcase(f"{warehouse}.{qualified}", glob):
                return choice
        return TableConfig()

    def generator_for(self, warehouse: str, qualified: str, request: RebalanceConfig | None = None) -> tuple[str, dict]:
        """The generator name and settings for one table (or one of its rebalanced copies: the
        request's generator, else REBALANCE_GENERATOR, whatever the table's own generator)."""
        choice = self.table_choice(warehouse, qualified)
        if request is None:
            name = choice.synthesizer or self.synthesizer
            return name, {**self.generators.get(name, {}), **choice.settings}
        name = request.synthesizer or REBALANCE_GENERATOR
        own = dict(choice.settings) if choice.synthesizer == name else {}  # the table's own generator only
        tuned = REBALANCE_GENERATOR_SETTINGS if name == REBALANCE_GENERATOR else {}
        return name, {**tuned, **self.generators.get(name, {}), **own, **request.settings}

    def warehouse(self, name: str) -> WarehouseConfig:
        for warehouse in self.warehouses:
            if warehouse.name == name:
                return warehouse
        raise ConfigError(f"warehouses: no warehouse named {name!r}")

    @property
    def multi_warehouse(self) -> bool:
        return len(self.warehouses) > 1


def _check_generator(key: str, name: str, settings: dict[str, Any], need_library: bool = True) -> None:
    """An installed generator whose settings validate (and whose library is installed, when used)."""
    from catalog_synth.core.generators import (
        GeneratorError,
        generator_class,
        validate_settings,
    )

    try:
        validate_settings(name, settings)
    except GeneratorError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    problem = generator_class(name).missing_requirement() if need_library else None
    if problem:
        raise ConfigError(f"{key}: {problem}")


def interpolate_env(text: str, environ: dict[str, str] | None = None, *, store_only: bool = False) -> str:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) with environment values.

    Comments are left alone, so a commented-out ``${VAR}`` does not need to be set. With
    ``store_only`` (commands that read only the synthetic store) an unset variable on a
    warehouse's ``url:`` line is left as it is: reading the store needs no warehouse secret.
    """
    env = os.environ if environ is None else environ
    lines = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        code, hash_, comment = _split_comment(line)

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            if store_only and _URL_LINE.search(code):
                return match.group(0)
            raise ConfigError(f"line {number}: environment variable ${{{name}}} is not set")

        lines.append(_ENV_PATTERN.sub(substitute, code) + hash_ + comment)
    return "".join(lines)


def _split_comment(line: str) -> tuple[str, str, str]:
    """Split a YAML line at a ``#`` that starts a comment (outside quotes)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index], "#", line[index + 1 :]
    return line, "", ""


def parse_config(text: str, environ: dict[str, str] | None = None, *, store_only: bool = False) -> Config:
    try:
        raw = yaml.safe_load(interpolate_env(text, environ, store_only=store_only))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a YAML mapping with a 'warehouses' key")
    if store_only:
        raw = _without_unresolved_urls(raw)
    return validate_config(raw)


# A warehouse's `url:` key (block or flow style), not `sandbox_url:`.
_URL_LINE = re.compile(r"(^|[\s{,-])url\s*:")
# Stands in for a URL whose variables are unset when only the store is read; never connected to.
UNRESOLVED_URL = "sqlite://"


def _without_unresolved_urls(raw: dict[str, Any]) -> dict[str, Any]:
    """The raw config with each warehouse URL that still holds a ``${VAR}`` replaced by a
    stand-in (store-only commands never open a warehouse)."""
    warehouses = raw.get("warehouses")
    if not isinstance(warehouses, list):
        return raw
    fixed = [
        {**entry, "url": UNRESOLVED_URL}
        if isinstance(entry, dict) and isinstance(entry.get("url"), str) and _ENV_PATTERN.search(entry["url"])
        else entry
        for entry in warehouses
    ]
    return {**raw, "warehouses": fixed}


def validate_config(raw: dict[str, Any]) -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a check across keys (generators): the message names its key
        return message
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key{_did_you_mean(error['loc'])}"
    if error["type"] == "missing":
        return f"{key}: required key is missing"
    # Do not echo the input: it may be a secret.
    return f"{key}: {message}"


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    """`` (did you mean `sample_rows`?)`` for the valid key nearest an unknown one, if any is near."""
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        if isinstance(part, str) and model is not None:
            field = model.model_fields.get(part)
            model = _section_model(field.annotation) if field else None
    nearest = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1) if model else []
    return f" (did you mean `{nearest[0]}`?)" if nearest else ""


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The section model inside ``Section``, ``Section | None`` or ``list[Section]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_section_model, typing.get_args(annotation))), None)


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


def load_config(path: str | Path | None = None, *, store_only: bool = False) -> Config:
    """The config file at ``path``; ``store_only``: for commands that read only the synthetic
    store (preview, query, report, serve, inspect), which need no warehouse password."""
    resolved = config_path(path)
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {resolved} not found (run 'catalog-synth init' to write one)") from None
    config = parse_config(text, store_only=store_only)
    return _relative_to(config, Path(os.path.abspath(resolved.parent)))  # absolute, without ".."


def _relative_to(config: Config, base: Path) -> Config:
    """Resolve relative paths against the config file's folder: ``store``, ``catalog.file`` and
    the file of a ``sqlite:///`` or ``duckdb:///`` URL, so that messages name the real file."""
    from catalog_synth.core.paths import file_url_relative_to

    warehouses = []
    for warehouse in config.warehouses:
        url = warehouse.url.get_secret_value()
        resolved = file_url_relative_to(url, base)
        warehouses.append(warehouse if resolved == url else warehouse.model_copy(update={"url": SecretStr(resolved)}))
    updates: dict[str, Any] = {"store": _resolve(base, config.store), "warehouses": warehouses}
    catalog = config.catalog
    if catalog.file is not None:
        updates["catalog"] = catalog.model_copy(update={"file": _resolve(base, catalog.file)})
    return config.model_copy(update=updates)


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else base / path
