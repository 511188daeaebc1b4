"""Every parser and text helper against hostile text (hypothesis): lone surrogates, NUL,
control and zero-width characters, right-to-left text, emoji and 10,000 characters.

Parsers answer with a value in range or an ``InvalidInput`` with a key of their own; helpers
never raise. ``tests/test_parsing.py`` fuzzes the money/count/date parsers with other text
(UTF-8 only); this adds what a channel could still deliver (lone surrogates from JSON ``\\ud800``
escapes) and the helpers around them: the global words, option matching, codes, street names,
Telegram's deep links and button data.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.telegram import callbacks
from bot.channels.telegram.adapter import start_payload, strip_bot_name
from bot.config import SHIPPED_LANGUAGES
from bot.conversation.events import Option
from bot.conversation.runtime import match_option
from bot.conversation.sanitize import clean_text, too_long
from bot.conversation.words import command_of, normalize, number_of, yes_no_of
from bot.errors import InvalidInput
from bot.parsing.dates import parse_date
from bot.parsing.money import parse_money
from bot.parsing.numbers import contains_number_word, normalize_typed, parse_count
from bot.services import codes
from bot.services import streets as street_rules
from bot.services.people import _language_from_hint
from tests.test_fuzz_dialogs import HOSTILE

TODAY = dt.date(2026, 5, 12)
OPTIONS = (Option("Straatfeest", "a"), Option("Opruimen", "b"), Option("Terug", "menu"))
YES_NO = (Option("Ja", "yes"), Option("Nee", "no"))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
# What may arrive raw from a channel: any code point, lone surrogates included.
RAW = HOSTILE | st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF))


def _parsed(func, text: str, prefix: str):  # type: ignore[no-untyped-def]
    try:
        return func(text)
    except InvalidInput as error:
        assert error.key.startswith(prefix), error.key
        return None


@FUZZ
@given(RAW)
def test_parsers_on_raw_and_cleaned_text(raw: str) -> None:
    for text in (raw, clean_text(raw)):
        cents = _parsed(parse_money, text, "money.")
        assert cents is None or cents >= 0
        count = _parsed(parse_count, text, "number.")
        assert count is None or count >= 1
        for lang in ("nl", "en", "tr", "ar"):
            day = _parsed(lambda t, lang=lang: parse_date(t, today=TODAY, lang=lang), text, "date.")
            assert day is None or isinstance(day, dt.date)
        assert isinstance(normalize_typed(text), str)
        assert isinstance(contains_number_word(text), bool)


@FUZZ
@given(RAW)
def test_clean_text_leaves_nothing_a_database_or_parser_trips_over(raw: str) -> None:
    text = clean_text(raw)
    assert "\x00" not in text
    text.encode("utf-8")  # no lone surrogates: PostgreSQL and SQLite both take it
    assert text == text.strip()
    assert too_long(raw * 2) or len(raw * 2) <= 1000


@FUZZ
@given(RAW)
def test_words_and_option_matching_never_raise(raw: str) -> None:
    text = clean_text(raw)
    assert isinstance(normalize(text), str)
    command_of(text)
    number = number_of(text)
    assert number is None or number >= 0
    yes_no_of(text)
    chosen = match_option(text, OPTIONS)
    assert chosen is None or chosen in OPTIONS
    answer = match_option(text, YES_NO)
    assert answer is None or answer in YES_NO


@FUZZ
@given(RAW)
def test_codes_street_names_and_telegram_helpers_never_raise(raw: str) -> None:
    text = clean_text(raw)
    code = codes.normalise_code(text)
    assert code.isascii() and code == code.upper()
    for name in (text, raw):
        try:
            street_rules.check_name(name)
        except InvalidInput as error:
            assert error.key.startswith("street."), error.key
        street_rules.duplicate_key(text, text or None)
    payload = start_payload(raw)
    assert payload is None or (1 <= len(payload) <= 64 and payload.isascii())
    assert isinstance(strip_bot_name(raw), str)
    pressed = callbacks.decode(raw)
    assert pressed is None or isinstance(pressed.value, str)
    assert _language_from_hint(raw) in (None, *SHIPPED_LANGUAGES)
