"""Wiring: a Bot for the configured API server, long polling, and the webhook route.

- ``gangmaker run`` without a webhook: :func:`run_polling` (deleteWebhook, the command menu,
  then getUpdates until Ctrl+C / SIGTERM).
- With ``TELEGRAM_WEBHOOK_URL`` and ``TELEGRAM_WEBHOOK_SECRET``: :func:`mount_webhook` puts
  ``POST /webhooks/telegram`` on the aiohttp app of ``gangmaker serve``; at start-up it calls
  setWebhook with the secret, and requests without that secret get 401 and are not handled.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiogram.methods import GetMe
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram.adapter import SendFailed, TelegramChannel
from bot.config import TELEGRAM_WEBHOOK_PATH, Settings
from bot.conversation.throttle import Throttle
from bot.db import make_engine, make_sessionmaker
from bot.errors import NotFound
from bot.services import people

# Long polling: how long one getUpdates waits for news (seconds).
POLLING_TIMEOUT = 30


class StartupError(Exception):
    """Start-up cannot go on; the message is the one line to show."""


def make_bot(token: str, api_base: str) -> Bot:
    """A Bot talking to ``api_base`` (Telegram's, or a self-hosted Bot API server)."""
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))


def make_channel(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], bot: Bot | None = None
) -> TelegramChannel:
    if bot is None:
        if not settings.telegram_bot_token:
            raise StartupError("TELEGRAM_BOT_TOKEN is not set")
        bot = make_bot(settings.telegram_bot_token, settings.telegram_api_base)
    channel = TelegramChannel(
        bot, sessions, settings.organisation, default_language=settings.default_language
    )
    channel.runtime.throttle = Throttle.from_settings(settings)
    return channel


async def check_bot(channel: TelegramChannel) -> str:
    """The bot's username; a refused token or an unreachable server is a ``StartupError``."""
    try:
        me = await channel.call(GetMe())
    except TelegramUnauthorizedError:
        raise StartupError(
            "TELEGRAM_BOT_TOKEN was refused by the Bot API (401 Unauthorized)"
        ) from None
    except (SendFailed, TelegramAPIError) as error:
        raise StartupError(
            f"the Bot API cannot be reached ({error}); check TELEGRAM_API_BASE"
        ) from None
    return me.username or str(me.id)


async def check_organisation(sessions: async_sessionmaker[AsyncSession], slug: str) -> None:
    try:
        async with sessions() as session:
            await people.get_default_organisation(session, slug)
    except (NotFound, SQLAlchemyError):
        raise StartupError(
            f"organisation '{slug}' is not in the database; "
            "run `gangmaker db upgrade` and `gangmaker demo` first"
        ) from None


async def poll(channel: TelegramChannel, *, handle_signals: bool = True) -> None:
    """Long polling until stopped (``channel.dispatcher.stop_polling()`` or a signal)."""
    await channel.prepare_polling()
    await channel.dispatcher.start_polling(
        channel.bot,
        polling_timeout=POLLING_TIMEOUT,
        allowed_updates=channel.allowed_updates,
        handle_signals=handle_signals,
        close_bot_session=False,
    )


Alongside = Callable[[], AbstractAsyncContextManager[object]]


async def run_polling(settings: Settings, *, alongside: Alongside | None = None) -> int:
    """``gangmaker run`` in polling mode. ``alongside`` (the delivery worker) starts only once
    the token and the organisation are known to be right, and stops when polling stops."""
    engine = make_engine(settings.database_url, echo=settings.sql_echo)
    sessions = make_sessionmaker(engine)
    channel = make_channel(settings, sessions)
    try:
        name = await check_bot(channel)
        await check_organisation(sessions, settings.organisation)
        print(f"Telegram: long polling as @{name} (Ctrl+C stops)", flush=True)
        if alongside is None:
            await poll(channel)
        else:
            async with alongside():
                await poll(channel)
    except StartupError as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 1
    finally:
        await channel.bot.session.close()
        await engine.dispose()
    return 0


def mount_webhook(app: web.Application, channel: TelegramChannel, *, url: str, secret: str) -> None:
    """``POST /webhooks/telegram`` on ``app``; setWebhook (with ``secret``) at start-up, the
    bot's HTTP session closed at shut-down."""
    SimpleRequestHandler(
        channel.dispatcher, channel.bot, secret_token=secret, handle_in_background=True
    ).register(app, path=TELEGRAM_WEBHOOK_PATH)

    async def set_webhook(app: web.Application) -> None:
        try:
            await check_bot(channel)
            await channel.prepare_webhook(url, secret)
        except BaseException:
            await channel.bot.session.close()  # no shut-down follows a failed start-up
            raise

    app.on_startup.append(set_webhook)
