"""`gangmaker chat`: pick who you are, make sure there is something to talk about, then chat."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.db import make_engine, make_sessionmaker, transaction
from bot.migrate import upgrade
from bot.models import Organisation

# The console addresses of the fixed demo people (see bot/demo.py).
DEMO_ADDRESSES = {
    "gangmaker": "demo-gangmaker",
    "leader": "demo-leader",
    "payout": "demo-payout",
    "admin": "demo-admin",
}

CHOICES = [
    ("new", "a new resident (first contact)"),
    ("gangmaker", "Fatima, gangmaker in Delfshaven"),
    ("leader", "Sanne, project leader for Delfshaven and Charlois"),
    ("payout", "a payout point (buurthuis) in Delfshaven"),
    ("admin", "an administrator"),
]


def ask_who(input_fn: Callable[[str], str] = input) -> str:
    print("Who are you in this chat?")
    for number, (_, label) in enumerate(CHOICES, start=1):
        print(f"  {number}. {label}")
    while True:
        answer = input_fn("> ").strip().lower()
        if answer.isdigit() and 1 <= int(answer) <= len(CHOICES):
            return CHOICES[int(answer) - 1][0]
        for key, _ in CHOICES:
            if answer == key:
                return key
        print(f"Type a number from 1 to {len(CHOICES)}.")


async def ensure_ready(engine: AsyncEngine, settings: Settings) -> bool:
    """True when the organisation exists; on the embedded SQLite default, set it up first."""
    sessions = make_sessionmaker(engine)
    embedded = settings.database_url.startswith("sqlite")
    if embedded:
        await upgrade(engine)
    try:
        async with sessions() as session:
            org = await session.scalar(
                select(Organisation.id).where(Organisation.slug == settings.organisation)
            )
    except (OperationalError, ProgrammingError):
        org = None
    if org is not None:
        return True
    if not embedded:
        print(
            f"Organisation '{settings.organisation}' is not in the database. "
            "Run `gangmaker db upgrade` and `gangmaker demo` first."
        )
        return False
    from bot.demo import load_demo

    print("First start: filling the local database with demo data ...")
    async with transaction(sessions) as session:
        await load_demo(session)
    return True


async def chat_main(settings: Settings, *, who: str | None) -> int:
    from bot.channels.console import run_console_chat

    engine = make_engine(settings.database_url)
    try:
        if not await ensure_ready(engine, settings):
            return 1
        if who is None:
            who = await asyncio.to_thread(ask_who)
        address = DEMO_ADDRESSES.get(who) or f"new-{secrets.token_hex(4)}"
        print("Type a message, or the number of an option. /quit ends the chat.\n")
        await run_console_chat(
            make_sessionmaker(engine),
            settings.organisation,
            address,
            input_fn=input,
            output_fn=print,
        )
    finally:
        await engine.dispose()
    return 0
