"""Assisted sessions (a resident helping a neighbour on their own phone) and signals (a
gangmaker's concern about a neighbour, passed on to the area's welfare contact).

Both are short-lived by design: an assisted session lasts while it is used (15 minutes idle at
most) and a signal is deleted after 90 days (``bot/services/retention.py``). Neither stores a
neighbour's name: initials (at most 3 letters) and a house number at most.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, CreatedMixin, IdMixin, UTCDateTime, utcnow


class AssistedSession(IdMixin, Base):
    """A chat acting for another person: "acting for person X, in language L, until T".

    One row per chat identity at most; it is deleted when the session ends.
    """

    __tablename__ = "assisted_session"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="CASCADE"), unique=True
    )
    helper_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_active_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Signal(IdMixin, CreatedMixin, Base):
    """A concern about a neighbour, sent to the area's welfare contact; deleted after 90 days."""

    __tablename__ = "signal"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id", ondelete="SET NULL"))
    reported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    sent_to_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # loneliness | illness | dementia | neglect | money | other
    concern: Mapped[str] = mapped_column(String(16))
    house_number: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(140))
    neighbour_agreed: Mapped[bool] = mapped_column(Boolean, default=False)
