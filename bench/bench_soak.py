"""Soak: steady chat traffic plus announcements for a bounded time; memory and latency over time.

    .venv/bin/python bench/bench_soak.py [--minutes 60] [--db sqlite|postgresql]
        [--people 8] [--think 0.5] [--recipients 2000] [--rate 30]
        [--sample 10] [--interval 60] [--warmup 60] [--postgres-url postgresql+asyncpg://...]

What runs, all in this process except the fake Bot API server (a child process, loopback only):

- chat: ``--people`` simulated gangmakers talk to the real console runtime at the same time,
  each sending a message, waiting ``--think`` seconds, and so on (menu, their street, the
  contribution dialog and cancel, help, settings); every turn's latency is recorded;
- a worker: the delivery engine (as in ``gangmaker worker``) delivers an announcement to
  ``--recipients`` demo people through the fake server at ``--rate`` messages a second; when one
  announcement is done the next one is started, so sending goes on for the whole soak;
- every ``--sample`` seconds the resident memory (RSS) of this process is sampled.

Every ``--interval`` seconds it prints the turns, p50/p95/max latency, RSS and messages sent in
that interval; at the end the RSS after warm-up (``--warmup`` seconds) against the RSS at the end
(the growth) and the least-squares slope of RSS over the time after warm-up. Stops by itself
after ``--minutes``. PostgreSQL (``--db postgresql``, URL from ``--postgres-url`` or
``TEST_POSTGRES_URL``) DROPS AND RECREATES THE PUBLIC SCHEMA of that database. Prints figures;
asserts nothing (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.*
sys.path.insert(0, str(ROOT / "bench"))

from bench_broadcast import TEXTS, TOKEN, FakeServer, fresh_engine  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.conversation import Runtime, Text  # noqa: E402
from bot.db import make_sessionmaker, transaction  # noqa: E402
from bot.delivery.demo_people import add_demo_people  # noqa: E402
from bot.delivery.engine import DeliveryEngine  # noqa: E402
from bot.delivery.senders import TelegramHttpSender  # noqa: E402
from bot.i18n import translator  # noqa: E402
from bot.models import (  # noqa: E402
    Area,
    Channel,
    Delivery,
    DeliveryStatus,
    Organisation,
    StreetMembership,
)
from bot.services import announcements as ann  # noqa: E402
from tests import factories  # noqa: E402

# One round of a person's conversation: menu entries by number, a dialog begun and cancelled.
SCRIPT = ["menu", "1", "menu", "2", "annuleer", "help", "menu", "instellingen", "annuleer", "hoi"]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def seed(sessions, people: int, recipients: int) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    async with transaction(sessions) as s:
        org = Organisation(slug="rotterdam", name="Soak", quiet_start_minute=0, quiet_end_minute=0)
        s.add(org)
        await s.flush()
        area = Area(organisation_id=org.id, name="Delfshaven")
        s.add(area)
        await s.flush()
        await factories.round_(
            s,
            org,
            opens=factories.NOW.replace(year=2020),
            closes=factories.NOW.replace(year=2099),
        )
        street = await factories.street(s, org, area)
        addresses = []
        for n in range(people):
            person = await factories.person(s, org, f"P{n}", address=f"soak-{n}")
            s.add(StreetMembership(street_id=street.id, person_id=person.id, is_gangmaker=True))
            addresses.append(f"soak-{n}")
        await add_demo_people(s, organisation=org, count=recipients)
        return org.id, addresses


class Figures:
    def __init__(self) -> None:
        self.latencies: list[float] = []  # this interval
        self.turns_total = 0
        self.apologies = 0
        self.rss: list[tuple[float, float]] = []  # (seconds since start, MB)


async def person(
    runtime: Runtime, address: str, figures: Figures, think: float, end: float, sorry: set[str]
) -> None:
    n = 0
    while time.perf_counter() < end:
        text = SCRIPT[n % len(SCRIPT)]
        n += 1
        start = time.perf_counter()
        replies = await runtime.handle(Text(channel=Channel.CONSOLE, address=address, text=text))
        figures.latencies.append(time.perf_counter() - start)
        figures.turns_total += 1
        if any(r.text in sorry for r in replies):
            figures.apologies += 1
        await asyncio.sleep(think)


async def worker(sessions, org_id: int, api_base: str, rate: float, end: float) -> list[int]:  # type: ignore[no-untyped-def]
    """Deliver announcements one after the other until the end; returns rows sent so far."""
    sender = TelegramHttpSender(TOKEN, api_base, rate=rate, burst=int(rate))
    engine = DeliveryEngine(sessions, [sender])
    announced = [0]
    try:
        while time.perf_counter() < end:
            if not await engine.tick(min(1.0, max(0.05, end - time.perf_counter()))):
                async with transaction(sessions) as s:
                    await ann.announce(s, organisation_id=org_id, actor=None, texts=TEXTS)
                async with transaction(sessions) as s:
                    await ann.start_due_announcements(s)
                announced[0] += 1
    finally:
        await sender.close()
    return announced


async def sent(sessions) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as s:
        return (
            await s.scalar(
                select(func.count(Delivery.id)).where(Delivery.status == DeliveryStatus.SENT)
            )
            or 0
        )


async def main(args: argparse.Namespace) -> None:
    url = args.postgres_url if args.db == "postgresql" else None
    if args.db == "postgresql" and not url:
        sys.exit("postgresql needs --postgres-url or TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as tmp:
        engine = await fresh_engine(args.db, url, Path(tmp))
        sessions = make_sessionmaker(engine)
        org_id, addresses = await seed(sessions, args.people, args.recipients)
        fake = FakeServer(fail_rate=0.0)
        runtime = Runtime(sessions, "rotterdam")
        sorry = {
            translator(lang)._("Sorry, something went wrong on our side. We go back to the menu.")
            for lang in ("nl", "en")
        }
        figures = Figures()
        began = time.perf_counter()
        end = began + args.minutes * 60
        print(
            f"soak on {args.db}: {args.people} people chatting (think {args.think}s), "
            f"announcements to {args.recipients} at {args.rate:g}/s, {args.minutes:g} min",
            flush=True,
        )
        tasks = [
            asyncio.create_task(person(runtime, a, figures, args.think, end, sorry))
            for a in addresses
        ]
        sending = asyncio.create_task(worker(sessions, org_id, fake.api_base, args.rate, end))
        next_sample = began
        next_report = began + args.interval
        sent_before = 0
        all_p95: list[float] = []
        try:
            while time.perf_counter() < end:
                await asyncio.sleep(min(1.0, max(0.0, end - time.perf_counter())))
                now = time.perf_counter()
                if now >= next_sample:
                    figures.rss.append((now - began, rss_mb()))
                    next_sample += args.sample
                if now >= next_report or now >= end:
                    lat, figures.latencies = figures.latencies, []
                    total_sent = await sent(sessions)
                    p95 = pct(lat, 0.95) * 1000
                    all_p95.append(p95)
                    print(
                        f"t={now - began:6.0f}s turns={len(lat):5d} "
                        f"p50={pct(lat, 0.5) * 1000:6.1f}ms p95={p95:6.1f}ms "
                        f"max={max(lat, default=0) * 1000:7.1f}ms rss={rss_mb():6.1f}MB "
                        f"sent={total_sent - sent_before:6d}",
                        flush=True,
                    )
                    sent_before = total_sent
                    next_report += args.interval
            await asyncio.gather(*tasks)
            announced = await sending
        finally:
            for task in [*tasks, sending]:
                task.cancel()
            stats = fake.stop()
            total_sent = await sent(sessions)
            await engine.dispose()
        after = [(t, m) for t, m in figures.rss if t >= args.warmup]
        print(
            f"turns={figures.turns_total} apologies={figures.apologies} "
            f"announcements={announced[0]} messages sent={total_sent} "
            f"fake server calls={stats['calls']} violations={stats['violations']}"
        )
        if len(after) >= 2:
            (t0, m0), (t1, m1) = after[0], after[-1]
            slope = statistics.linear_regression([t for t, _ in after], [m for _, m in after])
            print(
                f"memory: after warm-up ({t0:.0f}s) {m0:.1f} MB, at the end ({t1:.0f}s) "
                f"{m1:.1f} MB, growth {m1 - m0:+.1f} MB; slope {slope.slope * 3600:+.1f} MB/hour; "
                f"peak {max(m for _, m in figures.rss):.1f} MB"
            )
        print(
            f"p95 latency per interval (ms): {', '.join(f'{p:.0f}' for p in all_p95)}; "
            f"worst {max(all_p95, default=0):.0f} ms"
        )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--people", type=int, default=8)
    p.add_argument("--think", type=float, default=0.5)
    p.add_argument("--recipients", type=int, default=2000)
    p.add_argument("--rate", type=float, default=30)
    p.add_argument("--sample", type=float, default=10)
    p.add_argument("--interval", type=float, default=60)
    p.add_argument("--warmup", type=float, default=60)
    p.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"))
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
