"""Tests for the typed-input parsers: every accepted spelling, every refusal key, and robustness.

The parsers sit directly behind a chat box, so besides the table-driven cases we feed them
random text (hypothesis) and check that nothing but ``InvalidInput`` or a valid value comes out.
"""

from __future__ import annotations

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.parsing.dates import check_date_window, parse_date
from bot.parsing.money import HARD_MAX_CENTS, parse_money
from bot.parsing.numbers import HARD_MAX_COUNT, parse_count

# Monday 23 November 2026: in November, so day-months like "14 maart" fall in next year.
TODAY = datetime.date(2026, 11, 23)
D = datetime.date

# Nasty strings every parser must survive without a bare exception.
HOSTILE_INPUTS: list[str] = [
    "",
    " ",
    "\t\n\r",
    "\x00",
    "\x00\x01\x1f\x7f",
    "😀",
    "12😀",
    "💶 12",
    "\u200b",
    "\u200b\u200c\u200d\ufeff",
    "\u202e21\u202c",
    "\u200f12,50\u200f",
    "مرحبا",
    "שלום 12",
    "١٢",
    "۱۲/۳",
    "١٢,٥٠",
    "½",
    "¹²",
    "ǅ",
    "ﷺ",
    "ﷺ" * 5000,
    "a" * 10_000,
    "1" * 10_000,
    "9" * 5000 + ",99",
    "-" + "1" * 10_000,
    "1." * 5000,
    "1/" * 5000,
    "za " * 3000,
    "\ud7ff\ue000\uffff",
    "12\u0000,50",
    "14/3\u0000",
    "31/31/31",
    "0/0",
    "00-00-0000",
    "9999-12-31",
    "0000-01-01",
    "99/99/99",
    ".",
    ",",
    ",-",
    "€",
    "-",
    "±",
    "~",
]


def _outcome(func: object, text: str) -> object:
    """Call a parser; return its value or the InvalidInput key, letting anything else raise."""
    try:
        return func(text)  # type: ignore[operator]
    except InvalidInput as exc:
        return exc.key


# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------

MONEY_ACCEPTED: list[tuple[str, int]] = [
    ("12", 1200),
    ("12,50", 1250),
    ("12.50", 1250),
    ("12.5", 1250),
    ("12,5", 1250),
    ("€ 12,50", 1250),
    ("€12,50", 1250),
    ("€\u00a012,50", 1250),
    ("12,50 euro", 1250),
    ("12,50 EUR", 1250),
    ("12 euros", 1200),
    ("EUR 12", 1200),
    ("eur12", 1200),
    ("12,-", 1200),
    ("12,–", 1200),
    ("12,—", 1200),
    ("12.-", 1200),
    ("€ 12,-", 1200),
    ("12 €", 1200),
    ("12€", 1200),
    ("1.250", 125_000),
    ("1.250,00", 125_000),
    ("1.250,5", 125_050),
    ("1,250.00", 125_000),
    ("1.250.000", 125_000_000),
    ("1,250,000", 125_000_000),
    ("12.345", 1_234_500),
    ("1.25", 125),
    ("0", 0),
    ("0,00", 0),
    ("-0", 0),
    ("0,5", 50),
    (",50", 50),
    ("012", 1200),
    ("+5", 500),
    ("  12,50  ", 1250),
    ("\n12\n", 1200),
    ("12.", 1200),
    ("12,50.", 1250),
    ("\u200b12,50\u200b", 1250),
    ("\u200f12,50", 1250),
    ("１２,５０", 1250),
    ("12 euro 50", 1250),
    ("50 cent", 50),
    ("50 ct", 50),
    ("gratis", 0),
    ("Free", 0),
]

