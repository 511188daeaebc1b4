"""Build the aiohttp application and run it on HOST:PORT.

Routes: ``/healthz``; with a Telegram webhook configured also ``POST /webhooks/telegram``
(``bot.channels.telegram.runner.mount_webhook``); with WhatsApp configured ``GET`` and ``POST
/webhooks/whatsapp`` (``bot.channels.whatsapp.runner.mount_webhook``); with ``DASHBOARD=true`` the
project leaders' dashboard under ``/dashboard`` (``bot.web.dashboard``).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.db import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel
    from bot.channels.whatsapp import WhatsAppChannel

ENGINE_KEY = web.AppKey("engine", AsyncEngine)
CleanupContext = Callable[[web.Application], AsyncIterator[None]]


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 otherwise (load balancers and Procfile platforms)."""
    try:
        async with request.app[ENGINE_KEY].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not healthy", never a 500 page
        return web.json_response({"status": "unavailable", "error": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok"})


def build_app(
    engine: AsyncEngine,
    *,
    telegram: TelegramChannel | None = None,
    telegram_webhook: tuple[str, str] | None = None,
    whatsapp: WhatsAppChannel | None = None,
    dashboard: tuple[str, bool] | None = None,
    dashboard_proxies: int = 0,
) -> web.Application:
    """The web app; ``telegram`` with ``telegram_webhook=(url, secret)`` adds the webhook."""
    app = web.Application()
    app[ENGINE_KEY] = engine
    app.router.add_get("/healthz", healthz)
    if telegram is not None and telegram_webhook is not None:
        from bot.channels.telegram import mount_webhook

        url, secret = telegram_webhook
        mount_webhook(app, telegram, url=url, secret=secret)
    if whatsapp is not None:
        from bot.channels.whatsapp import mount_webhook as mount_whatsapp

        mount_whatsapp(app, whatsapp)
    if dashboard is not None:
        # The project leaders' dashboard: (DASHBOARD_SECRET_KEY, secure cookie).
        from bot.web.dashboard import mount_dashboard

        secret_key, secure_cookie = dashboard
        mount_dashboard(
            app,
            engine,
            secret_key=secret_key,
            secure_cookie=secure_cookie,
            trusted_proxies=dashboard_proxies,  # DASHBOARD_TRUSTED_PROXIES
        )

    async def close_engine(app: web.Application) -> None:
        await app[ENGINE_KEY].dispose()

    app.on_cleanup.append(close_engine)
    return app


def serve(settings: Settings, *, contexts: Sequence[CleanupContext] = ()) -> int:
    """Run the web server; ``contexts`` are extra ``cleanup_ctx`` (``gangmaker run`` adds the
    delivery worker so it runs in the same process)."""
    engine = make_engine(settings.database_url, echo=settings.sql_echo)
    telegram, webhook = None, None
    startup_errors: tuple[type[Exception], ...] = ()
    if settings.telegram_webhook:
        from bot.channels.telegram.runner import StartupError, make_channel

        assert settings.telegram_webhook_url and settings.telegram_webhook_secret
        telegram = make_channel(settings, make_sessionmaker(engine))
        webhook = (settings.telegram_webhook_url, settings.telegram_webhook_secret)
        startup_errors = (StartupError,)
    whatsapp = None
    if settings.whatsapp:
        from bot.channels.whatsapp import StartupError as WhatsAppStartupError
        from bot.channels.whatsapp import make_channel as make_whatsapp

        try:
            whatsapp = make_whatsapp(settings, make_sessionmaker(engine))
        except WhatsAppStartupError as error:
            print(f"cannot start: {error}", file=sys.stderr)
            return 1
    dashboard = None
    if settings.dashboard and settings.dashboard_secret_key:
        dashboard = (settings.dashboard_secret_key, settings.dashboard_secure_cookie)
    app = build_app(
        engine,
        telegram=telegram,
        telegram_webhook=webhook,
        whatsapp=whatsapp,
        dashboard=dashboard,
        dashboard_proxies=settings.dashboard_trusted_proxies,
    )
    app.cleanup_ctx.extend(contexts)
    try:
        web.run_app(app, host=settings.host, port=settings.port, print=None)
    except startup_errors as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 1
    return 0
