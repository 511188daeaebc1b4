"""Parse a date typed by a person, in Dutch or English, relative to a given ``today``.

Volunteers type dates the way they speak: "za 14/3", "morgen", "14 mrt", "March 14". We try
both languages whatever the person's setting (people mix them), and use ``lang`` only where two
readings compete. ``today`` is passed in so the parser stays pure and testable. What cannot be
read with certainty is refused with ``InvalidInput`` so the bot asks again instead of guessing.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import TypeVar

from bot.errors import InvalidInput
from bot.parsing.numbers import MAX_INPUT_CHARS, normalize_typed

T = TypeVar("T")

# Words for days relative to today, per language. Data, not code.
RELATIVE_DAYS: dict[str, dict[str, int]] = {
    "nl": {"vandaag": 0, "morgen": 1, "overmorgen": 2, "gisteren": -1, "eergisteren": -2},
    "en": {
        "today": 0,
        "tomorrow": 1,
        "day after tomorrow": 2,
        "the day after tomorrow": 2,
        "yesterday": -1,
        "day before yesterday": -2,
        "the day before yesterday": -2,
    },
}

# Weekday names and abbreviations -> Python weekday (0 = Monday).
# fmt: off
WEEKDAYS: dict[str, dict[str, int]] = {
    "nl": {
        "maandag": 0, "ma": 0, "dinsdag": 1, "di": 1, "woensdag": 2, "wo": 2,
        "donderdag": 3, "do": 3, "vrijdag": 4, "vr": 4, "zaterdag": 5, "za": 5,
        "zondag": 6, "zo": 6,
    },
    "en": {
        "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
        "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
        "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
    },
}

# Month names and abbreviations -> month number.
MONTHS: dict[str, dict[str, int]] = {
    "nl": {
        "januari": 1, "jan": 1, "februari": 2, "feb": 2, "maart": 3, "mrt": 3, "mar": 3,
        "april": 4, "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
        "augustus": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10,
        "okt": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    },
    "en": {
        "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
        "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
        "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11,
        "nov": 11, "december": 12, "dec": 12,
    },
}
# fmt: on

# Words around a date that add nothing ("op zaterdag", "zaterdag a.s.", "on the 14th").
FILLER_PREFIXES: tuple[str, ...] = ("op", "on", "the", "aanstaande", "komende", "coming")
FILLER_SUFFIXES: tuple[str, ...] = ("aanstaande", "a.s.", "a.s")

# Two-digit years are read as 20xx.
CENTURY = 2000

# A day-month without a year is looked for this many years ahead (covers 29 February).
_YEARS_TO_SEARCH = 9

_ORDINAL = r"(?:st|nd|rd|th|ste|de|e)?"
_YEAR = r"(?P<y>[0-9]{4}|[0-9]{2})"
_ISO = re.compile(r"(?P<y>[0-9]{4})(?P<s>[-/.])(?P<m>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})")
_NUMERIC = re.compile(rf"(?P<d>[0-9]{{1,2}})(?P<s>[-/.])(?P<m>[0-9]{{1,2}})(?:(?P=s){_YEAR})?")
_DAY_MONTH = re.compile(
    rf"(?P<d>[0-9]{{1,2}}){_ORDINAL}\s*(?:of\s+)?(?P<mon>[^\W\d_]+)(?:\s*{_YEAR})?"
)
_MONTH_DAY = re.compile(rf"(?P<mon>[^\W\d_]+)\s*(?P<d>[0-9]{{1,2}}){_ORDINAL}(?:\s+{_YEAR})?")
_LEAD_WORD = re.compile(r"(?P<word>[^\W\d_]+)\s*(?P<rest>.+)")
_DOT_AFTER_LETTER = re.compile(r"(?<=[^\W\d_])\.")
_SPACES = re.compile(r"\s+")


def _lookup(tables: Mapping[str, Mapping[str, T]], word: str, lang: str) -> T | None:
    """Find ``word`` in the per-language tables, the person's own language first."""
    order = [lang, *(code for code in tables if code != lang)]
    for code in order:
        table = tables.get(code)
        if table is not None and word in table:
            return table[word]
    return None


def _shift(today: datetime.date, days: int) -> datetime.date:
    """Add days to today, turning calendar overflow into a domain error."""
    try:
        return today + datetime.timedelta(days=days)
    except OverflowError:
        raise InvalidInput("date.not_understood") from None


