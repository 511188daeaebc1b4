"""The delivery engine against the local fake Telegram Bot API: claims, leases, limits, errors,
quiet hours, hand-over to the terminal chat, and live counts."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import make_engine as make_db_engine
from bot.db import make_sessionmaker, transaction
from bot.delivery import engine as engine_module
from bot.delivery.engine import DeliveryEngine
from bot.delivery.senders import (
    ChannelLimiter,
    ConsoleSender,
    TelegramHttpSender,
    TelegramSender,
)
from bot.models import (
    Announcement,
    AnnouncementStatus,
    Channel,
    ChannelIdentity,
    Delivery,
    DeliveryStatus,
    Organisation,
    Person,
)
from bot.services import announcements as ann
from bot.services import notify
from tests import factories as f
from tests.fakes import ApiSpec, FakeTelegram

pytestmark = pytest.mark.skipif(
    not ApiSpec.default_path().exists(), reason="Bot API specification not found"
)

TOKEN = "123:ABC"
DAY = dt.datetime(2026, 5, 12, 10, 0, tzinfo=dt.UTC)  # 12:00 in Amsterdam
NIGHT = dt.datetime(2026, 5, 12, 20, 30, tzinfo=dt.UTC)  # 22:30 in Amsterdam
MORNING = dt.datetime(2026, 5, 13, 7, 0, tzinfo=dt.UTC)  # 09:00 in Amsterdam
TEXTS = {"nl": "De ronde is open", "en": "The round is open"}


class Clock:
    """A wall clock the test moves (the engine's ``now``)."""

    def __init__(self, start: dt.datetime) -> None:
        self.value = start

    def __call__(self) -> dt.datetime:
        return self.value


class RunningClock(Clock):
    """A wall clock that starts at ``start`` and runs at real speed."""

    def __init__(self, start: dt.datetime) -> None:
        super().__init__(start)
        self.origin = time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.value + dt.timedelta(seconds=time.monotonic() - self.origin)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, strict_chats=False) as fake:
        yield fake


SENDERS = {"aiogram": TelegramSender, "http": TelegramHttpSender}


@pytest.fixture
async def telegram(tg: FakeTelegram) -> AsyncIterator[TelegramSender]:
    sender = TelegramSender(TOKEN, tg.api_base, rate=0, chat_interval=1.0)
    yield sender
    await sender.close()


@pytest.fixture(params=sorted(SENDERS))
def kind(request: pytest.FixtureRequest) -> str:
    """Both Telegram senders (TELEGRAM_SENDER=aiogram and =http) must behave the same."""
    return request.param


@pytest.fixture
async def any_telegram(tg: FakeTelegram, kind: str) -> AsyncIterator[TelegramSender]:
    sender = SENDERS[kind](TOKEN, tg.api_base, rate=0, chat_interval=1.0)
    yield sender
    await sender.close()


def make_engine(
    sessions: async_sessionmaker[AsyncSession], *senders, clock: Clock | None = None, **kw
) -> DeliveryEngine:
    return DeliveryEngine(sessions, senders, now=clock or Clock(DAY), **kw)


async def people(
    sessions: async_sessionmaker[AsyncSession],
    count: int,
    *,
    languages: tuple[str, ...] = ("nl", "en"),
    channel: Channel = Channel.TELEGRAM,
) -> tuple[int, list[Person]]:
    """An organisation with ``count`` consenting people on ``channel`` (chat ids 5000...)."""
    async with transaction(sessions) as session:
        org = await f.organisation(session)
        await f.area(session, org)
        made = []
        for n in range(count):
            made.append(
                await f.person(
                    session,
                    org,
                    f"P{n}",
                    language=languages[n % len(languages)],
                    channel=channel,
                    address=str(5000 + n) if channel is Channel.TELEGRAM else f"console-{n}",
                )
            )
        return org.id, made


async def announce_now(
    sessions: async_sessionmaker[AsyncSession], org_id: int, now: dt.datetime = DAY
) -> int:
    async with transaction(sessions) as session:
        item = await ann.announce(session, organisation_id=org_id, actor=None, texts=TEXTS, now=now)
        await ann.start_due_announcements(session, now=now)
        return item.id


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[Delivery]:
    async with sessions() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.id)))


