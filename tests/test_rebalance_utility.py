"""What a rebalanced copy says about itself (utility check, diversity), the shares it meets and
the defaults a bare request gets: small frames, no generator, seconds."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from catalog_synth.core.config import (
    REBALANCE_GENERATOR,
    REBALANCE_OTHER_ROWS,
    REBALANCE_TARGET_WEIGHT,
    RebalanceConfig,
    validate_config,
)
from catalog_synth.core.generators import rare_class_warning
from catalog_synth.core.types import TableRef
from catalog_synth.gate import utility as utility_module
from catalog_synth.gate.utility import class_entropies, utility_check, utility_warning
from catalog_synth.model import Target
from catalog_synth.model.rebalance import meet_shares
from catalog_synth.publish.markers import copy_measure_patches
from catalog_synth.run.plan import rebalance_settings

RARE = Target(("label",), ((("rare",), 0.5),))


def people(n: int, rare_share: float, seed: int, signal: bool = True) -> pd.DataFrame:
    """``rare`` rows have high ``score`` and mostly ``kind`` b (when ``signal``)."""
    rng = np.random.default_rng(seed)
    rare = rng.random(n) < rare_share
    labels = rare if signal else rng.random(n) < rare_share
    return pd.DataFrame({
        "score": rng.normal(0, 1, n) + np.where(rare, 2.5, 0.0),
        "kind": np.where(rare & (rng.random(n) < 0.8), "b", rng.choice(["a", "c"], n)).astype(object),
        "label": np.where(labels, "rare", "common").astype(object),
    })


FEATURES, CATEGORICAL = ["score", "kind"], {"kind"}


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame]:
    return people(3000, 0.02, seed=1), people(1500, 0.02, seed=2)


@pytest.mark.parametrize("model", ["lightgbm", "sklearn_hist_gradient_boosting"])
def test_a_copy_that_learnt_the_class_helps_and_one_that_did_not_is_marked(real, model: str, monkeypatch) -> None:
    monkeypatch.setattr(utility_module, "quick_model_name", lambda: model)
    train, holdout = real
    good = utility_check(train, holdout, people(2000, 0.5, seed=3), FEATURES, CATEGORICAL, RARE, seed=0)
    assert good["measured"] and good["model"] == model
    assert good["holdout_rows"] == 1500 and good["holdout_target_rows"] == int((holdout["label"] == "rare").sum())
    assert good["copy"]["rows"] == 2000 and good["real"]["rows"] == 3000
    assert good["copy"]["auc_roc"] > 0.9 and good["real"]["auc_roc"] > 0.85
    assert 0 < good["copy"]["auc_pr"] <= 1 and good["gain_auc_roc"] == pytest.approx(
        good["copy"]["auc_roc"] - good["real"]["auc_roc"], abs=1e-3)
    # A copy whose labels say nothing about the rows trains a worse model than the real rows.
    noise = utility_check(train, holdout, people(2000, 0.5, seed=4, signal=False), FEATURES, CATEGORICAL, RARE, 0)
    assert noise["measured"] and not noise["helps"] and noise["gain_auc_roc"] < -0.2
    warning = utility_warning(noise)
    assert warning.startswith("rebalanced copy scores below the imbalanced real rows")
    assert f"AUC-ROC {noise['copy']['auc_roc']:.3f} on 1500 held-out real rows" in warning
    assert utility_warning(good) is None or not good["helps"]
    json.dumps(good)  # plain JSON for the store, the run report and the catalog


def test_without_held_out_rows_of_the_class_nothing_is_claimed(real) -> None:
    train, holdout = real
    common_only = holdout[holdout["label"] == "common"]
    result = utility_check(train, common_only, people(500, 0.5, seed=3), FEATURES, CATEGORICAL, RARE, seed=0)
    assert result == {"model": result["model"], "holdout_rows": len(common_only), "holdout_target_rows": 0,
                      "measured": False, "reason": "no held-out row of the target classes"}
    assert utility_warning(result) is None


def test_diversity_is_the_entropy_of_each_categorical_column_within_the_class() -> None:
    real = pd.DataFrame({"kind": ["a", "b", "a", "b", "z"], "label": ["rare"] * 4 + ["common"]})
    copy = pd.DataFrame({"kind": ["a", "a", None, "c"], "label": ["rare", "rare", "rare", "common"]})
    (entry,) = class_entropies(real, copy, ["kind"], RARE)
    assert entry == {"column": "kind", "real": 1.0, "synthetic": pytest.approx(0.9183, abs=1e-4)}


def test_the_copy_meets_the_asked_shares_from_the_spare_rows() -> None:
    rng = np.random.default_rng(0)
    sampled = pd.DataFrame({"label": np.where(rng.random(1250) < 0.56, "rare", "common").astype(object),
                            "x": np.arange(1250)})
    copy = meet_shares(sampled, RARE, 1000, rng)
    assert len(copy) == 1000 and (copy["label"] == "rare").mean() == 0.5
    assert copy["x"].is_unique  # rows taken once each, in a new order
    short = meet_shares(sampled.iloc[:600], RARE, 1000, rng)  # fewer rows beat a missed share
    assert (short["label"] == "rare").mean() == pytest.approx(0.5, abs=0.005) and len(short) < 600


def test_a_bare_request_gets_the_benchmark_winner_whatever_the_tables_generator(caplog) -> None:
    config = validate_config({"warehouses": [{"name": "w", "url": "sqlite:///w.db"}],
                              "synthesizer": "gaussian_copula",
                              "generators": {"tabular_argn": {"time_budget_seconds": 30}},
                              "rebalance": [{"table": "main.t", "column": "y", "target": {"1": 0.5}}]})
    request = config.rebalance[0]
    assert (request.other_rows, request.target_weight, request.min_gain) == (
        REBALANCE_OTHER_ROWS, REBALANCE_TARGET_WEIGHT, None)
    ref = TableRef("w", "main", "t")
    assert config.generator_for("w", "main.t") == ("gaussian_copula", {})
    settings = rebalance_settings(config, ref, request)
    assert settings.synthesizer == REBALANCE_GENERATOR == "tabular_argn"
    assert settings.generator_settings == {"model": "MOSTLY_AI/Small", "max_epochs": 30, "time_budget_seconds": 30}  # the config's
    assert (settings.rebalance.other_rows, settings.rebalance.target_weight) == (REBALANCE_OTHER_ROWS, 4)
    assert RebalanceConfig(table="t", column="y", target={"1": 0.5}, other_rows=0).spec().other_rows is None  # all
    assert rare_class_warning("tabular_argn") is None
    named = RebalanceConfig(table="main.t", column="y", target={"1": 0.5}, synthesizer="gaussian_copula")
    with caplog.at_level(logging.WARNING, logger="catalog_synth.sync"):
        assert rebalance_settings(config, ref, named).synthesizer == "gaussian_copula"
    assert "rebalanced copy made with gaussian_copula, as asked" in caplog.text


def test_the_catalog_gets_aggregates_of_the_copy_only() -> None:
    rebalance = {
        "utility": {"model": "lightgbm", "holdout_rows": 400, "holdout_target_rows": 9, "measured": True,
                    "real": {"rows": 1600, "target_rows": 30, "auc_roc": 0.8, "auc_pr": 0.4},
                    "copy": {"rows": 4000, "target_rows": 2000, "auc_roc": 0.85, "auc_pr": 0.5},
                    "gain_auc_roc": 0.05, "helps": True},
        "diversity": [{"column": "kind", "real": 1.2, "synthetic": 1.1}],
    }
    (patch,) = copy_measure_patches("urn:li:dataset:(urn:li:dataPlatform:sqlite,w.main.t,PROD)", "main.t__rebalanced",
                                    rebalance)
    operations = json.loads(patch.aspect.value)
    values = {op["path"].split("/")[-1]: json.loads(op["value"]) for op in operations}
    assert values["catalog_synth.rebalance_utility.main.t__rebalanced"] == {
        "model": "lightgbm", "holdout_rows": 400, "holdout_target_rows": 9, "copy_auc_roc": 0.85, "copy_auc_pr": 0.5,
        "real_auc_roc": 0.8, "real_auc_pr": 0.4, "gain_auc_roc": 0.05, "helps": True}
    assert values["catalog_synth.rebalance_diversity.main.t__rebalanced"] == {"kind": {"real": 1.2, "synthetic": 1.1}}
