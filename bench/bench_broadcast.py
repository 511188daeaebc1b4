"""One announcement to 10,000 people in 10 languages, against the local fake Telegram Bot API.

    .venv/bin/python bench/bench_broadcast.py [--db sqlite|postgresql|both]
        [--recipients 10000] [--duration 180] [--rate 30] [--burst 30] [--fail-rate 0.05]
        [--sender aiogram|http] [--shared-limits|--no-shared-limits]
        [--postgres-url postgresql+asyncpg://...]

Per database:

(a) fan-out: ``start_due_announcements`` writes one outbox row per recipient (one transaction,
    committed), timed;
(b) limit off: the delivery engine sends all rows as fast as it can (``TELEGRAM_RATE_LIMIT=0``),
    sustained messages per second from the first claim to the last row recorded;
(c) limit on: a second announcement to everyone, sent at ``--rate`` (30/s) while the server
    answers ``--fail-rate`` (5 %) of the calls with 429 "retry after 1"; messages accepted per
    second over ``--duration`` seconds (180 = 3 minutes);
(d) peak memory (max RSS) of this process, which did the fan-out and all the sending.

The engine's limiter is the app's default (``DELIVERY_SHARED_LIMITS``, on: the limits go
through the ``channel_throttle`` and ``chat_throttle`` tables as with several workers);
``--no-shared-limits`` measures the per-process limiter instead.

The fake server runs in a child process (as Telegram would be elsewhere), so its CPU and memory
are not counted. The engine runs here exactly as in ``gangmaker worker`` (claims with a lease,
the sender through aiogram, results recorded in bulk). PostgreSQL uses ``--postgres-url``
(default ``TEST_POSTGRES_URL``) and DROPS AND RECREATES ITS PUBLIC SCHEMA. Prints figures;
asserts nothing (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.fakes

from sqlalchemy import func, select, text, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402

from bot.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from bot.delivery.demo_people import DEMO_LANGUAGES, add_demo_people  # noqa: E402
from bot.delivery.engine import DeliveryEngine  # noqa: E402
from bot.delivery.senders import TelegramHttpSender, TelegramSender  # noqa: E402
from bot.delivery.settings import DeliverySettings  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.models import Area, Delivery, DeliveryStatus, Organisation  # noqa: E402
from bot.services import announcements as ann  # noqa: E402

TOKEN = "123:ABC"
SENDERS = {"aiogram": TelegramSender, "http": TelegramHttpSender}
ALL_TEXTS = {
    "nl": "De voorjaarsronde is open! Vraag een bijdrage voor jullie straat.",
    "en": "The spring round is open! Ask for a contribution for your street.",
    "tr": "Bahar turu açıldı! Sokağınız için katkı isteyin.",
    "ar": "جولة الربيع مفتوحة! اطلبوا مساهمة لشارعكم.",
    "pl": "Runda wiosenna jest otwarta! Poproś o dofinansowanie dla swojej ulicy.",
    "bg": "Пролетният кръг е отворен! Поискайте принос за вашата улица.",
    "ro": "Runda de primăvară este deschisă! Cereți o contribuție pentru strada voastră.",
    "pap": "E ronda di primavera ta habri! Pidi un kontribushon pa boso kaya.",
    "es": "¡La ronda de primavera está abierta! Pide una contribución para tu calle.",
    "pt": "A ronda da primavera está aberta! Peça uma contribuição para a sua rua.",
    "uk": "Весняний раунд відкрито! Попросіть внесок для вашої вулиці.",
    "so": "Wareegga guga waa furan yahay! Codso tabarruc waddadaada.",
}
TEXTS = {code: ALL_TEXTS[code] for code in DEMO_LANGUAGES}


# --- the fake server, in a child process -------------------------------------------------------


async def serve_fake(fail_rate: float) -> None:
    """Serve the fake Bot API; print its base URL, then on SIGTERM a JSON line of counts."""
    from tests.fakes import FakeApiError, FakeTelegram

    rng = random.Random(5)
    async with FakeTelegram(token=TOKEN, strict_chats=False) as tg:
        original = tg._api_sendMessage
        refused = 0

        accepted: list[float] = []

        async def send_message(params: dict[str, object]) -> object:
            nonlocal refused
            if rng.random() < fail_rate:
                refused += 1
                raise FakeApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            accepted.append(time.monotonic())
            return await original(params)

        tg.set_result("sendMessage", send_message)
        print(tg.api_base, flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        calls = len(tg.calls)
        print(
            json.dumps(
                {
                    "calls": calls,
                    "refused_429": refused,
                    "violations": len(tg.violations),
                    "busiest_second": busiest_second(accepted),
                }
            ),
            flush=True,
        )


def busiest_second(times: list[float]) -> int:
    """The most messages in any one-second window (sliding), as the server got them."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


class FakeServer:
    def __init__(self, fail_rate: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake", "--fail-rate", str(fail_rate)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.api_base = self.proc.stdout.readline().strip()

    def stop(self) -> dict[str, int]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1])


# --- the benchmark -----------------------------------------------------------------------------


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def fresh_engine(kind: str, url: str | None, workdir: Path) -> AsyncEngine:
    if kind == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
    else:
        assert url
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    return engine


async def seed(sessions: async_sessionmaker[AsyncSession], recipients: int) -> int:
    async with transaction(sessions) as session:
        org = Organisation(slug="bench", name="Benchmark", quiet_start_minute=0, quiet_end_minute=0)
        session.add(org)
        await session.flush()
        for name in ("Centrum", "Charlois", "Delfshaven", "Feijenoord", "Noord"):
            session.add(Area(organisation_id=org.id, name=name))
        await session.flush()
        await add_demo_people(session, organisation=org, count=recipients)
        return org.id


