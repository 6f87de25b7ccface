"""Kinds of identifying value, in one registry: each binds the content recognizers that find it
in a column to the fake maker that makes its values (as Presidio's ``RecognizerRegistry`` binds
recognizers to the entities they find).

Classification asks :func:`recognize` which kind a column's content is and
:func:`identifying_semantics` which kinds identify people; fakes ask :func:`fakes_for` how to
make a column's values. A new kind is one :func:`register` call, with its own tests::

    register(Kind("loyalty_card", always(make_identifiers), (Recognizer(is_loyalty_card),)))

The built-in kinds register the same way, at the end of this module. A kind registered later is
recognised before those registered earlier, so a plugin's kind wins over the built-in ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pandas as pd

from catalog_synth.core.types import ColumnInfo, Semantic
from catalog_synth.protect.contact_fakes import (
    make_cards,
    make_emails,
    make_ibans,
    make_phones,
)
from catalog_synth.protect.fake_context import FakeMaker
from catalog_synth.protect.fake_makers import (
    address_part_maker,
    make_addresses,
    make_cities,
    make_companies,
    make_identifiers,
    make_ip_addresses,
    make_postal_codes,
    make_urls,
    make_uuids,
    person_name_maker,
)
from catalog_synth.protect.free_text import make_free_text
from catalog_synth.protect.names import address_part, is_place_name
from catalog_synth.protect.recognizers import (
    Recognizer,
    is_company,
    is_credit_card,
    is_email,
    is_ip,
    is_national_id,
    is_numbered_place,
    is_person_name,
    is_phone,
    is_street_address,
    is_url,
    is_uuid,
    is_valid_iban,
)

# The fake maker for one column of a kind, from the column and its real (non-missing) values.
FakesFor = Callable[[ColumnInfo, pd.Series], FakeMaker]


@dataclass(frozen=True)
class Kind:
    """One kind of identifying value."""

    semantic: str  # a Semantic, or a plugin's own name
    fakes_for: FakesFor
    recognizers: tuple[Recognizer, ...] = ()  # tried in order; none: found by column name only


_KINDS: dict[str, Kind] = {}
_TRIED: list[tuple[str, Recognizer]] = []  # (semantic, recognizer), in the order they are tried


def register(kind: Kind, *, first: bool = True) -> None:
    """Add a kind (replacing one of the same name). Its recognizers are tried before those of the
    kinds registered so far, or, with ``first=False``, after them."""
    unregister(kind.semantic)
    _KINDS[kind.semantic] = kind
    pairs = [(kind.semantic, recognizer) for recognizer in kind.recognizers]
    _TRIED[0 if first else len(_TRIED) : 0 if first else len(_TRIED)] = pairs


def unregister(semantic: str) -> None:
    _KINDS.pop(semantic, None)
    _TRIED[:] = [pair for pair in _TRIED if pair[0] != semantic]


def identifying_semantics() -> frozenset[str]:
    return frozenset(_KINDS)


def fakes_for(semantic: str, column: ColumnInfo, present: pd.Series) -> FakeMaker:
    """The fake maker for a column of ``semantic`` (an unknown kind: codes in the real values' shapes)."""
    kind = _KINDS.get(semantic) or _KINDS[Semantic.IDENTIFIER]
    return kind.fakes_for(column, present)


def recognize(texts: list[str]) -> str | None:
    """The first kind enough of ``texts`` (stripped, non-empty) match, or None."""
    if not texts:
        return None
    counts = Counter(texts)
    unique = len(counts) / len(texts)
    for semantic, recognizer in _TRIED:
        if unique >= recognizer.unique and _enough(recognizer.matches, counts, recognizer.share * len(texts)):
            return semantic
    return None


def _enough(matches: Callable[[str], bool], counts: Counter[str], needed: float) -> bool:
    """Whether at least ``needed`` of the texts (distinct ones with their counts) match; each
    distinct text is tried once, and trying stops as soon as the answer is known."""
    allowed_misses = sum(counts.values()) - needed
    missed = 0
    for text, count in counts.items():
        if not matches(text):
            missed += count
            if missed > allowed_misses:
                return False
    return True


def always(maker: FakeMaker) -> FakesFor:
    """The same fake maker for every column of the kind."""
    return lambda column, present: maker


def _codes(column: ColumnInfo, present: pd.Series) -> FakeMaker:
    """Codes in the real values' shapes, no longer than the column allows."""
    return partial(make_identifiers, max_length=column.length)


def _addresses_or_cities(column: ColumnInfo, present: pd.Series) -> FakeMaker:
    if part := address_part(column.name):
        return address_part_maker(part)
    return make_cities if is_place_name(column.name) else make_addresses


def _person_names(column: ColumnInfo, present: pd.Series) -> FakeMaker:
    return person_name_maker(column.name, present)


for _kind in (
    Kind(Semantic.EMAIL, always(make_emails), (Recognizer(is_email),)),
    Kind(Semantic.URL, always(make_urls), (Recognizer(is_url),)),
    Kind(Semantic.IP_ADDRESS, always(make_ip_addresses), (Recognizer(is_ip),)),
    Kind(Semantic.UUID, always(make_uuids), (Recognizer(is_uuid),)),
    Kind(Semantic.IBAN, always(make_ibans), (Recognizer(is_valid_iban),)),
    Kind(Semantic.CREDIT_CARD, always(make_cards), (Recognizer(is_credit_card),)),
    Kind(Semantic.NATIONAL_ID, _codes, (Recognizer(is_national_id),)),
    Kind(Semantic.PHONE, always(make_phones), (Recognizer(is_phone),)),
    Kind(
        Semantic.ADDRESS,
        _addresses_or_cities,
        (Recognizer(is_street_address, share=0.5, unique=0.5), Recognizer(is_numbered_place, unique=0.5)),
    ),
    # Company names carry a legal-form suffix only some of the time.
    Kind(Semantic.COMPANY, always(make_companies), (Recognizer(is_company, share=0.3, unique=0.5),)),
    Kind(Semantic.PERSON_NAME, _person_names, (Recognizer(is_person_name, unique=0.5),)),
    Kind(Semantic.POSTAL_CODE, always(make_postal_codes)),
    Kind(Semantic.FREE_TEXT, always(make_free_text)),
    Kind(Semantic.IDENTIFIER, _codes),
):
    register(_kind, first=False)
