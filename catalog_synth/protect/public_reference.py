"""Public reference data recognised by content: values anyone can look up, that identify no one.

A column is public reference when most of its values are in a published list, or are of a shape
that only things have:

* countries (``pycountry`` names and codes, as :mod:`catalog_synth.protect.locales` reads them),
  states and provinces (``pycountry``'s subdivisions: names, or codes of one country, or codes
  under a name that says state or region), currencies (``pycountry``);
* courtesy titles (``Mr.``, ``Ms.``, ``Dr.``: the prefixes of Faker's person providers);
* pack sizes and quantities (``24 - 12 oz bottles``, ``10 boxes x 20 bags``): numbers beside
  units and containers only;
* the names of things (``product_name``, ``p_name``, a track's ``name``) in a table about things.

The opposite finding is :func:`names_of_parties`: labels that name people or organisations (a
music store's artists, a lookup of salespeople or client companies) are never kept as labels.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

from catalog_synth.protect.locales import country_of_value, faker_provider
from catalog_synth.protect.names import is_place_name, name_tokens
from catalog_synth.protect.recognizers import is_company, is_person_name

CONTENT_SHARE = 0.8  # of a column's values in a list, for the column to be that list
PARTY_SHARE = 0.2  # of a lookup's labels that name people or organisations, for it to name them
MAX_COURTESY_TITLES = 30  # distinct values of a column of courtesy titles

COUNTRIES = "countries"
SUBDIVISIONS = "states or provinces"
CURRENCIES = "currencies"
COURTESY_TITLES = "courtesy titles"
QUANTITIES = "pack sizes and quantities"
THING_NAMES = "names of things"
# Lists whose values say where someone is: counted by people wherever a table has people.
PLACES = frozenset({COUNTRIES, SUBDIVISIONS})

_COUNTRY_NAME = re.compile(r"(?:^|_)(?:country|country_code|nation|nationality|pays|land|pais|ctry)$|country$")
_SUBDIVISION_NAME = re.compile(r"(?:^|_)(?:state|states|province|prov|region|county|prefecture|canton|abbr"
                               r"|abbreviation|state_code|state_abbr)$")
_CURRENCY_NAME = re.compile(r"(?:^|_)(?:currency|currency_code|ccy|cur|currencies)$")
_THING_NAME = re.compile(r"(?:^|_)(?:name|title|label)$")
# Tables whose rows are things (products, parts, tracks), not people or organisations.
_THING_TABLE = re.compile(
    r"(?:^|_)(?:products?|parts?|items?|articles?|skus?|goods|merchandise|materials?|components?|ingredients?"
    r"|books?|albums?|tracks?|songs?|films?|movies?|games?|courses?|services?|plans?|menu_?items?|dishes"
    r"|catalog(?:ue)?|inventory|stock|assets?|devices?|models?|vehicles?|equipment|tools?|drugs?|medications?)$"
)
# Tables whose rows are people or organisations even when their name says nothing else.
_PARTY_TABLE = re.compile(
    r"(?:^|_)(?:artists?|authors?|composers?|performers?|bands?|vendors?|suppliers?|manufacturers?|publishers?"
    r"|shippers?|carriers?|doctors?|physicians?|nurses?|salespeople|salespersons?|sales_?reps?|agents?|brokers?"
    r"|dealers?|lawyers?|teachers?|instructors?|drivers?|clients?|companies|company|organi[sz]ations?|partners?"
    r"|firms?|merchants?|landlords?|owners?)$"
)
# Words of regions' labels ("North Midwest", "Pacific Northwest", "NY Metro").
_REGION_WORDS = frozenset(
    "north south east west northern southern eastern western northeast northwest southeast southwest midwest"
    " mid central middle upper lower inner outer greater metro metropolitan coast coastal pacific atlantic"
    " gulf bay valley highlands lowlands islands region district territory".split()
)
# Units and containers of a pack size or quantity, in English as order schemas write them.
_QUANTITY_WORDS = frozenset(
    "g gr kg mg lb lbs oz fl ml cl dl l lt ltr cc k kilo gal qt pt m cm mm in ft pc pcs pce pkg pkgs pk ct dz doz"
    " x per of each gift pack packs packet packets box boxes bag bags bottle bottles jar jars can cans tin tins"
    " piece pieces glass glasses pie pies round rounds bar bars carton cartons case cases crate crates tray trays"
    " tube tubes roll rolls sheet sheets unit units sachet sachets pouch pouches bundle bundles dozen".split()
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text.strip().casefold()).encode("ascii", "ignore").decode()


def _share(texts: list[str], test: Callable[[str], bool]) -> float:
    return sum(bool(test(text)) for text in texts) / len(texts) if texts else 0.0


@lru_cache(maxsize=1)
def _subdivisions() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Folded names of every country's states and provinces, and each country's codes (``WA``)."""
    import pycountry

    names: set[str] = set()
    codes: dict[str, set[str]] = {}
    for subdivision in pycountry.subdivisions:
        names.add(_fold(subdivision.name))
        country, _, code = subdivision.code.partition("-")
        codes.setdefault(country, set()).add(code)
    return frozenset(names), {country: frozenset(found) for country, found in codes.items()}


