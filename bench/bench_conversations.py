"""Scripted conversations through the real runtime: time and SQL statements per turn.

    .venv/bin/python bench/bench_conversations.py [--conversations 1000] [--concurrency 1]
        [--db sqlite|postgresql] [--postgres-url URL] [--steps] [--show-sql]

Each conversation is a new resident on the terminal channel: first contact (language,
consent), the menu, help, a language switch, STOP and back, and signing up a street. Every
turn is one ``Runtime.handle`` call, timed from the call to the replies (database transaction
included). SQLite: a migrated file with the demo organisation in a temporary directory.
PostgreSQL (``--db postgresql``, URL from ``--postgres-url`` or ``TEST_POSTGRES_URL``): the
``public`` schema of that database is dropped and recreated first, so give it a database of
its own.

``--concurrency N`` runs N conversations at the same time on the one runtime (as many chats
writing at once would); each turn still waits for its own transaction. Every statement the
driver executes (SAVEPOINT, BEGIN and COMMIT included) is counted for the turn that caused it
(a ``before_cursor_execute`` listener and a context variable per turn). CPU time is the
process's (all its threads) divided by the turns: less sensitive to a busy machine than the
clock. On SQLite the statements that reach the database are counted too (the driver,
``bot/sqlite_driver.py``, skips savepoints that no write needed). ``--steps`` adds a
line per script step (median and p95 time, statements); ``--show-sql`` prints the statements
of the first conversation. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import sqlite_driver
from bot.conversation import Chosen, Reply, Runtime, Text
from bot.db import make_engine, make_sessionmaker, transaction
from bot.demo import load_demo
from bot.migrate import upgrade
from bot.models import Channel

# What a resident types, turn by turn. "#label" picks the option whose label starts with it
# (falling back to the first option), like tapping a button; anything else is typed text.
SCRIPT = [
    "hallo",
    "#Nederlands",
    "ja",
    "menu",
    "help",
    "menu",
    "taal",
    "#English",
    "menu",
    "language",
    "#Nederlands",
    "afmelden",
    "aanmelden",
    "menu",
    "#Straat aanmelden",
    "Benchstraat {number}",  # the number is read as the house-number part
    "#Delfshaven",
    "ongeveer 40",
    "ja",
    "#Ja",
    "menu",
    "#Mijn straat",
]

# The statements of the turn running in this task (None: not inside a timed turn).
_turn_sql: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "turn_sql", default=None
)
# The statements of that turn that reached SQLite (sqlite_driver.executed).
_turn_reached: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "turn_reached", default=None
)


def count_statements(engine: AsyncEngine) -> None:
    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements = _turn_sql.get()
        if statements is not None:
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)

    def reached(statement: str) -> None:
        statements = _turn_reached.get()
        if statements is not None:
            statements.append(statement)

    sqlite_driver.executed = reached


def pick(replies: list[Reply], label: str) -> str | None:
    options = [o for reply in replies for o in reply.options]
    for option in options:
        if option.label.lower().startswith(label.lower()):
            return option.value
    return options[0].value if options else None


class Figures:
    def __init__(self) -> None:
        self.ms: list[float] = []
        self.statements: list[int] = []
        self.reached: list[int] = []
        self.kinds: Counter[str] = Counter()
        self.by_step: dict[int, tuple[list[float], list[int], list[int]]] = {
            i: ([], [], []) for i in range(len(SCRIPT))
        }
        self.shown: list[tuple[str, list[str]]] = []


async def converse(runtime: Runtime, number: int, figures: Figures, show_sql: bool) -> None:
    address = f"bench-{number}"
    replies: list[Reply] = []
    for index, step in enumerate(line.format(number=number) for line in SCRIPT):
        if step.startswith("#"):
            value = pick(replies, step[1:])
            incoming = (
                Chosen(channel=Channel.CONSOLE, address=address, value=value)
                if value
                else Text(channel=Channel.CONSOLE, address=address, text=step[1:])
            )
        else:
            incoming = Text(channel=Channel.CONSOLE, address=address, text=step)
        statements: list[str] = []
        reached: list[str] = []
        token, token_reached = _turn_sql.set(statements), _turn_reached.set(reached)
        started = time.perf_counter()
        replies = await runtime.handle(incoming)
        ms = (time.perf_counter() - started) * 1000
        _turn_sql.reset(token)
        _turn_reached.reset(token_reached)
        figures.reached.append(len(reached))
        figures.by_step[index][2].append(len(reached))
        figures.ms.append(ms)
        figures.statements.append(len(statements))
        figures.kinds.update(s.split(None, 1)[0].upper() for s in statements if s.strip())
        figures.by_step[index][0].append(ms)
        figures.by_step[index][1].append(len(statements))
        if show_sql and number == 0:
            figures.shown.append((step, statements))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def fresh_engine(kind: str, workdir: str, postgres_url: str) -> AsyncEngine:
    if kind == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}")
    else:
        engine = make_engine(postgres_url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    return engine


async def main(args: argparse.Namespace) -> None:
    figures = Figures()
    with tempfile.TemporaryDirectory() as workdir:
        engine = await fresh_engine(args.db, workdir, args.postgres_url)
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as session:
            await load_demo(session)
        count_statements(engine)
        runtime = Runtime(sessions, "rotterdam")
        queue: asyncio.Queue[int] = asyncio.Queue()
        for number in range(args.conversations):
            queue.put_nowait(number)

        async def worker() -> None:
            while not queue.empty():
                number = queue.get_nowait()
                await converse(runtime, number, figures, args.show_sql)

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        await engine.dispose()

    for step, statements in figures.shown:
        print(f"--- {step!r}: {len(statements)} statements")
        for statement in statements:
            print("   ", " ".join(statement.split())[:160])
    if args.steps:
        for index, line in enumerate(SCRIPT):
            ms, counts, reached = figures.by_step[index]
            print(
                f"  step {index + 1:2d} {line[:22]!r:25} p50 {statistics.median(ms):6.1f} ms, "
                f"p95 {percentile(ms, 0.95):6.1f} ms, {statistics.mean(counts):4.1f} statements"
                + (
                    f" ({statistics.mean(reached):4.1f} reach SQLite)"
                    if args.db == "sqlite"
                    else ""
                )
            )
    ms = figures.ms
    per_turn = statistics.mean(figures.statements)
    kinds = ", ".join(
        f"{kind} {count / len(ms):.1f}" for kind, count in figures.kinds.most_common()
    )
    print(
        f"{args.db}: {args.conversations} conversations, {len(ms)} turns, concurrency "
        f"{args.concurrency}: p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 0.95):.1f} "
        f"ms, p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms per turn; "
        f"{len(ms) / elapsed:.0f} turns/s ({elapsed:.1f} s, CPU {cpu * 1000 / len(ms):.1f} ms "
        f"per turn); "
        f"{per_turn:.1f} SQL statements per turn (max {max(figures.statements)}): {kinds}"
        + (
            f"; {statistics.mean(figures.reached):.1f} per turn reach SQLite "
            f"(max {max(figures.reached)})"
            if args.db == "sqlite"
            else ""
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", ""))
    parser.add_argument("--steps", action="store_true", help="a line per script step")
    parser.add_argument("--show-sql", action="store_true", help="statements of conversation 0")
    args = parser.parse_args()
    if args.db == "postgresql" and not args.postgres_url:
        parser.error("--db postgresql needs --postgres-url or TEST_POSTGRES_URL")
    asyncio.run(main(args))
