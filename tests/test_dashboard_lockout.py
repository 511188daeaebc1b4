"""Sign-in limit per client address, across accounts (both databases): many wrong sign-ins
from one address block it for a while with the friendly "locked" message, other addresses
and the accounts themselves are not affected; X-Forwarded-For counts only behind a trusted
proxy, and then only the address that proxy added."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db import make_sessionmaker, transaction
from bot.models import WebAccount, WebLoginFailure, utcnow
from bot.services import web_accounts
from bot.web.app import build_app
from tests import factories
from tests.dashboard_data import PASSWORD, Data, seed
from tests.test_dashboard_web import SECRET, csrf_of

LIMIT = web_accounts.IP_MAX_FAILURES
NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


async def try_sign_in(
    session: AsyncSession, username: str, password: str, ip: str, now: dt.datetime
) -> str:
    try:
        await web_accounts.authenticate(
            session, username=username, password=password, client_ip=ip, now=now
        )
    except web_accounts.LoginRefused as refused:
        return refused.reason
    return "ok"


async def test_one_address_guessing_many_names_is_blocked(session: AsyncSession) -> None:
    org = await factories.organisation(session)
    await web_accounts.create_account(
        session, organisation=org, username="anna", password=PASSWORD,
        grants=[web_accounts.Grant("admin")],
    )  # fmt: skip
    # Wrong tries spread over names (never 5 on one account), one per 30 seconds.
    results = [
        await try_sign_in(
            session, f"guess{i}", "wrong", "203.0.113.9", NOW + dt.timedelta(seconds=30 * i)
        )
        for i in range(LIMIT)
    ]
    assert results[:-1] == ["invalid"] * (LIMIT - 1)
    assert results[-1] == "locked"  # the try that reaches the limit says so
    later = NOW + dt.timedelta(seconds=30 * LIMIT)
    # The right password from that address is refused too; the account itself is not locked.
    with pytest.raises(web_accounts.LoginRefused) as refused:
        await web_accounts.authenticate(
            session, username="anna", password=PASSWORD, client_ip="203.0.113.9", now=later
        )
    assert refused.value.reason == "locked"
    # Free again once the oldest failure is 15 minutes old.
    assert refused.value.until == NOW + dt.timedelta(minutes=web_accounts.IP_WINDOW_MINUTES)
    account = await session.scalar(select(WebAccount).where(WebAccount.username == "anna"))
    assert account is not None and account.locked_until is None and account.failed_logins == 0
    # Another address signs in at the same moment.
    assert await try_sign_in(session, "anna", PASSWORD, "198.51.100.7", later) == "ok"
    # Once the oldest failure is out of the window the address may try again (a sliding
    # window: one more wrong try now would block it again).
    free = NOW + dt.timedelta(minutes=web_accounts.IP_WINDOW_MINUTES, seconds=1)
    assert await try_sign_in(session, "anna", PASSWORD, "203.0.113.9", free) == "ok"
    # Failures are kept only for the window: the next one clears the old ones away.
    much_later = NOW + dt.timedelta(minutes=40)
    assert await try_sign_in(session, "anna", "wrong", "203.0.113.9", much_later) == "invalid"
    kept = await session.scalar(select(func.count()).select_from(WebLoginFailure))
    assert kept == 1


@pytest.fixture
async def data(engine: AsyncEngine) -> Data:
    async with transaction(make_sessionmaker(engine)) as session:
        return await seed(session, now=utcnow())


@pytest.fixture
async def behind_proxy(engine: AsyncEngine, data: Data) -> AsyncIterator[TestClient]:
    app = build_app(engine, dashboard=(SECRET, False), dashboard_proxies=1)
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
async def direct(engine: AsyncEngine, data: Data) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(engine, dashboard=(SECRET, False)))) as client:
        yield client


async def post_sign_in(
    client: TestClient, username: str, password: str, forwarded: str | None = None
) -> tuple[int, str]:
    page = await client.get("/dashboard/login")
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = await client.post(
        "/dashboard/login",
        data={"csrf": csrf_of(await page.text()), "username": username, "password": password},
        headers=headers,
        allow_redirects=False,
    )
    return response.status, await response.text()


async def fill_up(client: TestClient, forwarded: str | None) -> str:
    """LIMIT wrong sign-ins on unknown names; the page of the last one."""
    text = ""
    for i in range(LIMIT):
        status, text = await post_sign_in(client, f"nobody{i}", "wrong", forwarded)
        assert status == 401
    return text


async def test_blocked_address_gets_the_locked_message(direct: TestClient) -> None:
    # Without a trusted proxy the header is ignored: changing it does not escape the block.
    last = await fill_up(direct, forwarded=None)
    assert "geblokkeerd" in last
    status, text = await post_sign_in(direct, "admin", PASSWORD, forwarded="192.0.2.50")
    assert status == 401 and "geblokkeerd" in text
    assert (await direct.get("/dashboard/", allow_redirects=False)).status == 303


async def test_behind_a_trusted_proxy_the_address_it_added_counts(
    behind_proxy: TestClient,
) -> None:
    # The client wrote "10.0.0.1"; the proxy appended the real address, 203.0.113.9.
    await fill_up(behind_proxy, forwarded="10.0.0.1, 203.0.113.9")
    status, text = await post_sign_in(behind_proxy, "admin", PASSWORD, "10.0.0.1, 203.0.113.9")
    assert status == 401 and "geblokkeerd" in text
    # A forged first entry changes nothing: the same real address is blocked.
    status, _ = await post_sign_in(behind_proxy, "admin", PASSWORD, "10.9.9.9, 203.0.113.9")
    assert status == 401
    # Someone else behind the same proxy signs in.
    status, _ = await post_sign_in(behind_proxy, "admin", PASSWORD, "198.51.100.7")
    assert status == 303
