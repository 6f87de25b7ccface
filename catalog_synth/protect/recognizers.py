"""Content recognizers: whether one text is a value of a kind of identifying value.

A :class:`Recognizer` wraps one check; a column is of the recognizer's kind when enough of its
sampled values pass (``share``) and they are distinct enough (``unique``). Each kind binds its
recognizers to its fake maker in :mod:`catalog_synth.protect.kinds`, which tries them in order.
Checks lean on maintained libraries: ``phonenumbers`` for international phone numbers,
``python-stdnum`` for IBANs, card numbers (Luhn) and national ids and VAT numbers of many
countries, and Faker's address data of every locale for street words ("Rua", "Via",
"-straße", "Avenue").
"""

from __future__ import annotations

import importlib
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

# Share of (non-missing, sampled) values a recognizer must match, by default.
CONTENT_SHARE = 0.8


@dataclass(frozen=True)
class Recognizer:
    matches: Callable[[str], bool]
    share: float = CONTENT_SHARE  # of the values that must match
    unique: float = 0.0  # distinct share the values must reach (repeated labels are categories)


# --- contact ------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]{2,}$")
_URL = re.compile(r"^(?:(?:https?|ftp)://|www\.)\S+$", re.IGNORECASE)
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.IGNORECASE)
_PHONE = re.compile(r"^(?:\+|00)?[\d\s().\-/]{6,}(?:\s*(?:x|ext\.?)\s*\d{1,6})?$", re.IGNORECASE)


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def is_url(text: str) -> bool:
    return bool(_URL.match(text))


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))


def is_phone(text: str) -> bool:
    """An international number ``phonenumbers`` finds possible, or a formatted national one."""
    if not _PHONE.match(text):
        return False
    if text.startswith(("+", "00")):
        import phonenumbers

        try:
            return phonenumbers.is_possible_number(phonenumbers.parse("+" + text[2:] if text[0] == "0" else text))
        except phonenumbers.NumberParseException:
            return False
    main = re.split(r"(?i)x|ext", text)[0]
    digits = sum(char.isdigit() for char in main)
    formatted = text.startswith("(") or bool(re.search(r"\d[\s().\-/]\d", main))
    return 7 <= digits <= 15 and formatted


# --- financial and national ids (python-stdnum) -------------------------------------------

def is_valid_iban(text: str) -> bool:
    from stdnum import iban

    return iban.is_valid(text)


def luhn_valid(digits: str) -> bool:
    from stdnum import luhn

    return luhn.is_valid(digits)


def is_credit_card(text: str) -> bool:
    digits = re.sub(r"[\s-]", "", text)
    return digits.isdigit() and 13 <= len(digits) <= 19 and luhn_valid(digits)


# stdnum modules of national ids and tax numbers whose checksums make chance matches rare.
NATIONAL_ID_MODULES = (
    "gb.nino", "fr.nir", "es.dni", "es.nie", "it.codicefiscale", "de.idnr", "nl.bsn", "be.nn",
    "se.personnummer", "no.fodselsnummer", "dk.cpr", "fi.hetu", "cz.rc", "sk.rc", "pl.pesel", "br.cpf",
    "ca.sin", "in_.aadhaar", "in_.pan", "mx.curp", "cl.rut", "ar.dni", "pt.nif", "ee.ik", "ro.cnp",
    "bg.egn", "hr.oib", "eu.vat",
)  # fmt: skip


@lru_cache(maxsize=1)
def _national_id_validators() -> tuple[Callable[[str], bool], ...]:
    validators = []
    for name in NATIONAL_ID_MODULES:
        try:
            validators.append(importlib.import_module(f"stdnum.{name}").is_valid)
        except ImportError:  # a module this stdnum release does not have
            continue
    return tuple(validators)


_SSN = re.compile(r"^\d{3}[- ]\d{2}[- ]\d{4}$")  # US social security numbers carry no checksum: their layout


def is_national_id(text: str) -> bool:
    """A national id or VAT number with a valid checksum in one of many countries, or a US SSN."""
    compact = re.sub(r"[\s./-]", "", text)
    if not (6 <= len(compact) <= 20) or not any(char.isdigit() for char in compact):
        return False
    if _SSN.match(text):
        from stdnum.us import ssn

        return ssn.is_valid(text)
    return any(validate(text) for validate in _national_id_validators())


# --- addresses ------------------------------------------------------------------------------

_CJK_ADDRESS = re.compile(r"\d.*[市区町村県都道府路街号]|[市区町村県都道府路街号].*\d|丁目|番地|[로길]\s?\d")
_MIN_COMPOUND = 3  # "-weg", "-vej": street words that end a word ("Theodor-Heuss-Straße")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode()


