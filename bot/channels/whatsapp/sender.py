"""The outbox's WhatsApp sender: one Graph API request per message (aiohttp, no pywa models).

Like :class:`~bot.delivery.senders.TelegramHttpSender` it never touches the database and
answers with a :class:`SendResult`; the engine's limiter applies ``rate`` (80 msg/s per number
by default), ``burst`` and ``chat_interval`` (about one message per 6 s per recipient).

The engine hands it the whole job (:meth:`send_job`): the person's language, the kind of
message and when they last wrote, so it can choose the form (:mod:`window`): free-form text
inside the 24-hour window, the configured template outside it, or skip with ``no_template``.

Daily cap: a template to someone without an open conversation starts a new one; the number's
messaging tier allows ``daily_new_conversations`` of them in 24 hours. Past it, the message is
deferred (``Outcome.DEFER``) until the oldest of those conversations is 24 hours old, so a big
announcement continues the next day. The count is in the database (:mod:`cap`, given
``sessions``): it holds across restarts and over every worker process. Without ``sessions``
(benchmarks of the HTTP path alone) no cap is applied.

Meta's errors as outcomes:

- 130429 (throughput), 4 / 80007 (API rate limits): ``RATE_LIMITED`` — the channel pauses;
- 131056 (pair rate limit: too many to one recipient): ``DEFER`` this row a little, others go on;
- 131047 (re-engagement: the window had closed after all): sent again as a template at once;
- 132001 (no such template in that language): ``SKIPPED`` with ``no_template``;
- 131026 / 131030 / 131031 (undeliverable, not on WhatsApp, account locked): ``BLOCKED``;
- 190 / HTTP 401: ``RATE_LIMITED`` for a minute (a bad token; an operator must fix it);
- 100 / 131008 / 131009 / other 4xx: ``FAILED``; 5xx, 131000, network errors: ``RETRY``.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.channels.whatsapp.cap import ConversationCap, Place
from bot.channels.whatsapp.window import Form, Templates, form_for, template_parameter
from bot.delivery.senders import Outcome, SendResult
from bot.models import Channel, utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

DEFAULT_API_BASE = "https://graph.facebook.com"
API_VERSION = "v23.0"
TEXT_MAX = 4096
PAIR_RATE_WAIT = 10.0  # seconds before the next try to a recipient that got too many
THROUGHPUT_WAIT = 1.0

RATE_LIMITED = frozenset({130429, 4, 80007})
PAIR_RATE = 131056
RE_ENGAGEMENT = 131047
NO_TEMPLATE = frozenset({132001, 132000})
UNREACHABLE = frozenset({131026, 131030, 131031})
AUTH = frozenset({190, 0})
RETRYABLE = frozenset({131000, 131016, 1, 2})


def classify(status: int, answer: dict[str, Any]) -> SendResult:
    """A Graph API error answer as an outcome."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        code = "server_error" if status >= 500 else "api_error"
        return SendResult.problem(Outcome.RETRY, code, f"HTTP {status}")
    number = int(error.get("code") or 0)
    details = (error.get("error_data") or {}).get("details") or error.get("message") or ""
    detail = f"{number} {details}".strip()
    if number in RATE_LIMITED:
        return SendResult.problem(
            Outcome.RATE_LIMITED, "rate_limited", detail, retry_after=THROUGHPUT_WAIT
        )
    if number == PAIR_RATE:
        return SendResult.problem(
            Outcome.DEFER, "pair_rate_limit", detail, retry_after=PAIR_RATE_WAIT
        )
    if number in NO_TEMPLATE:
        return SendResult.problem(Outcome.SKIPPED, "no_template", detail)
    if number in UNREACHABLE:
        return SendResult.problem(Outcome.BLOCKED, "undeliverable", detail)
    if number in AUTH or status == 401:
        return SendResult.problem(Outcome.RATE_LIMITED, "unauthorized", detail, retry_after=60.0)
    if number in RETRYABLE or status >= 500:
        return SendResult.problem(Outcome.RETRY, "server_error", detail)
    if number == RE_ENGAGEMENT:
        return SendResult.problem(Outcome.SKIPPED, "outside_window", detail)
    return SendResult.problem(Outcome.FAILED, "bad_request", detail)


