"""A per-chat throttle: someone sending 50 messages a second is slowed down, nobody else is.

Each chat (channel + address) has a token bucket: ``burst`` messages at once, then ``rate``
messages a second. A message over the limit is dropped before it touches the database; the
first one dropped gets one friendly "slow down" in the person's language, the rest get no
answer until the bucket has room again. Other chats have their own buckets, so their turns go on
as usual.

``burst`` and ``rate`` come from the settings ``CHAT_FLOOD_BURST`` (10) and ``CHAT_FLOOD_RATE``
(1 a second) where each channel is made (``from_settings``: Telegram and WhatsApp runners).

The runtime calls :meth:`Throttle.check` first thing in ``Runtime.handle``. The buckets live in
the process's memory: with several web processes each keeps its own (a flood is still cut to
a few messages a second per process), and a restart forgets them, which is harmless.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.conversation.events import Incoming, Reply
from bot.i18n import translator
from bot.models import ChannelIdentity, Person
from bot.services.people import _language_from_hint


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: dt.datetime
    warned: bool = False


class Throttle:
    """``Throttle(rate=1.0, burst=10)``; ``await throttle.check(sessions, incoming, now)``
    returns None to go on, or the replies to send instead of a turn (maybe none)."""

    def __init__(
        self,
        *,
        rate: float = 1.0,
        burst: int = 10,
        default_language: str = "nl",
        max_chats: int = 100_000,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.default_language = default_language
        self.max_chats = max_chats
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()
        self.dropped = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        """The production throttle: ``CHAT_FLOOD_BURST`` / ``CHAT_FLOOD_RATE``."""
        return cls(
            rate=settings.chat_flood_rate,
            burst=settings.chat_flood_burst,
            default_language=settings.default_language,
        )

    def allow(self, key: tuple[str, str], now: dt.datetime) -> tuple[bool, bool]:
        """(allowed, first refusal since the last allowed message) for one message."""
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        else:
            elapsed = max(0.0, (now - bucket.at).total_seconds())
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
            bucket.at = now
        self._buckets[key] = bucket  # most recently used last
        while len(self._buckets) > self.max_chats:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return True, False
        first = not bucket.warned
        bucket.warned = True
        self.dropped += 1
        return False, first

    async def check(
        self,
        sessions: async_sessionmaker[AsyncSession],
        incoming: Incoming,
        now: dt.datetime,
    ) -> list[Reply] | None:
        allowed, first = self.allow((str(incoming.channel), incoming.address), now)
        if allowed:
            return None
        if not first:
            return []
        language = await self._language(sessions, incoming)
        t = translator(language)
        return [
            Reply(
                t._(
                    "You are sending messages very fast. Please wait a moment, then send your "
                    "message again."
                )
            )
        ]

    async def _language(
        self, sessions: async_sessionmaker[AsyncSession], incoming: Incoming
    ) -> str:
        """The person's language (one small query, once per flood); else their app's."""
        async with sessions() as session:
            language = await session.scalar(
                select(Person.language)
                .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
                .where(
                    ChannelIdentity.channel == incoming.channel,
                    ChannelIdentity.address == incoming.address,
                )
            )
        if language:
            return language
        return _language_from_hint(incoming.language_hint) or self.default_language
