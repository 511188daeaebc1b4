"""Retention with a controlled clock: Lief & Leed notes after 2 years, stale conversation state
after 30 days, idle assisted sessions; the worker has the daily job and operators a CLI."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select

from bot.config import Settings
from bot.db import transaction
from bot.delivery.settings import DeliverySettings
from bot.delivery.worker import Worker
from bot.models import (
    AssistedSession,
    Attention,
    AttentionKind,
    AuditEntry,
    ConversationState,
    LiefLeedPot,
    OccasionType,
    WhatsAppWebhookBody,
)
from bot.services import retention
from tests.chat import ChatHarness, make_world
from tests.factories import NOW

DAY = dt.timedelta(days=1)


async def _attention(s, street_id: int, created: dt.datetime, note: str) -> int:
    pot = await s.scalar(select(LiefLeedPot).where(LiefLeedPot.street_id == street_id))
    if pot is None:
        pot = LiefLeedPot(street_id=street_id, year=created.year, amount_cents=15000)
        s.add(pot)
        await s.flush()
    item = Attention(
        pot_id=pot.id,
        occasion="illness",
        occasion_type=OccasionType.LEED,
        kind=AttentionKind.VISIT,
        cost_cents=0,
        given_on=created.date(),
        house_number="12",
        note=note,
        created_at=created,
    )
    s.add(item)
    await s.flush()
    return item.id


async def test_liefleed_notes_go_after_two_years_and_the_entry_stays(sessions) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        old = await _attention(s, world.street_id, NOW - 2 * 365 * DAY - 2 * DAY, "Beterschap")
        recent = await _attention(s, world.street_id, NOW - 300 * DAY, "Bloemen")
    async with transaction(sessions) as s:
        result = await retention.run_retention(s, now=NOW, remove_files=False)
    assert result.liefleed_notes == 1
    async with sessions() as s:
        gone = await s.get(Attention, old)
        assert (gone.note, gone.house_number, gone.cost_cents) == (None, None, 0)
        kept = await s.get(Attention, recent)
        assert (kept.note, kept.house_number) == ("Bloemen", "12")
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "retention.run"))
        assert entry.details["liefleed_notes"] == 1 and entry.at == NOW
    # A second run finds nothing more.
    async with transaction(sessions) as s:
        assert (await retention.run_retention(s, now=NOW, remove_files=False)).liefleed_notes == 0


async def test_stale_conversations_and_idle_assisted_sessions_go(sessions) -> None:
    world = await make_world(sessions)
    busy = ChatHarness(sessions, address=world.gangmaker)
    await busy.send("menu")
    await busy.choose("Lief & Leed")
    helper = ChatHarness(sessions, address=world.resident, clock=busy.clock)
    await helper.send("voor een buur")
    for answer in ("AB", "4"):
        await helper.send(answer)
    await helper.press("nl")
    await helper.send("ja")
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AssistedSession)) == 1

    async with transaction(sessions) as s:
        result = await retention.run_retention(s, now=NOW + 10 * 60 * dt.timedelta(seconds=1))
    assert (result.conversation_states, result.assisted_sessions) == (0, 0)

    async with transaction(sessions) as s:
        result = await retention.run_retention(s, now=NOW + 20 * dt.timedelta(minutes=1))
    assert (result.conversation_states, result.assisted_sessions) == (0, 1)
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AssistedSession)) == 0
        ended = await s.scalar(select(AuditEntry).where(AuditEntry.action == "assisted.ended"))
        assert ended.details["reason"] == "idle"

    async with transaction(sessions) as s:
        result = await retention.run_retention(s, now=NOW + 29 * DAY)
    assert result.conversation_states == 0
    async with transaction(sessions) as s:
        result = await retention.run_retention(s, now=NOW + 31 * DAY)
    assert result.conversation_states == 2
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(ConversationState)) == 0
    # The chat simply starts fresh.
    busy.clock.set(NOW + 31 * DAY)
    await busy.send("hoi")
    assert busy.last_text == "Wat wil je doen?"


async def test_whatsapp_webhook_bodies_left_over_go_after_a_day(sessions) -> None:
    # A body a process never handled (it died, and none started again) holds a message's text.
    async with transaction(sessions) as s:
        s.add(WhatsAppWebhookBody(body='{"text": "mijn buurman"}', chat="316", received_at=NOW))
        s.add(WhatsAppWebhookBody(body='{"text": "recent"}', chat="316", received_at=NOW + DAY))
    async with transaction(sessions) as s:
        result = await retention.run_retention(s, now=NOW + DAY + dt.timedelta(minutes=1))
    assert result.webhook_bodies == 1
    async with sessions() as s:
        assert (await s.scalars(select(WhatsAppWebhookBody.body))).all() == ['{"text": "recent"}']


async def test_the_cli_and_the_worker_job(sessions, db_url, monkeypatch, capsys) -> None:
    await make_world(sessions)
    monkeypatch.setenv("DATABASE_URL", db_url)
    from bot.cli import main
    from bot.config import load_settings

    def run(argv: list[str]) -> int:
        load_settings.cache_clear()
        try:
            return main(argv)
        finally:
            load_settings.cache_clear()

    assert await asyncio.to_thread(run, ["retention", "run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("retention: liefleed notes: 0, signals: 0, conversation states: 0")

    worker = Worker(
        Settings(_env_file=None, database_url=db_url),  # type: ignore[call-arg]
        DeliverySettings(_env_file=None),  # type: ignore[call-arg]
    )
    try:
        worker.start()
        assert "retention" in {job.id for job in worker.scheduler.get_jobs()}
        await worker.retention()
    finally:
        await worker.stop()
    async with sessions() as s:
        runs = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "retention.run")
        )
        assert runs >= 2  # the CLI and the job (which also runs once at start)
