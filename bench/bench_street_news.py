"""Street news and the neighbour invite: how long the card takes, and one news message to a
street's subscribers (rendered per language, one outbox row each).

    .venv/bin/python bench/bench_street_news.py [--subscribers 200 1000] [--runs 10]

SQLite in a temporary file (migrated with ``bot.migrate.upgrade``); prints figures, asserts
nothing. The send is timed as the dialog runs it: one transaction with ``send_news``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import SHIPPED_LANGUAGES
from bot.db import make_engine, make_sessionmaker, transaction
from bot.migrate import upgrade
from bot.models import (
    Area,
    Channel,
    ChannelIdentity,
    Organisation,
    Person,
    Street,
    StreetMembership,
    StreetStatus,
    StreetSubscription,
)
from bot.services import invite_card, street_news

NOW = dt.datetime(2026, 5, 12, 10, 0, tzinfo=dt.UTC)
LINK = "https://t.me/gangmaker_bot?start=n-ABCD2345"


def time_card(runs: int) -> None:
    png, pdf = [], []
    for _ in range(runs):
        start = time.perf_counter()
        invite_card.qr_png(LINK)
        png.append(time.perf_counter() - start)
        start = time.perf_counter()
        data = invite_card.card_pdf(link=LINK, street="Zaagmolenstraat 1-47")
        pdf.append(time.perf_counter() - start)
    print(
        f"QR code PNG: median {statistics.median(png) * 1000:.1f} ms; "
        f"A5 card PDF: median {statistics.median(pdf) * 1000:.1f} ms, max "
        f"{max(pdf) * 1000:.1f} ms, {len(data) / 1024:.0f} KiB ({runs} runs)"
    )


async def time_send(subscribers: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as s:
            org = Organisation(slug="rotterdam", name="Rotterdam")
            s.add(org)
            await s.flush()
            area = Area(organisation_id=org.id, name="Delfshaven")
            s.add(area)
            await s.flush()
            street = Street(
                organisation_id=org.id,
                area_id=area.id,
                name="Zaagmolenstraat",
                name_key="zaagmolenstraat",
                status=StreetStatus.ACTIVE,
                invite_code="ABC234",
            )
            gm = Person(organisation_id=org.id, first_name="Fatima", consent_at=NOW)
            s.add_all([street, gm])
            await s.flush()
            s.add(StreetMembership(street_id=street.id, person_id=gm.id))
            for n in range(subscribers):
                person = Person(
                    organisation_id=org.id,
                    language=SHIPPED_LANGUAGES[n % len(SHIPPED_LANGUAGES)],
                    consent_at=NOW,
                )
                s.add(person)
                await s.flush()
                s.add(
                    ChannelIdentity(
                        person_id=person.id, channel=Channel.TELEGRAM, address=str(10_000 + n)
                    )
                )
                s.add(StreetSubscription(street_id=street.id, person_id=person.id))
            street_id, gm_id = street.id, gm.id
        start = time.perf_counter()
        async with transaction(sessions) as s:
            news = await street_news.send_news(
                s,
                actor=await s.get(Person, gm_id),
                street=await s.get(Street, street_id),
                template="party",
                slots={"date": "2026-05-16", "time": 900, "place": "bij nummer 12"},
                today=NOW.date(),
                now=NOW,
            )
        seconds = time.perf_counter() - start
        await engine.dispose()
    print(
        f"sqlite: street news to {news.recipients} subscribers in {len(SHIPPED_LANGUAGES)} "
        f"languages: {seconds * 1000:.0f} ms ({seconds / news.recipients * 1000:.2f} ms a row)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    time_card(args.runs)
    for count in args.subscribers:
        await time_send(count)


if __name__ == "__main__":
    asyncio.run(main())