def texts_by_chat(tg: FakeTelegram) -> dict[int, list[str]]:
    """What each chat received (refused calls left out)."""
    chats = {int(params["chat_id"]) for params in tg.calls_of("sendMessage")}
    sent = {chat: [m["text"] for m in tg.sent_messages(chat)] for chat in sorted(chats)}
    return {chat: texts for chat, texts in sent.items() if texts}


# --- the happy path -------------------------------------------------------------------------


async def test_an_announcement_reaches_everyone_once_in_their_language(
    sessions, tg, any_telegram
) -> None:
    org_id, _ = await people(sessions, 6)
    ann_id = await announce_now(sessions, org_id)
    engine = make_engine(sessions, any_telegram)
    assert await engine.run_until_idle() == 6
    sent = texts_by_chat(tg)
    assert sent == {
        5000 + n: ["De ronde is open" if n % 2 == 0 else "The round is open"] for n in range(6)
    }
    assert tg.violations == []
    final = await rows(sessions)
    assert {r.status for r in final} == {DeliveryStatus.SENT}
    assert all(r.provider_message_id and r.sent_at == DAY and r.attempts == 1 for r in final)
    assert all(r.lease_until is None for r in final)
    async with transaction(sessions) as session:
        assert await ann.finish_announcements(session, now=DAY) == 1
        item = await session.get(Announcement, ann_id)
        assert item.status is AnnouncementStatus.DONE
        counts = await ann.delivery_counts(session, announcement_id=ann_id, now=DAY)
        assert (counts.sent, counts.in_progress, counts.reasons) == (6, 0, {})
    # Nothing more to do: a second run sends nothing.
    assert await engine.run_until_idle() == 0
    assert len(tg.calls_of("sendMessage")) == 6


async def test_a_language_without_text_gets_dutch(sessions, tg, telegram) -> None:
    org_id, _ = await people(sessions, 2, languages=("tr",))
    await announce_now(sessions, org_id)
    await make_engine(sessions, telegram).run_until_idle()
    assert texts_by_chat(tg) == {5000: ["De ronde is open"], 5001: ["De ronde is open"]}


async def test_direct_messages_go_before_announcement_rows(sessions, tg, telegram) -> None:
    org_id, made = await people(sessions, 3)
    await announce_now(sessions, org_id)
    async with transaction(sessions) as session:
        person = await session.get(Person, made[2].id)
        await notify.notify(
            session, person=person, key="budget:1:decided", text="Goedgekeurd", now=DAY
        )
    engine = make_engine(sessions, telegram, batch_size=1)
    await engine.tick()
    first = tg.calls_of("sendMessage")[0]
    assert (first["chat_id"], first["text"]) == (5002, "Goedgekeurd")


# --- errors from the platform ---------------------------------------------------------------


async def test_blocked_recipients_are_skipped_and_become_unreachable(
    sessions, tg, any_telegram
) -> None:
    org_id, made = await people(sessions, 4)
    tg.set_blocked(5001)
    ann_id = await announce_now(sessions, org_id)
    await make_engine(sessions, any_telegram).run_until_idle()
    by_person = {r.person_id: r for r in await rows(sessions)}
    blocked = by_person[made[1].id]
    assert blocked.status is DeliveryStatus.SKIPPED
    assert blocked.last_error.startswith("blocked: Forbidden: bot was blocked by the user")
    async with transaction(sessions) as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.person_id == made[1].id)
        )
        assert identity.reachable is False
        counts = await ann.delivery_counts(session, announcement_id=ann_id, now=DAY)
        assert (counts.sent, counts.skipped, counts.reasons) == (3, 1, {"blocked": 1})
        # The next announcement leaves them out and says so.
        preview = await ann.preview_announcement(
            session, announcement=await session.get(Announcement, ann_id)
        )
        assert (preview.recipients, preview.unreachable) == (3, 1)


