"""Rebalanced copies through synthesize_table with the real generators: target shares, the
class-level gate, requests that cannot be honoured, and what reaches the report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from catalog_synth.core.types import (
    ColumnClass,
    ColumnInfo,
    ColumnKind,
    RebalanceSpec,
    SynthesisError,
    SynthesisSettings,
    TableInfo,
    TableRef,
)
from catalog_synth.core.values import normalize
from catalog_synth.gate.checks import ClassCheck, GateInput, run_gate
from catalog_synth.run.synthesize import synthesize_table

ARGN = {"time_budget_seconds": 4, "max_epochs": 5, "model": "MOSTLY_AI/Small"}
COLUMNS = [
    ColumnInfo("applicant_id", "integer", ColumnKind.INTEGER, nullable=False),
    ColumnInfo("sex", "varchar", ColumnKind.STRING),
    ColumnInfo("region", "varchar", ColumnKind.STRING),
    ColumnInfo("income", "double", ColumnKind.FLOAT),
    ColumnInfo("defaulted", "varchar", ColumnKind.STRING),
]


def applicants(n: int = 600, defaults: int = 24, seed: int = 5) -> pd.DataFrame:
    """Few defaulters, each of them a row no other applicant shares."""
    rng = np.random.default_rng(seed)
    defaulted = np.array(["yes"] * defaults + ["no"] * (n - defaults), dtype=object)
    rng.shuffle(defaulted)
    return pd.DataFrame({
        "applicant_id": np.arange(1, n + 1),
        "sex": rng.choice(["F", "M"], n).astype(object),
        "region": rng.choice(["north", "south", "east", "west"], n).astype(object),
        "income": np.round(rng.lognormal(10, 0.3, n) * np.where(defaulted == "yes", 0.6, 1.0), 2),
        "defaulted": defaulted,
    })


INFO = TableInfo(TableRef("w", "crm", "applicants"), COLUMNS, primary_key=("applicant_id",), row_count=600)


def settings(spec: RebalanceSpec, synthesizer: str = "gaussian_copula", **extra) -> SynthesisSettings:
    generator_settings = ARGN if synthesizer == "tabular_argn" else {}
    return SynthesisSettings(copy_rows=600, preview_rows=10, seed=11, synthesizer=synthesizer,
                             generator_settings=generator_settings, rebalance=spec, **extra)


HALF_DEFAULTED = RebalanceSpec(("defaulted",), ((("yes",), 0.5),), rows=800)


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return applicants()


@pytest.fixture(scope="module", params=["gaussian_copula", "tabular_argn"])
def rebalanced(request, real: pd.DataFrame):
    return request.param, synthesize_table(INFO, real, settings(HALF_DEFAULTED, request.param, min_category_count=3))


def test_the_copy_holds_the_target_share_of_the_rare_class(rebalanced) -> None:
    _, table = rebalanced
    assert len(table.data) == 800  # the request's rows, more than the real table has
    assert (table.data["defaulted"] == "yes").mean() == pytest.approx(0.5, abs=0.06)
    shares = table.rebalance["classes"][0]
    assert table.rebalance["columns"] == ["defaulted"] and shares["values"] == ["yes"] and shares["target"] == 0.5
    assert shares["real_share"] == pytest.approx(24 / 600)
    assert shares["synthetic_share"] == pytest.approx((table.data["defaulted"] == "yes").mean(), abs=1e-4)


def test_no_rare_real_row_is_copied_and_the_class_is_gated_on_its_own(rebalanced, real: pd.DataFrame) -> None:
    name, table = rebalanced
    assert table.gate.passed, table.gate.summary()
    checks = {check.name: check for check in table.gate.checks}
    assert {"class_row_copies", "class_distance_to_closest_record", "row_copies"} <= set(checks)
    assert checks["class_row_copies"].detail.startswith("target class 1 (24 real rows, ")
    assert checks["class_row_copies"].column == "defaulted"
    modelled = ["sex", "region", "income", "defaulted"]
    keys = lambda frame: set(frame[modelled].astype(str).agg("|".join, axis=1))  # noqa: E731
    minority = real[real["defaulted"] == "yes"].astype({"income": "float64"})
    assert not keys(minority) & keys(table.data[table.data["defaulted"] == "yes"].astype({"income": "float64"})), name


def test_the_generator_report_says_what_the_model_did(rebalanced) -> None:
    name, table = rebalanced
    report = table.generator.as_dict()
    assert report["generator"] == name and report["rows_sampled"] >= 800
    assert report["fit_seconds"] > 0


def test_the_gate_details_hold_counts_never_values(rebalanced, real: pd.DataFrame) -> None:
    _, table = rebalanced
    text = normalize(json.dumps(table.gate.as_dict()))
    assert not [value for value in real["income"].astype(str) if value in text]


def test_a_subgroup_over_two_columns_is_one_request(real: pd.DataFrame) -> None:
    spec = RebalanceSpec(("sex", "defaulted"), ((("F", "yes"), 0.3),), rows=600)
    table = synthesize_table(INFO, real, settings(spec, min_category_count=3))
    both = (table.data["sex"] == "F") & (table.data["defaulted"] == "yes")
    assert both.mean() == pytest.approx(0.3, abs=0.06)
    assert table.rebalance["classes"][0]["values"] == ["F", "yes"]


def test_the_model_can_learn_from_fewer_majority_rows_and_the_gate_sees_all(real: pd.DataFrame) -> None:
    spec = RebalanceSpec(("defaulted",), ((("yes",), 0.5),), rows=400, other_rows=300, target_weight=2)
    table = synthesize_table(INFO, real, settings(spec, min_category_count=3))
    assert table.generator.rows_sampled >= 400 and table.gate.passed
    assert "24 real rows" in next(c.detail for c in table.gate.checks if c.name == "class_row_copies")


@pytest.mark.parametrize(("spec", "message"), [
    (RebalanceSpec(("segment",), ((("a",), 0.5),)), "column 'segment' is not modelled"),
    (RebalanceSpec(("income",), ((("1",), 0.5),)), "column 'income' is not categorical"),
    (RebalanceSpec(("defaulted",), ((("maybe",), 0.5),)), "rebalance target 1: no sampled value of column 'defaulted'"),
    (RebalanceSpec(("region", "defaulted"), ((("west", "yes"), 0.5),)), "rebalance target 1 is held by 4 sampled people"),
])
def test_requests_that_cannot_be_honoured_are_one_line_errors(real: pd.DataFrame, spec, message: str) -> None:
    with pytest.raises(SynthesisError, match=message) as raised:
        synthesize_table(INFO, real, settings(spec, min_category_count=8))
    assert "maybe" not in str(raised.value).replace("'maybe'", "")


def test_the_class_checks_catch_copied_minority_rows() -> None:
    """Synthetic rows that copy the rare class fail the class checks, with counts only."""
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"amount": rng.normal(100, 20, 400).round(3), "flag": ["rare"] * 20 + ["common"] * 380})
    classes = {name: ColumnClass(name, semantic, False, "", "type")
               for name, semantic in (("amount", "numerical"), ("flag", "categorical"))}
    holdout = pd.Index(np.arange(0, 400, 5))
    copies = real[(real["flag"] == "rare") & ~real.index.isin(holdout)]
    synthetic = pd.concat([copies] * 5 + [real[real["flag"] == "common"].sample(100, random_state=1)], ignore_index=True)
    gate = run_gate(GateInput(real, holdout, synthetic, classes, class_check=ClassCheck(("flag",), (("rare",),))),
                    5, 0.55, np.random.default_rng(1))
    failed = {check.name: check for check in gate.failures()}
    assert {"class_row_copies", "class_distance_to_closest_record"} <= set(failed)
    assert failed["class_row_copies"].detail.startswith("target class 1 (20 real rows, 80 synthetic): 80 of 80")
    assert "rare" not in failed["class_row_copies"].detail.replace("rarer", "")
