"""The few database reads and writes of the WhatsApp channel besides the runtime's turns.

- :func:`first_time`: records a message id and says whether it is new (duplicates dropped);
- :func:`record_status`: a status webhook (sent, delivered, read, failed) on its delivery row.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import (
    Delivery,
    DeliveryStatus,
    WhatsAppInbound,
    utcnow,
)

__all__ = ["first_time", "record_status"]


async def first_time(
    sessions: async_sessionmaker[AsyncSession], message_id: str, now: dt.datetime | None = None
) -> bool:
    """True the first time ``message_id`` is seen (in any process); False for a repeat."""
    try:
        async with sessions() as session, session.begin():
            session.add(WhatsAppInbound(message_id=message_id[:128], received_at=now or utcnow()))
    except IntegrityError:
        return False
    return True


# Meta's order: a late "delivered" must not turn a "read" back.
_ORDER = {"sent": 1, "delivered": 2, "read": 3}


async def record_status(
    session: AsyncSession,
    *,
    message_id: str,
    status: str,
    error: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Apply a status webhook to the delivery row with this provider message id; False when
    no row has it (a reply in a dialog, not a delivery)."""
    now = now or utcnow()
    delivery = await session.scalar(
        select(Delivery).where(Delivery.provider_message_id == message_id)
    )
    if delivery is None:
        return False
    if status == "failed":
        await session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id)
            .values(status=DeliveryStatus.FAILED, last_error=(error or "failed")[:300])
        )
        return True
    if status not in _ORDER:
        return True
    if status in ("delivered", "read") and delivery.delivered_at is None:
        delivery.delivered_at = now
    if status == "read" and delivery.read_at is None:
        delivery.read_at = now
    await session.flush()
    return True
