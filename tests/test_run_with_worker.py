"""`gangmaker run` runs the delivery worker in the same process as the chat channel: a real
process, the local fake Bot API server, and an announcement planned in the database. The chat
answers a person *and* the announcement goes out, from the one process; `--no-worker` leaves
the outbox to a separate `gangmaker worker`."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import transaction
from bot.delivery.demo_people import TELEGRAM_BASE, add_demo_people
from bot.models import Announcement, AnnouncementStatus, Delivery, DeliveryStatus
from bot.services import announcements as ann
from tests import factories as f
from tests.fakes import ApiSpec, FakeTelegram
from tests.processes import gangmaker

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ApiSpec.default_path().exists(), reason="Bot API spec not found"),
]

TOKEN = "123456:TEST-token_for_the_fake"
USER = 5001
RECIPIENTS = 25


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, strict_chats=False) as fake:
        yield fake


async def plan_announcement(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    """The organisation `gangmaker run` serves (no quiet hours), RECIPIENTS Telegram people and
    an announcement due now, not yet fanned out (the worker's job). Returns the chat ids."""
    async with transaction(sessions) as session:
        org = await f.organisation(session, "rotterdam", quiet_start_minute=0, quiet_end_minute=0)
        await f.area(session, org)
        people = await add_demo_people(session, organisation=org, count=RECIPIENTS)
        await ann.announce(
            session, organisation_id=org.id, actor=None, texts={"nl": "De ronde is open!"}
        )
    return [TELEGRAM_BASE + person_id for person_id in people.person_ids]


def env_for(db_url: str, api_base: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DELIVERY_"))}
    env.update(
        DATABASE_URL=db_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=api_base,
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def announced(tg: FakeTelegram, chats: list[int]) -> Counter[int]:
    wanted = set(chats)
    return Counter(
        int(c.params["chat_id"])
        for c in tg.calls
        if c.method == "sendMessage" and int(c.params["chat_id"]) in wanted
    )


async def wait_until(condition, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def stop(process: asyncio.subprocess.Process) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 40)
    return out.decode(), err.decode()


async def test_gangmaker_run_chats_and_sends_the_outbox_in_one_process(
    db_url: str, sessions: async_sessionmaker[AsyncSession], tg: FakeTelegram
) -> None:
    chats = await plan_announcement(sessions)
    async with gangmaker("run", env=env_for(db_url, tg.api_base)) as process:
        await tg.wait_for_call("getUpdates", timeout=60)
        # The chat channel answers a person ...
        await tg.user_message(USER, "hallo", language_code="en")

        async def answered() -> bool:
            return tg.last_message(USER) is not None

        await wait_until(answered, 30, "the chat's answer")

        # ... and the worker in the same process fans out and sends the announcement.
        async def all_sent() -> bool:
            async with sessions() as session:
                sent = await session.scalar(
                    select(func.count(Delivery.id)).where(Delivery.status == DeliveryStatus.SENT)
                )
            return sent == RECIPIENTS

        await wait_until(all_sent, 60, "the announcement sent")

        async def done() -> bool:
            async with sessions() as session:
                status = await session.scalar(select(Announcement.status))
            return status == AnnouncementStatus.DONE

        await wait_until(done, 30, "the announcement marked done")
        out, err = await stop(process)
    assert process.returncode == 0, err
    assert "long polling as @" in out
    assert "runs in this process" in out
    assert announced(tg, chats) == Counter(dict.fromkeys(chats, 1)), "each exactly once"
    assert [m["text"] for m in tg.sent_messages(chats[0])] == ["De ronde is open!"]
    assert tg.violations == []


async def test_gangmaker_run_with_a_webhook_runs_the_worker_too(
    db_url: str, sessions: async_sessionmaker[AsyncSession], tg: FakeTelegram
) -> None:
    if db_url.startswith("postgresql"):
        pytest.skip("the web server's part is the same on both databases; one start-up is enough")
    from tests.test_telegram_e2e import free_port

    chats = await plan_announcement(sessions)
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/telegram"
    env = env_for(
        db_url,
        tg.api_base,
        TELEGRAM_WEBHOOK_URL=url,
        TELEGRAM_WEBHOOK_SECRET="test-secret_42",
        HOST="127.0.0.1",
        PORT=str(port),
    )
    async with gangmaker("run", env=env) as process:
        await tg.wait_for_call("setWebhook", timeout=60)

        async def all_received() -> bool:
            return len(announced(tg, chats)) == RECIPIENTS

        await wait_until(all_received, 60, "the announcement at every chat")
        out, err = await stop(process)
    assert process.returncode == 0, err
    assert f"Telegram: webhook {url}" in out
    assert "runs in this process" in out
    assert max(announced(tg, chats).values()) == 1


async def test_gangmaker_run_no_worker_leaves_the_outbox_alone(
    db_url: str, sessions: async_sessionmaker[AsyncSession], tg: FakeTelegram
) -> None:
    if db_url.startswith("postgresql"):
        pytest.skip("the switch is the same on both databases")
    chats = await plan_announcement(sessions)
    async with gangmaker("run", "--no-worker", env=env_for(db_url, tg.api_base)) as process:
        await tg.wait_for_call("getUpdates", timeout=60)
        await tg.user_message(USER, "hallo", language_code="en")
        await tg.wait_for_call("sendMessage", timeout=30)
        assert tg.last_message(USER) is not None
        # A worker would fan out within 2 s; give it three times that.
        await asyncio.sleep(6)
        out, err = await stop(process)
    assert process.returncode == 0, err
    assert "runs in this process" not in out
    assert announced(tg, chats) == Counter()
    async with sessions() as session:
        assert await session.scalar(select(Announcement.status)) == AnnouncementStatus.SCHEDULED
