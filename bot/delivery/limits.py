"""A channel's send limits shared by every worker process, through the database.

:class:`~bot.delivery.senders.ChannelLimiter` keeps a channel's limits in one process: two
workers would each send 30 messages a second. :class:`SharedChannelLimiter` keeps them in two
small tables (``channel_throttle``, ``chat_throttle``) so that all workers together keep:

- **the global rate, as an honest one-second window**: the channel's row holds the send moments
  reserved in the last second and ahead (``recent``, in milliseconds). A worker reserves a small
  block of slots (``BLOCK_SECONDS`` of the rate or a burst, whichever is more, and no more than
  it has messages for) in one short transaction (the row locked with ``FOR UPDATE`` on
  PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` makes writers take turns) just before it sends.
  Each new slot goes where the window that ends with it holds fewer than ``rate`` messages,
  with ``WINDOW_MARGIN_MS`` to spare. So in any one-second window at most ``rate`` messages
  leave, over all workers together, whatever the burst. The burst only shapes how they go
  (GCRA, ``tat`` in the row): ``burst`` 1 spaces them evenly, with a catch-up of ``CATCH_UP``
  seconds for slots a busy worker missed; ``burst`` 30 at 30/s lets a quiet channel send 30 at
  once and then the next 30 a second later (not 59 in the first second, as a token bucket
  would). A slot used late is moved in the window to when it went.
- **slots given back**: a slot a worker did not use (too late for it, inside a pause, or still
  ahead when it stops) is taken out of the window at its next reservation or when it stops, so
  another worker (or the same one) can use the room.
- **the retry_after pause**: a 429 moves ``paused_until`` forward; every reservation starts
  after it. A worker honours its own pause at once and another worker's at its next
  reservation (within a block, about a quarter of a second). A message the platform refused
  does not count (Telegram did not take it): the worker that got the 429 sends it again right
  after the pause, on top of the window.
- **the per-chat interval**: before sending a claimed batch, the worker takes the turn of all
  its chats with one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ready_unix <= now RETURNING
  address``; a chat whose turn another worker holds waits in the queue. A turn this worker holds
  and has not used yet stays its own without asking again. Old rows are pruned every minute.

Tolerance (``TOLERANCE``, 2), as seen at the platform: the window holds for the send moments;
a message that leaves up to ``late_grace`` after its moment (a busy event loop) is moved in the
window only at its worker's next reservation, so another worker may have placed one or two
more into that second meanwhile. Right after a 429 pause the refused messages (at most a fifth
of the rate) are re-sent on top, as the platform did not count them.

Crash-safety: a worker killed mid-batch holds nothing for long. Its reserved moments fall out
of the window within a second, its chats' turns within their hold (the batch's time at the
rate plus a second or two), and its rows come back after their lease.

Times in the tables are Unix seconds (``time.time()``): the workers' clocks must agree (NTP on
every host, as for the leases).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import ChannelThrottle, ChatThrottle

log = logging.getLogger(__name__)

BLOCK_SECONDS = 0.25  # a reservation covers this much of the rate
WINDOW_MS = 1000  # the window the rate holds in: one second
CATCH_UP = 0.1  # seconds of missed slots that may still be made up (within the window)
# The window's slack: a message may reach the platform a little later than the one before it
# (a busy event loop, the network); this much more than a second between a message and the
# one ``rate`` places later keeps the window at the platform's end too.
WINDOW_MARGIN_MS = 20
LATE_GRACE = 0.05  # a slot may be used this late (or two intervals); later it is given back
# Messages over the rate that a one-second window may see at the platform's end: a slot used
# up to ``late_grace`` late, reported to the window at its worker's next reservation.
TOLERANCE = 2
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


def _parse(recent: str | None) -> list[int]:
    return [int(moment) for moment in recent.split()] if recent else []


class SharedChannelLimiter:
    """The interface of :class:`~bot.delivery.senders.ChannelLimiter`, shared through the
    database: ``await claim_chats(...)`` for a batch, ``await wait(...)`` before each message,
    ``take`` when it goes, ``refund``/``pause`` after a 429 and ``await flush()`` to share the
    pause, ``await release()`` when the worker stops. Reserved slots carry over from one tick to
    the next while they are still ahead."""

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
        # How far ahead of the even spacing a slot may go: the burst, or at least a catch-up
        # of ``CATCH_UP`` seconds (slots missed by a busy worker are made up; the window holds).
        self.tolerance = max(self.interval * (self.burst - 1), CATCH_UP) if rate > 0 else 0.0
        # Messages in any one-second window (a rate below 1/s is kept by the spacing alone).
        self.per_window = max(1, math.floor(rate + 1e-9)) if rate > 0 else 0
        self.late_grace = max(LATE_GRACE, 2 * self.interval)
        self.max_credits = max(2, self.per_window // 5)
        self.chat_interval = chat_interval
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.paused_until = 0.0  # engine clock
        self._slots: deque[int] = deque()  # reserved send moments, Unix milliseconds
        self._returned: list[int] = []  # reserved moments not used: out of the window
        self._moved: list[tuple[int, int]] = []  # (reserved, went): moments used late
        self._reserved_end = 0.0  # the tat our last reservation left in the table
        self._credits = 0  # refused messages (429) to send again on top of the window
        self._credit_next = False
        self._pause_wall: float | None = None
        self._chat_ready: dict[str, float] = {}
        # Chat -> until when (Unix seconds) this worker holds its turn, not used yet.
        self._granted: dict[str, float] = {}
        self._row_ready = False
        self._pruned = 0.0
        self._pause_read = -1e9
        self._pause_task: asyncio.Task[None] | None = None

    # --- the clock ---------------------------------------------------------------------------

    def _to_clock(self, wall_time: float) -> float:
        return wall_time - self.wall() + self.clock()

    def _to_wall(self, clock_time: float) -> float:
        return clock_time - self.clock() + self.wall()

    # --- the chats ---------------------------------------------------------------------------

    def chat_ready_at(self, chat: str) -> float:
        return self._chat_ready.get(chat, 0.0)

    def block_size(self, remaining: int) -> int:
        """How many slots to reserve at once."""
        if not self.interval:
            return max(1, min(remaining, 200))
        # A whole burst at once: it leaves before the first answer (a 429) can stop it.
        return max(1, min(remaining, max(int(self.rate * BLOCK_SECONDS), self.burst)))

    async def claim_chats(
        self,
        addresses: Iterable[str],
        *,
        seconds: float | None = None,
        held: float | None = None,
    ) -> set[str]:
        """Take the turn of these chats (a whole claimed batch) in one statement; returns the
        chats whose turn another worker holds: they wait."""
        if not self.chat_interval:
            return set()
        now = self.wall()
        wanted = list(dict.fromkeys(addresses))
        if held is None:
            # A turn this worker took and has not used yet is still its own.
            wanted = [a for a in wanted if self._granted.get(a, 0.0) - self.chat_interval < now]
        if not wanted:
            return set()
        # The batch's messages should go within about its time at the rate; the next one may
        # go a chat interval after that. One that goes later checks again (:meth:`still_mine`).
        if seconds is None:
            seconds = len(wanted) * (self.interval or 0.002) + 1.0
        until = now + seconds + self.chat_interval
        async with self.sessions() as session, session.begin():
            insert = _insert(session)
            statement = insert(ChatThrottle).values(
                [{"channel": self.channel, "address": a, "ready_unix": until} for a in wanted]
            )
            # Free, or still a turn this worker took and has not used (a row that went back
            # to the queue at the end of a tick, or ``held``).
            mine = {self._granted[a] for a in wanted if a in self._granted}
            if held is not None:
                mine.add(held)
            statement = statement.on_conflict_do_update(
                index_elements=["channel", "address"],
                set_={"ready_unix": statement.excluded.ready_unix},
                where=(
                    or_(ChatThrottle.ready_unix <= now, ChatThrottle.ready_unix.in_(mine))
                    if mine
                    else ChatThrottle.ready_unix <= now
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
        """Right before sending: does this worker still hold the chat's turn? (The batch's
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
            .values(channel=self.channel, tat=0.0, paused_until=0.0, recent="")
            .on_conflict_do_nothing(index_elements=["channel"])
        )
        self._row_ready = True

    async def _reserve(self, count: int) -> None:
        """Give back the moments not used and reserve ``count`` new ones, in one transaction
        on the channel's row (locked: reservations queue up)."""
        returned, moved = self._returned, self._moved
        self._returned, self._moved = [], []
        async with self.sessions() as session, session.begin():
            await self._ensure_row(session)
            query = select(
                ChannelThrottle.tat, ChannelThrottle.paused_until, ChannelThrottle.recent
            ).where(ChannelThrottle.channel == self.channel)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()
            tat, paused_until, recent = (await session.execute(query)).one()
            tat, paused_until = float(tat), float(paused_until)
            now = self.wall()  # after the lock: the moments start from when we hold it
            now_ms = math.ceil(now * 1000)
            window = _parse(recent)
            if returned or moved:
                # Moments not used leave the window; those used late move to when they went.
                gone = Counter(returned)
                gone.update(planned for planned, _ in moved)
                kept = []
                for moment in window:
                    if gone[moment]:
                        gone[moment] -= 1
                    else:
                        kept.append(moment)
                window = sorted(kept + [went for _, went in moved])
                if returned and tat == self._reserved_end:
                    # Nobody reserved after us: the spacing restarts from what went.
                    tat = min(returned) / 1000
            window = [m for m in window if m > now_ms - WINDOW_MS]
            slots: list[int] = []
            cap = self.per_window
            # This worker's own pause counts before the others have seen it.
            start = max(now, paused_until, self._to_wall(self.paused_until))
            for _ in range(count):
                moment = max(start, tat - self.tolerance)
                slot = math.ceil(moment * 1000 - 1e-6)
                if window:
                    slot = max(slot, window[-1])
                    if len(window) >= cap:
                        slot = max(slot, window[-cap] + WINDOW_MS + WINDOW_MARGIN_MS)
                window.append(slot)
                slots.append(slot)
                tat = max(tat, slot / 1000) + self.interval
            await session.execute(
                update(ChannelThrottle)
                .where(ChannelThrottle.channel == self.channel)
                .values(tat=tat, recent=" ".join(map(str, window)))
                .execution_options(synchronize_session=False)
            )
        self._reserved_end = tat
        self._slots.extend(slots)
        if paused_until > now:
            self.paused_until = max(self.paused_until, self._to_clock(paused_until))

    async def _shared_pause(self) -> float:
        """The channel's pause as another worker set it (engine clock), read cheaply."""
        async with self.sessions() as session:
            paused = await session.scalar(
                select(ChannelThrottle.paused_until).where(ChannelThrottle.channel == self.channel)
            )
        return self._to_clock(float(paused or 0.0))

    async def _read_pause(self) -> None:
        try:
            self.paused_until = max(self.paused_until, await self._shared_pause())
        except Exception:  # the next read tries again; a pause of our own holds anyway
            log.warning("reading the shared pause failed", exc_info=True)

    async def wait(self, deadline: float, want: int = 1) -> bool:
        """Wait for this worker's next slot; False (keeping the slot) when it is past
        ``deadline``."""
        if not self.interval:
            # No global rate: only a pause holds the channel. Another worker's pause is read
            # in the background (at most every block's time): sending does not wait for it.
            if self.clock() - self._pause_read > BLOCK_SECONDS and (
                self._pause_task is None or self._pause_task.done()
            ):
                self._pause_read = self.clock()
                self._pause_task = asyncio.create_task(self._read_pause())
            while self.paused_until > self.clock():
                if self.paused_until > deadline:
                    return False
                await self.sleep(self.paused_until - self.clock())
            return True
        fresh = False
        self._credit_next = False
        while True:
            now = self.clock()
            # A slot this worker was too late for (a busy loop, a slow send) or that falls in a
            # pause goes back: sent late it would bunch up with the slots after it. (The first
            # slot of a fresh reservation is used even if the reservation itself was slow.)
            while self._slots:
                moment = self._to_clock(self._slots[0] / 1000)
                if moment >= self.paused_until and (fresh or moment >= now - self.late_grace):
                    break
                self._returned.append(self._slots.popleft())
            if self._credits:
                # A message the platform refused goes again, right after the pause.
                slot = self.paused_until
            elif not self._slots:
                # Reserved at once, also during a pause: the slots start where it ends.
                await self._reserve(self.block_size(want))
                fresh = True
                continue
            else:
                slot = self._to_clock(self._slots[0] / 1000)
            if slot <= now:
                self._credit_next = bool(self._credits)
                return True
            if slot > deadline:
                return False
            await self.sleep(slot - now)
            fresh = False

    def take(self, chat: str) -> None:
        """Count one message to ``chat`` as sent now (it uses the next reserved slot)."""
        if self._credit_next and self._credits:
            self._credits -= 1
        elif self._slots and self.interval:
            planned = self._slots.popleft()
            went = math.ceil(self.wall() * 1000)
            if went > planned + 1:
                self._moved.append((planned, went))
        self._credit_next = False
        if self.chat_interval:
            self._granted.pop(chat, None)  # the turn is used
            now = self.clock()
            self._chat_ready[chat] = now + self.chat_interval
            if len(self._chat_ready) > 50_000:
                self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}

    def refund(self) -> None:
        """The platform refused a message (429): it goes again after the pause, on top of the
        window (Telegram did not count it)."""
        if self.interval:
            self._credits = min(self._credits + 1, self.max_credits)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)
        self._pause_wall = max(self._pause_wall or 0.0, self.wall() + seconds)

    async def flush(self) -> None:
        """Share a pause with the other workers."""
        if self._pause_wall is None:
            return
        pause = self._pause_wall
        self._pause_wall = None
        async with self.sessions() as session, session.begin():
            await self._ensure_row(session)
            await session.execute(
                update(ChannelThrottle)
                .where(ChannelThrottle.channel == self.channel)
                .values(paused_until=_greatest(session, ChannelThrottle.paused_until, pause))
                .execution_options(synchronize_session=False)
            )

    async def release(self) -> None:
        """Give back the slots this worker reserved and will not use (the worker stops)."""
        if self._pause_task is not None:
            await asyncio.gather(self._pause_task, return_exceptions=True)
        await self.flush()
        self._returned.extend(self._slots)
        self._slots.clear()
        if (self._returned or self._moved) and self.interval:
            await self._reserve(0)
        self._returned.clear()
        self._moved.clear()