class WhatsAppSender:
    channel = Channel.WHATSAPP
    handoff = False

    def __init__(
        self,
        phone_number_id: str,
        token: str,
        api_base: str | None = None,
        *,
        templates: Templates | None = None,
        rate: float = 80.0,
        burst: int = 80,
        chat_interval: float = 6.0,
        daily_new_conversations: int = 1000,
        timeout: float = 15.0,
        connections: int = 100,
        now: Callable[[], dt.datetime] = utcnow,
        sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.url = f"{base}/{API_VERSION}/{phone_number_id}/messages"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.templates = templates or Templates()
        self.rate = rate
        self.burst = burst
        self.chat_interval = chat_interval
        self.daily_new_conversations = daily_new_conversations
        self.timeout = timeout
        self.connections = connections
        self.now = now
        # New conversations in 24 hours, counted in the database (None: no cap).
        self.cap = (
            ConversationCap(sessions, phone_number_id, daily_new_conversations)
            if sessions is not None
            else None
        )
        self._session: Any = None
        self.forms: collections.Counter[str] = collections.Counter()

    # --- the engine's calls --------------------------------------------------------------------

    async def send(self, address: str, text: str) -> SendResult:
        """Free-form text (a caller that knows nothing of the window)."""
        return await self._post(self._text(address, text))

    async def send_job(self, job: Any) -> SendResult:
        """A job of the engine (``address``, ``text``, ``language``, ``kind``,
        ``last_inbound_at``, ``texts``): free-form inside the window, a template outside."""
        now = self.now()
        form = form_for(
            last_inbound_at=job.last_inbound_at,
            now=now,
            language=job.language,
            kind=job.kind,
            templates=self.templates,
        )
        if form.kind == "skip":
            self.forms["skipped"] += 1
            return SendResult.problem(Outcome.SKIPPED, form.reason or "no_template")
        if form.kind == "free":
            result = await self._post(self._text(job.address, job.text))
            if not (result.error or "").startswith("outside_window"):
                if result.outcome is Outcome.SENT:
                    self.forms["free"] += 1
                return result
            # Meta says the window closed after all: a template, if there is one.
            form = form_for(
                last_inbound_at=None,
                now=now,
                language=job.language,
                kind=job.kind,
                templates=self.templates,
            )
            if form.kind != "template":
                return SendResult.problem(Outcome.SKIPPED, form.reason or "no_template")
        return await self._send_template(job, form, now)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- templates and the daily cap -----------------------------------------------------------

    async def _send_template(self, job: Any, form: Form, now: dt.datetime) -> SendResult:
        # The place is taken before sending (sends run side by side, in several workers) and
        # given back when the template does not go.
        place = await self.cap.reserve(job.address, now) if self.cap is not None else Place()
        if place.full:
            return SendResult.problem(
                Outcome.DEFER,
                "daily_cap",
                f"{self.daily_new_conversations} new conversations in 24 hours",
                retry_after=place.wait,
            )
        texts = getattr(job, "texts", None) or {}
        text = job.text if form.language == job.language else texts.get(form.language, job.text)
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": job.address,
            "type": "template",
            "template": {
                "name": form.template,
                "language": {"code": form.language},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": template_parameter(text)}],
                    }
                ],
            },
        }
        try:
            result = await self._post(payload)
        except BaseException:
            if self.cap is not None:
                await self.cap.release(job.address, place)
            raise
        if result.outcome is Outcome.SENT:
            self.forms["template"] += 1
        elif self.cap is not None:
            await self.cap.release(job.address, place)
        return result

    # --- HTTP ----------------------------------------------------------------------------------

    @staticmethod
    def _text(address: str, text: str) -> dict[str, Any]:
        if len(text) > TEXT_MAX:
            text = text[: TEXT_MAX - 1] + "…"
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": address,
            "type": "text",
            "text": {"body": text, "preview_url": False},
        }

    async def _post(self, payload: dict[str, Any]) -> SendResult:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers=self.headers,
            )
        started = time.monotonic()
        try:
            async with self._session.post(self.url, json=payload) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError:
            return SendResult.problem(
                Outcome.RETRY, "timeout", f"{time.monotonic() - started:.1f}s"
            )
        except aiohttp.ClientError as exc:
            return SendResult.problem(Outcome.RETRY, "network", f"{type(exc).__name__}: {exc}")
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if 200 <= status < 300 and isinstance(answer, dict) and answer.get("messages"):
            return SendResult.sent(answer["messages"][0].get("id", ""))
        return classify(status, answer if isinstance(answer, dict) else {})