MONEY_REFUSED: list[tuple[str, str]] = [
    ("twaalf", "money.words"),
    ("twelve", "money.words"),
    ("tien euro", "money.words"),
    ("€ twaalf", "money.words"),
    ("vijfentwintig", "money.words"),
    ("twenty-five", "money.words"),
    ("een tientje", "money.words"),
    ("abc", "money.not_a_number"),
    ("", "money.not_a_number"),
    ("   ", "money.not_a_number"),
    ("€", "money.not_a_number"),
    ("euro", "money.not_a_number"),
    ("12 appels", "money.not_a_number"),
    ("12, 50", "money.not_a_number"),
    ("1.2.3", "money.not_a_number"),
    ("1,2.5", "money.not_a_number"),
    ("1.250,00,00", "money.not_a_number"),
    ("12..5", "money.not_a_number"),
    ("١٢", "money.not_a_number"),
    ("-5", "money.negative"),
    ("−5", "money.negative"),
    ("- 5", "money.negative"),
    ("€ -5", "money.negative"),
    ("-€5", "money.negative"),
    ("-5 euro", "money.negative"),
    ("-12,50", "money.negative"),
    ("12,345", "money.too_many_decimals"),
    ("1,250", "money.too_many_decimals"),
    ("12,3456", "money.too_many_decimals"),
    ("12.3456", "money.too_many_decimals"),
    ("0.250", "money.too_many_decimals"),
    ("1234.567", "money.too_many_decimals"),
    ("1.250,001", "money.too_many_decimals"),
    ("1" * 40, "money.too_large"),
    ("20.000.000", "money.too_large"),
]


@pytest.mark.parametrize(("text", "cents"), MONEY_ACCEPTED)
def test_money_accepted(text: str, cents: int) -> None:
    assert parse_money(text) == cents


