"""Free text from its column's own words: never a rare word, never a run of a real value, no
names in tables about people, and words that fit the column on a public schema (TPC-H)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from public_schemas import TPCH_SCALE, _generator

from catalog_synth.core.types import ColumnInfo, ColumnKind, Semantic
from catalog_synth.core.values import Forbidden, normalized_set
from catalog_synth.protect.fake_context import FakeContext
from catalog_synth.protect.fakes import fake_column
from catalog_synth.protect.free_text import RUN, make_free_text, name_words
from catalog_synth.protect.subjects import Subjects

K = 5
COMMON = "the parcel arrived late because the courier lost the address label twice this week".split()


def _context(real: pd.Series, n_rows: int, subjects: Subjects | None = None, about_people: bool = False) -> FakeContext:
    return FakeContext(
        rng=np.random.default_rng(7),
        locales=np.array(["en_US"] * n_rows, dtype=object),
        forbidden=Forbidden(normalized_set(real)),
        min_count=K,
        subjects=subjects,
        about_people=about_people,
    )


def _words(text: str) -> list[str]:
    return [word for word in (re.sub(r"\W", "", token.casefold()) for token in text.split()) if word]


def _notes(rng: np.random.Generator, rows: int, extra: list[str]) -> pd.Series:
    """Notes of 4 to 9 common words, each with one word of ``extra`` (by row) in it."""
    notes = []
    for row in range(rows):
        words = list(rng.choice(COMMON, size=int(rng.integers(4, 10))))
        words.insert(int(rng.integers(0, len(words))), extra[row])
        notes.append(" ".join(words))
    return pd.Series(notes)


def test_a_word_fewer_than_k_people_use_never_appears_even_on_many_rows() -> None:
    rng = np.random.default_rng(0)
    rows = 300
    # One customer's 40 notes name their dog "biscuit": 40 rows, one person. Ticket words are one row's.
    extra = ["biscuit" if row < 40 else f"ticket{row}" if row % 3 else "refund" for row in range(rows)]
    people = np.where(np.arange(rows) < 40, 0, np.arange(rows))
    real = _notes(rng, rows, extra)
    made = make_free_text(real, np.array(["en_US"] * 500), _context(real, 500, Subjects(rows, (people,))))
    used = {word for value in made if value for word in _words(value)}
    assert "biscuit" not in used and not any(word.startswith("ticket") for word in used)
    assert "refund" in used and {"parcel", "courier"} <= used  # common words are used


def test_no_value_holds_six_consecutive_words_of_a_real_value() -> None:
    # Thirty people wrote the same long sentence: every run of it is common, none may be copied.
    sentence = "please leave the parcel at the back door beside the green bins near the garage"
    real = pd.Series([sentence] * 30 + [" ".join(COMMON[i : i + 7]) for i in range(8)] * 5)
    made = make_free_text(real, np.array(["en_US"] * 400), _context(real, 400))
    real_runs = {tuple(words[i : i + RUN]) for words in map(_words, real) for i in range(len(words) - RUN + 1)}
    made_words = [_words(value) for value in made if value]
    assert len(made_words) > 300 and max(map(len, made_words)) >= RUN - 1
    assert not [words for words in made_words if any(tuple(words[i : i + RUN]) in real_runs
                                                      for i in range(len(words) - RUN + 1))]  # fmt: skip


def test_no_word_that_is_a_name_in_a_table_about_people() -> None:
    rng = np.random.default_rng(1)
    real = _notes(rng, 300, ["Mary", "Jones", "Will", "Harris", "called", "emailed"] * 50)
    assert {"mary", "jones", "harris"} <= name_words()
    kept = make_free_text(real, np.array(["en_US"] * 500), _context(real, 500))
    assert {"mary", "jones"} <= {word for value in kept for word in _words(value)}  # elsewhere, common words
    made = make_free_text(real, np.array(["en_US"] * 500), _context(real, 500, about_people=True))
    used = {word for value in made for word in _words(value)}
    assert not used & name_words()
    assert {"called", "emailed", "parcel"} <= used


def test_too_few_common_words_give_nulls_not_filler() -> None:
    real = pd.Series([f"call back re case {i}" for i in range(40)])  # four common words, then a number
    column = ColumnInfo("remarks", "varchar(80)", ColumnKind.STRING)
    made = fake_column(Semantic.FREE_TEXT, column, real, _context(real, 60))
    assert made.isna().all()


def test_the_column_style_stays_capitalised_phrases_ending_with_a_full_stop() -> None:
    rng = np.random.default_rng(2)
    phrases = ["Sweet and savory sauces, relishes, spreads, and seasonings.", "Desserts, candies, and sweet breads.",
               "Soft drinks, coffees, teas, beers, and ales.", "Breads, crackers, pasta, and cereal.",
               "Cheeses and sweet breads, coffees and teas."]  # fmt: skip
    real = pd.Series(rng.choice(phrases, size=200))
    made = make_free_text(real, np.array(["en_US"] * 200), _context(real, 200))
    assert all(value[0].isupper() and value.endswith(".") for value in made)


@pytest.fixture(scope="module")
def tpch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tpch")
    tables = "orders,part,customer,supplier"
    command = [_generator("tpchgen-cli"), "csv", "-s", str(TPCH_SCALE), "--tables", tables, "--output-dir", str(folder)]
    subprocess.run(command, check=True, capture_output=True)
    return folder


def _fit(values: list[str], vocabulary: set[str]) -> float:
    """Share of values (with a word) whose words are mostly (> 50%) in ``vocabulary``."""
    scores = [np.mean([word in vocabulary for word in words]) > 0.5 for words in map(_words, values) if words]
    return float(np.mean(scores))


@pytest.mark.parametrize("table, column", [("orders", "o_comment"), ("part", "p_comment"),
                                           ("customer", "c_comment"), ("supplier", "s_comment")])  # fmt: skip
def test_tpch_comments_fit_their_column_as_well_as_a_real_holdout(tpch: Path, table: str, column: str) -> None:
    real = pd.read_csv(tpch / f"{table}.csv", usecols=[column])[column].dropna()
    rng = np.random.default_rng(3)
    train = rng.random(len(real)) < 0.5
    sample = real[train].sample(min(600, int(train.sum())), random_state=4).reset_index(drop=True)
    holdout = real[~train].tolist()
    vocabulary = {word for value in holdout for word in _words(value)}
    made = make_free_text(sample, np.array(["en_US"] * 400), _context(sample, 400, about_people=table == "customer"))
    assert all(isinstance(value, str) and value for value in made)
    real_fit = _fit(real[train].tolist(), vocabulary)
    assert _fit(made, vocabulary) >= real_fit - 0.10


def test_the_text_model_is_fitted_once_per_column_not_on_every_collision_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    import catalog_synth.protect.free_text as free_text

    real = _notes(np.random.default_rng(3), 300, ["parcel"] * 300)
    fits = []
    fit = free_text.fit_text_model
    monkeypatch.setattr(free_text, "fit_text_model", lambda *args: fits.append(1) or fit(*args))
    ctx = _context(real, 300)
    first = make_free_text(real, np.array(["en_US"] * 300), ctx)
    again = make_free_text(real, np.array(["en_US"] * 20), ctx)  # a retry: the rows that collided
    other = make_free_text(real.copy(), np.array(["en_US"] * 20), ctx)  # another column's values
    assert len(fits) == 2 and len(again) == len(other) == 20
    assert all(text is not None for text in first + again)
