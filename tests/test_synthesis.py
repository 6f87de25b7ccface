"""synthesize_table end to end with the real SDV: privacy of identifying columns, skipped and
failing tables, overrides, and what a copy must never contain."""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from faker import Faker

from catalog_synth.core.logs import NOISY_LOGGERS
from catalog_synth.core.types import (
    ColumnInfo,
    ColumnKind,
    ForeignKey,
    GateFailed,
    SynthesisError,
    SynthesisSettings,
    SyntheticTable,
    TableInfo,
    TableRef,
    TableSkipped,
)
from catalog_synth.core.values import normalize, normalized_set
from catalog_synth.entry.demo_data import demo_metadata, orders, people
from catalog_synth.run.synthesize import synthesize_table
from connectors.sql_types import column_kind

PII_COLUMNS = ["id", "first_name", "last_name", "email", "phone", "street_address", "city", "postal_code",
               "company", "iban", "credit_card_number", "notes"]


def demo_table_info(name: str, frame: pd.DataFrame) -> TableInfo:
    """The demo table's columns with kinds mapped from its SQL types, as a connector reports them."""
    table = demo_metadata().tables[name]
    columns = []
    for column in table.columns:
        kind, reason = column_kind(column.type)
        columns.append(ColumnInfo(column.name, str(column.type), kind, column.nullable,
                                  getattr(column.type, "precision", None), getattr(column.type, "scale", None),
                                  reason))
    foreign_keys = [ForeignKey((fk.parent.name,), TableRef("w", "public", fk.column.table.name), (fk.column.name,))
                    for fk in table.foreign_keys]
    primary_key = tuple(column.name for column in table.primary_key.columns)
    return TableInfo(TableRef("w", "public", name), columns, primary_key, foreign_keys, row_count=len(frame))


def settings(rows: int, **overrides) -> SynthesisSettings:
    return SynthesisSettings(copy_rows=rows, preview_rows=10, seed=7, **overrides)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def pii() -> Iterator[tuple[pd.DataFrame, SyntheticTable, str]]:
    """The multi-locale customers table, synthesized once, with every log line captured."""
    real = people(400, seed=11)
    capture, root = _Capture(), logging.getLogger()
    # Every logger at DEBUG, including library ones the CLI quietens (catalog_synth.core.logs).
    loggers = [root, *(logging.getLogger(name) for name in NOISY_LOGGERS)]
    levels = [logger.level for logger in loggers]
    root.addHandler(capture)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        table = synthesize_table(demo_table_info("people", real), real, settings(400))
    finally:
        root.removeHandler(capture)
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
    yield real, table, "\n".join(capture.lines)


def test_no_real_value_of_an_identifying_column_survives(pii) -> None:
    real, table, _ = pii
    identifying = [name for name, cls in table.classes.items() if cls.identifying]
    assert set(PII_COLUMNS) <= set(identifying)
    for name in identifying:
        assert not normalized_set(table.data[name]) & normalized_set(real[name]), name
        assert table.data[name].notna().mean() == pytest.approx(real[name].notna().mean(), abs=0.1)


def test_nothing_the_stage_returns_or_logs_quotes_a_real_identifying_value(pii) -> None:
    real, table, logs = pii
    secrets = set().union(*(normalized_set(real[name]) for name in PII_COLUMNS if name != "id"))
    text_columns = [name for name in table.data.columns if table.data[name].dtype == object]
    cells = normalized_set(table.data[text_columns].to_numpy().ravel())
    assert not secrets & cells  # not even in another text column (a salary may equal a postal code)
    metadata = normalize(" ".join([
        json.dumps({name: cls.as_dict() for name, cls in table.classes.items()}, ensure_ascii=False),
        json.dumps(table.gate.as_dict()), json.dumps(table.quality.as_dict()), json.dumps(table.dropped_columns),
        logs,
    ]))
    assert "identifying_values" in metadata and "Fitting column" in logs  # SDV's own log lines were captured
    assert not [secret for secret in secrets if len(secret) >= 6 and secret in metadata]


def test_the_copy_is_gated_scored_and_sized(pii) -> None:
    real, table, _ = pii
    assert table.gate.passed and table.gate.attempts in (1, 2)
    assert {check.name for check in table.gate.checks} >= {
        "identifying_values", "rare_categories", "extremes", "row_copies", "distance_to_closest_record", "primary_key"}
    assert 0.6 < table.quality.overall <= 1.0
    assert len(table.data) == 400 and len(table.preview) == 10
    assert list(table.data.columns) == list(real.columns)
    assert table.data["id"].is_unique and table.data["id"].notna().all()


