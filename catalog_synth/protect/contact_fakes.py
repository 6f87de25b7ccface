"""Fakes of contact and payment values: phones valid for the row's country, IBANs and card numbers
with valid checksums, e-mails at domains that fit the row (and that spell its fake name).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from catalog_synth.core.types import ColumnInfo
from catalog_synth.core.values import distinct_share, normalize, normalized_set
from catalog_synth.protect.fake_context import FakeContext, pooled
from catalog_synth.protect.locales import (
    DEFAULT_LOCALE,
    locale_country,
    locale_of_country,
    phone_region,
)
from catalog_synth.protect.phones import is_valid_for, valid_phone
from catalog_synth.protect.shapes import LocalShapes, build_shapes, fill

# The least share of fake email user names that get a number, as real ones often do.
EMAIL_NUMBERED_SHARE = 0.3


# The least share of a phone column's real values that are valid numbers for the column's phones
# to be valid too; below it (a benchmark's made-up numbers) phones keep the column's shapes only.
VALID_PHONE_SHARE = 0.5
VALID_PHONE_CHECKED = 500  # real numbers checked for that share (phonenumbers: ~40 µs each)


def make_phones(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """Phones of the row's country: in a common real shape of that country (calling code kept);
    for a country the real column shows too few of, in the layout ``phonenumbers`` gives that
    country's numbers (international when the column writes numbers so); else Faker's. Where the
    real numbers are valid ones, so are the fakes, for the row's country, area code included."""
    shapes = LocalShapes.build(values, ctx.min_count, _calling_code_length, phone_locale)
    texts = values.astype(str).str.strip()
    international = bool(len(texts)) and bool(texts.str.match(r"^(?:\+|00)").mean() >= 0.5)
    valid = _valid_share(texts, locales) >= VALID_PHONE_SHARE
    out = []
    for locale in locales:
        region = locale_country(locale)
        own_layout = locale in shapes.by_locale or not shapes.by_locale  # the row's country, or a one-country column
        if valid and region:
            template = shapes.pick(locale, ctx.rng) if own_layout else None
            phone = valid_phone(region, ctx.rng, template, international)
        elif own_layout:
            phone = shapes.fill(locale, ctx)
        else:
            phone = valid_phone(region, ctx.rng) if international and region else _locale_phone(locale, region, ctx)
        if not valid and international and region and phone_region(phone or "") != region:  # +1 (452): not Canada's
            phone = valid_phone(region, ctx.rng)
        out.append(phone or _locale_phone(locale, region, ctx))
    return out


def _locale_phone(locale: str, region: str | None, ctx: FakeContext) -> str:
    """Faker's phone of ``locale``, or a valid number of its country where Faker has no phone
    provider for it (``en_PH``)."""
    faker = ctx.faker(locale)
    if hasattr(faker, "phone_number"):
        return faker.phone_number()
    return (valid_phone(region, ctx.rng) if region else None) or ctx.faker(DEFAULT_LOCALE).phone_number()


def _valid_share(texts: pd.Series, locales: np.ndarray) -> float:
    """Share of the real numbers valid for their own country (international ones) or one of the
    rows' countries (national ones: ``(206) 555-9857`` beside ``(171) 555-2222``)."""
    if texts.empty or not len(locales):
        return 0.0
    regions = sorted({locale_country(str(locale)) for locale in pd.unique(locales)} - {None}) or ["US"]

    def valid(text: str) -> bool:
        own = phone_region(text)
        return is_valid_for(text, own) if own else any(is_valid_for(text, region) for region in regions)

    return float(np.mean([valid(text) for text in texts.head(VALID_PHONE_CHECKED)]))


