"""Where each chat is in its dialog, so a dialog survives a restart halfway."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow


class ConversationState(Base):
    __tablename__ = "conversation_state"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identity.id", ondelete="CASCADE"), primary_key=True
    )
    dialog: Mapped[str | None] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # The options last shown, so a typed number or a button maps to the right value.
    options: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
