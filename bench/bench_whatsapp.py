"""One announcement to 10,000 people on WhatsApp, against the local fake Graph API.

    .venv/bin/python bench/bench_whatsapp.py [--db sqlite|postgresql|both]
        [--recipients 10000] [--duration 60] [--rate 80] [--burst 80] [--fail-rate 0.05]
        [--in-window 0.5] [--postgres-url postgresql+asyncpg://...]

The same phases as bench/bench_broadcast.py, on the WhatsApp channel (``WhatsAppSender``: one
Graph API request per message; the 24-hour window decides between text and template):

(a) fan-out of one outbox row per recipient, timed;
(b) limit off (``WHATSAPP_RATE_LIMIT=0``, no per-recipient interval): sustained messages per
    second the engine and sender manage;
(c) limit on: a second announcement sent at ``--rate`` (80/s, Meta's default per number) while
    the fake answers ``--fail-rate`` (5 %) of the requests with 130429 (throughput limit);
    messages accepted per second over ``--duration`` seconds;
(d) peak memory (max RSS) of this process.

``--in-window`` of the recipients wrote within the last 24 hours (free-form text); the rest get
the approved template (every language approved, Dutch as fallback). As in the worker, the daily
cap of new conversations is counted in the database (one reservation per template; the cap is
set too high to be reached, so its cost is measured, not its waiting). The fake runs in a child
process. PostgreSQL uses ``--postgres-url`` (default ``TEST_POSTGRES_URL``) and DROPS AND
RECREATES ITS PUBLIC SCHEMA. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_broadcast import TEXTS, fan_out, fresh_engine, peak_mb, seed, sent_rows  # noqa: E402
from sqlalchemy import bindparam, select, text, update  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from bot.channels.whatsapp.sender import WhatsAppSender  # noqa: E402
from bot.channels.whatsapp.window import Templates  # noqa: E402
from bot.db import make_sessionmaker, transaction  # noqa: E402
from bot.delivery.engine import DeliveryEngine  # noqa: E402
from bot.models import Channel, ChannelIdentity, Delivery, DeliveryStatus, utcnow  # noqa: E402

PHONE = "106540352242922"
TOKEN = "EAAtest-token-for-the-fake"
TEMPLATE = "gangmaker_news"


async def serve_fake(fail_rate: float) -> None:
    """Serve the fake Graph API; print its base URL, then on SIGTERM a JSON line of counts."""
    from tests.fakes import graph_api as g

    rng = random.Random(5)
    graph = g.FakeGraph(phone_number_id=PHONE, token=TOKEN, templates={TEMPLATE: set(TEXTS)})
    original = graph._messages
    refused = 0

    async def messages(request):  # type: ignore[no-untyped-def]
        nonlocal refused
        if rng.random() < fail_rate:
            refused += 1
            return g.meta_error(g.THROUGHPUT, "Rate limit hit")
        return await original(request)

    graph._messages = messages  # type: ignore[method-assign]
    await graph.start()
    print(graph.base, flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    kinds = Counter(s.kind for s in graph.sent)
    print(
        json.dumps(
            {
                "sent": len(graph.sent),
                "refused_130429": refused,
                "violations": len(graph.violations),
                "kinds": dict(kinds),
            }
        ),
        flush=True,
    )
    await graph.close()


class FakeServer:
    def __init__(self, fail_rate: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake", "--fail-rate", str(fail_rate)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.base = self.proc.stdout.readline().strip()

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1])


async def to_whatsapp(sessions: async_sessionmaker[AsyncSession], in_window: float) -> None:
    """Every demo identity becomes a WhatsApp number; a share of them wrote an hour ago."""
    now = utcnow()
    rng = random.Random(7)
    async with transaction(sessions) as session:
        ids = list(await session.scalars(select(ChannelIdentity.id).order_by(ChannelIdentity.id)))
        params = [
            {
                "_id": identity_id,
                "address": f"3161{identity_id:07d}",
                "last": now - dt.timedelta(hours=1 if rng.random() < in_window else 48),
            }
            for identity_id in ids
        ]
        table = ChannelIdentity.__table__
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values(
                channel=Channel.WHATSAPP,
                address=bindparam("address"),
                last_inbound_at=bindparam("last"),
            ),
            params,
        )


def templates() -> Templates:
    return Templates.parse(
        {"announcement": {"name": TEMPLATE, "languages": sorted(TEXTS), "fallback": "nl"}}
    )


async def run_db(kind: str, args: argparse.Namespace, workdir: Path) -> None:
    engine = await fresh_engine(kind, args.postgres_url, workdir)
    sessions = make_sessionmaker(engine)
    try:
        start = time.perf_counter()
        org_id = await seed(sessions, args.recipients)
        await to_whatsapp(sessions, args.in_window)
        print(
            f"{kind}: seeded {args.recipients} WhatsApp recipients in {len(TEXTS)} languages "
            f"({args.in_window:.0%} wrote in the last 24 h) in {time.perf_counter() - start:.2f} s"
        )
        if kind == "postgresql":
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))

        seconds, added = await fan_out(sessions, org_id)
        print(f"{kind}: (a) fan-out of {added} rows: {seconds:.2f} s")

        fake = FakeServer(fail_rate=0.0)
        sender = WhatsAppSender(
            PHONE,
            TOKEN,
            fake.base,
            templates=templates(),
            rate=0,
            chat_interval=0,
            daily_new_conversations=10**9,
            sessions=sessions,
            timeout=30,
        )
        delivery = DeliveryEngine(sessions, [sender], batch_size=args.batch)
        start = time.perf_counter()
        while await delivery.tick(1.0):
            pass
        elapsed = time.perf_counter() - start
        sent = await sent_rows(sessions)
        await sender.close()
        stats = fake.stop()
        print(
            f"{kind}: (b) limit off: {sent} sent in {elapsed:.2f} s = {sent / elapsed:.0f} msg/s "
            f"(forms {dict(sender.forms)}, {stats['violations']} contract violations)"
        )

        seconds, added = await fan_out(sessions, org_id)
        fake = FakeServer(fail_rate=args.fail_rate)
        sender = WhatsAppSender(
            PHONE,
            TOKEN,
            fake.base,
            templates=templates(),
            rate=args.rate,
            burst=args.burst,
            chat_interval=6.0,
            daily_new_conversations=10**9,
            sessions=sessions,
        )
        delivery = DeliveryEngine(sessions, [sender], batch_size=args.batch)
        before = await sent_rows(sessions)
        start = time.perf_counter()
        end = start + args.duration
        while time.perf_counter() < end:
            await delivery.tick(min(1.0, max(0.05, end - time.perf_counter())))
            if await sent_rows(sessions) - before >= added:
                break
        elapsed = time.perf_counter() - start
        sent = await sent_rows(sessions) - before
        await sender.close()
        stats = fake.stop()
        print(
            f"{kind}: (c) limit {args.rate:g}/s, {args.fail_rate:.0%} 130429s: {sent} accepted "
            f"in {elapsed:.1f} s = {sent / elapsed:.2f} msg/s ({stats['refused_130429']} "
            f"requests answered 130429; forms {stats['kinds']}; "
            f"{stats['violations']} contract violations)"
        )
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
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of phase (c)")
    parser.add_argument("--rate", type=float, default=80.0, help="limit of phase (c), msg/s")
    parser.add_argument("--burst", type=int, default=80, help="burst of phase (c)")
    parser.add_argument("--fail-rate", type=float, default=0.05, help="share of 130429 answers")
    parser.add_argument("--in-window", type=float, default=0.5, help="share inside 24 h")
    parser.add_argument("--batch", type=int, default=500, help="rows per claim")
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