@lru_cache(maxsize=1)
def street_words() -> tuple[frozenset[str], frozenset[str]]:
    """Words that name a street in any Faker locale (``rua``, ``via``, ``avenue``, ``ave``), and
    the endings of compound street names (``strasse``, ``gade``, ``straat``), folded to ASCII."""
    from faker.config import AVAILABLE_LOCALES

    words: set[str] = set()
    endings: set[str] = set()
    for locale in AVAILABLE_LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.address.{locale}").Provider
        except ImportError:
            continue
        for attribute in dir(provider):
            entries = getattr(provider, attribute)
            if not attribute.startswith("street_") or attribute.endswith(("formats", "titles")):
                continue
            for entry in entries if isinstance(entries, (tuple, list)) else ():
                folded = _fold(str(entry)).strip(" .-")
                if not folded.isalpha():
                    continue
                words.add(folded)
                if len(folded) >= _MIN_COMPOUND and ("suffix" in attribute or str(entry)[:1].islower()):
                    endings.add(folded)
    return frozenset(words), frozenset(endings)


def is_numbered_place(text: str) -> bool:
    """A number beside a word of three letters or more, in a short text of several words: most
    addresses, and some other things (which is why a column needs most of its values to match)."""
    words = text.replace(",", " ").split()
    if len(words) < 2 or len(words) > 12:
        return False
    numbered = any(any(char.isdigit() for char in word) for word in words)
    named = any(sum(char.isalpha() for char in word) >= 3 for word in words)
    mostly_digits = sum(char.isdigit() for char in text) > 0.5 * sum(not char.isspace() for char in text)
    return numbered and named and not mostly_digits


def is_street_address(text: str) -> bool:
    """A house number beside a street word of some locale, several lines, or a CJK address."""
    if "\n" in text.strip() or _CJK_ADDRESS.search(text):
        return True
    tokens = re.findall(r"[^\W_]+(?:[-'][^\W_]+)*", text)
    if not tokens or len(tokens) > 14:
        return False
    numbered = any(any(char.isdigit() for char in token) for token in tokens)
    if not numbered or sum(char.isdigit() for char in text) > 0.5 * sum(not char.isspace() for char in text):
        return False
    words, endings = street_words()
    for token in tokens:
        folded = _fold(token)
        if folded in words or any(folded.endswith(ending) and folded != ending for ending in endings):
            return True
    return False


# --- names of people and companies ----------------------------------------------------------

_COMPANY_SUFFIX = re.compile(
    r"(?:^|[\s,.&-])(?:inc|llc|ltd|limited|plc|corp|corporation|co|company|group|gmbh|ag|kg|ohg|ug|se|sa|sas"
    r"|sarl|s\.a\.?|s\.a\.s\.?|spa|s\.p\.a\.?|srl|s\.r\.l\.?|bv|b\.v\.?|nv|n\.v\.?|ab|as|asa|oy|oyj|sl|s\.l\.?"
    r"|ltda|holdings?|partners|associates|industries|enterprises|solutions|technologies|systems|sons"
    r"|e\.v\.|kgaa|mbh|cie|et fils|y asociados|e figli)\.?(?:$|[\s,.])",
    re.IGNORECASE,
)
_CJK_COMPANY = re.compile(r"株式会社|有限会社|有限公司|集团|合同会社|주식회사")
_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.\-]*(?:['’.\-][^\W\d_]*)*\.?$")


def is_company(text: str) -> bool:
    return bool(_COMPANY_SUFFIX.search(text) or _CJK_COMPANY.search(text))


def is_person_name(text: str) -> bool:
    words = text.split()
    if is_cjk("".join(words)):
        return len(words) <= 2 and 2 <= len("".join(words)) <= 6
    return 2 <= len(words) <= 5 and all(_NAME_WORD.match(word) and word[0].isupper() for word in words)


def is_cjk(text: str) -> bool:
    return all(unicodedata.name(char, "").startswith(("CJK", "HANGUL", "HIRAGANA", "KATAKANA")) for char in text)


def looks_like_free_text(texts: Iterable[str]) -> bool:
    texts = list(texts)
    if not texts:
        return False
    unique = len(set(texts)) / len(texts)
    mean_words = sum(len(text.split()) for text in texts) / len(texts)
    mean_length = sum(len(text) for text in texts) / len(texts)
    return unique >= 0.5 and (mean_words >= 6 or mean_length >= 50)