async def test_retry_after_pauses_the_channel_without_counting_an_attempt(
    sessions, tg, any_telegram
) -> None:
    org_id, _ = await people(sessions, 3)
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    engine = make_engine(sessions, any_telegram, clock=clock, concurrency=1)
    tg.fail_next("sendMessage", 429, retry_after=2)
    await engine.tick()
    requeued = [r for r in await rows(sessions) if r.status is DeliveryStatus.QUEUED]
    assert len(requeued) >= 1
    first = requeued[0]
    assert first.next_attempt_at == DAY + dt.timedelta(seconds=2)
    assert first.attempts == 0 and first.last_error == "retry_after: 2"
    assert engine.limiters[Channel.TELEGRAM].paused_until > engine.clock()
    # After the pause everything goes; each recipient once.
    clock.value = DAY + dt.timedelta(seconds=3)
    await asyncio.sleep(2.1)
    await engine.run_until_idle()
    assert {r.status for r in await rows(sessions)} == {DeliveryStatus.SENT}
    assert sorted(texts_by_chat(tg)) == [5000, 5001, 5002]
    assert all(len(v) == 1 for v in texts_by_chat(tg).values())


async def test_a_429_storm_and_blocked_recipients_lose_and_double_nothing(
    sessions, tg, any_telegram
) -> None:
    org_id, _ = await people(sessions, 120)
    blocked = {5000 + n for n in range(0, 120, 12)}
    for chat in blocked:
        tg.set_blocked(chat)
    await announce_now(sessions, org_id)
    # Thirty 429s in a row: every send in flight is refused, the channel pauses, and again.
    tg.fail_next("sendMessage", 429, retry_after=1, times=30)
    engine = make_engine(sessions, any_telegram, clock=RunningClock(DAY))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        await engine.tick()
        if not [r for r in await rows(sessions) if r.status is DeliveryStatus.QUEUED]:
            break
        await asyncio.sleep(0.2)
    final = await rows(sessions)
    assert sorted(r.status.value for r in final).count("sent") == 120 - len(blocked)
    assert {r.last_error.split(":")[0] for r in final if r.status is DeliveryStatus.SKIPPED} == {
        "blocked"
    }
    got = texts_by_chat(tg)
    assert set(got) == {5000 + n for n in range(120)} - blocked
    assert all(len(texts) == 1 for texts in got.values())
    assert engine.stats.outcomes["rate_limited"] == 30
    # A 429 is no attempt: nobody used more than one.
    assert max(r.attempts for r in final) == 1


async def test_server_errors_are_retried_with_back_off_then_fail(sessions, tg, kind) -> None:
    org_id, _ = await people(sessions, 1)
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    # No interval per chat: the test sends to the same chat again within a second.
    sender = SENDERS[kind](TOKEN, tg.api_base, rate=0, chat_interval=0)
    engine = make_engine(sessions, sender, clock=clock, max_attempts=3)
    waits = []
    for attempt in (1, 2):
        tg.fail_next("sendMessage", 502)
        await engine.tick()
        [row] = await rows(sessions)
        assert (row.status, row.attempts) == (DeliveryStatus.QUEUED, attempt)
        assert row.last_error.startswith("server_error")
        waits.append((row.next_attempt_at - clock.value).total_seconds())
        # Not due before the back-off has passed.
        assert await engine.tick() == 0
        clock.value = row.next_attempt_at
    assert 4 <= waits[0] <= 6 and 8 <= waits[1] <= 12  # 5 s, then 10 s (+-20 %)
    tg.fail_next("sendMessage", 500)
    await engine.tick()
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 3)
    assert row.last_error.startswith("server_error")
    await sender.close()


async def test_a_network_error_is_retried(sessions, kind) -> None:
    org_id, _ = await people(sessions, 1)
    await announce_now(sessions, org_id)
    # Nothing listens here: connection refused.
    dead = SENDERS[kind](TOKEN, "http://127.0.0.1:9", rate=0)
    try:
        await make_engine(sessions, dead).tick()
    finally:
        await dead.close()
    [row] = await rows(sessions)
    assert row.status is DeliveryStatus.QUEUED and row.attempts == 1
    assert row.last_error.startswith("network")


