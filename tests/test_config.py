"""The config contract: ${VAR} interpolation, one-line errors naming the key, no secrets echoed."""

from __future__ import annotations

import pytest

from catalog_synth.core.config import (
    ConfigError,
    load_config,
    parse_config,
    validate_config,
)
from catalog_synth.entry.starter import STARTER_CONFIG

CONTRACT = """
warehouses:
  - name: shop                      # logical name, used in the sandbox
    url: postgresql+psycopg://analyst:${SHOP_DB_PASSWORD}@db:5432/shop
    include: ["public.*", "sales.*"]   # schema.table globs
    exclude: ["public.tmp_*"]
sample_rows: 2000        # most rows read from any one table
preview_rows: 20         # synthetic rows shown in the catalog
copy_rows: 10000         # rows in each synthetic copy
store: .catalog-synth/sandbox.duckdb
catalog:
  file: .catalog-synth/datahub-mcps.json
"""


def test_issue_contract_parses_with_env_interpolation() -> None:
    config = parse_config(CONTRACT, {"SHOP_DB_PASSWORD": "s3cret!"})
    warehouse = config.warehouses[0]
    assert warehouse.url.get_secret_value() == "postgresql+psycopg://analyst:s3cret!@db:5432/shop"
    assert warehouse.include == ["public.*", "sales.*"]
    assert (config.sample_rows, config.preview_rows, config.copy_rows) == (2000, 20, 10000)
    assert str(config.catalog.file) == ".catalog-synth/datahub-mcps.json"


def test_secret_is_masked_in_repr_and_dump() -> None:
    config = parse_config(CONTRACT, {"SHOP_DB_PASSWORD": "s3cret!"})
    assert "s3cret!" not in repr(config)
    assert "s3cret!" not in config.model_dump_json()


def test_missing_env_var_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"SHOP_DB_PASSWORD.*not set"):
        parse_config(CONTRACT, {})


def test_env_var_in_a_comment_need_not_be_set() -> None:
    text = CONTRACT.replace("# most rows read", "# most rows read ${UNSET_IN_COMMENT}")
    assert parse_config(text, {"SHOP_DB_PASSWORD": "x"}).sample_rows == 2000


