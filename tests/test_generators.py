"""The generator plugins with the real SDV and the real mostlyai-engine: registry, settings,
fitting, conditioned sampling, reports, and imports kept out of the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from catalog_synth.model import (
    GeneratorError,
    Target,
    installed_generators,
    open_generator,
    validate_settings,
)

SDTYPES = {"segment": "categorical", "defaulted": "categorical", "amount": "numerical", "active": "boolean"}
# Tiny budgets: the suite's speed matters more than the models' quality here.
FAST = {
    "gaussian_copula": {},
    "copula": {},
    "ctgan": {"epochs": 2, "batch_size": 100},
    "tvae": {"epochs": 2, "batch_size": 100},
    "tabular_argn": {"time_budget_seconds": 3, "max_epochs": 3, "model": "MOSTLY_AI/Small"},
}


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 300
    defaulted = np.where(rng.random(n) < 0.15, "yes", "no")
    return pd.DataFrame({
        "segment": rng.choice(["retail", "online", "wholesale"], n).astype(object),
        "defaulted": defaulted.astype(object),
        "amount": np.round(rng.lognormal(5, 0.4, n) + np.where(defaulted == "yes", 200.0, 0.0), 2),
        "active": pd.Series(rng.random(n) < 0.6, dtype=object),
    })


def test_the_built_ins_are_installed_as_entry_points() -> None:
    assert {"gaussian_copula", "copula", "ctgan", "tvae", "tabular_argn"} <= set(installed_generators())


def test_an_unknown_generator_lists_the_installed_ones() -> None:
    with pytest.raises(GeneratorError, match=r"unknown generator 'copulas' \(installed: .*gaussian_copula.*tabular_argn"):
        open_generator("copulas", {}, seed=0)


@pytest.mark.parametrize(("name", "settings", "message"), [
    ("tabular_argn", {"time_budget_seconds": 0}, "time_budget_seconds: Input should be greater than 0"),
    ("ctgan", {"epoch": 3}, "epoch: unknown key"),
    ("gaussian_copula", {"distribution": "cauchy"}, "distribution: Input should be"),
])
def test_settings_are_validated_by_each_generators_config_class(name: str, settings: dict, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        validate_settings(name, settings)


@pytest.mark.parametrize("name", ["gaussian_copula", "copula", "ctgan", "tvae", "tabular_argn"])
def test_each_generator_samples_the_training_columns_in_model_space(train: pd.DataFrame, name: str) -> None:
    generator = open_generator(name, FAST[name], seed=1)
    try:
        generator.fit(train, SDTYPES)
        sampled = generator.sample(120)
    finally:
        generator.close()
    assert list(sampled.columns) == list(train.columns) and len(sampled) == 120
    assert sampled["amount"].dtype == "float64" and sampled["amount"].notna().all()
    assert set(sampled["segment"].dropna()) <= set(train["segment"])
    assert set(sampled["active"].dropna()) <= {True, False}
    report = generator.report.as_dict()
    assert report["generator"] == name and report["rows_sampled"] == 120
    assert report["fit_seconds"] > 0 and report["sample_seconds"] > 0


def test_the_gaussian_copula_keeps_each_category_as_often_as_the_training_rows() -> None:
    """Seven equally common ship modes (TPC-H) came out 6,660 to 12,108 times in 60,000 rows when
    the category's uniform code was fitted as a normal: the middle ones too often."""
    rng = np.random.default_rng(7)
    modes = np.array(["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"], dtype=object)
    train = pd.DataFrame({"mode": rng.choice(modes, 2000), "price": np.round(rng.lognormal(7, 0.5, 2000), 2)})
    generator = open_generator("gaussian_copula", {}, seed=3)
    try:
        generator.fit(train, {"mode": "categorical", "price": "numerical"})
        shares = generator.sample(7000)["mode"].value_counts(normalize=True)
    finally:
        generator.close()
    assert (shares - 1 / 7).abs().max() < 0.02, shares


@pytest.mark.parametrize("name", ["gaussian_copula", "copula", "tabular_argn"])
def test_a_target_sets_the_share_of_rows_holding_its_values(train: pd.DataFrame, name: str) -> None:
    generator = open_generator(name, FAST[name], seed=2)
    target = Target(("defaulted",), ((("yes",), 0.5),))
    try:
        generator.fit(train, SDTYPES)
        sampled = generator.sample(400, target)
    finally:
        generator.close()
    assert len(sampled) == 400
    # SDV fixes the values of exactly half the rows; the engine's rebalancing draws them (sd 0.025).
    assert (sampled["defaulted"] == "yes").mean() == pytest.approx(0.5, abs=0.08 if name == "tabular_argn" else 0.02)
    assert set(sampled["defaulted"]) == {"yes", "no"}  # the other half keeps the model's other classes


