"""The privacy gate's checks, on frames built to pass or to fail each one."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pytest

from catalog_synth.core.types import ColumnClass
from catalog_synth.core.values import normalize, normalized, row_keys
from catalog_synth.gate.checks import GateInput, dcr_share, k_smallest, run_gate

RNG_SEED = 4


def _population(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "email": [f"person{seed}_{i}@example.org" for i in range(n)],
        "tier": rng.choice(["bronze", "silver", "gold"], n, p=[0.6, 0.3, 0.1]).astype(object),
        "salary": np.round(rng.lognormal(10.5, 0.4, n), 2),
        "age": rng.integers(18, 90, n).astype(float),
    })


CLASSES = {
    "email": ColumnClass("email", "email", True, "", "name"),
    "tier": ColumnClass("tier", "categorical", False, "", "type"),
    "salary": ColumnClass("salary", "numerical", False, "", "type"),
    "age": ColumnClass("age", "numerical", False, "", "type"),
}


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    frame = _population(1000, seed=1)
    frame.loc[0, "tier"] = "diamond"  # a category only one person has
    return frame


def _gate(real: pd.DataFrame, synthetic: pd.DataFrame, classes=CLASSES):
    holdout = pd.Index(np.arange(0, len(real), 5))
    data = GateInput(real, holdout, synthetic, classes, primary_key=())
    return run_gate(data, min_count=5, dcr_threshold=0.55, rng=np.random.default_rng(RNG_SEED))


def _without_extremes(frame: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in ("salary", "age"):
        inside = (frame[column] > real[column].min()) & (frame[column] < real[column].max())
        frame = frame[inside]
    return frame.reset_index(drop=True)


def test_fresh_rows_from_the_same_population_pass(real: pd.DataFrame) -> None:
    fresh = _without_extremes(_population(1000, seed=2), real)
    gate = _gate(real, fresh)
    assert gate.passed, gate.summary()
    assert {check.name for check in gate.checks} == {
        "identifying_values", "rare_categories", "extremes", "row_copies", "distance_to_closest_record"}


def test_copied_training_rows_fail_row_copies_and_distance(real: pd.DataFrame) -> None:
    training = real.drop(index=np.arange(0, len(real), 5))
    copied = _without_extremes(training[training["tier"] != "diamond"], real)
    copied["email"] = [f"fake{i}@example.net" for i in range(len(copied))]
    failed = {check.name for check in _gate(real, copied).failures()}
    assert failed == {"row_copies", "distance_to_closest_record"}


def test_identifying_values_rare_categories_and_extremes_are_caught_per_column(real: pd.DataFrame) -> None:
    synthetic = _without_extremes(_population(300, seed=3), real)
    synthetic.loc[0, "email"] = "  PERSON1_7@EXAMPLE.ORG "  # a real address, other case and spacing
    synthetic.loc[1, "tier"] = "diamond"
    synthetic.loc[2, "salary"] = real["salary"].max()
    gate = _gate(real, synthetic)
    failures = {(check.name, check.column) for check in gate.failures()}
    assert failures == {("identifying_values", "email"), ("rare_categories", "tier"), ("extremes", "salary")}
    assert f"1 of {len(synthetic)}" in gate.failures()[0].detail
    assert "diamond" not in gate.summary() and "PERSON1" not in gate.summary().upper()


def test_public_columns_may_keep_real_values(real: pd.DataFrame) -> None:
    classes = dict(CLASSES, tier=ColumnClass("tier", "categorical", False, "marked public", "override"))
    synthetic = _without_extremes(_population(300, seed=3), real)
    synthetic.loc[1, "tier"] = "diamond"
    assert _gate(real, synthetic, classes).passed


def test_primary_key_must_be_unique_and_complete(real: pd.DataFrame) -> None:
    classes = dict(CLASSES, id=ColumnClass("id", "identifier", True, "primary key", "key"))
    frame = real.assign(id=np.arange(len(real)) + 1)
    synthetic = _without_extremes(_population(300, seed=3), real)
    synthetic["id"] = [10_001] * 2 + list(range(20_000, 20_000 + len(synthetic) - 2))
    data = GateInput(frame, pd.Index(np.arange(0, len(frame), 5)), synthetic, classes, primary_key=("id",))
    gate = run_gate(data, min_count=5, dcr_threshold=0.55, rng=np.random.default_rng(0))
    assert [(check.name, check.column) for check in gate.failures()] == [("primary_key", "id")]


def test_dcr_share_is_near_one_half_for_fresh_rows_and_one_for_copies() -> None:
    rng = np.random.default_rng(0)
    real = _population(1200, seed=5)[["tier", "salary", "age"]]
    train, holdout = real.iloc[:900], real.iloc[900:]
    fresh = _population(900, seed=6)[["tier", "salary", "age"]]
    copies = train.sample(900, replace=True, random_state=0)
    fresh_result = dcr_share(train, holdout, fresh, rng)
    assert abs(fresh_result.share - 0.5) < 0.06
    assert dcr_share(train, holdout, copies, rng).share > 0.95
    assert 0 < fresh_result.noise < 0.05


def test_row_keys_treat_missing_alike_in_number_and_text_columns() -> None:
    """A synthetic column left empty (objects) against a real one with NaN: the rows are still equal."""
    real = pd.DataFrame({"amount": [1.5, np.nan, 3.0], "note": [np.nan, np.nan, np.nan], "kind": ["A b", "c", None]})
    synthetic = pd.DataFrame({"amount": [1.5, None, 3.0000000000001], "note": [None, None, None],
                              "kind": ["ab", "C", ""]}).astype({"amount": "float64"})  # fmt: skip
    columns = ["amount", "note", "kind"]
    assert row_keys(real, columns).tolist() == row_keys(synthetic, columns).tolist()
    assert row_keys(real, columns).nunique() == 3
    assert row_keys(real.assign(kind=["A b", "d", None]), columns)[1] != row_keys(real, columns)[1]


def test_normalized_series_agrees_with_normalize_value_by_value() -> None:
    series = [
        pd.Series([" Ann  Lee", "ann lee", None, "ÉCOLE", np.nan], dtype=object),
        pd.Series([True, 1, 1.0, "1", None], dtype=object),  # mixed: never grouped
        pd.Series([12, 12.0, 12.5, np.nan]),
        pd.Series(pd.to_datetime(["2024-01-02", None])),
        pd.Series([decimal.Decimal("1.10"), decimal.Decimal("1.1")], dtype=object),
    ]
    for values in series:
        assert normalized(values).tolist() == [normalize(value) for value in values]


def test_a_value_on_many_rows_of_one_person_is_rare() -> None:
    """Seven invoices of each of 40 customers: each city is on 7 rows but belongs to one customer."""
    from catalog_synth.protect.subjects import Subjects, subject_ids

    customers = np.repeat(np.arange(40), 7)
    real = pd.DataFrame({"city": [f"Town {c}" for c in customers], "total": np.arange(len(customers), dtype=float)})
    classes = {"city": ColumnClass("city", "categorical", False, "", "type"),
               "total": ColumnClass("total", "numerical", False, "", "type")}
    by_people = Subjects(len(real), (subject_ids([pd.Series(customers)], len(real)),))
    assert by_people.rare(real["city"], 5) == {normalize(f"Town {c}") for c in range(40)}
    assert Subjects.of_rows(len(real)).rare(real["city"], 5) == set()  # by rows they look common
    copy = real.iloc[1:-1].reset_index(drop=True)
    holdout = pd.Index(np.arange(0, len(real), 5))

    def rare_check(subjects):
        data = GateInput(real, holdout, copy, classes, subjects=subjects)
        return next(c for c in run_gate(data, 5, 0.55, np.random.default_rng(1)).checks if c.name == "rare_categories")

    assert rare_check(Subjects.of_rows(len(real))).passed
    failed = rare_check(by_people)
    assert not failed.passed and "held by fewer than 5 people" in failed.detail


def full_matrix_dcr(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, seed: int) -> tuple[float, float]:
    """The DCR share and noise from whole distance matrices, each point's neighbours by a full
    sort (how the check was first built; the reference for the blockwise search)."""
    from catalog_synth.gate.checks import (
        _BOOTSTRAP_INCLUSION,
        DCR_DRAWS,
        DCR_NEIGHBOURS,
        _Encoder,
        _equal_size_share,
    )

    encoder = _Encoder(pd.concat([train, holdout]))
    points = encoder.encode(synthetic)

    def nearest(reference: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        side = encoder.encode(reference)
        numbers = np.abs(points.numbers[:, None, :] - side.numbers[None, :, :]).sum(axis=2)
        distances = np.round(numbers + (points.categories[:, None, :] != side.categories[None, :, :]).sum(axis=2), 9)
        rows = np.argsort(distances, axis=1, kind="stable")[:, :DCR_NEIGHBOURS]
        return rows, np.take_along_axis(distances, rows, axis=1)

    (train_rows, train_near), (holdout_rows, holdout_near) = nearest(train), nearest(holdout)
    sizes = (len(train), len(holdout))
    share = _equal_size_share(train_near[:, 0] < holdout_near[:, 0], *sizes)
    uniform = np.random.default_rng(seed).random((DCR_DRAWS, sum(sizes)))

    def drawn(rows: np.ndarray, near: np.ndarray, draw: np.ndarray) -> np.ndarray:
        found = [next((d for r, d in zip(row, dist) if draw[r] < _BOOTSTRAP_INCLUSION), dist[-1])
                 for row, dist in zip(rows, near)]  # fmt: skip
        return np.array(found)

    draws = [
        _equal_size_share(drawn(train_rows, train_near, u[: sizes[0]]) < drawn(holdout_rows, holdout_near, u[sizes[0]:]),
                          *sizes)
        for u in uniform
    ]  # fmt: skip
    return share, float(np.std(draws))


def test_blockwise_nearest_rows_give_the_full_matrix_share_and_noise() -> None:
    real = _population(1000, seed=7)[["tier", "salary", "age"]]
    train, holdout = real.iloc[:800], real.iloc[800:]
    for synthetic in (_population(700, seed=8)[["tier", "salary", "age"]], train.sample(700, random_state=1)):
        result = dcr_share(train, holdout, synthetic, np.random.default_rng(11))
        share, noise = full_matrix_dcr(train, holdout, synthetic, seed=11)
        assert result.share == share and result.noise == pytest.approx(noise, abs=1e-12)
    # Categories only: distances tie everywhere; the share (nearest distances) is still the same.
    labels = _population(900, seed=9)[["tier"]].assign(band=lambda f: (f.index % 7).astype(str))
    result = dcr_share(labels.iloc[:700], labels.iloc[700:], labels.sample(600, random_state=2), np.random.default_rng(1))
    assert result.share == full_matrix_dcr(labels.iloc[:700], labels.iloc[700:], labels.sample(600, random_state=2), 1)[0]


@pytest.mark.parametrize("columns", [40, 300, 2000])
def test_the_nearest_distances_chosen_are_each_rows_smallest_ties_included(columns: int) -> None:
    rng = np.random.default_rng(columns)
    distances = np.round(rng.random((64, columns)) * 3, 1)  # a few dozen distinct distances: ties everywhere
    distances[:5, : columns // 2] = 9.0  # rows whose first columns are all far
    chosen = k_smallest(distances, 16)
    assert chosen.shape == (64, 16) and all(len(set(row)) == 16 for row in chosen)
    assert np.array_equal(np.sort(np.take_along_axis(distances, chosen, axis=1)), np.sort(distances)[:, :16])


@pytest.mark.parametrize("seed", range(5))
def test_a_tiny_column_moved_off_one_rare_end_does_not_land_on_the_other(seed: int) -> None:
    """Six call centres, every value rare (k = 5): a value moved off the minimum toward the inside
    reached the maximum, and the table failed the gate twice (TPC-DS's call_center)."""
    from catalog_synth.protect.rare import avoid_extremes

    real = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    numbers = np.array([1.0, 6.0] * 20)
    moved = avoid_extremes(numbers, real, 5, 1.0, np.random.default_rng(seed))
    assert not np.isin(moved, [1.0, 6.0]).any() and ((moved >= 2) & (moved <= 5)).all()
