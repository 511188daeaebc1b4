"""A real PostgreSQL restart while a worker process is sending: nothing lost, nothing doubled
beyond what was in flight, and the worker recovers by itself (the time is printed).

The restart must not touch the shared cluster other people use: the test makes a private
cluster with Debian's ``pg_createcluster`` on a free port, restarts it with ``pg_ctlcluster
... restart`` (a fast stop that drops every connection, then a start) in the middle of a
600-recipient announcement, and drops it afterwards. Without ``pg_createcluster`` (or without
the rights to use it) the test is skipped, unless ``REQUIRE_POSTGRES=1`` (CI), where it fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import make_engine, make_sessionmaker, transaction
from bot.delivery.demo_people import TELEGRAM_BASE, add_demo_people
from bot.migrate import upgrade
from bot.models import Delivery, DeliveryStatus
from bot.services import announcements as ann
from tests import factories as f
from tests.fakes import ApiSpec, FakeTelegram
from tests.test_telegram_e2e import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ApiSpec.default_path().exists(), reason="Bot API spec not found"),
]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123:ABC"
RECIPIENTS = 600
BATCH = 100
LEASE_SECONDS = 5
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


def unavailable(reason: str) -> None:
    if REQUIRE_POSTGRES:
        pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


def run(*command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        return run("runuser", "-u", "postgres", "--", *command)
    return run(*command)


@pytest.fixture
def private_cluster() -> Iterator[tuple[str, str, str]]:
    """A PostgreSQL cluster of this test alone: (version, name, database URL)."""
    if shutil.which("pg_createcluster") is None or shutil.which("pg_ctlcluster") is None:
        unavailable("pg_createcluster is not available (Debian's postgresql-common)")
    versions = sorted(
        (p.name for p in Path("/usr/lib/postgresql").glob("*") if (p / "bin").exists()),
        key=lambda v: float(v) if v.replace(".", "").isdigit() else 0,
    )
    if not versions:
        unavailable("no PostgreSQL server binaries under /usr/lib/postgresql")
    version = versions[-1]
    name = f"gm_restart_{secrets.token_hex(4)}"
    port = str(free_port())
    made = run("pg_createcluster", version, name, "-p", port, "--start")
    if made.returncode != 0:
        unavailable(f"pg_createcluster failed: {made.stderr.strip()[-300:]}")
    try:
        setup = as_postgres(
            "psql",
            "-p",
            port,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CREATE ROLE gm_restart LOGIN SUPERUSER PASSWORD 'gm_restart'",
            "-c",
            "CREATE DATABASE gm_restart OWNER gm_restart",
        )
        assert setup.returncode == 0, setup.stderr
        yield (
            version,
            name,
            f"postgresql+asyncpg://gm_restart:gm_restart@127.0.0.1:{port}/gm_restart",
        )
    finally:
        run("pg_dropcluster", "--stop", version, name)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, strict_chats=False) as fake:
        yield fake


async def start_worker(db_url: str, api_base: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DELIVERY_"))}
    env.update(
        DATABASE_URL=db_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=api_base,
        TELEGRAM_RATE_LIMIT="100",
        TELEGRAM_BURST="10",
        DELIVERY_BATCH_SIZE=str(BATCH),
        DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS),
        WORKER_TICK_SECONDS="0.5",
        LOG_LEVEL="ERROR",
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


def received(tg: FakeTelegram) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in tg.calls if c.method == "sendMessage")


async def test_a_postgresql_restart_while_sending_loses_nothing(
    private_cluster: tuple[str, str, str], tg: FakeTelegram
) -> None:
    version, name, url = private_cluster
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        await upgrade(engine)
        async with transaction(sessions) as session:
            org = await f.organisation(session, quiet_start_minute=0, quiet_end_minute=0)
            await f.area(session, org)
            people = await add_demo_people(session, organisation=org, count=RECIPIENTS)
            await ann.announce(
                session, organisation_id=org.id, actor=None, texts={"nl": "De ronde is open!"}
            )
            [fan] = await ann.start_due_announcements(session)
            assert fan.added == RECIPIENTS
        chats = {TELEGRAM_BASE + p for p in people.person_ids}
        await engine.dispose()  # the test's own connections must not hold the restart up
        tg.delay("sendMessage", 0.005)

        worker = await start_worker(url, tg.api_base)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            while sum(received(tg).values()) < RECIPIENTS // 4:
                assert loop.time() < deadline, "the worker did not start sending"
                assert worker.returncode is None, "the worker died"
                await asyncio.sleep(0.02)
            before = sum(received(tg).values())
            # The real thing: a fast stop (every connection dropped), then a start.
            down = time.monotonic()
            restarted = await asyncio.to_thread(run, "pg_ctlcluster", version, name, "restart")
            assert restarted.returncode == 0, restarted.stderr
            back = dt.datetime.now(dt.UTC)
            back_clock = time.monotonic()
            outage = back_clock - down
            assert sum(received(tg).values()) < RECIPIENTS, "restarted too late"

            # Recovery: from the server being back to the next send the worker records.
            recovery = None
            while recovery is None:
                assert loop.time() < deadline + 120, "the worker did not recover"
                assert worker.returncode is None, "the worker died"
                try:
                    async with sessions() as session:
                        first = await session.scalar(
                            select(func.min(Delivery.sent_at)).where(Delivery.sent_at > back)
                        )
                except Exception:  # the server may still be starting up
                    first = None
                if first is not None:
                    recovery = time.monotonic() - back_clock
                await asyncio.sleep(0.05)

            async def done() -> bool:
                async with sessions() as session:
                    sent = await session.scalar(
                        select(func.count(Delivery.id)).where(
                            Delivery.status == DeliveryStatus.SENT
                        )
                    )
                return sent == RECIPIENTS

            while not await done():
                assert loop.time() < deadline + 180, "not every row was sent"
                assert worker.returncode is None, "the worker died"
                await asyncio.sleep(0.2)
        finally:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.communicate(), 60)
        assert worker.returncode == 0

        final = received(tg)
        assert set(final) == chats, "nothing lost"
        doubled = sum(n - 1 for n in final.values())
        # Only rows claimed before the restart whose results could not be recorded can go
        # twice: at most the claims in flight (one batch, and the one being recorded).
        assert doubled <= 2 * BATCH, f"{doubled} doubled"
        async with sessions() as session:
            statuses = Counter(
                DeliveryStatus(s).value for s in await session.scalars(select(Delivery.status))
            )
        assert statuses == Counter({"sent": RECIPIENTS})
        print(
            f"\n[postgresql restart] {before} sent before the restart (stop+start took "
            f"{outage:.2f} s); recovery "
            f"{recovery:.2f} s from the server being back to the next recorded send; "
            f"{doubled} doubled (bound {2 * BATCH})"
        )
    finally:
        await engine.dispose()
