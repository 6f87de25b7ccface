"""Column classification: which columns identify people and must never be modelled, which are
public reference data, and which are modelled. Identifying is a finding, not a default.

A column is classified, in this order, by
1. the user's override (``public`` keeps real values, ``sensitive`` forces fakes),
2. its role as a primary or foreign key,
3. its SQL type (unsupported types, UUIDs),
4. its name (``email``, ``phone``, ``first_name``, ``iban`` ... in several languages; a lookup
   table's short ``*_description`` labels are labels, not free text),
5. public reference content (:mod:`catalog_synth.protect.public_reference`: countries, states,
   currencies, courtesy titles, pack sizes, names of things in a table about things): kept in a
   lookup table and in a table about things, else modelled as categories counted by people
   (source ``public``),
6. its content (the recognizers of :mod:`catalog_synth.protect.recognizers`: emails, phones,
   IBANs, card numbers and national ids with checksums, addresses, company and person names),
   free text, or values the warehouse finds in an identifying column of another table; a
   lookup table's labels that name people or organisations (artists, salespeople) are names,
7. how unique its values are, counted by people (identifier-like columns, columns whose
   values are mostly held by fewer than ``k`` people).
The table's role (:class:`_Role`: about people, reachable, about things, named for parties)
comes from its name, its columns and its keys. Anything left is modelled by SDV (categorical,
numerical, datetime, boolean), except the labels of a reference table and of an enum type, whose
real values are kept. Reasons name the rule that fired, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from catalog_synth.core.types import (
    ColumnClass,
    ColumnInfo,
    ColumnKind,
    Semantic,
    SynthesisSettings,
    TableInfo,
)
from catalog_synth.core.values import distinct_share, non_null, normalized_set
from catalog_synth.protect.evidence import Evidence
from catalog_synth.protect.kinds import identifying_semantics, recognize
from catalog_synth.protect.labels import (
    CONTENT_SAMPLE,
    ID_NAME,
    are_labels,
    labels_only,
    texts_of,
    word_labels,
)
from catalog_synth.protect.names import (
    address_part,
    is_ambiguous_name,
    is_place_name,
    name_tokens,
    semantic_from_name,
)
from catalog_synth.protect.public_reference import (
    QUANTITIES,
    THING_NAMES,
    is_party_table,
    is_thing_name,
    is_thing_table,
    names_of_parties,
    public_list,
)
from catalog_synth.protect.recognizers import (
    is_company,
    is_person_name,
    looks_like_free_text,
)
from catalog_synth.protect.subjects import Subjects

UNSUPPORTED = "unsupported"


_KIND_SEMANTIC = {
    ColumnKind.INTEGER: Semantic.NUMERICAL,
    ColumnKind.FLOAT: Semantic.NUMERICAL,
    ColumnKind.DECIMAL: Semantic.NUMERICAL,
    ColumnKind.DATE: Semantic.DATETIME,
    ColumnKind.DATETIME: Semantic.DATETIME,
    ColumnKind.BOOLEAN: Semantic.BOOLEAN,
    ColumnKind.STRING: Semantic.CATEGORICAL,
    ColumnKind.UUID: Semantic.UUID,
}

# Columns of titles and labels, whose capitalised words ("Sales Support Agent") are no person's name.
_TITLE_LIKE_NAME = re.compile(
    r"(?:^|_)(?:title|job|job_title|position|role|occupation|profession|label|subject|headline|caption|department"
    r"|category|genre|type|status|album|song|track|playlist|product)$"
)
# Name rules apply to text and whole-number columns only ("email_verified_at" is a timestamp).
_NAMED_KINDS = {ColumnKind.STRING, ColumnKind.INTEGER, ColumnKind.DECIMAL}


_PEOPLE_WORDS = (
    r"customers?|clients?|employees?|staff|patients?|persons?|people|users?|members?|contacts?"
    r"|students?|applicants?|borrowers?|subscribers?|guests?|passengers?|account_?holders?|citizens?"
    r"|residents?|tenants?|donors?|voters?|individuals?|kunden?|mitarbeiter|clientes?|employes?"
)
_PEOPLE_TABLE = re.compile(rf"(?:^|_)(?:{_PEOPLE_WORDS})$")
# Any word of the name: people's things (``customer_address``) are about people too.
_PEOPLE_WORD = re.compile(rf"(?:^|_)(?:{_PEOPLE_WORDS})(?:_|$)")
_BIRTH_DATE = re.compile(r"(?:^|_)(?:birth_?(?:date|day)|date_?of_?birth|dob|birthdate|geburtsdatum)$")
# Name semantics that say a table describes persons: an address or a phone may be a company's or
# a shop's, or be copied onto an invoice; a person's name, e-mail or national id is the person's.
_PERSON_SEMANTICS = frozenset({Semantic.EMAIL, Semantic.PERSON_NAME, Semantic.NATIONAL_ID})


@dataclass(frozen=True)
class _Decision:
    semantic: str
    reason: str
    source: str


@dataclass(frozen=True)
class _Role:
    """What a table's rows are: people (or about people), things, or names of parties."""

    about_people: bool  # the table describes people
    has_people: bool  # its rows are people, about people through its keys, or reachable (an address)
    things: bool  # products, parts, tracks: no people's columns, no contact columns
    parties: bool  # named for people or organisations (artists, vendors, doctors)
    no_one: bool  # about no one: not about people or their things, refers to no table, no parties
    small_no_one: bool = False  # and small (at most reference_max_rows rows), like a lookup table

    @classmethod
    def of(cls, info: TableInfo, evidence: Evidence, reference_max_rows: int | None = None, rows: int = 0) -> _Role:
        about_people = describes_people(info)
        parties = is_party_table(info.ref.name)
        contacts = has_contact_columns(info)
        people = bool(evidence.subjects.dimensions)
        things = is_thing_table(info.ref.name) and not (about_people or parties or contacts)
        # rows that refer to other tables (orders to a customer) may be about people the listing
        # or the sample does not show: a country only three orders go to is still rare there
        refers = bool(info.foreign_keys)
        no_one = not (about_people or parties or people or refers or _PEOPLE_WORD.search(name_tokens(info.ref.name)))
        small = reference_max_rows is not None and max(info.row_count, rows) <= reference_max_rows
        return cls(about_people, about_people or contacts or people, things, parties, no_one, no_one and small)


