"""The bijdrage dialog: ask for a contribution, see my requests, report back afterwards.

Every conversation checks what the person reads and what the database holds, including that a
refused answer stored nothing. The clock starts on Tuesday 12 May 2026, 12:00 in Rotterdam.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from bot.db import transaction
from bot.models import (
    Area,
    BudgetRequest,
    ChannelIdentity,
    Organisation,
    Person,
    RequestStatus,
    Street,
    StreetStatus,
)
from bot.services import budget
from tests import factories as f
from tests.chat import ChatHarness, World, make_world
from tests.factories import NOW

S = RequestStatus
DAY = dt.timedelta(days=1)
REFERENCE = re.compile(r"B-[0-9A-Z]{6}")

# One good answer per question, in the order they are asked.
ANSWERS = {
    "activity": "BBQ met de buren",
    "date": "zaterdag 23 mei",
    "participants": "ongeveer 30",
    "amount": "€ 120",
    "plan": "We grillen samen op straat.",
}


# --- helpers ---------------------------------------------------------------------------------


async def add_round(sessions, world: World, **kw) -> int:
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        return (await f.round_(s, org, **kw)).id


async def world_with_round(sessions, **kw) -> World:
    world = await make_world(sessions)
    await add_round(sessions, world, **kw)
    return world


async def open_budget(chat: ChatHarness) -> None:
    await chat.send("menu")
    await chat.choose("Bijdrage aanvragen")  # the main-menu entry


async def start_request(chat: ChatHarness) -> None:
    await open_budget(chat)
    await chat.press("ask")


async def answer_until(chat: ChatHarness, stop: str | None = None) -> None:
    """Give the good answers from the current question on, up to (not including) ``stop``."""
    state = await chat.state()
    steps = list(ANSWERS)
    for step in steps[steps.index(state.step) :]:
        if step == stop:
            return
        await chat.send(ANSWERS[step])
    assert (await chat.state()).step == (stop or "confirm"), chat.dump()


async def all_requests(sessions) -> list[BudgetRequest]:
    async with sessions() as s:
        return list(await s.scalars(select(BudgetRequest).order_by(BudgetRequest.id)))


async def person_at(s, address: str) -> Person:
    return await s.scalar(
        select(Person).join(ChannelIdentity).where(ChannelIdentity.address == address)
    )


async def submit_directly(sessions, world: World, round_id: int, **kw) -> BudgetRequest:
    args = {
        "street_id": world.street_id,
        "round_id": round_id,
        "activity": "Straatfeest",
        "activity_date": dt.date(2026, 5, 23),
        "expected_participants": 40,
        "amount_cents": 15000,
        "plan": None,
        "now": NOW,
    }
    args.update(kw)
    async with transaction(sessions) as s:
        return await budget.submit_request(s, actor=await person_at(s, "gm"), **args)


async def review(sessions, reference: str, decision: str, **kw) -> None:
    """The area's project leader decides, through the service (as the leader dialog would)."""
    async with transaction(sessions) as s:
        request = await s.scalar(select(BudgetRequest).where(BudgetRequest.reference == reference))
        await budget.review_request(
            s,
            actor=await person_at(s, "leader"),
            request_id=request.id,
            decision=decision,
            now=NOW + DAY,
            **kw,
        )


async def set_street_status(sessions, street_id: int, status: StreetStatus) -> None:
    async with transaction(sessions) as s:
        await s.execute(update(Street).where(Street.id == street_id).values(status=status))


async def assert_stays(chat: ChatHarness, sessions, step: str, reply: str) -> None:
    """The answer was refused kindly: the hint is said, the dialog stays, nothing is stored."""
    assert chat.text == reply, chat.dump()
    state = await chat.state()
    assert (state.dialog, state.step) == ("budget", step), chat.dump()
    assert await all_requests(sessions) == []


# --- the whole request ---------------------------------------------------------------------------


