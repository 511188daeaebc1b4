"""First contact (language, privacy consent), the main menu per role, and help."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.config import SHIPPED_LANGUAGES
from bot.conversation import Context, Dialog, Registry
from bot.i18n import LANGUAGE_NAMES, translator
from bot.models import Channel, Person, StreetMembership
from handlers import help as help_module
from handlers import menu as menu_module
from handlers import settings as settings_module
from handlers import start as start_module
from handlers.menu import MENU_ENTRIES
from tests.chat import ChatHarness, make_world

ALL_LANGUAGES = [LANGUAGE_NAMES[code] for code in SHIPPED_LANGUAGES]

WELCOME = "\n".join(
    translator(code)._("Hello! Choose your language.") for code in SHIPPED_LANGUAGES
)

# --- first contact ---------------------------------------------------------------------------


async def test_first_contact_language_then_consent_yes(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="new-1")
    await chat.send("Hallo")
    assert chat.last_text == WELCOME
    assert chat.options == ALL_LANGUAGES
    person = await chat.person()
    assert person.consent_at is None and person.language == "nl"
    assert (await chat.state()).step == "language"

    await chat.send("2")  # English, by number
    assert chat.text.startswith("Welcome to the chat of Rotterdam!\nFirst, about your privacy:")
    assert chat.text.count("\n• ") == 3
    assert chat.last_text == "Is that okay?"
    assert chat.options == ["Yes, that is fine", "No", "Read more"]
    assert (await chat.person()).language == "en"

    await chat.send("yes")
    assert chat.replies[0].text == "Thank you! Nice that you are here."
    assert chat.last_text == "What would you like to do?"
    assert {"Settings", "Help", "Language"} <= set(chat.options)
    person = await chat.person()
    assert person.consent_at == chat.clock.now
    assert (await chat.state()).dialog == "menu"


async def test_first_contact_in_dutch_with_buttons(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="new-2")
    await chat.send("/start")
    await chat.choose("Nederlands")
    assert "Eerst iets over je privacy:" in chat.text
    assert chat.options == ["Ja, dat is goed", "Nee", "Meer lezen"]
    await chat.choose("Ja, dat is goed")
    assert chat.replies[0].text == "Dank je! Fijn dat je er bent."
    assert chat.last_text == "Wat wil je doen?"


async def test_consent_no_is_a_polite_goodbye_and_they_can_come_back(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="new-3")
    await chat.send("hoi")
    await chat.choose("Nederlands")
    await chat.send("nee")
    assert chat.text == (
        "Geen probleem. We bewaren niets, alleen je chatadres. "
        "Wil je toch meedoen? Stuur ons dan een bericht."
    )
    assert chat.options == []
    person = await chat.person()
    assert person.consent_at is None
    state = await chat.state()
    assert (state.dialog, state.step, state.data, state.options) == (None, None, {}, [])
    async with sessions() as s:
        memberships = await s.scalar(
            select(func.count())
            .select_from(StreetMembership)
            .where(StreetMembership.person_id == person.id)
        )
    assert memberships == 0

    chat.clock.advance(days=10)
    await chat.send("Ik wil toch meedoen")
    assert chat.last_text == WELCOME
    await chat.choose("Nederlands")
    await chat.send("ja")
    assert (await chat.person()).consent_at == chat.clock.now


async def test_language_hint_puts_their_language_first(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="4242", channel=Channel.TELEGRAM, language_hint="en-GB")
    await chat.send("/start")
    assert chat.last_text.startswith("Hello! Choose your language.\nHallo! Kies je taal.\n")
    assert chat.options[:2] == ["English", "Nederlands"]
    assert sorted(chat.options) == sorted(ALL_LANGUAGES)
    assert (await chat.person()).language == "en"


async def test_before_consent_only_the_start_dialog_runs(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="new-4")
    await chat.send("hoi")
    await chat.send("Duits")  # not an option
    assert chat.last_text.startswith("Kies een van de mogelijkheden.")
    assert chat.options == ALL_LANGUAGES
    await chat.choose("Nederlands")
    await chat.send("menu")  # no menu before consent: the open question again
    assert chat.last_text.startswith("Eerst hebben we je antwoord op deze vraag nodig.")
    assert chat.last_text.endswith("Is dat goed?")
    assert chat.options == ["Ja, dat is goed", "Nee", "Meer lezen"]
    await chat.send("taal")  # choose the language again
    assert chat.last_text == WELCOME
    await chat.choose("Nederlands")
    await chat.send("STOP")  # but STOP is always honoured
    assert chat.last_text.startswith("Je krijgt geen nieuwsberichten meer van ons.")
    person = await chat.person()
    assert person.announcements_opt_out is True and person.consent_at is None
    await chat.send("aanmelden")
    assert chat.last_text == WELCOME
    assert (await chat.person()).announcements_opt_out is False


async def test_everyone_in_the_database_has_one_person_per_address(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="new-5")
    for text in ("hoi", "hoi", "1"):
        await chat.send(text)
    async with sessions() as s:
        count = await s.scalar(select(func.count()).select_from(Person))
    assert count == 6  # five in the world plus this one


# --- the main menu per role -------------------------------------------------------------------

STUBS = (
    "streets",
    "signup",
    "budget",
    "liefleed",
    "review",
    "pending_streets",
    "overview",
    "redeem",
)


def stub(name: str) -> Dialog:
    dialog = Dialog(name)

    @dialog.prompt("start")
    async def say(ctx: Context) -> None:
        ctx.say(f"stub {name}")
        ctx.finish()

    return dialog


def with_stubs() -> Registry:
    """The core dialogs plus stubs for every other menu entry: the menu alone is under test."""
    registry = Registry(
        [m.dialog for m in (menu_module, start_module, help_module, settings_module)],
        MENU_ENTRIES,
    )
    for name in STUBS:
        registry.add(stub(name))
    return registry


EVERYONE = ["Instellingen", "Hulp", "Taal"]
LEADER = ["Aanvragen beoordelen", "Nieuwe straten bekijken", "Overzicht ronde"]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("gm", ["Mijn straat", "Bijdrage aanvragen", "Lief & Leed", *EVERYONE]),
        ("leader", [*LEADER, *EVERYONE]),
        ("payout", ["Code uitbetalen", *EVERYONE]),
        ("admin", [*LEADER, "Code uitbetalen", *EVERYONE]),
        ("resident", ["Straat aanmelden", *EVERYONE]),
    ],
)
async def test_menu_per_role(sessions, address, expected) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address=address, registry=with_stubs())
    await chat.send("menu")
    assert chat.last_text == "Wat wil je doen?"
    assert chat.options == expected


async def test_no_liefleed_entry_without_a_liefleed_street(sessions) -> None:
    await make_world(sessions, liefleed=False)
    chat = ChatHarness(sessions, address="gm", registry=with_stubs())
    await chat.send("menu")
    assert chat.options == ["Mijn straat", "Bijdrage aanvragen", *EVERYONE]


async def test_menu_entries_start_their_dialog(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="gm", registry=with_stubs())
    await chat.send("menu")
    await chat.choose("Bijdrage")
    assert chat.replies[0].text == "stub budget"
    assert chat.last_text == "Wat wil je doen?"
    await chat.send(str(chat.options.index("Taal") + 1))
    assert chat.last_text == "Welke taal wil je?"
    state = await chat.state()
    assert (state.dialog, state.step) == ("settings", "language")


async def test_entries_of_unregistered_dialogs_stay_hidden(sessions) -> None:
    """Only the dialogs of this issue exist: the gangmaker sees no entry that leads nowhere."""
    await make_world(sessions)
    only_ours = Registry(
        [m.dialog for m in (menu_module, start_module, help_module, settings_module)],
        MENU_ENTRIES,
    )
    chat = ChatHarness(sessions, address="gm", registry=only_ours)
    await chat.send("menu")
    assert chat.options == EVERYONE
    state = await chat.state()
    assert [value for _, value in state.options] == ["settings", "help", "settings:language"]


# --- help ------------------------------------------------------------------------------------


async def test_help_for_a_gangmaker_names_the_area_contact(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="gm")
    await chat.send("menu")
    await chat.choose("Hulp")
    text = chat.replies[0].text
    assert text.startswith("Met deze chat regel je dingen voor je straat.")
    assert "Je kunt een bijdrage vragen voor een activiteit in je straat." in text
    assert "Deze woorden werken altijd: menu, help, annuleer" in text
    assert "STOP (geen nieuwsberichten meer)" in text
    assert text.endswith("Vragen? Vraag het je projectleider:\nLeider Delfshaven: 010-1234567")
    assert chat.last_text == "Wat wil je doen?"
    assert (await chat.state()).dialog == "menu"


async def test_help_for_others_gives_a_general_line(sessions) -> None:
    await make_world(sessions)
    for address, line in (
        ("resident", "Wil je iets leuks doen met je buren? Meld dan je straat aan."),
        ("leader", "Als projectleider bekijk je aanvragen en nieuwe straten."),
        ("payout", "Als uitbetaaladres betaal je de codes van gangmakers uit."),
    ):
        chat = ChatHarness(sessions, address=address)
        await chat.send("help")
        assert line in chat.replies[0].text
        assert chat.replies[0].text.endswith("Vragen? Neem contact op met Rotterdam.")


async def test_help_in_english(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="gm")
    await chat.send("language")
    await chat.choose("English")
    await chat.send("help")
    assert "These words always work: menu, help, cancel (stop what you are doing)" in chat.text
    assert "Questions? Ask your project leader:" in chat.text
