"""Deliveries per second with one and with two `gangmaker worker` processes on PostgreSQL.

    .venv/bin/python bench/bench_workers.py [--recipients 10000] [--rate 30] [--duration 60]
        [--workers 1,2] [--postgres-url postgresql+asyncpg://...]

One organisation with ``--recipients`` Telegram gangmakers in 10 languages; per case a fresh
announcement to all of them is fanned out, then real worker processes (``python -m bot.cli
worker``, shared limits on, the default) send it to the local fake Bot API (a child process).
Cases: 1 and 2 workers, with the rate limit off (``TELEGRAM_RATE_LIMIT=0``: all 10,000 rows)
and on (``--rate``, 30/s: the workers run for ``--duration`` seconds from the first message,
as 10,000 messages would take over five minutes per case). Deliveries per second are counted
from the rows' ``sent_at`` (first to last); the busiest second counts rows by ``sent_at``,
which is when the result was recorded (up to 0.1 s after the send). Worker start-up is not
counted. Prints figures, asserts nothing; DROPS AND RECREATES the public schema of the
database (default ``TEST_POSTGRES_URL``): use a database of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_broadcast import TEXTS, TOKEN, FakeServer, fresh_engine, seed  # noqa: E402
from sqlalchemy import func, select, text, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bot.db import make_sessionmaker, transaction  # noqa: E402
from bot.models import Delivery, DeliveryStatus  # noqa: E402
from bot.services import announcements as ann  # noqa: E402


async def start_workers(url: str, api_base: str, count: int, rate: float) -> list:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DELIVERY_"))}
    env.update(
        DATABASE_URL=url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=api_base,
        TELEGRAM_RATE_LIMIT=f"{rate:g}",
        TELEGRAM_BURST="1",
        LOG_LEVEL="WARNING",
    )
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "worker",
            env={**env, "WORKER_ID": f"bench{n}"},
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in range(1, count + 1)
    ]


async def stop_workers(workers: list) -> None:
    for worker in workers:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        _, err = await asyncio.wait_for(worker.communicate(), 60)
        if worker.returncode != 0:
            print(f"  worker exited {worker.returncode}: {err.decode()[-500:]}")


async def sent_times(sessions: async_sessionmaker[AsyncSession], announcement_id: int) -> list:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Delivery.sent_at)
                .where(
                    Delivery.announcement_id == announcement_id,
                    Delivery.status == DeliveryStatus.SENT,
                )
                .order_by(Delivery.sent_at)
            )
        )


def busiest_second(times: list[float]) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run_case(
    url: str, sessions, org_id: int, workers: int, rate: float, args: argparse.Namespace
) -> None:
    async with transaction(sessions) as session:
        item = await ann.announce(session, organisation_id=org_id, actor=None, texts=TEXTS)
        [result] = await ann.start_due_announcements(session)
    fake = FakeServer(fail_rate=0.0)
    procs = await start_workers(url, fake.api_base, workers, rate)
    try:
        limit = None if rate == 0 else args.duration
        started = time.monotonic()
        first_seen = None
        while True:
            await asyncio.sleep(0.5)
            async with sessions() as session:
                sent = await session.scalar(
                    select(func.count(Delivery.id)).where(
                        Delivery.announcement_id == item.id,
                        Delivery.status == DeliveryStatus.SENT,
                    )
                )
            if sent and first_seen is None:
                first_seen = time.monotonic()
            if sent >= result.added:
                break
            if limit is not None and first_seen and time.monotonic() - first_seen >= limit:
                break
            if time.monotonic() - started > 900:
                print("  gave up after 15 minutes")
                break
    finally:
        await stop_workers(procs)
        stats = fake.stop()
    times = [t.timestamp() for t in await sent_times(sessions, item.id)]
    if limit is not None and times:
        times = [t for t in times if t <= times[0] + limit]
    span = (times[-1] - times[0]) if len(times) > 1 else float("nan")
    label = "off" if rate == 0 else f"{rate:g}/s"
    print(
        f"postgresql: {workers} worker(s), limit {label}: {len(times)} delivered in {span:.1f} s "
        f"= {len(times) / span:.1f} deliveries/s; busiest second {busiest_second(times)}; "
        f"fake server calls {stats['calls']}, contract violations {stats['violations']}; "
        f"busiest second at the server {stats['busiest_second']}; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    # Rows not reached (limited cases) are skipped so the next case starts clean.
    async with transaction(sessions) as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]))
            .values(status=DeliveryStatus.SKIPPED, last_error="bench: not reached")
        )


async def main(args: argparse.Namespace) -> None:
    if not args.postgres_url:
        print("postgresql: skipped (no --postgres-url and no TEST_POSTGRES_URL)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        engine = await fresh_engine("postgresql", args.postgres_url, Path(tmp))
    sessions = make_sessionmaker(engine)
    try:
        org_id = await seed(sessions, args.recipients)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
        print(f"postgresql: {args.recipients} recipients in {len(TEXTS)} languages", flush=True)
        for rate in (0.0, args.rate):
            for workers in args.workers:
                await run_case(args.postgres_url, sessions, org_id, workers, rate, args)
    finally:
        await engine.dispose()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0, help="the limit of the 'on' cases")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of each limited case")
    parser.add_argument(
        "--workers",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[1, 2],
        help="worker counts, e.g. 1,2",
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"), help="PostgreSQL URL"
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
