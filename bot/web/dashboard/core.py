"""What every dashboard page shares: the signed-in user, role checks, CSRF, rendering.

A page handler is wrapped by :func:`page`, which opens one database transaction for the
request, loads the signed-in account (else redirects to the sign-in page), checks the roles
the page needs (else 403) and hands the handler a :class:`Ctx`. Forms are POSTed with a
``csrf`` field equal to the token in the session; :func:`csrf_middleware` refuses any POST
without it (403) before a handler runs.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import transaction
from bot.errors import DomainError
from bot.i18n import Translator, translator
from bot.i18n.error_texts import error_text, status_word
from bot.models import Organisation, Person, Street, WebAccount, utcnow
from bot.services import notify, permissions, streets

SESSIONS_KEY = web.AppKey("dashboard_sessions", async_sessionmaker)
# DASHBOARD_TRUSTED_PROXIES: how many proxies in front add to X-Forwarded-For (0: none).
PROXIES_KEY = web.AppKey("dashboard_trusted_proxies", int)
CSRF_FIELD = "csrf"
# Pages by what they need: "leader" = a leader of any area or theme, or an admin.
ADMIN, LEADER, PAYOUT = "admin", "leader", "payout"


@dataclass
class Ctx:
    request: web.Request
    session: AsyncSession
    account: WebAccount
    person: Person
    org: Organisation
    t: Translator
    csrf: str
    now: dt.datetime = field(default_factory=utcnow)
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_admin(self) -> bool:
        return permissions.is_admin(self.person)

    @property
    def scope(self) -> permissions.LeaderScope:
        """The streets this user oversees: their areas and themes; everything for an admin."""
        return permissions.leader_scope(self.person)

    @property
    def area_ids(self) -> frozenset[int] | None:
        """The areas this user sees whole or in part; None for every area (an admin, a theme
        lead)."""
        return self.scope.whole_areas

    @property
    def is_leader(self) -> bool:
        return permissions.is_leader(self.person)

    @property
    def is_payout(self) -> bool:
        return self.is_admin or bool(permissions.payout_point_ids(self.person))

    def error(self, error: DomainError) -> str:
        return error_text(self.t, error)

    def render(self, template: str, status: int = 200, **context: Any) -> web.Response:
        base = {
            "ctx": self,
            "t": self.t,
            "_": self.t.gettext,
            "ngettext": self.t.ngettext,
            "csrf": self.csrf,
            "flashes": self.flashes,
            "path": self.request.path,
            "status_word": status_word,
        }
        response = aiohttp_jinja2.render_template(
            template, self.request, base | context, status=status
        )
        return response


def client_ip(request: web.Request) -> str:
    """The client's address: the connection's, or behind trusted proxies the one the nearest
    of them added to X-Forwarded-For. Entries further left are written by the client and can
    be anything, so they are never used."""
    proxies = request.app.get(PROXIES_KEY, 0)
    if proxies:
        hops = [
            hop.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for hop in header.split(",")
            if hop.strip()
        ]
        if len(hops) >= proxies:
            try:
                return str(ipaddress.ip_address(hops[-proxies]))
            except ValueError:
                pass  # a broken header: fall back to the connection's address
    return request.remote or "unknown"


def has_role(ctx: Ctx, need: str) -> bool:
    if need == ADMIN:
        return ctx.is_admin
    if need == LEADER:
        return ctx.is_leader
    if need == PAYOUT:
        return ctx.is_payout
    return True


async def csrf_token(request: web.Request) -> str:
    web_session = await get_session(request)
    token = web_session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        web_session["csrf"] = token
    return str(token)


@web.middleware
async def csrf_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every state-changing request carries the session's CSRF token in its form."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        web_session = await get_session(request)
        expected = str(web_session.get("csrf") or "")
        form = await request.post()
        given = str(form.get(CSRF_FIELD) or "")
        if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
            return web.Response(status=403, text="403: form expired or CSRF token missing")
    return await handler(request)


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    static = request.path.startswith("/dashboard/static/")
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _headers(exc, static)
        raise
    _headers(response, static)
    return response


def _headers(response: web.StreamResponse, static: bool = False) -> None:
    # Nothing is loaded from elsewhere: no CDN, no inline script from others.
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Pages hold personal data: never cached. The CSS and script may be, for an hour.
    response.headers.setdefault("Cache-Control", "max-age=3600" if static else "no-store")


async def load_ctx(request: web.Request, session: AsyncSession) -> Ctx | None:
    web_session = await get_session(request)
    account_id = web_session.get("account_id")
    if not account_id:
        return None
    account = await session.get(WebAccount, int(account_id))
    if account is None or web_session.get("version") != account.session_version:
        web_session.invalidate()
        return None
    person = account.person
    await session.refresh(person, ["roles"])
    org = await session.get(Organisation, account.organisation_id)
    assert org is not None
    return Ctx(
        request=request,
        session=session,
        account=account,
        person=person,
        org=org,
        t=translator(person.language, org.timezone),
        csrf=await csrf_token(request),
        flashes=list(web_session.pop("flashes", [])),
    )


async def flash(request: web.Request, kind: str, text: str) -> None:
    """A message shown once on the next page (after a redirect)."""
    web_session = await get_session(request)
    web_session["flashes"] = [*web_session.get("flashes", []), (kind, text)]


Handler = Callable[[Ctx], Awaitable[web.StreamResponse]]


def page(need: str | None = None) -> Callable[[Handler], Callable[[web.Request], Awaitable[Any]]]:
    """Wrap a handler: a transaction, the signed-in user, the role check."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            redirect: web.HTTPRedirection | None = None
            async with transaction(request.app[SESSIONS_KEY]) as session:
                ctx = await load_ctx(request, session)
                if ctx is None:
                    nxt = request.path_qs if request.method == "GET" else ""
                    login = request.app.router["login"].url_for()
                    raise web.HTTPSeeOther(login.with_query({"next": nxt} if nxt else {}))
                if need is not None and not has_role(ctx, need):
                    return forbidden(ctx)
                try:
                    return await handler(ctx)
                except web.HTTPRedirection as exc:
                    # Post/redirect/get: the work is committed before the redirect.
                    redirect = exc
            raise redirect

        return run

    return wrap