async def test_ask_for_a_contribution_from_start_to_reference(sessions) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await open_budget(chat)
    assert chat.text == (
        "Hier vraag je een bijdrage voor een activiteit in je straat.\nWat wil je doen?"
    )
    assert chat.option_values == ["ask", "status", "back"]  # nothing to report yet

    # One active street and one open round: both questions are skipped.
    await chat.press("ask")
    assert chat.text == (
        "Wat ga je doen? Kies er een, of typ het zelf. Bijvoorbeeld: een barbecue."
    )
    assert chat.options == ["Straatfeest", "Opruimactie", "Groen in de straat", "Kinderactiviteit"]

    await chat.send("BBQ met de buren")
    assert chat.text == "Op welke dag is het? Bijvoorbeeld: 23-5 of zaterdag 23 mei."
    await chat.send("za 23 mei")
    assert [r.text for r in chat.replies] == [
        "Oké: zaterdag 23 mei.",
        "Hoeveel mensen doen er mee, denk je? Bijvoorbeeld: 30.",
    ]
    await chat.send("ongeveer 30")
    assert chat.text == "Hoeveel geld heb je nodig? Het maximum is €\xa0250,00."
    await chat.send("€ 120,-")
    assert chat.text == "Vertel in één zin wat je plan is. Je mag dit ook overslaan."
    assert chat.options == ["Overslaan"]
    await chat.send("We grillen samen op straat.")
    assert chat.text == (
        "Dit is je aanvraag:\n"
        "• Straat: Zaagmolenstraat\n"
        "• Ronde: Voorjaarsronde\n"
        "• Activiteit: BBQ met de buren\n"
        "• Datum: zaterdag 23 mei\n"
        "• Aantal mensen: 30\n"
        "• Bedrag: €\xa0120,00\n"
        "• Plan: We grillen samen op straat.\n"
        "\n"
        "Zal ik het versturen?"
    )
    assert chat.option_values == ["yes", "change", "no"]
    assert await all_requests(sessions) == []  # nothing is stored before the yes

    await chat.send("ja")
    reference = REFERENCE.search(chat.replies[0].text).group()
    assert chat.replies[0].text == (
        f"Je aanvraag is binnen. Je nummer is {reference}. Een projectleider kijkt ernaar."
    )
    assert chat.last_text == "Wat wil je doen?"  # back in the main menu
    assert (await chat.state()).dialog == "menu"

    [request] = await all_requests(sessions)
    gm = await chat.person()
    assert request.reference == reference
    assert request.street_id == world.street_id
    assert request.requested_by_id == gm.id
    assert request.activity == "BBQ met de buren"
    assert request.activity_date == dt.date(2026, 5, 23)
    assert request.expected_participants == 30
    assert request.amount_cents == 12000
    assert request.plan == "We grillen samen op straat."
    assert request.status == S.SUBMITTED

    # Pressing the old "yes" button again sends nothing twice.
    await chat.press("yes")
    assert len(await all_requests(sessions)) == 1


async def test_options_skip_and_change_before_sending(sessions) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await chat.send("1")  # Straatfeest, by number
    await answer_until(chat, "plan")
    await chat.choose("Overslaan")
    assert "• Activiteit: Straatfeest\n" in chat.text
    assert "Plan:" not in chat.text

    await chat.press("change")
    assert chat.text == "Wat wil je aanpassen?"
    assert chat.option_values == ["activity", "date", "participants", "amount", "plan", "confirm"]
    await chat.choose("Bedrag")
    assert chat.text == "Hoeveel geld heb je nodig? Het maximum is €\xa0250,00."
    await chat.send("400")  # still checked while changing
    assert chat.text == "Dat is te veel. Het kan hooguit €\xa0250,00 zijn."
    await chat.send("75,50")
    assert (await chat.state()).step == "confirm"  # straight back to the summary
    assert "• Bedrag: €\xa075,50\n" in chat.text

    await chat.press("change")
    await chat.choose("Datum")
    await chat.send("30-5")
    assert chat.replies[0].text == "Oké: zaterdag 30 mei."
    assert "• Datum: zaterdag 30 mei\n" in chat.last_text

    await chat.press("change")
    await chat.choose("Niets")
    assert (await chat.state()).step == "confirm"

    await chat.press("yes")
    [request] = await all_requests(sessions)
    assert (request.activity, request.plan) == ("Straatfeest", None)
    assert (request.amount_cents, request.activity_date) == (7550, dt.date(2026, 5, 30))


