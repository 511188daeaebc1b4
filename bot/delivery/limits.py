"""A channel's send limits shared by every worker process, through the database.

:class:`~bot.delivery.senders.ChannelLimiter` keeps a channel's limits in one process: two
workers would each send 30 messages a second. :class:`SharedChannelLimiter` keeps them in two
small tables (``channel_throttle``, ``chat_throttle``) so that all workers together keep:

- **the global rate** (GCRA, as the in-process limiter): the row of the channel holds the
  theoretical arrival time ``tat`` of the next message. A worker *reserves* a block of slots
  with one atomic ``UPDATE ... SET tat = greatest(tat, now - tolerance, paused_until) + n *
  interval RETURNING tat`` (on PostgreSQL the row lock makes concurrent reservations queue up;
  on SQLite writers take turns anyway) and sends at those moments. A block covers about
  ``BLOCK_SECONDS`` of the rate (8 slots at 30/s), so the database sees about four small
  updates a second per worker. Slots a worker did not use (its tick ended, it stopped) are
  carried over to the worker's next tick, and given back when it stops (if nobody reserved
  after them).
- **the retry_after pause**: a 429 moves ``paused_until`` forward; every reservation starts
  after it. A worker honours its own pause at once and another worker's at its next
  reservation (within a block, about a quarter of a second).
- **the per-chat interval**: before sending a block, the worker takes the chats' turns with one
  ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ready_unix <= now RETURNING address``; a chat
  whose turn another worker holds waits in the queue. Old rows are pruned every minute.

Times in the tables are Unix seconds (``time.time()``): the workers' clocks must agree (NTP on
every host, as for the leases). Refusals (429) are refunded as in the in-process limiter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import ChannelThrottle, ChatThrottle

log = logging.getLogger(__name__)

BLOCK_SECONDS = 0.25  # a reservation covers this much of the rate
PRUNE_EVERY = 60.0  # seconds between two prunes of chat_throttle
KEEP_CHATS = 60.0  # chat turns older than this are forgotten


def _insert(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _greatest(session: AsyncSession, *values: Any) -> Any:
    # PostgreSQL's greatest(); SQLite's max() with several arguments is the same.
    if session.get_bind().dialect.name == "postgresql":
        return func.greatest(*values)
    return func.max(*values)


class SharedChannelLimiter:
    """The interface of :class:`~bot.delivery.senders.ChannelLimiter`, shared through the
    database: ``await claim_chats(...)`` and ``await wait(...)`` before each message, ``take``
    when it goes, ``refund``/``pause`` after a 429 and ``await flush()`` to share them,
    ``await release()`` when the worker stops. Reserved slots carry over from one tick to the
    next, so a tick that ends (or a claim that runs dry) wastes none of them."""

    shared = True

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channel: str,
        rate: float,
        burst: int = 1,
        chat_interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.sessions = sessions
        self.channel = channel
        self.rate = rate
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.burst = max(1, burst)
        self.tolerance = self.interval * (self.burst - 1)
        self.chat_interval = chat_interval
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.paused_until = 0.0  # engine clock
        self._slots: deque[float] = deque()  # reserved send moments, Unix seconds
        self._reserved_end = 0.0  # the tat our last reservation left in the table
        self._refunds = 0
        self._pause_wall: float | None = None
        self._chat_ready: dict[str, float] = {}
        # Chat -> until when (Unix seconds) this worker holds its turn.
        self._granted: dict[str, float] = {}
        self._row_ready = False
        self._pruned = 0.0
        self._pause_read = -1e9

    # --- the clock ---------------------------------------------------------------------------

    def _to_clock(self, wall_time: float) -> float:
        return wall_time - self.wall() + self.clock()

    # --- the chats ---------------------------------------------------------------------------

    def chat_ready_at(self, chat: str) -> float:
        return self._chat_ready.get(chat, 0.0)

    def block_size(self, remaining: int) -> int:
        """How many messages to handle per reservation."""
        if not self.interval:
            return max(1, min(remaining, 200))
        return max(1, min(remaining, int(self.rate * BLOCK_SECONDS) or 1))

    async def claim_chats(
        self,
        addresses: Iterable[str],
        *,
        seconds: float | None = None,
        held: float | None = None,
    ) -> set[str]:
        """Take the turn of these chats for the coming block; returns the chats whose turn
        another worker (or this one, lately) holds: they wait."""
        wanted = list(dict.fromkeys(addresses))
        if not self.chat_interval or not wanted:
            return set()
        now = self.wall()
        # The block's messages should go within about a block's time; the next one may go a
        # chat interval after that. One that goes later checks again (:meth:`still_mine`).
        if seconds is None:
            seconds = len(wanted) * (self.interval or 0.02) + 1.0
        until = now + seconds + self.chat_interval
        async with self.sessions() as session, session.begin():
            insert = _insert(session)
            statement = insert(ChatThrottle).values(
                [{"channel": self.channel, "address": a, "ready_unix": until} for a in wanted]
            )
            statement = statement.on_conflict_do_update(
                index_elements=["channel", "address"],
                set_={"ready_unix": statement.excluded.ready_unix},
                # Free, or (``held``) still the turn this worker took and has not used yet.
                where=(
                    ChatThrottle.ready_unix <= now
                    if held is None
                    else or_(ChatThrottle.ready_unix <= now, ChatThrottle.ready_unix == held)
                ),
            ).returning(ChatThrottle.address)
            got = set((await session.execute(statement)).scalars())
            for address in got:
                self._granted[address] = until
            if len(self._granted) > 50_000:
                self._granted = {a: t for a, t in self._granted.items() if t > now}
            if now - self._pruned > PRUNE_EVERY:
                self._pruned = now
                await session.execute(
                    delete(ChatThrottle).where(ChatThrottle.ready_unix < now - KEEP_CHATS)
                )
        return set(wanted) - got

    async def still_mine(self, chat: str) -> bool:
        """Right before sending: does this worker still hold the chat's turn? (The block's
        slots may have come later than planned: a pause, a busy machine.) If not, it tries to
        take the turn again now."""
        if not self.chat_interval:
            return True
        granted = self._granted.get(chat)
        if granted is not None and self.wall() <= granted - self.chat_interval:
            return True
        return chat not in await self.claim_chats([chat], seconds=0.5, held=granted)

    # --- the global rate ---------------------------------------------------------------------

    async def _ensure_row(self, session: AsyncSession) -> None:
        if self._row_ready:
            return
        insert = _insert(session)
        await session.execute(
            insert(ChannelThrottle)
            .values(channel=self.channel, tat=0.0, paused_until=0.0)
            .on_conflict_do_nothing(index_elements=["channel"])
        )
        self._row_ready = True

    async def _reserve(self, count: int) -> None:
        now = self.wall()
        async with self.sessions() as session, session.begin():
            await self._ensure_row(session)
            start = _greatest(
                session,
                ChannelThrottle.tat,
                now - self.tolerance,
                ChannelThrottle.paused_until,
            )
            row = (
                await session.execute(
                    update(ChannelThrottle)
                    .where(ChannelThrottle.channel == self.channel)
                    .values(tat=start + count * self.interval)
                    .returning(ChannelThrottle.tat, ChannelThrottle.paused_until)
                    .execution_options(synchronize_session=False)
                )
            ).one()
        end, paused_until = float(row[0]), float(row[1])
        first = end - count * self.interval
        self._reserved_end = end
        self._slots = deque(first + i * self.interval for i in range(count))
        if paused_until > now:
            self.paused_until = max(self.paused_until, self._to_clock(paused_until))

    async def _shared_pause(self) -> float:
        """The channel's pause as another worker set it (engine clock), read cheaply."""
        async with self.sessions() as session:
            paused = await session.scalar(
                select(ChannelThrottle.paused_until).where(ChannelThrottle.channel == self.channel)
            )
        return self._to_clock(float(paused or 0.0))

    async def wait(self, deadline: float, want: int = 1) -> bool:
        """Wait for this worker's next slot; False (keeping the slot) when it is past
        ``deadline``."""
        if not self.interval:
            # No global rate: only a pause holds the channel (read at most every block).
            if not self._slots:
                self._slots = deque([0.0] * self.block_size(want))
                if self.clock() - self._pause_read > BLOCK_SECONDS:
                    self._pause_read = self.clock()
                    self.paused_until = max(self.paused_until, await self._shared_pause())
            slot = self.paused_until
        else:
            # A slot this worker was too late for (a busy loop, a slow send) is dropped: sent
            # late it would bunch up with the slots after it. Dropped slots are never reused.
            grace = max(self.tolerance, 2 * self.interval)
            now = self.clock()
            while self._slots and self._to_clock(self._slots[0]) < now - grace:
                self._slots.popleft()
            if not self._slots:
                await self._reserve(self.block_size(want))
            slot = max(self._to_clock(self._slots[0]), self.paused_until)
        now = self.clock()
        if slot <= now:
            return True
        if slot > deadline:
            return False
        await self.sleep(slot - now)
        # A pause that came while waiting (this worker's own) is honoured.
        while self.paused_until > self.clock():
            if self.paused_until > deadline:
                return False
            await self.sleep(self.paused_until - self.clock())
        return True

    def take(self, chat: str) -> None:
        """Count one message to ``chat`` as sent now (it uses the next reserved slot)."""
        if self._slots:
            self._slots.popleft()
        if self.chat_interval:
            now = self.clock()
            self._chat_ready[chat] = now + self.chat_interval
            if len(self._chat_ready) > 50_000:
                self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}

    def refund(self) -> None:
        if self.interval:
            self._refunds = min(self._refunds + 1, self.burst)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)
        self._pause_wall = max(self._pause_wall or 0.0, self.wall() + seconds)

    async def flush(self) -> None:
        """Share refunds and a pause with the other workers."""
        if not self._refunds and self._pause_wall is None:
            return
        refunds, pause = self._refunds, self._pause_wall
        self._refunds, self._pause_wall = 0, None
        async with self.sessions() as session, session.begin():
            await self._ensure_row(session)
            values: dict[str, Any] = {}
            if refunds:
                values["tat"] = ChannelThrottle.tat - refunds * self.interval
            if pause is not None:
                values["paused_until"] = _greatest(session, ChannelThrottle.paused_until, pause)
            await session.execute(
                update(ChannelThrottle)
                .where(ChannelThrottle.channel == self.channel)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def release(self) -> None:
        """Give back the slots this worker reserved and will not use, when nobody reserved
        after them (otherwise they simply pass unused)."""
        await self.flush()
        if not self._slots or not self.interval:
            self._slots.clear()
            return
        first_unused = self._slots[0]
        end = self._reserved_end
        self._slots.clear()
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(ChannelThrottle)
                .where(ChannelThrottle.channel == self.channel, ChannelThrottle.tat == end)
                .values(tat=first_unused)
                .execution_options(synchronize_session=False)
            )
