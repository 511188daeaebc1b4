"""Faults the service recovers from by itself, losing nothing.

- The (local, fake) Bot API server answers 500s, times out and answers slowly in the middle of
  an announcement: the delivery engine retries with back-off and, once the server is well
  again, every recipient has the message; exactly once, except for the calls that timed out
  while the server still handled them (in flight: the server may have sent those).
- Another process holds SQLite's write lock for a while: a chat turn and a worker tick wait for
  it (busy timeout) and then go through; nothing is lost, no apology is said.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.delivery.engine import DeliveryEngine
from bot.models import ChannelIdentity, Delivery, DeliveryStatus
from bot.services import notify
from tests.chat import ChatHarness, make_world
from tests.fakes import FakeTelegram
from tests.test_delivery import (  # noqa: F401  (tg and kind are fixtures)
    DAY,
    SENDERS,
    TOKEN,
    Clock,
    announce_now,
    kind,
    people,
    rows,
    tg,
)

RECIPIENTS = 24


async def test_500s_timeouts_and_slow_answers_during_an_announcement(
    sessions,
    tg: FakeTelegram,  # noqa: F811
    kind: str,  # noqa: F811
) -> None:
    org_id, _ = await people(sessions, RECIPIENTS)
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    sender = SENDERS[kind](TOKEN, tg.api_base, rate=0, chat_interval=0, timeout=0.5)
    engine = DeliveryEngine(sessions, [sender], now=clock, batch_size=8, max_attempts=8)
    try:
        # 1. Time-outs: the server takes longer than the sender waits.
        tg.delay("sendMessage", 1.5)
        await engine.tick()
        timed_out = [r for r in await rows(sessions) if "timeout" in (r.last_error or "")]
        assert timed_out, [(r.status, r.attempts, r.last_error) for r in await rows(sessions)]
        assert all(r.status == DeliveryStatus.QUEUED for r in timed_out)

        # 2. Server errors: the next 10 calls get a 500.
        tg.delay("sendMessage", 0)
        tg.fail_next("sendMessage", 500, times=10)
        await engine.tick()
        retrying = [
            r for r in await rows(sessions) if (r.last_error or "").startswith("server_error")
        ]
        assert retrying  # (the rest of the 500s hit the retries below)
        assert all(r.status == DeliveryStatus.QUEUED for r in retrying)
        assert all(r.next_attempt_at > clock.value for r in retrying)  # backed off

        # 3. Slow but in time, then well again: ticks as the clock moves on finish the job.
        tg.delay("sendMessage", 0.2)
        for _ in range(40):
            pending = [r for r in await rows(sessions) if r.status == DeliveryStatus.QUEUED]
            if not pending:
                break
            clock.value = max(clock.value, min(r.next_attempt_at or clock.value for r in pending))
            await engine.tick()
            if _ == 5:
                tg.delay("sendMessage", 0)
    finally:
        await sender.close()

    final = await rows(sessions)
    assert {r.status for r in final} == {DeliveryStatus.SENT}, Counter(r.status for r in final)
    assert len(final) == RECIPIENTS
    # What each chat got (calls the server refused or dropped are not messages).
    delivered = {5000 + n: len(tg.sent_messages(5000 + n)) for n in range(RECIPIENTS)}
    assert all(n >= 1 for n in delivered.values()), delivered  # nobody missed it
    # Exactly once, bar in flight: only chats whose call timed out may have it twice.
    doubled = {chat for chat, n in delivered.items() if n > 1}
    async with sessions() as s:
        in_flight = {int((await s.get(ChannelIdentity, r.identity_id)).address) for r in timed_out}
    assert doubled <= in_flight, (doubled, in_flight)
    assert all(n <= 2 for n in delivered.values())


LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE organisation SET name = name")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
print("released", flush=True)
"""


async def test_sqlite_locked_by_another_process_is_waited_out(sessions, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's file lock; PostgreSQL locks rows, covered by the worker tests")
    await make_world(sessions)
    # A direct message queued for the gangmaker: a console row the chat shows at its next turn.
    async with transaction(sessions) as s:
        from tests.test_dialog_budget import person_at

        gm = await person_at(s, "gm")
        await notify.notify(s, person=gm, key="test:locked", text="Je aanvraag is goedgekeurd.")
    path = db_url.split("///", 1)[1]
    locker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOCKER, path, "1.5", stdout=subprocess.PIPE
    )
    assert locker.stdout is not None
    assert (await locker.stdout.readline()).strip() == b"locked"

    chat = ChatHarness(sessions, address="gm")
    other = ChatHarness(sessions, address="leader")
    # Both turns start while the other process holds the write lock; they wait, then go on.
    await asyncio.gather(chat.send("menu"), other.send("menu"))
    assert (await locker.stdout.readline()).strip() == b"released"
    assert await locker.wait() == 0

    assert "Je aanvraag is goedgekeurd." in chat.text
    assert chat.options and other.options, chat.dump() + other.dump()
    assert "Sorry" not in chat.text + other.text
    async with sessions() as s:
        [row] = list(await s.scalars(select(Delivery)))
        assert row.status == DeliveryStatus.SENT  # shown once, recorded once
