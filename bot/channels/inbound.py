"""Each channel update is handled once, however often it is delivered.

Telegram retries a webhook call that got no answer in time, and two pollers overlap for a
moment when a process restarts: the same ``update_id`` can arrive twice, even at two processes.
:func:`first_arrival` inserts ``(channel, update_id)`` into ``processed_update`` in its own
transaction; the primary key lets exactly one arrival win, in any process, on SQLite and
PostgreSQL alike. The row is written before the update is handled: an update whose process dies
halfway is not handled again (at most once: a repeated budget request or payout is worse than
a message the person sends again).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import Channel, ProcessedUpdate, utcnow

log = logging.getLogger(__name__)

# How long an update id is remembered (Telegram keeps undelivered updates for 24 hours).
KEEP_FOR = dt.timedelta(days=7)
# Prune old rows on every this-many-th update id (cheap, no extra process needed).
PRUNE_EVERY = 1000


async def first_arrival(
    sessions: async_sessionmaker[AsyncSession],
    channel: Channel,
    update_id: int,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """True the first time ``update_id`` arrives on ``channel``; False for every repeat."""
    now = now or utcnow()
    try:
        async with sessions() as session, session.begin():
            session.add(ProcessedUpdate(channel=channel, update_id=update_id, received_at=now))
            await session.flush()
            if update_id % PRUNE_EVERY == 0:
                await prune(session, before=now - KEEP_FOR)
    except IntegrityError:
        log.info("%s update %s arrived again; dropped", channel.value, update_id)
        return False
    return True


async def prune(session: AsyncSession, *, before: dt.datetime) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.received_at < before)
    )
    return result.rowcount or 0
