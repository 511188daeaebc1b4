"""notify: a message for someone else, in their language, queued once in the outbox; the
console shows its queued messages at the start of the next turn."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.i18n import Translator
from bot.models import Channel, ChannelIdentity, Delivery, DeliveryStatus, Person
from bot.services import notify
from tests import factories
from tests.chat import ChatHarness, make_world
from tests.factories import NOW


def money_text(t: Translator) -> str:
    return t._("Amount: {amount}", amount=t.money(17500))


async def test_notify_renders_in_the_recipients_language_once_per_key(session) -> None:
    org = await factories.organisation(session)
    nl = await factories.person(session, org, "Fatima")
    en = await factories.person(session, org, "John", language="en")

    first = await notify.notify(session, person=nl, key="test:1:nl", text=money_text, now=NOW)
    other = await notify.notify(session, person=en, key="test:1:en", text=money_text, now=NOW)
    assert first.body == "Bedrag: €\u00a0175,00"
    assert other.body == "Amount: €175.00"
    assert (first.status, first.person_id, first.next_attempt_at) == (
        DeliveryStatus.QUEUED,
        nl.id,
        NOW,
    )
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.person_id == nl.id)
    )
    assert first.identity_id == identity.id

    again = await notify.notify(session, person=nl, key="test:1:nl", text="other", now=NOW)
    assert again.id == first.id and again.body == first.body  # a retry never doubles
    assert await session.scalar(select(func.count()).select_from(Delivery)) == 2

    plain = await notify.notify(session, person=nl, key="test:2:nl", text="Al vertaald")
    assert plain.body == "Al vertaald"

    with pytest.raises(ValueError):
        await notify.notify(session, person=nl, key="x" * 81, text="te lang")


async def test_notify_picks_a_reachable_preferred_identity(session) -> None:
    org = await factories.organisation(session)
    person = await factories.person(session, org, "Fatima", address="old")
    old = await session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "old"))
    old.reachable = False
    newer = ChannelIdentity(
        person_id=person.id, channel=Channel.TELEGRAM, address="42", last_inbound_at=NOW
    )
    session.add(newer)
    await session.flush()
    delivery = await notify.notify(session, person=person, key="k", text="hoi", now=NOW)
    assert delivery.identity_id == newer.id

    newer.reachable = False
    await session.flush()
    nowhere = await notify.notify(session, person=person, key="k2", text="hoi", now=NOW)
    assert nowhere.identity_id is None


async def test_pending_and_mark_sent(session) -> None:
    org = await factories.organisation(session)
    person = await factories.person(session, org, "Fatima", address="gm")
    identity = await session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "gm"))
    later = NOW + dt.timedelta(minutes=5)
    b = await notify.notify(session, person=person, key="b", text="twee", now=later)
    a = await notify.notify(session, person=person, key="a", text="een", now=NOW)
    other_chat = ChannelIdentity(person_id=person.id, channel=Channel.TELEGRAM, address="42")
    session.add(other_chat)
    await session.flush()
    elsewhere = Delivery(
        key="c", person_id=person.id, identity_id=other_chat.id, body="elders", created_at=NOW
    )
    announcement = Delivery(key="d", person_id=person.id, identity_id=identity.id, body=None)
    session.add_all([elsewhere, announcement])
    await session.flush()

    pending = await notify.pending_for_identity(session, identity)
    assert [d.body for d in pending] == ["een", "twee"]
    marked = await notify.mark_sent(session, pending, identity=identity, now=later)
    assert [d.id for d in marked] == [a.id, b.id]
    assert (a.status, a.sent_at, a.attempts) == (DeliveryStatus.SENT, later, 1)
    assert await notify.pending_for_identity(session, identity) == []
    assert await notify.mark_sent(session, [a], now=later) == []  # sent once


async def test_console_shows_queued_messages_first_and_once(sessions) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        gm = await s.scalar(
            select(Person)
            .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
            .where(ChannelIdentity.address == world.gangmaker)
        )
        await notify.notify(s, person=gm, key="hello", text=money_text, now=NOW)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await chat.send("menu")
    assert chat.replies[0].text == "Bedrag: €\u00a0175,00"
    assert chat.last_text == "Wat wil je doen?"
    async with sessions() as s:
        delivery = await s.scalar(select(Delivery))
        assert (delivery.status, delivery.sent_at) == (DeliveryStatus.SENT, NOW)
    await chat.send("menu")
    assert chat.text == "Wat wil je doen?"


async def test_console_shows_nothing_before_consent(sessions) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        gm = await s.scalar(
            select(Person)
            .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
            .where(ChannelIdentity.address == world.gangmaker)
        )
        gm.consent_at = None
        await notify.notify(s, person=gm, key="hello", text="Hallo", now=NOW)
    chat = ChatHarness(sessions, address=world.gangmaker)
    await chat.send("hoi")
    assert "Hallo" not in [r.text for r in chat.replies]
    async with sessions() as s:
        assert (await s.scalar(select(Delivery))).status == DeliveryStatus.QUEUED
