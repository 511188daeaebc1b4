"""One person, two chat apps: linking a WhatsApp chat to a Telegram person with a code, choosing
where messages go, and deliveries falling back to the other app."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from bot.db import transaction
from bot.delivery.engine import DeliveryEngine
from bot.models import Channel, ChannelIdentity, Delivery, DeliveryStatus, LinkCode, Person
from bot.services import notify
from tests.chat import ChatHarness, make_world
from tests.fakes.graph_api import FakeGraph

WA = "31612340000"


async def code_of(chat: ChatHarness) -> str:
    await chat.send("menu")
    await chat.press("settings")
    await chat.press("link")
    await chat.press("code")
    text = chat.text
    return text.split("code is ")[1].split(".")[0] if "code is " in text else text.split()[3][:6]


async def new_whatsapp_chat(sessions) -> ChatHarness:
    chat = ChatHarness(sessions, address=WA, channel=Channel.WHATSAPP)
    await chat.send("Hallo")
    await chat.press("en")
    await chat.press("yes")
    return chat


async def identities(sessions, person_id: int) -> list[tuple[Channel, str, bool]]:
    async with sessions() as session:
        rows = await session.execute(
            select(ChannelIdentity.channel, ChannelIdentity.address, ChannelIdentity.preferred)
            .where(ChannelIdentity.person_id == person_id)
            .order_by(ChannelIdentity.id)
        )
        return [tuple(r) for r in rows.all()]


async def test_a_code_links_the_whatsapp_chat_to_the_telegram_person(sessions) -> None:
    await make_world(sessions)
    telegram = ChatHarness(sessions, address="5001", channel=Channel.TELEGRAM)
    await telegram.send("hi")
    await telegram.press("en")
    await telegram.press("yes")
    first = await telegram.person()
    code = await code_of(telegram)
    assert len(code) == 6 and code.isalnum()

    whatsapp = await new_whatsapp_chat(sessions)
    second = await whatsapp.person()
    assert second.id != first.id
    await whatsapp.send("menu")
    await whatsapp.press("settings")
    await whatsapp.press("link")
    await whatsapp.press("enter")
    # A wrong code: refused kindly, nothing changes.
    await whatsapp.send("ZZZZZZ")
    assert "do not know that code" in whatsapp.text
    assert (await identities(sessions, second.id)) == [(Channel.WHATSAPP, WA, True)]
    # The right one, typed the way people do.
    await whatsapp.send(f" {code[:3].lower()}-{code[3:]} ")
    assert "linked" in whatsapp.last_text
    assert await identities(sessions, first.id) == [
        (Channel.TELEGRAM, "5001", True),
        (Channel.WHATSAPP, WA, False),
    ]
    async with sessions() as session:
        assert await session.get(Person, second.id) is None  # the empty second person is gone
        assert await session.scalar(select(func.count()).select_from(LinkCode)) == 0
    # The next message on WhatsApp is the first person's (consented, English, the menu).
    await whatsapp.send("menu")
    assert (await whatsapp.person()).id == first.id
    # Messages to WhatsApp from now on.
    await whatsapp.press("settings")
    await whatsapp.press("link")
    [prefer] = [v for v in whatsapp.option_values if v.startswith("prefer:")]
    await whatsapp.press(prefer)
    assert "WhatsApp" in whatsapp.text
    assert await identities(sessions, first.id) == [
        (Channel.TELEGRAM, "5001", False),
        (Channel.WHATSAPP, WA, True),
    ]


async def test_own_codes_expired_codes_and_chats_with_data_are_refused(sessions) -> None:
    await make_world(sessions)
    telegram = ChatHarness(sessions, address="5002", channel=Channel.TELEGRAM)
    await telegram.send("hi")
    await telegram.press("en")
    await telegram.press("yes")
    code = await code_of(telegram)
    # Its own code.
    await telegram.press("link")
    await telegram.press("enter")
    await telegram.send(code)
    assert "your own code" in telegram.text
    # The gangmaker of the world (a street of their own) cannot be merged away.
    gm = ChatHarness(sessions, address="gm")
    await gm.send("menu")
    await gm.press("settings")
    await gm.press("link")
    await gm.press("enter")
    await gm.send(code)
    assert "straten of rollen" in gm.text  # the gangmaker speaks Dutch
    assert [c for c, _, _ in await identities(sessions, (await gm.person()).id)] == [
        Channel.CONSOLE
    ]
    # Too late: after 15 minutes the code is unknown.
    whatsapp = await new_whatsapp_chat(sessions)
    whatsapp.clock.advance(minutes=16)
    await whatsapp.send("menu")
    await whatsapp.press("settings")
    await whatsapp.press("link")
    await whatsapp.press("enter")
    await whatsapp.send(code)
    assert "do not know that code" in whatsapp.text
    assert (await whatsapp.person()).id != (await telegram.person()).id


async def test_deliveries_fall_back_to_the_other_app(sessions) -> None:
    """The preferred WhatsApp number turns out undeliverable: the message goes to Telegram."""
    from bot.channels.whatsapp.sender import WhatsAppSender
    from tests.fakes import graph_api as g

    await make_world(sessions)
    telegram = ChatHarness(sessions, address="5003", channel=Channel.TELEGRAM)
    await telegram.send("hi")
    await telegram.press("en")
    await telegram.press("yes")
    code = await code_of(telegram)
    whatsapp = await new_whatsapp_chat(sessions)
    for step in ("menu", "settings", "link", "enter"):
        await (whatsapp.send(step) if step == "menu" else whatsapp.press(step))
    await whatsapp.send(code)
    await whatsapp.send("menu")
    await whatsapp.press("settings")
    await whatsapp.press("link")
    await whatsapp.press(next(v for v in whatsapp.option_values if v.startswith("prefer:")))
    person = await telegram.person()

    class Telegram:
        channel, rate, burst, chat_interval, handoff = Channel.TELEGRAM, 0.0, 1, 0.0, False

        def __init__(self) -> None:
            self.sent: list[tuple[str, str]] = []

        async def send(self, address: str, text: str):
            from bot.delivery.senders import SendResult

            self.sent.append((address, text))
            return SendResult.sent(len(self.sent))

        async def close(self) -> None:
            return None

    now = whatsapp.clock()
    async with FakeGraph() as graph:
        graph.fail_next(131026, to=WA)  # "Message undeliverable"
        wa_sender = WhatsAppSender(
            g.PHONE_NUMBER_ID, g.ACCESS_TOKEN, graph.base, rate=0, now=lambda: now
        )
        tg_sender = Telegram()
        async with transaction(sessions) as session:
            target = await session.get(Person, person.id)
            await notify.notify(
                session, person=target, key="test:1", text="Your request is approved", now=now
            )
        async with transaction(sessions) as session:
            # Not held back by quiet hours, whatever the test clock says.
            await session.execute(update(Delivery).values(urgent=True))
        engine = DeliveryEngine(
            sessions, [wa_sender, tg_sender], now=lambda: now + dt.timedelta(seconds=1)
        )
        try:
            await engine.run_until_idle(linger=0.5)
        finally:
            await engine.close()
        assert graph.refused == [(WA, 131026)]
    assert tg_sender.sent == [("5003", "Your request is approved")]
    async with sessions() as session:
        row = await session.scalar(select(Delivery))
        assert row.status is DeliveryStatus.SENT
        wa = await session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == WA))
        assert wa.reachable is False