@pytest.mark.parametrize(("text", "key"), MONEY_REFUSED)
def test_money_refused(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_money(text)
    assert info.value.key == key


def test_money_too_large_reports_max_in_cents() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_money("12.345", max_cents=100_000)
    assert info.value.key == "money.too_large"
    assert info.value.params == {"max": 100_000}


def test_money_default_ceiling_is_reported() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_money("9" * 30)
    assert info.value.params == {"max": HARD_MAX_CENTS}


def test_money_max_is_inclusive() -> None:
    assert parse_money("1.000", max_cents=100_000) == 100_000


def test_money_min_cents() -> None:
    assert parse_money("0") == 0
    assert parse_money("0,01", min_cents=1) == 1
    for text in ("0", "gratis"):
        with pytest.raises(InvalidInput) as info:
            parse_money(text, min_cents=1)
        assert info.value.key == "money.too_small"
        assert info.value.params == {"min": 1}


@given(st.integers(min_value=0, max_value=HARD_MAX_CENTS))
def test_money_round_trips_dutch_and_english_formatting(cents: int) -> None:
    euros, rest = divmod(cents, 100)
    english = f"{euros:,}.{rest:02d}"
    dutch = english.replace(",", " ").replace(".", ",").replace(" ", ".")
    assert parse_money(dutch) == cents
    assert parse_money(english) == cents
    assert parse_money(f"€ {dutch}") == cents
    assert parse_money(f"{euros},{rest:02d}") == cents


# --------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------

COUNT_ACCEPTED: list[tuple[str, int]] = [
    ("20", 20),
    ("ongeveer 20", 20),
    ("Ongeveer 20", 20),
    ("20 ongeveer", 20),
    ("±20", 20),
    ("± 20", 20),
    ("~20", 20),
    ("~ 20", 20),
    ("+/- 20", 20),
    ("+-20", 20),
    ("ca. 20", 20),
    ("circa 20", 20),
    ("zo'n 20", 20),
    ("zo’n 20", 20),
    ("rond de 20", 20),
    ("about 20", 20),
    ("around 20", 20),
    ("approximately 20", 20),
    ("20ish", 20),
    ("20 or so", 20),
    ("20 mensen", 20),
    ("ongeveer 20 personen", 20),
    ("20 huishoudens", 20),
    ("about 20 people", 20),
    ("20.", 20),
    ("020", 20),
    ("+20", 20),
    ("  20 ", 20),
    ("\u200b20", 20),
    ("２０", 20),
    ("1", 1),
    ("100", 100),
]

COUNT_REFUSED: list[tuple[str, str]] = [
    ("twintig", "number.words"),
    ("ongeveer twintig", "number.words"),
    ("twenty", "number.words"),
    ("vijfentwintig mensen", "number.words"),
    ("", "number.not_a_number"),
    ("abc", "number.not_a_number"),
    ("ongeveer", "number.not_a_number"),
    ("20,5", "number.not_a_number"),
    ("20.5", "number.not_a_number"),
    ("20-25", "number.not_a_number"),
    ("20 appels", "number.not_a_number"),
    ("٢٠", "number.not_a_number"),
    ("-5", "number.too_small"),
    ("−5", "number.too_small"),
    ("0", "number.too_small"),
    ("101", "number.too_large"),
    ("9" * 50, "number.too_large"),
]


@pytest.mark.parametrize(("text", "value"), COUNT_ACCEPTED)
def test_count_accepted(text: str, value: int) -> None:
    assert parse_count(text, max_value=100) == value


@pytest.mark.parametrize(("text", "key"), COUNT_REFUSED)
def test_count_refused(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_count(text, max_value=100)
    assert info.value.key == key


def test_count_params() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_count("0")
    assert info.value.params == {"min": 1}
    with pytest.raises(InvalidInput) as info:
        parse_count("-3", min_value=0)
    assert info.value.params == {"min": 0}
    with pytest.raises(InvalidInput) as info:
        parse_count("51", max_value=50)
    assert info.value.params == {"max": 50}
    with pytest.raises(InvalidInput) as info:
        parse_count(str(HARD_MAX_COUNT + 1))
    assert info.value.params == {"max": HARD_MAX_COUNT}


def test_count_zero_allowed_when_min_is_zero() -> None:
    assert parse_count("0", min_value=0) == 0
    assert parse_count("ongeveer 0", min_value=0) == 0


def test_count_bounds_are_inclusive() -> None:
    assert parse_count("3", min_value=3, max_value=3) == 3


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

DATE_ACCEPTED: list[tuple[str, datetime.date]] = [
    # Relative days.
    ("vandaag", D(2026, 11, 23)),
    ("Vandaag", D(2026, 11, 23)),
    ("today", D(2026, 11, 23)),
    ("morgen", D(2026, 11, 24)),
    ("tomorrow", D(2026, 11, 24)),
    ("overmorgen", D(2026, 11, 25)),
    ("day after tomorrow", D(2026, 11, 25)),
    ("the day after tomorrow", D(2026, 11, 25)),
    ("gisteren", D(2026, 11, 22)),
    ("yesterday", D(2026, 11, 22)),
    # Weekdays: next occurrence strictly after today (today is a Monday).
    ("ma", D(2026, 11, 30)),
    ("maandag", D(2026, 11, 30)),
    ("monday", D(2026, 11, 30)),
    ("di", D(2026, 11, 24)),
    ("dinsdag", D(2026, 11, 24)),
    ("tue", D(2026, 11, 24)),
    ("wo", D(2026, 11, 25)),
    ("wednesday", D(2026, 11, 25)),
    ("do", D(2026, 11, 26)),
    ("thursday", D(2026, 11, 26)),
    ("thu", D(2026, 11, 26)),
    ("vr", D(2026, 11, 27)),
    ("vrijdag", D(2026, 11, 27)),
    ("fri", D(2026, 11, 27)),
    ("za", D(2026, 11, 28)),
    ("za.", D(2026, 11, 28)),
    ("Zaterdag", D(2026, 11, 28)),
    ("sat", D(2026, 11, 28)),
    ("saturday", D(2026, 11, 28)),
    ("zo", D(2026, 11, 29)),
    ("zondag", D(2026, 11, 29)),
    ("sun", D(2026, 11, 29)),
    ("sunday", D(2026, 11, 29)),
    ("op zaterdag", D(2026, 11, 28)),
    ("zaterdag a.s.", D(2026, 11, 28)),
    ("aanstaande zaterdag", D(2026, 11, 28)),
    ("on saturday", D(2026, 11, 28)),
    # Weekday plus date: the date wins when they agree.
    ("za 13/3", D(2027, 3, 13)),
    ("zo 14/3", D(2027, 3, 14)),
    ("zondag 14 maart", D(2027, 3, 14)),
    ("zo. 14 mrt.", D(2027, 3, 14)),
    ("sun, March 14", D(2027, 3, 14)),
    ("Sunday 14 March 2027", D(2027, 3, 14)),
    ("ma 23-11", D(2026, 11, 23)),
    # Numeric day-month(-year).
    ("14/3", D(2027, 3, 14)),
    ("14-3", D(2027, 3, 14)),
    ("14-03", D(2027, 3, 14)),
    ("14.3", D(2027, 3, 14)),
    ("14.3.", D(2027, 3, 14)),
    ("14-03-2027", D(2027, 3, 14)),
    ("14/3/27", D(2027, 3, 14)),
    ("14/3/2027", D(2027, 3, 14)),
    ("1/1/30", D(2030, 1, 1)),
    ("23/11", D(2026, 11, 23)),
    ("22/11", D(2027, 11, 22)),
    ("22-11-2026", D(2026, 11, 22)),
    # Day and month name.
    ("14 maart", D(2027, 3, 14)),
    ("14 mrt", D(2027, 3, 14)),
    ("14 mrt.", D(2027, 3, 14)),
    ("14 Maart 2027", D(2027, 3, 14)),
    ("14e maart", D(2027, 3, 14)),
    ("14 maart 27", D(2027, 3, 14)),
    ("14 march", D(2027, 3, 14)),
    ("14 Mar 2027", D(2027, 3, 14)),
    ("14th of March", D(2027, 3, 14)),
    ("the 14th of March", D(2027, 3, 14)),
    ("March 14", D(2027, 3, 14)),
    ("march 14th", D(2027, 3, 14)),
    ("March 14, 2027", D(2027, 3, 14)),
    ("Mar 14 2027", D(2027, 3, 14)),
    ("1 mei", D(2027, 5, 1)),
    ("1 may", D(2027, 5, 1)),
    ("25 december", D(2026, 12, 25)),
    ("1 okt", D(2027, 10, 1)),
    ("1 oct", D(2027, 10, 1)),
    ("3 sept", D(2027, 9, 3)),
    # ISO.
    ("2027-03-14", D(2027, 3, 14)),
    ("2027-3-4", D(2027, 3, 4)),
    ("2020-01-01", D(2020, 1, 1)),
    # Leap day without a year: the next one that exists.
    ("29/2", D(2028, 2, 29)),
    ("29 feb", D(2028, 2, 29)),
    # Noise the person does not see.
    ("  14/3  ", D(2027, 3, 14)),
    ("\u200b14/3\u200f", D(2027, 3, 14)),
    ("１４/３", D(2027, 3, 14)),
    ("morgen!", D(2026, 11, 24)),
]

DATE_REFUSED: list[tuple[str, str]] = [
    ("", "date.not_understood"),
    ("   ", "date.not_understood"),
    ("abc", "date.not_understood"),
    ("binnenkort", "date.not_understood"),
    ("14", "date.not_understood"),
    ("maart", "date.not_understood"),
    ("14 foo", "date.not_understood"),
    ("za foo", "date.not_understood"),
    ("14/3/202", "date.not_understood"),
    ("14/3-2027", "date.not_understood"),
    ("١٤/٣", "date.not_understood"),
    ("31/2", "date.invalid"),
    ("30 februari", "date.invalid"),
    ("31 april", "date.invalid"),
    ("29/2/2027", "date.invalid"),
    ("32/1", "date.invalid"),
    ("0/1", "date.invalid"),
    ("14/13", "date.invalid"),
    ("14/0", "date.invalid"),
    ("2027-02-30", "date.invalid"),
    ("0000-01-01", "date.invalid"),
    ("3/14", "date.invalid"),
    ("za 14/3", "date.weekday_mismatch"),
    ("ma 14 maart", "date.weekday_mismatch"),
    ("saturday March 14", "date.weekday_mismatch"),
]


@pytest.mark.parametrize(("text", "expected"), DATE_ACCEPTED)
def test_date_accepted(text: str, expected: datetime.date) -> None:
    assert parse_date(text, today=TODAY) == expected
    assert parse_date(text, today=TODAY, lang="en") == expected


@pytest.mark.parametrize(("text", "key"), DATE_REFUSED)
def test_date_refused(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_date(text, today=TODAY)
    assert info.value.key == key


def test_date_weekday_mismatch_params() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_date("za 14/3", today=TODAY)
    assert info.value.params == {"weekday": 5, "date": D(2027, 3, 14)}


def test_date_weekday_and_date_agree() -> None:
    assert parse_date("za 13/3", today=TODAY) == D(2027, 3, 13)
    assert parse_date("zaterdag 13 maart 2027", today=TODAY) == D(2027, 3, 13)


def test_date_invalid_params() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_date("31/2", today=TODAY)
    assert info.value.params == {"day": 31, "month": 2, "year": None}
    with pytest.raises(InvalidInput) as info:
        parse_date("29-02-2027", today=TODAY)
    assert info.value.params == {"day": 29, "month": 2, "year": 2027}


def test_date_lang_breaks_the_month_first_tie() -> None:
    """Only an English writer means March 14 by "3/14"; Dutch keeps day-first."""
    assert parse_date("3/14", today=TODAY, lang="en") == D(2027, 3, 14)
    assert parse_date("3/4", today=TODAY, lang="en") == D(2027, 4, 3)
    with pytest.raises(InvalidInput):
        parse_date("3/14", today=TODAY, lang="nl")


def test_date_both_languages_whatever_lang() -> None:
    assert parse_date("zaterdag", today=TODAY, lang="en") == D(2026, 11, 28)
    assert parse_date("saturday", today=TODAY, lang="nl") == D(2026, 11, 28)
    assert parse_date("morgen", today=TODAY, lang="fr") == D(2026, 11, 24)


def test_date_weekday_today_means_next_week() -> None:
    saturday = D(2026, 11, 28)
    assert parse_date("za", today=saturday) == D(2026, 12, 5)
    assert parse_date("vandaag", today=saturday) == saturday


def test_date_day_month_today_is_today() -> None:
    assert parse_date("14 maart", today=D(2027, 3, 14)) == D(2027, 3, 14)
    assert parse_date("14 maart", today=D(2027, 3, 15)) == D(2028, 3, 14)
    assert parse_date("14 maart", today=D(2027, 1, 2)) == D(2027, 3, 14)


def test_date_at_the_end_of_the_calendar() -> None:
    with pytest.raises(InvalidInput):
        parse_date("morgen", today=datetime.date.max)
    with pytest.raises(InvalidInput):
        parse_date("14 maart", today=datetime.date.max)


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31)))
def test_date_round_trips_written_dates(day: datetime.date) -> None:
    assert parse_date(f"{day.day}-{day.month}-{day.year}", today=TODAY) == day
    assert parse_date(f"{day.day:02d}/{day.month:02d}/{day.year % 100:02d}", today=TODAY) == day
    assert parse_date(day.isoformat(), today=TODAY) == day


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31)), st.integers(0, 6))
def test_date_bare_weekday_is_within_a_week(today: datetime.date, weekday: int) -> None:
    names = ["ma", "di", "wo", "do", "vr", "za", "zo"]
    result = parse_date(names[weekday], today=today)
    assert result.weekday() == weekday
    assert 1 <= (result - today).days <= 7


