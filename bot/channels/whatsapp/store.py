"""The few database reads and writes of the WhatsApp channel besides the runtime's turns.

- :func:`chat_view`: where a chat stands (for a pressed button's token) and its language;
- :func:`first_time`: records a message id and says whether it is new (duplicates dropped);
- :func:`record_status`: a status webhook (sent, delivered, read, failed) on its delivery row.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.whatsapp.buttons import ChatView
from bot.conversation.events import Option
from bot.conversation.runtime import QUESTION_KEY
from bot.models import (
    Channel,
    ChannelIdentity,
    ConversationState,
    Delivery,
    DeliveryStatus,
    Person,
    WhatsAppInbound,
    utcnow,
)

__all__ = ["ChatView", "chat_view", "first_time", "record_status"]


async def chat_view(session: AsyncSession, address: str) -> ChatView | None:
    row = (
        await session.execute(
            select(Person.language, Person.consent_at, ConversationState)
            .select_from(ChannelIdentity)
            .join(Person, Person.id == ChannelIdentity.person_id)
            .outerjoin(ConversationState, ConversationState.identity_id == ChannelIdentity.id)
            .where(ChannelIdentity.channel == Channel.WHATSAPP, ChannelIdentity.address == address)
        )
    ).first()
    if row is None:
        return None
    language, consent_at, state = row
    if state is None:
        return ChatView(language, consent_at is not None)
    data = dict(state.data or {})
    return ChatView(
        language,
        consent_at is not None,
        state.dialog,
        state.step,
        data.get(QUESTION_KEY),
        {k: v for k, v in data.items() if not k.startswith("_")},
        tuple(Option(label, value) for label, value in state.options or []),
    )


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
