"""What the chat-app channels (Telegram, WhatsApp) share, without any messenger's library.

- **Button data** ``v1|<state token>|<option value>`` (Telegram's callback data, WhatsApp's
  reply-button and list-row ids): the token is a short hash of where the chat stood (dialog,
  step, the question, the dialog's data) and the options shown. A press counts only while the
  chat still stands at that question with those options; an older keyboard or list, a button of
  an earlier round of the same step, or data from elsewhere (another version, a wrong token,
  garbage) is refused before the runtime sees it. The token is no secret: whoever can press a
  button can as well type the option's number; it only keeps stale buttons from acting.
- :class:`ChatView` / :func:`chat_view`: where a chat stands (open question and options) and the
  person's language and consent, to check a pressed button and to answer in their language.
- :class:`ChatLocks`: a chat's updates one after the other, other chats go on.
- :class:`RetryPolicy`: how hard one API call is tried.

Kept free of aiogram and pywa: a WhatsApp-only process never loads aiogram (its import costs
seconds and about 100 MB), and the other way round.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.events import MAX_VALUE_BYTES, Option
from bot.conversation.runtime import QUESTION_KEY
from bot.models import Channel, ChannelIdentity, ConversationState, Person

__all__ = [
    "MAX_DATA_BYTES",
    "SEPARATOR",
    "TOKEN_CHARS",
    "VERSION",
    "ChatLocks",
    "ChatView",
    "Pressed",
    "RetryPolicy",
    "chat_view",
    "decode",
    "encode",
    "state_token",
]

# --- button data -----------------------------------------------------------------------------

VERSION = "v1"
SEPARATOR = "|"
TOKEN_CHARS = 8  # 48 bits of a SHA-256, base64url
# The smallest room a channel gives: Telegram's callback_data (WhatsApp allows 256 characters).
MAX_DATA_BYTES = 64

# v1|<8>|<48 bytes> = 60 bytes: the largest option value fits.
assert len(VERSION) + 2 * len(SEPARATOR) + TOKEN_CHARS + MAX_VALUE_BYTES <= MAX_DATA_BYTES


def state_token(
    dialog: str | None,
    step: str | None,
    question: str | None,
    data: Mapping[str, Any] | None,
    options: Iterable[Option | tuple[str, str] | list[str]],
) -> str:
    """The token of the buttons shown at this point of a dialog."""
    pairs = [[o.label, o.value] if isinstance(o, Option) else list(o) for o in options]
    material = json.dumps(
        [dialog, step, question, data or {}, pairs],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    digest = hashlib.sha256(material.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:TOKEN_CHARS]


def encode(token: str, value: str) -> str:
    data = SEPARATOR.join((VERSION, token, value))
    if len(data.encode()) > MAX_DATA_BYTES:
        raise ValueError(f"button data over {MAX_DATA_BYTES} bytes: {data!r}")
    return data


@dataclass(frozen=True, slots=True)
class Pressed:
    token: str
    value: str


def decode(data: str | None) -> Pressed | None:
    """The token and value of our own button data; None for anything else."""
    if not data:
        return None
    version, sep, rest = data.partition(SEPARATOR)
    token, sep2, value = rest.partition(SEPARATOR)
    if version != VERSION or not sep or not sep2 or len(token) != TOKEN_CHARS or not value:
        return None
    return Pressed(token, value)


# --- where a chat stands ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatView:
    """Where a chat stands: its language, consent and open question with its options."""

    language: str
    consented: bool
    dialog: str | None = None
    step: str | None = None
    question: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    options: tuple[Option, ...] = ()

    def token(self, options: tuple[Option, ...]) -> str:
        """The token of buttons with ``options`` shown at the chat's current question."""
        return state_token(self.dialog, self.step, self.question, self.data, options)

    def option(self, pressed: Pressed | None) -> Option | None:
        """The open option a button press means, or None when the press is stale or forged."""
        if pressed is None or not self.options or pressed.token != self.token(self.options):
            return None
        return next((o for o in self.options if o.value == pressed.value), None)


async def chat_view(session: AsyncSession, channel: Channel, address: str) -> ChatView | None:
    """The view of the chat ``address`` on ``channel``; None for a chat we do not know."""
    row = (
        await session.execute(
            select(Person.language, Person.consent_at, ConversationState)
            .select_from(ChannelIdentity)
            .join(Person, Person.id == ChannelIdentity.person_id)
            .outerjoin(ConversationState, ConversationState.identity_id == ChannelIdentity.id)
            .where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
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


# --- handling updates and calling the API ------------------------------------------------------


class ChatLocks:
    """One lock per chat: a chat's updates are handled one after the other, in order, while
    other chats go on; a lock lives only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one API call is tried: ``attempts`` in all, waiting ``base_delay * 2**n``
    seconds (at most ``max_delay``) in between. Telegram: a 429 waits its ``retry_after`` (up
    to ``max_retry_after`` seconds, else we give up); network errors and 5xx back off.
    WhatsApp: Meta's rate-limit codes back off."""

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 16.0
    max_retry_after: float = 60.0
