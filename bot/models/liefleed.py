"""Lief & Leed: a street's yearly pot and the attentions paid from it.

No neighbour names, ever: at most a house number and a short note.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, CreatedMixin, IdMixin, UTCDateTime, str_enum
from bot.models.enums import AttentionKind, OccasionType


class LiefLeedPot(IdMixin, CreatedMixin, Base):
    __tablename__ = "liefleed_pot"
    __table_args__ = (UniqueConstraint("street_id", "year"),)

    street_id: Mapped[int] = mapped_column(ForeignKey("street.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)


class Attention(IdMixin, CreatedMixin, Base):
    __tablename__ = "attention"

    pot_id: Mapped[int] = mapped_column(
        ForeignKey("liefleed_pot.id", ondelete="CASCADE"), index=True
    )
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # Occasion key from the open list ("baby", "illness", ...) or "other".
    occasion: Mapped[str] = mapped_column(String(24))
    occasion_type: Mapped[OccasionType] = mapped_column(str_enum(OccasionType))
    kind: Mapped[AttentionKind] = mapped_column(str_enum(AttentionKind))
    cost_cents: Mapped[int] = mapped_column(Integer)
    given_on: Mapped[dt.date] = mapped_column(Date)
    house_number: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(140))
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
