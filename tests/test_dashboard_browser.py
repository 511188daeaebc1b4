"""The dashboard in a real browser: headless Chromium (Debian's), driven by Playwright.

One leader's afternoon: sign in, create a round, compose and schedule an announcement,
approve and reject requests, export and open the file; then an area leader is refused another
area's page, a form without its CSRF token is refused, and a theme lead is refused a street
without their theme but sees one with it.

Skipped when /usr/bin/chromium is missing, unless REQUIRE_BROWSER=1 (CI), where it fails.
With DASHBOARD_SCREENSHOTS=DIR the main pages are saved there as PNG (docs/screenshots).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from openpyxl import load_workbook
from sqlalchemy import select

from bot.db import make_engine, make_sessionmaker, transaction
from bot.models import Announcement, AnnouncementStatus, BudgetRequest, RequestStatus, Round, utcnow
from bot.web.app import build_app
from tests.dashboard_data import PASSWORD, Data, seed

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not os.path.exists(CHROMIUM):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture
async def site(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[tuple[str, Any, Data]]:
    db = tmp_path / "browser.db"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    async with transaction(make_sessionmaker(engine)) as session:
        data = await seed(session, now=utcnow())
    # Secure cookies as in production: Chromium accepts them from http://localhost.
    server = TestServer(build_app(engine, dashboard=("s" * 40, True)), host="localhost")
    await server.start_server()
    try:
        yield f"http://localhost:{server.port}", engine, data
    finally:
        await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def shots() -> Path | None:
    target = os.environ.get("DASHBOARD_SCREENSHOTS")
    if not target:
        return None
    path = Path(target)
    path.mkdir(parents=True, exist_ok=True)
    return path


async def shot(page: Any, name: str) -> None:
    folder = shots()
    if folder is not None:
        await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def sign_in(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/dashboard/login")
    await page.get_by_label("Gebruikersnaam").fill(username)
    await page.get_by_label("Wachtwoord").fill(PASSWORD)
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_url(f"{base}/dashboard/")


async def status_of(engine: Any, request_id: int) -> RequestStatus:
    async with make_sessionmaker(engine)() as session:
        item = await session.get(BudgetRequest, request_id)
        assert item is not None
        return item.status


async def test_a_leaders_afternoon(site: tuple[str, Any, Data], browser: Any) -> None:
    base, engine, data = site
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    page = await context.new_page()

    # Sign in.
    await page.goto(f"{base}/dashboard/login")
    await shot(page, "login")
    await sign_in(page, base, "admin")
    assert await page.locator("h1").inner_text() == "Hallo Anna"
    cookie = next(c for c in await context.cookies() if c["name"] == "gangmaker_dashboard")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    await shot(page, "home")

    # Create a round.
    await page.get_by_role("link", name="Rondes").click()
    await page.get_by_role("link", name="Nieuwe ronde").click()
    await page.get_by_label("Nederlands *", exact=True).fill("Najaarsronde")
    await page.get_by_label("English", exact=True).fill("Autumn round")
    start = utcnow() + dt.timedelta(days=14)
    await page.get_by_label("Opent").fill(start.strftime("%Y-%m-%dT09:00"))
    await page.get_by_label("Sluit").fill(
        (start + dt.timedelta(days=40)).strftime("%Y-%m-%dT17:00")
    )
    await page.get_by_label("Maximum per aanvraag (€)").fill("300")
    await page.get_by_label("flower_bulbs").check()
    # Its opening message per language: the missing ones are shown once one is written.
    opening = page.locator("#missing-opening")
    assert await opening.inner_text() == ""
    await page.get_by_label("Bericht als de ronde begint: Nederlands *").fill("De ronde is open!")
    await page.get_by_label("Bericht als de ronde begint: Türkçe").fill("Tur açıldı!")
    missing = (await opening.inner_text()).split(":", 1)[1]
    assert "English" in missing and "Türkçe" not in missing and "Nederlands" not in missing
    assert await page.locator("#missing-closing").inner_text() == ""
    await shot(page, "round-form")
    await page.get_by_role("button", name="Ronde opslaan").click()
    await page.get_by_text("De ronde is opgeslagen.").wait_for()
    assert await page.get_by_role("link", name="Najaarsronde").count() == 1
    async with make_sessionmaker(engine)() as session:
        created = await session.scalar(select(Round).where(Round.id != data.round.id))
    assert created is not None and created.names["en"] == "Autumn round"
    assert created.max_amount_cents == 30000 and created.in_kind_offers == ["flower_bulbs"]
    async with make_sessionmaker(engine)() as session:
        planned = await session.scalar(
            select(Announcement).where(Announcement.round_id.is_not(None))
        )
    assert planned is not None and planned.texts == {"nl": "De ronde is open!", "tr": "Tur açıldı!"}

    # Compose an announcement: missing languages shown, live recipient count.
    await page.get_by_role("link", name="Berichten").click()
    await page.get_by_role("link", name="Nieuw bericht").click()
    count = page.locator("#recipient-count")
    await count.filter(has_text="krijgen dit bericht").wait_for()
    everyone = await count.inner_text()
    await page.get_by_label("Nederlands *").fill("De najaarsronde komt eraan!")
    missing = (await page.locator("#missing").inner_text()).split(":", 1)[1]
    assert "English" in missing and "Türkçe" in missing and "Nederlands" not in missing
    await page.get_by_label("Türkçe").first.fill("Sonbahar turu geliyor!")
    assert "Türkçe" not in await page.locator("#missing").inner_text()
    await page.locator("input[name=language][value=tr]").check()
    await count.filter(has_text="1 persoon krijgt dit bericht.").wait_for()
    assert everyone != await count.inner_text()
    await shot(page, "compose")
    await page.get_by_role("button", name="Voorbeeld").click()
    # The preview shows what the audience (Turkish speakers) will read.
    await page.get_by_text("Sonbahar turu geliyor!").wait_for()
    send_at = (utcnow() + dt.timedelta(days=2)).astimezone(dt.UTC)
    await page.get_by_label("Versturen om (leeg: nu)").fill(send_at.strftime("%Y-%m-%dT10:00"))
    await page.get_by_role("button", name="Inplannen").click()
    await page.get_by_text("Gepland voor").wait_for()
    await shot(page, "announcement")
    async with make_sessionmaker(engine)() as session:
        announcement = await session.scalar(
            select(Announcement).where(Announcement.round_id.is_(None))
        )
    assert announcement is not None and announcement.status == AnnouncementStatus.SCHEDULED
    assert announcement.audience == {"languages": ["tr"]}

    # Review: approve one with the keyboard, reject another with a reason.
    await page.get_by_role("link", name="Beoordelen", exact=True).click()
    first, second = data.requests[0], data.requests[2]
    card = page.locator(f"#request-{first.reference}")
    await card.get_by_role("button", name=re.compile("^Goedkeuren")).focus()
    await shot(page, "review")
    await page.keyboard.press("Enter")
    await page.get_by_text(f"{first.reference}: goedgekeurd").wait_for()
    other = page.locator(f"#request-{second.reference}")
    await other.get_by_label("Reden (deels of afwijzen)").fill("Geen eigen bijdrage")
    await other.get_by_role("button", name="Afwijzen").click()
    await page.get_by_text(f"{second.reference}: niet goedgekeurd").wait_for()
    assert await status_of(engine, first.id) == RequestStatus.APPROVED
    assert await status_of(engine, second.id) == RequestStatus.REJECTED

    await page.goto(f"{base}/dashboard/overview/{data.round.id}")
    assert await page.locator("figure.chart svg").count() == 3
    await shot(page, "overview")

    # Export and open the files.
    await page.get_by_role("link", name="Exports").click()
    await shot(page, "exports")
    async with page.expect_download() as info:
        await page.locator(f"a[href$='requests.xlsx?round={data.round.id}']").click()
    download = await info.value
    assert download.suggested_filename == f"requests-round-{data.round.id}.xlsx"
    sheet = load_workbook(io.BytesIO(Path(await download.path()).read_bytes())).active
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True)}
    assert rows[first.reference][8] == "approved" and rows[first.reference][9] == 200
    assert rows[second.reference][8] == "rejected"
    assert rows[second.reference][10] == "Geen eigen bijdrage"
    async with page.expect_download() as info:
        await page.locator("a[href$='streets.csv']").click()
    text = Path(await (await info.value).path()).read_text(encoding="utf-8-sig")
    names = [row[2] for row in csv.reader(io.StringIO(text), delimiter=";")]
    assert "Zaagmolenstraat" in names and "Schiedamseweg" in names

    # Sign out; the leader of Noord is refused a street of Delfshaven.
    await page.get_by_role("button", name="Uitloggen").click()
    await page.wait_for_url(f"{base}/dashboard/login")
    await sign_in(page, base, "noord")
    response = await page.goto(f"{base}/dashboard/streets/{data.south_street.id}")
    assert response is not None and response.status == 403
    assert await page.locator("h1").inner_text() == "Niet toegestaan"
    response = await page.goto(f"{base}/dashboard/streets/{data.north_street.id}")
    assert response is not None and response.status == 200

    # A form without its CSRF token is refused, and nothing changes.
    await page.goto(f"{base}/dashboard/review")
    remaining = data.requests[1]
    await page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await (
            page.locator(f"#request-{remaining.reference}")
            .get_by_role("button", name=re.compile("^Goedkeuren"))
            .click()
        )
    assert (await posted.value).status == 403
    assert await status_of(engine, remaining.id) == RequestStatus.SUBMITTED

    # The theme lead of green streets: refused a street without the theme, let into a green
    # street in another area.
    await page.goto(f"{base}/dashboard/")
    await page.get_by_role("button", name="Uitloggen").click()
    await page.wait_for_url(f"{base}/dashboard/login")
    await sign_in(page, base, "groen")
    response = await page.goto(f"{base}/dashboard/streets/{data.north_street.id}")
    assert response is not None and response.status == 403
    assert await page.locator("h1").inner_text() == "Niet toegestaan"
    response = await page.goto(f"{base}/dashboard/streets/{data.south_street.id}")
    assert response is not None and response.status == 200
    assert await page.locator("h1").inner_text() == "Schiedamseweg"

    # On a phone.
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = await phone.new_page()
    await sign_in(mobile, base, "noord")
    await mobile.goto(f"{base}/dashboard/review")
    width = await mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the review queue scrolls sideways on a phone"
    await shot(mobile, "review-phone")
    await phone.close()
    await context.close()
