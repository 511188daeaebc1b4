"""Signals: a gangmaker's concern about a neighbour reaches the area's welfare contact as one
chat message in the contact's language, is acknowledged, and is gone after 90 days. An area
without a welfare contact gets a clear answer and nothing is stored."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select

from bot.db import transaction
from bot.models import Area, AuditEntry, Delivery, DeliveryStatus, Organisation, Person, Signal
from bot.services import retention, signals
from tests import factories as f
from tests.chat import ChatHarness, make_world
from tests.factories import NOW


async def _with_welfare_contact(sessions, world, *, language: str = "tr") -> int:
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        contact = await f.person(s, org, "Yasmina", language=language, address="welfare")
        area = await s.get(Area, world.area_id)
        await signals.set_welfare_contact(s, area=area, person=contact)
        return contact.id


async def _count(sessions, model) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def test_a_signal_reaches_the_welfare_contact_and_is_gone_after_90_days(sessions) -> None:
    world = await make_world(sessions)
    contact_id = await _with_welfare_contact(sessions, world, language="nl")
    chat = ChatHarness(sessions, address=world.gangmaker)
    await chat.send("menu")
    await chat.choose("Zorgen om een buur")
    assert "Waar gaat het over?" in chat.text
    assert chat.options == [
        "Eenzaamheid",
        "Ziekte",
        "Misschien dementie",
        "Verwaarlozing",
        "Geldzorgen",
        "Iets anders",
    ], chat.dump()
    await chat.choose("Misschien dementie")
    await chat.send("Meneer Jansen")  # a name where a house number belongs: refused
    assert "Typ alleen een huisnummer" in chat.text
    await chat.send("14")
    assert "Schrijf geen namen." in chat.text
    await chat.send("x" * 200)
    assert "Die notitie is te lang" in chat.text or "te lang" in chat.text
    assert await _count(sessions, Signal) == 0
    await chat.send("Vergeet vaak de deur dicht te doen")
    await chat.send("ja")
    assert chat.text.startswith(
        "Dank je. Ik heb het doorgegeven aan de welzijnswerker van je gebied. "
        "We wissen het na 90 dagen."
    ), chat.dump()

    async with sessions() as s:
        [signal] = list(await s.scalars(select(Signal)))
        assert (signal.concern, signal.house_number, signal.neighbour_agreed) == (
            "dementia",
            "14",
            True,
        )
        [delivery] = list(await s.scalars(select(Delivery)))
        assert delivery.person_id == contact_id
        assert delivery.status == DeliveryStatus.QUEUED
        body = delivery.body
        assert "Misschien dementie" in body and "Huisnummer: 14" in body
        assert "Vergeet vaak de deur dicht te doen" in body
        assert "Fatima" not in body  # the least data: not even who sent it
        audit = await s.scalar(select(AuditEntry).where(AuditEntry.action == "signal.sent"))
        assert audit.details == {}  # never about whom or what

    # The welfare contact reads it on their next turn (the console cannot push).
    welfare = ChatHarness(sessions, address="welfare", clock=chat.clock)
    await welfare.send("hoi")
    assert "Een gangmaker maakt zich zorgen om een buur en geeft dat door." in welfare.text

    # The gangmaker has no way to read it back: no case file in the menu.
    await chat.send("menu")
    assert not any("Zorg" in label and label != "Zorgen om een buur" for label in chat.options)

    # 89 days: still there; 91 days: the signal and its message are gone.
    async with transaction(sessions) as s:
        result = await retention.run_retention(s, now=NOW + dt.timedelta(days=89))
        assert result.signals == 0
    async with transaction(sessions) as s:
        result = await retention.run_retention(s, now=NOW + dt.timedelta(days=91))
        assert result.signals == 1
    assert await _count(sessions, Signal) == 0
    assert await _count(sessions, Delivery) == 0


async def test_the_message_is_in_the_contacts_language(sessions) -> None:
    world = await make_world(sessions)
    await _with_welfare_contact(sessions, world, language="tr")
    chat = ChatHarness(sessions, address=world.gangmaker)
    await chat.send("menu")
    await chat.choose("Zorgen om een buur")
    await chat.press("loneliness")
    await chat.press("skip")
    await chat.press("skip")
    await chat.send("nee")
    async with sessions() as s:
        [delivery] = list(await s.scalars(select(Delivery)))
        assert delivery.body.startswith("Bir gangmaker bir komşu hakkındaki endişesini iletiyor.")
        assert "Komşu (henüz) razı olmadı." in delivery.body
        [signal] = list(await s.scalars(select(Signal)))
        assert (signal.house_number, signal.note, signal.neighbour_agreed) == (None, None, False)


async def test_an_area_without_welfare_contact_stores_nothing(sessions) -> None:
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await chat.send("menu")
    await chat.choose("Zorgen om een buur")
    assert chat.text.startswith(
        "Er is nog geen contactpersoon voor welzijn in Delfshaven. "
        "Daarom kan ik geen zorg doorgeven."
    ), chat.dump()
    assert chat.last_text == "Wat wil je doen?"
    assert await _count(sessions, Signal) == 0
    assert await _count(sessions, Delivery) == 0


async def test_only_gangmakers_see_the_entry(sessions) -> None:
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address=world.resident)
    await chat.send("menu")
    assert "Zorgen om een buur" not in chat.options
    assert "Voor een buur" in chat.options


async def test_welfare_contact_cli_sets_and_clears(sessions, db_url, monkeypatch, capsys) -> None:
    world = await make_world(sessions)
    monkeypatch.setenv("DATABASE_URL", db_url)
    from bot.cli import main as cli_main
    from bot.config import load_settings

    def main(argv: list[str]) -> int:  # the CLI runs its own event loop: in a thread here
        load_settings.cache_clear()  # read this test's DATABASE_URL
        try:
            return cli_main(argv)
        finally:
            load_settings.cache_clear()

    args = ["areas", "set-welfare-contact", "delfshaven", "--channel", "telegram"]
    assert await asyncio.to_thread(main, [*args, "--address", "4242", "--name", "Yas"]) == 0
    assert "Delfshaven: welfare contact is telegram:4242 (new)" in capsys.readouterr().out
    async with sessions() as s:
        area = await s.get(Area, world.area_id)
        contact = await s.get(Person, area.welfare_contact_id)
        assert contact.first_name == "Yas" and contact.consent_at is not None
    assert (
        await asyncio.to_thread(main, ["areas", "set-welfare-contact", "x", "--address", "1"]) == 2
    )
    assert (
        await asyncio.to_thread(main, ["areas", "set-welfare-contact", "Delfshaven", "--clear"])
        == 0
    )
    async with sessions() as s:
        assert (await s.get(Area, world.area_id)).welfare_contact_id is None