def forbidden(ctx: Ctx) -> web.Response:
    return ctx.render("dashboard/error.html", status=403, title=ctx.t._("Not allowed"))


def not_found(ctx: Ctx) -> web.Response:
    return ctx.render("dashboard/error.html", status=404, title=ctx.t._("Not found"))


def url(ctx: Ctx, name: str, query: dict[str, Any] | None = None, **parts: Any) -> str:
    route = ctx.request.app.router[name]
    target = route.url_for(**{k: str(v) for k, v in parts.items()})
    if query:
        target = target.with_query({k: str(v) for k, v in query.items() if v not in (None, "")})
    return str(target)


def int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def parse_euros(text: str) -> int | None:
    """ "12,50" / "12.50" / "€ 12" -> cents; None when it is not an amount."""
    cleaned = text.replace("€", "").replace(" ", "").strip()
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", ".")
    try:
        value = round(float(cleaned) * 100)
    except ValueError:
        return None
    if value < 0 or value > 100_000_000:
        return None
    return value


async def tell_gangmakers(
    session: AsyncSession,
    street: Street,
    key: str,
    text: Callable[[Translator], str],
    *,
    now: dt.datetime,
) -> int:
    """Queue ``text`` for every gangmaker of the street, each in their own language (the
    outbox path the chat's leader dialog uses)."""
    people = await streets.gangmakers_of(session, street.id)
    for person in people:
        await notify.notify(session, person=person, key=f"{key}:{person.id}", text=text, now=now)
    return len(people)
