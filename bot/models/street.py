"""Opzoomer streets and who the gangmakers of each are."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, CreatedMixin, IdMixin, Short, UTCDateTime, str_enum
from bot.models.enums import StreetStatus
from bot.models.organisation import Area


class Street(IdMixin, CreatedMixin, Base):
    """A campaign street: a whole street, a house-number section, or merged small streets."""

    __tablename__ = "street"
    # The same street and section can be signed up once; a second sign-up becomes a join.
    __table_args__ = (UniqueConstraint("organisation_id", "name_key", "section_key"),)

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(Short)
    # Free text: "1-47 oneven", "hoek Zaagmolenkade" or "+ Snellemanstraat" for merged streets.
    section: Mapped[str | None] = mapped_column(Short)
    name_key: Mapped[str] = mapped_column(Short)
    section_key: Mapped[str] = mapped_column(Short, default="")
    households: Mapped[int | None] = mapped_column(Integer)
    theme_liefleed: Mapped[bool] = mapped_column(Boolean, default=False)
    theme_green: Mapped[bool] = mapped_column(Boolean, default=False)
    theme_clean: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[StreetStatus] = mapped_column(
        str_enum(StreetStatus), default=StreetStatus.PENDING, index=True
    )
    invite_code: Mapped[str] = mapped_column(String(12), unique=True)
    signed_up_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    # Signed up on a helper's phone for the person in signed_up_by_id (assisted mode).
    helped_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    review_reason: Mapped[str | None] = mapped_column(String(300))

    area: Mapped[Area] = relationship(lazy="joined")
    memberships: Mapped[list[StreetMembership]] = relationship(
        back_populates="street", cascade="all, delete-orphan"
    )


class StreetMembership(IdMixin, CreatedMixin, Base):
    """A person is a gangmaker (or a subscribed resident) of a street."""

    __tablename__ = "street_membership"
    __table_args__ = (UniqueConstraint("street_id", "person_id"),)

    street_id: Mapped[int] = mapped_column(ForeignKey("street.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    is_gangmaker: Mapped[bool] = mapped_column(Boolean, default=True)

    street: Mapped[Street] = relationship(back_populates="memberships")