@pytest.mark.parametrize("name", ["copula", "tabular_argn"])
def test_a_subgroup_target_fixes_two_columns_at_once(train: pd.DataFrame, name: str) -> None:
    generator = open_generator(name, FAST[name], seed=3)
    target = Target(("segment", "defaulted"), ((("online", "yes"), 0.3),))
    try:
        generator.fit(train, SDTYPES)
        sampled = generator.sample(300, target)
    finally:
        generator.close()
    both = (sampled["segment"] == "online") & (sampled["defaulted"] == "yes")
    assert both.mean() == pytest.approx(0.3, abs=0.02)


def test_tabular_argn_reports_its_epochs_and_why_it_stopped(train: pd.DataFrame) -> None:
    generator = open_generator("tabular_argn", {**FAST["tabular_argn"], "time_budget_seconds": 60, "max_epochs": 1},
                               seed=0)
    try:
        generator.fit(train, SDTYPES)
    finally:
        generator.close()
    report = generator.report.as_dict()
    assert report["epochs"] >= 1 and report["stopped_by"] == "max_epochs"


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_numpy_copula_keeps_marginals_missing_shares_and_how_columns_move_together(train: pd.DataFrame) -> None:
    """Defaulted rows have larger amounts in the training rows: so in its copy, fixed or not."""
    frame = train.assign(amount=train["amount"].mask(np.arange(len(train)) % 10 == 0))  # 10 % missing
    generator = open_generator("copula", {}, seed=5)
    generator.fit(frame, SDTYPES)
    sampled = generator.sample(3000)
    assert sampled["amount"].isna().mean() == pytest.approx(0.1, abs=0.02)
    assert sampled["amount"].min() >= frame["amount"].min() and sampled["amount"].max() <= frame["amount"].max()
    assert sampled["amount"].median() == pytest.approx(frame["amount"].median(), rel=0.05)
    assert (sampled["defaulted"] == "yes").mean() == pytest.approx((frame["defaulted"] == "yes").mean(), abs=0.02)
    by_class = sampled.groupby("defaulted")["amount"].mean()
    assert by_class["yes"] > by_class["no"] + 25  # independent columns: no gap (the rows: 200)
    fixed = generator.sample(1000, Target(("defaulted",), ((("yes",), 1.0),)))
    assert (fixed["defaulted"] == "yes").all() and fixed["amount"].mean() > by_class["no"] + 25


def test_the_numpy_copula_on_ten_rows_draws_no_nearer_its_training_rows_than_rows_it_never_saw() -> None:
    """Ten skewed prices (a lone one far above the rest, as the demo's 20-row products): the outer
    knots were the extremes, so most draws fell in the range only the lone price holds, nearer to
    it than to any held-out row (mean share 0.58; the privacy gate refused such a table now and then)."""
    from catalog_synth.gate.checks import dcr_share

    shares = []
    for seed in range(300):
        rng = np.random.default_rng(seed)
        real = pd.DataFrame({"price": np.round(rng.lognormal(3.0, 0.8, 20), 2)})
        generator = open_generator("copula", {}, seed=seed)
        generator.fit(real.iloc[:10], {"price": "numerical"})
        shares.append(dcr_share(real.iloc[:10], real.iloc[10:], generator.sample(20), rng).share)
    assert np.mean(shares) < 0.555  # 0.5: as near one side as the other


CLI_HELP = (
    "from click.testing import CliRunner\n"
    "from catalog_synth.entry.cli import main\n"
    "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
)
VALIDATE_GENERATORS = (
    "from catalog_synth.core.config import validate_config\n"
    "validate_config({'warehouses': [{'name': 'w', 'url': 'sqlite:///w.db'}], 'synthesizer': 'tabular_argn',\n"
    "                 'generators': {'ctgan': {'epochs': 5}}, 'tables': {'s.*': {'synthesizer': 'tvae'}}})\n"
)


@pytest.mark.parametrize(("code", "heavy"), [
    (CLI_HELP, ("sdv", "torch", "sdmetrics", "mostlyai.engine", "ctgan")),
    (VALIDATE_GENERATORS, ("pandas", "numpy", "catalog_synth.protect", "mostlyai.engine", "sdv")),
], ids=["cli_help", "validating_generator_settings"])
def test_light_paths_import_no_heavy_library(code: str, heavy: tuple[str, ...]) -> None:
    result = run_python(f"import sys\n{code}print(sorted(m for m in {heavy!r} if m in sys.modules))\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_config_naming_tabular_argn_without_the_engine_says_how_to_reinstall() -> None:
    # The engine made unimportable the way a missing package is: no finder can find it.
    result = run_python(
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'mostlyai' or name.startswith('mostlyai.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "for name in [m for m in sys.modules if m.startswith('mostlyai')]:\n"
        "    del sys.modules[name]\n"
        "from catalog_synth.core.config import ConfigError, validate_config\n"
        "try:\n"
        "    validate_config({'warehouses': [{'name': 'w', 'url': 'sqlite:///w.db'}], 'synthesizer': 'tabular_argn'})\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "synthesizer: the tabular_argn generator needs mostlyai-engine; it is a dependency of catalog-synth:"
        " reinstall it (bash .ci/install, or pip install -e .)"
    )
