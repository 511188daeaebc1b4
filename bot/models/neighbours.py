"""Neighbours of a street: the street's invite for them, their subscriptions and street news.

Least data: a subscription links a person (chat address and language, nothing else) to a
street. No name and no house number are needed to receive the news or to send a tip.

A neighbour without a chat app of their own is subscribed on a helper's phone (assisted mode):
the person is then the neighbour's initials, house number and language
(``bot/services/assisted.py``), ``helped_by_id`` is the helper, and the news goes to the
helper's chat in the neighbour's language.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, CreatedMixin, IdMixin, UTCDateTime


class NeighbourInvite(IdMixin, CreatedMixin, Base):
    """The code in a street's neighbour link and QR card (never the gangmaker invite code)."""

    __tablename__ = "neighbour_invite"

    street_id: Mapped[int] = mapped_column(ForeignKey("street.id", ondelete="CASCADE"), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)


class StreetSubscription(IdMixin, CreatedMixin, Base):
    """A neighbour gets this street's news (in the person's own language)."""

    __tablename__ = "street_subscription"
    __table_args__ = (UniqueConstraint("street_id", "person_id"),)

    street_id: Mapped[int] = mapped_column(ForeignKey("street.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # Assisted mode: the helper whose chat receives this neighbour's news. Without the helper
    # the news has nowhere to go, so the subscription goes with them.
    helped_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )


class NeighbourTip(IdMixin, CreatedMixin, Base):
    """That a neighbour sent a tip, for the daily limit; nothing of the tip itself.

    The tip's deliveries to the gangmakers do not say who sent it; these rows go when the
    sender is forgotten and are pruned after a day by the retention job.
    """

    __tablename__ = "neighbour_tip"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)


class StreetNews(IdMixin, CreatedMixin, Base):
    """One message of a street's gangmaker to its subscribed neighbours.

    Either a ``template`` with its ``slots`` (rendered per recipient, in their language), or
    ``free_text`` sent as written.
    """

    __tablename__ = "street_news"

    street_id: Mapped[int] = mapped_column(ForeignKey("street.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    template: Mapped[str | None] = mapped_column(String(32))
    # {"date": "2026-12-05", "time": 1170, "place": "bij nummer 12"}
    slots: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    free_text: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
