"""Column names read as words: tokens (accents stripped, camelCase split) and place names."""

from __future__ import annotations

import re
import unicodedata

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


def name_tokens(name: str) -> str:
    """``"CustomerEmail-Address"`` -> ``"customer_email_address"`` (accents stripped)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", ascii_name)
    return "_".join(re.findall(r"[a-z0-9]+", spaced.lower()))


# Concatenated names (``billingaddress``, ``shipaddr``, ``contactname``, ``homephone``): a
# qualifier of whose value it is, glued to a head noun. Only these qualifiers count, so that
# ``megaphone`` or ``velocity`` stay what they are.