async def fan_out(sessions: async_sessionmaker[AsyncSession], org_id: int) -> tuple[float, int]:
    async with transaction(sessions) as session:
        await ann.announce(session, organisation_id=org_id, actor=None, texts=TEXTS)
    start = time.perf_counter()
    async with transaction(sessions) as session:
        [result] = await ann.start_due_announcements(session)
    return time.perf_counter() - start, result.added


async def sent_rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return (
            await session.scalar(
                select(func.count(Delivery.id)).where(Delivery.status == DeliveryStatus.SENT)
            )
            or 0
        )


async def run_db(kind: str, args: argparse.Namespace, workdir: Path) -> None:
    engine = await fresh_engine(kind, args.postgres_url, workdir)
    sessions = make_sessionmaker(engine)
    try:
        start = time.perf_counter()
        org_id = await seed(sessions, args.recipients)
        print(
            f"{kind}: seeded {args.recipients} people in {len(TEXTS)} languages "
            f"in {time.perf_counter() - start:.2f} s; sender {args.sender}, "
            f"{'shared' if args.shared_limits else 'per-process'} limits; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        if kind == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))

        # (a) fan-out
        seconds, added = await fan_out(sessions, org_id)
        print(
            f"{kind}: (a) fan-out of {added} rows: {seconds:.2f} s (load {os.getloadavg()[0]:.1f})"
        )

        # (b) no rate limit
        fake = FakeServer(fail_rate=0.0)
        sender = SENDERS[args.sender](TOKEN, fake.api_base, rate=0, timeout=30)
        delivery = DeliveryEngine(
            sessions, [sender], batch_size=args.batch, shared_limits=args.shared_limits
        )
        start = time.perf_counter()
        while await delivery.tick(1.0):
            pass
        elapsed = time.perf_counter() - start
        sent = await sent_rows(sessions)
        await delivery.close()
        stats = fake.stop()
        print(
            f"{kind}: (b) limit off: {sent} sent in {elapsed:.2f} s = {sent / elapsed:.0f} msg/s "
            f"({stats['violations']} contract violations; load {os.getloadavg()[0]:.1f})"
        )

        # (c) 30/s with 5 % 429 answers, for --duration seconds
        seconds, added = await fan_out(sessions, org_id)
        fake = FakeServer(fail_rate=args.fail_rate)
        sender = SENDERS[args.sender](TOKEN, fake.api_base, rate=args.rate, burst=args.burst)
        delivery = DeliveryEngine(
            sessions, [sender], batch_size=args.batch, shared_limits=args.shared_limits
        )
        # When each message left, at the sender (every send, refused ones too).
        limiter = delivery.limiters[sender.channel]
        left: list[float] = []
        take = limiter.take

        def stamped_take(chat: str) -> None:
            left.append(time.monotonic())
            take(chat)

        limiter.take = stamped_take  # type: ignore[method-assign]
        before = await sent_rows(sessions)
        start = time.perf_counter()
        end = start + args.duration
        while time.perf_counter() < end:
            await delivery.tick(min(1.0, max(0.05, end - time.perf_counter())))
            if await sent_rows(sessions) - before >= added:
                break
        elapsed = time.perf_counter() - start
        sent = await sent_rows(sessions) - before
        await delivery.close()
        stats = fake.stop()
        answered = stats["calls"]
        print(
            f"{kind}: (c) limit {args.rate:g}/s, {args.fail_rate:.0%} 429s: {sent} accepted in "
            f"{elapsed:.1f} s = {sent / elapsed:.2f} msg/s "
            f"({stats['refused_429']} of {answered} calls answered 429; busiest second: "
            f"{busiest_second(left)} sends left, {stats['busiest_second']} accepted at the "
            "server; "
            f"load {os.getloadavg()[0]:.1f})"
        )
        # Unsent rows of (c) stay queued: cancelled here so a re-run starts clean.
        async with transaction(sessions) as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.status != DeliveryStatus.SENT)
                .values(status=DeliveryStatus.SKIPPED, last_error="bench: not reached")
            )
        print(f"{kind}: (d) peak memory (max RSS) of this process so far: {peak_mb():.0f} MB")
    finally:
        await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            if kind == "postgresql" and not args.postgres_url:
                print("postgresql: skipped (no --postgres-url and no TEST_POSTGRES_URL)")
                continue
            await run_db(kind, args, Path(tmp))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of phase (c)")
    parser.add_argument("--rate", type=float, default=30.0, help="limit of phase (c), msg/s")
    parser.add_argument("--burst", type=int, default=30, help="burst of phase (c)")
    parser.add_argument("--fail-rate", type=float, default=0.05, help="share of 429 answers")
    parser.add_argument("--batch", type=int, default=500, help="rows per claim")
    parser.add_argument(
        "--sender", choices=sorted(SENDERS), default="aiogram", help="TELEGRAM_SENDER to use"
    )
    parser.add_argument(
        "--shared-limits",
        action=argparse.BooleanOptionalAction,
        default=DeliverySettings.model_fields["delivery_shared_limits"].default,
        help="limits through the database as with several workers (DELIVERY_SHARED_LIMITS; "
        "default: the app's default, on)",
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"), help="PostgreSQL URL"
    )
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve_fake:
        asyncio.run(serve_fake(arguments.fail_rate))
    else:
        asyncio.run(main(arguments))
