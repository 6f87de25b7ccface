"""Phone numbers valid for a region (``phonenumbers.is_valid_number``, area codes included),
written in a column's own layout where that layout holds the region's numbers.

Random digits after a calling code are mostly no number at all (``+1 (031) ...``: no North
American area code starts with 0), and one example number per region puts every row in one area
(``+1 506``: New Brunswick). Numbers here start with a prefix ``phonenumbers`` knows for the
region (its geographic and carrier prefixes: area codes and mobile ranges), the remaining digits
drawn at random until the number is valid for the region.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from catalog_synth.protect.shapes import DIGIT

NUMBER_TRIES = 40
_PREFIX_DIGITS = 3  # digits after the calling code that make a prefix (an area code or mobile range)
_PREFIX_CHECKS = 4  # random completions tried before a prefix counts as none of the region's


def valid_phone(region: str, rng: np.random.Generator, template: str | None = None, international: bool = True) -> str | None:
    """A number valid for ``region``: in ``template``'s layout (a shape from
    :mod:`catalog_synth.protect.shapes`; its digits, kept or not, are all drawn anew) where a valid
    number fits it, else in ``phonenumbers``' international or national layout; None where
    ``phonenumbers`` knows no prefix of the region."""
    import phonenumbers

    if not national_prefixes(region):
        return None
    if template is not None:
        slots = [position for position, char in enumerate(template) if char == DIGIT or char.isdigit()]
        lead = _lead_digits(template, region)
        if lead is not None:
            for _ in range(NUMBER_TRIES):
                national = _national_digits(region, len(slots) - len(lead), rng)
                chars = list(template)
                for position, digit in zip(slots, lead + national):
                    chars[position] = digit
                text = "".join(chars)
                if is_valid_for(text, region):
                    return text
    for _ in range(NUMBER_TRIES):
        number = phonenumbers.parse(_national_digits(region, _national_length(region, rng), rng), region)
        if phonenumbers.is_valid_number_for_region(number, region):
            layout = phonenumbers.PhoneNumberFormat.INTERNATIONAL if international else phonenumbers.PhoneNumberFormat.NATIONAL
            return phonenumbers.format_number(number, layout)
    return None


def is_valid_for(text: str, region: str) -> bool:
    """``text`` is a valid number of ``region`` (international, or national there)."""
    import phonenumbers

    stripped = text.strip()
    if stripped.startswith("00"):
        stripped = "+" + stripped[2:]
    try:
        number = phonenumbers.parse(stripped, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number_for_region(number, region)


def _lead_digits(template: str, region: str) -> str | None:
    """The digits before the national number in ``template``'s layout: the calling code (with
    ``00`` before it where the layout dials so), the national trunk prefix (``0``) where the
    layout keeps it as a real shared digit, else none; None where the layout cannot hold one."""
    import phonenumbers

    text = template.lstrip()
    code = str(phonenumbers.country_code_for_region(region))
    for dialled in ("+", "00"):
        if text.startswith(dialled):
            group = text[len(dialled) :]
            calling = len(group) - len(group.lstrip(DIGIT + "0123456789"))
            return dialled.strip("+") + code if calling == len(code) else None
    trunk = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix
    first = next((char for char in text if char == DIGIT or char.isdigit()), None)
    return trunk if trunk and first == trunk else ""


def _national_digits(region: str, length: int, rng: np.random.Generator) -> str:
    """``length`` digits starting with one of the region's prefixes (area codes drawn evenly),
    the rest at random."""
    groups = national_prefixes(region)
    group = groups[int(rng.integers(len(groups)))]
    prefix = group[int(rng.integers(len(group)))][:length]
    return prefix + "".join(str(digit) for digit in rng.integers(0, 10, max(0, length - len(prefix))))


def _national_length(region: str, rng: np.random.Generator) -> int:
    """The length of a fixed-line or mobile number of the region (its example numbers')."""
    lengths = _example_lengths(region)
    return lengths[int(rng.integers(len(lengths)))]


@lru_cache(maxsize=None)
def _example_lengths(region: str) -> tuple[int, ...]:
    import phonenumbers

    kinds = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
    examples = [phonenumbers.example_number_for_type(region, kind) for kind in kinds]
    return tuple(sorted({len(str(example.national_number)) for example in examples if example})) or (10,)


@lru_cache(maxsize=None)
def national_prefixes(region: str) -> tuple[tuple[str, ...], ...]:
    """Leading national digits of valid numbers of ``region``, grouped by their first
    ``_PREFIX_DIGITS`` digits (an area code or a mobile range): the prefixes of ``phonenumbers``'
    geographic and carrier data under the region's calling code, a group kept where a random
    completion of one of its prefixes is a valid number of the region (``+1 204`` is Canada's,
    ``+1 201`` the United States', ``+1 664 491`` Montserrat's)."""
    import phonenumbers
    from phonenumbers.carrierdata import CARRIER_DATA
    from phonenumbers.geodata import GEOCODE_DATA

    code = str(phonenumbers.country_code_for_region(region))
    if code == "0":
        return ()
    groups: dict[str, list[str]] = {}
    for data in (GEOCODE_DATA, CARRIER_DATA):
        for key in data:
            if key.startswith(code) and len(key) > len(code):
                groups.setdefault(key[len(code) : len(code) + _PREFIX_DIGITS], []).append(key[len(code) :])
    rng = np.random.default_rng(0)
    length = max(_example_lengths(region))
    kept = []
    for _, prefixes in sorted(groups.items()):
        for prefix in rng.choice(prefixes, size=min(_PREFIX_CHECKS, len(prefixes)), replace=False):
            digits = prefix + "".join(str(d) for d in rng.integers(0, 10, max(0, length - len(prefix))))
            if phonenumbers.is_valid_number_for_region(phonenumbers.parse("+" + code + digits), region):
                kept.append(tuple(sorted(set(prefixes))))
                break
    return tuple(kept)
