"""Every shipped language, end to end: a complete dialog with no Dutch left in it, money and
dates formatted for that locale, Arabic right-to-left safe; and Dutch written plainly."""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import update

from bot.config import SHIPPED_LANGUAGES
from bot.db import transaction
from bot.i18n import LANGUAGE_NAMES
from bot.i18n.catalog import po_path
from bot.i18n.translator import FSI, PDI, Translator
from bot.models import Person
from tests.chat import ChatHarness, make_world
from tests.factories import NOW

FOREIGN = [language for language in SHIPPED_LANGUAGES if language != "nl"]


def _segments(text: str) -> list[str]:
    """The fixed parts of a catalog text, between its placeholders."""
    return [literal.strip() for literal, *_ in string.Formatter().parse(text) if literal.strip()]


def dutch_only_segments(language: str) -> set[str]:
    """Dutch sentence parts (15+ characters) whose translation in ``language`` differs: seeing
    one in a reply means Dutch leaked into that language."""
    with po_path("nl").open("rb") as fp:
        dutch = {(m.id, m.context): m.string for m in read_po(fp, locale="nl") if m.id}
    with po_path(language).open("rb") as fp:
        other = {(m.id, m.context): m.string for m in read_po(fp, locale=language) if m.id}
    found: set[str] = set()
    for key, nl_text in dutch.items():
        nl_forms = nl_text if isinstance(nl_text, tuple) else (nl_text,)
        theirs = other.get(key, "")
        their_forms = " ".join(theirs if isinstance(theirs, tuple) else (theirs,))
        for form in nl_forms:
            found |= {s for s in _segments(form) if len(s) >= 15 and s not in their_forms}
    return found


async def log_an_attention(sessions, language: str) -> ChatHarness:
    """A gangmaker logs a card for an ill neighbour and then looks at the last entries."""
    await make_world(sessions)
    async with transaction(sessions) as session:
        await session.execute(update(Person).values(language=language))
    chat = ChatHarness(sessions, address="gm")
    await chat.send("menu")
    for value in ("liefleed", "log", "illness", "card", "1500", "today", "save", "recent"):
        await chat.press(value)
    return chat


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
async def test_a_complete_dialog_in_every_language(sessions, language: str) -> None:
    chat = await log_an_attention(sessions, language)
    transcript = "\n".join(chat.transcript)
    t = Translator(language)
    left = t.money(15000 - 1500)
    assert left in transcript, f"{language}: amount not formatted for the locale ({left!r})"
    assert t.date(NOW.date()) in transcript, f"{language}: date not formatted for the locale"
    if language != "nl":
        leaked = [s for s in dutch_only_segments(language) if s in transcript]
        assert leaked == [], f"Dutch in the {language} dialog: {leaked[:5]}"


@pytest.mark.skipif("ar" not in SHIPPED_LANGUAGES, reason="Arabic is not shipped")
async def test_arabic_replies_isolate_amounts_and_dates(sessions) -> None:
    chat = await log_an_attention(sessions, "ar")
    transcript = "\n".join(chat.transcript)
    assert re.search(f"{FSI}[^{PDI}]*€[^{PDI}]*{PDI}", transcript), "amount not isolated"
    t = Translator("ar")
    assert f"{FSI}{t.date(NOW.date())}{PDI}" in transcript


def test_every_language_is_offered_in_its_own_name() -> None:
    for language in SHIPPED_LANGUAGES:
        assert language in LANGUAGE_NAMES
    assert len(set(SHIPPED_LANGUAGES)) <= 10  # one reply holds at most 10 options


# --- plain Dutch ---------------------------------------------------------------------------

JARGON = (
    "microbudget",
    "verantwoording",
    "faciliteren",
    "aanvraagformulier",
    "participatie",
    "implementeren",
    "middels",
    "ten behoeve van",
    "derhalve",
    "indien",
    "conform",
    "doelgroep",
)
MAX_WORDS = 15


def dutch_texts() -> list[str]:
    with po_path("nl").open("rb") as fp:
        catalog = read_po(fp, locale="nl")
    texts: list[str] = []
    for message in catalog:
        if message.id:
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            texts += [form for form in forms if form]
    return texts


def sentences(text: str) -> list[str]:
    plain = re.sub(r"\{[^}]*\}", "X", text)
    return [s for s in re.split(r"(?<=[.!?:])\s+|\n+", plain) if s.strip()]


def test_dutch_sentences_are_short() -> None:
    long_ones = [s for text in dutch_texts() for s in sentences(text) if len(s.split()) > MAX_WORDS]
    assert long_ones == [], f"Dutch sentences over {MAX_WORDS} words: {long_ones[:5]}"


def test_dutch_avoids_jargon() -> None:
    found = [
        (word, text)
        for text in dutch_texts()
        for word in JARGON
        if re.search(rf"\b{word}\b", text, re.IGNORECASE)
    ]
    assert found == [], f"jargon in the Dutch catalog: {found[:5]}"


def test_the_plain_dutch_check_catches_a_long_sentence() -> None:
    long = "Dit is een zin die veel te lang is omdat hij maar door en door gaat zonder te stoppen."
    assert any(len(s.split()) > MAX_WORDS for s in sentences(long))
