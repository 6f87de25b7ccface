"""Identifying is a finding, not a default: public reference data (countries, states, courtesy
titles, pack sizes, the names of things) and lookup labels, on small real-looking tables (the
order-management schema of ``order_schema.py``, in the shape of Northwind) and Chinook's artists.

The end-to-end checks on public schemas are in ``test_public_schemas.py``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from order_schema import CATEGORIES, EMPLOYEES, PRODUCTS, REGIONS, frames
from public_schemas import chinook_fixture

from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    SynthesisSettings,
    TableInfo,
    TableRef,
)
from catalog_synth.core.values import normalize
from catalog_synth.protect.categories import protect_categories
from catalog_synth.protect.classify import classify_columns, finding
from catalog_synth.protect.evidence import Evidence
from catalog_synth.protect.prepare import Mode, mode_notes, prepare_table
from catalog_synth.protect.public_reference import (
    courtesy_titles,
    is_quantity,
    names_of_parties,
)
from catalog_synth.protect.recognizers import is_numbered_place
from catalog_synth.protect.subjects import Subjects

SETTINGS = SynthesisSettings(copy_rows=100, preview_rows=5, seed=1)


def _info(name: str, frame: pd.DataFrame, key: str | None = None) -> TableInfo:
    columns = [ColumnInfo(column, "text", ColumnKind.STRING) for column in frame.columns]
    if key:
        columns.insert(0, ColumnInfo(key, "integer", ColumnKind.INTEGER))
    return TableInfo(TableRef("w", "s", name), columns, primary_key=(key,) if key else (), row_count=len(frame))


def _classes(name: str, frame: pd.DataFrame, **evidence: bool):
    return classify_columns(_info(name, frame), frame, SETTINGS, Evidence(Subjects.of_rows(len(frame)), **evidence))


def _found(classes) -> dict[str, str]:
    return {name: finding(c.semantic, c.identifying, c.source) for name, c in classes.items()}


def test_pack_sizes_and_product_names_of_a_table_about_things_are_public_reference_kept() -> None:
    products = frames()["products"][["product_name", "quantity_per_unit"]]
    assert sum(map(is_numbered_place, products["quantity_per_unit"])) > 0.8 * len(products)  # what fired before
    assert all(map(is_quantity, ["24 - 12 oz bottles", "10 boxes x 20 bags", "1 kg pkg."]))
    assert not any(map(is_quantity, ["49 Gilbert St.", "707 Oxford Rd.", "Kaloadagatan 13", "Box 12"]))
    classes = _classes("products", products)
    assert _found(classes) == {"product_name": "public reference: kept", "quantity_per_unit": "public reference: kept"}
    assert "pack sizes" in classes["quantity_per_unit"].reason and "names of things" in classes["product_name"].reason


def test_a_name_column_is_public_only_in_a_table_about_things() -> None:
    names = pd.DataFrame({"name": [p[0] for p in PRODUCTS]})
    assert _found(_classes("products", names))["name"] == "public reference: kept"
    assert _found(_classes("visits", names))["name"] == "identifying"  # a neutral table: unique text stays identifying
    # a supplier's name column in a table of suppliers (contact columns) is no product name
    suppliers = pd.DataFrame({"name": [p[0] for p in PRODUCTS], "phone": [f"+44 20 7946 {n:04d}" for n in range(77)]})
    assert _found(_classes("products", suppliers))["name"] == "identifying"


def test_courtesy_titles_of_a_table_about_people_are_categories_whose_rare_values_become_other_titles() -> None:
    employees = pd.DataFrame(EMPLOYEES, columns=["last_name", "first_name", "title", "title_of_courtesy", "address",
                                                 "city", "region", "country"]).drop(columns=["address"])
    classes = _classes("employees", employees)
    assert classes["title_of_courtesy"].source == "public" and not classes["title_of_courtesy"].identifying
    assert "courtesy titles" in classes["title_of_courtesy"].reason
    table = prepare_table(_info("employees", employees), employees, SETTINGS, Evidence.of_sample(employees))
    drawn = protect_categories(table, employees.copy(), 5, np.random.default_rng(0))["title_of_courtesy"]
    # every real title is held by fewer than 5 of the 9 people: none is emitted, each becomes a title
    assert not set(drawn) & set(employees["title_of_courtesy"])
    assert all(value.replace(".", "").casefold() in courtesy_titles() for value in drawn)


def test_common_courtesy_titles_are_kept_by_the_model_path() -> None:
    titles = pd.DataFrame({"salutation": ["Mr."] * 40 + ["Ms."] * 30 + ["Dr."] * 20 + ["Sir"] * 2})
    table = prepare_table(_info("customer", titles), titles, SETTINGS, Evidence.of_sample(titles))
    out = protect_categories(table, titles.copy(), 5, np.random.default_rng(0))["salutation"]
    assert {"Mr.", "Ms.", "Dr."} <= set(out) and "Sir" not in set(out)


def test_a_table_of_us_states_no_key_refers_to_is_recognised_by_content_and_kept() -> None:
    states = frames()["us_states"]
    info = _info("us_states", states, key="state_id")
    sample = states.assign(state_id=range(1, len(states) + 1))
    lookup = prepare_table(info, sample, SETTINGS, Evidence(Subjects.of_rows(len(states)), lookup=True))
    assert lookup.mode is Mode.REFERENCE
    assert all(lookup.classes[c].source == "reference" for c in states.columns)
    assert mode_notes(lookup) == ["reference table: labels kept (state_name, state_abbr, state_region;"
                                  " privacy.reference_tables)"]
    # the same columns in a table about people are categories counted by people
    people = pd.DataFrame({"state": states["state_abbr"], "email": [f"p{n}@example.org" for n in range(len(states))]})
    assert _classes("customer", people)["state"].source == "public"


def test_a_small_table_without_public_reference_content_is_not_made_a_lookup() -> None:
    codes = pd.DataFrame({"code": [f"Q{n:03d}" for n in range(60)], "label": ["x", "y", "z"] * 20})
    table = prepare_table(_info("codes", codes), codes, SETTINGS, Evidence(Subjects.of_rows(60), lookup=True))
    assert table.mode is Mode.MODEL


def test_lookup_labels_are_kept_whatever_their_names_but_long_comments_stay_free_text() -> None:
    categories = pd.DataFrame(CATEGORIES, columns=["category_name", "description"])
    assert _found(_classes("categories", categories, reference=True)) == {
        "category_name": "public reference: kept", "description": "public reference: kept"}
    region = pd.DataFrame({"region_description": REGIONS, "title": ["North", "South", "East", "West"]})
    assert set(_found(_classes("region", region, reference=True)).values()) == {"public reference: kept"}
    comments = pd.DataFrame({"r_comment": [
        "lar deposits. blithely final packages cajole. regular waters are final requests. regular accounts",
        "hs use ironic, even requests. s are carefully along the slyly regular foxes sleep furiously quickly",
        "ges. thinly even pinto beans ca are quickly slyly express deposits, accounts and ironic requests ab",
    ]})
    assert _found(_classes("region", comments, reference=True)) == {"r_comment": "free text"}


def _chinook(model: str, field: str) -> list[str]:
    records = json.loads(chinook_fixture().read_text(encoding="utf-8"))
    return [r["fields"][field] for r in records if r["model"] == f"chinook.{model}"]


def test_a_lookup_of_artists_names_people_and_bands_and_is_faked_while_genres_and_albums_are_kept() -> None:
    artists = pd.DataFrame({"name": _chinook("artist", "name")})
    assert names_of_parties(artists["name"]) and not names_of_parties(_chinook("genre", "name"))
    assert not names_of_parties(_chinook("album", "title")) and not names_of_parties(_chinook("playlist", "name"))
    cls = _classes("artist", artists, reference=True)["name"]
    assert (cls.semantic, cls.identifying) == ("person_name", True)
    table = prepare_table(_info("artist", artists, key="artistid"), artists.assign(artistid=range(len(artists))),
                          SETTINGS, Evidence(Subjects.of_rows(len(artists)), reference=True))
    assert mode_notes(table) == ["reference table: no label kept (its labels name people or organisations: faked)"]
    for model, field in (("genre", "name"), ("album", "title"), ("playlist", "name")):
        labels = pd.DataFrame({field: _chinook(model, field)})
        assert _found(_classes(model, labels, reference=True)) == {field: "public reference: kept"}, model


@pytest.mark.parametrize("table", ["salespeople", "doctor", "client"])
def test_a_lookup_of_salespeople_doctors_or_client_companies_is_faked(table: str) -> None:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(2)
    names = [fake.company() if table == "client" else fake.name() for _ in range(40)]
    cls = _classes(table, pd.DataFrame({"name": names}), reference=True)["name"]
    assert cls.identifying and cls.semantic in ("person_name", "company")


def test_a_country_column_is_public_reference_and_rare_countries_never_come_out() -> None:
    orders = pd.DataFrame({"ship_country": ["Germany"] * 30 + ["USA"] * 30 + ["Iceland", "Sri Lanka"]})
    customers = np.concatenate([np.arange(60) % 12, [100, 101]])
    evidence = Evidence(Subjects(len(orders), (customers,)))
    classes = classify_columns(_info("orders", orders), orders, SETTINGS, evidence)
    assert classes["ship_country"].source == "public"
    table = prepare_table(_info("orders", orders), orders, SETTINGS, evidence)
    out = protect_categories(table, orders.copy(), 5, np.random.default_rng(0))["ship_country"]
    assert {"Germany", "USA"} <= set(out) and not {normalize("Iceland"), normalize("Sri Lanka")} & set(map(normalize, out))


def test_states_of_a_table_of_addresses_are_counted_even_when_no_key_leads_to_a_person() -> None:
    addresses = pd.DataFrame({"ca_state": ["TX"] * 40 + ["GA"] * 30 + ["VT"], "ca_zip": [f"{n:05d}" for n in range(71)]})
    assert _classes("customer_address", addresses)["ca_state"].source == "public"
    assert _classes("us_states", addresses[["ca_state"]], reference=True)["ca_state"].source == "reference"
    assert _classes("us_states", addresses[["ca_state"]])["ca_state"].source == "public"  # not found a lookup


def test_a_lookup_named_for_parties_is_faked_and_the_config_overrides_every_finding() -> None:
    shippers = pd.DataFrame({"name": ["Speedy Express", "United Package", "Federal Shipping"]})
    assert _classes("shippers", shippers, reference=True)["name"].identifying
    artists = pd.DataFrame({"name": _chinook("artist", "name")})
    settings = SynthesisSettings(copy_rows=100, preview_rows=5, overrides={"name": "public"})
    kept = classify_columns(_info("artist", artists), artists, settings, Evidence(Subjects.of_rows(275), reference=True))
    assert (kept["name"].identifying, kept["name"].source) == (False, "override")
    titles = pd.DataFrame({"title_of_courtesy": ["Mr.", "Ms."] * 20})
    settings = SynthesisSettings(copy_rows=100, preview_rows=5, overrides={"title_of_courtesy": "sensitive"})
    forced = classify_columns(_info("employees", titles), titles, settings, Evidence.of_sample(titles))
    assert forced["title_of_courtesy"].identifying and forced["title_of_courtesy"].source == "override"