# --------------------------------------------------------------------------------------------
# Date window
# --------------------------------------------------------------------------------------------


def test_window_accepts_today_and_the_limit() -> None:
    check_date_window(TODAY, today=TODAY, allow_past=False, max_days_ahead=30)
    check_date_window(
        TODAY + datetime.timedelta(days=30), today=TODAY, allow_past=False, max_days_ahead=30
    )


def test_window_refuses_past_unless_allowed() -> None:
    yesterday = TODAY - datetime.timedelta(days=1)
    with pytest.raises(InvalidInput) as info:
        check_date_window(yesterday, today=TODAY, allow_past=False, max_days_ahead=30)
    assert info.value.key == "date.in_past"
    assert info.value.params == {}
    check_date_window(yesterday, today=TODAY, allow_past=True, max_days_ahead=30)


def test_window_refuses_too_far() -> None:
    with pytest.raises(InvalidInput) as info:
        check_date_window(
            TODAY + datetime.timedelta(days=31), today=TODAY, allow_past=True, max_days_ahead=30
        )
    assert info.value.key == "date.too_far"
    assert info.value.params == {"max_days": 30}


# --------------------------------------------------------------------------------------------
# Robustness: only InvalidInput or a valid value, whatever is typed
# --------------------------------------------------------------------------------------------


