"""Time the leaders' dashboard pages over HTTP at the design ceiling.

    .venv/bin/python bench/bench_dashboard.py [--db sqlite|postgresql|both]
        [--streets 5000 --people 20000 --requests 5000] [--runs 5]

Seeds a fresh database like ``bench_seed_overview.py`` (all requests in one round; PostgreSQL
uses ``--postgres-url``, default ``TEST_POSTGRES_URL``, and DROPS AND RECREATES ITS PUBLIC
SCHEMA), signs in an admin and a leader of one area through the real sign-in form, and times
full page requests (server, template and transfer over loopback) with aiohttp's test client.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_seed_overview import _fresh_engine
from bot.db import make_sessionmaker
from bot.demo import seed_scale
from bot.models import Area, BudgetRequest, Organisation, utcnow
from bot.services import web_accounts
from bot.web.app import build_app

PASSWORD = "bench password 123"


async def _sign_in(client: TestClient, username: str) -> None:
    page = await (await client.get("/dashboard/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)[1]  # type: ignore[index]
    response = await client.post(
        "/dashboard/login",
        data={"csrf": token, "username": username, "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.status == 303, response.status


async def _time(client: TestClient, path: str, runs: int) -> tuple[float, float, int, int]:
    times, size, status = [], 0, 0
    for _ in range(runs + 1):
        start = time.perf_counter()
        response = await client.get(path)
        body = await response.read()
        times.append(time.perf_counter() - start)
        size, status = len(body), response.status
    return times[0], statistics.median(times[1:]), size, status


async def bench(kind: str, args: argparse.Namespace, url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="gangmaker-bench-") as workdir:
        engine = await _fresh_engine(kind, url, Path(workdir))
        sessions = make_sessionmaker(engine)
        async with sessions() as session, session.begin():
            seeded = await seed_scale(
                session,
                streets=args.streets,
                people=args.people,
                requests=args.requests,
                now=utcnow(),
                one_round=True,
            )
            org = await session.get(Organisation, seeded.organisation_id)
            assert org is not None
            area = await session.scalar(
                select(Area).where(Area.organisation_id == org.id).order_by(Area.id).limit(1)
            )
            assert area is not None
            round_id, count = (
                await session.execute(
                    select(BudgetRequest.round_id, func.count(BudgetRequest.id))
                    .group_by(BudgetRequest.round_id)
                    .order_by(func.count(BudgetRequest.id).desc())
                    .limit(1)
                )
            ).one()
            for username, grant in (
                ("bench-admin", web_accounts.Grant("admin")),
                ("bench-leader", web_accounts.Grant("leader", area.name)),
            ):
                await web_accounts.create_account(
                    session, organisation=org, username=username, password=PASSWORD,
                    grants=[grant],
                )  # fmt: skip
        print(f"{kind}: {args.requests} requests ({count} in the round), {args.streets} streets")
        app = build_app(engine, dashboard=("b" * 40, False))
        pages = [
            ("review queue, to review", "/dashboard/review"),
            ("review queue, every status, page 3", f"/dashboard/review?status=all&page=3&round={round_id}"),  # noqa: E501
            ("round overview with 3 charts", f"/dashboard/overview/{round_id}"),
            ("streets (sign-ups to review)", "/dashboard/streets"),
            ("streets search", "/dashboard/streets?q=straat"),
            ("recipient count, everyone", "/dashboard/announcements/count.json"),
            ("export requests XLSX", f"/dashboard/exports/requests.xlsx?round={round_id}"),
            ("export requests CSV", f"/dashboard/exports/requests.csv?round={round_id}"),
            ("audit log", "/dashboard/audit"),
        ]  # fmt: skip
        for username in ("bench-admin", "bench-leader"):
            async with TestClient(TestServer(app)) as client:
                await _sign_in(client, username)
                for label, path in pages:
                    first, median, size, status = await _time(client, path, args.runs)
                    print(
                        f"{kind}: {username}: {label}: first {first * 1000:.0f} ms, then median "
                        f"{median * 1000:.0f} ms ({args.runs} runs), {size / 1024:.0f} KiB, "
                        f"HTTP {status}"
                    )
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument("--streets", type=int, default=5000)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "postgresql" and not args.postgres_url:
            print("postgresql: skipped (no --postgres-url or TEST_POSTGRES_URL)")
            continue
        asyncio.run(bench(kind, args, args.postgres_url))


if __name__ == "__main__":
    main()
