"""Wiring: a pywa client for the configured Graph API server, and the webhook route.

``mount_webhook`` puts ``GET`` and ``POST /webhooks/whatsapp`` on the aiohttp app of
``gangmaker serve``:

- ``GET`` is Meta's verification: ``hub.mode=subscribe`` with the right ``hub.verify_token``
  is answered with ``hub.challenge``; anything else gets 403.
- ``POST`` must carry ``X-Hub-Signature-256``, the HMAC-SHA256 of the raw body with the app
  secret: unsigned requests get 401, forged ones 403, and neither is handled; a body that is no
  JSON gets 400. A signed one is answered 200 at once and handled right after, in the
  background (Meta wants a fast answer and repeats slow ones): a chat's bodies one after the
  other, in the order they came; a repeat is dropped by message id in the database. A stop
  waits (up to ``DRAIN_SECONDS``) for the bodies taken in.
- No body is lost when the process dies after the 200: the body is stored (table
  ``whatsapp_webhook_body``, one INSERT; if that fails the answer is 503 and Meta sends it
  again) before the answer and deleted once handled. At start-up the leftovers are handled, in
  the order they came; every ``SWEEP_SECONDS`` rows older than ``LEFTOVER_SECONDS`` (another
  process's) are too. A body handled twice acts once (the message-id dedupe).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import httpx
from aiohttp import web
from pywa_async import WhatsApp
from pywa_async import utils as wa_utils
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.whatsapp.adapter import WhatsAppChannel
from bot.config import WHATSAPP_WEBHOOK_PATH, Settings
from bot.conversation.throttle import Throttle

log = logging.getLogger(__name__)

SIGNATURE_HEADER = wa_utils.HUB_SIG
DRAIN_SECONDS = 25.0
WHATSAPP_KEY = web.AppKey("whatsapp", WhatsAppChannel)
# A body kept this long and not handled was left by a process that stopped: handle it here.
LEFTOVER_SECONDS = 60.0
SWEEP_SECONDS = 30.0


class StartupError(Exception):
    """Start-up cannot go on; the message is the one line to show."""


def make_client(
    phone_number_id: str,
    token: str,
    *,
    api_base: str,
    app_secret: str,
    verify_token: str,
    timeout: float = 15.0,
) -> WhatsApp:
    """A pywa client whose Graph API requests go to ``api_base`` (Meta's, or a test server)."""
    if not app_secret:
        raise StartupError(
            "WHATSAPP_APP_SECRET is not set: without it forged webhook calls cannot be refused"
        )
    session = httpx.AsyncClient(timeout=timeout)
    wa = WhatsApp(
        phone_id=phone_number_id,
        token=token,
        session=session,
        server=None,
        webhook_endpoint=WHATSAPP_WEBHOOK_PATH,  # only named in pywa's log lines
        verify_token=verify_token,
        app_secret=app_secret,
        validate_updates=True,
        # Repeats are dropped by message id in the database (any process), not in memory.
        skip_duplicate_updates=False,
    )
    # pywa sets Meta's address on the session; the version path stays pywa's own.
    version = str(session.base_url).rstrip("/").rsplit("/", 1)[-1]
    session.base_url = f"{api_base.rstrip('/')}/{version}"
    return wa


def make_channel(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> WhatsAppChannel:
    if not (settings.whatsapp_phone_number_id and settings.whatsapp_access_token):
        raise StartupError("WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN are not set")
    wa = make_client(
        settings.whatsapp_phone_number_id,
        settings.whatsapp_access_token,
        api_base=settings.whatsapp_api_base,
        app_secret=settings.whatsapp_app_secret or "",
        verify_token=settings.whatsapp_verify_token or "",
    )
    channel = WhatsAppChannel(
        wa,
        sessions,
        settings.organisation,
        media_dir=settings.whatsapp_media_dir,
        default_language=settings.default_language,
    )
    channel.runtime.throttle = Throttle.from_settings(settings)  # as on Telegram
    return channel


async def verify(request: web.Request) -> web.Response:
    channel = request.app[WHATSAPP_KEY]
    query = request.query
    if query.get("hub.mode") != "subscribe":
        return web.Response(status=403, text="Forbidden")
    challenge, status = await channel.wa.webhook_challenge_handler(
        vt=query.get(wa_utils.HUB_VT), ch=query.get(wa_utils.HUB_CH)
    )
    return web.Response(status=status, text=challenge or "")


async def receive(request: web.Request) -> web.Response:
    channel = request.app[WHATSAPP_KEY]
    body = await request.read()
    refused = await channel.wa.webhook_update_validator(body, request.headers.get(SIGNATURE_HEADER))
    if refused is not None:
        text, status = refused
        return web.Response(status=status, text=text)
    try:
        payload = json.loads(body)
    except ValueError:
        return web.Response(status=400, text="Bad Request")
    chat = chat_of(payload)
    try:  # kept before the 200: a process that stops before handling it leaves the row
        row_id = await channel.keep(body, chat)
    except Exception:
        log.exception("whatsapp webhook body not stored")
        return web.Response(status=503, text="Service Unavailable")  # Meta sends it again
    channel.take(body, chat, row_id)
    return web.Response(status=200, text="ok")


def chat_of(payload: Any) -> str | None:
    """Whose chat a webhook body is about (the sender of its first message, else the
    recipient of its first status), to keep one chat's bodies in order; None if neither."""
    try:
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                value = change.get("value") or {}
                for message in value.get("messages") or []:
                    return str(message.get("from") or message.get("from_user_id") or "") or None
                for status in value.get("statuses") or []:
                    return str(status.get("recipient_id") or "") or None
    except AttributeError:  # not Meta's shape: pywa will say so
        return None
    return None


def mount_webhook(app: web.Application, channel: WhatsAppChannel) -> None:
    """``GET``/``POST /webhooks/whatsapp`` on ``app``; pywa's HTTP session closed at the end."""
    app[WHATSAPP_KEY] = channel
    app.router.add_get(WHATSAPP_WEBHOOK_PATH, verify)
    app.router.add_post(WHATSAPP_WEBHOOK_PATH, receive)

    sweeping: list[asyncio.Task[None]] = []

    async def recover(app: web.Application) -> None:
        await channel.recover()  # leftovers of a process that stopped before handling them
        sweeping.append(asyncio.create_task(sweep()))

    async def sweep() -> None:
        # Another process's leftovers (it died): handled here once they are a minute old.
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await channel.recover(older_than=LEFTOVER_SECONDS)
            except Exception:
                log.exception("whatsapp: leftover webhook bodies not read")

    async def drain(app: web.Application) -> None:
        for task in sweeping:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not await channel.drain(DRAIN_SECONDS):
            log.warning("whatsapp: stopped with webhook bodies still being handled")

    async def close(app: web.Application) -> None:
        await channel.wa.api._session.aclose()

    app.on_startup.append(recover)
    app.on_shutdown.append(drain)
    app.on_cleanup.append(close)
