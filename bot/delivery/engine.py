"""The delivery engine: claim due outbox rows with a lease, send them, record what happened.

One :meth:`DeliveryEngine.tick` (the worker runs one a second):

1. **Claim** up to a batch of due rows in one short transaction: ``queued`` rows whose
   ``next_attempt_at`` has come, and ``sending`` rows whose lease expired (their worker died).
   On PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so several workers never claim the same row;
   on SQLite the transaction starts with ``BEGIN IMMEDIATE`` and writers take turns. Claimed
   rows become ``sending`` with ``lease_until``, ``claimed_by`` (this claim's token) and one
   more attempt. Direct messages and reminders go before announcement rows.
2. **Prepare** each row: the chat address (the row's identity, or the person's best reachable
   one), the text (the row's ``body``, or the announcement's text in the person's language,
   falling back to Dutch) and the checks that send it back to the queue without counting an
   attempt: quiet hours (every row but an ``urgent`` one waits until they end: a leader's
   decision at 22:00 can wait until 09:00), no sender for the channel (waits 10 minutes).
   Console rows are handed to the terminal chat (queued with their ``body`` and no next attempt).
3. **Send** per channel through a :class:`~bot.delivery.senders.ChannelLimiter`: the global
   rate with its burst, at most one message per ``chat_interval`` per chat (a row for a chat
   that just got one waits for its turn in the queue), and a pause after ``retry_after``.
4. **Record** results every 100 ms in bulk, each update guarded by the claim token and status
   ``sending``: a worker whose lease was taken over changes nothing. Outcomes: sent (with the
   provider's message id); a network error or 5xx is retried with exponential back-off until
   ``max_attempts``, then failed; ``retry_after`` requeues without counting an attempt; blocked
   by the user skips the row and marks the identity unreachable; a bad request fails at once.

Nothing is lost: a row is always in the database as queued, sending (leased) or final. A worker
killed after a message left but before its result was recorded sends that row again when the
lease expires, so duplicates are bounded by the rows in flight at the kill.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.limits import SharedChannelLimiter
from bot.delivery.senders import ChannelLimiter, Outcome, Sender, SendResult
from bot.delivery.timing import backoff, quiet_until, zone
from bot.models import (
    Announcement,
    Channel,
    ChannelIdentity,
    Delivery,
    DeliveryStatus,
    Organisation,
    Person,
    Reminder,
    ReminderStatus,
    utcnow,
)
from bot.services import people
from bot.services.announcements import identity_rank

log = logging.getLogger(__name__)

D = DeliveryStatus
NO_SENDER_WAIT = dt.timedelta(minutes=10)
RECORD_EVERY = 0.1  # seconds between two writes of results
ORG_CACHE_SECONDS = 300.0
# Announcements whose texts the engine keeps between ticks (a tick needs only its own; the
# oldest others are forgotten, so a long-running worker does not keep every announcement ever).
TEXTS_CACHED = 32
DUTCH = "nl"


@dataclass(slots=True)
class Claimed:
    id: int
    person_id: int
    identity_id: int | None
    announcement_id: int | None
    reminder_id: int | None
    body: str | None
    attempts: int  # including this claim
    urgent: bool
    token: str  # the claim's lease token; results are written only under it


@dataclass(slots=True)
class Job:
    row: Claimed
    channel: Channel
    address: str
    identity_id: int
    text: str
    # For senders that choose a form per recipient (WhatsApp's 24-hour window): ``send_job``.
    language: str = DUTCH
    kind: str = "notice"  # announcement, reminder or notice (a direct message)
    last_inbound_at: dt.datetime | None = None
    texts: dict[str, str] | None = None
    # Other reachable addresses of the person: "blocked" here falls back to one of them.
    alternatives: int = 0


@dataclass(slots=True)
class Result:
    row: Claimed
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None = None
    error: str | None = None
    provider_message_id: str | None = None
    sent_at: dt.datetime | None = None
    identity_id: int | None = None
    body: str | None = None
    # (channel, address) the platform says is gone for good (the person blocked us).
    unreachable: tuple[Channel, str] | None = None

    @property
    def final(self) -> bool:
        return self.status in (D.SENT, D.FAILED, D.SKIPPED)


@dataclass
class _Org:
    tz: Any
    quiet_start: int
    quiet_end: int


@dataclass
class TickStats:
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


class DeliveryEngine:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Iterable[Sender],
        *,
        batch_size: int = 500,
        concurrency: int = 100,
        lease_seconds: float = 60.0,
        max_attempts: int = 8,
        send_timeout: float = 15.0,
        worker_id: str | None = None,
        now: Callable[[], dt.datetime] = utcnow,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        shared_limits: bool = False,
    ) -> None:
        self.sessions = sessions
        self.senders: dict[Channel, Sender] = {s.channel: s for s in senders}
        # Shared: the limits hold over every worker process (bot/delivery/limits.py).
        self.limiters: dict[Channel, ChannelLimiter | SharedChannelLimiter] = {
            channel: (
                SharedChannelLimiter(
                    sessions,
                    channel.value,
                    s.rate,
                    s.burst,
                    s.chat_interval,
                    clock=clock,
                    sleep=sleep,
                )
                if shared_limits and not s.handoff
                else ChannelLimiter(s.rate, s.burst, s.chat_interval, clock=clock, sleep=sleep)
            )
            for channel, s in self.senders.items()
        }
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.send_timeout = send_timeout
        self.worker_id = (worker_id or f"{socket.gethostname()}:{os.getpid()}")[:40]
        self.now = now
        self.clock = clock
        self.stats = TickStats()
        self._claims = 0
        self._stopping = False
        self._semaphore = asyncio.Semaphore(concurrency)
        self._texts: dict[int, dict[str, str]] = {}
        self._orgs: dict[int, _Org] = {}
        self._orgs_loaded = -ORG_CACHE_SECONDS
        # Rows per second this worker handled lately (sizes the claims when nothing limits).
        self._throughput = float(batch_size) * 4
        self._out_of_time = False

    # --- the tick ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Claim nothing more; sends under way finish and are recorded."""
        self._stopping = True

    async def close(self) -> None:
        for limiter in self.limiters.values():
            try:
                await limiter.release()  # unused send slots back to the other workers
            except Exception:  # they pass unused; the limit still holds
                log.warning("releasing unused send slots failed", exc_info=True)
        for sender in self.senders.values():
            await sender.close()

    def _claim_size(self, seconds: float) -> int:
        """About as many rows as can be sent in ``seconds``: what the senders' rates allow, or
        without a limit what this worker managed lately, so a tick does not claim rows only to
        give them back at its deadline."""
        total = 0.0
        for sender in self.senders.values():
            if sender.handoff:
                continue
            if sender.rate <= 0:
                total = float("inf")
                break
            # A full bucket's worth on top: after a pause the channel may catch up at once.
            total += sender.rate * seconds + sender.burst
        total = min(total, self._throughput * seconds)
        return max(10, min(self.batch_size, int(total) + 1))

    async def tick(self, budget: float = 0.8) -> int:
        """Claim and send for about ``budget`` seconds; returns the rows handled."""
        deadline = self.clock() + budget
        handled = 0
        while not self._stopping:
            remaining = deadline - self.clock()
            if remaining <= 0.02:
                break
            limit = self._claim_size(remaining)
            claimed = await self.claim(limit)
            if not claimed:
                break
            started = self.clock()
            self._out_of_time = False
            await self._process(claimed, deadline)
            handled += len(claimed)
            elapsed = max(self.clock() - started, 1e-3)
            self._throughput = 0.5 * self._throughput + 0.5 * (len(claimed) / elapsed)
            if len(claimed) < limit or self._out_of_time:
                # Rows went back for lack of time (the rate, a pause past the deadline):
                # claiming them again in this tick would only put them back again.
                break
        return handled

    async def run_until_idle(
        self, *, timeout: float = 60.0, budget: float = 0.8, linger: float = 0.0
    ) -> int:
        """Tick until nothing is due (tests and the command line); returns rows handled.

        With ``linger``, rows that become due within that many seconds (a chat's turn, a short
        ``retry_after``) are waited for too."""
        end = self.clock() + timeout
        total = 0
        while self.clock() < end:
            handled = await self.tick(budget)
            total += handled
            if handled:
                continue
            wait = await self.seconds_until_due()
            if wait is None or wait > linger:
                break
            await asyncio.sleep(max(wait, 0.01))
        return total

    async def seconds_until_due(self) -> float | None:
        """Seconds until the next queued row is due (None: nothing is waiting)."""
        async with self.sessions() as session:
            earliest = await session.scalar(
                select(func.min(Delivery.next_attempt_at)).where(Delivery.status == D.QUEUED)
            )
        if earliest is None:
            return None
        return (earliest - self.now()).total_seconds()

    # --- claim -------------------------------------------------------------------------------

    async def claim(self, limit: int) -> list[Claimed]:
        now = self.now()
        self._claims += 1
        token = f"{self.worker_id}:{secrets.token_hex(3)}:{self._claims}"
        due = or_(
            and_(Delivery.status == D.QUEUED, Delivery.next_attempt_at <= now),
            and_(Delivery.status == D.SENDING, Delivery.lease_until < now),
        )
        query = (
            select(
                Delivery.id,
                Delivery.person_id,
                Delivery.identity_id,
                Delivery.announcement_id,
                Delivery.reminder_id,
                Delivery.body,
                Delivery.attempts,
                Delivery.urgent,
            )
            .where(due)
            .order_by(Delivery.announcement_id.is_not(None), Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
        async with self.sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            if not rows:
                return []
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_([r.id for r in rows]))
                .values(
                    status=D.SENDING,
                    lease_until=now + self.lease,
                    claimed_by=token,
                    attempts=Delivery.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
        self.stats.claimed += len(rows)
        return [
            Claimed(
                r.id,
                r.person_id,
                r.identity_id,
                r.announcement_id,
                r.reminder_id,
                r.body,
                r.attempts + 1,
                bool(r.urgent),
                token,
            )
            for r in rows
        ]

    # --- prepare -----------------------------------------------------------------------------

    async def _org(self, session: AsyncSession, organisation_id: int) -> _Org:
        if self.clock() - self._orgs_loaded > ORG_CACHE_SECONDS:
            self._orgs = {}
            self._orgs_loaded = self.clock()
        org = self._orgs.get(organisation_id)
        if org is None:
            row = (
                await session.execute(
                    select(
                        Organisation.timezone,
                        Organisation.quiet_start_minute,
                        Organisation.quiet_end_minute,
                    ).where(Organisation.id == organisation_id)
                )
            ).one()
            org = self._orgs[organisation_id] = _Org(zone(row[0]), row[1], row[2])
        return org

    async def _prepare(
        self, claimed: list[Claimed], now: dt.datetime
    ) -> tuple[list[Job], list[Result]]:
        person_ids = {c.person_id for c in claimed}
        async with self.sessions() as session:
            people = {
                p.id: p
                for p in (
                    await session.execute(
                        select(
                            Person.id,
                            Person.organisation_id,
                            Person.language,
                            Person.quiet_start_minute,
                            Person.quiet_end_minute,
                        ).where(Person.id.in_(person_ids))
                    )
                ).all()
            }
            identities: dict[int, list[Any]] = {}
            for identity in (
                await session.execute(
                    select(
                        ChannelIdentity.id,
                        ChannelIdentity.person_id,
                        ChannelIdentity.channel,
                        ChannelIdentity.address,
                        ChannelIdentity.reachable,
                        ChannelIdentity.preferred,
                        ChannelIdentity.last_inbound_at,
                    ).where(ChannelIdentity.person_id.in_(person_ids))
                )
            ).all():
                identities.setdefault(identity.person_id, []).append(identity)
            wanted = {c.announcement_id for c in claimed if c.announcement_id}
            missing = wanted - set(self._texts)
            if missing:
                for ann_id in list(self._texts):  # oldest first
                    if len(self._texts) + len(missing) <= TEXTS_CACHED:
                        break
                    if ann_id not in wanted:
                        del self._texts[ann_id]
                for ann_id, texts in await session.execute(
                    select(Announcement.id, Announcement.texts).where(Announcement.id.in_(missing))
                ):
                    self._texts[ann_id] = texts
            # This tick's own copy: another tick may forget some of the cache meanwhile.
            ann_texts = {a: self._texts[a] for a in wanted if a in self._texts}
            orgs = {
                p.organisation_id: await self._org(session, p.organisation_id)
                for p in people.values()
            }

        jobs: list[Job] = []
        results: list[Result] = []

        def later(
            row: Claimed, when: dt.datetime | None, error: str | None = None, **kw: Any
        ) -> None:
            # Back to the queue without counting this claim as an attempt.
            results.append(
                Result(row, D.QUEUED, row.attempts - 1, next_attempt_at=when, error=error, **kw)
            )

        for row in claimed:
            person = people.get(row.person_id)
            if row.attempts > self.max_attempts:
                results.append(
                    Result(row, D.FAILED, row.attempts, error="gave_up: too many attempts")
                )
                continue
            options = identities.get(row.person_id, [])
            identity = next((i for i in options if i.id == row.identity_id and i.reachable), None)
            if identity is None:
                reachable = [i for i in options if i.reachable]
                identity = max(reachable, key=identity_rank) if reachable else None
            if person is None or identity is None:
                results.append(Result(row, D.SKIPPED, row.attempts, error="unreachable"))
                continue
            sender = self.senders.get(identity.channel)
            if sender is None:
                later(row, now + NO_SENDER_WAIT, f"no_sender: {identity.channel.value}")
                continue
            text = row.body
            if text is None and row.announcement_id is not None:
                texts = ann_texts.get(row.announcement_id) or {}
                text = texts.get(person.language) or texts.get(DUTCH)
            if not text:
                results.append(Result(row, D.FAILED, row.attempts, error="no_text"))
                continue
            if sender.handoff:
                later(row, None, None, body=text, identity_id=identity.id)
                continue
            if not row.urgent:
                org = orgs[person.organisation_id]
                start, end = person.quiet_start_minute, person.quiet_end_minute
                if start is None or end is None:
                    start, end = org.quiet_start, org.quiet_end
                until = quiet_until(now, org.tz, start, end)
                if until is not None:
                    later(row, until, None)
                    continue
            kind = "notice"
            if row.announcement_id:
                kind = "announcement"
            elif row.reminder_id:
                kind = "reminder"
            jobs.append(
                Job(
                    row,
                    identity.channel,
                    identity.address,
                    identity.id,
                    text,
                    language=person.language,
                    kind=kind,
                    last_inbound_at=identity.last_inbound_at,
                    texts=ann_texts.get(row.announcement_id) if row.announcement_id else None,
                    alternatives=sum(1 for i in options if i.reachable and i.id != identity.id),
                )
            )
        return jobs, results

    # --- send --------------------------------------------------------------------------------

    async def _process(self, claimed: list[Claimed], deadline: float) -> None:
        now = self.now()
        try:
            jobs, results = await self._prepare(claimed, now)
        except Exception:
            # The rows stay leased and come back when the lease expires.
            log.exception("preparing %d claimed deliveries failed", len(claimed))
            return
        by_channel: dict[Channel, list[Job]] = {}
        for job in jobs:
            by_channel.setdefault(job.channel, []).append(job)
        sends: set[asyncio.Task[None]] = set()
        dispatchers = [
            asyncio.create_task(self._dispatch(channel, channel_jobs, deadline, sends, results))
            for channel, channel_jobs in by_channel.items()
        ]
        while True:
            alive = [t for t in (*dispatchers, *sends) if not t.done()]
            if results:
                batch = results[:]
                del results[: len(batch)]
                await self._record(batch)
            if not alive:
                break
            await asyncio.wait(alive, timeout=RECORD_EVERY)
        for task in dispatchers:
            if task.exception() is not None:  # pragma: no cover - a bug; rows come back
                log.error("dispatcher failed", exc_info=task.exception())

    async def _dispatch(
        self,
        channel: Channel,
        jobs: list[Job],
        deadline: float,
        sends: set[asyncio.Task[None]],
        results: list[Result],
    ) -> None:
        sender = self.senders[channel]
        limiter = self.limiters[channel]
        try:
            await self._dispatch_jobs(sender, limiter, jobs, deadline, sends, results)
        finally:
            try:
                await limiter.flush()  # refunds and pauses, for the other workers
            except Exception:
                log.warning("sharing refunds and pauses failed", exc_info=True)

    async def _dispatch_jobs(
        self,
        sender: Sender,
        limiter: ChannelLimiter | SharedChannelLimiter,
        jobs: list[Job],
        deadline: float,
        sends: set[asyncio.Task[None]],
        results: list[Result],
    ) -> None:
        def back(rest: Iterable[Job]) -> None:
            # Out of time (or stopping): back to the queue, due now.
            self._out_of_time = True
            for job in rest:
                results.append(Result(job.row, D.QUEUED, job.row.attempts - 1, self.now()))

        # The turns of all the batch's chats in one statement; those another worker holds
        # wait (shared limits only).
        busy = await limiter.claim_chats(job.address for job in jobs)
        for index, job in enumerate(jobs):
            if self._stopping or self.clock() > deadline:
                back(jobs[index:])
                return
            chat_ready = limiter.chat_ready_at(job.address)
            if job.address in busy or chat_ready > self.clock():
                # This chat just got a message: its row waits for its turn in the queue.
                seconds = max(chat_ready - self.clock(), limiter.chat_interval)
                wait = dt.timedelta(seconds=seconds)
                results.append(Result(job.row, D.QUEUED, job.row.attempts - 1, self.now() + wait))
                continue
            if self._stopping or not await limiter.wait(deadline, len(jobs) - index):
                back(jobs[index:])
                return
            await self._semaphore.acquire()
            if self._stopping or self.clock() > deadline:
                self._semaphore.release()
                back(jobs[index:])
                return
            if not await limiter.still_mine(job.address):
                # The chat's turn ran out while waiting and another worker took it.
                self._semaphore.release()
                wait = dt.timedelta(seconds=limiter.chat_interval)
                results.append(Result(job.row, D.QUEUED, job.row.attempts - 1, self.now() + wait))
                continue
            limiter.take(job.address)
            task = asyncio.create_task(self._send(sender, limiter, job, results))
            sends.add(task)
            task.add_done_callback(sends.discard)

    async def _send(
        self,
        sender: Sender,
        limiter: ChannelLimiter | SharedChannelLimiter,
        job: Job,
        results: list[Result],
    ) -> None:
        try:
            try:
                send_job = getattr(sender, "send_job", None)
                sending = send_job(job) if send_job else sender.send(job.address, job.text)
                outcome = await asyncio.wait_for(sending, self.send_timeout)
            except TimeoutError:
                outcome = SendResult.problem(Outcome.RETRY, "timeout")
            except Exception as exc:  # a sender bug must not lose the row
                log.exception("sender %s failed", sender.channel)
                outcome = SendResult.problem(Outcome.RETRY, "internal", repr(exc))
            results.append(self._result(job, outcome, limiter))
            if outcome.outcome is Outcome.RATE_LIMITED and limiter.shared:
                try:
                    await limiter.flush()  # the other workers pause too
                except Exception:
                    log.warning("sharing a pause failed", exc_info=True)
        finally:
            self._semaphore.release()

    def _result(
        self, job: Job, outcome: SendResult, limiter: ChannelLimiter | SharedChannelLimiter
    ) -> Result:
        row, now = job.row, self.now()
        self.stats.outcomes[outcome.outcome.value] += 1
        kind = outcome.outcome
        if kind is Outcome.SENT:
            return Result(
                row,
                D.SENT,
                row.attempts,
                provider_message_id=outcome.provider_message_id,
                sent_at=now,
                identity_id=job.identity_id,
            )
        if kind is Outcome.RATE_LIMITED:
            wait = outcome.retry_after or 1.0
            limiter.refund()
            limiter.pause(wait)
            return Result(
                row,
                D.QUEUED,
                row.attempts - 1,
                next_attempt_at=now + dt.timedelta(seconds=wait),
                error=outcome.error,
            )
        if kind is Outcome.DEFER:
            wait = outcome.retry_after or 1.0
            return Result(
                row,
                D.QUEUED,
                row.attempts - 1,
                next_attempt_at=now + dt.timedelta(seconds=wait),
                error=outcome.error,
            )
        if kind is Outcome.SKIPPED:
            return Result(row, D.SKIPPED, row.attempts, error=outcome.error)
        if kind is Outcome.BLOCKED and job.alternatives:
            # This address is gone for good; the person's other app gets it (next claim).
            return Result(
                row,
                D.QUEUED,
                row.attempts - 1,
                next_attempt_at=now,
                error=outcome.error,
                unreachable=(job.channel, job.address),
            )
        if kind is Outcome.BLOCKED:
            return Result(
                row,
                D.SKIPPED,
                row.attempts,
                error=outcome.error,
                identity_id=job.identity_id,
                unreachable=(job.channel, job.address),
            )
        if kind is Outcome.RETRY and row.attempts < self.max_attempts:
            return Result(
                row,
                D.QUEUED,
                row.attempts,
                next_attempt_at=now + dt.timedelta(seconds=backoff(row.attempts)),
                error=outcome.error,
            )
        return Result(row, D.FAILED, row.attempts, error=outcome.error)

    # --- record ------------------------------------------------------------------------------

    async def _record(self, results: list[Result], tries: int = 5) -> None:
        table = Delivery.__table__
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("_id"),
                table.c.claimed_by == bindparam("_token"),
                table.c.status == D.SENDING,
            )
            .values(
                status=bindparam("_status", type_=table.c.status.type),
                attempts=bindparam("_attempts"),
                next_attempt_at=bindparam("_next", type_=table.c.next_attempt_at.type),
                lease_until=None,
                last_error=bindparam("_error", type_=table.c.last_error.type),
                provider_message_id=func.coalesce(
                    bindparam("_pmid", type_=table.c.provider_message_id.type),
                    table.c.provider_message_id,
                ),
                sent_at=func.coalesce(
                    bindparam("_sent", type_=table.c.sent_at.type), table.c.sent_at
                ),
                identity_id=func.coalesce(
                    bindparam("_identity", type_=table.c.identity_id.type), table.c.identity_id
                ),
                body=func.coalesce(bindparam("_body", type_=table.c.body.type), table.c.body),
            )
        )
        params = [
            {
                "_id": r.row.id,
                "_token": r.row.token,
                "_status": r.status,
                "_attempts": max(0, r.attempts),
                "_next": r.next_attempt_at,
                "_error": r.error,
                "_pmid": r.provider_message_id,
                "_sent": r.sent_at,
                "_identity": r.identity_id,
                "_body": r.body,
            }
            for r in results
        ]
        unreachable = {r.unreachable for r in results if r.unreachable}
        reminders = {r.row.reminder_id for r in results if r.final and r.row.reminder_id}
        for attempt in range(tries):
            try:
                async with self.sessions() as session, session.begin():
                    await session.execute(statement, params)
                    # The people service owns the rule (the chat dialogs use it too).
                    for channel, address in sorted(unreachable):
                        await people.set_reachable(
                            session, channel=channel, address=address, reachable=False
                        )
                    if reminders:
                        await session.execute(
                            update(Reminder)
                            .where(
                                Reminder.id.in_(reminders),
                                Reminder.status == ReminderStatus.QUEUED,
                            )
                            .values(status=ReminderStatus.DONE)
                            .execution_options(synchronize_session=False)
                        )
                return
            except Exception:
                if attempt == tries - 1:
                    # Given up: the rows stay leased and are claimed again after the lease.
                    log.exception("recording %d delivery results failed", len(results))
                    return
                log.warning("recording delivery results failed; retrying", exc_info=True)
                await asyncio.sleep(0.5 * 2**attempt)
