"""Validation by query shape: a query that differs from a checked one only in its numbers gets the
same answer as a full check, without sqlglot's parser."""

from __future__ import annotations

import pytest

from catalog_synth.serve.errors import QueryRefused
from catalog_synth.serve.query_shapes import ShapeCache, shape_of
from catalog_synth.serve.validator import TableCatalog, ValidatedQuery, validate
from tests.test_sandbox_validator import SINGLE


class CountingValidate:
    """The real validator, counting the queries it checks in full."""

    def __init__(self, catalog: TableCatalog):
        self.catalog = catalog
        self.checked: list[str] = []

    def __call__(self, sql: str, dialect: str) -> ValidatedQuery:
        self.checked.append(sql)
        return validate(sql, self.catalog, dialect)


# (dialect, a query template with {a} and {b} for numbers)
FAMILIES = [
    ("postgres", "SELECT * FROM public.people WHERE id = {a}"),
    ("postgres", "SELECT id, amount * {b} FROM public.orders WHERE amount BETWEEN {a} AND {b} LIMIT {a}"),
    ("postgres", "SELECT * FROM public.people WHERE id IN ({a}, {b}, -{a}) ORDER BY 1 OFFSET {b}"),
    ("mysql", "SELECT * FROM public.orders WHERE amount > {b} LIMIT {a}, {a}"),
    ("tsql", "SELECT TOP {a} * FROM public.orders WHERE amount < {b}"),
    ("bigquery", "SELECT DATE_ADD(created, INTERVAL {a} DAY) FROM public.orders WHERE id = {a}"),
    ("duckdb", "SELECT * FROM range({a}) t(x) WHERE x % {a} = {b}"),
]
VALUES = [("1", "2.5"), ("42", "0.001"), ("987654321", "12345.67")]


@pytest.mark.parametrize("dialect,template", FAMILIES)
def test_a_shape_is_checked_once_and_answers_as_a_full_check(dialect: str, template: str) -> None:
    counting = CountingValidate(SINGLE)
    cache = ShapeCache(counting)
    for a, b in VALUES:
        sql = template.format(a=a, b=b)
        assert cache.validate(sql, dialect) == validate(sql, SINGLE, dialect)
    assert len(counting.checked) == 1, counting.checked  # the shape, once
    assert "730471" in counting.checked[0]


def test_integers_and_decimals_are_different_shapes() -> None:
    counting = CountingValidate(SINGLE)
    cache = ShapeCache(counting)
    for sql in ("SELECT * FROM public.orders WHERE amount = 3", "SELECT * FROM public.orders WHERE amount = 3.5"):
        assert cache.validate(sql, "postgres") == validate(sql, SINGLE, "postgres")
    assert len(counting.checked) == 2


def test_strings_and_names_with_digits_stay_part_of_the_shape() -> None:
    shape = shape_of("SELECT 'id 7', t1.x2 FROM public.people t1 WHERE t1.id = 7 -- 8", "postgres")
    assert shape is not None
    assert shape.numbers == ("7",)
    assert shape.text == "SELECT 'id 7', t1.x2 FROM public.people t1 WHERE t1.id = 730471000 -- 8"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM public.people",  # no numbers: the exact cache
        "SELECT * FROM public.people WHERE id = 7304710001",  # the sentinels' digits already there
        "SELECT * FROM public.people WHERE id = 1e3",  # not a plain number
    ],
)
def test_queries_without_a_usable_shape_are_checked_in_full(sql: str) -> None:
    counting = CountingValidate(SINGLE)
    cache = ShapeCache(counting)
    assert cache.validate(sql, "postgres") == validate(sql, SINGLE, "postgres")
    assert counting.checked == [sql]


def test_a_refused_shape_is_refused_with_the_users_own_text() -> None:
    cache = ShapeCache(CountingValidate(SINGLE))
    for number in ("5", "6"):
        with pytest.raises(QueryRefused, match="secret") as refused:
            cache.validate(f"SELECT * FROM public.secret WHERE id = {number}", "postgres")
        assert "730471" not in str(refused.value)


def test_a_translation_that_drops_or_repeats_a_number_is_not_cached() -> None:
    """A dialect rewrite that duplicated a number (or lost one) could not be filled in safely:
    such shapes are checked in full each time."""
    checked: list[str] = []

    def repeating(sql: str, dialect: str) -> ValidatedQuery:
        checked.append(sql)
        real = validate(sql, SINGLE, dialect)
        return ValidatedQuery(sql=f"{real.sql} /* {real.sql} */", tables=real.tables)

    cache = ShapeCache(repeating)
    for number in ("5", "6"):
        sql = f"SELECT * FROM public.people WHERE id = {number}"
        assert number in cache.validate(sql, "postgres").sql
    assert checked[1:] == ["SELECT * FROM public.people WHERE id = 5", "SELECT * FROM public.people WHERE id = 6"]
