"""The same Telegram update delivered twice (a webhook retry, two pollers overlapping at a
restart) is handled once: ``bot/channels/inbound.py`` remembers each ``update_id`` in the
database, so the second arrival is dropped even when it reaches another process.

Through the real webhook (aiohttp app, aiogram, secret header) with the fake Bot API server, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels import inbound
from bot.models import Channel, ConversationState, ProcessedUpdate
from bot.models.base import utcnow
from tests.chat import make_world
from tests.fakes import FakeTelegram
from tests.test_telegram_e2e import (  # noqa: F401  (tg is a fixture)
    USER,
    chat_state,
    running,
    tg,
)


async def _until(predicate, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    """Wait (not a timing assertion) until ``predicate()`` holds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_a_redelivered_webhook_update_is_handled_once(
    tg: FakeTelegram,  # noqa: F811
    engine: AsyncEngine,
    sessions,
) -> None:
    await make_world(sessions)
    async with running("webhook", tg, engine, sessions) as bench:
        first = await tg.user_message(USER, "hallo")
        await bench.handled(first)
        [question] = tg.sent_messages(USER)  # the language question
        state_before = await chat_state(sessions, USER)

        # Telegram retries the very same update (same update_id), through the real webhook.
        again = await tg.push_update(first)
        assert again["update_id"] == first["update_id"]
        assert tg.webhook_deliveries[-1].status == 200  # accepted, so Telegram stops retrying
        await _until(lambda: bench.channel.duplicates == 1)
        # Nothing more was said: the language question was sent once, not twice.
        assert [c["text"] for c in tg.calls_of("sendMessage")] == [question["text"]]
        assert await chat_state(sessions, USER) == state_before

        # A new update afterwards is handled as usual.
        pressed = await bench.press("en")
        assert pressed, "the next update was not handled"

    assert state_before[:2] == ("start", "language")
    async with sessions() as s:
        ids = set(await s.scalars(select(ProcessedUpdate.update_id)))
        assert first["update_id"] in ids
        states = await s.scalar(select(func.count()).select_from(ConversationState))
        assert states == 1
    assert tg.violations == []


async def test_only_one_of_two_simultaneous_arrivals_wins(sessions) -> None:
    """Two processes taking in the same update at the same moment: exactly one handles it."""
    now = utcnow()
    results = await asyncio.gather(
        *(inbound.first_arrival(sessions, Channel.TELEGRAM, 4242, now=now) for _ in range(4))
    )
    assert sorted(results) == [False, False, False, True]
    # Another channel's update 4242 is a different update.
    assert await inbound.first_arrival(sessions, Channel.WHATSAPP, 4242, now=now)
    assert not await inbound.first_arrival(sessions, Channel.TELEGRAM, 4242, now=now)


async def test_old_update_ids_are_pruned(sessions) -> None:
    old = utcnow() - inbound.KEEP_FOR * 2
    assert await inbound.first_arrival(sessions, Channel.TELEGRAM, 1, now=old)
    # Every PRUNE_EVERY-th id prunes what is older than KEEP_FOR.
    assert await inbound.first_arrival(sessions, Channel.TELEGRAM, inbound.PRUNE_EVERY)
    async with sessions() as s:
        assert set(await s.scalars(select(ProcessedUpdate.update_id))) == {inbound.PRUNE_EVERY}
