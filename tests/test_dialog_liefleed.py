"""Lief & Leed in the chat: the pot, logging an attention in six answers, the last entries, undo.

Every refused answer is checked twice: the reply a gangmaker reads, and that the database did
not change (no attention stored, the dialog still at the same step).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from bot.conversation import Registry
from bot.db import transaction
from bot.errors import InvalidInput
from bot.models import (
    Area,
    Attention,
    AttentionKind,
    AuditEntry,
    LiefLeedPot,
    Organisation,
    Person,
    Street,
    StreetStatus,
)
from bot.services import liefleed
from handlers import help as help_module
from handlers import liefleed as liefleed_module
from handlers import menu as menu_module
from handlers import settings as settings_module
from handlers import start as start_module
from handlers.liefleed import parse_past_date
from handlers.menu import MENU_ENTRIES
from tests import factories
from tests.chat import ChatHarness, World, make_world

TODAY = dt.date(2026, 5, 12)  # factories.NOW, a Tuesday


def registry() -> Registry:
    """The core dialogs plus this one: other dialogs being written do not disturb these tests."""
    modules = (menu_module, start_module, help_module, settings_module, liefleed_module)
    return Registry([m.dialog for m in modules], MENU_ENTRIES)


def plain(text: str) -> str:
    """Babel puts a no-break space between € and the amount; tests read it as a space."""
    return text.replace("\xa0", " ")


async def open_liefleed(sessions, address: str = "gm", *, world: World | None = None):
    world = world or await make_world(sessions)
    chat = ChatHarness(sessions, address=address, registry=registry())
    await chat.send("menu")
    await chat.choose("Lief & Leed")
    return world, chat


async def attentions(sessions) -> list[Attention]:
    async with sessions() as session:
        return list(await session.scalars(select(Attention).order_by(Attention.id)))


async def step(chat: ChatHarness) -> tuple[str | None, str | None]:
    state = await chat.state()
    return state.dialog, state.step


async def log_directly(sessions, world: World, *costs: int, given_on: dt.date = TODAY) -> None:
    """Entries made earlier (by the service, as another chat would)."""
    async with transaction(sessions) as session:
        gm = await session.scalar(select(Person).where(Person.first_name == "Fatima"))
        for cents in costs:
            await liefleed.log_attention(
                session,
                actor=gm,
                street_id=world.street_id,
                occasion="illness",
                kind=AttentionKind.CARD,
                cost_cents=cents,
                given_on=given_on,
                now=factories.NOW,
            )


async def to_cost(chat: ChatHarness) -> None:
    await chat.choose("Aandacht noteren")
    await chat.choose("Baby")
    await chat.choose("Bloemen")
    assert await step(chat) == ("liefleed", "cost")


async def to_confirm(chat: ChatHarness, cost: str = "€ 25,00") -> None:
    await to_cost(chat)
    await chat.choose(cost)
    await chat.choose("Vandaag")
    assert await step(chat) == ("liefleed", "confirm")


# --- the common case -------------------------------------------------------------------------


async def test_common_case_in_six_answers(sessions) -> None:
    world, chat = await open_liefleed(sessions)
    assert plain(chat.last_text) == (
        "Pot 2026: € 150,00. Uitgegeven: € 0,00. Over: € 150,00.\nWat wil je doen?"
    )
    assert chat.options == [
        "Aandacht noteren",
        "Laatst genoteerd",
        "Laatste terugdraaien",
        "Terug naar het menu",
    ]

    answers = 0

    async def answer(label: str) -> None:
        nonlocal answers
        answers += 1
        await chat.choose(label)

    await answer("Aandacht noteren")
    assert chat.last_text == "Wat is de reden?"
    assert len(chat.options) == 10
    assert chat.options[:3] == ["Baby", "Ziekte", "Overlijden"]
    assert chat.options[-1] == "Iets anders"
    await answer("Baby")
    assert chat.last_text == "Wat heb je gegeven of gedaan?"
    assert "Bezoek" in chat.options
    await answer("Bloemen")
    assert chat.last_text == "Wat kostte het? Kies een bedrag, of typ het, zoals 12,50."
    assert [plain(o) for o in chat.options] == [
        "€ 0,00 (gratis)",
        "€ 10,00",
        "€ 15,00",
        "€ 25,00",
        "Ander bedrag",
    ]
    await answer("€ 25,00")
    assert chat.last_text == "Wanneer was het? Kies, of typ de dag, zoals 3 mei."
    assert chat.options == ["Vandaag", "Gisteren"]
    await answer("Vandaag")
    assert plain(chat.last_text) == (
        "Zal ik dit opslaan?\n"
        "• Reden: Baby\n"
        "• Wat: Bloemen\n"
        "• Kosten: € 25,00\n"
        "• Datum: 12 mei 2026\n"
        "Je mag een huisnummer of notitie toevoegen. Dat hoeft niet."
    )
    assert chat.options == ["Opslaan", "Huisnummer/notitie", "Niet opslaan"]
    assert await attentions(sessions) == []  # nothing stored before "save"
    await answer("Opslaan")
    assert answers <= 6

    assert plain(chat.replies[0].text) == "Opgeslagen. Over in de pot: € 125,00."
    assert chat.last_text == "Wil je nog iets doen voor Lief & Leed?"
    [saved] = await attentions(sessions)
    assert (saved.occasion, saved.kind, saved.cost_cents) == ("birth", AttentionKind.FLOWERS, 2500)
    assert saved.given_on == TODAY
    assert (saved.house_number, saved.note) == (None, None)
    assert saved.logged_by_id == (await chat.person()).id
    async with sessions() as session:
        pot = await session.scalar(select(LiefLeedPot))
        assert (pot.street_id, pot.year, pot.amount_cents) == (world.street_id, 2026, 15000)

    await chat.choose("Terug naar het menu")
    assert chat.last_text == "Wat wil je doen?"
    await chat.choose("Lief & Leed")
    assert plain(chat.last_text).startswith(
        "Pot 2026: € 150,00. Uitgegeven: € 25,00. Over: € 125,00."
    )


async def test_a_visit_at_zero_counts(sessions) -> None:
    world, chat = await open_liefleed(sessions)
    await chat.choose("Aandacht noteren")
    await chat.choose("Eenzaamheid")
    await chat.choose("Bezoek")
    await chat.choose("gratis")
    await chat.choose("Gisteren")
    assert "• Kosten: € 0,00" in plain(chat.last_text)
    await chat.choose("Opslaan")
    assert plain(chat.replies[0].text) == "Opgeslagen. Over in de pot: € 150,00."
    [saved] = await attentions(sessions)
    assert (saved.kind, saved.cost_cents, saved.given_on) == (
        AttentionKind.VISIT,
        0,
        TODAY - dt.timedelta(days=1),
    )
    async with sessions() as session:
        balance = await liefleed.balance(session, street_id=world.street_id, year=2026)
    assert (balance.count, balance.spent_cents) == (1, 0)


async def test_typed_gratis_and_other_occasions(sessions) -> None:
    _, chat = await open_liefleed(sessions)
    await chat.choose("Aandacht noteren")
    await chat.choose("Iets anders")
    assert chat.options == [
        "Geslaagd",
        "Ander blij moment",
        "Ongeluk",
        "Ander verdrietig moment",
        "Andere reden",
        "Terug",
    ]
    await chat.choose("Terug")
    assert chat.last_text == "Wat is de reden?"
    await chat.send("10")  # the number of "Iets anders"
    await chat.choose("Geslaagd")
    await chat.choose("Klein cadeau")
    await chat.send("gratis")
    assert await step(chat) == ("liefleed", "date")
    await chat.send("vandaag")
    await chat.choose("Opslaan")
    [saved] = await attentions(sessions)
    assert (saved.occasion, saved.kind, saved.cost_cents) == ("exam", AttentionKind.GIFT, 0)


# --- refused answers -------------------------------------------------------------------------


async def test_cost_refusals_are_kind_and_change_nothing(sessions) -> None:
    _, chat = await open_liefleed(sessions)
    await to_cost(chat)
    question = "Wat kostte het? Kies een bedrag, of typ het, zoals 12,50."

    refusals = [
        ("tien", "Typ het bedrag in cijfers, zoals 12,50."),
        ("-5", "Het bedrag kan niet onder nul zijn."),  # not option 5: a minus is an amount
        ("€ -12,50", "Het bedrag kan niet onder nul zijn."),
        ("12,345", "Gebruik hooguit twee cijfers voor de centen, zoals 12,50."),
        ("2000000", "Dat is veel. Kijk het bedrag nog eens na. Het kan hooguit € 10.000,00 zijn."),
        ("😀", "Ik snap dat bedrag niet. Typ het zo: 12,50."),
    ]
    for typed, expected in refusals:
        await chat.send(typed)
        assert plain(chat.text) == expected, chat.dump()
        assert len(chat.options) == 5  # the amounts are offered again
        assert await step(chat) == ("liefleed", "cost")

    await chat.send("x" * 5000)
    assert chat.text.startswith("Dat is een heel lang bericht.")
    assert chat.text.endswith(question)
    await chat.send_photo()
    assert chat.text.startswith("Ik kan hier alleen tekst lezen.")
    assert await step(chat) == ("liefleed", "cost")

    await chat.send("€ 12,50")
    assert await step(chat) == ("liefleed", "date")
    await chat.choose("Vandaag")
    assert "• Kosten: € 12,50" in plain(chat.last_text)
    assert await attentions(sessions) == []


async def test_other_amount_is_typed_on_its_own(sessions) -> None:
    _, chat = await open_liefleed(sessions)
    await to_cost(chat)
    await chat.choose("Ander bedrag")
    assert chat.last_text == "Typ het bedrag, zoals 12,50. Was het gratis? Typ 0."
    await chat.send("tien")
    assert chat.text.startswith("Typ het bedrag in cijfers, zoals 12,50.")
    assert await step(chat) == ("liefleed", "cost_typed")
    await chat.send("help")
    assert chat.text.startswith("Kies wat het kostte, of typ het bedrag, zoals 12,50.")
    await chat.send("7")  # no options here: 7 is seven euro
    await chat.choose("Vandaag")
    assert "• Kosten: € 7,00" in plain(chat.last_text)


async def test_dates_in_the_future_or_long_ago_are_refused(sessions) -> None:
    _, chat = await open_liefleed(sessions)
    await to_cost(chat)
    await chat.choose("€ 10,00")
    for typed, expected in [
        ("morgen", "Die dag is nog niet geweest. Typ de dag van je bezoek of cadeau."),
        ("14-6-2026", "Die dag is nog niet geweest. Typ de dag van je bezoek of cadeau."),
        ("1-1-2025", "Dat is te lang geleden. Typ een datum vanaf 12 mei 2025."),
        ("31-2-2026", "Die datum bestaat niet. Kijk de dag en de maand nog eens na."),
        ("ooit", "Ik snap die datum niet. Typ hem zo: 14-3 of 14 maart."),
    ]:
        await chat.send(typed)
        assert chat.text == expected, chat.dump()
        assert chat.options == ["Vandaag", "Gisteren"]
        assert await step(chat) == ("liefleed", "date")

    await chat.send("3 mei")  # without a year: the last 3 May, not next year's
    assert "• Datum: 3 mei 2026" in chat.last_text
    assert await attentions(sessions) == []


async def test_a_day_last_year_goes_to_last_years_pot(sessions) -> None:
    _, chat = await open_liefleed(sessions)
    await to_cost(chat)
    await chat.choose("€ 10,00")
    await chat.send("31-12")
    assert "• Datum: 31 december 2025" in chat.last_text
    await chat.choose("Opslaan")
    assert plain(chat.replies[0].text) == "Opgeslagen. Over in de pot van 2025: € 140,00."
    async with sessions() as session:
        years = list(await session.scalars(select(LiefLeedPot.year)))
    assert years == [2025]


async def test_house_number_and_note_are_optional_extras(sessions) -> None:
    _, chat = await open_liefleed(sessions)
    await to_confirm(chat)
    await chat.choose("Huisnummer/notitie")
    assert chat.options == ["Huisnummer", "Notitie", "Terug"]
    await chat.choose("Huisnummer")
    assert chat.last_text == "Typ het huisnummer, zoals 12 of 12a. Alleen het nummer, geen naam."

    for typed in ("Jan", "12 Piet", "👍"):
        await chat.send(typed)
        assert chat.text.startswith("Typ alleen een huisnummer, zoals 12 of 12a. Geen namen.")
        assert await step(chat) == ("liefleed", "house")
    await chat.send("12a")
    assert "• Huisnummer: 12a" in chat.last_text
    assert await step(chat) == ("liefleed", "confirm")

    await chat.choose("Huisnummer/notitie")
    await chat.choose("Notitie")
    assert chat.last_text == "Typ een korte notitie van hooguit 140 tekens. Geen namen graag."
    await chat.send("a" * 141)
    assert chat.text.startswith("Die notitie is te lang. Gebruik hooguit 140 tekens.")
    assert await step(chat) == ("liefleed", "note")
    await chat.send("Bloemen bij de voordeur gezet")
    assert "• Notitie: Bloemen bij de voordeur gezet" in chat.last_text
    assert "Dat hoeft niet." not in chat.last_text
    assert await attentions(sessions) == []

    await chat.choose("Opslaan")
    [saved] = await attentions(sessions)
    assert (saved.house_number, saved.note) == ("12a", "Bloemen bij de voordeur gezet")


async def test_a_house_number_can_be_taken_away_again(sessions) -> None:
    _, chat = await open_liefleed(sessions)
    await to_confirm(chat)
    await chat.choose("Huisnummer/notitie")
    await chat.choose("Huisnummer")
    await chat.send("12")
    await chat.choose("Huisnummer/notitie")
    await chat.choose("Huisnummer")
    await chat.send("nee")
    assert "Huisnummer:" not in chat.last_text
    await chat.choose("Huisnummer/notitie")
    await chat.choose("Terug")
    await chat.choose("Opslaan")
    [saved] = await attentions(sessions)
    assert saved.house_number is None


async def test_not_saving_stores_nothing(sessions) -> None:
    _, chat = await open_liefleed(sessions)
    await to_confirm(chat)
    await chat.choose("Niet opslaan")
    assert chat.replies[0].text == "Oké, er is niets opgeslagen."
    assert chat.last_text == "Wil je nog iets doen voor Lief & Leed?"
    assert await attentions(sessions) == []


async def test_over_budget_is_flagged_but_saved(sessions) -> None:
    world = await make_world(sessions)
    await log_directly(sessions, world, 10000, 4000)  # € 10 left
    _, chat = await open_liefleed(sessions, world=world)
    assert plain(chat.last_text).startswith(
        "Pot 2026: € 150,00. Uitgegeven: € 140,00. Over: € 10,00."
    )
    await to_confirm(chat)
    await chat.choose("Opslaan")
    assert plain(chat.replies[0].text) == (
        "Opgeslagen. Let op: de pot van 2026 is op. Je gaf € 15,00 meer uit dan de pot. "
        "Dat mag: het is wel opgeslagen."
    )
    assert len(await attentions(sessions)) == 3

    await chat.send("menu")
    await chat.choose("Lief & Leed")
    assert plain(chat.last_text).startswith(
        "Pot 2026: € 150,00. Uitgegeven: € 165,00. Dat is € 15,00 meer dan de pot."
    )


# --- last entries and undo -------------------------------------------------------------------


async def test_last_entries_show_five_without_notes(sessions) -> None:
    world = await make_world(sessions)
    await log_directly(sessions, world, 100, 200, 300, 400, 500)
    async with transaction(sessions) as session:
        gm = await session.scalar(select(Person).where(Person.first_name == "Fatima"))
        await liefleed.log_attention(
            session,
            actor=gm,
            street_id=world.street_id,
            occasion="birth",
            kind=AttentionKind.FLOWERS,
            cost_cents=2500,
            given_on=TODAY,
            house_number="12a",
            note="Secret note",
            now=factories.NOW,
        )
    _, chat = await open_liefleed(sessions, world=world)
    await chat.choose("Laatst genoteerd")
    lines = plain(chat.replies[0].text).split("\n")
    assert lines[0] == "Laatst genoteerd:"
    assert len(lines) == 6
    assert lines[1] == "• 12 mei 2026: Baby, Bloemen, € 25,00, huisnummer 12a"
    assert lines[2].startswith("• 12 mei 2026: Ziekte, Kaart, € ")
    assert "Secret" not in chat.text
    assert "Fatima" not in chat.text
    assert chat.last_text == "Wil je nog iets doen voor Lief & Leed?"


async def test_last_entries_when_there_are_none(sessions) -> None:
    _, chat = await open_liefleed(sessions)
    await chat.choose("Laatst genoteerd")
    assert chat.replies[0].text == "Er is nog niets genoteerd."


async def test_undo_removes_the_last_entry_and_the_money_goes_back(sessions) -> None:
    world, chat = await open_liefleed(sessions)
    await to_confirm(chat)
    await chat.choose("Opslaan")
    assert plain(chat.replies[0].text) == "Opgeslagen. Over in de pot: € 125,00."

    await chat.choose("Laatste terugdraaien")
    assert plain(chat.last_text) == (
        "Dit noteerde je het laatst:\n"
        "12 mei 2026: Baby, Bloemen, € 25,00\n"
        "Wil je dit terugdraaien? Het geld gaat dan terug in de pot."
    )
    assert chat.options == ["Ja, terugdraaien", "Nee, bewaren"]
    await chat.choose("Nee")
    assert chat.replies[0].text == "Goed. Er is niets veranderd."
    assert len(await attentions(sessions)) == 1

    await chat.choose("Laatste terugdraaien")
    await chat.send("ja")
    assert plain(chat.replies[0].text) == "Teruggedraaid. Over in de pot: € 150,00."
    assert await attentions(sessions) == []
    async with sessions() as session:
        balance = await liefleed.balance(session, street_id=world.street_id, year=2026)
        audit = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "liefleed.removed")
        )
    assert (balance.left_cents, balance.count) == (15000, 0)
    assert audit == 1

    await chat.choose("Laatste terugdraaien")
    assert chat.replies[0].text == "Er is niets om terug te draaien."
    assert await step(chat) == ("liefleed", "home")


async def test_undo_after_the_window_shows_the_service_rule(sessions) -> None:
    world = await make_world(sessions)
    await log_directly(sessions, world, 1000)
    _, chat = await open_liefleed(sessions, world=world)
    chat.clock.advance(days=8)
    await chat.send("menu")
    await chat.choose("Lief & Leed")
    await chat.choose("Laatste terugdraaien")
    assert chat.replies[0].text == "Je kunt een notitie maar 7 dagen lang veranderen."
    assert await step(chat) == ("liefleed", "home")
    assert len(await attentions(sessions)) == 1


async def test_undo_window_passing_while_asked_changes_nothing(sessions) -> None:
    world = await make_world(sessions)
    await log_directly(sessions, world, 1000)
    chat = ChatHarness(sessions, address="gm", registry=registry())
    chat.clock.advance(days=7, hours=-1)
    await chat.send("menu")
    await chat.choose("Lief & Leed")
    await chat.choose("Laatste terugdraaien")
    chat.clock.advance(hours=2)
    await chat.choose("Ja, terugdraaien")
    assert chat.text.startswith("Er is niets om terug te draaien.")
    assert await step(chat) == ("liefleed", "undo")
    assert len(await attentions(sessions)) == 1


# --- who sees it -----------------------------------------------------------------------------


async def test_a_street_without_lief_en_leed_has_no_entry(sessions) -> None:
    await make_world(sessions, liefleed=False)
    chat = ChatHarness(sessions, address="gm", registry=registry())
    await chat.send("menu")
    assert "Lief & Leed" not in chat.options
    await chat.send("Lief & Leed")
    assert chat.text.startswith("Kies een van de mogelijkheden.")
    await chat.press("liefleed")  # an old button from before the theme was switched off
    assert chat.text.startswith("Die keuze kan niet meer.")
    assert (await step(chat))[0] == "menu"


async def test_a_street_that_left_lief_en_leed_gets_a_clear_message(sessions) -> None:
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address="gm", registry=registry())
    await chat.send("menu")
    async with transaction(sessions) as session:  # meanwhile, the theme is switched off
        await session.execute(
            update(Street).where(Street.id == world.street_id).values(theme_liefleed=False)
        )
    await chat.choose("Lief & Leed")
    assert chat.replies[0].text == (
        "Je straat doet niet mee met Lief & Leed. Wil je meedoen? Vraag het aan je projectleider."
    )
    assert chat.last_text == "Wat wil je doen?"
    assert "Lief & Leed" not in chat.options


async def test_a_street_that_left_while_logging_is_refused_at_save(sessions) -> None:
    world, chat = await open_liefleed(sessions)
    await to_confirm(chat)
    async with transaction(sessions) as session:
        await session.execute(
            update(Street).where(Street.id == world.street_id).values(theme_liefleed=False)
        )
    await chat.choose("Opslaan")
    assert chat.text == "Deze straat doet niet mee met Lief & Leed."
    assert await attentions(sessions) == []


async def test_several_streets_choose_first(sessions) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as session:
        org = await session.get(Organisation, world.org_id)
        gm = await session.scalar(select(Person).where(Person.first_name == "Fatima"))
        area = await session.get(Area, world.area_id)
        await factories.street(session, org, area, "Aelbrechtskade", gangmakers=(gm,))
        await factories.street(session, org, area, "Bellamyplein", gangmakers=(gm,), liefleed=False)
        await factories.street(
            session, org, area, "Coolsestraat", gangmakers=(gm,), status=StreetStatus.PENDING
        )
    _, chat = await open_liefleed(sessions, world=world)
    assert chat.last_text == "Voor welke straat?"
    assert chat.options == ["Aelbrechtskade", "Zaagmolenstraat"]
    await chat.choose("Zaagmolenstraat")
    assert plain(chat.last_text).startswith("Zaagmolenstraat. Pot 2026: € 150,00.")
    assert "Andere straat" in chat.options
    await chat.choose("Aandacht noteren")
    await chat.choose("Ziekte")
    await chat.choose("Kaart")
    await chat.choose("€ 10,00")
    await chat.choose("Vandaag")
    await chat.choose("Opslaan")
    async with sessions() as session:
        street_ids = list(await session.scalars(select(LiefLeedPot.street_id)))
    assert street_ids == [world.street_id]
    await chat.choose("Andere straat")
    assert chat.last_text == "Voor welke straat?"


# --- English ---------------------------------------------------------------------------------


async def test_the_dialog_in_english(sessions) -> None:
    await make_world(sessions)
    async with transaction(sessions) as session:
        await session.execute(
            update(Person).where(Person.first_name == "Fatima").values(language="en")
        )
    chat = ChatHarness(sessions, address="gm", registry=registry())
    await chat.send("menu")
    await chat.choose("Lief & Leed")
    assert chat.last_text == (
        "Pot 2026: €150.00. Spent: €0.00. Left: €150.00.\nWhat do you want to do?"
    )
    assert chat.options == [
        "Log an attention",
        "Last entries",
        "Undo the last one",
        "Back to the menu",
    ]
    await chat.choose("Log an attention")
    assert chat.last_text == "What is the occasion?"
    await chat.choose("Illness")
    assert chat.last_text == "What did you give or do?"
    await chat.choose("Card")
    assert chat.options == ["€0.00 (free)", "€10.00", "€15.00", "€25.00", "Other amount"]
    await chat.send("tien")
    assert chat.text.startswith("Please type the amount in numbers, like 12.50.")
    await chat.send("12.50")
    assert chat.last_text == "When was it? Choose, or type the day, like 3 May."
    await chat.send("tomorrow")
    assert chat.text.startswith("That day has not come yet.")
    await chat.send("May 3")
    assert chat.last_text == (
        "Shall I save this?\n"
        "• Occasion: Illness\n"
        "• What: Card\n"
        "• Cost: €12.50\n"
        "• Date: May 3, 2026\n"
        "You may add a house number or a note. That is not needed."
    )
    assert chat.options == ["Save", "House number/note", "Don't save"]
    await chat.choose("House number/note")
    await chat.choose("House number")
    await chat.send("Jan")
    assert chat.text.startswith("Type only a house number, like 12 or 12a. No names.")
    await chat.send("7")
    await chat.choose("Save")
    assert chat.replies[0].text == "Saved. Left in the pot: €137.50."
    await chat.choose("Last entries")
    assert chat.replies[0].text == (
        "The last entries:\n• May 3, 2026: Illness, Card, €12.50, house number 7"
    )
    await chat.choose("Undo the last one")
    await chat.choose("Yes, undo")
    assert chat.replies[0].text == "Undone. Left in the pot: €150.00."
    assert await attentions(sessions) == []


# --- typed days --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vandaag", TODAY),
        ("gisteren", dt.date(2026, 5, 11)),
        ("3 mei", dt.date(2026, 5, 3)),
        ("3-5", dt.date(2026, 5, 3)),
        ("12 mei", TODAY),
        ("14-6", dt.date(2025, 6, 14)),  # June has not come yet: last June
        ("zaterdag", dt.date(2026, 5, 9)),
        ("afgelopen zaterdag", dt.date(2026, 5, 9)),
        ("op dinsdag", TODAY),
        ("last Friday", dt.date(2026, 5, 8)),
        ("za 9/5", dt.date(2026, 5, 9)),
        ("2025-12-31", dt.date(2025, 12, 31)),
        # Stay in the future: the service refuses them with a clear sentence.
        ("morgen", dt.date(2026, 5, 13)),
        ("14-6-2026", dt.date(2026, 6, 14)),
        ("komende zaterdag", dt.date(2026, 5, 16)),
    ],
)
def test_parse_past_date(text: str, expected: dt.date) -> None:
    assert parse_past_date(text, today=TODAY, lang="nl") == expected


def test_parse_past_date_refuses_nonsense() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_past_date("ooit eens", today=TODAY, lang="nl")
    assert caught.value.key == "date.not_understood"
