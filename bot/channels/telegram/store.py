"""The few database reads and writes the Telegram channel needs besides the runtime's turns.

- :func:`chat_view`: where a chat stands (its open question and options) and the person's
  language and consent, to check a pressed button's token and to answer in their language.

Whether a chat is reachable is the people service's rule (``people.set_reachable``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram import callbacks
from bot.conversation.events import Option
from bot.conversation.runtime import QUESTION_KEY
from bot.models import Channel, ChannelIdentity, ConversationState, Person


@dataclass(frozen=True, slots=True)
class ChatView:
    language: str
    consented: bool
    dialog: str | None = None
    step: str | None = None
    question: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    options: tuple[Option, ...] = ()

    def token(self, options: tuple[Option, ...]) -> str:
        """The token of a keyboard with ``options`` shown at the chat's current question."""
        return callbacks.state_token(self.dialog, self.step, self.question, self.data, options)

    def option(self, pressed: callbacks.Pressed | None) -> Option | None:
        """The open option a button press means, or None when the press is stale or forged."""
        if pressed is None or not self.options or pressed.token != self.token(self.options):
            return None
        return next((o for o in self.options if o.value == pressed.value), None)


async def chat_view(session: AsyncSession, address: str) -> ChatView | None:
    row = (
        await session.execute(
            select(Person.language, Person.consent_at, ConversationState)
            .select_from(ChannelIdentity)
            .join(Person, Person.id == ChannelIdentity.person_id)
            .outerjoin(ConversationState, ConversationState.identity_id == ChannelIdentity.id)
            .where(ChannelIdentity.channel == Channel.TELEGRAM, ChannelIdentity.address == address)
        )
    ).first()
    if row is None:
        return None
    language, consent_at, state = row
    if state is None:
        return ChatView(language, consent_at is not None)
    data = dict(state.data or {})
    return ChatView(
        language,
        consent_at is not None,
        state.dialog,
        state.step,
        data.get(QUESTION_KEY),
        {k: v for k, v in data.items() if not k.startswith("_")},
        tuple(Option(label, value) for label, value in state.options or []),
    )
