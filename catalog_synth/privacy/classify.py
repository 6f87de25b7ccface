"""Column classification: which columns identify people and must never be modelled.

A column is classified, in this order, by
1. the user's override (``public`` keeps real values, ``sensitive`` forces fakes),
2. its role as a primary or foreign key,
3. its SQL type (unsupported types, UUIDs),
4. its name (``email``, ``phone``, ``first_name``, ``iban`` ... in several languages),
5. its content (emails, phones, IBANs with checksum, card numbers with Luhn, addresses,
   company and person names, free text ...),
6. how unique its values are (identifier-like columns).
Anything left is modelled by SDV (categorical, numerical, datetime, boolean).
Reasons name the rule that fired, never a value.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from catalog_synth.privacy.values import distinct_share, non_null
from catalog_synth.types import ColumnClass, ColumnInfo, ColumnKind, SynthesisSettings, TableInfo

IDENTIFYING_SEMANTICS = frozenset({
    "email", "phone", "address", "person_name", "company", "postal_code", "iban", "credit_card",
    "national_id", "ip_address", "url", "uuid", "free_text", "identifier",
})
UNSUPPORTED = "unsupported"

# Share of (non-missing, sampled) values a content detector must match.
CONTENT_SHARE = 0.8
CONTENT_SAMPLE = 500

_KIND_SEMANTIC = {
    ColumnKind.INTEGER: "numerical",
    ColumnKind.FLOAT: "numerical",
    ColumnKind.DECIMAL: "numerical",
    ColumnKind.DATE: "datetime",
    ColumnKind.DATETIME: "datetime",
    ColumnKind.BOOLEAN: "boolean",
    ColumnKind.STRING: "categorical",
    ColumnKind.UUID: "uuid",
}

# Column-name rules, checked in order on the name's tokens (accents stripped, camelCase split,
# lower case). A rule matches the name's last tokens (its head noun: "billing_address",
# "home_phone"); ambiguous words ("name", "person") match only as the whole name.
_NAME_RULES: list[tuple[str, str]] = [
    ("email", r"e?mail|email_?address|courriel|correo"),
    ("iban", r"iban"),
    ("credit_card", r"credit_?card(_?(number|num|no))?|card_?(number|num|no)|cc_?(number|num|no)|pan"),
    ("national_id", r"ssn|social_security(_number)?|national_?id|nin|nino|passport(_?(number|no))?|tax_?id|tin"
                    r"|vat(_?(number|id))?|nir|dni|nie|cpf|aadhaar|personnummer|steuer_?id"
                    r"|driver_?licen[cs]e(_?(number|no))?|licen[cs]e_?(number|no)"),
    ("phone", r"phone(_?(number|no))?|tel|telephone|telefon|telefono|mobile(_?(number|no))?|cell(_?phone)?|fax"
              r"|msisdn|handy"),
    ("postal_code", r"zip|zip_?code|postal(_?code)?|post_?code|plz|cep|code_?postal"),
    ("address", r"address|addr|street(_?address)?|strasse|adresse|direccion|indirizzo|address_?line_?\d?"),
    ("ip_address", r"ip_?addr(ess)?|ipv4|ipv6|client_?ip|remote_?addr"),
    ("url", r"url|uri|website|homepage|web_?site"),
    ("uuid", r"uuid|guid"),
    ("company", r"company(_?name)?|employer|organi[sz]ation(_?name)?|org_?name|firm|business_?name"
                r"|entreprise|firma|empresa|societe"),
    ("person_name", r"first_?name|last_?name|full_?name|sur_?name|given_?name|family_?name|middle_?name"
                    r"|maiden_?name|(customer|client|employee|patient|contact|person)_?name"
                    r"|prenom|vorname|nachname|apellidos?|cognome"),
    ("identifier", r"username|user_?name|login|account_?(number|no|id)"),
    ("free_text", r"notes?|comments?|remarks?|description|memo|message|feedback|bio|review|free_?text"),
]
_WHOLE_NAME_RULES: list[tuple[str, str]] = [
    ("person_name", r"name|nom|nombre|person|contact"),
    ("ip_address", r"ip"),
    ("url", r"link"),
]
_AMBIGUOUS_NAME = re.compile(r"^(?:name|nom|nombre)$")
_NAME_PATTERNS = [(semantic, re.compile(rf"^(?:{tokens})$")) for semantic, tokens in _WHOLE_NAME_RULES] + [
    (semantic, re.compile(rf"(?:^|_)(?:{tokens})$")) for semantic, tokens in _NAME_RULES
]
# Place-name columns: categorical while values repeat, address fakes once they are nearly unique.
PLACE_NAME_TOKENS = r"city|town|ville|stadt|ort|ciudad|citta|municipality|locality|village|place_?of_?birth"
_PLACE_NAME = re.compile(rf"(?:^|_)(?:{PLACE_NAME_TOKENS})$")
# Names that make a nearly unique integer column an identifier (salaries are nearly unique too).
_ID_NAME = re.compile(r"(?:^|_)(?:id|ids|key|code|number|num|no|nr|ref|reference)(?:_|$)")
# Name rules apply to text and whole-number columns only ("email_verified_at" is a timestamp).
_NAMED_KINDS = {ColumnKind.STRING, ColumnKind.INTEGER, ColumnKind.DECIMAL}


@dataclass(frozen=True)
class _Decision:
    semantic: str
    reason: str
    source: str


def classify_columns(info: TableInfo, sample: pd.DataFrame, settings: SynthesisSettings) -> dict[str, ColumnClass]:
    """Classify every column of ``info`` (columns missing from ``sample`` count as empty)."""
    keys = _key_reasons(info)
    classes = {}
    for column in info.columns:
        values = sample[column.name] if column.name in sample.columns else pd.Series([], dtype=object)
        decision = _classify(column, values, keys.get(column.name), settings)
        classes[column.name] = ColumnClass(
            column=column.name,
            semantic=decision.semantic,
            identifying=decision.semantic in IDENTIFYING_SEMANTICS,
            reason=decision.reason,
            source=decision.source,
        )
    return classes


def is_public(cls: ColumnClass) -> bool:
    """Marked public in the config: real values may be emitted."""
    return cls.source == "override" and not cls.identifying


def _key_reasons(info: TableInfo) -> dict[str, str]:
    """Single-column primary keys and foreign-key columns get new keys. A composite key's other
    members (line numbers ...) are classified like any column."""
    reasons = {info.primary_key[0]: "primary key"} if len(info.primary_key) == 1 else {}
    for foreign_key in info.foreign_keys:
        for name in foreign_key.columns:
            reasons.setdefault(name, f"foreign key to {foreign_key.referred.qualified}")
    return reasons


def _classify(column: ColumnInfo, values: pd.Series, key_reason: str | None, settings: SynthesisSettings) -> _Decision:
    if column.kind is ColumnKind.UNSUPPORTED:
        return _Decision(UNSUPPORTED, f"unsupported SQL type ({column.unsupported_reason or column.sql_type})", "type")
    override = settings.overrides.get(column.name)
    if override == "public":
        semantic = "categorical" if column.kind is ColumnKind.UUID else _KIND_SEMANTIC[column.kind]
        return _Decision(semantic, "marked public in the config: real values kept", "override")
    if key_reason:
        semantic = "uuid" if column.kind is ColumnKind.UUID else "identifier"
        return _Decision(semantic, f"{key_reason}: replaced by new keys of the same shape", "key")
    if override == "sensitive":
        detected = _detect(column, values, settings)
        semantic = detected.semantic if detected and detected.semantic in IDENTIFYING_SEMANTICS else "identifier"
        return _Decision(semantic, "marked sensitive in the config", "override")
    return _detect(column, values, settings) or _Decision(
        _KIND_SEMANTIC[column.kind], f"{column.kind.value} column without identifying content", "type"
    )


def _detect(column: ColumnInfo, values: pd.Series, settings: SynthesisSettings) -> _Decision | None:
    if column.kind is ColumnKind.UUID:
        return _Decision("uuid", "UUID column: replaced by random UUIDs", "type")
    present = non_null(values)
    if column.kind in _NAMED_KINDS and (semantic := semantic_from_name(column.name)):
        if semantic == "postal_code" and _shared_by_many(present, settings):
            return _Decision("categorical", "postal codes mostly shared by many rows: modelled as categories", "name")
        if semantic != "person_name" or not _ambiguous_name(column.name) or _share(present, _is_person_name) >= 0.5:
            return _Decision(semantic, f"column name suggests {semantic.replace('_', ' ')}", "name")
    if column.kind is ColumnKind.STRING and (semantic := semantic_from_content(present)):
        return _Decision(semantic, f"values look like {semantic.replace('_', ' ')}", "content")
    if _identifier_like(column, present, settings.unique_share):
        return _high_cardinality(column, "values are nearly unique (identifier-like)")
    if column.kind is ColumnKind.STRING and _mostly_rare(present, settings.min_category_count):
        return _high_cardinality(column, f"most values are seen fewer than {settings.min_category_count} times")
    return None


def _shared_by_many(present: pd.Series, settings: SynthesisSettings) -> bool:
    """Repeating values (like a town's postal codes): categories, whose rare ones get replaced."""
    return not present.empty and distinct_share(present) < settings.unique_share and not _mostly_rare(
        present, settings.min_category_count
    )


def _high_cardinality(column: ColumnInfo, why: str) -> _Decision:
    """Identifier-like columns; unique place names get place-name fakes."""
    if is_place_name(column.name):
        return _Decision("address", f"{why}: place names", "content")
    return _Decision("identifier", why, "content")


def is_place_name(column_name: str) -> bool:
    return bool(_PLACE_NAME.search(name_tokens(column_name)))


def _mostly_rare(present: pd.Series, min_count: int) -> bool:
    """Half or more of the values are rare categories: modelling would leave little but fakes."""
    if present.empty:
        return False
    counts = present.map(str).value_counts()
    return counts[counts < min_count].sum() >= 0.5 * len(present)


def name_tokens(name: str) -> str:
    """``"CustomerEmail-Address"`` -> ``"customer_email_address"`` (accents stripped)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_name)
    return "_".join(re.findall(r"[a-z0-9]+", spaced.lower()))


def _ambiguous_name(name: str) -> bool:
    """A bare ``name`` column names people only when its values look like people's names."""
    return bool(_AMBIGUOUS_NAME.match(name_tokens(name)))


def _share(present: pd.Series, detector: Callable[[str], bool]) -> float:
    texts = [str(value).strip() for value in present.head(CONTENT_SAMPLE)]
    return sum(map(detector, texts)) / len(texts) if texts else 0.0


def semantic_from_name(name: str) -> str | None:
    tokens = name_tokens(name)
    for semantic, pattern in _NAME_PATTERNS:
        if pattern.search(tokens):
            return semantic
    return None


def _identifier_like(column: ColumnInfo, present: pd.Series, unique_share: float) -> bool:
    """Nearly unique text, or nearly unique whole numbers that look like ids (not measurements)."""
    if len(present) < 2 or distinct_share(present) < unique_share:
        return False
    if column.kind is ColumnKind.STRING:
        return True
    whole = column.kind is ColumnKind.INTEGER or (column.kind is ColumnKind.DECIMAL and column.scale == 0)
    return whole and (bool(_ID_NAME.search(name_tokens(column.name))) or _id_shaped_numbers(present))


def _id_shaped_numbers(present: pd.Series) -> bool:
    """Long numbers of one fixed length (account numbers) or a dense sequence (row ids)."""
    numbers = pd.to_numeric(present, errors="coerce").dropna().astype(float)
    if numbers.empty:
        return False
    lengths = numbers.abs().astype("int64").astype(str).str.len()
    fixed_long = lengths.nunique() == 1 and lengths.iloc[0] >= 6
    dense = (numbers.max() - numbers.min() + 1) <= 1.5 * numbers.nunique()
    return bool(fixed_long or dense)


# --- content detectors: each takes one string and says whether it matches ---

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]{2,}$")
_URL = re.compile(r"^(?:(?:https?|ftp)://|www\.)\S+$", re.IGNORECASE)
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.IGNORECASE)
_PHONE = re.compile(r"^(?:\+|00)?[\d\s().\-/]{6,}(?:\s*(?:x|ext\.?)\s*\d{1,6})?$", re.IGNORECASE)
_NATIONAL_ID = re.compile(r"^(?:\d{3}-\d{2}-\d{4}|\d{3}\s\d{2}\s\d{4}|[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]"
                          r"|\d{1,2}\s?\d{2}\s?\d{2}\s?\d{2}\s?\d{3}\s?\d{3}(?:\s?\d{2})?)$")
