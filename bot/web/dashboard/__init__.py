"""The project leaders' web dashboard, mounted at ``/dashboard`` on `gangmaker serve`.

Server-rendered pages (aiohttp-jinja2), everything served from this package (no CDN). Sessions
live in an encrypted, HttpOnly, SameSite=Strict cookie (aiohttp-session's
EncryptedCookieStorage, keyed by ``DASHBOARD_SECRET_KEY``); every form carries a CSRF token.
Page groups: :mod:`.auth`, :mod:`.overview`, :mod:`.review`, :mod:`.streets`, :mod:`.rounds`,
:mod:`.announce`, :mod:`.payout`, :mod:`.exports`. The rules stay in ``bot/services``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import make_sessionmaker
from bot.web.dashboard import announce, auth, exports, overview, payout, review, rounds, streets
from bot.web.dashboard.core import PROXIES_KEY, SESSIONS_KEY, csrf_middleware, security_headers

PREFIX = "/dashboard"
WEB_DIR = Path(__file__).resolve().parent.parent
SESSION_HOURS = 8


def cookie_key(secret: str) -> bytes:
    """32 bytes for Fernet from a secret of any length (DASHBOARD_SECRET_KEY)."""
    return hashlib.sha256(("gangmaker-dashboard:" + secret).encode()).digest()


def build_dashboard(
    engine: AsyncEngine, *, secret_key: str, secure_cookie: bool = True, trusted_proxies: int = 0
) -> web.Application:
    app = web.Application(middlewares=[security_headers])
    app[SESSIONS_KEY] = make_sessionmaker(engine)
    app[PROXIES_KEY] = trusted_proxies
    setup_session(
        app,
        EncryptedCookieStorage(
            cookie_key(secret_key),
            cookie_name="gangmaker_dashboard",
            path=PREFIX,
            httponly=True,
            secure=secure_cookie,
            samesite="Strict",
            max_age=SESSION_HOURS * 3600,
        ),
    )
    app.middlewares.append(csrf_middleware)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    for module in (auth, overview, review, streets, rounds, announce, payout, exports):
        app.router.add_routes(module.routes)
    app.router.add_static("/static", WEB_DIR / "static", name="static")
    return app


def mount_dashboard(
    app: web.Application,
    engine: AsyncEngine,
    *,
    secret_key: str,
    secure_cookie: bool = True,
    trusted_proxies: int = 0,
) -> None:
    app.add_subapp(
        PREFIX,
        build_dashboard(
            engine,
            secret_key=secret_key,
            secure_cookie=secure_cookie,
            trusted_proxies=trusted_proxies,
        ),
    )

    async def to_dashboard(request: web.Request) -> web.Response:
        raise web.HTTPFound(PREFIX + "/")

    app.router.add_get(PREFIX, to_dashboard)