def classify_columns(
    info: TableInfo, sample: pd.DataFrame, settings: SynthesisSettings, evidence: Evidence | None = None
) -> dict[str, ColumnClass]:
    """Classify every column of ``info`` (columns missing from ``sample`` count as empty)."""
    evidence = evidence or Evidence.of_sample(sample)
    keys = _key_reasons(info)
    role = _Role.of(info, evidence, settings.reference_max_rows, len(sample))
    classes = {}
    for column in info.columns:
        values = sample[column.name] if column.name in sample.columns else pd.Series([], dtype=object)
        decision = _classify(column, values, keys.get(column.name), settings, evidence, role)
        classes[column.name] = ColumnClass(
            column=column.name,
            semantic=decision.semantic,
            identifying=decision.semantic in identifying_semantics(),
            reason=decision.reason,
            source=decision.source,
        )
    return classes


# Sources whose real values may be emitted: the config says so, the column holds the labels of a
# reference table or public reference data in a table about no one, or the labels of an enum type
# (schema metadata). "public" is public reference data in a table with people: modelled as
# categories, its values held by fewer than k people replaced.
PUBLIC_SOURCES = frozenset({"override", "reference", "schema"})


def finding(semantic: str, identifying: bool, source: str) -> str:
    """What a column was found to be, in words (``report``): a key, identifying, free text,
    public reference (kept, or modelled as categories counted by people), or modelled."""
    if source == "key":
        return "key"
    if semantic == UNSUPPORTED:
        return "left out"
    if identifying:
        return "free text" if semantic == Semantic.FREE_TEXT else "identifying"
    if source == "override":
        return "public (config)"
    if source in ("reference", "schema"):
        return "public reference: kept"
    return "public reference: categories" if source == "public" else "modelled"


