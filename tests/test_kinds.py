"""The kinds registry: each kind of identifying value binds its recognizers to its fake maker.

For every built-in kind that is found by content, the fakes its maker makes are recognised as
that kind again (a fake phone reads as a phone, a fake IBAN passes the IBAN checksum) and equal
no real value; a plugin's kind is one registration, recognised before the built-in ones and
faked by its own maker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from catalog_synth.core.types import ColumnInfo, ColumnKind, Semantic
from catalog_synth.core.values import Forbidden, normalized_set
from catalog_synth.protect import kinds
from catalog_synth.protect.classify import semantic_from_content
from catalog_synth.protect.contact_fakes import with_luhn_digit
from catalog_synth.protect.fake_context import FakeContext
from catalog_synth.protect.fakes import fake_column
from catalog_synth.protect.recognizers import Recognizer

# Real-looking values of each kind found by content (public examples and made-up people).
EXAMPLES: dict[str, list[str]] = {
    Semantic.EMAIL: [f"{name}{n}@example.org" for n, name in enumerate(["ann.lee", "bo.chan", "cy.diaz"] * 14)],
    Semantic.URL: [f"https://www.shop{n}.example.com/about" for n in range(40)],
    Semantic.IP_ADDRESS: [f"192.0.2.{n}" for n in range(1, 41)],
    Semantic.UUID: [str(__import__("uuid").UUID(int=n * 7919 + 1)) for n in range(40)],
    Semantic.IBAN: ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"] * 14,
    Semantic.CREDIT_CARD: [with_luhn_digit(f"45320151{n:07d}") for n in range(0, 400_000, 10_000)],
    Semantic.PHONE: [f"+44 20 7946 {n:04d}" for n in range(40)],
    Semantic.ADDRESS: [f"{n} {street}" for n, street in enumerate(["Main Street", "Oak Avenue", "Elm Road"] * 14, 10)],
    Semantic.PERSON_NAME: [
        f"{first} {last}"
        for first in ["Anna", "Boris", "Clara", "David", "Emma"]
        for last in ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Thomas", "Roberts"]
    ],
}


def _context(n_rows: int, real: pd.Series) -> FakeContext:
    return FakeContext(
        rng=np.random.default_rng(4),
        locales=np.array(["en_GB"] * n_rows, dtype=object),
        forbidden=Forbidden(normalized_set(real)),
        min_count=5,
        seed=4,
    )


def test_every_identifying_semantic_is_a_registered_kind() -> None:
    identifying = {
        Semantic.EMAIL, Semantic.PHONE, Semantic.ADDRESS, Semantic.PERSON_NAME, Semantic.COMPANY, Semantic.POSTAL_CODE,
        Semantic.IBAN, Semantic.CREDIT_CARD, Semantic.NATIONAL_ID, Semantic.IP_ADDRESS, Semantic.URL, Semantic.UUID,
        Semantic.FREE_TEXT, Semantic.IDENTIFIER,
    }  # fmt: skip
    assert kinds.identifying_semantics() == identifying


@pytest.mark.parametrize("semantic", list(EXAMPLES), ids=str)
def test_each_kind_recognises_its_examples_and_its_own_fakes(semantic: str) -> None:
    real = pd.Series(EXAMPLES[semantic])
    assert semantic_from_content(real) == semantic
    column = ColumnInfo("value", "text", ColumnKind.STRING)
    fakes = fake_column(semantic, column, real, _context(60, real))
    assert fakes.notna().all()
    assert not normalized_set(fakes) & normalized_set(real)
    assert semantic_from_content(fakes) == semantic, fakes.head(5).tolist()


def test_a_plugin_kind_is_one_registration_recognised_first_and_faked_its_way() -> None:
    def badges(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
        return [f"EMP-{number:04d}" for number in ctx.rng.integers(5000, 9999, len(locales))]

    badge = kinds.Kind("badge", kinds.always(badges), (Recognizer(lambda text: text.startswith("EMP-")),))
    real = pd.Series([f"EMP-{n:04d}" for n in range(40)])
    column = ColumnInfo("badge_no", "text", ColumnKind.STRING)
    kinds.register(badge)
    try:
        assert semantic_from_content(real) == "badge"
        assert "badge" in kinds.identifying_semantics()
        fakes = fake_column("badge", column, real, _context(30, real))
        assert fakes.str.fullmatch(r"EMP-[5-9]\d{3}").all()
    finally:
        kinds.unregister("badge")
    assert "badge" not in kinds.identifying_semantics()
    assert semantic_from_content(real) is None
