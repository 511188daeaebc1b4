"""The conversation runtime: numbers and labels pick options, global words, input sanity,
restarts, stale dialogs, refused and failing steps. Replies and the database are both checked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.channels.console import parse_line, render, run_console_chat
from bot.config import SHIPPED_LANGUAGES
from bot.conversation import (
    Context,
    Dialog,
    MenuEntry,
    Option,
    Photo,
    Registry,
    Reply,
    Runtime,
    Text,
)
from bot.conversation.events import MAX_REPLY_OPTIONS
from bot.conversation.runtime import match_option
from bot.conversation.sanitize import clean_text
from bot.conversation.words import Command, command_of, number_of, yes_no_of
from bot.errors import InvalidInput
from bot.i18n import LANGUAGE_NAMES, lazy
from bot.models import Channel, ConversationState, Organisation, Person
from handlers import load_registry
from tests import factories
from tests.chat import ChatHarness, make_world

ALL_LANGUAGES = [LANGUAGE_NAMES[code] for code in SHIPPED_LANGUAGES]

SETTINGS_NL = "Instellingen"


async def at_menu(sessions, address="gm", **kw) -> ChatHarness:
    await make_world(sessions)
    chat = ChatHarness(sessions, address=address, **kw)
    await chat.send("hoi")
    assert chat.last_text == "Wat wil je doen?", chat.dump()
    return chat


async def at_time_step(sessions, **kw) -> ChatHarness:
    chat = await at_menu(sessions, **kw)
    await chat.choose(SETTINGS_NL)
    await chat.choose("Tijd herinneringen")
    assert "Hoe laat wil je herinneringen krijgen?" in chat.text
    state = await chat.state()
    assert (state.dialog, state.step) == ("settings", "time")
    return chat


# --- unit: words, numbers, labels ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("menu", Command.MENU),
        ("Menu!", Command.MENU),
        ("/menu", Command.MENU),
        ("  HOOFDMENU  ", Command.MENU),
        ("hulp", Command.HELP),
        ("Help?", Command.HELP),
        ("?", Command.HELP),
        ("annuleer", Command.CANCEL),
        ("Cancel.", Command.CANCEL),
        ("taal", Command.LANGUAGE),
        ("language 🌍", Command.LANGUAGE),
        ("STOP", Command.STOP),
        ("stop 🛑", Command.STOP),
        ("Afmelden", Command.STOP),
        ("unsubscribe", Command.STOP),
        ("aanmelden", Command.RESUME),
        ("/start", Command.RESUME),
        ("hallo", None),
        ("stop de vergadering", None),
        ("", None),
    ],
)
def test_command_words(text: str, command: Command | None) -> None:
    assert command_of(text) == command


def test_numbers_yes_no_and_labels() -> None:
    assert [number_of(t) for t in ("3", " 3. ", "3)", "nr 3", "#3", "3️⃣", "３")] == [3] * 7
    assert number_of("drie") is None and number_of("3 straten") is None
    answers = ("Ja!", "yes", "👍", "oké", "Nee.", "nope", "👎", "misschien")
    expected = ["yes", "yes", "yes", "yes", "no", "no", "no", None]
    assert [yes_no_of(t) for t in answers] == expected
    options = (Option("Bijdrage aanvragen", "budget"), Option("Hulp", "help"))
    assert match_option("2", options).value == "help"
    assert match_option("HULP", options).value == "help"
    assert match_option("bijdrage", options).value == "budget"
    assert match_option("3", options) is None
    assert match_option("🙂", options) is None
    yes_no = (Option("Ja, dat is goed", "yes"), Option("Nee", "no"))
    assert match_option("ja", yes_no).value == "yes"
    assert match_option("👍", yes_no).value == "yes"


def test_clean_text_removes_invisible_characters() -> None:
    assert clean_text("\u200bme\x00nu\u200e\ufeff") == "menu"
    assert clean_text("  regel 1\r\nregel\t2  ") == "regel 1\nregel 2"
    assert clean_text("\u200b\u200d") == ""
    assert clean_text("👨‍👩‍👧") == "👨‍👩‍👧"


def test_reply_limits() -> None:
    with pytest.raises(ValueError):
        Reply("x", tuple(Option(str(i), str(i)) for i in range(MAX_REPLY_OPTIONS + 1)))
    with pytest.raises(ValueError):
        Option("label", "v" * 49)
    with pytest.raises(ValueError):
        Reply("x", (Option("a", "same"), Option("b", "same")))


# --- options -----------------------------------------------------------------------------


@pytest.mark.parametrize("channel", [Channel.CONSOLE, Channel.TELEGRAM, Channel.WHATSAPP])
async def test_typed_number_picks_the_option_on_every_channel(sessions, channel) -> None:
    world = await make_world(sessions)
    async with sessions() as s, s.begin():
        org = await s.get(Organisation, world.org_id)
        await factories.person(s, org, "Tess", channel=channel, address="31600000001")
    chat = ChatHarness(sessions, address="31600000001", channel=channel)
    await chat.send("hoi")
    number = chat.options.index(SETTINGS_NL) + 1
    await chat.send(str(number))
    assert chat.text.startswith("Je instellingen:")
    state = await chat.state()
    assert (state.dialog, state.step) == ("settings", "choose")
    assert state.options[0] == ["Taal", "language"]


async def test_out_of_range_number_and_random_text_are_asked_again(sessions) -> None:
    chat = await at_menu(sessions)
    before = await chat.state()
    menu = chat.options

    await chat.send("42")
    assert chat.last_text.startswith(f"Kies een nummer van 1 tot en met {len(menu)}.")
    assert chat.last_text.endswith("Wat wil je doen?")
    assert chat.options == menu

    await chat.send("appeltaart")
    assert chat.last_text.startswith("Kies een van de mogelijkheden. Je kunt ook het nummer typen.")
    assert chat.options == menu

    for emoji in ("🙂", "👍🏽🎉", "❤️"):
        await chat.send(emoji)
        assert "Kies een van de mogelijkheden" in chat.last_text
        assert chat.options == menu

    after = await chat.state()
    assert (after.dialog, after.step, after.options) == (before.dialog, before.step, before.options)


async def test_a_pressed_button_that_is_no_longer_shown(sessions) -> None:
    chat = await at_menu(sessions)
    await chat.press("budget-old")
    assert chat.last_text.startswith("Die keuze kan niet meer.")
    assert (await chat.state()).dialog == "menu"


# --- global words --------------------------------------------------------------------------


async def test_global_words_in_dutch(sessions) -> None:
    chat = await at_time_step(sessions)

    await chat.send("Help!")  # in a dialog: a hint and the same question, place kept
    assert "Typ annuleer om te stoppen, of menu voor het menu." in chat.last_text
    assert chat.last_text.endswith("Nu: standaardtijd")
    assert (await chat.state()).step == "time"

    await chat.send("annuleer")
    assert chat.replies[0].text == "Oké, we zijn gestopt."
    assert chat.last_text == "Wat wil je doen?"
    assert (await chat.state()).dialog == "menu"

    await chat.send("hulp")  # at the menu: the help dialog, then the menu again
    assert "Deze woorden werken altijd: menu, help, annuleer" in chat.text
    assert chat.last_text == "Wat wil je doen?"

    await chat.send("taal")
    assert chat.last_text == "Welke taal wil je?"
    assert chat.options == ALL_LANGUAGES

    await chat.send("Menu.")
    assert chat.last_text == "Wat wil je doen?"
    state = await chat.state()
    assert (state.dialog, state.step) == ("menu", "choose")


async def test_global_words_in_english(sessions) -> None:
    chat = await at_menu(sessions)
    await chat.send("language")
    await chat.choose("English")
    assert chat.replies[0].text == "Okay, from now on I write in English."
    await chat.choose("Settings")
    await chat.choose("Reminder time")
    await chat.send("/help")
    assert "Type cancel to stop, or menu for the menu." in chat.last_text
    await chat.send("Cancel!")
    assert chat.replies[0].text == "Okay, we stopped."
    assert chat.last_text == "What would you like to do?"
    await chat.send("main menu")
    assert chat.options[:2] == ["My street", "Ask for a contribution"] or "Settings" in chat.options
    await chat.send("help")
    assert "These words always work: menu, help, cancel" in chat.text


@pytest.mark.parametrize(("stop", "back"), [("STOP", "AANMELDEN"), ("afmelden", "start")])
async def test_stop_sets_the_opt_out_and_a_way_back_clears_it(sessions, stop, back) -> None:
    chat = await at_time_step(sessions)
    await chat.send(stop)
    assert chat.last_text.startswith("Je krijgt geen nieuwsberichten meer van ons.")
    assert "Stuur dan AANMELDEN." in chat.last_text
    assert (await chat.person()).announcements_opt_out is True
    state = await chat.state()
    assert state.dialog is None and state.options == []  # the dialog ended too

    await chat.send(back)
    assert chat.replies[0].text == "Welkom terug! Je krijgt onze nieuwsberichten weer."
    assert chat.last_text == "Wat wil je doen?"
    assert (await chat.person()).announcements_opt_out is False


async def test_stop_in_english_is_not_cancel(sessions) -> None:
    chat = await at_menu(sessions)
    await chat.send("taal")
    await chat.choose("English")
    await chat.send("cancel")
    assert (await chat.person()).announcements_opt_out is False
    await chat.send("stop")
    assert chat.last_text.startswith("You will get no more news messages from us.")
    assert "Send START." in chat.last_text
    assert (await chat.person()).announcements_opt_out is True
    await chat.send("subscribe")
    assert chat.replies[0].text == "Welcome back! You will get our news messages again."
    assert (await chat.person()).announcements_opt_out is False


async def test_start_when_not_opted_out_just_shows_the_menu(sessions) -> None:
    chat = await at_menu(sessions)
    await chat.send("start")
    assert [r.text for r in chat.replies] == ["Wat wil je doen?"]


async def test_invisible_characters_around_a_global_word(sessions) -> None:
    chat = await at_time_step(sessions)
    await chat.send("\u200bmenu\u200e")
    assert chat.last_text == "Wat wil je doen?"


# --- input sanity ----------------------------------------------------------------------------


async def test_very_long_message_is_answered_kindly_and_changes_nothing(sessions) -> None:
    chat = await at_time_step(sessions)
    await chat.send("19:30 " + "bla " * 1250)  # 5,006 characters
    assert chat.last_text.startswith(
        "Dat is een heel lang bericht. Houd het kort: hooguit 1000 tekens."
    )
    assert "Hoe laat wil je herinneringen krijgen?" in chat.last_text
    assert (await chat.person()).reminder_minute is None
    assert (await chat.state()).step == "time"
    await chat.send("x" * 1000)  # exactly the cap: passed on (and refused by the parser)
    assert chat.last_text.startswith("Ik snap die tijd niet.")


async def test_emoji_only_and_empty_messages_change_nothing(sessions) -> None:
    chat = await at_time_step(sessions)
    await chat.send("😀😀")
    assert chat.last_text.startswith("Ik snap die tijd niet.")
    await chat.send("\u200b\u200b")
    assert chat.last_text.startswith("Ik kreeg geen tekst. Probeer het nog eens.")
    assert "Hoe laat wil je herinneringen krijgen?" in chat.last_text
    assert (await chat.person()).reminder_minute is None
    assert (await chat.state()).step == "time"


async def test_photo_location_contact_where_text_was_expected(sessions) -> None:
    chat = await at_time_step(sessions)
    for send in (chat.send_photo, chat.send_location, chat.send_contact):
        await send()
        assert chat.last_text.startswith("Ik kan hier alleen tekst lezen. Typ je antwoord.")
        assert chat.options == ["Standaardtijd"]
    assert (await chat.state()).step == "time"
    assert (await chat.person()).reminder_minute is None

    await chat.send("menu")
    await chat.send_photo()
    assert chat.last_text.startswith("Kies een van de mogelijkheden.")


# --- restarts and time ---------------------------------------------------------------------


async def test_dialog_survives_a_restart(sessions) -> None:
    chat = await at_time_step(sessions)
    chat.restart()
    chat.clock.advance(hours=2)
    await chat.send("19.30u")
    assert chat.replies[0].text == "Gedaan. Tijd voor herinneringen: 19:30"
    assert (await chat.person()).reminder_minute == 19 * 60 + 30


async def test_dialog_left_for_25_hours_restarts_with_a_hint(sessions) -> None:
    chat = await at_time_step(sessions)
    chat.clock.advance(hours=25)
    await chat.send("19:30")
    assert chat.replies[0].text == (
        "Ons vorige gesprek is meer dan een dag geleden. We beginnen opnieuw."
    )
    assert chat.last_text == "Wat wil je doen?"
    assert (await chat.person()).reminder_minute is None
    state = await chat.state()
    assert (state.dialog, state.step) == ("menu", "choose")
    assert state.updated_at == chat.clock.now


async def test_dialog_left_for_23_hours_continues(sessions) -> None:
    chat = await at_time_step(sessions)
    chat.clock.advance(hours=23)
    await chat.send("7 uur 's avonds")
    assert (await chat.person()).reminder_minute == 19 * 60


async def test_stale_menu_just_shows_the_menu(sessions) -> None:
    chat = await at_menu(sessions)
    chat.clock.advance(days=3)
    await chat.send("1")
    assert [r.text for r in chat.replies] == ["Wat wil je doen?"]


# --- refused and failing steps ------------------------------------------------------------

test_dialog = Dialog("test")


@test_dialog.prompt("ask")
async def _ask(ctx: Context) -> None:
    ctx.ask("Bedrag?", free_text=False)


@test_dialog.step("ask")
async def _answer(ctx: Context) -> None:
    # Change something first: a refusal or a crash must roll it back.
    ctx.person.first_name = "Veranderd"
    ctx.data["seen"] = True
    await ctx.session.flush()
    if ctx.text == "te veel":
        raise InvalidInput("money.too_large", max=25000)
    if ctx.text == "crash":
        raise ZeroDivisionError("a bug in a step")
    if ctx.text == "onbekend":
        raise InvalidInput("nobody.wrote.this.key")
    ctx.say(f"Goed: {ctx.text}")
    ctx.finish()


def registry_with_test_dialog() -> Registry:
    registry = load_registry().copy()
    registry.add(test_dialog)
    registry.add_menu_entry(MenuEntry("test", lazy.pgettext("row", "Test")))
    return registry


async def in_test_dialog(sessions) -> ChatHarness:
    chat = await at_menu(sessions, registry=registry_with_test_dialog())
    await chat.choose("Test")
    assert chat.last_text == "Bedrag?"
    return chat


async def test_domain_error_is_a_friendly_sentence_and_changes_nothing(sessions) -> None:
    chat = await in_test_dialog(sessions)
    await chat.send("te veel")
    assert chat.text == "Dat is te veel. Het kan hooguit €\u00a0250,00 zijn."
    person = await chat.person()
    assert person.first_name == "Fatima"
    state = await chat.state()
    assert (state.dialog, state.step) == ("test", "ask")
    assert "seen" not in state.data

    await chat.send("onbekend")  # a key nobody wrote a text for: the general sentence
    assert chat.text == "Daar kan ik niets mee. Probeer het nog eens."

    await chat.send("50")  # the person simply tries again
    assert chat.replies[0].text == "Goed: 50"
    assert (await chat.person()).first_name == "Veranderd"
    assert (await chat.state()).dialog == "menu"


async def test_unexpected_exception_apologises_and_goes_back_to_the_menu(sessions, caplog) -> None:
    chat = await in_test_dialog(sessions)
    await chat.send("crash")
    assert chat.replies[0].text == "Sorry, er ging bij ons iets mis. We gaan terug naar het menu."
    assert chat.last_text == "Wat wil je doen?"
    assert "a bug in a step" in caplog.text
    assert (await chat.person()).first_name == "Fatima"
    state = await chat.state()
    assert (state.dialog, state.step) == ("menu", "choose")
    await chat.send("menu")  # and the chat goes on
    assert chat.last_text == "Wat wil je doen?"


async def test_a_broken_menu_still_never_crashes(sessions) -> None:
    broken = Dialog("menu")

    @broken.prompt("choose")
    async def explode(ctx: Context) -> None:
        raise RuntimeError("menu is broken")

    @broken.step("choose")
    async def never(ctx: Context) -> None:  # pragma: no cover
        pass

    registry = Registry([broken, load_registry().get("start")])
    await make_world(sessions)
    chat = ChatHarness(sessions, address="gm", registry=registry)
    await chat.send("hoi")
    assert [r.text for r in chat.replies] == [
        "Sorry, er ging bij ons iets mis. We gaan terug naar het menu."
    ]
    state = await chat.state()
    assert state.dialog is None


async def test_unknown_organisation_is_an_apology_not_a_crash(sessions) -> None:
    runtime = Runtime(sessions, "nowhere")
    replies = await runtime.handle(Text(channel=Channel.CONSOLE, address="x", text="hoi"))
    assert [r.text for r in replies] == [
        "Sorry, er ging bij ons iets mis. Probeer het later nog eens."
    ]


async def test_state_is_one_row_per_identity(sessions) -> None:
    chat = await at_menu(sessions)
    await chat.choose(SETTINGS_NL)
    async with sessions() as s:
        rows = list(await s.scalars(select(ConversationState)))
        people = list(await s.scalars(select(Person)))
    assert len(rows) == 1
    assert len(people) == 5  # nobody new was created for a known address


# --- the console channel ---------------------------------------------------------------------


def test_console_rendering_and_input() -> None:
    reply = Reply("Wat wil je doen?", (Option("Instellingen", "settings"), Option("Hulp", "help")))
    assert render(reply) == "Wat wil je doen?\n1. Instellingen\n2. Hulp"
    assert isinstance(parse_line("/photo bon.jpg", "a"), Photo)
    assert parse_line("/photo bon.jpg", "a").ref == "bon.jpg"
    assert parse_line("/location 51.9, 4.4", "a").latitude == pytest.approx(51.9)
    assert parse_line("hallo", "a").text == "hallo"


async def test_console_chat_until_quit(sessions) -> None:
    await make_world(sessions)
    lines = iter(["hoi", "", "99", "/quit", "never read"])
    out: list[str] = []
    await run_console_chat(
        sessions, "rotterdam", "gm", input_fn=lambda prompt: next(lines), output_fn=out.append
    )
    assert out[0].startswith("Wat wil je doen?\n1. ")
    assert "Kies een nummer van 1 tot en met" in out[1]
    assert next(lines) == "never read"


async def test_console_chat_until_end_of_input(sessions) -> None:
    await make_world(sessions)
    lines = iter(["hoi"])
    out: list[str] = []

    async def read(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    await run_console_chat(
        sessions, "rotterdam", "new-console", input_fn=read, output_fn=out.append
    )
    assert len(out) == 1
    assert out[0].startswith("Hallo! Kies je taal.\nHello! Choose your language.\n")
    numbered = [f"{n}. {LANGUAGE_NAMES[code]}" for n, code in enumerate(SHIPPED_LANGUAGES, 1)]
    assert out[0].endswith("\n".join(numbered) + "\n")


def test_turkish_capital_i_matches_the_lower_case_word() -> None:
    from bot.conversation.words import normalize

    assert normalize("İptal") == normalize("iptal") == "iptal"