async def test_bad_requests_fail_at_once_and_unknown_chats_are_skipped(sessions, kind) -> None:
    org_id, _ = await people(sessions, 2)
    await announce_now(sessions, org_id)
    async with FakeTelegram(token=TOKEN, strict_chats=True) as strict:
        strict.add_user(5000)
        sender = SENDERS[kind](TOKEN, strict.api_base, rate=0)
        try:
            strict.fail_next("sendMessage", 400, "Bad Request: message is too long")
            await make_engine(sessions, sender, concurrency=1).run_until_idle()
        finally:
            await sender.close()
    final = {r.person_id: r for r in await rows(sessions)}
    assert sorted((r.status.value, r.last_error.split(":")[0]) for r in final.values()) == [
        ("failed", "bad_request"),
        ("skipped", "chat_not_found"),
    ]


# --- leases ---------------------------------------------------------------------------------


async def test_a_crashed_workers_rows_come_back_when_the_lease_expires(
    sessions, tg, telegram
) -> None:
    org_id, _ = await people(sessions, 4)
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    crashed = make_engine(sessions, telegram, clock=clock, lease_seconds=60)
    claimed = await crashed.claim(2)  # ... and then the worker dies
    assert len(claimed) == 2
    survivor = make_engine(sessions, telegram, clock=clock, lease_seconds=60)
    assert await survivor.run_until_idle() == 2  # only the unclaimed rows
    clock.value = DAY + dt.timedelta(seconds=61)
    assert await survivor.run_until_idle() == 2  # the lease expired: they come back
    assert {r.status for r in await rows(sessions)} == {DeliveryStatus.SENT}
    assert [r.attempts for r in await rows(sessions)].count(2) == 2
    # The dead worker's late result changes nothing: its lease token is gone.
    from bot.delivery.engine import Result

    await crashed._record([Result(claimed[0], DeliveryStatus.FAILED, 1, error="late")])
    assert {r.status for r in await rows(sessions)} == {DeliveryStatus.SENT}


async def test_two_workers_claim_disjoint_rows(sessions, telegram) -> None:
    org_id, _ = await people(sessions, 40)
    await announce_now(sessions, org_id)
    first = make_engine(sessions, telegram)
    second = make_engine(sessions, telegram)
    a, b = await asyncio.gather(first.claim(25), second.claim(25))
    ids_a, ids_b = {c.id for c in a}, {c.id for c in b}
    assert not ids_a & ids_b
    assert len(ids_a | ids_b) == 40


async def test_too_many_attempts_fail_a_row_for_good(sessions, telegram) -> None:
    org_id, _ = await people(sessions, 1)
    await announce_now(sessions, org_id)
    async with transaction(sessions) as session:
        await session.execute(update(Delivery).values(attempts=3))
    await make_engine(sessions, telegram, max_attempts=3).tick()
    [row] = await rows(sessions)
    assert (row.status, row.last_error) == (DeliveryStatus.FAILED, "gave_up: too many attempts")


# --- quiet hours ----------------------------------------------------------------------------


async def test_quiet_hours_hold_everything_but_urgent_rows_until_morning(
    sessions, tg, telegram
) -> None:
    _, made = await people(sessions, 3)
    async with transaction(sessions) as session:
        p0, p1, p2 = [await session.get(Person, p.id) for p in made]
        await notify.notify(session, person=p0, key="direct:1", text="Besluit", now=NIGHT)
        urgent = await notify.notify(session, person=p1, key="direct:2", text="Nu", now=NIGHT)
        urgent.urgent = True
        # Own quiet hours 23:00-07:00: at 22:30 this person may still be written to.
        p2.quiet_start_minute, p2.quiet_end_minute = 23 * 60, 7 * 60
        await notify.notify(session, person=p2, key="direct:3", text="Laat", now=NIGHT)
    clock = Clock(NIGHT)
    engine = make_engine(sessions, telegram, clock=clock)
    await engine.run_until_idle()
    assert texts_by_chat(tg) == {5001: ["Nu"], 5002: ["Laat"]}
    held = {r.key: r for r in await rows(sessions)}["direct:1"]
    assert (held.status, held.next_attempt_at, held.attempts) == (
        DeliveryStatus.QUEUED,
        MORNING,
        0,
    )
    clock.value = MORNING - dt.timedelta(minutes=1)
    assert await engine.run_until_idle() == 0
    clock.value = MORNING
    await engine.run_until_idle()
    assert texts_by_chat(tg)[5000] == ["Besluit"]


# --- limits ---------------------------------------------------------------------------------


