"""Deliveries on WhatsApp: the outbox's WhatsApp sender against the fake Graph API.

The 24-hour window decides between free-form text and an approved template (with a fallback
language, or skipped with a reason the leader sees); Meta's rate errors are honoured; the daily
cap of new conversations moves the rest of an announcement to the next day; status webhooks
update the rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.whatsapp.sender import WhatsAppSender
from bot.channels.whatsapp.window import Templates, form_for, template_parameter
from bot.db import make_engine, make_sessionmaker, transaction
from bot.delivery.engine import DeliveryEngine
from bot.models import Channel, ChannelIdentity, Delivery, DeliveryStatus, Organisation, Person
from bot.services import announcements as ann
from tests import factories as f
from tests.fakes import graph_api as g
from tests.fakes.graph_api import FakeGraph

DAY = dt.datetime(2026, 5, 12, 10, 0, tzinfo=dt.UTC)  # 12:00 in Amsterdam
TEXTS = {"nl": "De ronde is open.\nMeld je aan!", "en": "The round is open.\nSign up!"}
TEMPLATES = Templates.parse(
    {
        "announcement": {"name": "gangmaker_news", "languages": ["nl", "en"], "fallback": "nl"},
        "reminder": {"name": "gangmaker_reminder", "languages": ["nl"]},
    }
)


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.value = start

    def __call__(self) -> dt.datetime:
        return self.value


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    approved = {"gangmaker_news": {"nl", "en"}, "gangmaker_reminder": {"nl"}}
    async with FakeGraph(templates=approved) as fake:
        yield fake


def number(n: int) -> str:
    return f"3161000{n:04d}"


async def people(
    sessions: async_sessionmaker[AsyncSession],
    specs: list[tuple[str, dt.timedelta | None]],
) -> tuple[int, list[Person]]:
    """People on WhatsApp: (language, how long ago they last wrote or None for never)."""
    async with transaction(sessions) as session:
        org = await f.organisation(session)
        await f.area(session, org)
        made = []
        for n, (language, ago) in enumerate(specs):
            person = await f.person(
                session,
                org,
                f"P{n}",
                language=language,
                channel=Channel.WHATSAPP,
                address=number(n),
            )
            await session.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.person_id == person.id)
                .values(last_inbound_at=None if ago is None else DAY - ago)
            )
            made.append(person)
        return org.id, made


async def announce_now(sessions: async_sessionmaker[AsyncSession], org_id: int) -> int:
    async with transaction(sessions) as session:
        item = await ann.announce(session, organisation_id=org_id, actor=None, texts=TEXTS, now=DAY)
        await ann.start_due_announcements(session, now=DAY)
        return item.id


async def rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Delivery]:
    """Delivery rows by the recipient's number."""
    async with sessions() as session:
        result = await session.execute(
            select(Delivery, ChannelIdentity.address)
            .join(ChannelIdentity, ChannelIdentity.person_id == Delivery.person_id)
            .order_by(Delivery.id)
        )
        return {address: delivery for delivery, address in result.all()}


def sender_for(graph: FakeGraph, clock: Clock, **kw) -> WhatsAppSender:
    kw.setdefault("rate", 0)
    kw.setdefault("chat_interval", 0)
    return WhatsAppSender(
        g.PHONE_NUMBER_ID, g.ACCESS_TOKEN, graph.base, templates=TEMPLATES, now=clock, **kw
    )


def statuses(by_number: dict[str, Delivery]) -> Counter[str]:
    return Counter(r.status.value for r in by_number.values())


HOUR = dt.timedelta(hours=1)


async def test_the_window_decides_between_text_and_template(sessions, graph) -> None:
    org_id, _ = await people(
        sessions,
        [
            ("nl", HOUR),  # wrote an hour ago: free-form text
            ("en", 30 * HOUR),  # outside the window: the English template
            ("tr", None),  # never wrote, no Turkish template: the Dutch one (fallback)
        ],
    )
    ann_id = await announce_now(sessions, org_id)
    clock = Clock(DAY)
    sender = sender_for(graph, clock)
    engine = DeliveryEngine(sessions, [sender], now=clock)
    try:
        assert await engine.run_until_idle() == 3
    finally:
        await engine.close()
    [free] = graph.to(number(0))
    assert free.kind == "text" and free.text == TEXTS["nl"]
    [english] = graph.to(number(1))
    assert english.kind == "template"
    template = english.payload["template"]
    assert (template["name"], template["language"]["code"]) == ("gangmaker_news", "en")
    # No new lines in a template parameter (Meta refuses them).
    parameter = template["components"][0]["parameters"][0]["text"]
    assert parameter == "The round is open. · Sign up!"
    [turkish] = graph.to(number(2))
    assert turkish.payload["template"]["language"]["code"] == "nl"
    assert (
        "De ronde is open" in turkish.payload["template"]["components"][0]["parameters"][0]["text"]
    )
    by_number = await rows(sessions)
    assert {r.status for r in by_number.values()} == {DeliveryStatus.SENT}
    assert by_number[number(1)].provider_message_id == english.id
    assert graph.violations == []
    assert sender.forms == {"free": 1, "template": 2}
    async with sessions() as session:
        counts = await ann.delivery_counts(session, announcement_id=ann_id, now=DAY)
        assert counts.sent == 3


