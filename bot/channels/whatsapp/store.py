"""The few database reads and writes of the WhatsApp channel besides the runtime's turns.

- :func:`first_time`: records a message id and says whether it is new (duplicates dropped);
- :func:`record_status`: a status webhook (sent, delivered, read, failed) on its delivery row;
- :func:`keep_body` / :func:`drop_body` / :func:`leftover_bodies`: the durable inbox, webhook
  bodies kept from before Meta's 200 until they are handled.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import (
    Delivery,
    DeliveryStatus,
    WhatsAppInbound,
    WhatsAppWebhookBody,
    utcnow,
)

__all__ = ["drop_body", "first_time", "keep_body", "leftover_bodies", "record_status"]


async def keep_body(
    sessions: async_sessionmaker[AsyncSession], body: bytes, chat: str | None
) -> int:
    """Store a signed webhook body before it is answered (one short INSERT); its row id."""
    row = WhatsAppWebhookBody(
        body=body.decode("utf-8", "replace"), chat=chat[:128] if chat else None
    )
    async with sessions() as session, session.begin():
        session.add(row)
    return row.id


async def drop_body(sessions: async_sessionmaker[AsyncSession], row_id: int) -> None:
    """A body is handled: its row goes."""
    async with sessions() as session, session.begin():
        await session.execute(delete(WhatsAppWebhookBody).where(WhatsAppWebhookBody.id == row_id))


async def leftover_bodies(
    sessions: async_sessionmaker[AsyncSession], received_before: dt.datetime | None = None
) -> list[tuple[int, bytes, str | None]]:
    """Bodies kept and not handled (a process stopped first), in the order they came:
    ``(row id, body, chat)``; only those received before ``received_before`` when given."""
    query = select(WhatsAppWebhookBody.id, WhatsAppWebhookBody.body, WhatsAppWebhookBody.chat)
    if received_before is not None:
        query = query.where(WhatsAppWebhookBody.received_at < received_before)
    async with sessions() as session:
        rows = (await session.execute(query.order_by(WhatsAppWebhookBody.id))).all()
    return [(row_id, body.encode("utf-8"), chat) for row_id, body, chat in rows]


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
