"""The WhatsApp channel end to end: signed webhook payloads in Meta's format over real HTTP to
the aiohttp app of ``gangmaker serve``, pywa (async) handling them and sending the replies over
real HTTP to the fake Graph API (tests/fakes/graph_api.py), the real runtime and dialogs, a real
database (SQLite and PostgreSQL).

Buttons are pressed by their option value (the part after the token), never by wording. Every
test ends with the fake's contract check: ``graph.violations == []``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels import common as callbacks
from bot.channels.whatsapp import StartupError, WhatsAppChannel, make_client
from bot.channels.whatsapp import render as wa_render
from bot.config import WHATSAPP_WEBHOOK_PATH
from bot.conversation import Context, Dialog, Media, MenuEntry, Option, Reply, Runtime
from bot.conversation.loader import load_registry
from bot.i18n import LazyText
from bot.models import (
    Channel,
    ChannelIdentity,
    ConversationState,
    Person,
    WhatsAppInbound,
    WhatsAppWebhookBody,
)
from bot.web.app import build_app
from tests.chat import make_world
from tests.fakes import graph_api as g
from tests.fakes.graph_api import FakeGraph, Sent

SECRET = "app-secret-for-tests"
VERIFY = "verify-me-42"
USER = "31612345678"
OTHER = "31687654321"


class Bench:
    """The app with the WhatsApp webhook, and ways to talk to it as a WhatsApp user would."""

    def __init__(self, graph: FakeGraph, channel: WhatsAppChannel, url: str) -> None:
        self.graph = graph
        self.channel = channel
        self.url = url
        self.http = aiohttp.ClientSession()

    async def post(
        self, payload: dict[str, Any], *, signed: bool = True, secret: str = SECRET
    ) -> int:
        body = g.dumps(payload)
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["X-Hub-Signature-256"] = g.signature(body, secret)
        async with self.http.post(self.url, data=body, headers=headers) as response:
            status = response.status
        # The answer comes first, the handling right after: wait for it.
        assert await self.channel.drain(30)
        return status

    async def turn(self, payload: dict[str, Any]) -> list[Sent]:
        """Post one signed update; the messages the bot sent in answer."""
        before = len(self.graph.sent)
        assert await self.post(payload) == 200
        return self.graph.sent[before:]

    async def send(self, text: str, user: str = USER) -> list[Sent]:
        return await self.turn(g.text_message(user, text))

    async def press(self, value: str, user: str = USER) -> list[Sent]:
        """Press the button or row with this option value in the last message with options."""
        last = next(s for s in reversed(self.graph.to(user)) if s.buttons)
        pressed = next(
            (bid, title)
            for bid, title in last.buttons
            if (decoded := callbacks.decode(bid)) and decoded.value == value
        )
        make = g.button_reply if last.kind == "buttons" else g.list_reply
        return await self.turn(make(user, pressed[0], pressed[1]))


@contextlib.asynccontextmanager
async def running(
    graph: FakeGraph,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    *,
    runtime: Runtime | None = None,
) -> AsyncIterator[Bench]:
    wa = make_client(
        g.PHONE_NUMBER_ID,
        g.ACCESS_TOKEN,
        api_base=graph.base,
        app_secret=SECRET,
        verify_token=VERIFY,
    )
    channel = WhatsAppChannel(
        wa, sessions, "rotterdam", media_dir=tmp_path / "media", runtime=runtime
    )
    app = build_app(engine, whatsapp=channel)
    app.on_cleanup.clear()  # the engine belongs to the test's fixture
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    bench = Bench(graph, channel, f"http://127.0.0.1:{port}{WHATSAPP_WEBHOOK_PATH}")
    try:
        yield bench
    finally:
        await bench.http.close()
        await wa.api._session.aclose()
        await runner.cleanup()


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as fake:
        yield fake


async def wa_person(sessions: async_sessionmaker[AsyncSession], user: str = USER) -> Person | None:
    async with sessions() as session:
        return await session.scalar(
            select(Person)
            .join(ChannelIdentity)
            .where(ChannelIdentity.channel == Channel.WHATSAPP, ChannelIdentity.address == user)
        )


async def state(sessions: async_sessionmaker[AsyncSession], user: str = USER) -> tuple:
    async with sessions() as session:
        row = await session.scalar(
            select(ConversationState)
            .join(ChannelIdentity)
            .where(ChannelIdentity.channel == Channel.WHATSAPP, ChannelIdentity.address == user)
        )
        return (row.dialog, row.step) if row else (None, None)


def values(sent: Sent) -> list[str]:
    return [callbacks.decode(bid).value for bid, _ in sent.buttons]  # type: ignore[union-attr]


async def first_contact(bench: Bench, user: str = USER) -> None:
    await bench.send("Hoi", user)
    await bench.press("nl", user)
    await bench.press("yes", user)


# --- verification and signatures -----------------------------------------------------------------


async def test_verification_answers_the_challenge_only_with_the_right_token(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    async with running(graph, engine, sessions, tmp_path) as bench:
        good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
        async with bench.http.get(bench.url, params=good) as response:
            assert response.status == 200
            assert await response.text() == "1158201444"
        for bad in (
            {**good, "hub.verify_token": "wrong"},
            {**good, "hub.mode": "unsubscribe"},
            {"hub.challenge": "1"},
        ):
            async with bench.http.get(bench.url, params=bad) as response:
                assert response.status == 403
                assert "1158201444" not in await response.text()


async def test_unsigned_and_forged_posts_are_refused_and_change_nothing(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    async with running(graph, engine, sessions, tmp_path) as bench:
        payload = g.text_message(USER, "Hoi")
        assert await bench.post(payload, signed=False) == 401
        assert await bench.post(payload, secret="not-the-secret") == 403
        # A body changed after signing: the signature no longer matches.
        body = g.dumps(payload)
        headers = {"X-Hub-Signature-256": g.signature(body, SECRET)}
        forged = body.replace(b"Hoi", b"STOP")
        async with bench.http.post(bench.url, data=forged, headers=headers) as response:
            assert response.status == 403
    assert graph.sent == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 0
        assert await session.scalar(select(func.count()).select_from(WhatsAppInbound)) == 0
    assert await wa_person(sessions) is None


def test_start_up_refuses_to_run_without_the_app_secret() -> None:
    with pytest.raises(StartupError, match="WHATSAPP_APP_SECRET"):
        make_client(
            g.PHONE_NUMBER_ID, g.ACCESS_TOKEN, api_base="http://x", app_secret="", verify_token="v"
        )


# --- dialogs -------------------------------------------------------------------------------------


async def test_first_contact_consent_and_menu_by_buttons_and_lists(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    await make_world(sessions)
    async with running(graph, engine, sessions, tmp_path) as bench:
        [question] = await bench.send("Hallo")
        # Ten languages: a list, not buttons.
        assert question.kind == "list"
        assert "nl" in values(question) and len(values(question)) == 10
        sent = await bench.press("nl")
        # Consent: yes, no and the longer privacy notice: three reply buttons.
        assert sent[-1].kind == "buttons" and values(sent[-1]) == ["yes", "no", "more"]
        sent = await bench.press("yes")
        person = await wa_person(sessions)
        assert person is not None and person.consent_at is not None and person.language == "nl"
        menu = sent[-1]
        assert {"settings", "help"} <= set(values(menu))
        assert await state(sessions) == ("menu", "choose")
        # A typed number works next to the buttons: the menu's entry by its position.
        position = values(menu).index("settings") + 1
        await bench.send(str(position))
        assert (await state(sessions))[0] == "settings"
    assert graph.violations == []


async def test_a_repeated_message_id_is_handled_once(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    await make_world(sessions)
    async with running(graph, engine, sessions, tmp_path) as bench:
        payload = g.text_message(USER, "Hallo")
        first = await bench.turn(payload)
        assert len(first) == 1
        assert await bench.turn(payload) == []  # Meta's retry: nothing happens
    # Another process (a new channel on the same database) drops it as well.
    async with running(graph, engine, sessions, tmp_path) as bench:
        assert await bench.turn(payload) == []
    async with sessions() as session:
        ids = (await session.scalars(select(WhatsAppInbound.message_id))).all()
    assert ids == [g.message_id(payload)]
    assert graph.violations == []


async def kept_bodies(sessions: async_sessionmaker[AsyncSession]) -> list[str | None]:
    """The chats of the webhook bodies in the durable inbox, in the order they came."""
    async with sessions() as session:
        query = select(WhatsAppWebhookBody.chat).order_by(WhatsAppWebhookBody.id)
        return list((await session.scalars(query)).all())


async def test_a_body_answered_200_is_not_lost_when_the_process_stops_before_handling_it(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path, monkeypatch
) -> None:
    await make_world(sessions)
    hallo = g.text_message(USER, "Hallo")
    hoi = g.text_message(OTHER, "Hoi")
    async with running(graph, engine, sessions, tmp_path) as bench:
        # A normal body is handled and leaves no row behind.
        assert len(await bench.send("Hallo", user="31600000001")) == 1
        assert await kept_bodies(sessions) == []
        # The process dies right after the 200: the background handling never starts ...
        monkeypatch.setattr(bench.channel, "take", lambda body, chat, row_id=None: None)
        assert await bench.post(hallo) == 200
        monkeypatch.undo()

        # ... or it is cut off while handling the body.
        async def cut_off(body: bytes) -> None:
            raise asyncio.CancelledError

        monkeypatch.setattr(bench.channel.wa, "webhook_update_handler", cut_off)
        assert await bench.post(hoi) == 200
        monkeypatch.undo()
    assert [s.to for s in graph.sent] == ["31600000001"]
    assert await kept_bodies(sessions) == [USER, OTHER]

    # The next start handles them: each resident gets their reply, once.
    async with running(graph, engine, sessions, tmp_path) as bench:
        assert await bench.channel.drain(30)
        assert sorted(s.to for s in graph.sent[1:]) == sorted([USER, OTHER])
        assert await kept_bodies(sessions) == []
        # Meta's own repeat later, or a second handling, acts no more.
        assert await bench.turn(hallo) == []
        assert await bench.turn(hoi) == []
    async with running(graph, engine, sessions, tmp_path) as bench:
        assert await bench.channel.drain(30)
    assert sorted(s.to for s in graph.sent[1:]) == sorted([USER, OTHER])
    assert await kept_bodies(sessions) == []
    assert graph.violations == []


async def test_a_running_process_handles_another_process_s_leftovers_once_a_minute_old(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    await make_world(sessions)
    body = g.dumps(g.text_message(USER, "Hallo"))
    async with running(graph, engine, sessions, tmp_path) as bench:
        # Another process kept this body and died before handling it.
        async with sessions() as session, session.begin():
            session.add(WhatsAppWebhookBody(body=body.decode(), chat=USER))
        assert await bench.channel.recover(older_than=60) == 0  # it may still be busy with it
        async with sessions() as session, session.begin():
            row = await session.scalar(select(WhatsAppWebhookBody))
            row.received_at = row.received_at - dt.timedelta(minutes=2)
        assert await bench.channel.recover(older_than=60) == 1
        assert await bench.channel.drain(30)
        assert [s.to for s in graph.sent] == [USER]
        assert await kept_bodies(sessions) == []
    assert graph.violations == []


async def test_stale_and_forged_buttons_change_nothing(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    await make_world(sessions)
    async with running(graph, engine, sessions, tmp_path) as bench:
        await first_contact(bench)
        before = await state(sessions)
        [answer] = await bench.turn(g.button_reply(USER, "v1|AAAAAAAA|settings", "Instellingen"))
        assert "niet meer" in answer.text or "no longer" in answer.text
        [answer] = await bench.turn(g.list_reply(USER, "garbage", "x"))
        assert answer.kind == "text"
        assert await state(sessions) == before
    assert graph.violations == []


echo = Dialog("wa_echo")


@echo.prompt("show")
async def _ask_for_media(ctx: Context) -> None:
    ctx.ask("Send a photo or a location.", [Option("Done", "done")])


@echo.step("show", accepts=("photo", "location", "contact"))
async def _echo_media(ctx: Context) -> None:
    if ctx.value == "done":
        ctx.finish()
    elif ctx.photo is not None:
        ctx.say(f"photo {ctx.photo.ref} {ctx.photo.caption}")
    elif ctx.location is not None:
        ctx.say(f"location {ctx.location.latitude:.2f},{ctx.location.longitude:.2f}")


many = Dialog("wa_many")


@many.prompt("ask")
async def _ask_long(ctx: Context) -> None:
    ctx.ask(
        "Lang verhaal. " * 200,
        [Option(f"Keuze nummer {i} met een lange naam", str(i)) for i in range(1, 11)],
    )


@many.step("ask", accepts=())
async def _chosen(ctx: Context) -> None:
    ctx.say(f"chosen {ctx.value}")
    ctx.finish(menu=False)


# The pictures the "wa_photo" dialog shows, by option value (a test fills it).
PICTURES: dict[str, str] = {}
photos = Dialog("wa_photo")


@photos.prompt("pick")
async def _pick_picture(ctx: Context) -> None:
    ctx.ask("Which picture?", [Option(name, name) for name in ("card", "mine", "big", "link")])


@photos.step("pick", accepts=("photo",))
async def _show_picture(ctx: Context) -> None:
    if ctx.photo is not None:
        PICTURES["mine"] = ctx.photo.ref
        ctx.say("kept")
    else:
        ctx.say(f"picture {ctx.value}", media=Media("photo", PICTURES[str(ctx.value)]))


def echo_registry() -> Any:
    registry = load_registry().copy()
    registry.add(echo)
    registry.add(many)
    registry.add(photos)
    registry.add_menu_entry(MenuEntry("wa_echo", LazyText("Echo")))
    registry.add_menu_entry(MenuEntry("wa_many", LazyText("Many")))
    registry.add_menu_entry(MenuEntry("wa_photo", LazyText("Photo")))
    return registry


async def test_photos_are_downloaded_through_the_graph_api_and_locations_come_in(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    await make_world(sessions)
    runtime = Runtime(sessions, "rotterdam", registry=echo_registry())
    graph.add_media("1203958475", b"\xff\xd8\xff\xe0fake-jpeg-bytes")
    async with running(graph, engine, sessions, tmp_path, runtime=runtime) as bench:
        await first_contact(bench)
        await bench.send("menu")
        await bench.press("wa_echo")
        [answer] = await bench.turn(g.image_message(USER, "1203958475", caption="onze straat"))
        assert answer.text.startswith("photo whatsapp:") and answer.text.endswith("onze straat")
        name = answer.text.split()[1].removeprefix("whatsapp:")
        assert (tmp_path / "media" / name).read_bytes() == b"\xff\xd8\xff\xe0fake-jpeg-bytes"
        assert graph.media_fetches == ["1203958475"]
        [answer] = await bench.turn(g.location_message(USER, 51.9125, 4.4519))
        assert answer.text == "location 51.91,4.45"
        # A sticker: asked kindly again, nothing breaks.
        sent = await bench.turn(g.sticker_message(USER))
        assert sent and (await state(sessions)) == ("wa_echo", "show")
    assert graph.violations == []


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200))
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-from-the-street" * 10


async def test_photos_go_out_uploaded_through_the_graph_api_and_by_media_id(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    await make_world(sessions)
    card, big = tmp_path / "card.png", tmp_path / "big.jpg"
    card.write_bytes(PNG)
    big.write_bytes(b"\xff\xd8\xff" + bytes(5 * 1024 * 1024))  # over Meta's 5 MB for images
    PICTURES.clear()
    PICTURES.update(card=str(card), big=str(big), link="https://example.org/street.jpg")
    graph.add_media("778899", JPEG)
    runtime = Runtime(sessions, "rotterdam", registry=echo_registry())
    async with running(graph, engine, sessions, tmp_path, runtime=runtime) as bench:
        await first_contact(bench)
        await bench.send("menu")
        await bench.press("wa_photo")
        # A picture a dialog made (a local file): uploaded, then sent by its media id.
        [photo] = await bench.press("card")
        [upload] = graph.uploads
        assert (upload.mime_type, upload.data, upload.filename) == ("image/png", PNG, "card.png")
        assert photo.kind == "image" and photo.payload["image"] == {
            "id": upload.id,
            "caption": "picture card",
        }
        # The same picture again: the upload is reused.
        [again] = await bench.press("card")
        assert again.payload["image"]["id"] == upload.id and len(graph.uploads) == 1
        # A photo someone sent us, shown again: its bytes go up as a JPEG.
        assert [s.text for s in await bench.turn(g.image_message(USER, "778899"))] == ["kept"]
        assert PICTURES["mine"].startswith("whatsapp:")
        [mine] = await bench.press("mine")
        second = graph.uploads[1]
        assert (second.mime_type, second.data) == ("image/jpeg", JPEG)
        assert mine.payload["image"]["id"] == second.id
        # Over 5 MB: not uploaded (Meta would refuse it), the words still go.
        [words] = await bench.press("big")
        assert (words.kind, words.text) == ("text", "picture big") and len(graph.uploads) == 2
        # A public URL goes as a link, as before.
        [linked] = await bench.press("link")
        assert linked.payload["image"]["link"] == "https://example.org/street.jpg"
    assert graph.violations == []


async def test_the_fake_graph_api_refuses_uploads_meta_would_refuse(graph: FakeGraph) -> None:
    url = f"{graph.base}/v23.0/{g.PHONE_NUMBER_ID}/media"
    auth = {"Authorization": f"Bearer {g.ACCESS_TOKEN}"}

    async def upload(data: bytes, declared: str, part_type: str | None = None) -> dict:
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", declared)
        form.add_field("file", data, filename="f", content_type=part_type or declared)
        async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=auth) as r:
            return {"status": r.status, **(await r.json())}

    assert (await upload(PNG, "image/png"))["status"] == 200
    for data, declared, part in (
        (PNG, "image/gif", None),  # no supported type
        (JPEG, "image/png", None),  # the bytes are no PNG
        (PNG, "image/png", "image/jpeg"),  # the part says otherwise
        (b"\xff\xd8\xff" + bytes(5 * 1024 * 1024), "image/jpeg", None),  # over 5 MB
    ):
        answer = await upload(data, declared, part)
        assert answer["status"] == 400 and answer["error"]["code"] == g.MEDIA_UPLOAD
    assert len(graph.uploads) == 1 and len(graph.violations) == 4


async def test_long_bodies_are_split_and_long_labels_go_in_a_list(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    await make_world(sessions)
    runtime = Runtime(sessions, "rotterdam", registry=echo_registry())
    async with running(graph, engine, sessions, tmp_path, runtime=runtime) as bench:
        await first_contact(bench)
        await bench.send("menu")
        sent = await bench.press("wa_many")
        assert [s.kind for s in sent][-1] == "list"
        assert all(len(s.text) <= 1024 for s in sent if s.kind == "list")
        assert sum(len(s.text) for s in sent) >= len("Lang verhaal. " * 200) - 10
        rows = sent[-1].payload["interactive"]["action"]["sections"][0]["rows"]
        assert len(rows) == 10 and all(len(r["title"]) <= 24 for r in rows)
        assert rows[0]["description"] == "Keuze nummer 1 met een lange naam"
        [answer] = await bench.press("7")
        assert answer.text == "chosen 7"
    assert graph.violations == []


fourteen = Dialog("wa_fourteen")


@fourteen.prompt("ask")
async def _ask_fourteen(ctx: Context) -> None:
    ctx.ask("Welke straat?", [Option(f"Straat {i}", str(i)) for i in range(1, 15)])


@fourteen.step("ask", accepts=())
async def _fourteen_chosen(ctx: Context) -> None:
    ctx.say(f"chosen {ctx.value}")
    ctx.goto("ask")


async def test_more_than_ten_options_go_in_pages_of_lists(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    await make_world(sessions)
    registry = load_registry().copy()
    registry.add(fourteen)
    registry.add_menu_entry(MenuEntry("wa_fourteen", LazyText("Fourteen")))
    runtime = Runtime(sessions, "rotterdam", registry=registry)
    async with running(graph, engine, sessions, tmp_path, runtime=runtime) as bench:
        await first_contact(bench)
        await bench.send("menu")
        first, second = await bench.press("wa_fourteen")
        # Two lists of seven rows: the question with 1-7, then "More choices (8-14)".
        assert (first.kind, second.kind) == ("list", "list")
        assert first.text == "Welke straat?" and second.text == "Meer keuzes (8–14)"
        assert values(first) == [str(i) for i in range(1, 8)]
        assert values(second) == [str(i) for i in range(8, 15)]
        # A row of the second page answers the question; then one of the first page.
        sent = await bench.press("12")
        assert sent[0].text == "chosen 12"
        page_one = sent[1]
        [row] = [(bid, t) for bid, t in page_one.buttons if callbacks.decode(bid).value == "3"]
        sent = await bench.turn(g.list_reply(USER, *row))
        assert sent[0].text == "chosen 3"
        # Typing a number of the second page works as well.
        sent = await bench.send("13")
        assert sent[0].text == "chosen 13"
        # Back at the menu, a row of the question's second page is stale: nothing happens.
        await bench.send("menu")
        before = await state(sessions)
        [stale] = await bench.turn(g.list_reply(USER, *second.buttons[0]))
        assert "niet meer" in stale.text and await state(sessions) == before
    assert graph.violations == []
    lists = [s for s in graph.sent if s.kind == "list"]
    assert all(len(s.buttons) <= 10 for s in lists)


def test_pages_of_options_are_even_and_at_most_ten() -> None:
    assert wa_render.pages(10) == [(0, 10)]
    assert wa_render.pages(11) == [(0, 6), (6, 11)]
    assert wa_render.pages(14) == [(0, 7), (7, 14)]
    assert wa_render.pages(21) == [(0, 7), (7, 14), (14, 21)]
    assert wa_render.pages(30) == [(0, 10), (10, 20), (20, 30)]
    options = tuple(Option(f"Een wat langere keuze {i}", str(i)) for i in range(30))
    out = wa_render.plan(Reply("Kies", options), "abcdefgh")
    assert [o.kind for o in out] == ["list"] * 3
    assert [len(o.rows) for o in out] == [10, 10, 10]
    assert [o.body for o in out] == ["Kies", "11–20", "21–30"]
    assert all(len(r.title) <= 24 for o in out for r in o.rows)


# The "wa_slow" dialog's step waits for this gate (a test opens it): a dialog that takes long.
GATE: dict[str, asyncio.Event] = {}
slow = Dialog("wa_slow")


@slow.prompt("wait")
async def _ask_slow(ctx: Context) -> None:
    ctx.ask("Ready?", [Option("Go", "go")])


@slow.step("wait", accepts=())
async def _slow_step(ctx: Context) -> None:
    await GATE["open"].wait()
    ctx.say("done waiting")
    ctx.finish(menu=False)


async def test_the_200_goes_back_before_a_slow_dialog_is_done(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    await make_world(sessions)
    GATE["open"] = asyncio.Event()
    registry = load_registry().copy()
    registry.add(slow)
    registry.add_menu_entry(MenuEntry("wa_slow", LazyText("Slow")))
    runtime = Runtime(sessions, "rotterdam", registry=registry)
    async with running(graph, engine, sessions, tmp_path, runtime=runtime) as bench:
        await first_contact(bench)
        await bench.send("menu")
        [question] = await bench.press("wa_slow")

        async def post(payload: dict[str, Any]) -> int:
            body = g.dumps(payload)
            headers = {"X-Hub-Signature-256": g.signature(body, SECRET)}
            # Handled before the answer, this would wait for ever: the gate opens below.
            limit = aiohttp.ClientTimeout(total=60)
            async with bench.http.post(
                bench.url, data=body, headers=headers, timeout=limit
            ) as response:
                return response.status

        before = len(graph.sent)
        # The press is answered 200 while its dialog still waits.
        assert await post(g.button_reply(USER, question.buttons[0][0], "Go")) == 200
        # The same chat's next message is answered too, and waits its turn.
        second = asyncio.create_task(post(g.text_message(USER, "menu")))
        if engine.dialect.name != "sqlite":
            assert await second == 200
        # (SQLite has one writer: the body's INSERT into the inbox waits for the slow turn's
        # write lock, so its 200 comes once the turn is done.)
        assert graph.sent[before:] == []
        GATE["open"].set()
        assert await second == 200
        assert await bench.channel.drain(30)
        mine = [s for s in graph.sent[before:] if s.to == USER]
        # In the order they came: the slow answer first, then the menu.
        assert mine[0].text == "done waiting" and len(mine) >= 2
        assert (await state(sessions)) == ("menu", "choose")
    assert graph.violations == []


async def test_a_body_that_is_no_json_gets_400(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    async with running(graph, engine, sessions, tmp_path) as bench:
        body = b"{not json"
        headers = {"X-Hub-Signature-256": g.signature(body, SECRET)}
        async with bench.http.post(bench.url, data=body, headers=headers) as response:
            assert response.status == 400
    assert graph.sent == []


async def test_rate_limit_errors_are_tried_again(
    graph: FakeGraph, engine: AsyncEngine, sessions, tmp_path: Path
) -> None:
    from bot.channels.whatsapp.adapter import RetryPolicy

    await make_world(sessions)
    async with running(graph, engine, sessions, tmp_path) as bench:
        bench.channel.retry = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
        graph.fail_next(g.THROUGHPUT)
        graph.fail_next(g.PAIR_RATE, to=USER)
        [question] = await bench.send("Hallo")
        assert question.kind == "list"
        assert graph.refused == [(USER, g.THROUGHPUT), (USER, g.PAIR_RATE)]
    assert graph.violations == []


def test_render_buttons_lists_and_the_contract() -> None:
    token = "abcdefgh"
    [out] = wa_render.plan(Reply("Ja of nee?", (Option("Ja", "yes"), Option("Nee", "no"))), token)
    assert out.kind == "buttons" and [r.title for r in out.rows] == ["Ja", "Nee"]
    four = tuple(Option(f"Optie {i}", str(i)) for i in range(4))
    [out] = wa_render.plan(Reply("Kies", four), token)
    assert out.kind == "list"
    long_label = (Option("Een heel erg lange knoptekst", "x"),)
    [out] = wa_render.plan(Reply("Kies", long_label), token)
    assert out.kind == "list" and out.rows[0].title.endswith("…") and len(out.rows[0].title) == 24
    pieces = wa_render.plan(Reply("woord " * 2000), None)
    assert len(pieces) == 3 and all(len(p.body) <= 4096 for p in pieces)
    assert wa_render.plan(Reply("x", media=Media("photo", "telegram:abc")), None)[0].kind == "text"


def test_settings_name_the_missing_whatsapp_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from bot.config import Settings, describe_error

    for name in ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, whatsapp_phone_number_id="1065", whatsapp_access_token="EAA")
    assert "WHATSAPP_APP_SECRET is missing" in describe_error(error.value)
    complete = Settings(
        _env_file=None,
        whatsapp_phone_number_id="1065",
        whatsapp_access_token="EAA",
        whatsapp_app_secret="s",
        whatsapp_verify_token="v",
        whatsapp_api_base="http://127.0.0.1:9/",
    )
    assert complete.whatsapp and complete.whatsapp_api_base == "http://127.0.0.1:9"
    assert not Settings(_env_file=None).whatsapp


def test_a_whatsapp_process_never_loads_aiogram() -> None:
    """The shared channel module (bot/channels/common.py) keeps aiogram out of a WhatsApp-only
    process (its import costs seconds and about 100 MB)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import bot.channels.common, bot.channels.whatsapp.runner, bot.channels.whatsapp.sender\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram')\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