def _check_money(text: str) -> None:
    outcome = _outcome(parse_money, text)
    if isinstance(outcome, int):
        assert 0 <= outcome <= HARD_MAX_CENTS
    else:
        assert isinstance(outcome, str) and outcome.startswith("money.")


def _check_count(text: str) -> None:
    outcome = _outcome(parse_count, text)
    if isinstance(outcome, int):
        assert 1 <= outcome <= HARD_MAX_COUNT
    else:
        assert isinstance(outcome, str) and outcome.startswith("number.")


def _check_date(text: str) -> None:
    for lang in ("nl", "en"):
        outcome = _outcome(lambda t, lang=lang: parse_date(t, today=TODAY, lang=lang), text)
        if not isinstance(outcome, datetime.date):
            assert isinstance(outcome, str) and outcome.startswith("date.")


@pytest.mark.parametrize("text", HOSTILE_INPUTS)
def test_hostile_inputs(text: str) -> None:
    _check_money(text)
    _check_count(text)
    _check_date(text)


# Pieces that steer random text into the parsers' deeper branches.
# fmt: off
_PIECES = st.sampled_from(
    [
        "0", "1", "2", "9", "12", "14", "29", "31", "2027", "0000", "99", ",", ".", "-", "/",
        " ", "€", "euro", "eur", "cent", "–", "—", "−", "+", "=", "±", "~", "+/-", "ongeveer",
        "mensen", "za", "zaterdag", "ma", "sat", "maart", "mrt", "march", "feb", "a.s.", "op",
        "the", "of", "th", "e", "morgen", "vandaag", "twaalf", "tien", "en", "gratis", "\u200b",
        "\u202e", "\x00", "\n", "😀", "١", "１", "ß", "İ", "ﬀ",
    ]
)
# fmt: on
_ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.lists(
    _PIECES, max_size=12
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_TEXT)
def test_money_never_raises_anything_but_invalid_input(text: str) -> None:
    _check_money(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_TEXT)
def test_count_never_raises_anything_but_invalid_input(text: str) -> None:
    _check_count(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_TEXT, st.dates())
def test_date_never_raises_anything_but_invalid_input(text: str, today: datetime.date) -> None:
    for lang in ("nl", "en"):
        try:
            result = parse_date(text, today=today, lang=lang)
        except InvalidInput as exc:
            assert exc.key.startswith("date.")
        else:
            assert isinstance(result, datetime.date)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20), st.integers(min_value=0, max_value=10_000))
def test_long_inputs_are_refused_not_crashed(chunk: str, repeat: int) -> None:
    text = (chunk or "1") * max(1, repeat // max(1, len(chunk)))
    _check_money(text)
    _check_count(text)
    _check_date(text)