async def test_a_language_without_template_and_fallback_is_skipped_with_a_reason(
    sessions, graph
) -> None:
    templates = Templates.parse(
        {"announcement": {"name": "gangmaker_news", "languages": ["nl", "en"]}}
    )
    org_id, _ = await people(sessions, [("tr", None), ("nl", None)])
    ann_id = await announce_now(sessions, org_id)
    clock = Clock(DAY)
    sender = WhatsAppSender(
        g.PHONE_NUMBER_ID, g.ACCESS_TOKEN, graph.base, templates=templates, now=clock, rate=0
    )
    engine = DeliveryEngine(sessions, [sender], now=clock)
    try:
        await engine.run_until_idle()
    finally:
        await engine.close()
    by_number = await rows(sessions)
    skipped = by_number[number(0)]
    assert skipped.status is DeliveryStatus.SKIPPED
    assert skipped.last_error.startswith("no_template")
    assert graph.to(number(0)) == []
    assert by_number[number(1)].status is DeliveryStatus.SENT
    async with sessions() as session:
        counts = await ann.delivery_counts(session, announcement_id=ann_id, now=DAY)
        assert counts.reasons == {"no_template": 1}


async def test_throughput_and_pair_rate_errors_back_off_without_losing_a_message(
    sessions, graph
) -> None:
    org_id, _ = await people(sessions, [("nl", HOUR), ("nl", HOUR), ("nl", HOUR)])
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    sender = sender_for(graph, clock)
    engine = DeliveryEngine(sessions, [sender], now=clock, concurrency=1)
    graph.fail_next(g.THROUGHPUT)
    graph.fail_next(g.PAIR_RATE, to=number(2))
    try:
        await engine.tick()
        by_number = await rows(sessions)
        waiting = [r for r in by_number.values() if r.status is DeliveryStatus.QUEUED]
        assert "rate_limited" in {(r.last_error or "").split(":")[0] for r in waiting}
        assert all(r.attempts == 0 for r in waiting)  # no attempt counted for either
        assert engine.limiters[Channel.WHATSAPP].paused_until > engine.clock()
        # Later everything goes, each recipient once (the pair-limited one a little later).
        engine.limiters[Channel.WHATSAPP].paused_until = 0
        for minutes in (1, 2, 3):
            clock.value = DAY + dt.timedelta(minutes=minutes)
            await engine.run_until_idle()
    finally:
        await engine.close()
    by_number = await rows(sessions)
    assert {r.status for r in by_number.values()} == {DeliveryStatus.SENT}
    assert sorted(s.to for s in graph.sent) == [number(0), number(1), number(2)]
    assert (number(2), g.PAIR_RATE) in graph.refused
    assert graph.violations == []


async def test_a_closed_window_seen_by_meta_falls_back_to_the_template(sessions, graph) -> None:
    org_id, _ = await people(sessions, [("nl", HOUR)])
    await announce_now(sessions, org_id)
    graph.closed_windows.add(number(0))
    clock = Clock(DAY)
    engine = DeliveryEngine(sessions, [sender_for(graph, clock)], now=clock)
    try:
        await engine.run_until_idle()
    finally:
        await engine.close()
    assert graph.refused == [(number(0), g.RE_ENGAGEMENT)]
    [sent] = graph.to(number(0))
    assert sent.kind == "template"
    assert (await rows(sessions))[number(0)].status is DeliveryStatus.SENT


async def test_the_daily_cap_of_new_conversations_continues_the_next_day(sessions, graph) -> None:
    org_id, _ = await people(sessions, [("nl", None)] * 4 + [("nl", HOUR)])
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    sender = sender_for(graph, clock, daily_new_conversations=2, sessions=sessions)
    engine = DeliveryEngine(sessions, [sender], now=clock)
    try:
        await engine.run_until_idle()
        by_number = await rows(sessions)
        sent = [a for a, r in by_number.items() if r.status is DeliveryStatus.SENT]
        waiting = [r for r in by_number.values() if r.status is DeliveryStatus.QUEUED]
        # Two templates and the free-form message (inside a window: no new conversation).
        assert len(sent) == 3 and number(4) in sent
        assert len(waiting) == 2
        assert all(r.next_attempt_at == DAY + dt.timedelta(hours=24) for r in waiting)
        assert all(r.last_error.startswith("daily_cap") and r.attempts == 0 for r in waiting)
        # The next day the announcement continues.
        clock.value = DAY + dt.timedelta(hours=24, minutes=1)
        await engine.run_until_idle()
    finally:
        await engine.close()
    assert {r.status for r in (await rows(sessions)).values()} == {DeliveryStatus.SENT}
    assert len(graph.sent) == 5


