"""Parse an amount of money typed by a person into integer cents.

Dutch people write "12,50" and "1.250"; English speakers write "12.50" and "1,250.00"; both
appear in Rotterdam chats. We read every unambiguous spelling and refuse the rest with an
``InvalidInput`` key, because a wrongly guessed amount is worse than asking again.
Cents are integers so that sums never suffer from floating point rounding.
"""

from __future__ import annotations

import re

from bot.errors import InvalidInput
from bot.parsing.numbers import MAX_INPUT_CHARS, contains_number_word, normalize_typed

# Hard ceiling when the caller gives none: 10 million euro, still fits a 32-bit column.
HARD_MAX_CENTS = 1_000_000_000

# Words meaning "costs nothing"; data, not code.
FREE_WORDS: frozenset[str] = frozenset({"gratis", "free", "kosteloos"})

_CURRENCY = r"(?:€|euros?|eur)"
_SIGN = r"[-−–—+]"
# Optional sign and currency on either side; the number itself; an optional Dutch
# round-amount tail ("12,-" / "12,–" / "12.=") or a sentence-ending period.
_AMOUNT = re.compile(
    rf"(?P<sign1>{_SIGN}?)\s*{_CURRENCY}?\s*(?P<sign2>{_SIGN}?)\s*"
    r"(?P<num>[0-9.,]*[0-9])\s*(?:[.,]\s*[-–—=]?)?\s*"
    rf"{_CURRENCY}?\.?"
)
# "12 euro 50" is how people say 12,50 out loud.
_EURO_AND_CENTS = re.compile(rf"(?P<euros>[0-9]{{1,9}})\s*{_CURRENCY}\s*(?P<cents>[0-9]{{2}})")
# "50 cent" / "50 ct".
_CENTS_ONLY = re.compile(r"(?P<cents>[0-9]{1,12})\s*(?:cents?|ct)\.?")
_DIGITS = re.compile(r"[0-9]+")


def _check_range(cents: int, *, min_cents: int, ceiling: int) -> int:
    """Apply the caller's bounds; kept apart so every accepted spelling is checked alike."""
    if cents > ceiling:
        raise InvalidInput("money.too_large", max=ceiling)
    if cents < min_cents:
        raise InvalidInput("money.too_small", min=min_cents)
    return cents


def _whole(digits: str, ceiling: int) -> int:
    """Turn a run of ASCII digits into an int, refusing absurd lengths before converting."""
    if not _DIGITS.fullmatch(digits):
        raise InvalidInput("money.not_a_number")
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(ceiling)):
        raise InvalidInput("money.too_large", max=ceiling)
    return int(significant)


def _grouped(text: str, sep: str, ceiling: int) -> int:
    """Read "1.250.000" style thousands grouping; any other grouping is not a number."""
    groups = text.split(sep)
    first, rest = groups[0], groups[1:]
    if not (1 <= len(first) <= 3) or first.startswith("0") or not rest:
        raise InvalidInput("money.not_a_number")
    if any(len(group) != 3 for group in rest):
        raise InvalidInput("money.not_a_number")
    return _whole("".join(groups), ceiling)


def _combine(euros: int, fraction: str) -> int:
    """Add a decimal fraction (at most 2 digits: cents) to whole euros."""
    if len(fraction) > 2:
        raise InvalidInput("money.too_many_decimals")
    if fraction and not _DIGITS.fullmatch(fraction):
        raise InvalidInput("money.not_a_number")
    return euros * 100 + int(fraction.ljust(2, "0") or "0")


def _number_to_cents(num: str, ceiling: int) -> int:
    """Interpret digits with "." and "," the way a Dutch or English writer meant them."""
    has_dot, has_comma = "." in num, "," in num
    if has_dot and has_comma:
        # Both present: the last one is the decimal mark, the other groups thousands.
        decimal = "." if num.rfind(".") > num.rfind(",") else ","
        grouping = "," if decimal == "." else "."
        whole, _, fraction = num.rpartition(decimal)
        if decimal in whole:
            raise InvalidInput("money.not_a_number")
        return _combine(_grouped(whole, grouping, ceiling), fraction)
    if not (has_dot or has_comma):
        return _combine(_whole(num, ceiling), "")
    sep = "." if has_dot else ","
    if num.count(sep) > 1:
        return _combine(_grouped(num, sep, ceiling), "")
    whole, _, fraction = num.partition(sep)
    # "1.250" is Dutch for one thousand two hundred fifty. "12,345" stays a decimal
    # (three decimals: refused), because Dutch writers use the comma for decimals.
    if sep == "." and len(fraction) == 3 and whole and len(whole) <= 3 and whole[0] != "0":
        return _combine(_whole(whole + fraction, ceiling), "")
    if not whole and not fraction:
        raise InvalidInput("money.not_a_number")
    return _combine(_whole(whole or "0", ceiling), fraction)


def parse_money(text: str, *, max_cents: int | None = None, min_cents: int = 0) -> int:
    """Read an amount such as "12,50", "€ 12", "1.250,00" or "12,-" and return cents.

    Raises ``InvalidInput`` with "money.not_a_number", "money.words" (typed as words),
    "money.negative", "money.too_many_decimals", "money.too_large" (param ``max``, cents) or
    "money.too_small" (param ``min``, cents).
    """
    ceiling = HARD_MAX_CENTS if max_cents is None else max_cents
    cleaned = normalize_typed(text)
    if not cleaned or len(cleaned) > MAX_INPUT_CHARS:
        raise InvalidInput("money.not_a_number")
    if cleaned.rstrip(".!") in FREE_WORDS:
        return _check_range(0, min_cents=min_cents, ceiling=ceiling)
    if match := _EURO_AND_CENTS.fullmatch(cleaned):
        cents = _whole(match["euros"], ceiling) * 100 + int(match["cents"])
        return _check_range(cents, min_cents=min_cents, ceiling=ceiling)
    if match := _CENTS_ONLY.fullmatch(cleaned):
        return _check_range(_whole(match["cents"], ceiling), min_cents=min_cents, ceiling=ceiling)
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        if contains_number_word(cleaned):
            raise InvalidInput("money.words")
        raise InvalidInput("money.not_a_number")
    negative = any(sign and sign != "+" for sign in (match["sign1"], match["sign2"]))
    if negative and any(digit in match["num"] for digit in "123456789"):
        raise InvalidInput("money.negative")
    cents = _number_to_cents(match["num"], ceiling)
    return _check_range(cents, min_cents=min_cents, ceiling=ceiling)
