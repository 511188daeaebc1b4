"""Hostile and odd input at every dialog step (property-based, hypothesis).

How: an explorer walks every dialog in ``handlers/`` through the real runtime (``ChatHarness``)
for each role (new person, gangmaker, leader, payout point, admin, resident): it presses every
option and types a few plausible answers, and remembers the way (the messages from the menu) to
every (dialog, step) it reaches. Then, at every step reached, hypothesis sends random text there:
emoji, right-to-left text, zero-width and control characters, NUL, lone surrogates, 10,000
characters. Each message must get a friendly reply (no apology for a bug, nothing logged as an
error), the chat must stay at a real step and still reach the menu, and the database must hold
its invariants (no control or invisible characters stored, no dangling conversation state).

Runs on SQLite and PostgreSQL. The test is synchronous with its own event loop, so hypothesis
drives it example by example (``loop.run_until_complete``) while the database stays one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.loader import load_registry
from bot.db import make_engine, make_sessionmaker, transaction
from bot.i18n import shipped_languages, translator
from bot.models import (
    Area,
    Base,
    BudgetRequest,
    ChannelIdentity,
    ConversationState,
    Organisation,
    Person,
    StreetMembership,
    StreetStatus,
)
from bot.services import budget
from tests import factories
from tests.chat import ChatHarness, make_world
from tests.conftest import _reset_postgres
from tests.factories import NOW

# --- hostile text --------------------------------------------------------------------------

# fmt: off
PIECES = [
    "😀", "👍🏽", "👨‍👩‍👧", "🇳🇱", "❤️", "1️⃣", "🛑",                       # emoji, ZWJ, flags
    "مرحبا بك", "שלום", "\u202e", "\u202b", "\u200f", "\u2066",            # right-to-left
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",            # zero-width
    "\x00", "\x07", "\x1b[31m", "\x7f", "\r", "\r\n", "\t", "\x85", "\u2028",  # control
    "\ud800", "\udfff",                                                    # lone surrogates
    "0", "1", "3", "12", "99", "-1", "1e9", "€", ",", ".", "/", "?", " ", "\n",
    "menu", "ja", "nee", "annuleer", "help", "'; DROP TABLE people;--", "{name}", "%s", "<b>",
    "ﬀ", "İ", "ß", "１２", "١٢", "Ⅻ", "\u0301", "Z̴̢͓a̸l̷g̵o",
]
# fmt: on


def _long(chunk: str) -> str:
    return (chunk or "x") * (10_000 // max(1, len(chunk or "x")) + 1)


HOSTILE = st.one_of(
    st.lists(st.sampled_from(PIECES) | st.text(max_size=8), min_size=1, max_size=8).map("".join),
    st.text(alphabet=st.characters(), min_size=1, max_size=60),  # any code point but surrogates
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Cs", "Zs", "Mn"]), max_size=12),
    st.sampled_from(PIECES).map(_long),  # 10,000+ characters
)

# --- the world ---------------------------------------------------------------------------------


async def rich_world(sessions: async_sessionmaker[AsyncSession]) -> None:
    """make_world plus an open round, a second active street with its own gangmaker ("gm2")
    whose request waits for the leader, and a pending street waiting for approval."""
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        area = await s.get(Area, world.area_id)
        round_ = await factories.round_(s, org)
        gm2 = await factories.person(s, org, "Bram", address="gm2")
        second = await factories.street(s, org, area, "Schiedamseweg", gangmakers=(gm2,))
        await factories.person(s, org, "Lotte", address="gm3")
        pending = await factories.street(
            s, org, area, "Mathenesserweg", status=StreetStatus.PENDING
        )
        lotte = await s.scalar(
            select(Person).join(ChannelIdentity).where(ChannelIdentity.address == "gm3")
        )
        s.add(StreetMembership(street_id=pending.id, person_id=lotte.id, is_gangmaker=True))
        await budget.submit_request(
            s,
            actor=gm2,
            street_id=second.id,
            round_id=round_.id,
            activity="Buurtbarbecue",
            activity_date=dt.date(2026, 6, 20),
            expected_participants=30,
            amount_cents=12000,
            plan="Barbecue op het pleintje.",
            now=NOW,
        )


# --- the explorer ------------------------------------------------------------------------------

# Plausible answers that move text steps on (amounts, counts, dates, names, notes, codes).
TYPED = ["75", "40", "12", "morgen", "Straatfeest", "Boomstraat", "Delfshaven", "12a", "prima"]
Action = tuple[str, str]  # ("press", value) | ("send", text) | ("photo", "")
Key = tuple[str, str]  # (dialog, step)
# Steps whose "yes" would end the test person (forget me) or stop the world.
DESTRUCTIVE = {("settings", "delete")}
REGISTRY = load_registry()


@dataclass
class Walk:
    address: str
    paths: dict[Key, list[Action]] = field(default_factory=dict)


async def _act(chat: ChatHarness, action: Action) -> None:
    kind, arg = action
    if kind == "press":
        await chat.press(arg)
    elif kind == "photo":
        await chat.send_photo("photo-x")
    else:
        await chat.send(arg)


async def _where(chat: ChatHarness) -> Key | None:
    state = await chat.state()
    if state is None or state.dialog is None or state.step is None:
        return None
    return (state.dialog, state.step)


_fresh = iter(range(1, 1_000_000))


async def _go(chat: ChatHarness, path: list[Action]) -> Key | None:
    if chat.address.startswith("new-"):
        # Before consent only the start dialog runs: a new person each time.
        chat.address = f"new-{next(_fresh)}"
        await chat.send("hoi")
    else:
        await chat.send("menu")
    for action in path:
        await _act(chat, action)
    return await _where(chat)


def explore(
    chat: ChatHarness,
    run: Callable[[Awaitable[Any]], Any],
    budget_turns: int,
    on_arrival: Callable[[Key, list[Action]], None],
) -> Walk:
    """Depth first over (dialog, step): every option and a few typed answers at each step.
    ``on_arrival(key, path)`` runs at each step the first time it is reached (there and then,
    before the walk goes on and changes the world, e.g. sends the request)."""
    walk = Walk(chat.address)
    turns = 0

    def visit(key: Key, path: list[Action]) -> None:
        nonlocal turns
        walk.paths[key] = path
        on_arrival(key, path)
        if run(_where(chat)) != key and run(_go(chat, path)) != key:
            return
        state = run(chat.state())
        assert state is not None
        actions: list[Action] = [("press", value) for _, value in state.options or []]
        step = REGISTRY.get(key[0]).steps[key[1]]
        if "text" in step.accepts:
            actions += [("send", typed) for typed in TYPED]
        if "photo" in step.accepts:
            actions.append(("photo", ""))
        for action in actions:
            if turns > budget_turns:
                return
            if key in DESTRUCTIVE and action == ("press", "yes"):
                continue
            if run(_where(chat)) != key:
                turns += len(path) + 1
                if run(_go(chat, path)) != key:
                    return  # the way here changed (the world moved on): stop here
            run(_act(chat, action))
            turns += 1
            arrived = run(_where(chat))
            if arrived is not None and arrived not in walk.paths and arrived[0] != "menu":
                visit(arrived, [*path, action])

    here = run(_go(chat, []))
    if here is not None:
        visit(here, [])
    # The menu itself: every entry.
    run(chat.send("menu"))
    state = run(chat.state())
    assert state is not None
    walk.paths.setdefault(("menu", "choose"), [])
    for _, value in list(state.options or []):
        if run(_where(chat)) != ("menu", "choose"):
            run(chat.send("menu"))
        run(chat.press(value))
        arrived = run(_where(chat))
        if arrived is not None and arrived not in walk.paths:
            visit(arrived, [("press", value)])
    return walk


# --- checks ------------------------------------------------------------------------------------


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _apologies() -> set[str]:
    texts = set()
    for language in shipped_languages():
        t = translator(language)
        texts.add(t._("Sorry, something went wrong on our side. We go back to the menu."))
        texts.add(t._("Sorry, something went wrong on our side. Please try again later."))
    return texts


def _bad_char(ch: str) -> bool:
    return ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch != "\u200d"


async def check_invariants(sessions: async_sessionmaker[AsyncSession]) -> None:
    """No stored text holds control, invisible or surrogate characters; every conversation is
    at a real step of a registered dialog; every state belongs to an identity."""
    registry = REGISTRY
    async with sessions() as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if not columns:
                continue
            for row in (await s.execute(select(*columns))).all():
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str):
                        assert not any(map(_bad_char, value)), (table.name, column.name, value)
        for state in await s.scalars(select(ConversationState)):
            if state.dialog is not None:
                assert state.dialog in registry, state.dialog
                assert state.step in registry.get(state.dialog).steps, (state.dialog, state.step)
            assert await s.get(ChannelIdentity, state.identity_id) is not None
        for request in await s.scalars(select(BudgetRequest)):
            assert 0 < request.amount_cents <= 25000


ROLES = ["new-0", "gm", "gm2", "gm3", "leader", "payout", "admin", "resident"]


def run_fuzz(
    db_url: str, *, examples_per_step: int, explore_turns: int
) -> tuple[dict[str, list[Key]], dict[Key, int]]:
    loop = asyncio.new_event_loop()
    errors = _Errors()
    logging.getLogger("bot").addHandler(errors)
    apologies = _apologies()
    reached: dict[str, list[Key]] = {}
    fuzzed: dict[Key, int] = {}
    run: Callable[[Awaitable[object]], object] = loop.run_until_complete
    engine = make_engine(db_url)
    try:
        if db_url.startswith("postgresql"):
            run(_reset_postgres(engine))
        sessions = make_sessionmaker(engine)
        run(rich_world(sessions))
        for address in ROLES:
            chat = ChatHarness(sessions, address=address)

            def fuzz_here(key: Key, path: list[Action], chat: ChatHarness = chat) -> None:
                def one_example(texts: list[str]) -> None:
                    for text in texts:
                        if run(_where(chat)) != key and run(_go(chat, path)) != key:
                            return  # the way here is gone (e.g. the request was sent)
                        errors.records.clear()  # judge this message alone
                        replies = run(chat.send(text))
                        fuzzed[key] = fuzzed.get(key, 0) + 1
                        assert isinstance(replies, list) and replies, (text, chat.dump())
                        assert all(r.text.strip() for r in replies), (text, chat.dump())
                        assert not apologies & {r.text for r in replies}, (text, chat.dump())
                        assert errors.records == [], (text, chat.dump()[-3000:])
                        run(_valid_state(chat))

                _property(one_example, examples_per_step)()
                # Whatever happened, the menu is one word away.
                run(chat.send("menu"))
                assert chat.options, chat.dump()[-2000:]
                run(check_invariants(sessions))

            walk = explore(chat, run, explore_turns, fuzz_here)
            reached[address] = sorted(walk.paths)
            assert errors.records == [], chat.dump()
        return reached, fuzzed
    finally:
        logging.getLogger("bot").removeHandler(errors)
        run(engine.dispose())
        loop.close()


def _property(check: Callable[[list[str]], None], examples: int) -> Callable[[], None]:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(texts=st.lists(HOSTILE, min_size=1, max_size=3))
    def fuzz(texts: list[str]) -> None:
        check(texts)

    return fuzz


async def _valid_state(chat: ChatHarness) -> None:
    where = await _where(chat)
    if where is not None:
        assert where[0] in REGISTRY and where[1] in REGISTRY.get(where[0]).steps, where


# Steps every run must reach: the walk is only as good as its coverage.
MUST_REACH = {
    ("budget", "activity"),
    ("budget", "amount"),
    ("budget", "choose"),
    ("budget", "confirm"),
    ("budget", "date"),
    ("budget", "participants"),
    ("budget", "plan"),
    ("liefleed", "confirm"),
    ("liefleed", "cost"),
    ("liefleed", "cost_typed"),
    ("liefleed", "date"),
    ("liefleed", "extra"),
    ("liefleed", "home"),
    ("liefleed", "house"),
    ("liefleed", "kind"),
    ("liefleed", "note"),
    ("liefleed", "occasion"),
    ("menu", "choose"),
    ("overview", "show"),
    ("pending_streets", "confirm"),
    ("pending_streets", "list"),
    ("pending_streets", "street"),
    ("redeem", "code"),
    ("review", "confirm"),
    ("review", "queue"),
    ("review", "request"),
    ("settings", "choose"),
    ("settings", "delete"),
    ("settings", "language"),
    ("settings", "mydata"),
    ("settings", "quiet"),
    ("settings", "reminders"),
    ("settings", "time"),
    ("signup", "change"),
    ("signup", "confirm"),
    ("signup", "households"),
    ("signup", "join"),
    ("signup", "liefleed"),
    ("signup", "name"),
    ("signup", "section"),
    ("start", "consent"),
    ("start", "language"),
    ("streets", "code"),
    ("streets", "list"),
    ("streets", "street"),
}


def test_every_dialog_step_survives_hostile_text(db_url: str) -> None:
    reached, fuzzed = run_fuzz(db_url, examples_per_step=2, explore_turns=400)
    everywhere = {key for keys in reached.values() for key in keys}
    missing = MUST_REACH - everywhere
    assert not missing, f"the walk did not reach {sorted(missing)}; reached {sorted(everywhere)}"
    # Hostile text really arrived at every step (not just the way there).
    unfuzzed = {key for key in MUST_REACH if fuzzed.get(key, 0) < 2}
    assert not unfuzzed, f"too little hostile text at {sorted(unfuzzed)}: {fuzzed}"
    print(f"fuzzed {len(everywhere)} dialog steps: {sorted(everywhere)}")