async def test_a_restart_does_not_reset_the_daily_cap(sessions, graph, db_url) -> None:
    org_id, _ = await people(sessions, [("nl", None)] * 4)
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    first = DeliveryEngine(
        sessions,
        [sender_for(graph, clock, daily_new_conversations=2, sessions=sessions)],
        now=clock,
    )
    try:
        await first.run_until_idle()
    finally:
        await first.close()
    assert len(graph.sent) == 2
    # A restart: a new process with its own database engine and sender, an hour later.
    clock.value = DAY + HOUR
    db = make_engine(db_url)
    try:
        again = make_sessionmaker(db)
        sender = sender_for(graph, clock, daily_new_conversations=2, sessions=again)
        second = DeliveryEngine(again, [sender], now=clock)
        try:
            await second.run_until_idle()
            assert len(graph.sent) == 2  # nothing more today
            by_number = await rows(sessions)
            assert statuses(by_number) == {"sent": 2, "queued": 2}
            waiting = [r for r in by_number.values() if r.status is DeliveryStatus.QUEUED]
            # They wait until the first two conversations are a day old.
            assert all(r.next_attempt_at == DAY + dt.timedelta(hours=24) for r in waiting)
            assert all(r.last_error.startswith("daily_cap") for r in waiting)
            clock.value = DAY + dt.timedelta(hours=24, minutes=1)
            await second.run_until_idle()
        finally:
            await second.close()
    finally:
        await db.dispose()
    assert statuses(await rows(sessions)) == {"sent": 4}
    assert sorted(s.to for s in graph.sent) == [number(n) for n in range(4)]
    assert {s.kind for s in graph.sent} == {"template"}


async def test_two_workers_on_one_database_share_the_daily_cap(sessions, graph, db_url) -> None:
    org_id, _ = await people(sessions, [("nl", None)] * 8)
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    dbs = [make_engine(db_url), make_engine(db_url)]
    workers = []
    try:
        for n, db in enumerate(dbs):
            own = make_sessionmaker(db)
            sender = sender_for(graph, clock, daily_new_conversations=3, sessions=own)
            workers.append(
                DeliveryEngine(own, [sender], now=clock, worker_id=f"w{n}", batch_size=2)
            )
        # Both workers send at the same time; together they open 3 conversations, no more.
        await asyncio.gather(*(w.run_until_idle() for w in workers))
        assert len(graph.sent) == 3
        assert statuses(await rows(sessions)) == {"sent": 3, "queued": 5}
        # The next day, three more (the first three are a day old); the day after, the last two.
        clock.value = DAY + dt.timedelta(hours=24, minutes=1)
        await asyncio.gather(*(w.run_until_idle() for w in workers))
        assert len(graph.sent) == 6
        clock.value = DAY + dt.timedelta(hours=48, minutes=2)
        await asyncio.gather(*(w.run_until_idle() for w in workers))
    finally:
        for worker in workers:
            await worker.close()
        for db in dbs:
            await db.dispose()
    assert statuses(await rows(sessions)) == {"sent": 8}
    assert len({s.to for s in graph.sent}) == 8
    assert graph.violations == []


async def test_a_template_that_did_not_go_gives_its_place_back(sessions, graph) -> None:
    org_id, _ = await people(sessions, [("nl", None), ("nl", None)])
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    sender = sender_for(graph, clock, daily_new_conversations=1, sessions=sessions)
    engine = DeliveryEngine(sessions, [sender], now=clock, concurrency=1)
    # Meta refuses the first template for good (not approved after all).
    graph.fail_next(g.TEMPLATE_MISSING)
    try:
        await engine.run_until_idle()
    finally:
        await engine.close()
    by_number = await rows(sessions)
    assert statuses(by_number) == {"skipped": 1, "sent": 1}
    assert len(graph.sent) == 1
    assert await sender.cap.open_count(DAY) == 1


