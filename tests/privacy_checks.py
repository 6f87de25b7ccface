"""Finding real values in catalog output (files, stored GMS aspects), decoded properly.

Aspect values can be nested JSON strings with ``\\u`` escapes, so output is decoded
before searching: a grep on the raw file would miss ``Müller`` written as ``M\\u00fcller``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd
import sqlalchemy as sa

# Values this long (e-mails, phones, IBANs, street addresses, notes) must not appear even
# inside another string; shorter ones and single words (a first name inside "Michelle", a
# surname inside a made-up company or street) must only never be a whole output value.
MIN_CONTAINED_LENGTH = 10


def real_text_values(url: str, table: str, schema: str = "public") -> set[str]:
    """Every non-null value of the table's text columns."""
    return set().union(*(set(column) for column in _text_columns(url, table, schema)))


def rare_text_values(url: str, table: str, schema: str = "public", min_count: int = 5) -> set[str]:
    """Text values seen fewer than ``min_count`` times in their column: the identifying ones.

    Frequent categories (a country code, an order status) may rightly appear in
    synthetic data; the privacy config's ``min_category_count`` draws the same line.
    """
    rare: set[str] = set()
    for column in _text_columns(url, table, schema):
        counts = column.value_counts()
        rare.update(counts[counts < min_count].index)
    return rare


def _text_columns(url: str, table: str, schema: str) -> list[pd.Series]:
    engine = sa.create_engine(url)
    try:
        frame = pd.read_sql_table(table, engine, schema=schema)
    finally:
        engine.dispose()
    columns = [frame[c].dropna() for c in frame.columns if frame[c].dtype == object]
    return [column[column.map(lambda v: isinstance(v, str))] for column in columns]


def output_strings(records: Any) -> Iterator[str]:
    """Every string in the output, nested JSON strings decoded."""
    if isinstance(records, dict):
        for value in records.values():
            yield from output_strings(value)
    elif isinstance(records, list):
        for value in records:
            yield from output_strings(value)
    elif isinstance(records, str):
        yield records
        if records[:1] in ("{", "["):
            try:
                yield from output_strings(json.loads(records))
            except ValueError:
                pass


def leaked(real_values: Iterable[str], records: Any) -> set[str]:
    """Real values that appear in the output, whole or (for longer ones) inside a string."""
    strings = set(output_strings(records))
    text = "\n".join(strings)
    return {
        value
        for value in real_values
        if value in strings or (len(value) >= MIN_CONTAINED_LENGTH and not value.isalpha() and value in text)
    }


class LogLines(logging.Handler):
    """Every log record's formatted line, to search the logs for real values."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
