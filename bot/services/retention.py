"""Retention: personal data is kept no longer than needed (run daily by the worker and by
``gangmaker retention run``).

- Lief & Leed notes (and house numbers) after :data:`LIEFLEED_YEARS` years: the entry stays
  for the pot's accounts, its note and house number go.
- Signals after :data:`SIGNAL_DAYS` days, with the text of their welfare message.
- Conversation state untouched for :data:`STATE_DAYS` days (a half-finished dialog can hold
  what someone typed).
- Assisted sessions idle for longer than 15 minutes (``bot/services/assisted.py``).
- Export files ("my data") older than a day.
- Tip counts (who sent a neighbour tip, for the daily limit) older than a day.
- WhatsApp webhook bodies not handled after a day (they live seconds; a safety net).

Every run is one audit entry with the counts. No error keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Attention,
    ConversationState,
    Delivery,
    Signal,
    WhatsAppWebhookBody,
    utcnow,
)
from bot.services import assisted, audit, neighbours, privacy

LIEFLEED_YEARS = 2
SIGNAL_DAYS = 90
STATE_DAYS = 30
WEBHOOK_BODY_DAYS = 1


@dataclass(frozen=True, slots=True)
class RetentionResult:
    liefleed_notes: int = 0
    signals: int = 0
    conversation_states: int = 0
    assisted_sessions: int = 0
    export_files: int = 0
    tip_counts: int = 0
    webhook_bodies: int = 0

    def describe(self) -> str:
        return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in asdict(self).items())


def _years_before(now: dt.datetime, years: int) -> dt.datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


async def run_retention(
    session: AsyncSession, *, now: dt.datetime | None = None, remove_files: bool = True
) -> RetentionResult:
    now = now or utcnow()
    notes = await session.execute(
        update(Attention)
        .where(
            Attention.created_at < _years_before(now, LIEFLEED_YEARS),
            or_(Attention.note.is_not(None), Attention.house_number.is_not(None)),
        )
        .values(note=None, house_number=None)
        .execution_options(synchronize_session=False)
    )
    old_signals = list(
        await session.scalars(
            select(Signal.id).where(Signal.created_at < now - dt.timedelta(days=SIGNAL_DAYS))
        )
    )
    if old_signals:
        keys = [privacy.signal_delivery_key(i) for i in old_signals]
        await session.execute(
            delete(Delivery)
            .where(Delivery.key.in_(keys))
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(Signal)
            .where(Signal.id.in_(old_signals))
            .execution_options(synchronize_session=False)
        )
    states = await session.execute(
        delete(ConversationState)
        .where(ConversationState.updated_at < now - dt.timedelta(days=STATE_DAYS))
        .execution_options(synchronize_session=False)
    )
    bodies = await session.execute(
        delete(WhatsAppWebhookBody)
        .where(WhatsAppWebhookBody.received_at < now - dt.timedelta(days=WEBHOOK_BODY_DAYS))
        .execution_options(synchronize_session=False)
    )
    sessions = await assisted.end_idle_sessions(session, now=now)
    files = privacy.remove_old_exports(now=now) if remove_files else 0
    tips = await neighbours.prune_tip_counts(session, now=now)
    result = RetentionResult(
        liefleed_notes=notes.rowcount or 0,  # type: ignore[attr-defined]
        signals=len(old_signals),
        conversation_states=states.rowcount or 0,  # type: ignore[attr-defined]
        assisted_sessions=sessions,
        export_files=files,
        tip_counts=tips,
        webhook_bodies=bodies.rowcount or 0,  # type: ignore[attr-defined]
    )
    entry = await audit.record(
        session,
        actor=None,
        action="retention.run",
        object_type="retention",
        object_id=None,
        **asdict(result),
    )
    entry.at = now
    await session.flush()
    return result