async def test_reservations_sent_together_keep_the_cap_exactly(sessions) -> None:
    from bot.channels.whatsapp.cap import ConversationCap

    cap = ConversationCap(sessions, g.PHONE_NUMBER_ID, limit=4)
    # Twelve sends at once (two of them to the same number): one batch, four new places.
    addresses = [number(n) for n in range(10)] + [number(0), number(1)]
    places = await asyncio.gather(*(cap.reserve(a, DAY) for a in addresses))
    assert [p.new for p in places[:4]] == [True] * 4
    assert all(p.full and p.wait == 24 * 3600 for p in places[4:10])
    assert [(p.new, p.full) for p in places[10:]] == [(False, False)] * 2  # open already
    assert await cap.open_count(DAY) == 4
    # A day later the four are closed; the next four get places.
    later = DAY + dt.timedelta(hours=24, seconds=1)
    again = await asyncio.gather(*(cap.reserve(number(n), later) for n in range(4, 10)))
    assert [p.new for p in again] == [True] * 4 + [False] * 2
    assert await cap.open_count(later) == 4


def test_form_for_and_template_parameters() -> None:
    now = DAY
    free = form_for(
        last_inbound_at=now - HOUR, now=now, language="tr", kind="reminder", templates=TEMPLATES
    )
    assert free.kind == "free"
    skip = form_for(
        last_inbound_at=None, now=now, language="tr", kind="reminder", templates=TEMPLATES
    )
    assert skip.kind == "skip" and skip.reason.startswith("no_template")
    edge = form_for(
        last_inbound_at=now - dt.timedelta(hours=23, minutes=58),
        now=now,
        language="nl",
        kind="reminder",
        templates=TEMPLATES,
    )
    assert edge.kind == "template"  # too close to the end of the window to risk it
    assert template_parameter("a\n\n b\t\t c     d") == "a · b c d"
    with pytest.raises(ValueError):
        Templates.parse('{"announcement": {"name": "x", "languages": ["nl"], "fallback": "tr"}}')
    with pytest.raises(ValueError):
        Templates.parse('{"poster": {"name": "x", "languages": ["nl"]}}')


async def test_status_webhooks_update_the_delivery_rows(
    sessions, graph, engine, tmp_path: Path
) -> None:
    from tests.test_whatsapp_e2e import running

    org_id, _ = await people(sessions, [("nl", HOUR), ("nl", HOUR)])
    await announce_now(sessions, org_id)
    clock = Clock(DAY)
    delivery = DeliveryEngine(sessions, [sender_for(graph, clock)], now=clock)
    try:
        await delivery.run_until_idle()
    finally:
        await delivery.close()
    first, second = graph.to(number(0))[0], graph.to(number(1))[0]
    async with running(graph, engine, sessions, tmp_path) as bench:
        assert await bench.post(g.status_update(first.id, "sent", number(0))) == 200
        assert await bench.post(g.status_update(first.id, "delivered", number(0))) == 200
        assert await bench.post(g.status_update(first.id, "read", number(0))) == 200
        assert await bench.post(g.status_update(second.id, "failed", number(1))) == 200
        # An unsigned status changes nothing.
        assert await bench.post(g.status_update(second.id, "read", number(1)), signed=False) == 401
        # A status of a message that is no delivery (a dialog's reply): nothing breaks.
        assert await bench.post(g.status_update("wamid.UNKNOWN", "read", number(1))) == 200
    by_number = await rows(sessions)
    read = by_number[number(0)]
    assert read.status is DeliveryStatus.SENT
    assert read.delivered_at is not None and read.read_at is not None
    failed = by_number[number(1)]
    assert failed.status is DeliveryStatus.FAILED
    assert failed.last_error.startswith(f"whatsapp_{g.RE_ENGAGEMENT}")
    assert failed.read_at is None


async def test_the_preview_counts_who_gets_which_form(sessions) -> None:
    templates = Templates.parse(
        {"announcement": {"name": "gangmaker_news", "languages": ["nl", "en"]}}
    )
    org_id, _ = await people(
        sessions, [("nl", HOUR), ("en", HOUR), ("nl", 30 * HOUR), ("tr", None), ("en", None)]
    )
    async with transaction(sessions) as session:
        # Someone on Telegram is no WhatsApp recipient.
        org = await session.get(Organisation, org_id)
        await f.person(session, org, "T", channel=Channel.TELEGRAM, address="777")
        item = await ann.create_announcement(
            session,
            organisation_id=org_id,
            actor=None,
            texts=TEXTS,
            audience=await ann.parse_audience(session, org_id, ["all"]),
        )
        preview = await ann.preview_announcement(
            session, announcement=item, whatsapp_templates=templates, now=DAY
        )
        assert preview.recipients == 6
        assert preview.whatsapp_forms == {"free": 2, "template": 2, "skipped": 1}
        # Without templates given, the preview is as before.
        plain = await ann.preview_announcement(session, announcement=item)
        assert plain.whatsapp_forms == {} and plain.recipients == 6
