"""The audit log: every approval, redemption, export and deletion, who and when."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, IdMixin, UTCDateTime, utcnow


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_log"

    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # No foreign key: the entry must outlive the person who acted (right to be forgotten).
    actor_person_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(48), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # The street and area the action concerns (a street, its request, attention or sign-up),
    # so the leaders of that area or theme read it. No foreign keys, like the actor: the
    # entry outlives a street that is removed.
    area_id: Mapped[int | None] = mapped_column(Integer, index=True)
    street_id: Mapped[int | None] = mapped_column(Integer, index=True)
