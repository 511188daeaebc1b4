"""People, what they may do, and how we reach them.

Privacy by design: a first name (or initials) and a language is all we keep of a person.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, CreatedMixin, IdMixin, UTCDateTime, str_enum
from bot.models.enums import Channel, Role, Theme


class Person(IdMixin, CreatedMixin, Base):
    __tablename__ = "person"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    first_name: Mapped[str | None] = mapped_column(String(40))
    # Only for a neighbour helped on someone else's phone (assisted mode): their house number,
    # so the helper finds them again; everyone else leaves it empty.
    house_number: Mapped[str | None] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(8), default="nl")
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # STOP / afmelden: no more announcements (reminders are chosen per category instead).
    announcements_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # Preferred reminder time in minutes after local midnight; None = organisation default.
    reminder_minute: Mapped[int | None] = mapped_column(Integer)
    quiet_start_minute: Mapped[int | None] = mapped_column(Integer)
    quiet_end_minute: Mapped[int | None] = mapped_column(Integer)
    # Reminder categories this person switched off, e.g. ["report_due"].
    reminders_off: Mapped[list[str]] = mapped_column(JSON, default=list)

    roles: Mapped[list[RoleGrant]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )
    identities: Mapped[list[ChannelIdentity]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )

    def has_role(self, role: Role) -> bool:
        return any(grant.role == role for grant in self.roles)


class RoleGrant(IdMixin, Base):
    """One role of a person; a leader has one grant per area, a theme lead one per street theme,
    a payout point one per point."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("person_id", "role", "area_id", "payout_point_id"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    payout_point_id: Mapped[int | None] = mapped_column(ForeignKey("payout_point.id"))
    # Only for THEME_LEAD: the street theme led, in every area.
    theme: Mapped[Theme | None] = mapped_column(str_enum(Theme))

    person: Mapped[Person] = relationship(back_populates="roles")


class ChannelIdentity(IdMixin, CreatedMixin, Base):
    """An address on one messenger (a Telegram chat id, a WhatsApp number, a console name)."""

    __tablename__ = "channel_identity"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    address: Mapped[str] = mapped_column(String(64))
    last_inbound_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # False once the platform says the person blocked us; deliveries stop for good.
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    preferred: Mapped[bool] = mapped_column(Boolean, default=True)

    person: Mapped[Person] = relationship(back_populates="identities")
