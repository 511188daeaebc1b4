"""Announcements, reminders and the delivery rows that carry them to each person."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, CreatedMixin, IdMixin, UTCDateTime, str_enum
from bot.models.enums import AnnouncementStatus, DeliveryStatus, ReminderStatus


class Announcement(IdMixin, CreatedMixin, Base):
    __tablename__ = "announcement"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id", ondelete="SET NULL"))
    # {"nl": "...", "tr": "..."}; Dutch is required, others fall back to it.
    texts: Mapped[dict[str, str]] = mapped_column(JSON)
    # e.g. {"all": true} or {"areas": [1, 2], "themes": ["liefleed"], "languages": ["tr"]}
    audience: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    send_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[AnnouncementStatus] = mapped_column(
        str_enum(AnnouncementStatus), default=AnnouncementStatus.DRAFT, index=True
    )
    # Set by the fan-out: when it started, and who was in and left out of the audience then
    # ({"recipients": n, "opted_out": n, "unreachable": n, "no_consent": n, "fallback": n}).
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    audience_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class Reminder(IdMixin, CreatedMixin, Base):
    """One reminder rule firing for one person and one object, at most once."""

    __tablename__ = "reminder"
    __table_args__ = (UniqueConstraint("rule", "person_id", "object_key"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(32))
    object_key: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[ReminderStatus] = mapped_column(
        str_enum(ReminderStatus), default=ReminderStatus.PENDING
    )
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class Delivery(IdMixin, CreatedMixin, Base):
    """One message to one person; the unique key makes a second enqueue a no-op."""

    __tablename__ = "delivery"
    # The workers' claim query: due queued rows and expired leases.
    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),)

    key: Mapped[str] = mapped_column(String(80), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    announcement_id: Mapped[int | None] = mapped_column(
        ForeignKey("announcement.id", ondelete="CASCADE"), index=True
    )
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id", ondelete="CASCADE"))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="SET NULL")
    )
    # Direct messages (e.g. "your request was approved") carry their rendered text here.
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.QUEUED, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Who holds the lease (worker and claim); a late result of a lost lease changes nothing.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    # Urgent rows are sent during quiet hours too; everything else waits until they end.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # From the platform's status callbacks (WhatsApp): the phone got it, the person opened it.
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ChannelThrottle(Base):
    """A channel's global send rate shared by every worker process: the theoretical arrival
    time ``tat`` of the next message (GCRA, the burst's spacing), the send moments reserved in
    the last second and ahead (``recent``, the one-second window) and a ``retry_after`` pause,
    in Unix seconds. Workers reserve a few slots at a time (bot/delivery/limits.py)."""

    __tablename__ = "channel_throttle"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    tat: Mapped[float] = mapped_column(Float, default=0.0)
    paused_until: Mapped[float] = mapped_column(Float, default=0.0)
    # Space-separated send moments (Unix seconds, ms), oldest first; older than 1 s pruned.
    recent: Mapped[str | None] = mapped_column(Text)


class ChatThrottle(Base):
    """When a chat may get its next message (at most one per ``chat_interval``), shared by every
    worker process; rows older than a minute are pruned."""

    __tablename__ = "chat_throttle"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    ready_unix: Mapped[float] = mapped_column(Float, index=True)
