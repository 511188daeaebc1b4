"""Organisations (tenants), their areas and payout points."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, CreatedMixin, IdMixin, Short


class Organisation(IdMixin, CreatedMixin, Base):
    """One town or foundation running Opzoomer / Lief & Leed streets; every number is its own."""

    __tablename__ = "organisation"

    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(Short)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    default_language: Mapped[str] = mapped_column(String(8), default="nl")
    liefleed_pot_cents: Mapped[int] = mapped_column(Integer, default=15000)
    max_rounds_per_year: Mapped[int] = mapped_column(Integer, default=4)
    max_open_requests_per_round: Mapped[int] = mapped_column(Integer, default=1)
    # Quiet hours as minutes after local midnight: 21:00-09:00 by default.
    quiet_start_minute: Mapped[int] = mapped_column(Integer, default=21 * 60)
    quiet_end_minute: Mapped[int] = mapped_column(Integer, default=9 * 60)
    liefleed_edit_days: Mapped[int] = mapped_column(Integer, default=7)

    areas: Mapped[list[Area]] = relationship(back_populates="organisation")


class Area(IdMixin, Base):
    """A gebied: every street belongs to one and leaders work per area."""

    __tablename__ = "area"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(Short)
    # Where a leader or gangmaker can be referred to for help (shown in the help dialog).
    contact_text: Mapped[str | None] = mapped_column(String(200))
    # Who receives the gangmakers' signals about neighbours (a person with a chat identity).
    welfare_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )

    organisation: Mapped[Organisation] = relationship(back_populates="areas")


class PayoutPoint(IdMixin, Base):
    """An uitbetaaladres: a neighbourhood house where awarded amounts are cashed."""

    __tablename__ = "payout_point"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(Short)
    address: Mapped[str | None] = mapped_column(String(200))
    opening_hours: Mapped[str | None] = mapped_column(String(200))
