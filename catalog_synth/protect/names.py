"""Column names read as words: tokens (accents stripped, camelCase split), place names, and the
identifying semantic a name says (``billing_address``, ``homephone``, ``Nachname``)."""

from __future__ import annotations

import re
import unicodedata

from catalog_synth.core.types import Semantic

# Place-name columns: categorical while values repeat, address fakes once they are nearly unique.
PLACE_NAME_TOKENS = r"city|town|ville|stadt|ort|ciudad|citta|municipality|locality|village|place_?of_?birth"

# Words that qualify what a column holds (billing_city, home_phone, contact_name).
QUALIFIERS = (
    r"billing|bill|billto|shipping|ship|shipto|delivery|deliver|mailing|mail|postal|home|work|office|business"
    r"|mobile|cell|contact|customer|cust|client|employee|emp|person|primary|secondary|alt|alternate|other|main"
    r"|current|prev|previous|emergency|personal|private|legal|registered|invoice|order|owner|holder|soldto|sold"
    r"|company|email|e"
)
_PLACE_NAME = re.compile(rf"(?:^|_)(?:{QUALIFIERS})?(?:{PLACE_NAME_TOKENS})$")


def is_place_name(column_name: str) -> bool:
    return bool(_PLACE_NAME.search(name_tokens(column_name)))


# One part of a street address, by the column's last tokens -> the Faker address method making it.
_ADDRESS_PARTS = [
    (re.compile(r"(?:^|_)street_?(?:type|suffix)$"), "street_suffix"),
    (re.compile(r"(?:^|_)street_?name$"), "street_name"),
    (re.compile(r"(?:^|_)(?:street|building|house)_?(?:number|num|no|nr)$"), "building_number"),
    (re.compile(r"(?:^|_)(?:suite|apartment|apt|unit)(?:_?(?:number|num|no|nr))?$"), "secondary_address"),
]


def address_part(column_name: str) -> str | None:
    """The Faker address method for a column holding one part of street addresses
    (``cc_street_type``: ``street_suffix``), or None."""
    tokens = name_tokens(column_name)
    return next((method for pattern, method in _ADDRESS_PARTS if pattern.search(tokens)), None)


def name_tokens(name: str) -> str:
    """``"CustomerEmail-Address"`` -> ``"customer_email_address"`` (accents stripped)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_name)
    return "_".join(re.findall(r"[a-z0-9]+", spaced.lower()))


# Column-name rules, checked in order on the name's tokens (accents stripped, camelCase split,
# lower case). A rule matches the name's last tokens (its head noun: "billing_address",
# "home_phone"); ambiguous words ("name", "person") match only as the whole name.
_NAME_RULES: list[tuple[str, str]] = [
    (Semantic.EMAIL, r"e?mail|email_?address|courriel|correo"),
    (Semantic.IBAN, r"iban"),
    (Semantic.CREDIT_CARD, r"credit_?card(_?(number|num|no))?|card_?(number|num|no)|cc_?(number|num|no)|pan"),
    (Semantic.NATIONAL_ID, r"ssn|social_security(_number)?|national_?id|nin|nino|passport(_?(number|no))?|tax_?id|tin"
                    r"|vat(_?(number|id))?|nir|dni|nie|cpf|aadhaar|personnummer|steuer_?id"
                    r"|driver_?licen[cs]e(_?(number|no))?|licen[cs]e_?(number|no)"
                    r"|birth_?(number|no|nr|num)|rodne_?cislo|personal_?(number|code|id)|id_?card(_?(number|no))?"),
    (Semantic.PHONE, r"phone(_?(number|no))?|tel|telephone|telefon|telefono|mobile(_?(number|no))?|cell(_?phone)?|fax"
              r"|msisdn|handy"),
    (Semantic.POSTAL_CODE, r"zip|zip_?code|postal(_?code)?|post_?code|plz|cep|code_?postal"),
    (Semantic.ADDRESS, r"address|addr|street(_?address)?|strasse|adresse|direccion|indirizzo|address_?line_?\d?"),
    (Semantic.IP_ADDRESS, r"ip_?addr(ess)?|ipv4|ipv6|client_?ip|remote_?addr"),
    (Semantic.URL, r"url|uri|website|homepage|web_?site"),
    (Semantic.UUID, r"uuid|guid"),
    (Semantic.COMPANY, r"company(_?name)?|employer|organi[sz]ation(_?name)?|org_?name|firm|business_?name"
                r"|entreprise|firma|empresa|societe"),
    (Semantic.PERSON_NAME, r"first_?name|last_?name|full_?name|sur_?name|given_?name|family_?name|middle_?name"
                    r"|maiden_?name|(customer|client|employee|patient|contact|person)_?name"
                    r"|prenom|vorname|nachname|apellidos?|cognome"),
    (Semantic.IDENTIFIER, r"username|user_?name|login|(account|acct|acc)_?(number|num|no|nr|id|to|from)|acct"),
    (Semantic.FREE_TEXT, r"notes?|comments?|remarks?|description|memo|message|feedback|bio|review|free_?text"),
]
_WHOLE_NAME_RULES: list[tuple[str, str]] = [
    (Semantic.PERSON_NAME, r"name|nom|nombre|person|contact"),
    (Semantic.IP_ADDRESS, r"ip"),
    (Semantic.URL, r"link"),
]
_AMBIGUOUS_NAME = re.compile(r"^(?:name|nom|nombre)$")
_NAME_PATTERNS = [(semantic, re.compile(rf"^(?:{tokens})$")) for semantic, tokens in _WHOLE_NAME_RULES] + [
    (semantic, re.compile(rf"(?:^|_)(?:{tokens})$")) for semantic, tokens in _NAME_RULES
]
# Concatenated names (``billingaddress``, ``shipaddr``, ``contactname``, ``homephone``): a
# qualifier of whose value it is, glued to a head noun. Only these qualifiers count, so that
# ``megaphone`` or ``velocity`` stay what they are.
_COMPOUND_HEADS: list[tuple[str, str]] = [
    (Semantic.EMAIL, r"email|emailaddress|mailaddress"),
    (Semantic.IP_ADDRESS, r"ipaddress|ipaddr"),
    (Semantic.PHONE, r"phone|phonenumber|phoneno|telephone|tel|fax|faxnumber"),
    (Semantic.POSTAL_CODE, r"postalcode|postcode|zipcode|zip"),
    (Semantic.ADDRESS, r"address|addr|street|streetaddress|addressline\d?"),
    (Semantic.COMPANY, r"companyname"),
    (Semantic.PERSON_NAME, r"name|firstname|lastname|fullname|surname|givenname|familyname|middlename"),
]
_COMPOUND_PATTERNS = [
    (semantic, re.compile(rf"(?:^|_)(?:{QUALIFIERS})(?:{heads})$")) for semantic, heads in _COMPOUND_HEADS
]


def is_ambiguous_name(name: str) -> bool:
    """A bare ``name`` column names people only when its values look like people's names."""
    return bool(_AMBIGUOUS_NAME.match(name_tokens(name)))


def semantic_from_name(name: str) -> str | None:
    """The identifying semantic a column's name says (``billingaddress`` and ``BillingAddress``
    alike), or None."""
    tokens = name_tokens(name)
    for semantic, pattern in [*_NAME_PATTERNS, *_COMPOUND_PATTERNS]:
        if pattern.search(tokens):
            return semantic
    return None
