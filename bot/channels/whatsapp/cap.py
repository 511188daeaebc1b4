"""The daily cap of new conversations, counted in the database (table ``whatsapp_conversation``).

A template to someone outside their 24-hour window opens a conversation; the number's messaging
tier allows ``limit`` of them (distinct recipients) in any 24 hours. The count lives in the
database, so it survives a restart and every worker process shares it.

:meth:`ConversationCap.reserve` runs before a template goes. The reservations of one process
queue in memory and go to the database together, in one short transaction:

1. (PostgreSQL) ``pg_advisory_xact_lock``: the processes take turns per number, so two workers
   cannot both take the last place (on SQLite the first statement's write lock does the same);
2. rows over a day old are deleted (on SQLite this write takes the lock before any read);
3. the open conversations are counted and the batch's recipients looked up: one with an open
   conversation costs nothing more; a new one takes a free place (a row at ``now``) while there
   is one, else it waits until the oldest open conversation is a day old.

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


Request = tuple[str, dt.datetime, "asyncio.Future[Place]"]


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
        self._turn = asyncio.Lock()
        self._queue: list[Request] = []

    async def reserve(self, address: str, now: dt.datetime) -> Place:
        """A place for a new conversation with ``address`` (or the news that one is open, or
        how long to wait). This process's sends queue here and go to the database together,
        one transaction for all that waited (sends run side by side, 100 at a time); other
        processes take turns with it through the database's lock."""
        answer: asyncio.Future[Place] = asyncio.get_running_loop().create_future()
        request = (recipient_hash(address), now, answer)
        self._queue.append(request)
        try:
            async with self._turn:
                if not answer.done():
                    await self._run(request)
        except asyncio.CancelledError:
            if request in self._queue:  # never reached the database: nothing to undo
                self._queue.remove(request)
            raise
        return answer.result()

    async def _run(self, own: Request) -> None:
        """One transaction for every request waiting (``own`` among them)."""
        batch, self._queue = self._queue, []
        try:
            async with self.sessions() as session, session.begin():
                places = await self._reserve(session, batch)
        except asyncio.CancelledError:
            # Our caller gave up (a send timeout): the others wait for the next turn.
            self._queue[:0] = [r for r in batch if r is not own]
            raise
        except Exception as error:  # every caller raises it (the engine tries the row again)
            for _, _, future in batch:
                future.set_exception(error)
            return
        for (_, _, future), place in zip(batch, places, strict=True):
            future.set_result(place)

    async def _reserve(self, session: AsyncSession, batch: list[Request]) -> list[Place]:
        latest = max(now for _, now, _ in batch)
        since = latest - DAY
        mine = Conv.phone_number_id == self.phone_number_id
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert

            lock = func.pg_advisory_xact_lock(_lock_key(self.phone_number_id))
            await session.execute(select(lock))
        else:
            from sqlalchemy.dialects.sqlite import insert
        # First a write (on SQLite it takes the write lock before anything is read): the
        # conversations over a day old are no longer counted.
        await session.execute(delete(Conv).where(mine, Conv.opened_at <= since))
        count, oldest = (
            await session.execute(select(func.count(), func.min(Conv.opened_at)).where(mine))
        ).one()
        hashes = list(dict.fromkeys(h for h, _, _ in batch))
        is_open = set(
            await session.scalars(
                select(Conv.recipient_hash).where(mine, Conv.recipient_hash.in_(hashes))
            )
        )
        free = self.limit - count
        places: list[Place] = []
        rows: list[dict[str, object]] = []
        for recipient, now, _ in batch:
            if recipient in is_open:
                places.append(Place())  # a conversation with them is open: no new one
            elif free > 0:
                free -= 1
                is_open.add(recipient)
                rows.append(
                    {
                        "phone_number_id": self.phone_number_id,
                        "recipient_hash": recipient,
                        "opened_at": now,
                    }
                )
                places.append(Place(new=True, at=now))
            else:
                first = min(oldest or now, now)
                places.append(Place(wait=max((first + DAY - now).total_seconds(), 1.0)))
        if rows:
            statement = insert(Conv).values(rows)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["phone_number_id", "recipient_hash"],
                    set_={"opened_at": statement.excluded.opened_at},
                )
            )
        return places

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