async def test_saying_no_sends_nothing(sessions) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await answer_until(chat)
    await chat.send("nee")
    assert chat.replies[0].text == "Oké. Ik heb je aanvraag niet verstuurd."
    assert (await chat.state()).dialog == "menu"
    assert await all_requests(sessions) == []


# --- bad answers at every step ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "reply"),
    [
        ("twaalf", "Typ het bedrag in cijfers, zoals 12,50."),
        ("€ 300", "Dat is te veel. Het kan hooguit €\xa0250,00 zijn."),
        ("250,01", "Dat is te veel. Het kan hooguit €\xa0250,00 zijn."),
        ("99999999999999", "Dat is te veel. Het kan hooguit €\xa0250,00 zijn."),
        ("0", "Het bedrag moet meer dan nul zijn."),
        ("gratis", "Het bedrag moet meer dan nul zijn."),
        ("-5", "Het bedrag kan niet onder nul zijn."),
        ("€ -12,50", "Het bedrag kan niet onder nul zijn."),
        ("12,555", "Gebruik hooguit twee cijfers voor de centen, zoals 12,50."),
        ("💶💶", "Ik snap dat bedrag niet. Typ het zo: 12,50."),
        ("veel geld", "Ik snap dat bedrag niet. Typ het zo: 12,50."),
    ],
)
async def test_bad_amounts_are_refused(sessions, typed: str, reply: str) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await answer_until(chat, "amount")
    await chat.send(typed)
    await assert_stays(chat, sessions, "amount", reply)
    assert "cents" not in (await chat.state()).data


async def test_amount_with_euro_sign_and_cents_is_accepted(sessions) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await answer_until(chat, "amount")
    await chat.send("twaalf")
    await chat.send("€ 12,50")
    await chat.choose("Overslaan")
    assert "• Bedrag: €\xa012,50\n" in chat.text
    await chat.press("yes")
    [request] = await all_requests(sessions)
    assert request.amount_cents == 1250


async def test_the_maximum_is_the_rounds_own(sessions) -> None:
    world = await world_with_round(sessions, max_cents=17500, name="Decemberfeesten")
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await answer_until(chat, "amount")
    assert chat.text == "Hoeveel geld heb je nodig? Het maximum is €\xa0175,00."
    await chat.send("200")
    await assert_stays(
        chat, sessions, "amount", "Dat is te veel. Het kan hooguit €\xa0175,00 zijn."
    )
    await chat.send("help")
    assert chat.text.startswith("Typ alleen het bedrag in euro's, zoals 75 of 75,50.\n")
    assert chat.text.endswith("Hoeveel geld heb je nodig? Het maximum is €\xa0175,00.")
    await chat.send("175")
    assert (await chat.state()).step == "plan"


@pytest.mark.parametrize(
    ("typed", "reply"),
    [
        ("gisteren", "Die datum is al voorbij. Typ een latere datum."),
        ("1-5-2026", "Die datum is al voorbij. Typ een latere datum."),
        ("1-1-2030", "Die datum is te ver weg. Kies een datum binnen 366 dagen."),
        ("14 mei 2027", "Die datum is te ver weg. Kies een datum binnen 366 dagen."),
        ("31 februari", "Die datum bestaat niet. Kijk de dag en de maand nog eens na."),
        ("zaterdag 24 mei", "24 mei 2026 is geen zaterdag. Kijk de datum nog eens na."),
        ("ergens in de zomer", "Ik snap die datum niet. Typ hem zo: 14-3 of 14 maart."),
        ("🎉", "Ik snap die datum niet. Typ hem zo: 14-3 of 14 maart."),
    ],
)
async def test_bad_dates_are_refused(sessions, typed: str, reply: str) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await answer_until(chat, "date")
    await chat.send(typed)
    await assert_stays(chat, sessions, "date", reply)
    assert "date" not in (await chat.state()).data