# Words that open a street name in many languages ("rue Alves", "Via Roma", "ул. Ленина").
_STREET_OPENERS = re.compile(
    r"^(?:rue|avenue|av|boulevard|bd|chemin|allee|impasse|place|quai|cours|route|calle|avenida|paseo|plaza"
    r"|camino|carrer|ronda|via|viale|piazza|corso|vicolo|largo|contrada|rua|travessa|praca|alameda|al|ul|ulica"
    r"|plac|aleja|ул|улица|пр|проспект|переулок|пер|ш|шоссе|наб|бул|бульвар|алл)\.?$",
    re.IGNORECASE,
)
_CJK_ADDRESS = re.compile(r"\d.*[市区町村県都道府路街号]|[市区町村県都道府路街号].*\d|丁目|番地|[로길]\s?\d")
_COMPANY_SUFFIX = re.compile(
    r"(?:^|[\s,.&-])(?:inc|llc|ltd|limited|plc|corp|corporation|co|company|group|gmbh|ag|kg|ohg|ug|se|sa|sas"
    r"|sarl|s\.a\.?|s\.a\.s\.?|spa|s\.p\.a\.?|srl|s\.r\.l\.?|bv|b\.v\.?|nv|n\.v\.?|ab|as|asa|oy|oyj|sl|s\.l\.?"
    r"|ltda|holdings?|partners|associates|industries|enterprises|solutions|technologies|systems|sons"
    r"|e\.v\.|kgaa|mbh|cie|et fils|y asociados|e figli)\.?(?:$|[\s,.])",
    re.IGNORECASE,
)
_CJK_COMPANY = re.compile(r"株式会社|有限会社|有限公司|集团|合同会社|주식회사")
_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.\-]*(?:['’.\-][^\W\d_]*)*\.?$")


def _is_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def _is_url(text: str) -> bool:
    return bool(_URL.match(text))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))