def _prepare(text: str) -> str:
    """Normalize and drop filler words and punctuation that do not change the date."""
    cleaned = normalize_typed(text).replace(",", " ")
    changed = True
    while changed:
        changed = False
        for suffix in FILLER_SUFFIXES:
            if cleaned.endswith(" " + suffix):
                cleaned, changed = cleaned[: -len(suffix)].rstrip(), True
        for prefix in FILLER_PREFIXES:
            if cleaned.startswith(prefix + " "):
                cleaned, changed = cleaned[len(prefix) :].lstrip(), True
    cleaned = _DOT_AFTER_LETTER.sub(" ", cleaned).rstrip(".!? ")
    return _SPACES.sub(" ", cleaned).strip()


def _build(day: int, month: int, year: int | None, today: datetime.date) -> datetime.date:
    """Make a date; without a year, the first occurrence on or after ``today``."""
    if year is not None:
        try:
            return datetime.date(year, month, day)
        except ValueError:
            raise InvalidInput("date.invalid", day=day, month=month, year=year) from None
    for candidate_year in range(today.year, today.year + _YEARS_TO_SEARCH):
        try:
            candidate = datetime.date(candidate_year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise InvalidInput("date.invalid", day=day, month=month, year=None)


def _year(raw: str | None) -> int | None:
    """Read a written year; two digits mean this century."""
    if raw is None:
        return None
    return CENTURY + int(raw) if len(raw) == 2 else int(raw)


def _parse_calendar(text: str, *, today: datetime.date, lang: str) -> datetime.date | None:
    """Read an explicit calendar date; None if ``text`` is not written like one."""
    if match := _ISO.fullmatch(text):
        return _build(int(match["d"]), int(match["m"]), int(match["y"]), today)
    if match := _NUMERIC.fullmatch(text):
        day, month = int(match["d"]), int(match["m"])
        if lang == "en" and month > 12 >= day:
            # "3/14" has only one possible reading for an American writer.
            day, month = month, day
        return _build(day, month, _year(match["y"]), today)
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        month_number = _lookup(MONTHS, match["mon"], lang)
        if month_number is not None:
            return _build(int(match["d"]), month_number, _year(match["y"]), today)
    return None


def parse_date(text: str, *, today: datetime.date, lang: str = "nl") -> datetime.date:
    """Read "morgen", "za", "za 14/3", "14 maart", "March 14", "2027-03-14", ... as a date.

    A bare weekday means its next occurrence strictly after today; a day and month without a
    year mean the next occurrence on or after today. Raises ``InvalidInput`` with
    "date.not_understood", "date.invalid" (params ``day``, ``month``, ``year`` or None) or
    "date.weekday_mismatch" (params ``weekday``: 0 = Monday, ``date``: the written date).
    """
    if len(text) > MAX_INPUT_CHARS * 10:
        raise InvalidInput("date.not_understood")
    cleaned = _prepare(text)
    if not cleaned or len(cleaned) > MAX_INPUT_CHARS:
        raise InvalidInput("date.not_understood")
    offset = _lookup(RELATIVE_DAYS, cleaned, lang)
    if offset is not None:
        return _shift(today, offset)
    weekday = _lookup(WEEKDAYS, cleaned, lang)
    if weekday is not None:
        return _shift(today, (weekday - today.weekday() - 1) % 7 + 1)
    if (parsed := _parse_calendar(cleaned, today=today, lang=lang)) is not None:
        return parsed
    if (lead := _LEAD_WORD.fullmatch(cleaned)) is not None:
        weekday = _lookup(WEEKDAYS, lead["word"], lang)
        if weekday is not None:
            parsed = _parse_calendar(lead["rest"], today=today, lang=lang)
            if parsed is not None:
                if parsed.weekday() != weekday:
                    raise InvalidInput("date.weekday_mismatch", weekday=weekday, date=parsed)
                return parsed
    raise InvalidInput("date.not_understood")


def check_date_window(
    d: datetime.date, *, today: datetime.date, allow_past: bool, max_days_ahead: int
) -> None:
    """Refuse dates outside what a service accepts; kept out of the parser on purpose.

    Raises ``InvalidInput`` "date.in_past" or "date.too_far" (param ``max_days``).
    """
    if not allow_past and d < today:
        raise InvalidInput("date.in_past")
    if (d - today).days > max_days_ahead:
        raise InvalidInput("date.too_far", max_days=max_days_ahead)
