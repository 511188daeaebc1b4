"""Sign in and sign out."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session

from bot.db import transaction
from bot.i18n import translator
from bot.services import web_accounts
from bot.web.dashboard.core import SESSIONS_KEY, Ctx, client_ip, csrf_token, page

routes = web.RouteTableDef()


def _safe_next(value: str | None) -> str:
    # Only our own pages: never an open redirect to another site.
    if value and value.startswith("/dashboard") and "//" not in value and "\\" not in value:
        return value
    return "/dashboard/"


async def _login_page(request: web.Request, error: str | None, status: int = 200) -> web.Response:
    t = translator("nl")
    return aiohttp_jinja2.render_template(
        "dashboard/login.html",
        request,
        {
            "t": t,
            "_": t.gettext,
            "csrf": await csrf_token(request),
            "error": error,
            "next": _safe_next(request.query.get("next")),
            "ctx": None,
            "flashes": [],
            "title": t._("Sign in"),
            "path": request.path,
        },
        status=status,
    )


@routes.get("/login", name="login")
async def login_form(request: web.Request) -> web.Response:
    return await _login_page(request, None)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username = str(form.get("username") or "")[:200]
    password = str(form.get("password") or "")[:1000]
    t = translator("nl")
    refused: web_accounts.LoginRefused | None = None
    async with transaction(request.app[SESSIONS_KEY]) as session:
        # Caught inside the transaction: the failure counter is committed with it.
        try:
            account = await web_accounts.authenticate(
                session, username=username, password=password, client_ip=client_ip(request)
            )
            account_id, version = account.id, account.session_version
        except web_accounts.LoginRefused as error:
            refused = error
    if refused is not None:
        if refused.reason == "locked" and refused.until is not None:
            message = t._(
                "Too many wrong tries. This account is locked until {time}.",
                time=t.time(refused.until),
            )
        else:
            message = t._("The user name or password is not right.")
        return await _login_page(request, message, status=401)
    # A fresh session on sign-in (no fixation), with a fresh CSRF token.
    web_session = await new_session(request)
    web_session["account_id"] = account_id
    web_session["version"] = version
    await csrf_token(request)
    raise web.HTTPSeeOther(_safe_next(str(form.get("next") or "")))


@routes.post("/logout", name="logout")
@page()
async def logout(ctx: Ctx) -> web.Response:
    web_session = await get_session(ctx.request)
    web_session.invalidate()
    raise web.HTTPSeeOther("/dashboard/login")
