"""Two real `gangmaker serve` processes on one PostgreSQL behind one webhook URL.

What production looks like with two web processes: Telegram posts to one public URL, a load
balancer hands each request to one of the processes. Here the load balancer is a small aiohttp
server in the test process (loopback only) that forwards each webhook request to the process
the test picks, or to both at once. The Bot API is the fake (``tests/fakes/telegram_api.py``);
both processes are started with the same token, webhook URL and secret, and with the dashboard
on and the same ``DASHBOARD_SECRET_KEY``.

- a dialog whose turns alternate between the two processes carries on (the state is in the
  database, not in a process);
- one update delivered to both processes at the same moment is handled once
  (``processed_update``);
- a dashboard session cookie (and its CSRF token) from one process works on the other.

PostgreSQL only: on SQLite one file is for one host, and the Procfile's scale-out is PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import TELEGRAM_WEBHOOK_PATH
from bot.db import transaction
from bot.i18n import translator
from bot.models import Announcement, Organisation, ProcessedUpdate
from bot.services import web_accounts
from tests.chat import make_world
from tests.fakes import ApiSpec, FakeTelegram
from tests.processes import gangmaker
from tests.test_telegram_e2e import (
    TOKEN,
    buttons,
    chat_state,
    free_port,
    option_values,
    telegram_person,
    value_of,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ApiSpec.default_path().exists(), reason="Bot API spec not found"),
]

SECRET = "two-processes_secret"
DASHBOARD_KEY = "k" * 40
USER = 7001
PASSWORD = "correct horse battery"


class Balancer:
    """The load balancer in front of the two processes: ``to`` says where the next webhook
    request goes (a list of process ports; two = the same request to both at once)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.to: list[int] = []
        self.forwarded: list[tuple[int, int]] = []  # (process port, status)
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{TELEGRAM_WEBHOOK_PATH}"

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None and self.to, "no process picked for this update"
        body = await request.read()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")
        }

        async def one(port: int) -> tuple[int, bytes, str]:
            assert self._http is not None
            url = f"http://127.0.0.1:{port}{TELEGRAM_WEBHOOK_PATH}"
            async with self._http.post(url, data=body, headers=headers) as response:
                self.forwarded.append((port, response.status))
                return response.status, await response.read(), response.content_type

        answers = await asyncio.gather(*(one(port) for port in self.to))
        status, data, content_type = answers[0]
        return web.Response(status=status, body=data, content_type=content_type)

    async def __aenter__(self) -> Balancer:
        app = web.Application()
        app.router.add_post(TELEGRAM_WEBHOOK_PATH, self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._http is not None and self._runner is not None
        await self._http.close()
        await self._runner.cleanup()


@contextlib.asynccontextmanager
async def serve(db_url: str, api_base: str, webhook_url: str, port: int) -> AsyncIterator[Any]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WHATSAPP_", "DASHBOARD", "PORT", "HOST"))
    }
    env.update(
        DATABASE_URL=db_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=api_base,
        TELEGRAM_WEBHOOK_URL=webhook_url,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        DASHBOARD="true",
        DASHBOARD_SECRET_KEY=DASHBOARD_KEY,
        DASHBOARD_SECURE_COOKIE="false",
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="WARNING",
    )
    async with gangmaker("serve", env=env) as process:
        yield process


async def stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    return err.decode()


