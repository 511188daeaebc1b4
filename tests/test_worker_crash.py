"""Nothing lost, nothing doubled beyond what was in flight: a real worker process is killed with
SIGKILL halfway through a 2,000-recipient announcement and started again; and on PostgreSQL
every connection is cut while sending.

The fake Telegram Bot API runs in the test process; the worker (``python -m bot.cli worker``)
sends to it over HTTP. At the kill we count the rows the database holds as ``sending``: claimed
by the dead worker, result not recorded. Only those can have reached Telegram without the
database knowing, so only those may arrive twice after the restart (when their lease expires).

Part of the normal suite (``-m slow`` selects them alone); each database takes 20-30 s, most of
it two worker start-ups (importing aiogram costs seconds of CPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import make_engine, make_sessionmaker, transaction
from bot.delivery.demo_people import TELEGRAM_BASE, add_demo_people
from bot.delivery.engine import DeliveryEngine
from bot.delivery.senders import TelegramSender
from bot.models import Delivery, DeliveryStatus
from bot.services import announcements as ann
from tests import factories as f
from tests.fakes import ApiSpec, FakeTelegram

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ApiSpec.default_path().exists(), reason="Bot API spec not found"),
]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123:ABC"
RECIPIENTS = 2000
LEASE_SECONDS = 5


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, strict_chats=False) as fake:
        yield fake


async def broadcast(sessions: async_sessionmaker[AsyncSession], recipients: int) -> list[int]:
    """An organisation without quiet hours, ``recipients`` Telegram gangmakers, and an
    announcement to all of them, fanned out. Returns the recipients' chat ids."""
    async with transaction(sessions) as session:
        org = await f.organisation(session, quiet_start_minute=0, quiet_end_minute=0)
        await f.area(session, org)
        people = await add_demo_people(session, organisation=org, count=recipients)
        await ann.announce(
            session, organisation_id=org.id, actor=None, texts={"nl": "De ronde is open!"}
        )
        [result] = await ann.start_due_announcements(session)
        assert result.added == recipients
    return [TELEGRAM_BASE + person_id for person_id in people.person_ids]


async def status_counts(sessions: async_sessionmaker[AsyncSession]) -> Counter[str]:
    async with sessions() as session:
        rows = await session.execute(
            select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status)
        )
        return Counter({DeliveryStatus(status).value: n for status, n in rows})


def received(tg: FakeTelegram) -> Counter[int]:
    return Counter(int(m.params["chat_id"]) for m in tg.calls if m.method == "sendMessage")


async def start_worker(db_url: str, api_base: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DELIVERY_"))}
    env.update(
        DATABASE_URL=db_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=api_base,
        TELEGRAM_RATE_LIMIT="500",
        TELEGRAM_BURST="20",
        DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS),
        WORKER_TICK_SECONDS="0.5",
        LOG_LEVEL="WARNING",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "worker",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_for(condition, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_a_killed_worker_loses_nothing_and_doubles_only_what_was_in_flight(
    db_url: str, sessions: async_sessionmaker[AsyncSession], tg: FakeTelegram
) -> None:
    chats = await broadcast(sessions, RECIPIENTS)
    # Every answer takes a moment, as over a real network: more rows are in flight at the kill.
    tg.delay("sendMessage", 0.01)

    async def halfway() -> bool:
        return len(received(tg)) >= RECIPIENTS // 2

    worker = await start_worker(db_url, tg.api_base)
    try:
        await wait_for(halfway, 45, "half of the messages")
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    assert worker.returncode == -signal.SIGKILL
    at_kill = received(tg)
    async with sessions() as session:
        in_flight_rows = list(
            await session.scalars(
                select(Delivery.person_id).where(Delivery.status == DeliveryStatus.SENDING)
            )
        )
        recorded_sent = await session.scalar(
            select(func.count(Delivery.id)).where(Delivery.status == DeliveryStatus.SENT)
        )
    in_flight = {TELEGRAM_BASE + person_id for person_id in in_flight_rows}
    assert RECIPIENTS // 2 <= sum(at_kill.values()) < RECIPIENTS, "not killed halfway"
    # Whatever Telegram got that the database does not know as sent was in flight.
    assert set(at_kill) - in_flight <= set(chats)
    assert sum(at_kill.values()) - recorded_sent <= len(in_flight)

    restarted = await start_worker(db_url, tg.api_base)
    try:

        async def all_sent() -> bool:
            return (await status_counts(sessions))["sent"] == RECIPIENTS

        # The dead worker's rows come back once their lease has expired.
        await wait_for(all_sent, 45, "every row sent")
    finally:
        restarted.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(restarted.communicate(), 30)
    assert restarted.returncode == 0, "SIGTERM stops the worker cleanly"
    assert b"worker stopped" in out

    final = received(tg)
    assert set(final) == set(chats), "every recipient got the announcement"
    doubled = {chat for chat, n in final.items() if n > 1}
    assert max(final.values()) <= 2
    assert doubled <= in_flight, "only rows in flight at the kill can arrive twice"
    assert len(doubled) <= len(in_flight)
    assert await status_counts(sessions) == Counter({"sent": RECIPIENTS})
    print(
        f"\n[{db_url.split(':')[0]}] at the kill: {sum(at_kill.values())} received, "
        f"{recorded_sent} recorded sent, {len(in_flight)} in flight; "
        f"after the restart: {len(doubled)} doubled"
    )


async def test_cutting_every_database_connection_while_sending_loses_nothing(
    db_url: str, sessions: async_sessionmaker[AsyncSession], tg: FakeTelegram, engine
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a database server restart is a PostgreSQL matter")
    chats = await broadcast(sessions, 600)
    tg.delay("sendMessage", 0.005)
    # The worker's own connection pool; the test's (fixture) connection does the cutting.
    worker_db = make_engine(db_url)
    worker_sessions = make_sessionmaker(worker_db)
    sender = TelegramSender(TOKEN, tg.api_base, rate=200, burst=20, chat_interval=1.0)
    delivery = DeliveryEngine(worker_sessions, [sender], lease_seconds=LEASE_SECONDS)
    cut = 0

    async def cut_connections() -> None:
        nonlocal cut
        await wait_for(lambda: _at_least(tg, 200), 30, "200 messages")
        # What a server restart does to its clients: every connection of the worker is
        # terminated, in the middle of whatever it was doing (only this test database).
        async with engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            cut = len(result.all())

    async def worker() -> None:
        # The worker's loop: a failed tick is logged and the next one tries again.
        while (await status_counts(sessions))["sent"] < len(chats):
            with contextlib.suppress(Exception):
                await delivery.tick(0.5)

    try:
        async with asyncio.timeout(45):
            await asyncio.gather(cut_connections(), worker())
    finally:
        await sender.close()
        await worker_db.dispose()
    assert cut >= 1
    final = received(tg)
    assert set(final) == set(chats)
    # At most the rows of the claims cut off can arrive twice.
    assert sum(final.values()) - len(chats) <= 2 * delivery.batch_size


async def _at_least(tg: FakeTelegram, n: int) -> bool:
    return len(received(tg)) >= n


async def test_worker_refuses_a_bad_setting_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DELIVERY_"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db", TELEGRAM_RATE_LIMIT="fast")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "worker",
        env=env,
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: TELEGRAM_RATE_LIMIT")