def test_default_value_syntax() -> None:
    config = parse_config(CONTRACT.replace("${SHOP_DB_PASSWORD}", "${PW:-fallback}"), {})
    assert ":fallback@" in config.warehouses[0].url.get_secret_value()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("sample_rows: 2000", "sample_rows: lots"), r"^sample_rows: "),
        (("preview_rows: 20", "preview_rows: 20\npreveiw_rows: 5"),
         r"^preveiw_rows: unknown key \(did you mean `preview_rows`\?\)$"),
        (("    exclude:", "    excluded:"), r"^warehouses\.0\.excluded: unknown key \(did you mean `exclude`\?\)$"),
        (("  - name: shop", "  - name: 'bad name'"), r"^warehouses\.0\.name: "),
        (("copy_rows: 10000", "copy_rows: 0"), r"^copy_rows: "),
    ],
)
def test_errors_are_one_line_naming_the_key(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_config(CONTRACT.replace(*change), {"SHOP_DB_PASSWORD": "x"})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("addition", "message"),
    [
        ("sample_row: 500", r"^sample_row: unknown key \(did you mean `sample_rows`\?\)$"),
        ("sandbox:\n  max_queries_per_clien: 2",
         r"^sandbox\.max_queries_per_clien: unknown key \(did you mean `max_queries_per_client`\?\)$"),
        ("executor:\n  worker: 3", r"^executor\.worker: unknown key \(did you mean `workers`\?\)$"),
        ("wibble: 1", r"^wibble: unknown key$"),  # nothing near: no guess
    ],
)
def test_unknown_keys_suggest_the_nearest_valid_key(addition: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(CONTRACT + addition + "\n", {"SHOP_DB_PASSWORD": "x"})


def test_a_suggestion_never_echoes_the_value() -> None:
    text = CONTRACT.replace("catalog:\n", "catalog:\n  datahub:\n    tokn: s3cret-token\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, {"SHOP_DB_PASSWORD": "x"})
    assert str(caught.value) == "catalog.datahub.tokn: unknown key (did you mean `token`?)"


def test_bad_url_error_does_not_echo_the_url() -> None:
    text = CONTRACT.replace("postgresql+psycopg://analyst:${SHOP_DB_PASSWORD}@db:5432/shop", "not a url s3cret")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, {})
    assert "s3cret" not in str(caught.value)
    assert str(caught.value).startswith("warehouses.0.url:")


def test_missing_warehouses_key() -> None:
    with pytest.raises(ConfigError, match="^warehouses: required key is missing$"):
        parse_config("sample_rows: 5\n", {})


def test_load_resolves_paths_next_to_the_config(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", "x")
    path = tmp_path / "conf.yml"
    path.write_text(CONTRACT)
    config = load_config(path)
    assert config.store == tmp_path / ".catalog-synth/sandbox.duckdb"
    assert config.catalog.file == tmp_path / ".catalog-synth/datahub-mcps.json"


def test_config_path_from_environment(tmp_path, monkeypatch) -> None:
    path = tmp_path / "elsewhere.yml"
    path.write_text(CONTRACT.replace("${SHOP_DB_PASSWORD}", "pw"))
    monkeypatch.setenv("CATALOG_SYNTH_CONFIG", str(path))
    assert load_config().warehouses[0].name == "shop"


def test_missing_file_says_how_to_create_one(tmp_path) -> None:
    with pytest.raises(ConfigError, match="catalog-synth init"):
        load_config(tmp_path / "nope.yml")


def test_starter_config_is_valid_once_its_variable_is_set() -> None:
    config = parse_config(STARTER_CONFIG, {"SHOP_DB_PASSWORD": "x"})
    assert config.warehouses[0].exclude == ["public.tmp_*"]


def test_column_overrides_accept_table_and_column_globs() -> None:
    from catalog_synth.core.types import TableRef
    from catalog_synth.run.plan import synthesis_settings

    config = validate_config({
        "warehouses": [{"name": "shop", "url": "sqlite:///x.db"}],
        "columns": {"shop.main.genre.*": "public", "main.genre.secret": "sensitive", "main.cust*.notes": "sensitive"},
    })  # fmt: skip
    genre = synthesis_settings(config, TableRef("shop", "main", "genre"))
    assert genre.override_for("name") == "public" and genre.override_for("secret") == "sensitive"
    assert synthesis_settings(config, TableRef("shop", "main", "customers")).override_for("notes") == "sensitive"
    assert synthesis_settings(config, TableRef("shop", "main", "orders")).override_for("notes") is None
def test_generators_are_chosen_per_table_by_the_first_matching_glob() -> None:
    config = validate_config({
        "warehouses": [{"name": "w", "url": "sqlite:///w.db"}],
        "generators": {"ctgan": {"epochs": 50}, "tabular_argn": {"time_budget_seconds": 30}},
        "tables": {"crm.customers": {"synthesizer": "tabular_argn", "settings": {"max_epochs": 5}},
                   "crm.*": {"synthesizer": "ctgan"}},
    })
    assert config.generator_for("w", "crm.customers") == ("tabular_argn", {"time_budget_seconds": 30, "max_epochs": 5})
    assert config.generator_for("w", "crm.orders") == ("ctgan", {"epochs": 50})
    assert config.generator_for("w", "sales.orders") == ("gaussian_copula", {})


@pytest.mark.parametrize(("raw", "message"), [
    ({"synthesizer": "copulas"}, r"synthesizer: unknown generator 'copulas' \(installed: copula, ctgan, gaussian_copula, tabular_argn, tvae"),
    ({"generators": {"tvae": {"epochs": 0}}}, "generators.tvae: epochs: Input should be greater than or equal to 1"),
    ({"tables": {"crm.*": {"synthesizer": "ctgan", "settings": {"epoch": 3}}}}, r"tables.crm.\*: epoch: unknown key"),
])
def test_bad_generator_choices_are_one_line_errors(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_config({"warehouses": [{"name": "w", "url": "sqlite:///w.db"}], **raw})