async def until(condition: Callable[[], Any], what: str, timeout: float = 60) -> None:
    """Wait for ``condition`` (not a timing assertion: the time-out only ends a hung test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def healthy(http: aiohttp.ClientSession, port: int, process: Any) -> bool:
    if process.returncode is not None:
        _, err = await process.communicate()
        raise AssertionError(f"the process on port {port} stopped: {err.decode()}")
    with contextlib.suppress(aiohttp.ClientError):
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status == 200
    return False


def keyboard(tg: FakeTelegram) -> dict[str, Any]:
    with_buttons = [m for m in tg.sent_messages(USER) if buttons(m)]
    return with_buttons[-1] if with_buttons else {}


async def press(tg: FakeTelegram, value: str) -> None:
    message = keyboard(tg)
    [data] = [b["callback_data"] for b in buttons(message) if value_of(b["callback_data"]) == value]
    await tg.user_presses(USER, data, message_id=message["message_id"])


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


async def test_two_web_processes_share_dialogs_updates_and_dashboard_sessions(
    db_url: str,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tg: FakeTelegram,
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several web processes share one PostgreSQL")
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        assert org is not None
        await web_accounts.create_account(
            s, organisation=org, username="admin", password=PASSWORD,
            grants=[web_accounts.Grant("admin")], first_name="Anna",
        )  # fmt: skip

    one, two = free_port(), free_port()
    async with (
        Balancer() as lb,
        serve(db_url, tg.api_base, lb.url, one) as first,
        serve(db_url, tg.api_base, lb.url, two) as second,
        aiohttp.ClientSession() as http,
    ):
        # Start-up imports aiogram and more: slow on a busy machine, so a long time-out.
        await until(lambda: healthy(http, one, first), "the first process", timeout=240)
        await until(lambda: healthy(http, two, second), "the second process", timeout=240)
        assert tg.webhook is not None
        assert (tg.webhook["url"], tg.webhook["secret_token"]) == (lb.url, SECRET)
        assert len(tg.calls_of("setWebhook")) == 2  # each process set the same webhook

        # 1. A dialog whose turns alternate between the processes.
        lb.to = [one]
        await tg.user_message(USER, "hallo", language_code="en")
        await until(lambda: option_values(keyboard(tg))[:1] == ["en"], "the language question")
        lb.to = [two]
        await press(tg, "en")
        await until(lambda: option_values(keyboard(tg)) == ["yes", "no", "more"], "consent")
        lb.to = [one]
        await press(tg, "yes")
        await until(lambda: "settings:language" in option_values(keyboard(tg)), "the menu")
        assert (await chat_state(sessions, USER))[:2] == ("menu", "choose")
        menu_id = keyboard(tg)["message_id"]
        lb.to = [two]
        await press(tg, "settings:language")
        await until(
            lambda: (
                keyboard(tg).get("message_id", menu_id) != menu_id
                and "nl" in option_values(keyboard(tg))
            ),
            "the language list",
        )
        lb.to = [one]
        await press(tg, "nl")
        nl_menu = translator("nl")._("What would you like to do?")
        await until(lambda: keyboard(tg).get("text") == nl_menu, "the Dutch menu")
        person = await telegram_person(sessions, USER)
        assert person is not None and person.consent_at is not None and person.language == "nl"
        assert {port for port, _ in lb.forwarded} == {one, two}
        assert all(status == 200 for _, status in lb.forwarded)

        # 2. One update reaches both processes at the same moment: handled once.
        before = len(tg.calls_of("sendMessage"))
        lb.to = [one, two]
        update = await tg.user_message(USER, "menu")
        assert lb.forwarded[-2:] in ([(one, 200), (two, 200)], [(two, 200), (one, 200)])
        await until(lambda: len(tg.calls_of("sendMessage")) > before, "the answer to 'menu'")
        # Then a turn on each process: both took in the duplicate before these (in order).
        for port in (two, one):
            lb.to = [port]
            count = len(tg.calls_of("sendMessage"))
            await tg.user_message(USER, "help")
            await until(  # the help text, then the menu again
                lambda c=count: len(tg.calls_of("sendMessage")) >= c + 2, "the help text"
            )

        # 3. A dashboard session from the first process works on the second.
        login = await http.get(f"http://127.0.0.1:{one}/dashboard/login")
        jar = {k: v.value for k, v in login.cookies.items()}
        csrf = re.search(r'name="csrf" value="([^"]+)"', await login.text())[1]  # type: ignore[index]
        signed_in = await http.post(
            f"http://127.0.0.1:{one}/dashboard/login",
            data={"csrf": csrf, "username": "admin", "password": PASSWORD},
            cookies=jar,
            allow_redirects=False,
        )
        assert signed_in.status == 303
        jar = {k: v.value for k, v in signed_in.cookies.items()}
        assert "gangmaker_dashboard" in jar
        home = await http.get(f"http://127.0.0.1:{two}/dashboard/", cookies=jar)
        assert home.status == 200 and "Anna" in await home.text()
        token = re.search(r'name="csrf" value="([^"]+)"', await home.text())[1]  # type: ignore[index]
        created = await http.post(
            f"http://127.0.0.1:{two}/dashboard/announcements/new",
            data={"csrf": token, "text_nl": "Van proces twee"},
            cookies=jar,
            allow_redirects=False,
        )
        assert created.status == 303, await created.text()
        # Without the cookie the second process sends one to the sign-in page.
        anonymous = await http.get(f"http://127.0.0.1:{two}/dashboard/", allow_redirects=False)
        assert anonymous.status == 303

        errors = [await stop(first), await stop(second)]
    assert first.returncode == 0 and second.returncode == 0, errors

    # The duplicate was answered once: one menu for 'menu', then help and menu for each 'help'.
    sent = [c["text"] for c in tg.calls_of("sendMessage")[before:]]
    assert sent == [nl_menu, sent[1], nl_menu, sent[1], nl_menu], sent
    async with sessions() as s:
        seen = await s.scalar(
            select(func.count())
            .select_from(ProcessedUpdate)
            .where(ProcessedUpdate.update_id == update["update_id"])
        )
        assert seen == 1
        texts = [a.texts for a in await s.scalars(select(Announcement))]
    assert texts == [{"nl": "Van proces twee"}]
    assert tg.violations == []