def is_valid_iban(text: str) -> bool:
    """ISO 13616: country code, check digits, and the mod-97 checksum."""
    compact = re.sub(r"[\s-]", "", text).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _is_credit_card(text: str) -> bool:
    digits = re.sub(r"[\s-]", "", text)
    return digits.isdigit() and 13 <= len(digits) <= 19 and luhn_valid(digits)


def _is_phone(text: str) -> bool:
    if not _PHONE.match(text):
        return False
    main = re.split(r"(?i)x|ext", text)[0]
    digits = sum(char.isdigit() for char in main)
    formatted = text.startswith(("+", "00", "(")) or bool(re.search(r"\d[\s().\-/]\d", main))
    return 7 <= digits <= 15 and formatted


def _is_national_id(text: str) -> bool:
    return bool(_NATIONAL_ID.match(text.upper()))


def _is_address(text: str) -> bool:
    """A house number beside a street name, a street opener, several lines, or a CJK address."""
    words = text.replace(",", " ").split()
    if not words or len(words) > 12:
        return False
    numbered = any(any(char.isdigit() for char in word) for word in words)
    named = any(sum(char.isalpha() for char in word) >= 3 for word in words)
    mostly_digits = sum(char.isdigit() for char in text) > 0.5 * sum(not char.isspace() for char in text)
    return (numbered and named and not mostly_digits) or bool(
        _STREET_OPENERS.match(unicodedata.normalize("NFKD", words[0]).encode("ascii", "ignore").decode() or words[0])
        or "\n" in text
        or _CJK_ADDRESS.search(text)
    )