def test_fakes_look_like_the_real_column_and_agree_within_a_row(pii) -> None:
    _, table, _ = pii
    data = table.data
    assert data["email"].str.fullmatch(r"[^@\s]+@[^@\s]+\.\w+").all()
    assert data["iban"].str.slice(0, 2).isin({"US", "DE", "FR", "GB", "NL", "ES", "IT"}).mean() > 0.5
    french = data[data["country"] == "FR"]
    assert french["phone"].str.replace(r"\D", "", regex=True).str.match(r"^(33|0)").mean() > 0.8


def test_unique_company_names_taken_for_categories_by_sdv_do_not_leak() -> None:
    from sdv.metadata import Metadata

    fakers = [Faker(locale) for locale in ("en_US", "de_DE", "fr_FR")]
    for index, fake in enumerate(fakers):
        fake.seed_instance(index)
    rng = np.random.default_rng(0)
    real = pd.DataFrame({
        "account_id": np.arange(1, 301),
        "org": [fakers[i % 3].unique.company() for i in range(300)],
        "segment": rng.choice(["smb", "mid", "enterprise"], 300),
        "revenue": np.round(rng.lognormal(13, 1, 300), 2),
    })
    detected = Metadata.detect_from_dataframes({"t": real}).to_dict()["tables"]["t"]["columns"]["org"]
    assert detected["sdtype"] == "categorical"  # what SDV's own detection would have modelled
    columns = [ColumnInfo("account_id", "integer", ColumnKind.INTEGER), ColumnInfo("org", "varchar", ColumnKind.STRING),
               ColumnInfo("segment", "varchar", ColumnKind.STRING), ColumnInfo("revenue", "double", ColumnKind.FLOAT)]
    info = TableInfo(TableRef("w", "crm", "accounts"), columns, primary_key=("account_id",), row_count=300)
    table = synthesize_table(info, real, settings(300))
    assert table.classes["org"].identifying
    assert not normalized_set(table.data["org"]) & normalized_set(real["org"])


@pytest.mark.parametrize("rows", [0, 1, 3, 8])
def test_tiny_tables_are_generated_column_by_column_and_carry_no_real_value(rows: int) -> None:
    real = people(max(rows, 1), seed=2).head(rows)
    table = synthesize_table(demo_table_info("people", real), real, settings(10))
    assert len(table.data) == rows and list(table.data.columns) == list(real.columns)
    assert table.gate.passed and table.quality is None
    if rows == 0:
        return
    assert "generated column by column" in table.notes[0]
    for name in real.columns:
        values = real[name].dropna()
        if values.empty or name == "is_active":
            continue
        if values.dtype == object:  # each row is one person: values on fewer than 5 rows are rare
            counts = values.map(normalize).value_counts()
            assert not normalized_set(table.data[name]) & set(counts.index[counts < 5]), name
        elif name in ("salary", "birth_date", "signup_at"):
            assert not set(table.data[name].dropna()) & {values.min(), values.max()}, name


def test_a_table_that_cannot_pass_the_gate_fails_closed_naming_the_check() -> None:
    rng = np.random.default_rng(1)
    real = pd.DataFrame({"code": [f"K{i:04d}" for i in range(200)], "amount": rng.normal(100, 10, 200).round(2)})
    info = TableInfo(TableRef("w", "s", "codes"), [ColumnInfo("code", "varchar", ColumnKind.STRING),
                                                   ColumnInfo("amount", "double", ColumnKind.FLOAT)], row_count=200)
    # Marked public, a unique column is copied verbatim: every row then sits on a training row.
    with pytest.raises(GateFailed) as raised:
        synthesize_table(info, real, settings(200, overrides={"code": "public"}))
    gate = raised.value.gate
    assert gate.attempts == 2 and not gate.passed
    assert [check.name for check in gate.failures()] == ["distance_to_closest_record"]
    assert "distance_to_closest_record" in str(raised.value)
    assert not any(code.lower() in str(raised.value).lower() for code in real["code"])


