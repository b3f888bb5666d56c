"""Which payment card numbers (PANs) a stored value holds, by card brand, without keeping a value (6c).

A candidate is a run of 13 to 19 digits, written in one piece or in groups separated by one
space or one dash ("4111 1111 1111 1111", "5500-0000-0000-0004"), with no digit directly
before or after it. It counts as a card number only when it passes the Luhn check
(`stdnum.luhn`) and falls in a real issuer range with a length that issuer uses
(`pydantic_extra_types.payment`, brands Visa, Mastercard, American Express, Maestro,
Discover, JCB, Diners Club, UnionPay, ...). A Luhn-valid number outside every issuer range
(brand 'other') does not count: IBANs, phone numbers, dates and order numbers are not card
numbers.

The collectors pass every sampled value through `count_cards` (or `CardCount.add` / `add_row`)
inside their read loop and keep only the totals per brand. Nothing in this module logs, returns or raises with a value
or a digit of one in it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic_core import PydanticCustomError
from pydantic_extra_types.payment import PaymentCardBrand, PaymentCardNumber
from stdnum import luhn

MIN_DIGITS = 13
MAX_DIGITS = 19
_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
"""A maximal run of digit groups joined by single spaces or dashes."""
_SEPARATOR = re.compile(r"[ -]")
BRANDS: frozenset[str] = frozenset(
    str(brand) for brand in PaymentCardBrand if brand != PaymentCardBrand.other
)
"""Every card brand `card_brand` can name; a recorded count of any other name is unreadable."""


def card_brand(digits: str) -> str | None:
    """Return the card brand of a number of 13-19 digits, or None when it is no card number."""
    if not (MIN_DIGITS <= len(digits) <= MAX_DIGITS) or not digits.isdigit() or not luhn.is_valid(digits):
        return None
    try:
        brand = PaymentCardNumber.validate_brand(digits)
    except PydanticCustomError:  # an issuer's range, but a length that issuer does not use
        return None
    return None if brand == PaymentCardBrand.other else str(brand)


def _cards_in_run(groups: list[str]) -> Iterable[str]:
    """Yield the brand of every card number in one run of digit groups, without overlaps.

    The whole run is tried first; when it is no card number (a phone number written before a
    card number, say), every window of consecutive groups of 13-19 digits is, leftmost first
    and longest first, so "06 12345678 4111 1111 1111 1111" still yields Visa once.
    """
    start = 0
    while start < len(groups):
        found = False
        for end in range(len(groups), start, -1):
            digits = "".join(groups[start:end])
            if len(digits) > MAX_DIGITS:
                continue
            if len(digits) < MIN_DIGITS:
                break
            brand = card_brand(digits)
            if brand is not None:
                yield brand
                start, found = end, True
                break
        if not found:
            start += 1


def cards_in(value: object) -> Counter[str]:
    """Return how many card numbers of each brand `value` holds (text, or bytes as UTF-8)."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return Counter()
    found: Counter[str] = Counter()
    for match in _RUN.finditer(value):
        groups = _SEPARATOR.split(match.group())
        if sum(len(group) for group in groups) >= MIN_DIGITS:
            found.update(_cards_in_run(groups))
    return found


@dataclass
class CardCount:
    """The running totals of one scanned column: values examined, and card numbers per brand."""

    examined: int = 0
    values_with_cards: int = 0
    brands: Counter[str] = field(default_factory=Counter)

    def add(self, value: object) -> None:
        """Count one value and drop it."""
        self.add_row((value,))

    def add_row(self, values: Iterable[object]) -> None:
        """Count one row that holds any number of values (a document's values of one field) and drop them.

        The row is one value examined, and one value with cards when any of its values holds a
        card number, so the totals of a document store read like those of a table's column.
        """
        self.examined += 1
        found: Counter[str] = Counter()
        for value in values:
            found.update(cards_in(value))
        if found:
            self.values_with_cards += 1
            self.brands.update(found)


def count_cards(values: Iterable[object]) -> CardCount:
    """Return the totals of `values` (see `cards_in`), consuming them one by one."""
    counted = CardCount()
    for value in values:
        counted.add(value)
    return counted