def _is_company(text: str) -> bool:
    return bool(_COMPANY_SUFFIX.search(text) or _CJK_COMPANY.search(text))


def _is_person_name(text: str) -> bool:
    words = text.split()
    if _is_cjk("".join(words)):
        return len(words) <= 2 and 2 <= len("".join(words)) <= 6
    return 2 <= len(words) <= 5 and all(_NAME_WORD.match(word) and word[0].isupper() for word in words)


def _is_cjk(text: str) -> bool:
    return all(unicodedata.name(char, "").startswith(("CJK", "HANGUL", "HIRAGANA", "KATAKANA")) for char in text)


# (semantic, detector, share of matching values needed, distinct share needed)
_CONTENT_RULES: list[tuple[str, Callable[[str], bool], float, float]] = [
    ("email", _is_email, CONTENT_SHARE, 0.0),
    ("url", _is_url, CONTENT_SHARE, 0.0),
    ("ip_address", _is_ip, CONTENT_SHARE, 0.0),
    ("uuid", _is_uuid, CONTENT_SHARE, 0.0),
    ("iban", is_valid_iban, CONTENT_SHARE, 0.0),
    ("credit_card", _is_credit_card, CONTENT_SHARE, 0.0),
    ("national_id", _is_national_id, CONTENT_SHARE, 0.0),
    ("phone", _is_phone, CONTENT_SHARE, 0.0),
    ("address", _is_address, CONTENT_SHARE, 0.5),
    # Company names carry a legal-form suffix only some of the time.
    ("company", _is_company, 0.3, 0.5),
    ("person_name", _is_person_name, CONTENT_SHARE, 0.5),
]


def semantic_from_content(present: pd.Series) -> str | None:
    """The identifying semantic the values show, or None (checked on a bounded sample)."""
    texts = [str(value).strip() for value in present.head(CONTENT_SAMPLE)]
    texts = [text for text in texts if text]
    if not texts:
        return None
    unique = len(set(texts)) / len(texts)
    for semantic, detector, needed_share, needed_unique in _CONTENT_RULES:
        if unique >= needed_unique and sum(map(detector, texts)) >= needed_share * len(texts):
            return semantic
    return "free_text" if _looks_like_free_text(texts, unique) else None


def _looks_like_free_text(texts: list[str], unique: float) -> bool:
    mean_words = sum(len(text.split()) for text in texts) / len(texts)
    mean_length = sum(len(text) for text in texts) / len(texts)
    return unique >= 0.5 and (mean_words >= 6 or mean_length >= 50)