def has_contact_columns(info: TableInfo) -> bool:
    """Columns named as identifying (an address, a phone, a login ...; free text aside): the table
    describes an entity someone could be reached at (a supplier, a shop), not a list of labels."""
    return any(
        semantic_from_name(column.name) in identifying_semantics() - {Semantic.FREE_TEXT}
        and not is_ambiguous_name(column.name)
        for column in info.columns
        if column.kind is not ColumnKind.UNSUPPORTED
    )


def named_for_people(info: TableInfo) -> bool:
    return bool(_PEOPLE_TABLE.search(name_tokens(info.ref.name)))


def describes_people(info: TableInfo) -> bool:
    """Named for people, or holding a person's name (not a bare ``name``), e-mail, national id
    or birth date."""
    if named_for_people(info):
        return True
    return any(
        (semantic_from_name(column.name) in _PERSON_SEMANTICS and not is_ambiguous_name(column.name))
        or _BIRTH_DATE.search(name_tokens(column.name))
        for column in info.columns
        if column.kind is not ColumnKind.UNSUPPORTED
    )


def holds_labels_only(info: TableInfo, sample: pd.DataFrame) -> bool:
    """Every column besides its keys holds short labels: see :func:`labels_only`."""
    return labels_only(info, sample, set(_key_reasons(info)))


def is_public(cls: ColumnClass) -> bool:
    """Real values may be emitted: marked public, a reference table's labels, an enum's labels."""
    return cls.source in PUBLIC_SOURCES and not cls.identifying


def _key_reasons(info: TableInfo) -> dict[str, str]:
    """Single-column primary keys and foreign-key columns get new keys. A composite key's other
    members (line numbers ...) are classified like any column."""
    reasons = {info.primary_key[0]: "primary key"} if len(info.primary_key) == 1 else {}
    for foreign_key in info.foreign_keys:
        for name in foreign_key.columns:
            reasons.setdefault(name, f"foreign key to {foreign_key.referred.qualified}")
    return reasons


def _classify(
    column: ColumnInfo,
    values: pd.Series,
    key_reason: str | None,
    settings: SynthesisSettings,
    evidence: Evidence,
    role: _Role,
) -> _Decision:
    if column.kind is ColumnKind.UNSUPPORTED:
        return _Decision(UNSUPPORTED, f"unsupported SQL type ({column.unsupported_reason or column.sql_type})", "type")
    override = settings.override_for(column.name)
    if override == "public":
        semantic = Semantic.CATEGORICAL if column.kind is ColumnKind.UUID else _KIND_SEMANTIC[column.kind]
        return _Decision(semantic, "marked public in the config: real values kept", "override")
    if key_reason:
        semantic = Semantic.UUID if column.kind is ColumnKind.UUID else Semantic.IDENTIFIER
        return _Decision(semantic, f"{key_reason}: replaced by new keys of the same shape", "key")
    if override == "sensitive":
        detected = _detect(column, values, settings, evidence, role)
        found = detected.semantic if detected else None
        semantic = found if found in identifying_semantics() else Semantic.IDENTIFIER
        return _Decision(semantic, "marked sensitive in the config", "override")
    detected = _detect(column, values, settings, evidence, role)
    if detected:
        return detected
    if column.labels:
        return _Decision(Semantic.CATEGORICAL, "enum type: its labels are schema metadata, kept", "schema")
    if evidence.reference:
        return _Decision(_KIND_SEMANTIC[column.kind], "reference table: labels kept", "reference")
    return _Decision(_KIND_SEMANTIC[column.kind], f"{column.kind.value} column without identifying content", "type")


