"""Soak: steady chat traffic plus announcements for a bounded time; memory and latency over time.

    .venv/bin/python bench/bench_soak.py [--minutes 60] [--db sqlite|postgresql]
        [--people 8] [--think 0.5] [--recipients 2000] [--rate 30]
        [--sample 10] [--interval 60] [--warmup 60] [--postgres-url postgresql+asyncpg://...]
        [--objects 300 [--trim]]

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
after ``--minutes``. ``--objects N``: every N seconds after warm-up, what grows (object types
by count, the known caches, malloc's and pymalloc's own figures, RSS by kind of mapping);
``--trim`` then gives malloc's free memory back and prints RSS before and after.
PostgreSQL (``--db postgresql``, URL from ``--postgres-url`` or ``TEST_POSTGRES_URL``)
DROPS AND RECREATES THE PUBLIC SCHEMA of that database. Prints figures; asserts nothing
(see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import gc
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
from bot.memory import trim_heap  # noqa: E402
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


MALLINFO2 = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()  # noqa: SIM905


class Objects:
    """``--objects``: which object types and caches grow (gc-tracked objects by type name).

    Counts every object the garbage collector tracks (containers and class instances; not
    str/int/bytes) by type name, and prints the types that grew most since the first count after
    warm-up, plus the sizes of the caches we know of and glibc's own view of the heap
    (mallinfo2: bytes in use against free bytes it keeps), which tells a leak (in use grows)
    from fragmentation (free grows, in use does not).
    """

    def __init__(self, engine, live: dict) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.live = live  # name -> long-lived object whose container attributes are measured
        self.first: collections.Counter[str] | None = None
        self.last: collections.Counter[str] | None = None

    @staticmethod
    def count() -> collections.Counter[str]:
        gc.collect()
        return collections.Counter(
            f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
        )

    @staticmethod
    def mallinfo() -> str:
        try:
            libc = ctypes.CDLL("libc.so.6")
        except OSError:
            return "mallinfo2: n/a"

        class Info(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2]

        if not hasattr(libc, "mallinfo2"):
            return "mallinfo2: n/a"
        libc.mallinfo2.restype = Info
        i = libc.mallinfo2()
        mb = 1024 * 1024
        return (
            f"malloc: heap {i.arena / mb:.1f} MB (in use {i.uordblks / mb:.1f}, free "
            f"{i.fordblks / mb:.1f}, top {i.keepcost / mb:.1f}), mmap {i.hblkhd / mb:.1f} MB "
            f"in {i.hblks}; python blocks {sys.getallocatedblocks()}"
        )

    @staticmethod
    def pymalloc() -> str:
        """Python's small-object allocator: its arenas (1 MiB each, straight from mmap, so not
        in mallinfo) against the bytes in blocks in use; arenas far above use = fragmentation."""
        with tempfile.TemporaryFile("w+") as tmp:
            sys.stderr.flush()
            saved = os.dup(2)
            os.dup2(tmp.fileno(), 2)
            try:
                sys._debugmallocstats()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            tmp.seek(0)
            lines = tmp.read().splitlines()
        value = {
            line.split("=")[0].strip("# ").strip(): int(line.split("=")[1].replace(",", ""))
            for line in lines
            if line.startswith("# ") and "=" in line
        }
        mb = 1024 * 1024
        return (
            f"pymalloc: {value.get('arenas allocated current', 0)} arenas (highwater "
            f"{value.get('arenas highwater mark', 0)}), in use "
            f"{value.get('bytes in allocated blocks', 0) / mb:.1f} MB, free in pools "
            f"{value.get('bytes in available blocks', 0) / mb:.1f} MB"
        )

    @staticmethod
    def smaps() -> str:
        """Resident memory by kind of mapping: malloc's main heap, anonymous mappings (pymalloc's
        arenas, other malloc arenas, thread stacks), files (code and libraries)."""
        kinds = collections.Counter()
        kind = "anon"
        try:
            with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
                for line in smaps:
                    head = line.split(maxsplit=6)
                    if not head:
                        continue
                    if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                        name = head[5].strip() if len(head) > 5 else ""
                        kind = (
                            "heap"
                            if name == "[heap]"
                            else "file"
                            if name.startswith("/")
                            else "anon"
                        )
                    elif head[0] == "Rss:":
                        kinds[kind] += int(head[1])
        except OSError:
            return "smaps: n/a"
        return "rss by mapping: " + ", ".join(
            f"{k} {kinds[k] / 1024:.1f} MB" for k in ("heap", "anon", "file")
        )

    def trim(self) -> str:
        """Give malloc's free memory back (malloc_trim): what RSS drops by is memory that was
        free but kept, not memory in use."""
        before = rss_mb()
        start = time.perf_counter()
        trim_heap()  # what the worker does every 3 minutes (bot/memory.py)
        took = (time.perf_counter() - start) * 1000
        return f"malloc_trim: rss {before:.1f} -> {rss_mb():.1f} MB in {took:.1f} ms"

    def caches(self) -> str:
        sync = self.engine.sync_engine
        parts = []
        compiled = getattr(sync, "_compiled_cache", None)
        if compiled is not None:
            parts.append(f"sqlalchemy compiled cache {len(compiled)}/{compiled.capacity}")
        pool = sync.pool
        if hasattr(pool, "checkedout"):
            parts.append(f"pool size {pool.size()} overflow {pool.overflow()}")
            # asyncpg: SQLAlchemy's per-connection LRU of prepared statements (connections idle
            # in the pool only).
            idle = getattr(pool._pool, "_queue", pool._pool)  # the asyncio.Queue inside
            statements = [
                len(getattr(record.dbapi_connection, "_prepared_statement_cache", None) or ())
                for record in list(getattr(idle, "_queue", None) or getattr(idle, "queue", ()))
                if record.dbapi_connection is not None
            ]
            if any(statements):
                parts.append(f"prepared statements per idle connection {statements}")
        for name, obj in self.live.items():
            for attr, value in vars(obj).items():
                if isinstance(value, (dict, list, set, collections.OrderedDict)):
                    parts.append(f"{name}.{attr}={len(value)}")
            for attr, value in vars(obj).items():  # one level down (limiters, throttle)
                for inner in list(value.values()) if isinstance(value, dict) else [value]:
                    if hasattr(inner, "__dict__") and type(inner).__module__.startswith("bot."):
                        for a2, v2 in vars(inner).items():
                            if isinstance(v2, (dict, list, set)):
                                parts.append(f"{name}.{attr}.{a2}={len(v2)}")
        return "; ".join(parts)

    def report(self, seconds: float) -> None:
        now = self.count()
        if self.first is None:
            self.first = self.last = now
            print(f"  objects t={seconds:.0f}s: {sum(now.values())} gc-tracked (baseline)")
        else:
            assert self.last is not None
            grown = (now - self.first).most_common(12)
            recent = now - self.last
            print(
                f"  objects t={seconds:.0f}s: {sum(now.values())} gc-tracked "
                f"({sum(now.values()) - sum(self.first.values()):+d} since baseline); "
                "grown since baseline (since last):"
            )
            for name, n in grown:
                print(f"    {name}: +{n} (+{recent.get(name, 0)}) now {now[name]}")
            self.last = now
        print(f"  {self.mallinfo()}")
        print(f"  {self.pymalloc()}")
        print(f"  {self.smaps()}")
        print(f"  caches: {self.caches()}", flush=True)


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


async def worker(
    sessions, org_id: int, api_base: str, rate: float, end: float, live: dict
) -> list[int]:  # type: ignore[no-untyped-def]
    """Deliver announcements one after the other until the end; returns rows sent so far."""
    sender = TelegramHttpSender(TOKEN, api_base, rate=rate, burst=int(rate))
    engine = DeliveryEngine(sessions, [sender])
    live.update(engine=engine, sender=sender)
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
        live: dict = {"runtime": runtime}
        sending = asyncio.create_task(worker(sessions, org_id, fake.api_base, args.rate, end, live))
        objects = Objects(engine, live) if args.objects else None
        next_objects = began + args.warmup
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
                if objects is not None and now >= next_objects:
                    objects.report(now - began)
                    if args.trim:
                        print(f"  {objects.trim()}", flush=True)
                    next_objects += args.objects
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
    p.add_argument(
        "--objects",
        type=float,
        default=0,
        help="every N seconds after warm-up: growing object types, cache sizes, malloc figures",
    )
    p.add_argument(
        "--trim",
        action="store_true",
        help="with --objects: call malloc_trim(0) after each report and print RSS before/after",
    )
    p.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"))
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