async def test_today_and_tomorrow_are_fine(sessions) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await answer_until(chat, "date")
    await chat.send("vandaag")
    assert chat.replies[0].text == "Oké: dinsdag 12 mei."
    await chat.send("30")
    await chat.send("50")
    await chat.press("skip")
    await chat.press("change")
    await chat.press("date")
    await chat.send("morgen")
    assert chat.replies[0].text == "Oké: woensdag 13 mei."
    await chat.press("change")
    await chat.press("date")
    await chat.send("1-3-2027")  # next year: the year is shown
    assert chat.replies[0].text == "Oké: maandag 1 maart 2027."


@pytest.mark.parametrize(
    ("typed", "reply"),
    [
        ("veel", "Typ een getal, zoals 20."),
        ("twintig", "Typ het getal in cijfers, zoals 20."),
        ("0", "Het getal moet minstens 1 zijn."),
        ("-3", "Het getal moet minstens 1 zijn."),
        ("20000", "Het getal kan hooguit 10000 zijn."),
    ],
)
async def test_bad_participant_counts_are_refused(sessions, typed: str, reply: str) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await answer_until(chat, "participants")
    await chat.send(typed)
    await assert_stays(chat, sessions, "participants", reply)


async def test_odd_messages_are_answered_kindly(sessions) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    question = "Wat ga je doen? Kies er een, of typ het zelf. Bijvoorbeeld: een barbecue."

    await chat.send("x" * 5000)
    assert chat.text.startswith("Dat is een heel lang bericht.")
    assert chat.text.endswith(question)
    await chat.send("🎉🎉🎉")
    assert chat.replies[0].text == "Vertel in woorden wat je gaat doen."
    assert chat.last_text == question
    await chat.send("a" * 300)
    assert chat.text == "Beschrijf de activiteit in 2 tot 200 tekens."
    await chat.send_photo("photo-1")
    assert chat.text.startswith("Ik kan hier alleen tekst lezen.")
    await assert_stays(chat, sessions, "activity", chat.text)

    await chat.send("Straatfeest")
    await chat.send("23 mei")
    await chat.send("30")
    await chat.send_location()
    assert chat.text.startswith("Ik kan hier alleen tekst lezen.")
    await chat.send("120")
    await chat.send("🙂🙂")
    assert chat.replies[0].text == "Schrijf je plan in woorden, of kies Overslaan."
    await chat.send("p" * 1200)
    assert chat.text.startswith("Dat is een heel lang bericht.")
    await chat.send("Plan " * 120)  # 600 characters once the spaces are counted
    assert chat.text == "Dat is te lang. Gebruik hooguit 500 tekens."
    await assert_stays(chat, sessions, "plan", chat.text)
    await chat.send("help")
    assert chat.text.startswith("Geef antwoord op de vraag hieronder.")
    assert (await chat.state()).step == "plan"


# --- when asking is not possible -----------------------------------------------------------------


async def test_no_open_round_says_when_the_next_one_opens(sessions) -> None:
    world = await make_world(sessions)
    await add_round(sessions, world, opens=NOW - 60 * DAY, closes=NOW - 2 * DAY, name="Voorjaar")
    await add_round(
        sessions,
        world,
        opens=dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC),  # 1 July, midnight in Rotterdam
        closes=dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC),
        name="Zomerronde",
    )
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    assert chat.replies[0].text == (
        "Er is nu geen ronde open. De volgende ronde is Zomerronde. Die begint op 1 juli 2026."
    )
    assert (await chat.state()).dialog == "menu"

    chat.clock.set(dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC))  # the summer round is open
    await start_request(chat)
    assert (await chat.state()).step == "activity"