def _detect(
    column: ColumnInfo, values: pd.Series, settings: SynthesisSettings, evidence: Evidence, role: _Role
) -> _Decision | None:
    if column.kind is ColumnKind.UUID:
        return _Decision(Semantic.UUID, "UUID column: replaced by random UUIDs", "type")
    present = non_null(values)
    subjects = evidence.subjects
    if column.kind in _NAMED_KINDS and (semantic := semantic_from_name(column.name)):
        if semantic == Semantic.POSTAL_CODE and _shared_by_many(present, settings, subjects):
            why = "postal codes mostly shared by many people: modelled as categories"
            return _Decision(Semantic.CATEGORICAL, why, "name")
        ambiguous = semantic == Semantic.PERSON_NAME and is_ambiguous_name(column.name)
        label = semantic == Semantic.FREE_TEXT and evidence.reference and are_labels(present)  # region_description
        if not label and (not ambiguous or (role.about_people and _share(present, is_person_name) >= 0.5)):
            return _Decision(semantic, f"column name suggests {semantic.replace('_', ' ')}", "name")
    if column.kind is ColumnKind.STRING and (public := _public_reference(column, present, settings, evidence, role)):
        return public
    if column.kind is ColumnKind.STRING and (semantic := semantic_from_content(present)):
        if not (semantic == Semantic.PERSON_NAME and _not_people(column, present, role)):
            return _Decision(semantic, f"values look like {semantic.replace('_', ' ')}", "content")
    if column.kind is ColumnKind.STRING and evidence.copied_from and (copied := evidence.copied_from(column, present)):
        origin, semantic = copied
        return _Decision(semantic, f"values are those of the identifying column {origin}", "content")
    if evidence.reference and are_labels(present):
        # a lookup table's labels are unique by design (one row per label), unless they name parties
        return _party_names(column, present, role) if column.kind is ColumnKind.STRING else None
    if role.small_no_one and column.kind is ColumnKind.STRING and word_labels(column.name, present):
        return _Decision(Semantic.CATEGORICAL, "labels of a small table about no one: real values kept", "reference")
    if _identifier_like(column, present, settings.unique_share):
        return _high_cardinality(column, "values are nearly unique (identifier-like)")
    if column.kind is ColumnKind.STRING and _mostly_rare(present, settings.min_category_count, subjects):
        return _high_cardinality(column, f"most values are held by fewer than {settings.min_category_count} people")
    return None


def _public_reference(
    column: ColumnInfo, present: pd.Series, settings: SynthesisSettings, evidence: Evidence, role: _Role
) -> _Decision | None:
    """Public reference data (countries, states, currencies, courtesy titles, pack sizes, the
    names of things in a table about things): kept in a lookup table and in a table about things
    without people (names and pack sizes of things always), else modelled as categories counted
    by people (by rows where no one is known: a rare country on three orders is still rare)."""
    texts = texts_of(present)
    found = public_list(column.name, texts)
    how = "by content"
    if found is None and role.things and is_thing_name(column.name) and not names_of_parties(texts):
        found, how = THING_NAMES, "in a table about things"
    if found is None:
        return None
    things_kept = role.things and (found in (THING_NAMES, QUANTITIES) or not role.has_people)
    if evidence.reference or things_kept:
        return _Decision(Semantic.CATEGORICAL, f"public reference ({found}, {how}): real values kept", "reference")
    why = (f"public reference ({found}, {how}): modelled as categories, values held by fewer than"
           f" {settings.min_category_count} people replaced")
    return _Decision(Semantic.CATEGORICAL, why, "public")


def _party_names(column: ColumnInfo, present: pd.Series, role: _Role) -> _Decision | None:
    """A lookup table's labels that name people or organisations (artists, salespeople, client
    companies) are faked as names, never kept; other labels are kept (None)."""
    texts = texts_of(present)
    if not (names_of_parties(texts) or (role.parties and is_thing_name(column.name))):
        return None
    companies = _share(present, is_company) > _share(present, is_person_name)
    semantic = Semantic.COMPANY if companies else Semantic.PERSON_NAME
    why = f"a lookup table's labels that name {'organisations' if companies else 'people or groups'}: faked"
    return _Decision(semantic, why, "content")


