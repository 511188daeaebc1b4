"""`gangmaker worker`: APScheduler ticks the outbox; the database holds everything else.

APScheduler 3 (``AsyncIOScheduler``, in-memory job store) is only a ticker. Its jobs hold no
state: each tick reads due work from the database and claims it, so a restarted worker (or a
second one) carries on where the last one stopped. Jobs:

- ``deliver`` every ``WORKER_TICK_SECONDS`` (1 s): starts the send loop unless it runs: one
  :meth:`DeliveryEngine.tick` after the other while rows are due (so a long broadcast is not
  cut into one-second slices with gaps), ending when nothing is due.
- ``announcements`` every 2 s: fan out scheduled announcements whose time has come, and mark
  those with nothing left to send as done.
- ``reminders`` every minute: plan the reminders that are due and queue their messages.
- ``retention`` once a day (and at start): delete what is kept long enough
  (``bot/services/retention.py``).
- ``trim`` every 3 minutes: give the C heap's free pages back (``bot/memory.py``), so a worker
  that runs for weeks stays at its warmed-up size.

Every job has ``coalesce=True`` (a backlog of missed runs runs once), ``max_instances=1`` (a
slow tick is never doubled) and a ``misfire_grace_time`` of a few ticks (a run delayed by a busy
loop still runs; one delayed longer is dropped, the next comes soon). SIGTERM (and SIGINT) stop
the worker gracefully: no new claims, sends under way finish and are recorded, then it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import memory
from bot.config import Settings
from bot.db import make_engine, make_sessionmaker, transaction
from bot.delivery.engine import DeliveryEngine
from bot.delivery.senders import ConsoleSender, Sender, TelegramHttpSender, TelegramSender
from bot.delivery.settings import DeliverySettings
from bot.models import utcnow
from bot.services import announcements, reminders

log = logging.getLogger(__name__)

ANNOUNCEMENT_SECONDS = 2.0
REMINDER_SECONDS = 60.0
STOP_TIMEOUT = 30.0
RETENTION_SECONDS = 24 * 3600.0


def build_senders(
    main: Settings,
    settings: DeliverySettings,
    sessions: async_sessionmaker[AsyncSession] | None = None,
) -> list[Sender]:
    """The console, Telegram when ``TELEGRAM_BOT_TOKEN`` is set, WhatsApp when configured
    (its daily cap counted in the database of ``sessions``)."""
    senders: list[Sender] = [ConsoleSender()]
    if main.telegram_bot_token:
        kind = TelegramHttpSender if settings.telegram_sender == "http" else TelegramSender
        senders.append(
            kind(
                main.telegram_bot_token,
                main.telegram_api_base,
                rate=settings.telegram_rate_limit,
                burst=settings.telegram_burst,
                chat_interval=settings.telegram_chat_interval,
                timeout=settings.delivery_send_timeout,
            )
        )
    if main.whatsapp:
        from bot.channels.whatsapp.sender import WhatsAppSender
        from bot.channels.whatsapp.window import Templates

        assert main.whatsapp_phone_number_id and main.whatsapp_access_token
        senders.append(
            WhatsAppSender(
                main.whatsapp_phone_number_id,
                main.whatsapp_access_token,
                main.whatsapp_api_base,
                templates=Templates.parse(settings.whatsapp_templates),
                rate=settings.whatsapp_rate_limit,
                burst=settings.whatsapp_burst,
                chat_interval=settings.whatsapp_chat_interval,
                daily_new_conversations=settings.whatsapp_daily_new_conversations,
                timeout=settings.delivery_send_timeout,
                sessions=sessions,
            )
        )
    return senders


def build_engine(
    sessions: async_sessionmaker[AsyncSession], main: Settings, settings: DeliverySettings
) -> DeliveryEngine:
    return DeliveryEngine(
        sessions,
        build_senders(main, settings, sessions),
        batch_size=settings.delivery_batch_size,
        concurrency=settings.delivery_concurrency,
        lease_seconds=settings.delivery_lease_seconds,
        max_attempts=settings.delivery_max_attempts,
        send_timeout=settings.delivery_send_timeout,
        worker_id=settings.worker_id,
        shared_limits=settings.delivery_shared_limits,
    )


class Worker:
    """The scheduler and its jobs around one :class:`DeliveryEngine`."""

    def __init__(self, main: Settings, settings: DeliverySettings) -> None:
        self.settings = settings
        self.db = make_engine(main.database_url)
        self.sessions = make_sessionmaker(self.db)
        self.engine = build_engine(self.sessions, main, settings)
        self.scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self._running: dict[str, asyncio.Lock] = {}
        self._pump: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    def _job(self, name: str, func: Callable[[], Awaitable[object]], seconds: float) -> None:
        lock = self._running[name] = asyncio.Lock()

        async def run() -> None:
            if self.stopping.is_set():
                return
            async with lock:
                try:
                    await func()
                except Exception:
                    # Logged and survived: the next tick tries again (a database restart,
                    # a network hiccup). Claimed rows come back after their lease.
                    log.exception("worker job %s failed", name)

        self.scheduler.add_job(
            run,
            IntervalTrigger(seconds=seconds, timezone=dt.UTC),
            id=name,
            name=name,
            next_run_time=utcnow(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(seconds * 5)),
        )

    async def deliver(self) -> None:
        """The tick: start sending if no send loop is running. The loop claims batch after
        batch while rows are due and ends when a claim comes back empty; the next tick starts
        it again. So the job itself never overlaps with its next run."""
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._send_while_due())

    async def _send_while_due(self) -> None:
        while not self.stopping.is_set():
            try:
                handled = await self.engine.tick(budget=self.settings.worker_tick_seconds)
            except Exception:
                # A database restart, a network hiccup: logged, and the next tick retries.
                # Claimed rows come back after their lease.
                log.exception("delivery tick failed")
                return
            if handled == 0:
                return

    async def start_announcements(self) -> None:
        async with transaction(self.sessions) as session:
            for result in await announcements.start_due_announcements(session):
                log.info(
                    "announcement %s: %d recipients, %d rows queued",
                    result.announcement_id,
                    result.recipients,
                    result.added,
                )
        async with transaction(self.sessions) as session:
            await announcements.finish_announcements(session)

    async def reminders(self) -> None:
        async with transaction(self.sessions) as session:
            planned = await reminders.plan_reminders(session)
        queued = 0
        while not self.stopping.is_set():
            # Small transactions: the delivery tick's claims get their turn in between.
            async with transaction(self.sessions) as session:
                result = await reminders.queue_due_reminders(session)
            queued += result.queued
            if result.seen < reminders.QUEUE_LIMIT:
                break
            await asyncio.sleep(0.1)  # let a waiting delivery tick take the write lock
        if planned or queued:
            log.info("reminders: %d planned, %d queued", planned, queued)

    async def retention(self) -> None:
        from bot.services.retention import run_retention

        async with transaction(self.sessions) as session:
            result = await run_retention(session)
        log.info("retention: %s", result.describe())

    async def trim(self) -> None:
        memory.trim_heap()

    def start(self) -> None:
        self._job("deliver", self.deliver, self.settings.worker_tick_seconds)
        self._job("announcements", self.start_announcements, ANNOUNCEMENT_SECONDS)
        self._job("reminders", self.reminders, REMINDER_SECONDS)
        self._job("retention", self.retention, RETENTION_SECONDS)
        self._job("trim", self.trim, memory.TRIM_SECONDS)
        self.scheduler.start()

    async def stop(self) -> None:
        """No new work; wait (at most 30 s) for running jobs to finish, then close."""
        self.stopping.set()
        self.engine.stop()
        self.scheduler.pause()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_TIMEOUT):
                for lock in self._running.values():
                    async with lock:
                        pass
                if self._pump is not None:
                    await self._pump
        self.scheduler.shutdown(wait=False)
        await self.engine.close()
        await self.db.dispose()


async def run_worker(
    main: Settings, settings: DeliverySettings, *, stop: asyncio.Event | None = None
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or asyncio.Event()
    # APScheduler says "Running job ..." every tick at INFO; its warnings still show.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    worker = Worker(main, settings)
    worker.start()
    channels = ", ".join(sorted(s.channel.value for s in worker.engine.senders.values()))
    limit = settings.telegram_rate_limit or "off"
    log.info(
        "worker %s started: channels %s, Telegram limit %s/s",
        worker.engine.worker_id,
        channels,
        limit,
    )
    print(f"worker started (channels: {channels}); stop with Ctrl+C or SIGTERM", flush=True)
    try:
        await stop.wait()
    finally:
        await worker.stop()
        print("worker stopped", flush=True)
    return 0


@contextlib.asynccontextmanager
async def running_worker(main: Settings, settings: DeliverySettings) -> AsyncIterator[Worker]:
    """The worker's jobs inside another process's event loop (``gangmaker run`` in-process):
    ``async with running_worker(settings, load_delivery_settings()): await polling()``."""
    worker = Worker(main, settings)
    worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


async def run_polling_with_worker(main: Settings, settings: DeliverySettings) -> int:
    """``gangmaker run`` with long polling: the chat channel and the worker in one process and
    one event loop. Polling stops on SIGINT/SIGTERM (aiogram's handlers); then the worker stops
    gracefully (sends under way are recorded)."""
    from bot.channels.telegram.runner import run_polling

    @contextlib.asynccontextmanager
    async def worker_alongside() -> AsyncIterator[None]:
        async with running_worker(main, settings) as worker:
            print(f"worker {worker.engine.worker_id} runs in this process", flush=True)
            yield

    return await run_polling(main, alongside=worker_alongside)


def worker_app_context(
    main: Settings, settings: DeliverySettings
) -> Callable[[Any], AsyncIterator[None]]:
    """An aiohttp ``cleanup_ctx`` running the worker alongside the web server (``gangmaker
    run`` with a webhook): it starts with the app and stops gracefully before the app closes."""

    async def context(app: Any) -> AsyncIterator[None]:
        async with running_worker(main, settings) as worker:
            print(f"worker {worker.engine.worker_id} runs in this process", flush=True)
            yield

    return context


async def drain(main: Settings, settings: DeliverySettings, *, timeout: float = 600.0) -> int:
    """One pass for scripts (`gangmaker worker --once`): start due announcements, queue due
    reminders, send until nothing is due now. Returns the rows handled."""
    worker = Worker(main, settings)
    try:
        await worker.start_announcements()
        await worker.reminders()
        handled = await worker.engine.run_until_idle(timeout=timeout, linger=5.0)
        await worker.start_announcements()
        return handled
    finally:
        await worker.engine.close()
        await worker.db.dispose()
