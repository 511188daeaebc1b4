"""Telling a person something outside their own conversation, in their own language.

A leader's decision reaches the street's gangmakers later, on their own chat: :func:`notify`
renders the text with the *recipient's* translator and queues one :class:`Delivery` row in the
outbox. The row's unique ``key`` (e.g. ``f"budget:{request.id}:decided:{person.id}"``) makes a
retry of the same step a no-op instead of a second message.

Who carries a queued delivery out depends on the channel: Telegram and WhatsApp senders push it;
the terminal chat cannot push, so the conversation runtime shows a console identity's queued
messages at the start of its next turn (:func:`pending_for_identity`, :func:`mark_sent`).

No error keys: nothing here is something a person can do wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator, translator
from bot.models import ChannelIdentity, Delivery, DeliveryStatus, Organisation, Person, utcnow

KEY_MAX = 80  # Delivery.key column length

# A text for the recipient: already in their language, or a function that writes it with the
# recipient's translator (texts, money and dates in their language and time zone).
Text = str | Callable[[Translator], str]


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


async def translator_for(session: AsyncSession, person: Person) -> Translator:
    """The recipient's translator: their language, their organisation's time zone."""
    org = await session.get(Organisation, person.organisation_id)
    return translator(person.language, org.timezone if org is not None else "Europe/Amsterdam")


async def render(session: AsyncSession, person: Person, text: Text) -> str:
    if callable(text):
        return text(await translator_for(session, person))
    return text


async def _best_identity(session: AsyncSession, person: Person) -> ChannelIdentity | None:
    """Where to reach the person: a reachable identity, preferred first, then the one they
    wrote from last."""
    return await session.scalar(
        select(ChannelIdentity)
        .where(ChannelIdentity.person_id == person.id, ChannelIdentity.reachable.is_(True))
        .order_by(
            ChannelIdentity.preferred.desc(),
            ChannelIdentity.last_inbound_at.is_(None),
            ChannelIdentity.last_inbound_at.desc(),
            ChannelIdentity.id.desc(),
        )
        .limit(1)
    )


async def notify(
    session: AsyncSession,
    *,
    person: Person,
    key: str,
    text: Text,
    now: dt.datetime | None = None,
) -> Delivery:
    """Queue one message for ``person``; the same ``key`` again returns the first row.

    ``text`` is rendered once, now, in the recipient's language (pass a function of a
    :class:`Translator` to have it written for them). The row is QUEUED with ``body`` set and
    addressed to the person's best reachable identity (``None`` when they have none).
    """
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"a delivery key has 1..{KEY_MAX} characters: {key!r}")
    now = _now(now)
    existing = await session.scalar(select(Delivery).where(Delivery.key == key))
    if existing is not None:
        return existing
    identity = await _best_identity(session, person)
    delivery = Delivery(
        key=key,
        person_id=person.id,
        identity_id=identity.id if identity is not None else None,
        body=await render(session, person, text),
        status=DeliveryStatus.QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        # The same step run twice at once (a double click on two workers): one row wins.
        async with session.begin_nested():
            session.add(delivery)
            await session.flush()
    except IntegrityError:
        existing = await session.scalar(select(Delivery).where(Delivery.key == key))
        if existing is None:  # pragma: no cover - the constraint says it exists
            raise
        return existing
    return delivery


def _pending(identity_id: Any, person_id: Any) -> ColumnElement[bool]:
    return and_(
        Delivery.person_id == person_id,
        Delivery.status == DeliveryStatus.QUEUED,
        Delivery.body.is_not(None),
        or_(Delivery.identity_id == identity_id, Delivery.identity_id.is_(None)),
    )


async def pending_for_identity(session: AsyncSession, identity: ChannelIdentity) -> list[Delivery]:
    """Queued direct messages for this chat, oldest first: those addressed to it, and those
    of its person that have no address yet."""
    return list(
        await session.scalars(
            select(Delivery)
            .where(_pending(identity.id, identity.person_id))
            .order_by(Delivery.created_at, Delivery.id)
        )
    )


@cache
def has_pending() -> ColumnElement[bool]:
    """True when :func:`pending_for_identity` would find something, as an expression on
    :class:`ChannelIdentity` (an indexed EXISTS to evaluate inside another query; one object,
    so a query built with it can be reused)."""
    return exists().where(_pending(ChannelIdentity.id, ChannelIdentity.person_id))


async def mark_sent(
    session: AsyncSession,
    deliveries: Iterable[Delivery],
    *,
    identity: ChannelIdentity | None = None,
    provider_message_id: str | None = None,
    now: dt.datetime | None = None,
) -> list[Delivery]:
    """Mark deliveries SENT (only those still queued or sending: a row sent by someone else
    in the meantime is left alone). Returns the rows this call marked."""
    now = _now(now)
    marked = []
    for delivery in deliveries:
        values: dict[str, object] = {
            "status": DeliveryStatus.SENT,
            "sent_at": now,
            "attempts": delivery.attempts + 1,
            "lease_until": None,
            "next_attempt_at": None,
        }
        if identity is not None:
            values["identity_id"] = identity.id
        if provider_message_id is not None:
            values["provider_message_id"] = provider_message_id
        result = await session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery.id,
                Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            marked.append(delivery)
        await session.refresh(delivery)
    return marked
