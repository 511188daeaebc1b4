"""Campaign rounds and the budget requests (bijdragen) made in them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, CreatedMixin, IdMixin, UTCDateTime, str_enum, utcnow
from bot.models.enums import RequestStatus, RoundTheme
from bot.models.street import Street


class Round(IdMixin, CreatedMixin, Base):
    """A campaign round with its own window and maximum; windows of rounds may overlap."""

    __tablename__ = "round"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    # {"nl": "Voorjaarsronde", "en": "Spring round", ...}; Dutch is always present.
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    theme: Mapped[RoundTheme] = mapped_column(str_enum(RoundTheme), default=RoundTheme.GENERAL)
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    max_amount_cents: Mapped[int] = mapped_column(Integer)
    # Things in kind the round offers: ["cleaning_kit", "flower_bulbs", "work_hut", ...].
    in_kind_offers: Mapped[list[str]] = mapped_column(JSON, default=list)

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("nl") or next(iter(self.names.values()))


class BudgetRequest(IdMixin, CreatedMixin, Base):
    """A street's request for a round's contribution, its review, payout and report."""

    __tablename__ = "budget_request"

    reference: Mapped[str] = mapped_column(String(12), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    # Asked on a helper's phone for the person in requested_by_id (assisted mode).
    helped_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    activity: Mapped[str] = mapped_column(String(200))
    activity_date: Mapped[dt.date] = mapped_column(Date)
    expected_participants: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    plan: Mapped[str | None] = mapped_column(Text)
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus), default=RequestStatus.SUBMITTED, index=True
    )
    awarded_cents: Mapped[int | None] = mapped_column(Integer)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    payout_code: Mapped[str | None] = mapped_column(String(12), unique=True)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paid_at_point_id: Mapped[int | None] = mapped_column(ForeignKey("payout_point.id"))
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    report_participants: Mapped[int | None] = mapped_column(Integer)
    # Photo references as the channel gave them: ["telegram:AgAC...", "whatsapp:1234"].
    report_photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    round: Mapped[Round] = relationship(lazy="joined")
    street: Mapped[Street] = relationship(lazy="joined")
