"""Seed a fresh database at the design ceiling and time the round overview.

    .venv/bin/python bench/bench_seed_overview.py [--db sqlite|postgresql|both]
        [--streets 5000 --people 20000 --requests 5000] [--runs 20] [--spread]

SQLite uses a new file in a temporary directory. PostgreSQL uses ``--postgres-url`` (default
``TEST_POSTGRES_URL``) and DROPS AND RECREATES ITS PUBLIC SCHEMA: never point it at a database
you want to keep, nor at one a test run is using.

By default every request is in one round (the design ceiling: 5,000 requests in one round);
``--spread`` spreads them over the rounds opened so far, as ``seed_scale`` does by default.
Prints figures; asserts nothing (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import make_engine, make_sessionmaker
from bot.demo import seed_scale
from bot.migrate import upgrade
from bot.models import Area, BudgetRequest, Round, utcnow
from bot.services.overview import liefleed_spending, round_overview


async def _fresh_engine(kind: str, url: str | None, workdir: Path) -> AsyncEngine:
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


async def _timed(
    sessions: async_sessionmaker[AsyncSession],
    call: Callable[[AsyncSession], Awaitable[object]],
    runs: int,
) -> tuple[float, list[float]]:
    """The first call (cold) and ``runs`` more, each in its own session like a web request."""
    times: list[float] = []
    for _ in range(runs + 1):
        async with sessions() as session:
            start = time.perf_counter()
            await call(session)
            times.append(time.perf_counter() - start)
    return times[0], times[1:]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def bench(kind: str, args: argparse.Namespace, url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="gangmaker-bench-") as workdir:
        engine = await _fresh_engine(kind, url, Path(workdir))
        sessions = make_sessionmaker(engine)
        now = utcnow()
        start = time.perf_counter()
        async with sessions() as session, session.begin():
            seeded = await seed_scale(
                session,
                streets=args.streets,
                people=args.people,
                requests=args.requests,
                now=now,
                one_round=not args.spread,
            )
        seed_seconds = time.perf_counter() - start
        if kind == "postgresql":
            # Autovacuum analyses a freshly loaded table soon after; do it now for stable plans.
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))

        async with sessions() as session:
            per_round = dict(
                (
                    await session.execute(
                        select(BudgetRequest.round_id, func.count(BudgetRequest.id)).group_by(
                            BudgetRequest.round_id
                        )
                    )
                ).all()
            )
            round_id = max(per_round, key=lambda r: per_round[r])
            round_ = await session.get(Round, round_id)
            assert round_ is not None
            two_areas = set(
                (
                    await session.scalars(
                        select(Area.id)
                        .where(Area.organisation_id == seeded.organisation_id)
                        .order_by(Area.id)
                        .limit(2)
                    )
                ).all()
            )
        c = seeded.counts
        print(
            f"{kind}: seeded {c['streets']} streets, {c['people']} people, {c['requests']} "
            f"requests ({per_round[round_id]} in round '{round_.names['nl']}'), "
            f"{c['attentions']} Lief & Leed attentions "
            f"({sum(c.values())} rows) in {seed_seconds:.2f} s"
        )

        cases: list[tuple[str, Callable[[AsyncSession], Awaitable[object]]]] = [
            (
                "round overview, all areas",
                lambda s: round_overview(s, round_id=round_id),
            ),
            (
                "round overview, 2 areas",
                lambda s: round_overview(s, round_id=round_id, area_ids=two_areas),
            ),
            (
                "Lief & Leed spending",
                lambda s: liefleed_spending(
                    s, organisation_id=seeded.organisation_id, year=round_.year
                ),
            ),
        ]
        for label, call in cases:
            first, rest = await _timed(sessions, call, args.runs)
            print(
                f"{kind}: {label}: first {_ms(first)}, then median {_ms(statistics.median(rest))}"
                f", max {_ms(max(rest))} ({len(rest)} runs)"
            )
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--streets", type=int, default=5000)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--spread", action="store_true", help="spread requests over the rounds")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", ""))
    args = parser.parse_args()

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "postgresql" and not args.postgres_url:
            print("postgresql: skipped (set TEST_POSTGRES_URL or --postgres-url)")
            continue
        asyncio.run(bench(kind, args, args.postgres_url or None))


if __name__ == "__main__":
    main()