async def test_one_message_per_second_per_chat(sessions, tg, telegram) -> None:
    _, made = await people(sessions, 1)
    async with transaction(sessions) as session:
        person = await session.get(Person, made[0].id)
        for n in range(3):
            await notify.notify(session, person=person, key=f"direct:{n}", text=f"m{n}", now=DAY)
    clock = Clock(DAY)
    engine = make_engine(sessions, telegram, clock=clock)
    await engine.tick()
    assert texts_by_chat(tg) == {5000: ["m0"]}
    waiting = [r for r in await rows(sessions) if r.status is DeliveryStatus.QUEUED]
    assert len(waiting) == 2 and all(r.attempts == 0 for r in waiting)
    assert all(
        dt.timedelta(0) < r.next_attempt_at - DAY <= dt.timedelta(seconds=1) for r in waiting
    )


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


async def test_the_global_rate_with_burst_and_pause() -> None:
    clock = FakeClock()
    limiter = ChannelLimiter(30, burst=30, clock=clock, sleep=clock.sleep)
    start = clock.t
    for n in range(90):
        assert await limiter.wait(deadline=start + 100)
        limiter.take(str(n))
    # 30 at once, then one every 1/30 s: 90 messages take 2 seconds.
    assert clock.t - start == pytest.approx(2.0, abs=1e-6)
    limiter.pause(5)
    paused_at = clock.t
    assert await limiter.wait(deadline=clock.t + 100)
    assert clock.t - paused_at == pytest.approx(5.0)
    # Past the deadline: no wait at all.
    limiter.pause(10)
    before = clock.t
    assert not await limiter.wait(deadline=clock.t + 1)
    assert clock.t == before


async def test_a_refused_message_does_not_count_against_the_rate() -> None:
    clock = FakeClock()
    limiter = ChannelLimiter(30, burst=1, clock=clock, sleep=clock.sleep)
    limiter.take("a")
    assert limiter.next_slot() > clock.t  # the next one must wait 1/30 s
    limiter.refund()  # ... but the platform refused the first one (429)
    assert await limiter.wait(deadline=clock.t) and clock.t == 1000.0
    limiter.take("b")
    assert limiter.next_slot() == pytest.approx(1000.0 + 1 / 30)


async def test_rate_limit_off_and_per_chat_interval() -> None:
    clock = FakeClock()
    limiter = ChannelLimiter(0, chat_interval=1.0, clock=clock, sleep=clock.sleep)
    for n in range(1000):
        assert await limiter.wait(deadline=clock.t)
        limiter.take(str(n))
    assert clock.t == 1000.0  # no limit: no waiting
    assert limiter.chat_ready_at("7") == 1001.0


async def test_a_real_rate_of_thirty_per_second(sessions, tg) -> None:
    org_id, _ = await people(sessions, 45)
    await announce_now(sessions, org_id)
    sender = TelegramSender(TOKEN, tg.api_base, rate=30, burst=1)
    engine = make_engine(sessions, sender)
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        while any(r.status is not DeliveryStatus.SENT for r in await rows(sessions)):
            await engine.tick()
    finally:
        await sender.close()
    elapsed = loop.time() - start
    # 45 messages at 30/s without a burst: at least 44/30 s.
    assert elapsed >= 44 / 30
    assert len(tg.calls_of("sendMessage")) == 45


# --- other channels -------------------------------------------------------------------------


async def test_the_engine_keeps_the_texts_of_a_bounded_number_of_announcements(
    sessions, tg, monkeypatch
) -> None:
    """A worker that runs for months sees announcement after announcement: it keeps the texts
    of a few (TEXTS_CACHED), not of every one ever sent; forgetting them changes no message."""
    monkeypatch.setattr(engine_module, "TEXTS_CACHED", 3)
    org_id, _ = await people(sessions, 2)
    sender = TelegramSender(TOKEN, tg.api_base, rate=0, chat_interval=0)
    engine = make_engine(sessions, sender)

    async def announce(n: int) -> None:
        async with transaction(sessions) as session:
            texts = {"nl": f"Bericht {n}", "en": f"Message {n}"}
            await ann.announce(session, organisation_id=org_id, actor=None, texts=texts, now=DAY)
            await ann.start_due_announcements(session, now=DAY)

    try:
        for n in range(8):  # one after the other
            await announce(n)
            assert await engine.run_until_idle() == 2
            assert len(engine._texts) <= 3
        for n in range(8, 13):  # five at once: more than are kept, none forgotten too early
            await announce(n)
        assert await engine.run_until_idle() == 10
        for n in range(13, 15):
            await announce(n)
            assert await engine.run_until_idle() == 2
            assert len(engine._texts) <= 3
    finally:
        await sender.close()
    sent = texts_by_chat(tg)
    assert sorted(sent[5000]) == sorted(f"Bericht {n}" for n in range(15))
    assert sorted(sent[5001]) == sorted(f"Message {n}" for n in range(15))
    assert tg.violations == []