def make_ibans(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """IBANs in a common real country and layout (the row's country first), with a valid checksum."""
    shapes = LocalShapes.build(values, ctx.min_count, lambda _: 2, _iban_locale)
    return [with_iban_checksum(shapes.fill(locale, ctx) or ctx.faker(locale).iban()) for locale in locales]


def phone_locale(text: str) -> str | None:
    return locale_of_country(phone_region(text))


def _iban_locale(text: str) -> str | None:
    return locale_of_country(text[:2].upper())


def _calling_code_length(text: str) -> int:
    """Characters up to the end of the country calling code (``+33``, ``0049``), 0 without one."""
    region = phone_region(text)
    if not region:
        return 0
    import phonenumbers

    code = str(phonenumbers.country_code_for_region(region))
    return text.index(code) + len(code) if code in text else 0


def with_iban_checksum(text: str) -> str:
    """``text`` with its two IBAN check digits recomputed (separators kept in place)."""
    from stdnum import iban

    positions = [index for index, char in enumerate(text) if char.isalnum()]
    compact = "".join(text[index] for index in positions).upper()
    check = iban.calc_check_digits(compact)
    chars = list(text)
    chars[positions[2]], chars[positions[3]] = check
    return "".join(chars)


def make_cards(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """Card numbers in a common real layout and network (first digit), with a valid Luhn digit."""
    texts = values.astype(str).str.strip().tolist()
    shapes = build_shapes(texts, ctx.min_count, keep=lambda _: 1)
    out = []
    for locale in locales:
        text = fill(shapes.pick(ctx.rng), ctx.rng) if shapes else ctx.faker(locale).credit_card_number()
        out.append(with_luhn_digit(text))
    return out


def with_luhn_digit(text: str) -> str:
    """``text`` with its last digit set so that its digits pass the Luhn check."""
    from stdnum import luhn

    positions = [index for index, char in enumerate(text) if char.isdigit()]
    digits = "".join(text[index] for index in positions)
    chars = list(text)
    chars[positions[-1]] = luhn.calc_check_digit(digits[:-1])
    return "".join(chars)


def make_emails(values: pd.Series, locales: np.ndarray, ctx: FakeContext) -> list[str]:
    """Faker user names at the real column's common domains (rare ones, like employers', never)
    that fit the row's country (``wanadoo.fr`` for a French row, ``gmail.com`` for any), else at
    a free mail domain of the row's locale.

    As many user names as the real column has distinct addresses get a number (``ann.lee4821``).
    """
    texts = values.astype(str).str.strip().tolist()
    domains = (
        values.astype(str).str.strip().str.rsplit("@", n=1).str[-1].str.lower()[values.astype(str).str.contains("@")]
    )
    common = {domain: int(count) for domain, count in ctx.people(domains).items() if count >= ctx.min_count}
    common_share = sum(common.values()) / max(1, len(texts))
    names, weights = np.array(list(common), dtype=object), np.array(list(common.values()), dtype=float)
    n_rows = len(locales)
    users = pooled(lambda faker: faker.user_name(), locales, ctx)
    numbered = ctx.rng.random(n_rows) < max(EMAIL_NUMBERED_SHARE, distinct_share(values))
    numbers = ctx.rng.integers(10, 10_000, n_rows).astype(str)
    domain = pooled(lambda faker: faker.free_email_domain(), locales, ctx)
    at_common = ctx.rng.random(n_rows) < common_share
    for locale in pd.unique(locales[at_common]):
        rows = np.flatnonzero(at_common & (locales == locale))
        fits = np.array([_domain_fits(name, locale_country(str(locale))) for name in names], dtype=bool)
        if fits.any():
            chosen = ctx.rng.choice(int(fits.sum()), size=len(rows), p=weights[fits] / weights[fits].sum())
            domain[rows] = names[fits][chosen]
    emails = [
        f"{user}{number if with_number else ''}@{at}"
        for user, number, with_number, at in zip(users, numbers, numbered, domain)
    ]
    return [email.lower() for email in emails] if all(text == text.lower() for text in texts) else emails


# How people spell their name before the @ (g: given name, f: family name), and how often.
_NAMED_USERS = (("{g}.{f}", 0.4), ("{g}{f}", 0.2), ("{g}_{f}", 0.1), ("{i}{f}", 0.2), ("{g}", 0.1))


def emails_following_names(emails: pd.Series, names: pd.DataFrame, column: ColumnInfo, ctx: FakeContext) -> pd.Series:
    """The e-mail fakes with the user part spelt from the row's fake name (``kyle.gibson41@...``:
    the fake's number and domain kept), wherever that address is neither a real one (the sample,
    the whole column in the warehouse) nor another row's; elsewhere the fake stays as made.
    ``names`` holds each row's fake ``given`` and ``family`` name."""
    patterns, weights = zip(*_NAMED_USERS)
    chosen = ctx.rng.choice(len(patterns), size=len(emails), p=np.array(weights) / sum(weights))
    candidates = [
        _named_address(email, given, family, patterns[pattern])
        for email, given, family, pattern in zip(emails, names["given"], names["family"], chosen)
    ]
    spelt = [position for position, candidate in enumerate(candidates) if candidate is not None]
    held = {spelt[i] for i in ctx.held_in_warehouse(column, "email", [candidates[p] for p in spelt])}
    out, seen = emails.copy(), set(normalized_set(emails))
    for position in spelt:
        key = normalize(candidates[position])
        if position not in held and key not in seen:
            out.iloc[position] = candidates[position]
            seen.add(key)
    return out


def _named_address(email: Any, given: Any, family: Any, pattern: str) -> str | None:
    if not isinstance(email, str) or "@" not in email or not isinstance(given, str) or not isinstance(family, str):
        return None
    user, domain = email.rsplit("@", 1)
    g, f = _ascii_word(given), _ascii_word(family)
    if not g or not f:
        return None
    number = re.search(r"\d*$", user).group()
    return f"{pattern.format(g=g, f=f, i=g[0])}{number}@{domain}"


def _ascii_word(text: str) -> str:
    """``Éléonore`` -> ``eleonore``, ``O'Hehir`` -> ``ohehir``: letters only, without accents."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum())


def _domain_fits(domain: str, country: str | None) -> bool:
    """A mail domain fits a row of ``country``: a generic one (``.com``), or the country's own."""
    top = domain.rsplit(".", 1)[-1]
    return len(top) > 2 or (country is not None and top == ("uk" if country == "GB" else country.lower()))