def _not_people(column: ColumnInfo, present: pd.Series, role: _Role) -> bool:
    """Capitalised words that are no one's name: a column of titles or labels by its name, or, in
    a table about no one, labels that name no known person or company ("NY Metro", "Mid Atlantic")."""
    if _TITLE_LIKE_NAME.search(name_tokens(column.name)):
        return True
    return role.no_one and not names_of_parties(texts_of(present))


def _shared_by_many(present: pd.Series, settings: SynthesisSettings, subjects: Subjects) -> bool:
    """Repeating values (like a town's postal codes): categories, whose rare ones get replaced."""
    return not present.empty and distinct_share(present) < settings.unique_share and not _mostly_rare(
        present, settings.min_category_count, subjects
    )


def _high_cardinality(column: ColumnInfo, why: str) -> _Decision:
    """Identifier-like columns; unique place names and parts of street addresses get their fakes."""
    if is_place_name(column.name):
        return _Decision(Semantic.ADDRESS, f"{why}: place names", "content")
    if column.kind is ColumnKind.STRING and address_part(column.name):
        return _Decision(Semantic.ADDRESS, f"{why}: parts of street addresses", "content")
    return _Decision(Semantic.IDENTIFIER, why, "content")


def _mostly_rare(present: pd.Series, min_count: int, subjects: Subjects) -> bool:
    """Half or more of the values are held by fewer than ``min_count`` people: modelling would
    leave little but fakes (an address repeated on each invoice of one customer is one person's)."""
    if present.empty:
        return False
    counts = subjects.counts(present.map(str))
    held_by_few = counts.index[counts < min_count]
    return int(present.map(str).isin(held_by_few).sum()) >= 0.5 * len(present)


def _share(present: pd.Series, detector: Callable[[str], bool]) -> float:
    texts = [str(value).strip() for value in present.head(CONTENT_SAMPLE)]
    return sum(map(detector, texts)) / len(texts) if texts else 0.0


def _identifier_like(column: ColumnInfo, present: pd.Series, unique_share: float) -> bool:
    """Nearly unique text, or nearly unique whole numbers that look like ids (not measurements)."""
    if len(present) < 2 or distinct_share(present) < unique_share:
        return False
    if column.kind is ColumnKind.STRING:
        return True
    whole = column.kind is ColumnKind.INTEGER or (column.kind is ColumnKind.DECIMAL and column.scale == 0)
    return whole and (bool(ID_NAME.search(name_tokens(column.name))) or _id_shaped_numbers(present))


def _id_shaped_numbers(present: pd.Series) -> bool:
    """Long numbers of one fixed length (account numbers) or a dense sequence (row ids)."""
    numbers = pd.to_numeric(present, errors="coerce").dropna().astype(float)
    if numbers.empty:
        return False
    lengths = numbers.abs().astype("int64").astype(str).str.len()
    fixed_long = lengths.nunique() == 1 and lengths.iloc[0] >= 6
    dense = (numbers.max() - numbers.min() + 1) <= 1.5 * numbers.nunique()
    return bool(fixed_long or dense)


def semantic_from_content(present: pd.Series) -> str | None:
    """The identifying semantic the values show, or None (checked on a bounded sample)."""
    texts = texts_of(present)
    semantic = recognize(texts)
    if semantic is None and looks_like_free_text(texts):
        return Semantic.FREE_TEXT
    return semantic


def forbidden_identifying_values(real: pd.DataFrame, classes: dict[str, ColumnClass]) -> set[str]:
    """Normalised real values of every identifying column: no fake may equal any of them."""
    forbidden: set[str] = set()
    for name, cls in classes.items():
        if cls.identifying and name in real.columns:
            forbidden |= normalized_set(real[name])
    return forbidden
