"""Which Faker locales a table's people live in, inferred from its data.

Sources: phone country calling codes, IBAN country codes, country columns (ISO codes or
names) and, failing those, the script names are written in. Only countries seen at least
``min_count`` times count (a single foreign phone must not announce itself in the fakes).
Each synthetic row gets one locale, so its name, phone and address agree; when the table
has a country column, the row's synthetic country decides.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
from faker import Faker

from catalog_synth.privacy.classify import name_tokens
from catalog_synth.privacy.subjects import Subjects
from catalog_synth.privacy.values import non_null
from catalog_synth.types import ColumnClass

DEFAULT_LOCALE = "en_US"

COUNTRY_LOCALES = {
    "US": "en_US", "GB": "en_GB", "UK": "en_GB", "IE": "en_IE", "CA": "en_CA", "AU": "en_AU", "NZ": "en_NZ",
    "IN": "en_IN", "PH": "en_PH", "FR": "fr_FR", "BE": "nl_BE", "CH": "de_CH", "DE": "de_DE", "AT": "de_AT",
    "ES": "es_ES", "MX": "es_MX", "AR": "es_AR", "CO": "es_CO", "CL": "es_CL", "IT": "it_IT", "NL": "nl_NL",
    "PT": "pt_PT", "BR": "pt_BR", "JP": "ja_JP", "CN": "zh_CN", "TW": "zh_TW", "KR": "ko_KR", "RU": "ru_RU",
    "UA": "uk_UA", "PL": "pl_PL", "CZ": "cs_CZ", "SK": "sk_SK", "SE": "sv_SE", "NO": "no_NO", "DK": "da_DK",
    "FI": "fi_FI", "GR": "el_GR", "TR": "tr_TR", "HU": "hu_HU", "RO": "ro_RO", "BG": "bg_BG", "HR": "hr_HR",
    "SI": "sl_SI", "IL": "he_IL", "IR": "fa_IR", "TH": "th_TH", "VN": "vi_VN", "ID": "id_ID",
}
CALLING_CODES = {
    "1": "US", "44": "GB", "353": "IE", "61": "AU", "64": "NZ", "91": "IN", "63": "PH", "33": "FR", "32": "BE",
    "41": "CH", "49": "DE", "43": "AT", "34": "ES", "52": "MX", "54": "AR", "57": "CO", "56": "CL", "39": "IT",
    "31": "NL", "351": "PT", "55": "BR", "81": "JP", "86": "CN", "886": "TW", "82": "KR", "7": "RU",
    "380": "UA", "48": "PL", "420": "CZ", "421": "SK", "46": "SE", "47": "NO", "45": "DK", "358": "FI",
    "30": "GR", "90": "TR", "36": "HU", "40": "RO", "359": "BG", "385": "HR", "386": "SI", "972": "IL",
    "98": "IR", "66": "TH", "84": "VN", "62": "ID",
}
_COUNTRY_NAMES = {
    "US": ["united states", "united states of america", "usa", "u.s.a.", "u.s."],
    "GB": ["united kingdom", "great britain", "england", "scotland", "wales"], "IE": ["ireland"],
    "CA": ["canada"], "AU": ["australia"], "NZ": ["new zealand"], "IN": ["india"], "PH": ["philippines"],
    "FR": ["france"], "BE": ["belgium", "belgique", "belgie"], "CH": ["switzerland", "schweiz", "suisse"],
    "DE": ["germany", "deutschland"], "AT": ["austria", "osterreich"], "ES": ["spain", "espana"],
    "MX": ["mexico"], "AR": ["argentina"], "CO": ["colombia"], "CL": ["chile"], "IT": ["italy", "italia"],
    "NL": ["netherlands", "the netherlands", "nederland", "holland"], "PT": ["portugal"],
    "BR": ["brazil", "brasil"], "JP": ["japan", "日本"], "CN": ["china", "中国"], "TW": ["taiwan"],
    "KR": ["south korea", "korea", "republic of korea", "대한민국"], "RU": ["russia", "russian federation", "россия"],
    "UA": ["ukraine"], "PL": ["poland", "polska"], "CZ": ["czech republic", "czechia"], "SK": ["slovakia"],
    "SE": ["sweden", "sverige"], "NO": ["norway", "norge"], "DK": ["denmark", "danmark"], "FI": ["finland"],
    "GR": ["greece"], "TR": ["turkey", "turkiye"], "HU": ["hungary"], "RO": ["romania"], "BG": ["bulgaria"],
    "HR": ["croatia"], "SI": ["slovenia"], "IL": ["israel"], "IR": ["iran"], "TH": ["thailand"],
    "VN": ["vietnam", "viet nam"], "ID": ["indonesia"],
}
_NAME_TO_COUNTRY = {name: code for code, names in _COUNTRY_NAMES.items() for name in names}
_SCRIPT_COUNTRIES = {"CYRILLIC": "RU", "HIRAGANA": "JP", "KATAKANA": "JP", "HANGUL": "KR", "CJK": "CN", "GREEK": "GR"}
_COUNTRY_COLUMN_TOKENS = ("country", "country_code", "country_iso", "nation", "nationality", "pays", "land", "pais")
_TEXT_SEMANTICS = {"person_name", "address", "company"}


@lru_cache(maxsize=None)
def faker_for(locale: str) -> Faker:
    """One Faker per locale and process (building one costs tens of milliseconds)."""
    return Faker(locale)


def country_of_value(value: object) -> str | None:
    """ISO code for a country code or name (``"fr"``, ``"Deutschland"``), else None."""
    text = str(value).strip()
    if len(text) in (2, 3) and text.upper() in COUNTRY_LOCALES:
        return "GB" if text.upper() == "UK" else text.upper()
    folded = unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode() or text.casefold()
    return _NAME_TO_COUNTRY.get(folded) or _NAME_TO_COUNTRY.get(text.casefold())


def phone_calling_code(phone: str) -> str | None:
    """The international calling code of ``+33 6 ...`` or ``0049 ...``; None for national formats."""
    text = phone.strip()
    if text.startswith("+"):
        digits = "".join(char for char in text[1:5] if char.isdigit())
    elif text.startswith("00"):
        digits = "".join(char for char in text[2:6] if char.isdigit())
    else:
        return None
    for length in (3, 2, 1):
        if digits[:length] in CALLING_CODES:
            return digits[:length]
    return None


def country_column(sample: pd.DataFrame, classes: dict[str, ColumnClass]) -> str | None:
    """A modelled column that holds countries (by name, and mostly recognisable values)."""
    for name, column_class in classes.items():
        if column_class.identifying or column_class.semantic != "categorical" or name not in sample.columns:
            continue
        if name_tokens(name).endswith(_COUNTRY_COLUMN_TOKENS) and _mostly_countries(non_null(sample[name])):
            return name
    return None


def _mostly_countries(values: pd.Series) -> bool:
    head = values.head(500)
    return not head.empty and sum(country_of_value(value) is not None for value in head) >= 0.8 * len(head)


def infer_locale_weights(
    sample: pd.DataFrame, classes: dict[str, ColumnClass], min_count: int, subjects: Subjects | None = None
) -> dict[str, float]:
    """Locale -> share of rows, from the strongest evidence the table has; only countries at
    least ``min_count`` people are from count (one customer abroad must not show in the fakes)."""
    codes = _row_countries(sample, classes)
    people = (subjects or Subjects.of_rows(len(sample))).counts(codes) if not codes.empty else pd.Series(dtype=int)
    common = {code: int(count) for code, count in people.items() if count >= min_count and code in COUNTRY_LOCALES}
    if not common:
        return {DEFAULT_LOCALE: 1.0}
    rows = codes.value_counts()
    locales: Counter[str] = Counter()
    for code in common:
        locales[COUNTRY_LOCALES[code]] += int(rows[code])
    total = sum(locales.values())
    return {locale: count / total for locale, count in sorted(locales.items())}


def _row_countries(sample: pd.DataFrame, classes: dict[str, ColumnClass]) -> pd.Series:
    """The countries each sample row shows (phones, IBANs, a country column, else the script of
    names), one entry per row and country, indexed by the row's position."""
    found = [
        non_null(sample[name]).astype(str).map(_VALUE_COUNTRY[column_class.semantic])
        for name, column_class in classes.items()
        if name in sample.columns and column_class.semantic in _VALUE_COUNTRY
    ]
    country_name = country_column(sample, classes)
    if country_name:
        found.append(non_null(sample[country_name]).map(country_of_value))
    if not any(part.notna().any() for part in found):
        found = [
            non_null(sample[name]).astype(str).map(_script_country)
            for name, column_class in classes.items()
            if column_class.semantic in _TEXT_SEMANTICS and name in sample.columns
        ]
    codes = pd.concat(found) if found else pd.Series(dtype=object)
    codes = codes.dropna()
    pairs = pd.DataFrame({"row": codes.index, "code": codes.to_numpy()}).drop_duplicates()
    return pd.Series(pairs["code"].to_numpy(), index=pairs["row"].to_numpy(), dtype=object)


