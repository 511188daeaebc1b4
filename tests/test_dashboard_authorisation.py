"""Who may do what on the web dashboard: every role against every page and form, as one table.

The web half of the authorisation matrix (the chat half is ``tests/test_authorisation_matrix.py``).
For each role a fresh organisation is seeded (two areas, A = Noord and B = Delfshaven), the role
signs in over real HTTP (aiohttp's test server, the app `gangmaker serve` runs) and tries every
action of :data:`ACTIONS` in turn:

- allowed: the page answers 200 (a form: a 303 to a dashboard page that is not the sign-in) and
  the form's effect is in the database; pages never show the other area's requests or streets
  (:data:`HIDDEN`);
- refused: 403 for a signed-in role, a 303 to the sign-in page for someone without a web account
  (a gangmaker, a stranger: they do carry a valid CSRF token from the sign-in page, so the role
  check itself is what stops them), and every row of every table is exactly as before.

On SQLite and PostgreSQL (the ``engine`` fixture).

Adding a role: add its account to :data:`ACCOUNTS` (user name
and grants), put its name in the ``allowed`` sets of :data:`ACTIONS` where it may act, and, if it
must not see some rows, in :data:`HIDDEN`. A role not in :data:`ACCOUNTS` is tested as a person
without a web account.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import make_sessionmaker, transaction
from bot.models import (
    Announcement,
    AnnouncementStatus,
    Base,
    BudgetRequest,
    RequestStatus,
    Round,
    Street,
    StreetStatus,
    utcnow,
)
from bot.services import announcements, web_accounts
from bot.services.codes import new_reference
from bot.web.app import build_app
from tests.dashboard_data import PASSWORD, Data, seed

SECRET = "m" * 40
PAY_CODE = "PAY123"

# role -> (user name, grants); roles without an account sign in as nobody.
ACCOUNTS: dict[str, tuple[str, list[web_accounts.Grant]] | None] = {
    "admin": ("admin", [web_accounts.Grant("admin")]),  # seeded by tests/dashboard_data.py
    "leader_a": ("noord", [web_accounts.Grant("leader", "Noord")]),  # seeded
    "leader_b": ("delfshaven", [web_accounts.Grant("leader", "Delfshaven")]),
    "payout": ("buurthuis", [web_accounts.Grant("payout", "Buurthuis Noord")]),  # seeded
    # a theme lead of green streets: only Schiedamseweg (area B) is green
    "theme_green": ("groen", [web_accounts.Grant("theme_lead", "groen")]),  # seeded
    "anonymous": None,  # a gangmaker without a web account, or anyone on the internet
}
SEEDED = {"admin", "noord", "buurthuis", "groen"}
ROLES = list(ACCOUNTS)

# What a role must never see on a page it may open (the other area's requests and streets).
A_ROWS = {"Straatfeest", "Plantjesdag", "Rommelmarkt", "Zaagmolenstraat", "Bergweg"}
B_ROWS = {"Buurtbarbecue", "Schiedamseweg"}
HIDDEN: dict[str, set[str]] = {
    "leader_a": B_ROWS,
    "leader_b": A_ROWS,
    "payout": B_ROWS | {"Plantjesdag", "Rommelmarkt", "Bergweg"},
    "theme_green": A_ROWS,
}


@dataclass
class World:
    data: Data
    reject_id: int  # a submitted request in A, for the reject form
    paid_id: int  # an approved request in A with PAY_CODE
    draft_id: int  # a draft announcement
    scheduled_id: int  # a scheduled announcement
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Amsterdam"))


async def build(engine: AsyncEngine) -> World:
    now = utcnow()
    async with transaction(make_sessionmaker(engine)) as s:
        data = await seed(s, now=now)
        extra = []
        for activity, status in (
            ("Rommelmarkt", RequestStatus.SUBMITTED),
            ("Burendag", RequestStatus.APPROVED),
        ):
            request = BudgetRequest(
                reference=new_reference(),
                round_id=data.round.id,
                street_id=data.north_street.id,
                activity=activity,
                activity_date=(now + dt.timedelta(days=30)).date(),
                expected_participants=25,
                amount_cents=10000,
                status=status,
                created_at=now - dt.timedelta(days=5),
            )
            if status == RequestStatus.APPROVED:
                request.awarded_cents, request.payout_code = 10000, PAY_CODE
            s.add(request)
            extra.append(request)
        await s.flush()
        await web_accounts.create_account(
            s, organisation=data.org, username="delfshaven", password=PASSWORD,
            grants=[web_accounts.Grant("leader", "Delfshaven")], first_name="Dirk",
        )  # fmt: skip
        draft = await announcements.create_announcement(
            s, organisation_id=data.org.id, actor=None, texts={"nl": "Concept"}, now=now
        )
        scheduled = await announcements.announce(
            s,
            organisation_id=data.org.id,
            actor=None,
            texts={"nl": "Gepland"},
            send_at=now + dt.timedelta(days=3),
            now=now,
        )
        return World(data, extra[0].id, extra[1].id, draft.id, scheduled.id)


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    rows = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            result = await conn.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result]
    return rows


async def fetch(engine: AsyncEngine, model: type, ident: int) -> Any:
    async with make_sessionmaker(engine)() as session:
        return await session.get(model, ident)


# --- the actions ---------------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    form: dict[str, str] = field(default_factory=dict)


Check = Callable[[AsyncEngine, World], Awaitable[None]]


async def _no_check(engine: AsyncEngine, w: World) -> None:
    return None


def _status(model: type, ident: Callable[[World], int], attribute: str, want: Any) -> Check:
    async def check(engine: AsyncEngine, w: World) -> None:
        stored = await fetch(engine, model, ident(w))
        assert getattr(stored, attribute) == want, (model.__name__, attribute)

    return check


async def _round_created(engine: AsyncEngine, w: World) -> None:
    async with make_sessionmaker(engine)() as s:
        names = [r.names.get("nl") for r in await s.scalars(select(Round))]
    assert "Matrixronde" in names


async def _round_renamed(engine: AsyncEngine, w: World) -> None:
    stored = await fetch(engine, Round, w.data.round.id)
    assert stored.names["nl"] == "Voorjaarsronde (nieuw)"


async def _announcement_created(engine: AsyncEngine, w: World) -> None:
    async with make_sessionmaker(engine)() as s:
        texts = [a.texts.get("nl") for a in await s.scalars(select(Announcement))]
    assert "Matrixbericht" in texts


def _local(w: World, value: dt.datetime) -> str:
    return value.astimezone(w.tz).strftime("%Y-%m-%dT%H:%M")


def _round_form(w: World, name: str, opens: dt.datetime, closes: dt.datetime) -> dict[str, str]:
    return {
        "name_nl": name,
        "theme": "general",
        "opens_at": _local(w, opens),
        "closes_at": _local(w, closes),
        "max_amount": "250",
    }


@dataclass
class Action:
    call: Callable[[World], Call]
    allowed: set[str]
    check: Check = _no_check  # for an allowed form: its effect is in the database
    goes_to: str | None = None  # where an allowed form redirects (default: not the sign-in)


LEADERS = {"admin", "leader_a", "leader_b", "theme_green"}
AREA_A = {"admin", "leader_a"}
PAYOUT = {"admin", "payout"}
SIGNED_IN = {r for r, account in ACCOUNTS.items() if account}

ACTIONS: dict[str, Action] = {
    # pages (GET)
    "home": Action(lambda w: Call("GET", "/dashboard/"), SIGNED_IN),
    "round overview": Action(
        lambda w: Call("GET", f"/dashboard/overview/{w.data.round.id}"), LEADERS
    ),
    "review queue": Action(lambda w: Call("GET", "/dashboard/review?status=all"), LEADERS),
    "review queue of area A": Action(  # a theme lead filters any area: only their theme shows
        lambda w: Call("GET", f"/dashboard/review?area={w.data.north.id}"), AREA_A | {"theme_green"}
    ),
    "streets": Action(lambda w: Call("GET", "/dashboard/streets"), LEADERS),
    "street search": Action(lambda w: Call("GET", "/dashboard/streets?q=straat"), LEADERS),
    "street of area A": Action(
        lambda w: Call("GET", f"/dashboard/streets/{w.data.north_street.id}"), AREA_A
    ),
    "rounds": Action(lambda w: Call("GET", "/dashboard/rounds"), LEADERS),
    "new round form": Action(lambda w: Call("GET", "/dashboard/rounds/new"), LEADERS),
    "edit round form": Action(
        lambda w: Call("GET", f"/dashboard/rounds/{w.data.round.id}"), LEADERS
    ),
    "announcements": Action(lambda w: Call("GET", "/dashboard/announcements"), LEADERS),
    "composer": Action(lambda w: Call("GET", "/dashboard/announcements/new"), LEADERS),
    "audience count": Action(
        lambda w: Call("GET", "/dashboard/announcements/count.json?language=tr"), LEADERS
    ),
    "announcement": Action(
        lambda w: Call("GET", f"/dashboard/announcements/{w.scheduled_id}"), LEADERS
    ),
    "announcement progress": Action(
        lambda w: Call("GET", f"/dashboard/announcements/{w.scheduled_id}/progress.json"), LEADERS
    ),
    "payout page": Action(lambda w: Call("GET", "/dashboard/payout"), PAYOUT),
    "payout code lookup": Action(
        lambda w: Call("GET", f"/dashboard/payout?code={PAY_CODE.lower()}"), PAYOUT
    ),
    "exports page": Action(lambda w: Call("GET", "/dashboard/exports"), LEADERS),
    "export requests": Action(
        lambda w: Call("GET", f"/dashboard/exports/requests.csv?round={w.data.round.id}"), LEADERS
    ),
    "export Lief & Leed": Action(lambda w: Call("GET", "/dashboard/exports/liefleed.csv"), LEADERS),
    "export streets": Action(lambda w: Call("GET", "/dashboard/exports/streets.xlsx"), LEADERS),
    "audit log": Action(lambda w: Call("GET", "/dashboard/audit"), LEADERS),
    # forms (POST)
    "approve a request": Action(
        lambda w: Call(
            "POST", f"/dashboard/review/{w.data.requests[0].id}", {"decision": "approve"}
        ),
        AREA_A,
        _status(BudgetRequest, lambda w: w.data.requests[0].id, "status", RequestStatus.APPROVED),
    ),
    "partly approve a request": Action(
        lambda w: Call(
            "POST",
            f"/dashboard/review/{w.data.requests[1].id}",
            {"decision": "partly", "amount": "50", "reason": "Te duur"},
        ),
        AREA_A,
        _status(
            BudgetRequest, lambda w: w.data.requests[1].id, "status", RequestStatus.PARTLY_APPROVED
        ),
    ),
    "reject a request": Action(
        lambda w: Call(
            "POST", f"/dashboard/review/{w.reject_id}", {"decision": "reject", "reason": "Nee"}
        ),
        AREA_A,
        _status(BudgetRequest, lambda w: w.reject_id, "status", RequestStatus.REJECTED),
    ),
    "approve a street": Action(
        lambda w: Call(
            "POST", f"/dashboard/streets/{w.data.pending_street.id}/review", {"decision": "approve"}
        ),
        AREA_A,
        _status(Street, lambda w: w.data.pending_street.id, "status", StreetStatus.ACTIVE),
    ),
    "create a round": Action(
        lambda w: Call(
            "POST",
            "/dashboard/rounds/new",
            _round_form(
                w,
                "Matrixronde",
                utcnow() + dt.timedelta(days=40),
                utcnow() + dt.timedelta(days=70),
            ),
        ),
        LEADERS,
        _round_created,
    ),
    "edit a round": Action(
        lambda w: Call(
            "POST",
            f"/dashboard/rounds/{w.data.round.id}",
            _round_form(w, "Voorjaarsronde (nieuw)", w.data.round.opens_at, w.data.round.closes_at),
        ),
        LEADERS,
        _round_renamed,
    ),
    "compose an announcement": Action(
        lambda w: Call(
            "POST",
            "/dashboard/announcements/new",
            {"text_nl": "Matrixbericht", "area": str(w.data.north.id)},
        ),
        LEADERS,
        _announcement_created,
    ),
    "schedule an announcement": Action(
        lambda w: Call("POST", f"/dashboard/announcements/{w.draft_id}/schedule", {"send_at": ""}),
        LEADERS,
        _status(Announcement, lambda w: w.draft_id, "status", AnnouncementStatus.SCHEDULED),
    ),
    "cancel an announcement": Action(
        lambda w: Call("POST", f"/dashboard/announcements/{w.scheduled_id}/cancel"),
        LEADERS,
        _status(Announcement, lambda w: w.scheduled_id, "status", AnnouncementStatus.CANCELLED),
    ),
    "redeem a payout code": Action(
        lambda w: Call("POST", "/dashboard/payout", {"code": PAY_CODE}),
        PAYOUT,
        _status(BudgetRequest, lambda w: w.paid_id, "status", RequestStatus.PAID),
    ),
    # last: signing out ends the session for the rest
    "sign out": Action(
        lambda w: Call("POST", "/dashboard/logout"), SIGNED_IN, goes_to="/dashboard/login"
    ),
}


# --- the test ------------------------------------------------------------------------------------


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    return await build(engine)


@pytest.fixture
async def client(engine: AsyncEngine, world: World) -> AsyncIterator[TestClient]:
    app = build_app(engine, dashboard=(SECRET, False))
    async with TestClient(TestServer(app)) as client:
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match[1]


async def sign_in(client: TestClient, role: str) -> str:
    """Sign in as ``role`` (or not, without an account); returns a valid CSRF token."""
    login = await client.get("/dashboard/login")
    token = csrf_of(await login.text())
    account = ACCOUNTS[role]
    if account is None:
        return token
    response = await client.post(
        "/dashboard/login",
        data={"csrf": token, "username": account[0], "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.status == 303, f"{role} cannot sign in"
    home = await client.get("/dashboard/")
    assert home.status == 200
    return csrf_of(await home.text())


async def send(client: TestClient, call: Call, csrf: str) -> ClientResponse:
    if call.method == "GET":
        return await client.get(call.path, allow_redirects=False)
    return await client.post(call.path, data={"csrf": csrf, **call.form}, allow_redirects=False)


async def body_text(response: ClientResponse) -> str:
    if response.content_type.startswith(("text/", "application/json")):
        return await response.text()
    return ""


def test_every_dashboard_route_is_in_the_table() -> None:
    """A new page or form joins :data:`ACTIONS`, or this fails."""
    for action in ACTIONS.values():
        assert action.allowed <= set(ROLES)
    tried = {action.call(_fake_world()).path.partition("?")[0] for action in ACTIONS.values()}
    for route in _dashboard_routes():
        if route.endswith(("/login", "/static")):
            continue
        pattern = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route)) + "/?")
        assert any(pattern.fullmatch(path) for path in tried), f"no action tries {route}"


def _fake_world() -> World:
    class _O:
        id = 1
        opens_at = closes_at = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)

    fake: Any = _O()
    data: Any = type("D", (), {"round": fake, "north": fake, "north_street": fake,
                               "pending_street": fake, "requests": [fake, fake]})()  # fmt: skip
    return World(data, 1, 1, 1, 1)


def _dashboard_routes() -> set[str]:
    from bot.db import make_engine
    from bot.web.dashboard import build_dashboard

    app = build_dashboard(make_engine("sqlite+aiosqlite://"), secret_key=SECRET)
    found = set()
    for resource in app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter") or info.get("prefix") or ""
        found.add("/dashboard" + path.rstrip("/"))
    return found


@pytest.mark.parametrize("role", ROLES)
async def test_dashboard_matrix(
    client: TestClient, engine: AsyncEngine, world: World, role: str
) -> None:
    csrf = await sign_in(client, role)
    refused_as = 403 if ACCOUNTS[role] else 303
    for name, action in ACTIONS.items():
        call = action.call(world)
        before = await snapshot(engine)
        response = await send(client, call, csrf)
        text = await body_text(response)
        where = f"{role} {name} {call.method} {call.path}"
        if role in action.allowed:
            if call.method == "GET":
                assert response.status == 200, (where, response.status)
            else:
                assert response.status == 303, (where, response.status)
                location = response.headers["Location"]
                if action.goes_to:
                    assert location == action.goes_to, where
                else:
                    assert location.startswith("/dashboard") and "/login" not in location, where
                await action.check(engine, world)
            for hidden in HIDDEN.get(role, set()):
                assert hidden not in text, (where, hidden)
        else:
            assert response.status == refused_as, (where, response.status)
            if refused_as == 303:
                assert response.headers["Location"].startswith("/dashboard/login"), where
            assert await snapshot(engine) == before, f"{where}: refused, yet the database changed"
    # Signed out at the end (the last action): the pages are closed again.
    home = await client.get("/dashboard/", allow_redirects=False)
    assert home.status == 303 and home.headers["Location"].startswith("/dashboard/login")