def test_public_override_keeps_real_country_codes_and_says_so() -> None:
    real = orders(400, np.arange(1, 101), seed=3)
    real.loc[:2, "shipping_country"] = "LI"  # three orders to a country nobody else orders to
    info = demo_table_info("orders", real)
    private = synthesize_table(info, real, settings(400))
    public = synthesize_table(info, real, settings(400, overrides={"shipping_country": "public"}))
    assert "LI" not in set(private.data["shipping_country"])
    assert set(public.data["shipping_country"]) <= set(real["shipping_country"])
    assert set(real["shipping_country"]) - {"LI"} <= set(public.data["shipping_country"])
    shipping = public.classes["shipping_country"]
    assert (shipping.source, shipping.identifying) == ("override", False) and "public" in shipping.reason
    assert private.classes["customer_id"].identifying and "foreign key" in private.classes["customer_id"].reason


def test_rare_categories_and_exact_extremes_are_never_emitted() -> None:
    rng = np.random.default_rng(5)
    segments = rng.choice(["retail", "wholesale", "online"], 500).astype(object)
    segments[:8] = ["gov", "gov", "ngo", "edu", "edu", "edu", "mil", "coop"]
    real = pd.DataFrame({"segment": segments, "salary": np.round(rng.lognormal(10.5, 0.5, 500), 2),
                         "age": rng.integers(18, 80, 500)})
    info = TableInfo(TableRef("w", "hr", "staff"), [
        ColumnInfo("segment", "varchar", ColumnKind.STRING),
        ColumnInfo("salary", "numeric(12,2)", ColumnKind.DECIMAL, precision=12, scale=2),
        ColumnInfo("age", "integer", ColumnKind.INTEGER)], row_count=500)
    data = synthesize_table(info, real, settings(500)).data
    assert not set(data["segment"]) & {"gov", "ngo", "edu", "mil", "coop"}
    assert not set(data["salary"]) & {real["salary"].min(), real["salary"].max()}
    assert data["salary"].between(real["salary"].min(), real["salary"].max()).all()


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, TableInfo]:
    """Every kind, nulls, unsupported types, an all-null column and non-ASCII names."""
    import datetime as dt
    import decimal
    import uuid

    rng = np.random.default_rng(8)
    n = 300
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    real = pd.DataFrame({
        "quantity": rng.integers(1, 500, n),
        "rating": pd.array([None if i % 5 == 0 else int(v) for i, v in enumerate(rng.integers(1, 6, n))], "Int64"),
        "price": [decimal.Decimal(f"{v:.2f}") for v in rng.lognormal(3, 0.5, n)],
        "weight": rng.normal(70, 12, n),
        "shipped_on": [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, n)],
        "created_at": [start + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 30_000_000, n)],
        "gift": [None if i % 4 == 0 else bool(v) for i, v in enumerate(rng.random(n) < 0.3)],
        "größe": rng.choice(["S", "M", "L", None], n, p=[0.3, 0.3, 0.1, 0.3]),
        "город": rng.choice(["Москва", "Казань", "Пермь"], n),
        "token": [uuid.UUID(int=int(v)) for v in rng.integers(0, 2**62, n)],
        "attrs": [{"k": int(v)} for v in rng.integers(0, 9, n)],
        "nothing": [None] * n,
    })
    kinds = {"quantity": ColumnKind.INTEGER, "rating": ColumnKind.INTEGER, "price": ColumnKind.DECIMAL,
             "weight": ColumnKind.FLOAT, "shipped_on": ColumnKind.DATE, "created_at": ColumnKind.DATETIME,
             "gift": ColumnKind.BOOLEAN, "größe": ColumnKind.STRING, "город": ColumnKind.STRING,
             "token": ColumnKind.UUID, "attrs": ColumnKind.UNSUPPORTED, "nothing": ColumnKind.INTEGER,
             "tags": ColumnKind.UNSUPPORTED}
    columns = [ColumnInfo(name, "t", kind, scale=2 if name == "price" else None,
                          unsupported_reason={"attrs": "json", "tags": "array"}.get(name))
               for name, kind in kinds.items()]
    return real, TableInfo(TableRef("w", "s", "mixed"), columns, row_count=n)


