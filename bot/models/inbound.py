"""Updates already taken in from a channel, so a redelivered one is handled only once.

Telegram retries a webhook call it got no answer to, and two pollers can overlap at a restart:
the same ``update_id`` then arrives twice. The first arrival inserts its row; a second finds it
and is dropped (``bot/channels/inbound.py``). Rows older than a week are pruned.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, str_enum, utcnow
from bot.models.enums import Channel


class ProcessedUpdate(Base):
    __tablename__ = "processed_update"

    channel: Mapped[Channel] = mapped_column(str_enum(Channel), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_processed_update_received_at", "received_at"),)
