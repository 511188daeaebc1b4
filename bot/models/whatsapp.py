"""What the WhatsApp channel must remember: the messages it already handled, the webhook bodies
it took in and has not handled yet, and the codes that link a second chat app to a person.

Meta delivers a webhook at least once and repeats it when we answer slowly; a message id seen
before is dropped. The id is unique here, so two web processes cannot both handle it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, IdMixin, UTCDateTime, utcnow


class WhatsAppInbound(IdMixin, Base):
    __tablename__ = "whatsapp_inbound"

    # Meta's message id ("wamid.…"); nothing else of the message is kept here.
    message_id: Mapped[str] = mapped_column(String(128), unique=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class WhatsAppWebhookBody(IdMixin, Base):
    """A signed webhook body taken in and not yet handled (the durable inbox).

    Written before Meta gets its 200, deleted once handled: a process that dies in between
    leaves the row, and the next start (or another process, a minute later) handles it. It
    holds the message's text, so it lives only until handled (retention deletes any over a
    day old as a safety net)."""

    __tablename__ = "whatsapp_webhook_body"

    body: Mapped[str] = mapped_column(Text)
    # Whose chat (the sender's address), to handle a chat's bodies in order; None if unknown.
    chat: Mapped[str | None] = mapped_column(String(128), nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class LinkCode(IdMixin, Base):
    """A short code that links a second chat app to a person (WhatsApp and Telegram, say).

    Made in one app (Settings, Link another app), typed in the other within minutes; one code
    per person at a time, deleted when used.
    """

    __tablename__ = "link_code"

    code: Mapped[str] = mapped_column(String(12), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WhatsAppConversation(Base):
    """A conversation a template opened with someone outside their 24-hour window, for the
    number's daily cap (its messaging tier): how many are open in the last 24 hours is counted
    here, so the cap holds across restarts and over every worker process.

    One row per (sending number, recipient), re-used when the recipient's last one is older than
    24 hours. The recipient is a hash of the number, not the number; old rows are pruned.
    """

    __tablename__ = "whatsapp_conversation"
    # The count of a number's open conversations reads this index alone.
    __table_args__ = (Index("ix_whatsapp_conversation_open", "phone_number_id", "opened_at"),)

    phone_number_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # sha256 of the recipient's number, hex: enough to count, no number kept.
    recipient_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