def test_types_and_null_shares_survive(mixed) -> None:
    import datetime as dt

    real, info = mixed
    table = synthesize_table(info, real, settings(300))
    data = table.data
    assert list(data.columns) == ["quantity", "rating", "price", "weight", "shipped_on", "created_at", "gift",
                                  "größe", "город", "token", "nothing"]
    assert data["quantity"].dtype == "int64" and data["rating"].dtype == "Int64"
    assert ((data["price"] * 100).round(6) % 1 == 0).all()
    assert data["weight"].dtype == "float64"
    assert all(type(value) is dt.date for value in data["shipped_on"])
    assert str(data["created_at"].dt.tz) == "UTC" and data["created_at"].dt.year.isin([2024, 2025]).all()
    assert data["gift"].dtype == "boolean"
    for name in ("rating", "gift", "größe"):
        assert data[name].isna().mean() == pytest.approx(real[name].isna().mean(), abs=0.1), name
    assert set(data["город"]) <= {"Москва", "Казань", "Пермь"}
    assert data["token"].str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}").all()
    assert not set(data["token"]) & {str(value) for value in real["token"]}
    assert data["nothing"].isna().all()
    assert set(table.dropped_columns) == {"attrs", "tags"}
    assert "json" in table.dropped_columns["attrs"] and "array" in table.dropped_columns["tags"]
    assert table.classes["attrs"].semantic == "unsupported"


def test_the_same_seed_gives_the_same_copy(mixed) -> None:
    real, info = mixed
    first = synthesize_table(info, real.head(120), settings(120)).data
    second = synthesize_table(info, real.head(120), settings(120)).data
    pd.testing.assert_frame_equal(first, second)


def test_a_column_that_contradicts_its_sql_type_is_named_but_not_quoted() -> None:
    real = pd.DataFrame({"qty": ["12", "7", "secret-value"] * 10})
    info = TableInfo(TableRef("w", "s", "t"), [ColumnInfo("qty", "integer", ColumnKind.INTEGER)], row_count=30)
    with pytest.raises(SynthesisError, match="qty") as raised:
        synthesize_table(info, real, settings(30))
    assert "secret" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_only_unsupported_columns_means_skipped() -> None:
    info = TableInfo(TableRef("w", "s", "blobs"), [ColumnInfo("data", "bytea", ColumnKind.UNSUPPORTED,
                                                              unsupported_reason="binary")], row_count=50)
    with pytest.raises(TableSkipped, match="no column"):
        synthesize_table(info, pd.DataFrame(index=range(50)), settings(50))


def test_never_more_rows_than_the_real_table(mixed) -> None:
    real, info = mixed
    small = TableInfo(info.ref, info.columns, row_count=150)
    assert len(synthesize_table(small, real.head(150), settings(10_000)).data) == 150


def test_the_gates_second_attempt_holds_out_other_people_each_whole() -> None:
    """A new split for the second attempt: the first one's distance share can hinge on which side
    the few real rows near the model's sparse regions fell. Each customer's orders stay together."""
    from catalog_synth.protect.evidence import Evidence
    from catalog_synth.protect.prepare import prepare_table as _prepare
    from catalog_synth.protect.subjects import Subjects
    from catalog_synth.run.synthesize import _split_again

    real = orders(400, np.arange(1, 101), seed=3)
    customers = real["customer_id"].to_numpy()
    evidence = Evidence(Subjects(len(real), (customers,)))
    table = _prepare(demo_table_info("orders", real), real, settings(400), evidence)
    again = _split_again(table, np.random.default_rng(5))
    assert set(again.holdout) != set(table.holdout) and len(again.holdout) == pytest.approx(len(table.holdout), rel=0.3)
    for split in (table, again):
        held = set(customers[split.holdout])
        assert held and not held & set(customers[split.training_rows()])


def test_emails_spell_the_rows_fake_name_and_none_is_real() -> None:
    """``kyle.gibson41@…`` beside Kyle Gibson: the user part follows the row's fake name wherever
    that address is no real one; no synthetic address equals a real one."""
    real = people(400, seed=11)
    table = synthesize_table(demo_table_info("people", real), real, settings(400))
    data = table.data.dropna(subset=["first_name", "last_name", "email"])

    def spells_name(row: pd.Series) -> bool:
        user = row["email"].split("@")[0]
        first, last = (unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode().replace(" ", "")
                       for name in (row["first_name"], row["last_name"]))  # fmt: skip
        return last[:4] in user and (first[:4] in user or user.startswith(first[0]))

    assert len(data) > 100 and data.apply(spells_name, axis=1).mean() > 0.8
    assert not normalized_set(table.data["email"]) & normalized_set(real["email"])
    assert table.data["email"].dropna().is_unique