async def test_console_rows_are_handed_to_the_terminal_chat(sessions, telegram) -> None:
    org_id, made = await people(sessions, 2, channel=Channel.CONSOLE)
    ann_id = await announce_now(sessions, org_id, now=NIGHT)  # quiet hours do not matter here
    engine = make_engine(sessions, telegram, ConsoleSender(), clock=Clock(NIGHT))
    await engine.run_until_idle()
    handed = await rows(sessions)
    assert all(
        (r.status, r.next_attempt_at, r.body, r.attempts)
        == (DeliveryStatus.QUEUED, None, "De ronde is open" if i == 0 else "The round is open", 0)
        for i, r in enumerate(handed)
    )
    async with transaction(sessions) as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.person_id == made[0].id)
        )
        pending = await notify.pending_for_identity(session, identity)
        assert [d.body for d in pending] == ["De ronde is open"]
        await notify.mark_sent(session, pending, identity=identity, now=NIGHT)
        # Handed-over rows do not keep the announcement from being done.
        assert await ann.finish_announcements(session, now=NIGHT) == 1
        counts = await ann.delivery_counts(session, announcement_id=ann_id, now=NIGHT)
        assert (counts.sent, counts.in_chat) == (1, 1)


async def test_rows_for_a_channel_without_sender_wait(sessions, telegram) -> None:
    org_id, _ = await people(sessions, 1, channel=Channel.WHATSAPP)
    await announce_now(sessions, org_id)
    await make_engine(sessions, telegram).tick()
    [row] = await rows(sessions)
    assert (row.status, row.attempts, row.last_error) == (
        DeliveryStatus.QUEUED,
        0,
        "no_sender: whatsapp",
    )
    assert row.next_attempt_at == DAY + dt.timedelta(minutes=10)


async def test_a_row_whose_identity_became_unreachable_uses_another_or_is_skipped(
    sessions, tg, telegram
) -> None:
    org_id, made = await people(sessions, 2)
    await announce_now(sessions, org_id)
    async with transaction(sessions) as session:
        first, second = [
            await session.scalar(select(ChannelIdentity).where(ChannelIdentity.person_id == p.id))
            for p in made
        ]
        first.reachable = False
        second.reachable = False
        session.add(
            ChannelIdentity(
                person_id=made[0].id, channel=Channel.TELEGRAM, address="6000", preferred=False
            )
        )
    await make_engine(sessions, telegram).run_until_idle()
    assert texts_by_chat(tg) == {6000: ["De ronde is open"]}
    by_person = {r.person_id: r for r in await rows(sessions)}
    assert by_person[made[1].id].status is DeliveryStatus.SKIPPED
    assert by_person[made[1].id].last_error == "unreachable"


async def test_stop_leaves_unsent_rows_queued(sessions, tg, telegram) -> None:
    org_id, _ = await people(sessions, 5)
    await announce_now(sessions, org_id)
    engine = make_engine(sessions, telegram)
    engine.stop()
    assert await engine.tick() == 0
    assert {r.status for r in await rows(sessions)} == {DeliveryStatus.QUEUED}


# --- the worker and the command line ---------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


