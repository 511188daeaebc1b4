"""A project leader composes an announcement in chat, checks the preview, sends or plans it,
follows the delivery and cancels while that is still possible (handlers/announce.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, update

from bot.db import transaction
from bot.models import (
    Announcement,
    AnnouncementStatus,
    Delivery,
    DeliveryStatus,
    Organisation,
    Person,
    Role,
    RoleGrant,
    StreetStatus,
)
from bot.services import announcements as ann
from tests import factories
from tests.chat import ChatHarness, World, make_world
from tests.factories import NOW

S = AnnouncementStatus


async def setup(sessions) -> World:
    """make_world plus an English and a Turkish gangmaker in a second (green) street and a
    Polish resident who stopped announcements."""
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        area = await factories.area(s, org, "Noord")
        en = await factories.person(s, org, "Sam", language="en", address="sam")
        tr = await factories.person(s, org, "Ayse", language="tr", address="ayse")
        pl = await factories.person(s, org, "Ola", language="pl", address="ola")
        pl.announcements_opt_out = True
        street = await factories.street(
            s,
            org,
            area,
            "Groenestraat",
            status=StreetStatus.ACTIVE,
            gangmakers=(en, tr),
            liefleed=False,
        )
        street.theme_green = True
    return world


async def announcements(sessions) -> list[Announcement]:
    async with sessions() as s:
        return list(await s.scalars(select(Announcement).order_by(Announcement.id)))


async def open_composer(chat: ChatHarness) -> None:
    await chat.send("menu")
    await chat.choose("Mededelingen")
    assert "Een mededeling gaat naar veel mensen tegelijk" in chat.text
    await chat.choose("Nieuwe mededeling")
    assert "Schrijf de tekst in het Nederlands" in chat.last_text


async def test_leader_writes_previews_and_sends_to_everyone(sessions) -> None:
    await setup(sessions)
    chat = ChatHarness(sessions, address="leader")
    await open_composer(chat)
    await chat.send("De voorjaarsronde is open! Vraag nu een bijdrage aan.")
    assert "Teksten in: Nederlands." in chat.last_text
    assert "Krijgt de Nederlandse tekst: English, Türkçe" in chat.last_text
    await chat.choose("English")
    assert "Schrijf de tekst in het English." in chat.last_text
    await chat.send("The spring round is open! Ask for a contribution now.")
    assert "Teksten in: Nederlands, English." in chat.last_text
    assert "✓ English" in chat.options
    await chat.choose("Verder")
    assert "Wie krijgt het? Nu: iedereen." in chat.last_text
    await chat.choose("Verder")
    assert "Wanneer moet het weg?" in chat.last_text
    await chat.choose("Nu")
    # The preview: each language group with what it reads and how many people.
    texts = [r.text for r in chat.replies]
    assert any(
        t.startswith("Nederlands: 5 personen lezen dit:") and "De voorjaarsronde" in t
        for t in texts
    ), chat.dump()
    assert any(t.startswith("English: 1 persoon leest dit:") and "spring round" in t for t in texts)
    assert "Türkçe: 1 persoon krijgt de Nederlandse tekst (valt terug op Nederlands)." in texts
    assert "Het gaat naar 7 personen." in chat.last_text
    assert "Niet erbij: 1 zijn gestopt met mededelingen" in chat.last_text
    assert "Het gaat nu weg." in chat.last_text
    assert await announcements(sessions) == [], "nothing is stored before sending"

    await chat.choose("Versturen")
    assert "Verstuurd: mededeling" in chat.text
    [item] = await announcements(sessions)
    assert item.status is S.SCHEDULED and item.send_at == NOW
    assert item.texts == {
        "nl": "De voorjaarsronde is open! Vraag nu een bijdrage aan.",
        "en": "The spring round is open! Ask for a contribution now.",
    }
    assert item.audience == {"all": True}
    assert f"Mededeling {item.id}: gepland." in chat.last_text

    # The worker fans it out; the leader follows the counts and the reasons of failures.
    async with transaction(sessions) as s:
        [fan] = await ann.start_due_announcements(s, now=NOW)
        assert fan.added == 7
        ids = list(await s.scalars(select(Delivery.id).order_by(Delivery.id)))
        await s.execute(
            update(Delivery).where(Delivery.id.in_(ids[:3])).values(status=DeliveryStatus.SENT)
        )
        await s.execute(
            update(Delivery)
            .where(Delivery.id == ids[3])
            .values(status=DeliveryStatus.SKIPPED, last_error="blocked: Forbidden: bot blocked")
        )
        await s.execute(
            update(Delivery)
            .where(Delivery.id == ids[4])
            .values(status=DeliveryStatus.FAILED, last_error="bad_request: message is too long")
        )
    await chat.choose("Vernieuwen")
    assert f"Mededeling {item.id}: wordt verstuurd." in chat.last_text
    assert "In de wachtrij: 2. Verstuurd: 3. Mislukt: 1. Overgeslagen: 1." in chat.last_text, (
        chat.dump()
    )
    assert "Waarom niet verstuurd:" in chat.last_text
    assert "– heeft de bot geblokkeerd: 1" in chat.last_text
    assert "– geweigerd door de chat-app: 1" in chat.last_text
    assert "Annuleren" not in chat.options, "too late to cancel"


async def test_audience_of_areas_themes_roles_and_languages(sessions) -> None:
    world = await setup(sessions)
    chat = ChatHarness(sessions, address="leader")
    await open_composer(chat)
    await chat.send("Groene straten: de bloembollen zijn er!")
    await chat.choose("Verder")
    await chat.choose("Thema's van straten")
    await chat.choose("Groene straten")
    assert "✓ Groene straten" in chat.options
    await chat.choose("Klaar")
    assert "Wie krijgt het? Nu: Groene straten." in chat.last_text
    await chat.choose("Verder")
    await chat.choose("Nu")
    assert "Het gaat naar 2 personen." in chat.last_text  # the English and Turkish gangmaker

    await chat.choose("Aanpassen")  # back to the text, the audience is kept
    await chat.send("Alleen voor Delfshaven en het Turks.")
    await chat.choose("Verder")
    await chat.choose("Thema's van straten")
    await chat.choose("Groene straten")  # off again
    await chat.choose("Klaar")
    await chat.choose("Gebieden")
    await chat.choose("Delfshaven")
    await chat.choose("Noord")
    await chat.choose("Klaar")
    await chat.choose("Talen")
    await chat.choose("Türkçe")
    await chat.choose("Klaar")
    await chat.choose("Rollen")
    await chat.choose("Gangmakers")
    await chat.choose("Klaar")
    assert "Nu: Delfshaven, Noord, Gangmakers, Türkçe." in chat.last_text
    await chat.choose("Verder")
    await chat.choose("Nu")
    assert "Het gaat naar 1 persoon." in chat.last_text
    await chat.choose("Versturen")
    [item] = await announcements(sessions)
    noord = item.audience["areas"][1]
    assert item.audience == {
        "areas": [world.area_id, noord],
        "roles": ["gangmaker"],
        "languages": ["tr"],
    }
    async with transaction(sessions) as s:
        [fan] = await ann.start_due_announcements(s, now=NOW)
        person = await s.scalar(
            select(Person.first_name).join(Delivery, Delivery.person_id == Person.id)
        )
    assert (fan.added, person) == (1, "Ayse")


async def test_bad_texts_are_refused_kindly_and_nothing_is_stored(sessions) -> None:
    await setup(sessions)
    chat = ChatHarness(sessions, address="leader")
    await open_composer(chat)
    await chat.send("   ")
    assert "Ik kreeg geen tekst. Probeer het nog eens." in chat.text
    for bad in ("🎉🎉🎉", "!!!"):
        await chat.send(bad)
        assert "Schrijf een tekst met woorden erin." in chat.text, chat.dump()
        assert (await chat.state()).step == "text_nl"
    await chat.send("x" * 5000)
    assert "Dat is een heel lang bericht" in chat.text
    assert (await chat.state()).step == "text_nl"
    await chat.send("Goed zo.")
    await chat.choose("Türkçe")
    await chat.send("😀")
    assert "Schrijf een tekst met woorden erin." in chat.text
    await chat.choose("Nederlands gebruiken")
    assert "Teksten in: Nederlands." in chat.last_text
    state = await chat.state()
    assert state.data["texts"] == {"nl": "Goed zo."}
    assert await announcements(sessions) == []


async def test_planning_for_a_time_refuses_the_past_and_can_be_cancelled(sessions) -> None:
    await setup(sessions)
    chat = ChatHarness(sessions, address="leader")  # NOW is 12 May 2026, 12:00 in Rotterdam
    await open_composer(chat)
    await chat.send("Morgen is de buurtschouw.")
    await chat.choose("Verder")
    await chat.choose("Verder")
    await chat.choose("Op een dag en tijd")
    await chat.send("gisteren")
    assert "Die datum is al voorbij. Typ een latere datum." in chat.text
    assert (await chat.state()).step == "date"
    await chat.send("vandaag")
    await chat.send("9:30")  # today 09:30 has passed
    assert "Die tijd is al voorbij. Kies een latere tijd." in chat.text
    assert (await chat.state()).step == "time"
    await chat.send("25:00")
    assert (await chat.state()).step == "time"
    await chat.send("18:00")
    assert "Het gaat weg op 12 mei 2026" in chat.last_text, chat.dump()
    await chat.choose("Versturen")
    [item] = await announcements(sessions)
    assert item.status is S.SCHEDULED
    assert item.send_at == dt.datetime(2026, 5, 12, 16, 0, tzinfo=dt.UTC)  # 18:00 CEST
    assert "Gepland: mededeling" in chat.text
    await chat.choose("Annuleren")
    assert f"Mededeling {item.id} annuleren?" in chat.last_text
    await chat.choose("Laten staan")
    assert (await announcements(sessions))[0].status is S.SCHEDULED
    await chat.choose("Annuleren")
    await chat.choose("Annuleren")
    assert f"Geannuleerd. Niemand krijgt mededeling {item.id}." in chat.text
    assert f"Mededeling {item.id}: geannuleerd." in chat.last_text
    assert (await announcements(sessions))[0].status is S.CANCELLED
    # Time passes: a cancelled announcement is never fanned out.
    async with transaction(sessions) as s:
        assert await ann.start_due_announcements(s, now=NOW + dt.timedelta(days=1)) == []
        assert await s.scalar(select(func.count(Delivery.id))) == 0


async def test_cancel_after_sending_started_is_refused(sessions) -> None:
    await setup(sessions)
    async with transaction(sessions) as s:
        item = await ann.announce(
            s,
            organisation_id=(await s.scalar(select(Organisation.id))),
            actor=None,
            texts={"nl": "Over een uur gaat het los."},
            send_at=NOW + dt.timedelta(hours=1),
            now=NOW,
        )
    chat = ChatHarness(sessions, address="leader")
    await chat.send("menu")
    await chat.choose("Mededelingen")
    await chat.choose("Mededelingen volgen")
    await chat.choose(f"{item.id} · gepland")
    assert f"Mededeling {item.id}: gepland." in chat.last_text
    await chat.choose("Annuleren")
    # Meanwhile the hour passes and the worker starts sending.
    async with transaction(sessions) as s:
        [fan] = await ann.start_due_announcements(s, now=NOW + dt.timedelta(hours=1))
    chat.clock.advance(hours=1)
    await chat.choose("Annuleren")
    assert "Het versturen is al begonnen. Stoppen kan nu niet meer." in chat.text
    assert f"Mededeling {item.id}: wordt verstuurd." in chat.last_text
    [after] = await announcements(sessions)
    assert after.status is S.SENDING
    async with sessions() as s:
        assert await s.scalar(select(func.count(Delivery.id))) == fan.added > 0


async def test_a_round_carries_its_own_announcements(sessions) -> None:
    await setup(sessions)
    async with transaction(sessions) as s:
        org = await s.get(Organisation, (await s.scalar(select(Organisation.id))))
        round_ = await factories.round_(
            s,
            org,
            opens=NOW + dt.timedelta(days=10),
            closes=NOW + dt.timedelta(days=40),
            name="Najaarsronde",
        )
        round_id, opens, closes = round_.id, round_.opens_at, round_.closes_at
    chat = ChatHarness(sessions, address="leader")
    await open_composer(chat)
    await chat.send("De najaarsronde is open!")
    await chat.choose("Verder")
    await chat.choose("Verder")
    assert "als Najaarsronde opent." in chat.last_text
    assert "een week voordat Najaarsronde sluit." in chat.last_text
    assert f"round:{round_id}:opening" in chat.option_values
    await chat.press(f"round:{round_id}:opening")
    assert "Het gaat weg op 22 mei 2026" in chat.last_text
    await chat.choose("Versturen")
    # And a second one for a week before the round closes.
    await chat.choose("Terug naar het menu")
    await open_composer(chat)
    await chat.send("Nog een week om een bijdrage te vragen!")
    await chat.choose("Verder")
    await chat.choose("Verder")
    await chat.press(f"round:{round_id}:closing")
    await chat.choose("Versturen")
    first, second = await announcements(sessions)
    assert (first.round_id, first.send_at, first.status) == (round_id, opens, S.SCHEDULED)
    assert (second.round_id, second.send_at) == (round_id, closes - dt.timedelta(days=7))


async def test_only_leaders_and_admins_announce(sessions) -> None:
    await setup(sessions)
    gm = ChatHarness(sessions, address="gm")
    await gm.send("menu")
    assert "Mededelingen" not in gm.options
    await gm.press("announce")  # a forged button
    assert "Die keuze kan niet meer." in gm.text
    assert (await gm.state()).dialog == "menu"
    admin = ChatHarness(sessions, address="admin")
    await admin.send("menu")
    assert "Mededelingen" in admin.options
    # A leader whose role ends while the menu is on the screen: refused at the door.
    leader = ChatHarness(sessions, address="leader")
    await leader.send("menu")
    async with transaction(sessions) as s:
        await s.execute(delete(RoleGrant).where(RoleGrant.role == Role.LEADER))
    await leader.choose("Mededelingen")
    assert "Alleen projectleiders kunnen dat doen." in leader.text
    assert (await leader.state()).dialog == "menu"
    assert await announcements(sessions) == []
