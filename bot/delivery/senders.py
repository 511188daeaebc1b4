"""Senders: one per channel, each sending one text to one chat address and saying how it went.

A sender never touches the database; it answers with a :class:`SendResult` and the engine
records it. Its limits (``rate``, ``burst``, ``chat_interval``) are applied by the engine's
:class:`ChannelLimiter`, so every sender is rate limited the same way.

- :class:`TelegramSender`: aiogram's ``Bot.send_message`` against ``TELEGRAM_API_BASE``
  (``TELEGRAM_SENDER=aiogram``, the default).
- :class:`TelegramHttpSender`: the same call as one plain HTTP request with aiohttp, no aiogram
  (``TELEGRAM_SENDER=http``): a worker that only sends does not load aiogram's few hundred
  pydantic models (about 130 MB and seconds of CPU at start) nor validate every answer with
  them (about 1 ms of CPU per message). Both map the answers to the same outcomes.
- :class:`ConsoleSender`: the terminal chat cannot be pushed to; its rows are *handed over*
  (queued, with the rendered text in ``body``) and the chat shows them at the person's next
  turn (:func:`bot.services.notify.pending_for_identity`).

Error codes in ``SendResult.error`` (the part before ``:`` is what leaders see counted):
``blocked``, ``chat_not_found``, ``bad_request``, ``bad_address``, ``retry_after``,
``server_error``, ``network``, ``timeout``, ``unauthorized``, ``api_error``.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.models import Channel

ERROR_MAX = 300  # Delivery.last_error column length


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # try again later with back-off (network, 5xx)
    RATE_LIMITED = "rate_limited"  # the platform said retry_after: pause the channel
    BLOCKED = "blocked"  # the person blocked us: skip, the address is unreachable for good
    FAILED = "failed"  # this message can never go (bad request): fail without retrying
    SKIPPED = "skipped"  # not sent on purpose (e.g. no approved template): skip with a reason
    DEFER = "defer"  # this row only waits ``retry_after`` (a cap, a recipient's limit)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    provider_message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def sent(cls, message_id: object) -> SendResult:
        return cls(Outcome.SENT, provider_message_id=str(message_id))

    @classmethod
    def problem(cls, outcome: Outcome, code: str, detail: str = "", **kw: Any) -> SendResult:
        error = f"{code}: {detail}" if detail else code
        return cls(outcome, error=error[:ERROR_MAX], **kw)


class Sender(Protocol):
    channel: Channel
    # Messages per second over all chats of the channel; 0 = no limit.
    rate: float
    # Messages that may leave at once after a quiet moment (the limiter's bucket size).
    burst: int
    # Seconds between two messages to the same chat; 0 = none.
    chat_interval: float
    # True: nothing is sent; the engine hands the row to the channel (the terminal chat).
    handoff: bool

    async def send(self, address: str, text: str) -> SendResult: ...

    async def close(self) -> None: ...


class ConsoleSender:
    channel = Channel.CONSOLE
    rate = 0.0
    burst = 1
    chat_interval = 0.0
    handoff = True

    async def send(self, address: str, text: str) -> SendResult:  # pragma: no cover - unused
        raise NotImplementedError("console rows are handed over, not sent")

    async def close(self) -> None:
        return None


class TelegramSender:
    """Send through the Bot API with aiogram (plain text: no parse mode, nothing to escape)."""

    channel = Channel.TELEGRAM
    handoff = False

    def __init__(
        self,
        token: str,
        api_base: str | None = None,
        *,
        rate: float = 30.0,
        burst: int = 30,
        chat_interval: float = 1.0,
        timeout: float = 15.0,
        connections: int = 100,
    ) -> None:
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        session_kwargs: dict[str, Any] = {"limit": connections, "timeout": timeout}
        if api_base:
            session_kwargs["api"] = TelegramAPIServer.from_base(api_base)
        self.bot = Bot(token, session=AiohttpSession(**session_kwargs))
        self.rate = rate
        self.burst = burst
        self.chat_interval = chat_interval

    async def send(self, address: str, text: str) -> SendResult:
        from aiogram.exceptions import (
            TelegramAPIError,
            TelegramBadRequest,
            TelegramEntityTooLarge,
            TelegramForbiddenError,
            TelegramMigrateToChat,
            TelegramNetworkError,
            TelegramRetryAfter,
            TelegramServerError,
            TelegramUnauthorizedError,
        )

        try:
            chat_id = int(address)
        except ValueError:
            return SendResult.problem(Outcome.FAILED, "bad_address", address)
        try:
            message = await self.bot.send_message(chat_id=chat_id, text=text)
        except TelegramRetryAfter as exc:
            return SendResult.problem(
                Outcome.RATE_LIMITED,
                "retry_after",
                str(exc.retry_after),
                retry_after=float(exc.retry_after),
            )
        except TelegramForbiddenError as exc:
            return SendResult.problem(Outcome.BLOCKED, "blocked", exc.message)
        except TelegramMigrateToChat as exc:
            return SendResult.problem(
                Outcome.FAILED, "bad_request", f"chat moved to {exc.migrate_to_chat_id}"
            )
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                return SendResult.problem(Outcome.BLOCKED, "chat_not_found", exc.message)
            return SendResult.problem(Outcome.FAILED, "bad_request", exc.message)
        except TelegramEntityTooLarge as exc:
            return SendResult.problem(Outcome.FAILED, "bad_request", exc.message)
        except TelegramUnauthorizedError as exc:
            # A wrong or revoked token: every row would fail; wait and let an operator fix it.
            return SendResult.problem(
                Outcome.RATE_LIMITED, "unauthorized", exc.message, retry_after=60.0
            )
        except TelegramServerError as exc:
            return SendResult.problem(Outcome.RETRY, "server_error", exc.message)
        except TelegramNetworkError as exc:
            return SendResult.problem(Outcome.RETRY, "network", exc.message)
        except TimeoutError:
            return SendResult.problem(Outcome.RETRY, "timeout")
        except TelegramAPIError as exc:
            return SendResult.problem(Outcome.RETRY, "api_error", exc.message)
        return SendResult.sent(message.message_id)

    async def close(self) -> None:
        await self.bot.session.close()


DEFAULT_API_BASE = "https://api.telegram.org"


def classify(status: int, answer: dict[str, Any]) -> SendResult:
    """A Bot API answer that is not a success, as an outcome (as aiogram classifies it)."""
    description = str(answer.get("description") or f"HTTP {status}")
    parameters = answer.get("parameters") or {}
    if parameters.get("retry_after"):
        retry_after = float(parameters["retry_after"])
        return SendResult.problem(
            Outcome.RATE_LIMITED, "retry_after", f"{retry_after:g}", retry_after=retry_after
        )
    if parameters.get("migrate_to_chat_id"):
        moved = parameters["migrate_to_chat_id"]
        return SendResult.problem(Outcome.FAILED, "bad_request", f"chat moved to {moved}")
    if status == 400:
        if "chat not found" in description.lower():
            return SendResult.problem(Outcome.BLOCKED, "chat_not_found", description)
        return SendResult.problem(Outcome.FAILED, "bad_request", description)
    if status == 401:
        return SendResult.problem(
            Outcome.RATE_LIMITED, "unauthorized", description, retry_after=60.0
        )
    if status == 403:
        return SendResult.problem(Outcome.BLOCKED, "blocked", description)
    if status == 413:
        return SendResult.problem(Outcome.FAILED, "bad_request", description)
    if status >= 500:
        return SendResult.problem(Outcome.RETRY, "server_error", description)
    return SendResult.problem(Outcome.RETRY, "api_error", description)


class TelegramHttpSender:
    """``sendMessage`` as one JSON POST with aiohttp (plain text, no parse mode)."""

    channel = Channel.TELEGRAM
    handoff = False

    def __init__(
        self,
        token: str,
        api_base: str | None = None,
        *,
        rate: float = 30.0,
        burst: int = 30,
        chat_interval: float = 1.0,
        timeout: float = 15.0,
        connections: int = 100,
    ) -> None:
        self.url = f"{(api_base or DEFAULT_API_BASE).rstrip('/')}/bot{token}/sendMessage"
        self.rate = rate
        self.burst = burst
        self.chat_interval = chat_interval
        self.timeout = timeout
        self.connections = connections
        self._session: Any = None

    async def send(self, address: str, text: str) -> SendResult:
        import aiohttp

        try:
            chat_id = int(address)
        except ValueError:
            return SendResult.problem(Outcome.FAILED, "bad_address", address)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        try:
            async with self._session.post(
                self.url, json={"chat_id": chat_id, "text": text}
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError:
            return SendResult.problem(Outcome.RETRY, "timeout")
        except aiohttp.ClientError as exc:
            return SendResult.problem(Outcome.RETRY, "network", f"{type(exc).__name__}: {exc}")
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            code = "server_error" if status >= 500 else "api_error"
            return SendResult.problem(Outcome.RETRY, code, f"HTTP {status}: not a Bot API answer")
        if 200 <= status < 300 and answer.get("ok"):
            result = answer.get("result") or {}
            return SendResult.sent(result.get("message_id", ""))
        return classify(status, answer)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# --- limits ----------------------------------------------------------------------------------


class ChannelLimiter:
    """A channel's global rate (a token bucket of ``burst`` refilled at ``rate`` per second),
    its pause after ``retry_after``, and the minimum interval per chat.

    The rate counts messages the platform *took*: one it refused with 429 is refunded as a
    credit (spent before the bucket), so random refusals do not slow the channel below its rate;
    the pause they order is honoured all the same. One dispatcher per channel asks
    :meth:`wait` and :meth:`take` in turn, so there are no races between waiters. Time is
    ``clock()`` (monotonic seconds), replaceable in tests.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        chat_interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.burst = max(1, burst)
        # GCRA: a message may go when now >= tat - tolerance; each one moves tat one interval.
        self.tolerance = self.interval * (self.burst - 1)
        self.chat_interval = chat_interval
        self.clock = clock
        self.sleep = sleep
        self.tat = 0.0
        self.credit = 0
        self.paused_until = 0.0
        self._chat_ready: dict[str, float] = {}

    shared = False

    def chat_ready_at(self, chat: str) -> float:
        return self._chat_ready.get(chat, 0.0)

    def block_size(self, remaining: int) -> int:
        return max(1, remaining)

    async def claim_chats(self, addresses: Iterable[str]) -> set[str]:
        """Chats another worker holds: none in one process (see ``chat_ready_at``)."""
        return set()

    async def still_mine(self, chat: str) -> bool:
        return True

    async def flush(self) -> None:
        return None

    async def release(self) -> None:
        return None

    def next_slot(self) -> float:
        """The earliest moment the channel may send its next message."""
        slot = self.paused_until
        if self.interval and not self.credit:
            slot = max(slot, self.tat - self.tolerance)
        return slot

    async def wait(self, deadline: float, want: int = 1) -> bool:
        """Wait for the channel's next slot; False (without waiting) when it is past
        ``deadline``. A pause that starts while waiting is honoured."""
        while True:
            now = self.clock()
            slot = self.next_slot()
            if slot <= now:
                return True
            if slot > deadline:
                return False
            await self.sleep(slot - now)

    def take(self, chat: str) -> None:
        """Count one message to ``chat`` as sent now."""
        now = self.clock()
        if self.credit:
            self.credit -= 1
        elif self.interval:
            self.tat = max(self.tat, now) + self.interval
        if self.chat_interval:
            self._chat_ready[chat] = now + self.chat_interval
            if len(self._chat_ready) > 50_000:
                self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}

    def refund(self) -> None:
        """The platform refused a message (429): it does not count against the rate."""
        if self.interval:
            self.credit = min(self.credit + 1, self.burst)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)