async def test_no_round_at_all(sessions) -> None:
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    assert chat.replies[0].text == "Er is nu geen ronde open. Kijk later nog eens."
    assert (await chat.state()).dialog == "menu"


async def test_round_that_closed_while_typing(sessions) -> None:
    world = await world_with_round(sessions, closes=NOW + dt.timedelta(hours=1))
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await answer_until(chat)
    chat.clock.advance(hours=2)
    await chat.press("yes")
    assert chat.text == "De ronde Voorjaarsronde is nu niet open."
    assert chat.option_values == ["yes", "change", "no"]
    await assert_stays(chat, sessions, "confirm", chat.text)

    chat.clock.advance(minutes=5)
    await start_request(chat)
    assert chat.replies[0].text == "Er is nu geen ronde open. Kijk later nog eens."


async def test_street_waiting_for_approval(sessions) -> None:
    world = await world_with_round(sessions)
    await set_street_status(sessions, world.street_id, StreetStatus.PENDING)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    assert chat.replies[0].text == (
        "Je straat is nog niet goedgekeurd. Een projectleider moet je straat eerst goedkeuren.\n"
        "Daarna kun je een bijdrage vragen."
    )
    assert (await chat.state()).dialog == "menu"
    assert await all_requests(sessions) == []


async def test_street_stopped_while_asking(sessions) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    await answer_until(chat)
    await set_street_status(sessions, world.street_id, StreetStatus.INACTIVE)
    await chat.press("yes")
    assert (
        chat.text == "Je kunt een bijdrage vragen als je straat actief is. De straat is nu gestopt."
    )
    await assert_stays(chat, sessions, "confirm", chat.text)


async def test_already_asked_in_this_round(sessions) -> None:
    world = await make_world(sessions)
    round_id = await add_round(sessions, world)
    first = await submit_directly(sessions, world, round_id)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    assert chat.replies[0].text == (
        f"Zaagmolenstraat heeft al een bijdrage gevraagd in Voorjaarsronde. "
        f"Het nummer is {first.reference}.\nJe vindt de aanvraag bij Mijn aanvragen."
    )
    assert (await chat.state()).step == "choose"  # the bijdrage menu, e.g. for My requests
    assert len(await all_requests(sessions)) == 1

    # Taken back: the street may ask again.
    async with transaction(sessions) as s:
        await budget.withdraw_request(
            s, actor=await person_at(s, "gm"), request_id=first.id, now=NOW
        )
    await chat.press("ask")
    assert (await chat.state()).step == "activity"


async def test_several_streets_and_rounds_are_asked_for(sessions) -> None:
    world = await make_world(sessions)
    spring = await add_round(sessions, world)
    await add_round(sessions, world, name="Groen & Schoon", max_cents=50000)
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        area = await s.get(Area, world.area_id)
        gm = await person_at(s, "gm")
        second = await f.street(s, org, area, "Snellemanstraat", gangmakers=(gm,))
        await f.street(
            s, org, area, "Pendrechtstraat", status=StreetStatus.PENDING, gangmakers=(gm,)
        )
        second_id = second.id
    await submit_directly(sessions, world, spring)  # Zaagmolenstraat in the spring round

    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    assert chat.text == "Voor welke straat?"
    assert chat.options == ["Snellemanstraat", "Zaagmolenstraat"]  # only active streets
    await chat.choose("Zaagmolenstraat")
    # The spring round was used already: only the other round is left, so it is not asked.
    assert (await chat.state()).step == "activity"

    await start_request(chat)
    await chat.choose("Snellemanstraat")
    assert chat.text == (
        "Voor welke ronde?\n"
        "• Voorjaarsronde: open tot en met 11 juni 2026, hooguit €\xa0250,00\n"
        "• Groen & Schoon: open tot en met 11 juni 2026, hooguit €\xa0500,00"
    )
    await chat.choose("Groen")
    await answer_until(chat, "amount")
    assert chat.text == "Hoeveel geld heb je nodig? Het maximum is €\xa0500,00."
    await answer_until(chat)
    assert "• Straat: Snellemanstraat\n• Ronde: Groen & Schoon\n" in chat.text
    await chat.press("yes")
    request = (await all_requests(sessions))[-1]
    assert request.street_id == second_id
    assert (await chat.state()).dialog == "menu"


