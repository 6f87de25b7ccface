"""Column classification: by override, key, SQL type, name, content and uniqueness."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    ForeignKey,
    SynthesisSettings,
    TableInfo,
    TableRef,
)
from catalog_synth.protect.classify import classify_columns, semantic_from_content
from catalog_synth.protect.recognizers import is_valid_iban, luhn_valid

LOCALES = ["en_US", "de_DE", "fr_FR", "ja_JP", "es_ES"]


def _classify(frame: pd.DataFrame, kinds: dict[str, ColumnKind] | None = None, **info_args):
    kinds = kinds or {}
    columns = [ColumnInfo(name, "text", kinds.get(name, ColumnKind.STRING)) for name in frame.columns]
    info = TableInfo(TableRef("w", "s", "t"), columns, **info_args)
    settings = SynthesisSettings(copy_rows=10, preview_rows=5, overrides=info_args.pop("overrides", {}))
    return classify_columns(info, frame, settings)


def _faker_values(method: str, n: int = 200) -> list[str]:
    values = []
    for index in range(n):
        fake = Faker(LOCALES[index % len(LOCALES)])
        fake.seed_instance(index)
        values.append(str(getattr(fake, method)()))
    return values


@pytest.mark.parametrize(
    ("method", "semantic"),
    [
        ("email", "email"),
        ("phone_number", "phone"),
        ("iban", "iban"),
        ("credit_card_number", "credit_card"),
        ("ipv4", "ip_address"),
        ("url", "url"),
        ("uuid4", "uuid"),
        ("ssn", "national_id"),
    ],
)
def test_content_reveals_identifying_values_whatever_the_column_is_called(method: str, semantic: str) -> None:
    locales = ["en_US"] if method == "ssn" else LOCALES
    values = []
    for index in range(200):
        fake = Faker(locales[index % len(locales)])
        fake.seed_instance(index)
        values.append(str(getattr(fake, method)()))
    assert semantic_from_content(pd.Series(values)) == semantic


def test_addresses_companies_person_names_and_free_text_are_recognised_by_content() -> None:
    assert semantic_from_content(pd.Series(_faker_values("street_address"))) == "address"
    assert semantic_from_content(pd.Series(_faker_values("company"))) == "company"
    assert semantic_from_content(pd.Series(_faker_values("name"))) == "person_name"
    assert semantic_from_content(pd.Series(_faker_values("paragraph"))) == "free_text"


def test_ordinary_categories_are_not_mistaken_for_identifying_content() -> None:
    statuses = pd.Series(["shipped", "placed", "returned", "cancelled"] * 50)
    assert semantic_from_content(statuses) is None
    cities = pd.Series(["Paris", "Berlin", "New York", "Lyon", "San Francisco"] * 40)
    assert semantic_from_content(cities) is None


def test_column_names_in_several_languages_mark_identifying_columns() -> None:
    frame = pd.DataFrame({name: ["x"] * 20 for name in [
        "customer_email", "Téléphone", "billing_address", "prénom", "Nachname", "zip_code", "IBAN",
        "creditCardNumber", "ssn", "client_ip", "website", "employer", "order_notes",
    ]})
    # Postal codes that are (nearly) all different are identifying; repeated ones would be categories.
    frame["zip_code"] = [f"{10000 + i}" for i in range(20)]
    semantics = {name: cls.semantic for name, cls in _classify(frame).items()}
    assert semantics == {
        "customer_email": "email", "Téléphone": "phone", "billing_address": "address", "prénom": "person_name",
        "Nachname": "person_name", "zip_code": "postal_code", "IBAN": "iban", "creditCardNumber": "credit_card",
        "ssn": "national_id", "client_ip": "ip_address", "website": "url", "employer": "company",
        "order_notes": "free_text",
    }
    assert all(cls.identifying and cls.source == "name" for cls in _classify(frame).values())


def test_names_that_only_contain_an_identifying_word_are_not_identifying() -> None:
    frame = pd.DataFrame({
        "product_name": ["kettle", "pan"] * 20,
        "email_domain": ["gmail.com", "web.de"] * 20,
        "mobile_os": ["ios", "android"] * 20,
    })
    assert {cls.semantic for cls in _classify(frame).values()} == {"categorical"}


def test_unique_company_names_under_a_neutral_name_are_identifying() -> None:
    frame = pd.DataFrame({"org": _faker_values("company", 120)})
    cls = _classify(frame)["org"]
    assert cls.identifying and cls.semantic == "company" and cls.source == "content"


def test_nearly_unique_text_and_id_like_numbers_are_identifiers_but_measurements_are_not() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "ticket": [f"T-{i:05d}" for i in rng.choice(99_999, 300, replace=False)],
        "account_no": rng.choice(10**8, 300, replace=False),
        "row_number": np.arange(300) + 1,
        "salary": rng.choice(np.arange(30_000, 150_000), 300, replace=False),
        "price": rng.random(300) * 100,
        "status": rng.choice(["a", "b", "c"], 300),
    })
    kinds = {"account_no": ColumnKind.INTEGER, "row_number": ColumnKind.INTEGER, "salary": ColumnKind.INTEGER,
             "price": ColumnKind.FLOAT}
    semantics = {name: cls.semantic for name, cls in _classify(frame, kinds).items()}
    assert semantics == {"ticket": "identifier", "account_no": "identifier", "row_number": "identifier",
                         "salary": "numerical", "price": "numerical", "status": "categorical"}


def test_keys_types_and_overrides() -> None:
    frame = pd.DataFrame({
        "id": range(30), "customer_id": range(30), "token": [f"{i}" for i in range(30)],
        "country": ["FR", "DE", "US"] * 10, "email": [f"u{i}@x.org" for i in range(30)], "payload": [None] * 30,
        "label": ["a", "b", "c"] * 10,
    })
    kinds = {"id": ColumnKind.INTEGER, "customer_id": ColumnKind.INTEGER, "token": ColumnKind.UUID,
             "payload": ColumnKind.UNSUPPORTED}
    columns = [ColumnInfo(name, "t", kinds.get(name, ColumnKind.STRING), unsupported_reason="json" if name == "payload"
                          else None) for name in frame.columns]
    info = TableInfo(TableRef("w", "s", "t"), columns, primary_key=("id",),
                     foreign_keys=[ForeignKey(("customer_id",), TableRef("w", "s", "customers"), ("id",))])
    settings = SynthesisSettings(copy_rows=10, preview_rows=5, overrides={"email": "public", "label": "sensitive"})
    classes = classify_columns(info, frame, settings)
    assert (classes["id"].semantic, classes["id"].source, classes["id"].identifying) == ("identifier", "key", True)
    assert "foreign key to s.customers" in classes["customer_id"].reason
    assert classes["token"].semantic == "uuid"
    assert (classes["payload"].semantic, classes["payload"].identifying) == ("unsupported", False)
    assert "json" in classes["payload"].reason
    assert (classes["email"].semantic, classes["email"].identifying, classes["email"].source) == (
        "categorical", False, "override")
    assert classes["label"].identifying and classes["label"].source == "override"
    assert classes["country"].semantic == "categorical"


def test_reasons_never_quote_a_value() -> None:
    frame = pd.DataFrame({"contact": _faker_values("email", 50), "misc": _faker_values("company", 50)})
    for cls in _classify(frame).values():
        assert not any(value.lower() in cls.reason.lower() for value in frame[cls.column])


def test_checksums() -> None:
    assert is_valid_iban("DE89 3704 0044 0532 0130 00") and not is_valid_iban("DE88 3704 0044 0532 0130 00")
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


def test_concatenated_and_abbreviated_names_are_read_like_separated_ones() -> None:
    from catalog_synth.protect.classify import semantic_from_name

    expected = {
        "billingaddress": "address", "BillingAddress": "address", "shipaddr": "address",
        "billingpostalcode": "postal_code", "contactname": "person_name", "homephone": "phone",
        "account_to": "identifier", "acct_no": "identifier", "birth_number": "national_id",
        "megaphone": None, "velocity": None, "filename": None, "tablename": None,
    }  # fmt: skip
    assert {name: semantic_from_name(name) for name in expected} == expected


@pytest.mark.parametrize("locale", ["pt_BR", "it_IT", "de_DE", "fr_FR", "es_ES", "nl_NL", "en_CA"])
def test_street_addresses_of_each_locale_are_recognised_by_their_street_words(locale: str) -> None:
    from catalog_synth.protect.recognizers import is_street_address

    fake = Faker(locale)
    fake.seed_instance(4)
    streets = [fake.street_address() for _ in range(100)]
    assert sum(map(is_street_address, streets)) >= 80, streets[:5]
    assert semantic_from_content(pd.Series(streets)) == "address"


def test_national_ids_of_several_countries_are_recognised_by_their_checksums() -> None:
    for locale, method in (("fr_FR", "ssn"), ("es_ES", "nif"), ("it_IT", "ssn"), ("pt_BR", "cpf"), ("nl_NL", "ssn")):
        fake = Faker(locale)
        fake.seed_instance(5)
        assert semantic_from_content(pd.Series([str(getattr(fake, method)()) for _ in range(100)])) == "national_id"
    random_digits = pd.Series([str(n) for n in np.random.default_rng(5).integers(10**9, 10**10, 200)])
    assert semantic_from_content(random_digits) != "national_id"  # no checksum: not an id


def test_international_phones_are_checked_with_phonenumbers() -> None:
    from catalog_synth.protect.recognizers import is_phone

    assert is_phone("+44 20 7946 0958") and is_phone("+55 (12) 3923-5555") and is_phone("0049 30 901820")
    assert not is_phone("+999 12") and not is_phone("12.5 kg")


def test_a_registered_kind_is_recognised_first() -> None:
    from catalog_synth.protect import kinds
    from catalog_synth.protect.recognizers import Recognizer

    recognizer = Recognizer(lambda text: bool(re.fullmatch(r"EMP-\d{4}", text)))
    badge = kinds.Kind("badge", kinds.always(kinds.make_identifiers), (recognizer,))
    kinds.register(badge)
    try:
        assert semantic_from_content(pd.Series([f"EMP-{n:04d}" for n in range(50)])) == "badge"
    finally:
        kinds.unregister("badge")
    assert semantic_from_content(pd.Series([f"EMP-{n:04d}" for n in range(50)])) is None