def _mostly_subdivisions(column: str, texts: list[str]) -> bool:
    """Names of states or provinces (of any country), or their codes: of one country, or of any
    under a name that says state or region (``LA``, ``MI`` beside ``Asturias``)."""
    names, codes = _subdivisions()
    short = [text.upper() for text in texts if 2 <= len(text) <= 3 and text.isalnum()]
    if _SUBDIVISION_NAME.search(name_tokens(column)):
        allowed = frozenset().union(*codes.values())
    else:
        allowed = max(codes.values(), key=lambda found: sum(text in found for text in short)) if short else frozenset()
    return _share(texts, lambda text: _fold(text) in names or (len(text) >= 2 and text.upper() in allowed)) >= CONTENT_SHARE


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    import pycountry

    return frozenset(_fold(spelling) for c in pycountry.currencies for spelling in (c.alpha_3, c.name))


@lru_cache(maxsize=1)
def courtesy_titles() -> frozenset[str]:
    """Folded courtesy titles of every Faker locale (``mr``, ``mrs``, ``dr``, ``frau``), dots dropped."""
    from faker.config import AVAILABLE_LOCALES

    titles: set[str] = set()
    for locale in AVAILABLE_LOCALES:
        provider = faker_provider("person", locale)
        for attribute in ("prefixes", "prefixes_male", "prefixes_female", "prefixes_nonbinary"):
            entries = getattr(provider, attribute, ()) if provider else ()
            if isinstance(entries, (dict, tuple, list)):
                titles |= {_courtesy_key(str(entry)) for entry in entries}
    return frozenset(titles - {""})


def _courtesy_key(text: str) -> str:
    return _fold(text).replace(".", "").strip()


def is_courtesy_title(text: str) -> bool:
    return _courtesy_key(text) in courtesy_titles()


def is_quantity(text: str) -> bool:
    """A number first, then numbers, units and containers only (``24 - 12 oz bottles``, ``1 kg pkg.``;
    not ``Box 12``)."""
    if not text[:1].isdigit():
        return False
    words = [word.strip(".") for word in re.findall(r"[^\W\d_]+\.?", _fold(text))]
    return bool(words) and all(word in _QUANTITY_WORDS for word in words)


def is_thing_table(table: str) -> bool:
    return bool(_THING_TABLE.search(name_tokens(table)))


def is_party_table(table: str) -> bool:
    return bool(_PARTY_TABLE.search(name_tokens(table)))


def is_thing_name(column: str) -> bool:
    """Named as the name, title or label of something (``product_name``, ``p_name``, ``title``)."""
    return bool(_THING_NAME.search(name_tokens(column)))


def public_list(column: str, texts: list[str]) -> str | None:
    """Which public list most of a text column's values (stripped, non-empty) are in, or None."""
    if not texts:
        return None
    named_country = bool(_COUNTRY_NAME.search(name_tokens(column)))
    if _share(texts, country_of_value) >= CONTENT_SHARE and (
        named_country or _share(texts, lambda text: len(text) > 3 and country_of_value(text)) >= CONTENT_SHARE
    ):
        return COUNTRIES
    if not is_place_name(column) and _mostly_subdivisions(column, texts):
        return SUBDIVISIONS
    if _share(texts, lambda text: _fold(text) in _currencies()) >= CONTENT_SHARE and (
        _CURRENCY_NAME.search(name_tokens(column)) or _share(texts, lambda text: len(text) > 3) > 0.5
    ):
        return CURRENCIES
    if len(set(texts)) <= MAX_COURTESY_TITLES and _share(texts, is_courtesy_title) >= CONTENT_SHARE:
        return COURTESY_TITLES
    if _share(texts, is_quantity) >= CONTENT_SHARE:
        return QUANTITIES
    return None


def _given_names() -> frozenset[str]:
    """Folded first names of every Faker locale's person provider."""
    return _person_names("first_names", "first_names_male", "first_names_female")


@lru_cache(maxsize=2)
def _person_names(*attributes: str) -> frozenset[str]:
    """Folded entries of these name lists of every Faker locale's person provider."""
    from faker.config import AVAILABLE_LOCALES

    names: set[str] = set()
    for locale in AVAILABLE_LOCALES:
        provider = faker_provider("person", locale)
        for attribute in attributes:
            entries = getattr(provider, attribute, ()) if provider else ()
            if isinstance(entries, (dict, tuple, list)):
                names |= {_fold(str(entry)) for entry in entries}
    return frozenset(names)


def is_place_label(text: str) -> bool:
    """A label of a region, not a person: a word of it that is no first or last name of any
    Faker locale (``Georgia Smith`` and ``George Washington`` are people) is a compass point or
    region word (``North Midwest``, ``Mid Atlantic``), a state, province or country (``NY Metro``)."""
    names, codes = _subdivisions()
    us_codes = codes.get("US", frozenset())
    for word in re.split(r"[\s/,&-]+", text.strip()):
        folded = _fold(word).strip(".")
        if folded in _given_names() or folded in _person_names("last_names"):
            continue
        if folded in _REGION_WORDS or folded in names or word in us_codes or (len(word) > 3 and country_of_value(word)):
            return True
    return False


def _names_a_party(text: str) -> bool:
    """A company (by its legal form), or a person's name whose first word is a known first name
    (and that is no region's label)."""
    if is_company(text):
        return True
    return is_person_name(text) and _fold(text.split()[0]).strip(".,") in _given_names() and not is_place_label(text)


def names_of_parties(texts: Iterable[str]) -> bool:
    """Enough labels name people or organisations (a music store's artists: "Alanis Morissette",
    "Billy Cobham") that the column is theirs, not a list of labels (genres, playlists, albums
    hold a few such words by chance, well under ``PARTY_SHARE``)."""
    return _share(list(texts), _names_a_party) >= PARTY_SHARE
