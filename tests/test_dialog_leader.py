"""Project leaders: reviewing requests, checking new streets and a round's overview. The
gangmakers hear the outcome in their own language: a Delivery row, shown on the console at
their next message."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from bot.db import transaction
from bot.models import (
    Area,
    AuditEntry,
    BudgetRequest,
    Channel,
    ChannelIdentity,
    Delivery,
    DeliveryStatus,
    Organisation,
    Person,
    RequestStatus,
    Role,
    Street,
    StreetMembership,
    StreetStatus,
)
from bot.services import budget, streets
from tests import factories
from tests.chat import ChatHarness, World, make_world
from tests.factories import NOW

NBSP = "\u00a0"


def eur(text: str) -> str:
    """Dutch money as Babel writes it: "€ 175,00" with a no-break space."""
    return text.replace("€ ", f"€{NBSP}")


@dataclass
class Setup:
    world: World
    round_id: int
    request_id: int
    reference: str
    gm_id: int
    en_id: int


async def person_at(s, address: str) -> Person:
    return await s.scalar(
        select(Person)
        .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
        .where(ChannelIdentity.address == address)
    )


async def submit(s, gm: Person, street_id: int, round_id: int, amount: int) -> BudgetRequest:
    return await budget.submit_request(
        s,
        actor=gm,
        street_id=street_id,
        round_id=round_id,
        activity="Buurtbarbecue",
        activity_date=dt.date(2026, 6, 20),
        expected_participants=30,
        amount_cents=amount,
        plan="Barbecue op het pleintje, iedereen neemt een salade mee.",
        now=NOW,
    )


async def setup(sessions, *, amount: int = 17500) -> Setup:
    """make_world plus an open round, a second gangmaker (English) and a submitted request."""
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        round_ = await factories.round_(s, org)
        gm = await person_at(s, world.gangmaker)
        en = await factories.person(s, org, "John", language="en", address="gm-en")
        s.add(StreetMembership(street_id=world.street_id, person_id=en.id, is_gangmaker=True))
        await s.flush()
        request = await submit(s, gm, world.street_id, round_.id, amount)
        return Setup(world, round_.id, request.id, request.reference, gm.id, en.id)


async def leader_at_queue(sessions, address: str = "leader") -> ChatHarness:
    chat = ChatHarness(sessions, address=address)
    await chat.send("menu")
    await chat.choose("Aanvragen beoordelen")
    return chat


async def request_row(sessions, request_id: int) -> BudgetRequest:
    async with sessions() as s:
        return await s.get(BudgetRequest, request_id)


async def deliveries(sessions) -> dict[int, Delivery]:
    async with sessions() as s:
        return {d.person_id: d for d in await s.scalars(select(Delivery))}


async def count(sessions, model) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(model))


# --- review ----------------------------------------------------------------------------------


async def test_leader_approves_in_full_and_both_gangmakers_hear_it(sessions) -> None:
    st = await setup(sessions)
    chat = await leader_at_queue(sessions)
    assert chat.last_text == "Er wacht 1 aanvraag op je. Kies hem om hem te bekijken."
    assert chat.options == [
        eur(f"{st.reference} · Zaagmolenstraat · € 175,00"),
        "Terug naar het menu",
    ]

    await chat.choose(st.reference)
    assert chat.last_text == eur(
        f"{st.reference} · Zaagmolenstraat\n"
        "Gebied: Delfshaven\n"
        "Ronde: Voorjaarsronde\n"
        "Activiteit: Buurtbarbecue\n"
        "Datum: 20 juni 2026\n"
        "Verwacht: 30 mensen\n"
        "Gevraagd: € 175,00 (de ronde geeft hooguit € 250,00)\n"
        "Plan: Barbecue op het pleintje, iedereen neemt een salade mee.\n"
        "Huishoudens in de straat: 40\n"
        "Ingestuurd op 12 mei 2026.\n"
        "\n"
        "Wat besluit je?"
    )
    assert chat.options == [
        "Helemaal goedkeuren",
        "Deels goedkeuren",
        "Afwijzen",
        "Terug naar de lijst",
    ]

    await chat.choose("Helemaal goedkeuren")
    assert chat.last_text == eur(
        f"{st.reference} voor Zaagmolenstraat goedkeuren: € 175,00?\n"
        "De gangmakers van de straat krijgen een bericht."
    )
    assert (await request_row(sessions, st.request_id)).status == RequestStatus.SUBMITTED
    await chat.choose("Ja, versturen")
    assert chat.replies[0].text == "Klaar. De 2 gangmakers krijgen een bericht."
    assert chat.replies[1].text == "Er wachten geen aanvragen op je. Goed gedaan!"
    assert (await chat.state()).dialog == "menu"

    request = await request_row(sessions, st.request_id)
    assert request.status == RequestStatus.APPROVED
    assert request.awarded_cents == 17500
    code = request.payout_code
    assert code and len(code) == 8
    sent = await deliveries(sessions)
    assert set(sent) == {st.gm_id, st.en_id}
    assert sent[st.gm_id].key == f"budget:{st.request_id}:decided:{st.gm_id}"
    assert sent[st.gm_id].status == DeliveryStatus.QUEUED
    assert sent[st.gm_id].body == eur(
        f"Goed nieuws! Je aanvraag {st.reference} voor Zaagmolenstraat is goedgekeurd. "
        "Je krijgt € 175,00.\n"
        f"Je code voor het geld: {code}\n"
        "Haal het geld op met deze code bij:\n"
        "• Buurthuis Delfshaven, Schiedamseweg 1. Open: ma-vr 10-16"
    )
    assert sent[st.en_id].body == (
        f"Good news! Your request {st.reference} for Zaagmolenstraat is approved. "
        "You get €175.00.\n"
        f"Your payout code: {code}\n"
        "Pick up the money with this code at:\n"
        "• Buurthuis Delfshaven, Schiedamseweg 1. Open: ma-vr 10-16"
    )
    async with sessions() as s:
        audit = await s.scalar(select(AuditEntry).where(AuditEntry.action == "budget.approved"))
        assert audit is not None and audit.object_id == st.request_id


async def test_partly_amount_is_checked_kindly_and_nothing_changes(sessions) -> None:
    st = await setup(sessions)
    chat = await leader_at_queue(sessions)
    await chat.choose(st.reference)
    await chat.choose("Deels goedkeuren")
    assert chat.last_text == eur(
        "Hoeveel geef je? Het is minder dan de gevraagde € 175,00. Bijvoorbeeld: 100"
    )
    for typed, answer in (
        ("€ 200", "Geef een bedrag boven nul en onder € 175,00."),
        ("175", "Geef een bedrag boven nul en onder € 175,00."),
        ("175,00", "Geef een bedrag boven nul en onder € 175,00."),
        ("0", "Geef een bedrag boven nul en onder € 175,00."),
        ("-20", None),
        ("honderd", None),
        ("🙂", None),
    ):
        await chat.send(typed)
        if answer is not None:
            assert chat.text == eur(answer), typed
        assert (await chat.state()).step == "amount", typed
    await chat.send("x" * 5000)
    assert chat.text.startswith("Dat is een heel lang bericht.")
    await chat.send_photo()
    assert chat.text.startswith("Ik kan hier alleen tekst lezen.")
    assert (await chat.state()).step == "amount"
    request = await request_row(sessions, st.request_id)
    assert (request.status, request.awarded_cents) == (RequestStatus.SUBMITTED, None)
    assert await count(sessions, Delivery) == 0

    await chat.send("100,-")
    assert chat.last_text.startswith("Waarom minder? Kies een reden of typ zelf een reden.")
    await chat.send("🎉🎉")
    assert chat.text == "Geef een korte reden."
    await chat.send("Voor 30 mensen is 100 euro genoeg.")
    assert chat.last_text == eur(
        f"€ 100,00 geven aan Zaagmolenstraat ({st.reference})? Gevraagd is € 175,00.\n"
        "Reden: Voor 30 mensen is 100 euro genoeg.\n"
        "De gangmakers van de straat krijgen een bericht."
    )
    await chat.choose("Ja, versturen")
    request = await request_row(sessions, st.request_id)
    assert request.status == RequestStatus.PARTLY_APPROVED
    assert request.awarded_cents == 10000
    assert request.decision_reason == "Voor 30 mensen is 100 euro genoeg."
    body = (await deliveries(sessions))[st.en_id].body
    assert body.startswith(
        f"Your request {st.reference} for Zaagmolenstraat is partly approved. "
        "You get €100.00 of the €175.00 you asked.\n"
        "Reason: Voor 30 mensen is 100 euro genoeg.\n"
        f"Your payout code: {request.payout_code}\n"
    )


async def test_reject_needs_a_reason_and_each_gangmaker_reads_it_in_their_language(
    sessions,
) -> None:
    st = await setup(sessions)
    chat = await leader_at_queue(sessions)
    await chat.choose(st.reference)
    await chat.choose("Afwijzen")
    assert chat.last_text == (
        "Waarom niet? Kies een reden of typ zelf een reden. De gangmakers lezen dit."
    )
    assert chat.options == [
        "Plan niet compleet",
        "Te weinig buren",
        "Bedrag te hoog",
        "Te veel eten en drinken",
        "Eigen inzet ontbreekt",
    ]
    await chat.send("👍")
    assert chat.text.startswith("Geef een korte reden.")
    await chat.send("   ...  ")
    assert chat.text.startswith("Geef een korte reden.")
    await chat.send("help")
    assert chat.text.startswith("Kies een reden. Of typ een korte reden in je eigen woorden.")
    assert (await chat.state()).step == "reason"

    await chat.choose("Plan niet compleet")
    assert "Reden: Het plan is niet compleet. Vul aan wat er mist." in chat.last_text
    await chat.choose("Nee, terug")  # back to the details: nothing decided
    assert chat.last_text.endswith("Wat besluit je?")
    assert (await request_row(sessions, st.request_id)).status == RequestStatus.SUBMITTED
    assert await count(sessions, Delivery) == 0

    await chat.choose("Afwijzen")
    await chat.send("1")  # the first reason, by number
    await chat.send("ja")
    assert chat.replies[0].text == "Klaar. De 2 gangmakers krijgen een bericht."
    request = await request_row(sessions, st.request_id)
    assert request.status == RequestStatus.REJECTED
    assert request.payout_code is None and request.awarded_cents is None
    assert request.decision_reason == "Het plan is niet compleet. Vul aan wat er mist."
    sent = await deliveries(sessions)
    assert sent[st.gm_id].body == (
        f"Je aanvraag {st.reference} voor Zaagmolenstraat is niet goedgekeurd.\n"
        "Reden: Het plan is niet compleet. Vul aan wat er mist.\n"
        "Vragen? Vraag het je projectleider: Leider Delfshaven: 010-1234567"
    )
    assert sent[st.en_id].body == (
        f"Your request {st.reference} for Zaagmolenstraat is not approved.\n"
        "Reason: The plan is not complete. Please add what is missing.\n"
        "Questions? Ask your project leader: Leider Delfshaven: 010-1234567"
    )


async def test_a_leader_of_another_area_does_not_see_the_request(sessions) -> None:
    st = await setup(sessions)
    async with transaction(sessions) as s:
        org = await s.get(Organisation, st.world.org_id)
        noord = await factories.area(s, org, "Noord")
        await factories.person(
            s, org, "Piet", address="leader-noord", roles=((Role.LEADER, noord.id),)
        )
    chat = await leader_at_queue(sessions, "leader-noord")
    assert chat.replies[0].text == "Er wachten geen aanvragen op je. Goed gedaan!"
    assert (await chat.state()).dialog == "menu"

    # The admin sees every area.
    admin = await leader_at_queue(sessions, "admin")
    assert admin.options[0].startswith(st.reference)


async def test_a_long_queue_comes_in_pages(sessions) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        area = await s.get(Area, world.area_id)
        round_ = await factories.round_(s, org)
        gm = await person_at(s, world.gangmaker)
        references = []
        for i in range(12):
            street = await factories.street(s, org, area, f"Straat {chr(65 + i)}", gangmakers=(gm,))
            references.append((await submit(s, gm, street.id, round_.id, 5000 + i)).reference)
    chat = await leader_at_queue(sessions)
    assert chat.last_text == (
        "Er wachten 12 aanvragen op je. De oudste staat bovenaan. Kies er een om te bekijken.\n"
        "Je ziet 1 tot en met 9 van de 12."
    )
    assert len(chat.options) == 10 and chat.options[-1] == "Volgende ▸"
    assert chat.options[0].startswith(references[0])
    await chat.choose("Volgende")
    assert chat.last_text.endswith("Je ziet 10 tot en met 12 van de 12.")
    assert [o.split(" · ")[0] for o in chat.options[:3]] == references[9:]
    assert chat.options[3:] == ["◂ Vorige", "Terug naar het menu"]
    await chat.choose(references[10])
    await chat.choose("Terug naar de lijst")
    assert chat.last_text.endswith("Je ziet 10 tot en met 12 van de 12.")
    await chat.choose("Vorige")
    assert chat.last_text.endswith("Je ziet 1 tot en met 9 van de 12.")


async def test_another_leader_was_quicker(sessions) -> None:
    st = await setup(sessions)
    chat = await leader_at_queue(sessions)
    await chat.choose(st.reference)
    await chat.choose("Helemaal goedkeuren")
    async with transaction(sessions) as s:
        admin = await person_at(s, "admin")
        await budget.review_request(
            s, actor=admin, request_id=st.request_id, decision="reject", reason="Dubbel", now=NOW
        )
    await chat.choose("Ja, versturen")
    assert (
        chat.replies[0].text
        == f"{st.reference} is al afgehandeld. De aanvraag is nu niet goedgekeurd."
    )
    assert (await request_row(sessions, st.request_id)).status == RequestStatus.REJECTED
    assert await count(sessions, Delivery) == 0


# --- the gangmaker hears it ----------------------------------------------------------------


async def test_the_gangmakers_next_message_first_shows_the_outcome(sessions) -> None:
    st = await setup(sessions)
    gm = ChatHarness(sessions, address="gm")
    await gm.send("menu")
    chat = await leader_at_queue(sessions)
    await chat.choose(st.reference)
    await chat.choose("Helemaal goedkeuren")
    await chat.choose("Ja, versturen")
    code = (await request_row(sessions, st.request_id)).payout_code

    await gm.send("menu")
    assert gm.replies[0].text.startswith(
        f"Goed nieuws! Je aanvraag {st.reference} voor Zaagmolenstraat is goedgekeurd."
    )
    assert f"Je code voor het geld: {code}" in gm.replies[0].text
    assert gm.last_text == "Wat wil je doen?"  # then the turn goes on as usual
    sent = await deliveries(sessions)
    assert sent[st.gm_id].status == DeliveryStatus.SENT
    assert sent[st.gm_id].sent_at == NOW
    assert sent[st.en_id].status == DeliveryStatus.QUEUED  # John has not written yet

    await gm.send("menu")
    assert "Goed nieuws" not in gm.text  # shown once


async def test_a_telegram_gangmaker_waits_for_the_sender(sessions) -> None:
    st = await setup(sessions)
    async with transaction(sessions) as s:
        john = await s.get(Person, st.en_id)
        s.add(
            ChannelIdentity(
                person_id=john.id,
                channel=Channel.TELEGRAM,
                address="4242",
                preferred=True,
                last_inbound_at=NOW,
            )
        )
        old = await s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "gm-en"))
        old.preferred = False
    chat = await leader_at_queue(sessions)
    await chat.choose(st.reference)
    await chat.choose("Helemaal goedkeuren")
    await chat.choose("Ja, versturen")
    john_chat = ChatHarness(sessions, address="4242", channel=Channel.TELEGRAM)
    await john_chat.send("hi")
    assert "Good news" not in john_chat.text  # Telegram gets it pushed, not pulled
    delivery = (await deliveries(sessions))[st.en_id]
    assert delivery.status == DeliveryStatus.QUEUED
    async with sessions() as s:
        identity = await s.get(ChannelIdentity, delivery.identity_id)
        assert identity.channel == Channel.TELEGRAM


# --- new streets -----------------------------------------------------------------------------


async def sign_up(sessions, world: World, name: str, address: str = "resident") -> int:
    async with transaction(sessions) as s:
        person = await person_at(s, address)
        result = await streets.sign_up_street(
            s, actor=person, name=name, section="1-47", area_id=world.area_id,
            households=25, liefleed=True, now=NOW,
        )  # fmt: skip
        return result.street.id


async def test_pending_street_approved_becomes_active(sessions) -> None:
    world = await make_world(sessions)
    street_id = await sign_up(sessions, world, "Snellemanstraat")
    chat = ChatHarness(sessions, address="leader")
    await chat.send("menu")
    await chat.choose("Nieuwe straten bekijken")
    assert chat.last_text == "Er wacht 1 nieuwe straat op je. Kies hem om hem te bekijken."
    assert chat.options == ["Snellemanstraat 1-47", "Terug naar het menu"]
    await chat.choose("Snellemanstraat")
    assert chat.last_text == (
        "Snellemanstraat\n"
        "Deel van de straat: 1-47\n"
        "Gebied: Delfshaven\n"
        "Huishoudens: 25\n"
        "Lief & Leed: ja\n"
        "Aangemeld door: Noor\n"
        "Aangemeld op 12 mei 2026.\n"
        "\n"
        "Wat besluit je?"
    )
    assert chat.options == ["Goedkeuren", "Afwijzen", "Terug naar de lijst"]
    await chat.choose("Goedkeuren")
    assert chat.last_text == (
        "Snellemanstraat 1-47 goedkeuren?\nDe gangmakers van de straat krijgen een bericht."
    )
    await chat.choose("Ja, versturen")
    assert chat.replies[0].text == "Klaar. De gangmaker krijgt een bericht."
    assert chat.replies[1].text == "Er wachten geen nieuwe straten op je."
    async with sessions() as s:
        street = await s.get(Street, street_id)
        assert street.status == StreetStatus.ACTIVE
        noor = await person_at(s, "resident")
        delivery = await s.scalar(select(Delivery).where(Delivery.person_id == noor.id))
    assert delivery.body == (
        "Goed nieuws! Je straat Snellemanstraat 1-47 is goedgekeurd.\n"
        "Je kunt nu een bijdrage aanvragen. Kies dat in het menu.\n"
        f"Andere buren kunnen ook gangmaker worden. Dat kan met de code {street.invite_code}."
    )
    noor_chat = ChatHarness(sessions, address="resident")
    await noor_chat.send("hoi")
    assert noor_chat.replies[0].text.startswith("Goed nieuws! Je straat Snellemanstraat 1-47")


async def test_pending_street_rejected_needs_a_reason(sessions) -> None:
    world = await make_world(sessions)
    street_id = await sign_up(sessions, world, "Nergensstraat")
    chat = ChatHarness(sessions, address="leader")
    await chat.send("menu")
    await chat.choose("Nieuwe straten bekijken")
    await chat.choose("Nergensstraat")
    await chat.choose("Afwijzen")
    assert chat.options == ["Al aangemeld", "Niet in ons gebied", "Aanmelding onduidelijk"]
    await chat.send("🙈")
    assert chat.text.startswith("Geef een korte reden.")
    await chat.send("x" * 400)
    assert chat.text.startswith("Die reden is te lang.")
    async with sessions() as s:
        assert (await s.get(Street, street_id)).status == StreetStatus.PENDING
    await chat.send("Deze straat bestaat niet in Rotterdam.")
    await chat.choose("Ja, versturen")
    async with sessions() as s:
        street = await s.get(Street, street_id)
        assert street.status == StreetStatus.REJECTED
        assert street.review_reason == "Deze straat bestaat niet in Rotterdam."
        delivery = await s.scalar(select(Delivery))
    assert delivery.body == (
        "Je aanmelding van Nergensstraat 1-47 is niet goedgekeurd.\n"
        "Reden: Deze straat bestaat niet in Rotterdam.\n"
        "Vragen? Vraag het je projectleider: Leider Delfshaven: 010-1234567"
    )


async def test_a_gangmaker_cannot_review(sessions) -> None:
    await setup(sessions)
    chat = ChatHarness(sessions, address="gm")
    await chat.send("menu")
    assert "Aanvragen beoordelen" not in chat.options
    assert "Nieuwe straten bekijken" not in chat.options
    await chat.press("review")
    assert chat.text.startswith("Die keuze kan niet meer.")
    assert (await chat.state()).dialog == "menu"


# --- overview --------------------------------------------------------------------------------


async def test_overview_numbers_match(sessions) -> None:
    st = await setup(sessions)  # 175,00 sent in
    async with transaction(sessions) as s:
        org = await s.get(Organisation, st.world.org_id)
        area = await s.get(Area, st.world.area_id)
        gm = await s.get(Person, st.gm_id)
        admin = await person_at(s, "admin")
        payout = await person_at(s, "payout")
        paid = await submit(
            s,
            gm,
            (await factories.street(s, org, area, "Kade", gangmakers=(gm,))).id,
            st.round_id,
            20000,
        )
        await budget.review_request(s, actor=admin, request_id=paid.id, decision="approve", now=NOW)
        await budget.redeem_payout(s, actor=payout, code=paid.payout_code, now=NOW)
        rejected = await submit(
            s,
            gm,
            (await factories.street(s, org, area, "Hof", gangmakers=(gm,))).id,
            st.round_id,
            5000,
        )
        await budget.review_request(
            s, actor=admin, request_id=rejected.id, decision="reject", reason="Nee", now=NOW
        )
        partly = await submit(
            s,
            gm,
            (await factories.street(s, org, area, "Plein", gangmakers=(gm,))).id,
            st.round_id,
            10000,
        )
        await budget.review_request(
            s,
            actor=admin,
            request_id=partly.id,
            decision="partly",
            awarded_cents=6000,
            reason="Te veel",
            now=NOW,
        )
        noord = await factories.area(s, org, "Noord")
        other = await factories.street(s, org, noord, "Noordstraat", gangmakers=(gm,))
        await submit(s, gm, other.id, st.round_id, 9900)
        await factories.round_(
            s,
            org,
            opens=NOW - dt.timedelta(days=400),
            closes=NOW - dt.timedelta(days=300),
            name="Zomerronde",
        )
    chat = ChatHarness(sessions, address="leader")
    await chat.send("menu")
    await chat.choose("Overzicht ronde")
    assert chat.last_text == "Welke ronde wil je zien?"
    assert chat.options == ["Voorjaarsronde 2026", "Zomerronde 2025", "Terug naar het menu"]
    await chat.choose("Voorjaarsronde")
    assert chat.last_text == eur(
        "Voorjaarsronde 2026 · Delfshaven\n"
        "Hooguit € 250,00 per straat.\n"
        "\n"
        "4 aanvragen. Gevraagd: € 525,00.\n"
        "Toegekend: € 260,00. Uitbetaald: € 200,00.\n"
        "Nog te beoordelen: 1.\n"
        "\n"
        "Per status:\n"
        "• ingestuurd: 1 · € 175,00\n"
        "• deels goedgekeurd: 1 · € 60,00\n"
        "• niet goedgekeurd: 1 · € 50,00\n"
        "• uitbetaald: 1 · € 200,00"
    )
    assert chat.options == ["Andere ronde", "Terug naar het menu"]

    admin_chat = ChatHarness(sessions, address="admin")
    await admin_chat.send("menu")
    await admin_chat.choose("Overzicht ronde")
    await admin_chat.choose("Voorjaarsronde")
    text = admin_chat.last_text
    assert eur("5 aanvragen. Gevraagd: € 624,00.") in text
    assert text.endswith(eur(
        "Per gebied:\n"
        "• Delfshaven: 4 aanvragen, € 260,00 toegekend, 1 te beoordelen\n"
        "• Noord: 1 aanvraag, € 0,00 toegekend, 1 te beoordelen"
    ))  # fmt: skip
    await admin_chat.choose("Andere ronde")
    await admin_chat.choose("Zomerronde")
    assert "Nog geen aanvragen in deze ronde." in admin_chat.last_text
