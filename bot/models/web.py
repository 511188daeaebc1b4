"""Accounts for the project leaders' web dashboard.

An account signs a :class:`~bot.models.Person` in on the web; what the account may see and do
comes from that person's role grants (admin, leader per area, theme lead per street theme,
payout point), the same rules the chat uses. Only a hash of the password is stored (argon2).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, CreatedMixin, IdMixin, UTCDateTime
from bot.models.people import Person


class WebAccount(IdMixin, CreatedMixin, Base):
    __tablename__ = "web_account"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # Failed sign-ins in a row; reaching the limit locks the account until ``locked_until``.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Raised by a password reset: sessions carrying an older number are signed out.
    session_version: Mapped[int] = mapped_column(Integer, default=1)

    person: Mapped[Person] = relationship(lazy="joined")


class WebLoginFailure(IdMixin, Base):
    """A wrong sign-in from one client address, kept only for the lock-out window (rows
    older than that are deleted at the next failure): too many from one address, across
    accounts, block that address for a while."""

    __tablename__ = "web_login_failure"

    client_ip: Mapped[str] = mapped_column(String(45), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
