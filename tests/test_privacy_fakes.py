"""Format-preserving fakes: same shapes, same countries, never a real value."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
from faker import Faker
from faker.providers.person.ja_JP import Provider as JapanesePersonProvider

from catalog_synth.core.types import ColumnClass, ColumnInfo, ColumnKind
from catalog_synth.core.values import Forbidden, normalize, normalized_set
from catalog_synth.protect.contact_fakes import with_iban_checksum, with_luhn_digit
from catalog_synth.protect.fake_context import FakeContext
from catalog_synth.protect.fakes import fake_column, fake_foreign_key, sample_from_pool
from catalog_synth.protect.locales import (
    infer_locale_weights,
    phone_region,
    row_locales,
)
from catalog_synth.protect.recognizers import is_valid_iban, luhn_valid
from catalog_synth.protect.shapes import build_shapes, mask_of


def _context(real: pd.Series, n_rows: int, locale: str = "en_US", population: int = 0) -> FakeContext:
    return FakeContext(
        rng=np.random.default_rng(1),
        locales=np.array([locale] * n_rows, dtype=object),
        forbidden=Forbidden(normalized_set(real)),
        min_count=5,
        seed=1,
        population=population,
    )


def _faker_series(locale: str, method: str, n: int) -> pd.Series:
    fake = Faker(locale)
    fake.seed_instance(3)
    return pd.Series([getattr(fake, method)() for _ in range(n)], dtype=object)


def test_shapes_keep_only_what_a_whole_group_of_real_values_shares() -> None:
    values = [f"CUST-{i:05d}" for i in range(40)] + ["X1"]  # the lone 'X1' shape is never reused
    shapes = build_shapes(values, min_count=5)
    assert len(shapes.templates) == 1
    assert shapes.templates[0].startswith("CUST-")
    assert mask_of("Ab-1") == "\x02\x03-\x01"


def test_identifier_fakes_have_the_real_shape_and_never_a_real_value() -> None:
    real = pd.Series([f"ORD-{i:06d}" for i in range(0, 600, 3)], dtype=object)
    fakes = fake_column("identifier", ColumnInfo("order_ref", "text", ColumnKind.STRING), real, _context(real, 500))
    assert fakes.map(lambda value: bool(re.fullmatch(r"ORD-\d{6,}", value))).all()
    assert not normalized_set(fakes) & normalized_set(real)


def test_short_codes_are_lengthened_when_the_real_table_would_fill_their_space() -> None:
    real = pd.Series(["".join(code) for code in np.random.default_rng(0).choice(list("ABCDEFGHIJ"), (300, 3))])
    real = real.drop_duplicates()
    fakes = fake_column("identifier", ColumnInfo("iata", "text", ColumnKind.STRING), real,
                        _context(real, 200, population=5000))
    assert fakes.str.len().min() > 3  # 5,000 real codes would fill 28% of all 3-letter codes


def test_phones_keep_the_country_and_layout_of_the_row_locale() -> None:
    french = pd.Series([f"+33 6 {i % 90 + 10:02d} {i % 77 + 10:02d} {i % 50 + 10:02d} {i % 13 + 10:02d}"
                        for i in range(60)])
    german = pd.Series([f"+49 30 {1000000 + i * 7919}" for i in range(60)])
    real = pd.concat([french, german], ignore_index=True)
    ctx = _context(real, 100)
    ctx.locales = np.array(["fr_FR", "de_DE"] * 50, dtype=object)
    fakes = fake_column("phone", ColumnInfo("phone", "text", ColumnKind.STRING), real, ctx)
    assert [phone_region(value) for value in fakes[:4]] == ["FR", "DE", "FR", "DE"]
    assert {mask_of(value[4:]) for value in fakes[::2]} <= {mask_of(value[4:]) for value in french}
    assert not normalized_set(fakes) & normalized_set(real)


def test_ibans_and_card_numbers_stay_valid() -> None:
    ibans = _faker_series("de_DE", "iban", 50)
    fakes = fake_column("iban", ColumnInfo("iban", "text", ColumnKind.STRING), ibans, _context(ibans, 200, "de_DE"))
    assert fakes.map(is_valid_iban).all() and fakes.str.startswith("DE").all()
    cards = _faker_series("en_US", "credit_card_number", 200)
    fakes = fake_column("credit_card", ColumnInfo("cc", "text", ColumnKind.STRING), cards, _context(cards, 200))
    assert fakes.map(lambda value: luhn_valid(re.sub(r"\D", "", value))).all()
    assert with_luhn_digit("4111 1111 1111 1110") == "4111 1111 1111 1111"
    assert is_valid_iban(with_iban_checksum("GB00 NWBK 6016 1331 9268 19"))


def test_first_names_avoid_every_real_name_even_when_the_locale_runs_out() -> None:
    real = _faker_series("fr_FR", "first_name", 3000)
    fakes = fake_column("person_name", ColumnInfo("first_name", "text", ColumnKind.STRING), real,
                        _context(real, 500, "fr_FR"))
    assert fakes.notna().all()
    assert not normalized_set(fakes) & normalized_set(real)


def test_null_share_is_kept_and_keys_are_unique_and_complete() -> None:
    real = pd.Series([f"user{i}@mail.example" if i % 4 else None for i in range(400)], dtype=object)
    fakes = fake_column("email", ColumnInfo("email", "text", ColumnKind.STRING), real, _context(real, 2000))
    assert 0.18 < fakes.isna().mean() < 0.32
    ids = pd.Series(np.arange(1, 1001, dtype=float))
    keys = fake_column("identifier", ColumnInfo("id", "integer", ColumnKind.INTEGER), ids, _context(ids, 3000),
                       unique=True)
    assert keys.is_unique and keys.notna().all()
    assert not normalized_set(keys) & normalized_set(ids)


def test_foreign_keys_repeat_like_real_ones_and_can_be_relinked_to_a_pool() -> None:
    real = pd.Series(np.repeat(np.arange(1, 51, dtype=float), 6))
    fakes = fake_foreign_key(ColumnInfo("customer_id", "integer", ColumnKind.INTEGER), real, _context(real, 300))
    assert fakes.nunique() <= 50 and not normalized_set(fakes) & normalized_set(real)
    relinked = sample_from_pool([7, 8, 9], 1000, np.random.default_rng(0), null_share=0.1)
    assert set(relinked.dropna()) == {7, 8, 9} and 0.05 < relinked.isna().mean() < 0.15


def test_locales_come_from_phone_codes_and_rare_countries_do_not_count() -> None:
    sample = pd.DataFrame({"phone": ["+33 6 12 34 56 78"] * 30 + ["+49 30 1234567"] * 10 + ["+354 555 1234"]})
    classes = {"phone": ColumnClass("phone", "phone", True, "", "name")}
    weights = infer_locale_weights(sample, classes, min_count=5)
    assert weights == {"de_DE": 0.25, "fr_FR": 0.75}
    countries = pd.Series(["FR", "Deutschland", None, "??"])
    locales = row_locales(4, {"en_US": 1.0}, np.random.default_rng(0), countries)
    assert list(locales) == ["fr_FR", "de_DE", "en_US", "en_US"]


def test_every_fake_differs_from_real_values_ignoring_case_and_spaces() -> None:
    real = pd.Series(["ab 12", "CD34"] * 10)
    ctx = _context(real, 300)
    fakes = fake_column("identifier", ColumnInfo("code", "text", ColumnKind.STRING), real, ctx)
    assert all(normalize(value) not in {"ab12", "cd34"} for value in fakes)


def test_faker_made_columns_stay_as_distinct_as_the_real_ones() -> None:
    """Faker values come from pools per locale: mostly distinct real columns still get mostly
    distinct fakes, repetitive ones repeat, and no pooled value equals a real one."""
    n_rows = 3000
    emails = _faker_series("en_US", "email", 2000)
    names = _faker_series("de_DE", "name", 2000)
    cities = pd.Series(["Lyon", "Graz", "Porto", "Turku", "Cork", "Gent"] * 300, dtype=object)
    cases = [
        ("email", ColumnInfo("email", "text", ColumnKind.STRING), emails, "en_US", 0.9),
        ("person_name", ColumnInfo("full_name", "text", ColumnKind.STRING), names, "de_DE", 0.9),
        ("address", ColumnInfo("city", "text", ColumnKind.STRING), cities, "fr_FR", 0.0),
    ]
    for semantic, column, real, locale, least_distinct in cases:
        fakes = fake_column(semantic, column, real, _context(real, n_rows, locale))
        assert fakes.nunique() / n_rows >= least_distinct, semantic
        assert not normalized_set(fakes) & normalized_set(real), semantic
    assert fake_column(*cases[2][:3], _context(cities, n_rows, "fr_FR")).nunique() <= 256  # cities repeat


def test_cjk_full_names_keep_fakers_own_order() -> None:
    real = _faker_series("ja_JP", "name", 200)
    fakes = fake_column("person_name", ColumnInfo("name", "text", ColumnKind.STRING), real,
                        _context(real, 300, "ja_JP"))
    family_names = set(JapanesePersonProvider.last_names)
    assert fakes.notna().all() and fakes.str.split().str[0].isin(family_names).all()
    assert not normalized_set(fakes) & normalized_set(real)


def test_a_birth_country_does_not_decide_where_a_row_lives() -> None:
    from catalog_synth.protect.locales import country_column

    sample = pd.DataFrame({"birth_country": ["JAPAN", "KOREA"] * 20, "country": ["FR", "DE"] * 20})
    classes = {name: ColumnClass(name, "categorical", False, "", "type") for name in sample.columns}
    assert country_column(sample, classes) == "country"
    assert country_column(sample[["birth_country"]], {"birth_country": classes["birth_country"]}) is None


def test_cities_are_real_cities_of_the_rows_country_and_never_a_real_value() -> None:
    """GeoNames' cities of each row's country (Faker's own where it writes another script);
    the biggest cities of both countries are real values here, and none comes back."""
    from catalog_synth.protect.places import cities_of

    real = pd.Series(["New York City", "Los Angeles", "Chicago", "Paris", "Marseille", "Lyon"] * 5, dtype=object)
    ctx = replace(_context(real, 300), locales=np.array(["en_US", "fr_FR", "ja_JP"] * 100, dtype=object))
    fakes = fake_column("address", ColumnInfo("city", "text", ColumnKind.STRING), real, ctx)
    by_locale = pd.DataFrame({"locale": ctx.locales, "city": fakes}).groupby("locale")["city"]
    assert set(by_locale.get_group("en_US")) <= set(cities_of("US"))
    assert set(by_locale.get_group("fr_FR")) <= set(cities_of("FR"))
    assert by_locale.get_group("ja_JP").map(lambda city: any("\u4e00" <= char <= "\u9fff" for char in city)).all()
    assert by_locale.get_group("en_US").nunique() > 20 and not normalized_set(fakes) & normalized_set(real)


def test_when_every_name_of_the_rows_locale_is_real_names_come_from_its_naming_tradition() -> None:
    """The real column holds every en_US first name Faker knows: the fakes are mostly first names
    of English locales whose lists share many names with the real ones (en_GB, en_IE, en_NZ),
    never of en_TH, whose list shares none, and never a real name."""
    import importlib

    from faker.providers.person.en_TH import Provider as ThaiNames
    from faker.providers.person.en_US import Provider as AmericanNames

    real = pd.Series(list(AmericanNames.first_names) * 2, dtype=object)
    fakes = fake_column("person_name", ColumnInfo("first_name", "text", ColumnKind.STRING), real, _context(real, 400))
    assert fakes.notna().all() and not normalized_set(fakes) & normalized_set(real)
    assert not normalized_set(fakes) & normalized_set(ThaiNames.first_names)
    alike = normalized_set(name for locale in ("en_GB", "en_IE", "en_NZ")
                           for name in importlib.import_module(f"faker.providers.person.{locale}").Provider.first_names)
    assert fakes.map(normalize).isin(alike).mean() > 0.5


def test_email_domains_fit_the_rows_country() -> None:
    """Common real domains are reused only where they fit: a national one on its country's rows,
    a generic one on any row."""
    real = pd.Series([f"user{i}@{domain}" for i, domain in enumerate(["gmail.com", "wanadoo.fr", "web.de", "btinternet.co.uk"] * 50)])
    ctx = replace(_context(real, 600), locales=np.array(["fr_FR", "de_DE", "en_GB"] * 200, dtype=object))
    fakes = fake_column("email", ColumnInfo("email", "text", ColumnKind.STRING), real, ctx)
    tops = pd.DataFrame({"locale": ctx.locales, "top": fakes.str.rsplit(".", n=1).str[-1]})
    national = {"fr_FR": "fr", "de_DE": "de", "en_GB": "uk"}
    for locale, group in tops.groupby("locale"):
        assert set(group["top"]) - {"com", "net", "org"} <= {national[locale]}, locale
    assert {"fr", "de", "uk", "com"} <= set(tops["top"]) and not normalized_set(fakes) & normalized_set(real)


def test_a_country_whose_few_cities_are_all_real_values_still_gets_fakes() -> None:
    """Iceland's six GeoNames cities all hold real customers: the fakes are Faker's, none real."""
    from catalog_synth.protect.places import MIN_CITIES, cities_of

    iceland = cities_of("IS")
    assert 0 < len(iceland) < MIN_CITIES
    real = pd.Series(list(iceland) * 10, dtype=object)
    fakes = fake_column("address", ColumnInfo("city", "text", ColumnKind.STRING), real, _context(real, 100, "is_IS"))
    assert fakes.notna().all() and not normalized_set(fakes) & normalized_set(real)
