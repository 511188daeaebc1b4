"""Scripted conversations through the real runtime on SQLite: time per turn.

    .venv/bin/python bench/bench_conversations.py [--conversations 1000] [--concurrency 1]

Each conversation is a new resident on the terminal channel: first contact (language,
consent), the menu, help, a language switch, STOP and back, and signing up a street. Every
turn is one ``Runtime.handle`` call, timed from the call to the replies (database transaction
included). A migrated SQLite file with the demo
organisation is made in a temporary directory. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

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


def pick(replies: list[Reply], label: str) -> str | None:
    options = [o for reply in replies for o in reply.options]
    for option in options:
        if option.label.lower().startswith(label.lower()):
            return option.value
    return options[0].value if options else None


async def converse(runtime: Runtime, number: int, timings: list[float]) -> None:
    address = f"bench-{number}"
    replies: list[Reply] = []
    for step in (line.format(number=number) for line in SCRIPT):
        if step.startswith("#"):
            value = pick(replies, step[1:])
            incoming = (
                Chosen(channel=Channel.CONSOLE, address=address, value=value)
                if value
                else Text(channel=Channel.CONSOLE, address=address, text=step[1:])
            )
        else:
            incoming = Text(channel=Channel.CONSOLE, address=address, text=step)
        started = time.perf_counter()
        replies = await runtime.handle(incoming)
        timings.append(time.perf_counter() - started)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main(conversations: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}")
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as session:
            await load_demo(session)
        runtime = Runtime(sessions, "rotterdam")
        timings: list[float] = []
        queue: asyncio.Queue[int] = asyncio.Queue()
        for number in range(conversations):
            queue.put_nowait(number)

        async def worker() -> None:
            while not queue.empty():
                number = queue.get_nowait()
                await converse(runtime, number, timings)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await engine.dispose()
    ms = [t * 1000 for t in timings]
    print(
        f"sqlite: {conversations} conversations, {len(ms)} turns, concurrency {concurrency}: "
        f"p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms per turn; "
        f"{len(ms) / elapsed:.0f} turns/s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.conversations, args.concurrency))