def _iban_country(text: str) -> str | None:
    code = text.strip()[:2].upper()
    return code if code in COUNTRY_LOCALES else None


# Identifying values that name a country: semantic -> the country code of one value (or None).
_VALUE_COUNTRY: dict[str, Callable[[str], str | None]] = {
    "phone": lambda text: CALLING_CODES.get(phone_calling_code(text) or ""),
    "iban": _iban_country,
}


def _script_country(text: str) -> str | None:
    for char in text:
        if char.isalpha():
            script = unicodedata.name(char, "").split(" ")[0]
            if script in _SCRIPT_COUNTRIES:
                return _SCRIPT_COUNTRIES[script]
    return None


def row_locales(
    n_rows: int,
    weights: dict[str, float],
    rng: np.random.Generator,
    countries: pd.Series | None = None,
) -> np.ndarray:
    """One locale per synthetic row: the row's synthetic country when known, else drawn by weight."""
    names = list(weights)
    drawn = rng.choice(names, size=n_rows, p=np.array([weights[name] for name in names]))
    if countries is None:
        return drawn
    from_country = [COUNTRY_LOCALES.get(country_of_value(value) or "", None) if pd.notna(value) else None
                    for value in countries]
    return np.array([mapped or fallback for mapped, fallback in zip(from_country, drawn)], dtype=object)
