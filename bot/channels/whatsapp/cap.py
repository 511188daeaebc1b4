"""The daily cap of new conversations, counted in the database (table ``whatsapp_conversation``).

A template to someone outside their 24-hour window opens a conversation; the number's messaging
tier allows ``limit`` of them (distinct recipients) in any 24 hours. The count lives in the
database, so it survives a restart and every worker process shares it.

:meth:`ConversationCap.reserve` runs before a template goes, in one short transaction:

1. (PostgreSQL) ``pg_advisory_xact_lock``: reservations for one number take turns, so two
   workers cannot both take the last place (on SQLite the first statement's write lock does the
   same: writers take turns);
2. ``INSERT ... ON CONFLICT DO UPDATE ... WHERE opened_at <= now - 24h RETURNING``: a row comes
   back when this is a *new* conversation (no row yet, or the last one is over a day old);
   none when a conversation with the recipient is still open (it costs nothing more);
3. for a new one, the count of open conversations: over ``limit``, the transaction is rolled
   back and the answer is "wait until the oldest open one is a day old".

:meth:`ConversationCap.release` gives a place back when the template was not sent after all.
Recipients are stored as a hash of their number.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import WhatsAppConversation as Conv

DAY = dt.timedelta(hours=24)
PRUNE_EVERY = dt.timedelta(hours=1)


def recipient_hash(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


def _lock_key(phone_number_id: str) -> int:
    # A signed 64-bit key for pg_advisory_xact_lock, the same in every process.
    digest = hashlib.sha256(f"whatsapp_conversation:{phone_number_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True, slots=True)
class Place:
    """The answer of :meth:`ConversationCap.reserve`: ``new`` (a place was taken at ``at``),
    open already (``new`` False, ``wait`` None), or full (``wait`` seconds until a place frees)."""

    new: bool = False
    at: dt.datetime | None = None
    wait: float | None = None

    @property
    def full(self) -> bool:
        return self.wait is not None


class _Full(Exception):
    def __init__(self, wait: float) -> None:
        self.wait = wait


class ConversationCap:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        phone_number_id: str,
        limit: int,
    ) -> None:
        self.sessions = sessions
        self.phone_number_id = phone_number_id[:32]
        self.limit = limit
        self._pruned: dt.datetime | None = None
        self._turn = asyncio.Lock()

    async def reserve(self, address: str, now: dt.datetime) -> Place:
        # This process's sends queue here, not each for the database's lock (on SQLite a
        # writer waiting for the lock polls with sleeps; on PostgreSQL each waiter would hold a
        # pooled connection). Other processes still take turns through the database.
        async with self._turn:
            try:
                async with self.sessions() as session, session.begin():
                    return await self._reserve(session, recipient_hash(address), now)
            except _Full as full:  # rolled back: no place taken
                return Place(wait=full.wait)

    async def _reserve(self, session: AsyncSession, recipient: str, now: dt.datetime) -> Place:
        since = now - DAY
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert

            lock = func.pg_advisory_xact_lock(_lock_key(self.phone_number_id))
            await session.execute(select(lock))
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(Conv).values(
            phone_number_id=self.phone_number_id, recipient_hash=recipient, opened_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["phone_number_id", "recipient_hash"],
            set_={"opened_at": statement.excluded.opened_at},
            where=Conv.opened_at <= since,
        ).returning(Conv.recipient_hash)
        if (await session.execute(statement)).first() is None:
            return Place()  # a conversation with them is open: no new one
        # Ours included (just written, at ``now``): the others are older, so the oldest is
        # theirs when there are too many.
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(Conv.opened_at)).where(
                    Conv.phone_number_id == self.phone_number_id, Conv.opened_at > since
                )
            )
        ).one()
        if count > self.limit:
            wait = (oldest + DAY - now).total_seconds() if oldest is not None else 60.0
            raise _Full(max(wait, 1.0))
        if self._pruned is None or now - self._pruned > PRUNE_EVERY:
            self._pruned = now
            await session.execute(
                delete(Conv).where(
                    Conv.phone_number_id == self.phone_number_id, Conv.opened_at <= since
                )
            )
        return Place(new=True, at=now)

    async def release(self, address: str, place: Place) -> None:
        """The template did not go: give the place back (unless another send took it since)."""
        if not place.new or place.at is None:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(
                delete(Conv).where(
                    Conv.phone_number_id == self.phone_number_id,
                    Conv.recipient_hash == recipient_hash(address),
                    Conv.opened_at == place.at,
                )
            )

    async def open_count(self, now: dt.datetime) -> int:
        """Conversations opened in the 24 hours before ``now``."""
        async with self.sessions() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(
                        Conv.phone_number_id == self.phone_number_id, Conv.opened_at > now - DAY
                    )
                )
                or 0
            )
