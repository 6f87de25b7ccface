"""Labels told apart from names, codes and sentences.

A reference table keeps its labels (``ASIA``, ``MPEG-4 video file``); a table about no one keeps
its short labels made of words (``EXPRESS``, ``NY Metro``, ``large``), never codes of mixed case
(``YvxVaJI10``), ids, parts of a street address or labels that name people or organisations
(:func:`catalog_synth.protect.public_reference.names_of_parties`).
"""

from __future__ import annotations

import re

import pandas as pd

from catalog_synth.core.types import ColumnKind, TableInfo
from catalog_synth.core.values import non_null
from catalog_synth.protect.names import is_ambiguous_name, name_tokens
from catalog_synth.protect.public_reference import names_of_parties

CONTENT_SAMPLE = 500  # values of a column read by the content rules
# Mean length of a reference table's label texts (longer ones are descriptions, not labels).
LABEL_MAX_LENGTH = 40
LABEL_MAX_DIGITS = 0.3  # share of digits among a reference table's label characters
LABEL_MAX_WORDS = 3  # mean words of the labels of a table about no one (longer ones are phrases)
LABEL_WORD_SHARE = 0.8  # of a label column's values made of words, not codes
# Names that make a nearly unique integer column an identifier (salaries are nearly unique too).
ID_NAME = re.compile(r"(?:^|_)(?:id|ids|key|code|number|num|no|nr|ref|reference)(?:_|$)")
# A code's token: a lower-case letter followed by an upper-case one (``YvxVaJI10``; ``McDonald``
# is rare among labels), or a long run of letters and digits mixed.
_CODE_TOKEN = re.compile(r"[a-z][A-Z]|\b(?=\w*\d)(?=\w*[A-Za-z])\w{8,}\b")
# Parts of a street address (a shop's street is no label), by a token of the column's name.
_ADDRESS_PART = re.compile(
    r"(?:^|_)(?:street|suite|address|addr|building|apartment|apt|house|po_?box|zip|postal)(?:_|$)"
)


def texts_of(present: pd.Series) -> list[str]:
    """The first ``CONTENT_SAMPLE`` values as stripped, non-empty texts."""
    texts = [str(value).strip() for value in present.head(CONTENT_SAMPLE)]
    return [text for text in texts if text]


def are_labels(present: pd.Series) -> bool:
    """Short words, as a lookup table's labels are (``ASIA``, ``MPEG-4 video file``), not codes
    made mostly of digits (``Supplier#000000001``)."""
    if present.empty:
        return True
    texts = present.astype(str)
    digits = texts.str.count(r"\d").sum() / max(texts.str.len().sum(), 1)
    return texts.str.len().mean() <= LABEL_MAX_LENGTH and digits <= LABEL_MAX_DIGITS


def word_labels(column: str, present: pd.Series) -> bool:
    """Short labels made of words (``EXPRESS``, ``NY Metro``, ``large``, ``8AM-4PM``), naming no
    person or company: not codes of mixed case (``YvxVaJI10``), not ids or codes by name, not
    parts of a street address, not a bare ``name`` (whose it is, the table does not say), not
    sentences."""
    texts = texts_of(present)
    tokens = name_tokens(column)
    if not texts or _ADDRESS_PART.search(tokens) or ID_NAME.search(tokens) or is_ambiguous_name(column):
        return False
    if not are_labels(present):
        return False
    words = sum(len(text.split()) for text in texts) / len(texts)
    coded = sum(bool(_CODE_TOKEN.search(text)) for text in texts) / len(texts)
    return words <= LABEL_MAX_WORDS and coded <= 1 - LABEL_WORD_SHARE and not names_of_parties(texts)


def labels_only(info: TableInfo, sample: pd.DataFrame, keys: set[str]) -> bool:
    """Every column besides ``keys`` holds short labels (``Package was damaged``; a table of ship
    modes or return reasons): a small table about no one of this shape is a lookup table whether
    or not a key refers to it. Numbers, dates or labels naming parties make it data."""
    columns = [column for column in info.columns if column.name not in keys and column.name in sample.columns]
    for column in columns:
        present = non_null(sample[column.name])
        if column.kind is not ColumnKind.STRING or not are_labels(present) or names_of_parties(texts_of(present)):
            return False
    return bool(columns)