async def cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run ``gangmaker ARGS`` in a subprocess (the fake server keeps answering meanwhile)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    full_env.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=full_env,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_announce_worker_and_status_on_the_command_line(tmp_path, tg) -> None:
    db = tmp_path / "cli.db"
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": tg.api_base,
        "LOG_LEVEL": "WARNING",
    }
    assert (await cli("db", "upgrade", env=env))[0] == 0
    code, out, _ = await cli("demo", "--people", "20", env=env)
    assert code == 0 and "Added 20 demo gangmakers with Telegram identities" in out
    # No quiet hours for this organisation: the test may run at night.
    engine = make_db_engine(env["DATABASE_URL"])
    async with transaction(make_sessionmaker(engine)) as session:
        await session.execute(update(Organisation).values(quiet_start_minute=0, quiet_end_minute=0))
    await engine.dispose()
    (tmp_path / "nl.txt").write_text("Hallo Polen!\n", encoding="utf-8")
    (tmp_path / "pl.txt").write_text("Cześć!\n", encoding="utf-8")

    code, out, err = await cli(
        "announce",
        "--text",
        f"nl={tmp_path / 'nl.txt'}",
        "--text",
        f"pl={tmp_path / 'pl.txt'}",
        "--audience",
        "lang:pl",
        env=env,
    )
    assert code == 0, err
    announcement_id = int(out.strip())  # only the id on standard output
    assert "Recipients now: 2" in err and "Polski: 2" in err

    code, out, _ = await cli("worker", "--once", env=env)
    assert code == 0
    polish = [p for p in tg.calls_of("sendMessage") if p["text"] == "Cześć!"]
    assert len(polish) == 2
    code, out, _ = await cli("announce", "status", str(announcement_id), env=env)
    assert code == 0
    assert f"Announcement {announcement_id} done: sent 2, failed 0, skipped 0" in out
    assert "[" + "#" * 30 + "] 100% 2/2" in out

    # Later: scheduled, shown in local time, and cancelled.
    month_ahead = dt.datetime.now(ZoneInfo("Europe/Amsterdam")) + dt.timedelta(days=30)
    at = month_ahead.strftime("%Y-%m-%dT09:30")
    code, out, err = await cli(
        "announce", "--text", f"nl={tmp_path / 'nl.txt'}", "--at", at, env=env
    )
    assert code == 0, err
    later = int(out.strip())
    code, out, _ = await cli("announce", "status", str(later), env=env)
    assert f"scheduled for {at.replace('T', ' ')} (Europe/Amsterdam)" in out
    code, out, _ = await cli("announce", "cancel", str(later), env=env)
    assert code == 0 and "cancelled" in out
    code, _, err = await cli("announce", "cancel", str(later), env=env)
    assert code == 2 and "announcement.not_cancellable" in err

    # Refused input: one line, exit code 2.
    code, _, err = await cli("announce", "--text", f"pl={tmp_path / 'pl.txt'}", env=env)
    assert code == 2 and "announcement.dutch_required" in err
    code, _, err = await cli(
        "announce", "--text", f"nl={tmp_path / 'nl.txt'}", "--audience", "area:Atlantis", env=env
    )
    assert code == 2 and "announcement.area_unknown" in err


async def test_the_worker_runs_on_its_scheduler_and_stops_cleanly(
    tmp_path, sqlite_template, tg
) -> None:
    import shutil

    from bot.config import Settings
    from bot.delivery.settings import DeliverySettings
    from bot.delivery.worker import run_worker

    db = tmp_path / "worker.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite+aiosqlite:///{db}"
    engine = make_db_engine(url)
    sessions = make_sessionmaker(engine)
    org_id, _ = await people(sessions, 5)
    async with transaction(sessions) as session:
        await session.execute(update(Organisation).values(quiet_start_minute=0, quiet_end_minute=0))
        await ann.announce(session, organisation_id=org_id, actor=None, texts=TEXTS)
    main = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        telegram_bot_token=TOKEN,
        telegram_api_base=tg.api_base,
    )
    delivery = DeliverySettings(_env_file=None, worker_tick_seconds=0.2)  # type: ignore[call-arg]
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(main, delivery, stop=stop))
    try:
        for _ in range(100):
            if len(tg.calls_of("sendMessage")) >= 5:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0
    assert sorted(texts_by_chat(tg)) == [5000, 5001, 5002, 5003, 5004]
    async with sessions() as session:
        item = await session.scalar(select(Announcement))
        assert item.status in (AnnouncementStatus.SENDING, AnnouncementStatus.DONE)
    assert {r.status for r in await rows(sessions)} == {DeliveryStatus.SENT}
    await engine.dispose()