# --- my requests -------------------------------------------------------------------------------


async def test_status_shows_payout_code_and_point_after_approval(sessions) -> None:
    world = await world_with_round(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await open_budget(chat)
    await chat.choose("Mijn aanvragen")
    assert chat.replies[0].text == "Je hebt nog geen bijdrage gevraagd."
    assert (await chat.state()).step == "choose"

    await chat.press("ask")
    await answer_until(chat)
    await chat.press("yes")
    [request] = await all_requests(sessions)
    await open_budget(chat)
    await chat.choose("Mijn aanvragen")
    assert chat.replies[0].text == (
        "Je aanvraag:\n\n"
        f"{request.reference} · Zaagmolenstraat · Voorjaarsronde\n"
        "BBQ met de buren op zaterdag 23 mei\n"
        "Gevraagd: €\xa0120,00\n"
        "Status: ingestuurd\n"
        "Een projectleider kijkt ernaar."
    )

    await review(sessions, request.reference, "approve")
    [request] = await all_requests(sessions)
    assert request.payout_code
    await chat.press("status")
    assert chat.replies[0].text == (
        "Je aanvraag:\n\n"
        f"{request.reference} · Zaagmolenstraat · Voorjaarsronde\n"
        "BBQ met de buren op zaterdag 23 mei\n"
        "Gevraagd: €\xa0120,00\n"
        "Status: goedgekeurd\n"
        "Je krijgt: €\xa0120,00\n"
        f"Je code voor het geld: {request.payout_code}\n"
        "Haal het geld op bij:\n"
        "  Buurthuis Delfshaven, Schiedamseweg 1 (open: ma-vr 10-16)"
    )
    assert chat.last_text.endswith("Wat wil je doen?")


async def test_status_shows_reasons_newest_first_and_at_most_ten(sessions) -> None:
    world = await make_world(sessions)
    round_ids = [
        await add_round(sessions, world, opens=NOW - (40 - i) * DAY, name=f"Ronde {i}")
        for i in range(3)
    ]
    old = await submit_directly(sessions, world, round_ids[0], now=NOW - 20 * DAY)
    await review(sessions, old.reference, "reject", reason="Er is al een feest in de buurt.")
    middle = await submit_directly(sessions, world, round_ids[1], now=NOW - 10 * DAY)
    await review(sessions, middle.reference, "partly", awarded_cents=8000, reason="Minder eten.")
    new = await submit_directly(sessions, world, round_ids[2], activity="Opruimen")

    chat = ChatHarness(sessions, address=world.gangmaker)
    await open_budget(chat)
    await chat.choose("Mijn aanvragen")
    text = chat.replies[0].text
    assert text.startswith("Je aanvragen:\n\n")
    assert text.index(new.reference) < text.index(middle.reference) < text.index(old.reference)
    assert "Status: niet goedgekeurd\nReden: Er is al een feest in de buurt." in text
    assert "Status: deels goedgekeurd\nJe krijgt: €\xa080,00\nReden: Minder eten.\n" in text
    assert "Je code voor het geld:" in text

    async with transaction(sessions) as s:  # many old requests from earlier years
        street = await s.get(Street, world.street_id)
        for i in range(12):
            s.add(
                BudgetRequest(
                    reference=f"B-OLD{i:03d}",
                    round_id=round_ids[0],
                    street_id=street.id,
                    activity="Oud feest",
                    activity_date=dt.date(2025, 5, 1),
                    expected_participants=10,
                    amount_cents=5000,
                    status=S.WITHDRAWN,
                    report_photos=[],
                    created_at=NOW - 400 * DAY + i * DAY,
                )
            )
    await chat.press("status")
    text = chat.replies[0].text
    assert text.startswith("Je 10 nieuwste aanvragen:\n\n")
    assert text.count("Status:") == 10
    assert new.reference in text and "Status: ingetrokken" in text


# --- report afterwards --------------------------------------------------------------------------


async def test_report_with_two_photos(sessions) -> None:
    world = await make_world(sessions)
    round_id = await add_round(sessions, world)
    request = await submit_directly(sessions, world, round_id)
    await review(sessions, request.reference, "approve")

    chat = ChatHarness(sessions, address=world.gangmaker)
    await open_budget(chat)
    assert "report" not in chat.option_values  # the activity day has not come yet

    chat.clock.set(dt.datetime(2026, 5, 23, 16, 0, tzinfo=dt.UTC))  # the party is on
    await open_budget(chat)
    assert chat.option_values == ["ask", "status", "report", "back"]
    await chat.choose("Verslag doen")  # the only reportable request is not asked for
    assert chat.text == "Hoeveel mensen deden mee aan Straatfeest op zaterdag 23 mei?"
    await chat.send("veel")
    assert chat.text == "Typ een getal, zoals 20."
    assert (await chat.state()).step == "report_people"
    await chat.send("25 mensen")
    assert chat.text == (
        "Stuur foto's van de activiteit. Het mogen er hooguit 10 zijn.\n"
        "Typ klaar als je alles hebt gestuurd. Geen foto's? Typ dan ook klaar."
    )
    assert chat.options == ["Klaar"]

    await chat.send_photo("photo-a")
    assert chat.text == "Dank je, ik heb 1 foto. Stuur er meer, of typ klaar."
    await chat.send("mooi he")
    assert chat.text == "Stuur een foto, of typ klaar als je alles hebt gestuurd."
    await chat.send_photo("photo-b", caption="de kinderen")
    assert chat.text == "Dank je, ik heb 2 foto's. Stuur er meer, of typ klaar."
    await chat.send_photo("photo-b")  # the same photo twice counts once
    assert chat.text == "Dank je, ik heb 2 foto's. Stuur er meer, of typ klaar."
    [stored] = await all_requests(sessions)
    assert stored.status == S.APPROVED and stored.report_photos == []

    await chat.send("Klaar!")
    assert chat.text == (
        f"Je verslag voor {request.reference}:\n• 25 mensen deden mee\n• 2 foto's\n\n"
        "Zal ik het versturen?"
    )
    await chat.press("yes")
    assert chat.replies[0].text == ("Bedankt voor je verslag! Fijn dat je dit voor je straat deed.")
    [stored] = await all_requests(sessions)
    assert stored.status == S.REPORTED
    assert stored.report_participants == 25
    assert stored.report_photos == ["photo-a", "photo-b"]

    await open_budget(chat)
    assert "report" not in chat.option_values  # reported once


async def test_report_stops_at_ten_photos_and_asks_which_request(sessions) -> None:
    world = await make_world(sessions)
    first_round = await add_round(sessions, world)
    second_round = await add_round(sessions, world, name="Zomer")
    one = await submit_directly(sessions, world, first_round)
    two = await submit_directly(sessions, world, second_round, activity="Opruimen")
    for request in (one, two):
        await review(sessions, request.reference, "approve")

    chat = ChatHarness(sessions, address=world.gangmaker)
    chat.clock.set(dt.datetime(2026, 5, 24, 9, 0, tzinfo=dt.UTC))
    await open_budget(chat)
    await chat.press("report")
    assert chat.text == "Over welke activiteit wil je verslag doen?"
    assert sorted(chat.options) == sorted(
        [f"{two.reference} Opruimen", f"{one.reference} Straatfeest"]
    )
    await chat.choose("Opruimen")
    await chat.send("12")
    for i in range(10):
        await chat.send_photo(f"p{i}")
    assert chat.replies[0].text == "Dat zijn 10 foto's. Meer kan niet."
    assert (await chat.state()).step == "report_confirm"
    await chat.send("nee")
    assert chat.replies[0].text == "Oké. Ik heb je verslag niet verstuurd."
    stored = {r.reference: r for r in await all_requests(sessions)}
    assert stored[two.reference].status == S.APPROVED


# --- in English --------------------------------------------------------------------------------


async def test_the_dialog_in_english(sessions) -> None:
    world = await world_with_round(sessions)
    async with transaction(sessions) as s:
        (await person_at(s, "gm")).language = "en"
    chat = ChatHarness(sessions, address=world.gangmaker)
    await chat.send("menu")
    await chat.choose("Ask for a contribution")
    assert chat.text == (
        "Here you ask for a contribution for an activity in your street.\nWhat do you want to do?"
    )
    assert chat.options == ["New request", "My requests", "Back to the menu"]
    await chat.choose("New request")
    assert chat.options == ["Street party", "Clean-up", "Greening", "Children's activity"]
    await chat.choose("Street party")
    assert chat.text == "On which day is it? For example: 23-5 or Saturday 23 May."
    await chat.send("yesterday")
    assert chat.text == "That date has already passed. Please type a later date."
    await chat.send("Saturday May 23")
    assert chat.replies[0].text == "Okay: Saturday 23 May."
    await chat.send("lots")
    assert chat.text == "Please type a number, like 20."
    await chat.send("about 30 people")
    assert chat.text == "How much money do you need? The most is €250.00."
    await chat.send("twelve")
    assert chat.text == "Please type the amount in numbers, like 12.50."
    await chat.send("€300")
    assert chat.text == "That is too much. The most is €250.00."
    await chat.send("€ 12.50")
    await chat.choose("Skip")
    assert chat.text == (
        "This is your request:\n"
        "• Street: Zaagmolenstraat\n"
        "• Round: Voorjaarsronde (en)\n"
        "• Activity: Street party\n"
        "• Date: Saturday 23 May\n"
        "• People: 30\n"
        "• Amount: €12.50\n"
        "\n"
        "Shall I send it?"
    )
    assert chat.options == ["Yes, send it", "Change something", "No, do not send"]
    await chat.send("yes")
    [request] = await all_requests(sessions)
    assert chat.replies[0].text == (
        f"Your request is in. Your number is {request.reference}. A project leader will look at it."
    )
    assert request.amount_cents == 1250

    await review(sessions, request.reference, "approve")
    await chat.send("menu")
    await chat.choose("Ask for a contribution")
    await chat.choose("My requests")
    assert chat.replies[0].text.endswith(
        "Status: approved\n"
        "You get: €12.50\n"
        f"Your payout code: {(await all_requests(sessions))[0].payout_code}\n"
        "Collect the money at:\n"
        "  Buurthuis Delfshaven, Schiedamseweg 1 (open: ma-vr 10-16)"
    )


async def test_round_that_closed_while_choosing_the_street(sessions) -> None:
    world = await world_with_round(sessions, closes=NOW + dt.timedelta(hours=1))
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        area = await s.get(Area, world.area_id)
        await f.street(s, org, area, "Snellemanstraat", gangmakers=(await person_at(s, "gm"),))
    chat = ChatHarness(sessions, address=world.gangmaker)
    await start_request(chat)
    assert chat.text == "Voor welke straat?"
    chat.clock.advance(hours=2)
    await chat.choose("Snellemanstraat")
    assert chat.replies[0].text == "Er is nu geen ronde open. Kijk later nog eens."
    assert (await chat.state()).dialog == "menu"
    assert await all_requests(sessions) == []
