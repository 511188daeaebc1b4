"""Settings: language, reminder time, quiet hours, reminders, news, my data and deletion."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.config import SHIPPED_LANGUAGES
from bot.errors import InvalidInput
from bot.i18n import LANGUAGE_NAMES
from bot.models import (
    AuditEntry,
    ChannelIdentity,
    ConversationState,
    Person,
    Street,
    StreetMembership,
)
from handlers.settings import parse_clock_time, parse_time_range
from tests.chat import ChatHarness, make_world

ALL_LANGUAGES = [LANGUAGE_NAMES[code] for code in SHIPPED_LANGUAGES]


async def in_settings(sessions, address: str = "gm") -> ChatHarness:
    await make_world(sessions)
    chat = ChatHarness(sessions, address=address)
    await chat.send("menu")
    await chat.choose("Instellingen")
    assert chat.text.startswith("Je instellingen:\n• Taal: Nederlands\n")
    return chat


# --- typed times -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("19:00", 1140),
        ("19.00", 1140),
        ("19u", 1140),
        ("19 uur", 1140),
        ("19u30", 1170),
        ("19h30", 1170),
        ("1930", 1170),
        ("19.30 uur", 1170),
        ("7 uur 's avonds", 1140),
        ("7 uur ’s avonds", 1140),
        ("7pm", 1140),
        ("7 P.M.", 1140),
        ("8:15 am", 495),
        ("12am", 0),
        ("om 8 uur", 480),
        ("0:00", 0),
        ("23:59", 1439),
        ("  ０９：３０ ", 570),
    ],
)
def test_parse_clock_time(text: str, minutes: int) -> None:
    assert parse_clock_time(text) == minutes


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("25:99", "time.invalid"),
        ("24:00", "time.invalid"),
        ("19:60", "time.invalid"),
        ("vanavond", "time.not_understood"),
        ("", "time.not_understood"),
        ("19:5", "time.not_understood"),
        ("1" * 500, "time.not_understood"),
    ],
)
def test_parse_clock_time_refuses(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_clock_time(text)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("22:00-08:00", (1320, 480)),
        ("22 - 7", (1320, 420)),
        ("van 22 tot 8", (1320, 480)),
        ("tussen 22 uur en 8 uur 's morgens", (1320, 480)),
        ("10pm to 7am", (1320, 420)),
        ("22.00 – 7.30", (1320, 450)),
    ],
)
def test_parse_time_range(text: str, minutes: tuple[int, int]) -> None:
    assert parse_time_range(text) == minutes


def test_parse_time_range_refuses() -> None:
    for text, key in (("laat", "time.range_not_understood"), ("22-25:99", "time.invalid")):
        with pytest.raises(InvalidInput) as caught:
            parse_time_range(text)
        assert caught.value.key == key


# --- language ----------------------------------------------------------------------------


async def test_language_switch_changes_later_replies(sessions) -> None:
    chat = await in_settings(sessions)
    await chat.choose("Taal")
    assert chat.options == ALL_LANGUAGES
    await chat.choose("English")
    assert chat.replies[0].text == "Okay, from now on I write in English."
    assert chat.last_text == "What would you like to do?"
    assert "Settings" in chat.options
    assert (await chat.person()).language == "en"

    await chat.send("help")
    assert chat.text.startswith("I help you do things for your street, in a chat.")
    await chat.send("taal")  # the Dutch word still works
    await chat.choose("Nederlands")
    assert chat.replies[0].text == "Oké, vanaf nu schrijf ik in het Nederlands."
    assert (await chat.person()).language == "nl"


# --- reminder time -----------------------------------------------------------------------


async def test_bad_time_is_answered_kindly_and_nothing_changes(sessions) -> None:
    chat = await in_settings(sessions)
    await chat.choose("Tijd herinneringen")
    assert chat.last_text == (
        "Hoe laat wil je herinneringen krijgen? Typ een tijd, zoals 19:00.\nNu: standaardtijd"
    )
    assert chat.options == ["Standaardtijd"]

    await chat.send("25:99")
    assert chat.text == "Die tijd bestaat niet. Typ een tijd zoals 19:00."
    assert chat.options == ["Standaardtijd"]
    assert (await chat.person()).reminder_minute is None
    state = await chat.state()
    assert (state.dialog, state.step) == ("settings", "time")

    await chat.send("morgenavond")
    assert chat.text == "Ik snap die tijd niet. Typ hem zo: 19:00."

    await chat.send("19:30")
    assert chat.replies[0].text == "Gedaan. Tijd voor herinneringen: 19:30"
    assert "• Tijd voor herinneringen: 19:30" in chat.last_text  # back in the settings list
    assert (await chat.person()).reminder_minute == 19 * 60 + 30

    await chat.choose("Tijd herinneringen")
    assert chat.last_text.endswith("Nu: 19:30")
    await chat.send("1")  # "Standaardtijd" by number
    assert (await chat.person()).reminder_minute is None


async def test_reminder_time_in_english_is_formatted_for_english(sessions) -> None:
    chat = await in_settings(sessions)
    await chat.send("language")
    await chat.choose("English")
    await chat.choose("Settings")
    await chat.choose("Reminder time")
    await chat.send("7pm")
    assert chat.replies[0].text == "Done. Reminder time: 7:00\u202fPM"


# --- quiet hours, reminders, news --------------------------------------------------------------


async def test_quiet_hours(sessions) -> None:
    chat = await in_settings(sessions)
    assert "• Rusttijd: 21:00–09:00 (standaard)" in chat.text
    await chat.choose("Rusttijd")
    assert chat.options == ["Standaardtijden", "Geen rusttijd"]
    await chat.send("laat")
    assert chat.text == "Typ twee tijden, zoals 22:00-08:00."
    await chat.send("van 22 tot 7")
    assert chat.replies[0].text == "Gedaan. Rusttijd: 22:00–07:00"
    person = await chat.person()
    assert (person.quiet_start_minute, person.quiet_end_minute) == (1320, 420)

    await chat.choose("Rusttijd")
    await chat.choose("Geen rusttijd")
    assert chat.replies[0].text == "Gedaan. Rusttijd: geen"
    person = await chat.person()
    assert (person.quiet_start_minute, person.quiet_end_minute) == (0, 0)

    await chat.choose("Rusttijd")
    await chat.choose("Standaardtijden")
    person = await chat.person()
    assert (person.quiet_start_minute, person.quiet_end_minute) == (None, None)


async def test_switch_reminders_on_and_off(sessions) -> None:
    chat = await in_settings(sessions)
    await chat.choose("Welke herinneringen")
    assert chat.options[3] == "✅ Verslag doen"
    assert chat.options[-1] == "Klaar"
    await chat.choose("Verslag doen")
    assert chat.options[3] == "⬜ Verslag doen"
    assert (await chat.person()).reminders_off == ["report_due"]
    await chat.send("4")
    assert chat.options[3] == "✅ Verslag doen"
    assert (await chat.person()).reminders_off == []
    await chat.choose("Klaar")
    assert chat.text.startswith("Je instellingen:")


async def test_news_messages_on_and_off(sessions) -> None:
    chat = await in_settings(sessions)
    assert "• Nieuwsberichten: aan" in chat.text
    await chat.choose("Nieuwsberichten aan/uit")
    assert chat.replies[0].text == "Gedaan. Je krijgt geen nieuwsberichten meer."
    assert "• Nieuwsberichten: uit" in chat.last_text
    assert (await chat.person()).announcements_opt_out is True
    await chat.choose("Nieuwsberichten aan/uit")
    assert (await chat.person()).announcements_opt_out is False


async def test_back_to_the_menu(sessions) -> None:
    chat = await in_settings(sessions)
    await chat.choose("Terug naar het menu")
    assert chat.last_text == "Wat wil je doen?"
    assert (await chat.state()).dialog == "menu"


# --- my data -----------------------------------------------------------------------------


async def test_my_data_is_shown(sessions) -> None:
    chat = await in_settings(sessions)
    await chat.choose("Mijn gegevens")
    text = chat.last_text
    assert text.startswith("Dit bewaren we over jou:\n")
    for line in (
        "• Naam: Fatima",
        "• Taal: Nederlands",
        "• Akkoord met privacy op: 12 mei 2026",
        "• Chat: Console gm",
        "• Straat: Zaagmolenstraat (actief)",
    ):
        assert line in text
    assert chat.options == ["Gegevens wissen", "Stuur als bestand", "Terug"]
    await chat.choose("Terug")
    assert chat.text.startswith("Je instellingen:")


async def test_deletion_needs_a_confirmation(sessions) -> None:
    chat = await in_settings(sessions)
    await chat.choose("Mijn gegevens")
    await chat.choose("Gegevens wissen")
    assert chat.last_text.startswith("Weet je het zeker? We wissen je gegevens voor altijd.")
    assert chat.options == ["Ja, wissen", "Nee, bewaren"]
    await chat.choose("Nee, bewaren")
    assert chat.replies[0].text == "Goed. Er is niets gewist."
    assert (await chat.person()) is not None


async def test_deletion_confirmed_removes_the_person(sessions) -> None:
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address="gm")
    await chat.send("menu")
    await chat.choose("Instellingen")
    await chat.choose("Mijn gegevens")
    await chat.choose("Gegevens wissen")
    person_id = (await chat.person()).id
    await chat.send("ja")
    assert chat.text == (
        "Je gegevens zijn gewist. Dag! Stuur een bericht als je opnieuw wilt beginnen."
    )
    assert chat.options == []
    async with sessions() as s:
        assert await s.get(Person, person_id) is None
        assert await s.scalar(select(func.count()).select_from(ChannelIdentity).where(
            ChannelIdentity.address == "gm")) == 0  # fmt: skip
        assert await s.scalar(select(func.count()).select_from(ConversationState)) == 0
        assert await s.scalar(select(func.count()).select_from(StreetMembership)) == 0
        assert await s.get(Street, world.street_id) is not None  # the street stays
        audit = await s.scalar(select(AuditEntry).where(AuditEntry.action == "person.deleted"))
        assert audit.object_id is None  # that someone was deleted, not who

    await chat.send("hoi")  # a fresh start, as a new person
    assert chat.last_text.startswith("Hallo! Kies je taal.\nHello! Choose your language.\n")
    person = await chat.person()
    assert person.id != person_id and person.consent_at is None
