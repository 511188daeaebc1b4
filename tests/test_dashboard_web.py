"""The dashboard over HTTP (aiohttp's test client), on SQLite and PostgreSQL: sign-in and
lock-out, role checks per area, CSRF, and what a decision changes (database and outbox)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import make_sessionmaker, transaction
from bot.models import (
    Announcement,
    AnnouncementStatus,
    AuditEntry,
    BudgetRequest,
    Delivery,
    RequestStatus,
    Round,
    Street,
    StreetStatus,
    WebAccount,
    utcnow,
)
from bot.services import announcements, notify, web_accounts
from bot.web.app import build_app
from tests.dashboard_data import PASSWORD, Data, seed

SECRET = "x" * 40


@pytest.fixture
async def data(engine: AsyncEngine) -> Data:
    async with transaction(make_sessionmaker(engine)) as session:
        return await seed(session, now=utcnow())


@pytest.fixture
async def client(engine: AsyncEngine, data: Data) -> AsyncIterator[TestClient]:
    app = build_app(engine, dashboard=(SECRET, False))
    async with TestClient(TestServer(app)) as client:
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match[1]


async def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> int:
    page = await client.get("/dashboard/login")
    token = csrf_of(await page.text())
    response = await client.post(
        "/dashboard/login",
        data={"csrf": token, "username": username, "password": password},
        allow_redirects=False,
    )
    return response.status


async def token(client: TestClient, path: str = "/dashboard/") -> str:
    response = await client.get(path)
    assert response.status == 200
    return csrf_of(await response.text())


async def fetch(engine: AsyncEngine, model: type, ident: int) -> object:
    async with make_sessionmaker(engine)() as session:
        return await session.get(model, ident)


async def test_pages_need_a_sign_in(client: TestClient) -> None:
    response = await client.get("/dashboard/review", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/dashboard/login")


async def test_session_cookie_is_httponly_and_samesite(engine: AsyncEngine, data: Data) -> None:
    app = build_app(engine, dashboard=(SECRET, True))
    async with TestClient(TestServer(app)) as client:
        page = await client.get("/dashboard/login")
        cookie = page.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]


async def test_wrong_password_then_lock_out(client: TestClient, engine: AsyncEngine) -> None:
    assert await sign_in(client, "noord", "wrong password") == 401
    for _ in range(web_accounts.MAX_FAILURES - 1):
        await sign_in(client, "noord", "wrong password")
    # Locked now: even the right password is refused, and the page says until when.
    page = await client.get("/dashboard/login")
    response = await client.post(
        "/dashboard/login",
        data={"csrf": csrf_of(await page.text()), "username": "noord", "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.status == 401
    assert "geblokkeerd" in (await response.text())  # Dutch: "locked until"
    async with make_sessionmaker(engine)() as session:
        account = await session.scalar(select(WebAccount).where(WebAccount.username == "noord"))
        assert account is not None and account.locked_until is not None
        assert account.locked_until > utcnow()
    review = await client.get("/dashboard/review", allow_redirects=False)
    assert review.status == 303  # still not signed in


async def test_unknown_user_gets_the_same_answer(client: TestClient) -> None:
    assert await sign_in(client, "nobody", PASSWORD) == 401


async def test_leader_sees_only_their_area(client: TestClient, data: Data) -> None:
    assert await sign_in(client, "noord") == 303
    queue = await (await client.get("/dashboard/review")).text()
    assert "Straatfeest" in queue and "Plantjesdag" in queue
    assert "Buurtbarbecue" not in queue
    other_area = await client.get(f"/dashboard/review?area={data.south.id}")
    assert other_area.status == 403
    other_street = await client.get(f"/dashboard/streets/{data.south_street.id}")
    assert other_street.status == 403
    own_street = await client.get(f"/dashboard/streets/{data.north_street.id}")
    assert own_street.status == 200


async def test_theme_lead_sees_and_decides_only_their_theme(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    # "groen" leads the green streets: Schiedamseweg (Delfshaven) only.
    assert await sign_in(client, "groen") == 303
    queue = await (await client.get("/dashboard/review")).text()
    assert "Buurtbarbecue" in queue
    assert "Straatfeest" not in queue and "Plantjesdag" not in queue
    # Any area may be picked (a theme runs through all): only the theme's streets in it.
    north = await client.get(f"/dashboard/review?area={data.north.id}")
    assert north.status == 200 and "Straatfeest" not in await north.text()
    assert (await client.get(f"/dashboard/streets/{data.north_street.id}")).status == 403
    assert (await client.get(f"/dashboard/streets/{data.south_street.id}")).status == 200
    pending = await (await client.get("/dashboard/streets")).text()
    assert "Bergweg" not in pending  # a sign-up in Noord without the theme
    csrf = await token(client, "/dashboard/review")
    north_request, south_request = data.requests[0], data.requests[2]
    refused = await client.post(
        f"/dashboard/review/{north_request.id}",
        data={"csrf": csrf, "decision": "approve"},
        allow_redirects=False,
    )
    assert refused.status == 403
    assert (await fetch(engine, BudgetRequest, north_request.id)).status == RequestStatus.SUBMITTED  # type: ignore[attr-defined]
    await client.post(
        f"/dashboard/review/{south_request.id}", data={"csrf": csrf, "decision": "approve"}
    )
    assert (await fetch(engine, BudgetRequest, south_request.id)).status == RequestStatus.APPROVED  # type: ignore[attr-defined]
    streets_csv = (await (await client.get("/dashboard/exports/streets.csv")).read()).decode(
        "utf-8-sig"
    )
    assert "Schiedamseweg" in streets_csv and "Zaagmolenstraat" not in streets_csv
    overview = await (await client.get(f"/dashboard/overview/{data.round.id}")).text()
    assert "Delfshaven" in overview and "Noord" in overview  # every area, the theme's figures


async def test_leader_cannot_decide_in_another_area(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    await sign_in(client, "noord")
    csrf = await token(client, "/dashboard/review")
    south_request = data.requests[2]
    response = await client.post(
        f"/dashboard/review/{south_request.id}",
        data={"csrf": csrf, "decision": "approve"},
        allow_redirects=False,
    )
    assert response.status == 403
    stored = await fetch(engine, BudgetRequest, south_request.id)
    assert stored.status == RequestStatus.SUBMITTED  # type: ignore[attr-defined]


async def test_a_form_without_csrf_is_refused(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    await sign_in(client, "admin")
    request = data.requests[0]
    for form in ({"decision": "approve"}, {"decision": "approve", "csrf": "forged"}):
        response = await client.post(f"/dashboard/review/{request.id}", data=form)
        assert response.status == 403
    stored = await fetch(engine, BudgetRequest, request.id)
    assert stored.status == RequestStatus.SUBMITTED  # type: ignore[attr-defined]
    # The sign-in form itself is protected too.
    login = await client.post("/dashboard/login", data={"username": "admin", "password": PASSWORD})
    assert login.status == 403


async def test_approve_tells_the_gangmaker_in_their_language(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    await sign_in(client, "noord")
    csrf = await token(client, "/dashboard/review")
    request = data.requests[0]
    response = await client.post(
        f"/dashboard/review/{request.id}", data={"csrf": csrf, "decision": "approve"}
    )
    assert response.status == 200
    assert "1" in await response.text()
    stored = await fetch(engine, BudgetRequest, request.id)
    assert stored.status == RequestStatus.APPROVED  # type: ignore[attr-defined]
    assert stored.awarded_cents == 20000  # type: ignore[attr-defined]
    async with make_sessionmaker(engine)() as session:
        deliveries = list(await session.scalars(select(Delivery)))
    assert [d.person_id for d in deliveries] == [data.gangmaker_tr.id]
    body = deliveries[0].body or ""
    assert stored.payout_code in body  # type: ignore[attr-defined]
    assert request.reference in body
    # Turkish, not Dutch or English: the recipient's own language.
    assert "approved" not in body and "goedgekeurd" not in body


async def test_partly_and_reject_need_a_reason(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    await sign_in(client, "admin")
    csrf = await token(client, "/dashboard/review")
    partly, reject = data.requests[1], data.requests[2]
    refused = await client.post(
        f"/dashboard/review/{reject.id}", data={"csrf": csrf, "decision": "reject", "reason": ""}
    )
    assert refused.status == 200
    assert "flash error" in await refused.text()
    assert (await fetch(engine, BudgetRequest, reject.id)).status == RequestStatus.SUBMITTED  # type: ignore[attr-defined]
    await client.post(
        f"/dashboard/review/{partly.id}",
        data={"csrf": csrf, "decision": "partly", "amount": "50,00", "reason": "Te duur"},
    )
    stored = await fetch(engine, BudgetRequest, partly.id)
    assert stored.status == RequestStatus.PARTLY_APPROVED  # type: ignore[attr-defined]
    assert stored.awarded_cents == 5000  # type: ignore[attr-defined]
    await client.post(
        f"/dashboard/review/{reject.id}",
        data={"csrf": csrf, "decision": "reject", "reason": "Geen eigen bijdrage"},
    )
    stored = await fetch(engine, BudgetRequest, reject.id)
    assert stored.status == RequestStatus.REJECTED  # type: ignore[attr-defined]
    async with make_sessionmaker(engine)() as session:
        told = await session.scalar(
            select(Delivery).where(Delivery.person_id == data.gangmaker_nl.id)
        )
    assert told is not None and "Geen eigen bijdrage" in (told.body or "")


async def test_street_sign_up_approved_on_the_web(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    await sign_in(client, "noord")
    csrf = await token(client, "/dashboard/streets")
    page = await (await client.get("/dashboard/streets")).text()
    assert "Bergweg" in page
    await client.post(
        f"/dashboard/streets/{data.pending_street.id}/review",
        data={"csrf": csrf, "decision": "approve"},
    )
    stored = await fetch(engine, Street, data.pending_street.id)
    assert stored.status == StreetStatus.ACTIVE  # type: ignore[attr-defined]
    found = await (await client.get("/dashboard/streets?q=zaagmolen")).text()
    assert "Zaagmolenstraat" in found and "Schiedamseweg" not in found


async def test_payout_point_redeems_once_and_sees_no_review(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        request = await session.get(BudgetRequest, data.requests[0].id)
        assert request is not None
        request.status, request.awarded_cents, request.payout_code = (
            RequestStatus.APPROVED,
            20000,
            "PAY123",
        )
    await sign_in(client, "buurthuis")
    assert (await client.get("/dashboard/review")).status == 403
    page = await (await client.get("/dashboard/payout?code=pay123")).text()
    assert "200" in page
    csrf = csrf_of(page)
    await client.post("/dashboard/payout", data={"csrf": csrf, "code": "PAY123"})
    stored = await fetch(engine, BudgetRequest, data.requests[0].id)
    assert stored.status == RequestStatus.PAID and stored.paid_at is not None  # type: ignore[attr-defined]
    again = await client.post("/dashboard/payout", data={"csrf": csrf, "code": "PAY123"})
    assert "flash error" in await again.text()


async def test_round_created_with_names_and_scheduled_message(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    await sign_in(client, "admin")
    csrf = await token(client, "/dashboard/rounds/new")
    opens = (utcnow() + dt.timedelta(days=20)).strftime("%Y-%m-%dT09:00")
    closes = (utcnow() + dt.timedelta(days=60)).strftime("%Y-%m-%dT17:00")
    response = await client.post(
        "/dashboard/rounds/new",
        data={
            "csrf": csrf,
            "name_nl": "Najaarsronde",
            "name_en": "Autumn round",
            "theme": "general",
            "opens_at": opens,
            "closes_at": closes,
            "max_amount": "250",
            "offer": "flower_bulbs",
            "opening_nl": "De najaarsronde is open!",
            "opening_tr": "Sonbahar turu açıldı!",
            "opening_en": "   ",
        },
    )
    assert response.status == 200
    async with make_sessionmaker(engine)() as session:
        created = await session.scalar(select(Round).where(Round.id != data.round.id))
        assert created is not None
        assert created.names == {"nl": "Najaarsronde", "en": "Autumn round"}
        assert created.max_amount_cents == 25000
        assert created.in_kind_offers == ["flower_bulbs"]
        planned = await session.scalar(select(Announcement))
        assert planned is not None and planned.round_id == created.id
        assert planned.status == AnnouncementStatus.SCHEDULED
        # A text per language; an empty one is left out (those people get the Dutch text).
        assert planned.texts == {"nl": "De najaarsronde is open!", "tr": "Sonbahar turu açıldı!"}
        assert planned.send_at == created.opens_at
    # A window that closes before it opens changes nothing and says why.
    bad = await client.post(
        "/dashboard/rounds/new",
        data={"csrf": csrf, "name_nl": "Fout", "opens_at": closes, "closes_at": opens,
              "max_amount": "250", "theme": "general"},
    )  # fmt: skip
    assert bad.status == 400
    # A planned message without its Dutch text is refused, and no round is made.
    no_dutch = await client.post(
        "/dashboard/rounds/new",
        data={"csrf": csrf, "name_nl": "Winterronde", "opens_at": opens, "closes_at": closes,
              "max_amount": "250", "theme": "general", "closing_en": "Last week!"},
    )  # fmt: skip
    assert no_dutch.status == 400
    page = await no_dutch.text()
    assert "Een mededeling heeft een Nederlandse tekst nodig." in page
    assert "Last week!" in page  # the form keeps what was typed
    async with make_sessionmaker(engine)() as session:
        names = [r.names["nl"] for r in await session.scalars(select(Round))]
        assert "Winterronde" not in names
        assert len(list(await session.scalars(select(Announcement)))) == 1


async def test_announcement_count_preview_and_schedule(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    await sign_in(client, "noord")
    everyone = await (await client.get("/dashboard/announcements/count.json")).json()
    turkish = await (await client.get("/dashboard/announcements/count.json?language=tr")).json()
    assert turkish["recipients"] == 1 < everyone["recipients"]
    csrf = await token(client, "/dashboard/announcements/new")
    response = await client.post(
        "/dashboard/announcements/new",
        data={
            "csrf": csrf,
            "text_nl": "Hallo straat!",
            "text_tr": "Merhaba!",
            "area": str(data.north.id),
        },
    )
    assert response.status == 200
    page = await response.text()
    assert "Merhaba!" in page and "Hallo straat!" in page
    announcement_id = int(re.search(r"/announcements/(\d+)/schedule", page)[1])  # type: ignore[index]
    await client.post(
        f"/dashboard/announcements/{announcement_id}/schedule",
        data={"csrf": csrf, "send_at": ""},
    )
    stored = await fetch(engine, Announcement, announcement_id)
    assert stored.status == AnnouncementStatus.SCHEDULED  # type: ignore[attr-defined]
    progress = await (
        await client.get(f"/dashboard/announcements/{announcement_id}/progress.json")
    ).json()
    assert progress["status"] == "scheduled"
    # The worker fans it out and sends one message: the progress bar's numbers follow.
    async with transaction(make_sessionmaker(engine)) as session:
        await announcements.start_due_announcements(session, now=utcnow() + dt.timedelta(seconds=5))
        rows = list(
            await session.scalars(
                select(Delivery).where(Delivery.announcement_id == announcement_id)
            )
        )
        await notify.mark_sent(session, rows[:1])
    progress = await (
        await client.get(f"/dashboard/announcements/{announcement_id}/progress.json")
    ).json()
    assert progress["status"] == "sending"
    assert (progress["total"], progress["sent"]) == (len(rows), 1)
    assert len(rows) == 2 and progress["percent"] == 50


async def test_exports_hold_only_the_leaders_areas_and_are_audited(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    await sign_in(client, "noord")
    response = await client.get(f"/dashboard/exports/requests.xlsx?round={data.round.id}")
    assert response.status == 200
    sheet = load_workbook(io.BytesIO(await response.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "reference"
    assert sorted(r[4] for r in rows[1:]) == ["Plantjesdag", "Straatfeest"]
    csv_text = (await (await client.get("/dashboard/exports/streets.csv")).read()).decode(
        "utf-8-sig"
    )
    assert "Zaagmolenstraat" in csv_text and "Schiedamseweg" not in csv_text
    async with make_sessionmaker(engine)() as session:
        exports = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
        )
    assert len(exports) == 2


async def test_review_queue_pages_through_a_long_queue(
    client: TestClient, data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.web.dashboard import review

    monkeypatch.setattr(review, "PAGE", 2)
    await sign_in(client, "admin")
    first = await (await client.get("/dashboard/review?status=all")).text()
    assert first.count('class="request"') == 2
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = await (await client.get("/dashboard/review?status=all&page=2")).text()
    assert second.count('class="request"') == 1
    assert 'rel="prev"' in second and 'rel="next"' not in second
    shown = {r.reference for r in data.requests if r.reference in first + second}
    assert shown == {r.reference for r in data.requests}


async def test_audit_log_by_area_for_leaders_and_by_theme_for_theme_leads(
    client: TestClient, data: Data, engine: AsyncEngine
) -> None:
    north, south = data.requests[0], data.requests[2]
    await sign_in(client, "admin")
    csrf = await token(client, "/dashboard/review")
    await client.post(f"/dashboard/review/{north.id}", data={"csrf": csrf, "decision": "approve"})
    await client.post(
        f"/dashboard/review/{south.id}",
        data={"csrf": csrf, "decision": "reject", "reason": "Te laat ingediend"},
    )
    async with make_sessionmaker(engine)() as session:
        entries = {
            e.object_id: e
            for e in await session.scalars(
                select(AuditEntry).where(AuditEntry.object_type == "budget_request")
            )
        }
    assert (entries[north.id].area_id, entries[north.id].street_id) == (
        data.north.id,
        data.north_street.id,
    )
    assert (entries[south.id].area_id, entries[south.id].street_id) == (
        data.south.id,
        data.south_street.id,
    )
    # The admin filters by area.
    only_south = await (await client.get(f"/dashboard/audit?area={data.south.id}")).text()
    assert south.reference in only_south and north.reference not in only_south

    async def as_user(username: str) -> str:
        await client.post("/dashboard/logout", data={"csrf": await token(client)})
        assert await sign_in(client, username) == 303
        return await (await client.get("/dashboard/audit")).text()

    # The leader of Noord reads the admin's decision in Noord, not the one in Delfshaven.
    page = await as_user("noord")
    assert north.reference in page and south.reference not in page
    assert (await client.get(f"/dashboard/audit?area={data.north.id}")).status == 200
    assert (await client.get(f"/dashboard/audit?area={data.south.id}")).status == 403
    # The theme lead of green streets reads the decision on the green street only.
    page = await as_user("groen")
    assert south.reference in page and north.reference not in page
    in_north = await (await client.get(f"/dashboard/audit?area={data.north.id}")).text()
    assert south.reference not in in_north
