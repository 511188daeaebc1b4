"""The Telegram channel end to end: the real aiogram client talking HTTP to the fake Bot API
(tests/fakes/telegram_api.py), the real runtime and dialogs, a real database (SQLite and
PostgreSQL), in long-polling and in webhook mode.

Dialogs are driven the way a person does it: by pressing the buttons the bot sent. Buttons are
picked by their option value (or position), never by their wording, so the tests survive a
change of texts. Every test ends with the fake's contract check: ``tg.violations == []``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.types import Update
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.telegram import RetryPolicy, TelegramChannel, callbacks, poll, texts
from bot.config import TELEGRAM_WEBHOOK_PATH
from bot.conversation import Context, Dialog, Media, MenuEntry, Option, Runtime
from bot.conversation.loader import load_registry
from bot.db import transaction
from bot.i18n import LazyText, shipped_languages, translator
from bot.models import Channel, ChannelIdentity, ConversationState, Person
from bot.web.app import build_app
from tests.chat import make_world
from tests.fakes import ApiSpec, FakeTelegram

pytestmark = pytest.mark.skipif(
    not ApiSpec.default_path().exists(),
    reason=f"Bot API specification not found at {ApiSpec.default_path()}",
)

TOKEN = "123456:TEST-token_for_the_fake"
SECRET = "test-secret_42"
USER = 5001
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=5)
MODES = ["polling", "webhook"]


# --- the bot under test ----------------------------------------------------------------------


class Bench:
    """The channel under test and ways to talk to it as a Telegram user would."""

    def __init__(self, tg: FakeTelegram, channel: TelegramChannel) -> None:
        self.tg = tg
        self.channel = channel
        self.finished: set[int] = set()
        self.exceptions: list[BaseException] = []
        self._changed = asyncio.Condition()
        channel.dispatcher.update.outer_middleware(self._track)

    async def _track(
        self,
        handler: Callable[[Update, dict[str, Any]], Awaitable[Any]],
        update: Update,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(update, data)
        except BaseException as error:  # the channel must never let one through
            self.exceptions.append(error)
            raise
        finally:
            async with self._changed:
                self.finished.add(update.update_id)
                self._changed.notify_all()

    async def handled(self, update: dict[str, Any], timeout: float = 20) -> None:
        """Wait until the channel finished with ``update`` (replies sent)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: update["update_id"] in self.finished)

    async def _run(self, chat_id: int, push: Awaitable[dict[str, Any]]) -> list[dict[str, Any]]:
        before = len(self.tg.sent_messages(chat_id))
        await self.handled(await push)
        return self.tg.sent_messages(chat_id)[before:]

    async def send(self, text: str, user: int = USER, **kw: Any) -> list[dict[str, Any]]:
        """The user types ``text``; returns the messages the bot sent back."""
        return await self._run(user, self.tg.user_message(user, text, **kw))

    async def press(
        self, value: str | None = None, *, index: int | None = None, user: int = USER
    ) -> list[dict[str, Any]]:
        """Press the button with option ``value`` (or the ``index``-th button) of the newest
        message with buttons; returns the messages the bot sent back."""
        message = self.keyboard_message(user)
        found = [
            b["callback_data"]
            for b in buttons(message)
            if value is None or value_of(b["callback_data"]) == value
        ]
        if value is not None and not found:
            raise AssertionError(f"no button {value!r} in {option_values(message)}")
        data = found[index or 0]
        return await self._run(
            user, self.tg.user_presses(user, data, message_id=message["message_id"])
        )

    async def press_raw(
        self, data: str, message_id: int, user: int = USER
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Press any data on any message (stale or forged); the update and the new messages."""
        before = len(self.tg.sent_messages(user))
        update = await self.tg.user_presses(user, data, message_id=message_id, strict=False)
        await self.handled(update)
        return update, self.tg.sent_messages(user)[before:]

    async def push(self, update: Awaitable[dict[str, Any]], chat_id: int = USER) -> list[Any]:
        return await self._run(chat_id, update)

    def keyboard_message(self, user: int = USER) -> dict[str, Any]:
        with_buttons = [m for m in self.tg.sent_messages(user) if buttons(m)]
        assert with_buttons, f"no message with buttons in chat {user}"
        return with_buttons[-1]


def buttons(message: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = (message or {}).get("reply_markup", {}).get("inline_keyboard", [])
    return [button for row in rows for button in row]


def value_of(data: str) -> str | None:
    pressed = callbacks.decode(data)
    return pressed.value if pressed else None


def option_values(message: dict[str, Any] | None) -> list[str | None]:
    return [value_of(b["callback_data"]) for b in buttons(message)]


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n\n".join(m.get("text") or m.get("caption") or "" for m in messages)


def languages_first(language: str) -> list[str]:
    """The first-contact language buttons: the person's app language first."""
    return [language, *(code for code in shipped_languages() if code != language)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


@contextlib.asynccontextmanager
async def running(
    mode: str,
    tg: FakeTelegram,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    runtime: Runtime | None = None,
) -> AsyncIterator[Bench]:
    """The channel with the real aiogram client against the fake, polling or via webhook."""
    bot = Bot(TOKEN, session=AiohttpSession(api=tg.api_server()))
    channel = TelegramChannel(bot, sessions, "rotterdam", runtime=runtime, retry=FAST)
    bench = Bench(tg, channel)
    if mode == "polling":
        task = asyncio.create_task(poll(channel, handle_signals=False))
        await tg.wait_for_call("getUpdates")
        try:
            yield bench
        finally:
            await channel.dispatcher.stop_polling()
            await asyncio.wait_for(task, 10)
            await bot.session.close()
    else:
        port = free_port()
        url = f"http://127.0.0.1:{port}{TELEGRAM_WEBHOOK_PATH}"
        app = build_app(engine, telegram=channel, telegram_webhook=(url, SECRET))
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            assert tg.webhook is not None and tg.webhook["url"] == url
            yield bench
        finally:
            await runner.cleanup()
    assert bench.exceptions == []


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


async def telegram_person(sessions: async_sessionmaker[AsyncSession], user: int) -> Person | None:
    async with sessions() as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == Channel.TELEGRAM, ChannelIdentity.address == str(user)
            )
        )
        return None if identity is None else await session.get(Person, identity.person_id)


async def telegram_identity(
    sessions: async_sessionmaker[AsyncSession], user: int
) -> ChannelIdentity | None:
    async with sessions() as session:
        return await session.scalar(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == Channel.TELEGRAM, ChannelIdentity.address == str(user)
            )
        )


async def chat_state(sessions: async_sessionmaker[AsyncSession], user: int) -> tuple:
    identity = await telegram_identity(sessions, user)
    assert identity is not None
    async with sessions() as session:
        state = await session.get(ConversationState, identity.id)
        assert state is not None
        return state.dialog, state.step, dict(state.data), list(state.options)


async def first_contact(bench: Bench, user: int = USER, language: str = "nl") -> None:
    """Language, consent: the person is at the main menu."""
    await bench.send("hallo", user=user, language_code=language)
    await bench.press(language, user=user)
    await bench.press("yes", user=user)
    assert "settings" in option_values(bench.keyboard_message(user))


# --- first contact, consent, menu, settings ----------------------------------------------------


async def test_first_contact_consent_menu_and_language_switch(
    mode: str, tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    async with running(mode, tg, engine, sessions) as bench:
        # The app's language (en) comes first and is already the person's language.
        sent = await bench.send("Hi there", language_code="en-GB")
        [question] = sent
        assert question["text"].startswith("Hello! Choose your language.")
        assert option_values(question) == languages_first("en")
        assert (await telegram_person(sessions, USER)).language == "en"  # type: ignore[union-attr]

        sent = await bench.press("en")
        pressed = tg.sent_messages(USER)[0]
        assert "reply_markup" not in pressed  # the keyboard of the answered question went
        assert pressed["text"].endswith("✅ English")
        assert any(e["type"] == "bold" for e in pressed["entities"])
        assert "privacy" in text_of(sent)
        assert option_values(sent[-1]) == ["yes", "no", "more"]

        sent = await bench.press("yes")
        person = await telegram_person(sessions, USER)
        assert person is not None and person.consent_at is not None
        menu = sent[-1]
        assert {"settings", "help", "settings:language"} <= set(option_values(menu))
        assert (await chat_state(sessions, USER))[:2] == ("menu", "choose")

        # Settings, language: Dutch from now on.
        await bench.press("settings:language")
        sent = await bench.press("nl")
        assert (await telegram_person(sessions, USER)).language == "nl"  # type: ignore[union-attr]
        assert "Nederlands" in sent[0]["text"]
        assert translator("nl")._("What would you like to do?") == sent[-1]["text"]

        # Every press was answered, and the command menu is there in every language.
        presses = [c.params for c in tg.calls if c.method == "answerCallbackQuery"]
        assert len(presses) == 4 and all("text" not in p for p in presses)
    for language in shipped_languages():
        commands = tg.commands(language_code=language)
        if len(language) != 2:  # Telegram has no code for it: the default menu (Dutch) shows
            assert commands == []
            continue
        assert [c["command"] for c in commands] == ["start", "menu", "help", "language", "stop"]
        t = translator(language)
        assert commands[1]["description"] == t.tr(texts.COMMANDS[1][1])
    assert tg.commands() == tg.commands(language_code="nl")
    assert tg.violations == []


async def test_typed_numbers_and_commands_work_next_to_buttons(
    tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    async with running("polling", tg, engine, sessions) as bench:
        await bench.send("/start")
        await bench.send("1")  # Nederlands, typed
        await bench.send("ja")
        sent = await bench.send("/help@gangmaker_test_bot")
        assert translator("nl")._("I help you do things for your street, in a chat.") in (
            text_of(sent)
        )
        sent = await bench.send("/stop")
        assert (await telegram_person(sessions, USER)).announcements_opt_out  # type: ignore[union-attr]
        sent = await bench.send("/start")
        assert not (await telegram_person(sessions, USER)).announcements_opt_out  # type: ignore[union-attr]
    assert tg.violations == []


# --- stale and forged buttons ------------------------------------------------------------------


async def test_stale_and_forged_buttons_change_nothing(
    mode: str, tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    async with running(mode, tg, engine, sessions) as bench:
        await bench.send("hoi", language_code="nl")
        language_question = bench.keyboard_message()
        stale_data = buttons(language_question)[1]["callback_data"]
        await bench.press("nl")
        await bench.press("yes")
        menu = bench.keyboard_message()
        state = await chat_state(sessions, USER)
        sent_before = len(tg.calls_of("sendMessage"))
        token = callbacks.decode(buttons(menu)[0]["callback_data"]).token  # type: ignore[union-attr]

        stale_text = translator("nl").tr(texts.STALE_BUTTON)
        for data, message_id in [
            (stale_data, language_question["message_id"]),  # answered long ago
            ("garbage", menu["message_id"]),
            (f"v0|{token}|settings", menu["message_id"]),  # an older version
            ("v1|AAAAAAAA|settings", menu["message_id"]),  # a wrong token
            (f"v1|{token}|overview", menu["message_id"]),  # not an option of this question
            (f"v1|{token}|" + "x" * 40, menu["message_id"]),
        ]:
            update, sent = await bench.press_raw(data, message_id)
            assert sent == [], data
            answer = tg.callback_answer(update["callback_query"]["id"])
            assert answer is not None and answer["text"] == stale_text, data
        assert await chat_state(sessions, USER) == state
        assert len(tg.calls_of("sendMessage")) == sent_before
        assert len(tg.calls_of("editMessageText")) == 2  # only the valid presses edited

        # The menu's buttons still work afterwards.
        sent = await bench.press("help")
        assert sent
    assert tg.violations == []


async def test_an_unknown_chat_pressing_a_button_is_told_in_its_own_language(
    tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    tg.add_user(USER, language_code="en")
    async with running("polling", tg, engine, sessions) as bench:
        update, sent = await bench.press_raw("v1|AAAAAAAA|yes", 1)
    assert sent == []
    assert tg.callback_answer(update["callback_query"]["id"])["text"] == (  # type: ignore[index]
        translator("en").tr(texts.STALE_BUTTON)
    )
    assert await telegram_person(sessions, USER) is None
    assert tg.violations == []


# --- groups --------------------------------------------------------------------------------------


async def test_groups_get_a_pointer_to_a_private_chat_and_no_dialog(
    mode: str, tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    group = -1001234567
    async with running(mode, tg, engine, sessions) as bench:
        await first_contact(bench)  # the same person also has a private chat with us
        sent = await bench.push(tg.group_message(group, USER, "/start"), chat_id=group)
        [pointer] = sent
        assert "https://t.me/gangmaker_test_bot" in pointer["text"]
        assert "reply_markup" not in pointer
        sent = await bench.push(tg.group_message(group, USER, "/menu"), chat_id=group)
        assert len(sent) == 1 and "Fatima" not in sent[0]["text"]
        sent = await bench.push(tg.group_message(group, USER, "gezellig!"), chat_id=group)
        assert sent == []  # talk among neighbours is none of our business
        sent = await bench.push(tg.user_message(USER + 1, "/help", chat_type="group"), -USER - 1)
        assert len(sent) == 1
    async with sessions() as session:
        addresses = set(await session.scalars(select(ChannelIdentity.address)))
    assert str(group) not in addresses and str(-USER - 1) not in addresses
    assert tg.violations == []


# --- reachability and sending errors -------------------------------------------------------------


async def test_blocking_marks_the_chat_unreachable_and_unblocking_reachable(
    tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    async with running("polling", tg, engine, sessions) as bench:
        await first_contact(bench)
        await bench.push(tg.my_chat_member(USER, "kicked"))
        assert not (await telegram_identity(sessions, USER)).reachable  # type: ignore[union-attr]
        await bench.push(tg.my_chat_member(USER, "member"))
        assert (await telegram_identity(sessions, USER)).reachable  # type: ignore[union-attr]

        # Blocked while we answer: the send fails with 403 and the chat is marked.
        tg.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        calls = len(tg.calls_of("sendMessage"))
        sent = await bench.send("menu")
        assert sent == []
        assert not (await telegram_identity(sessions, USER)).reachable  # type: ignore[union-attr]
        assert ("sendMessage", 403, "Forbidden: bot was blocked by the user") in tg.errors
        assert len(tg.calls_of("sendMessage")) == calls + 1  # no retry
        # Writing again means they are back.
        await bench.send("menu")
        assert (await telegram_identity(sessions, USER)).reachable  # type: ignore[union-attr]
        # A group that removes the bot changes no person's reachability.
        await bench.push(tg.my_chat_member(USER, "left", chat_id=-100999), chat_id=-100999)
        assert (await telegram_identity(sessions, USER)).reachable  # type: ignore[union-attr]
    assert tg.violations == []


async def test_429_waits_retry_after_and_5xx_backs_off(
    tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    async with running("polling", tg, engine, sessions) as bench:
        await first_contact(bench)
        loop = asyncio.get_running_loop()
        tg.fail_next("sendMessage", 429, retry_after=1)
        started = loop.time()
        sent = await bench.send("menu")
        assert loop.time() - started >= 1
        assert option_values(sent[-1])  # the menu arrived after all
        assert ("sendMessage", 429, "Too Many Requests: retry after 1") in tg.errors

        tg.fail_next("sendMessage", 502, times=2)
        sent = await bench.send("menu")
        assert len(sent) == 1 and option_values(sent[0])

        # An outage longer than the retries: given up, nothing raised, the next turn works.
        tg.fail_next("sendMessage", 500, times=FAST.attempts)
        assert await bench.send("menu") == []
        assert len(await bench.send("menu")) == 1

        # A retry_after longer than we are willing to wait: given up at once.
        tg.fail_next("sendMessage", 429, retry_after=3600)
        assert await bench.send("menu") == []
        assert [e[1] for e in tg.errors].count(429) == 2
    assert tg.violations == []


# --- other updates -------------------------------------------------------------------------------


async def test_stickers_voice_edits_and_channel_posts_never_break_anything(
    mode: str, tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    t = translator("nl")
    async with running(mode, tg, engine, sessions) as bench:
        # Before first contact a sticker starts it like any message.
        sent = await bench.push(tg.user_sticker(USER))
        assert option_values(sent[-1]) == languages_first("nl")
        await bench.press("nl")
        await bench.press("yes")
        menu_values = option_values(bench.keyboard_message())

        for update in (tg.user_sticker(USER, emoji="🙂"), tg.user_voice(USER)):
            sent = await bench.push(update)
            assert len(sent) == 1
            assert (
                t._("Please choose one of the options. You can type its number.")
                in (sent[0]["text"])
            )
            assert option_values(sent[0]) == menu_values  # the question again, with buttons

        sent = await bench.push(tg.edited_message(USER, "toch iets anders"))
        assert [m["text"] for m in sent] == [t.tr(texts.EDITED_MESSAGE)]
        assert await bench.push(tg.channel_post(-1009876, "nieuws"), chat_id=-1009876) == []
        assert await bench.push(tg.my_chat_member(USER + 7, "member", chat_id=-1005)) == []
        assert (await chat_state(sessions, USER))[:2] == ("menu", "choose")
    assert tg.dropped_updates == []  # every kind we get, we asked for and handled
    assert tg.violations == []


# --- media, location, contact ------------------------------------------------------------------


echo = Dialog("tg_echo")


@echo.prompt("show")
async def _ask_for_media(ctx: Context) -> None:
    ctx.ask("Send a photo, a location or a contact.", [Option("Done", "done")])


@echo.step("show", accepts=("photo", "location", "contact"))
async def _echo_media(ctx: Context) -> None:
    if ctx.value == "done":
        ctx.finish()
    elif ctx.photo is not None:
        ctx.say(f"photo {ctx.photo.ref} {ctx.photo.caption}", media=Media("photo", ctx.photo.ref))
    elif ctx.location is not None:
        ctx.say(f"location {ctx.location.latitude:.2f},{ctx.location.longitude:.2f}")
    elif ctx.contact is not None:
        ctx.say(f"contact {ctx.contact.phone} {ctx.contact.name} <&>")


async def test_photos_locations_and_contacts_come_in_and_photos_go_out(
    tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    registry = load_registry().copy()
    registry.add(echo)
    registry.add_menu_entry(MenuEntry("tg_echo", LazyText("Echo")))
    runtime = Runtime(sessions, "rotterdam", registry=registry)
    async with running("polling", tg, engine, sessions, runtime=runtime) as bench:
        await first_contact(bench)
        await bench.press("tg_echo")

        sent = await bench.push(tg.user_photo(USER, "AgACfoto", caption="onze straat"))
        [photo] = sent
        assert photo["caption"] == "photo telegram:AgACfoto onze straat"  # the largest size
        assert tg.calls_of("sendPhoto")[-1]["photo"] == "AgACfoto"

        location = {"location": {"latitude": 51.9125, "longitude": 4.4519}}
        sent = await bench.push(tg.push_update({"message": incoming(tg, location)}))
        assert sent[0]["text"] == "location 51.91,4.45"
        contact = {"contact": {"phone_number": "+31612345678", "first_name": "Noor"}}
        sent = await bench.push(tg.push_update({"message": incoming(tg, contact)}))
        assert sent[0]["text"] == "contact +31612345678 Noor <&>"  # escaped on the way out
    assert tg.violations == []


def incoming(tg: FakeTelegram, content: dict[str, Any]) -> dict[str, Any]:
    user = tg.add_user(USER)
    chat = {"id": USER, "type": "private", "first_name": user["first_name"]}
    return tg._incoming(chat, user, content)


# --- deep links ----------------------------------------------------------------------------------


async def invite_code(sessions: async_sessionmaker[AsyncSession], street_id: int) -> str:
    from bot.models import Street

    async with sessions() as session:
        street = await session.get(Street, street_id)
        assert street is not None
        return street.invite_code


async def is_gangmaker_of(sessions, user: int, street_id: int) -> bool:
    from bot.models import StreetMembership

    person = await telegram_person(sessions, user)
    async with sessions() as session:
        membership = await session.scalar(
            select(StreetMembership).where(
                StreetMembership.person_id == person.id,  # type: ignore[union-attr]
                StreetMembership.street_id == street_id,
            )
        )
        return membership is not None and membership.is_gangmaker


async def test_a_start_link_joins_the_street_after_first_contact(
    mode: str, tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world.street_id)
    async with running(mode, tg, engine, sessions) as bench:
        sent = await bench.send(f"/start {code.lower()}", language_code="nl")
        assert option_values(sent[-1]) == languages_first("nl")
        assert not await is_gangmaker_of(sessions, USER, world.street_id)  # no consent yet
        await bench.press("nl")
        sent = await bench.press("yes")
        assert await is_gangmaker_of(sessions, USER, world.street_id)
        texts_sent = [m["text"] for m in sent]
        joined = [t for t in texts_sent if t.startswith("Welkom! Je bent nu gangmaker van ")]
        assert len(joined) == 1
        # The last menu is the new one: with the gangmaker's entries.
        assert sent[-1]["text"] == translator("nl")._("What would you like to do?")
        assert "budget" in option_values(sent[-1])

        # Someone who already agreed joins at once, before the menu.
        second = USER + 1
        await first_contact(bench, user=second)
        sent = await bench.send(f"/start {code}", user=second)
        assert sent[0]["text"].startswith("Welkom!")
        assert "budget" in option_values(sent[-1])
        assert await is_gangmaker_of(sessions, second, world.street_id)

        # A wrong code is explained; nothing else happens.
        sent = await bench.send("/start ZZZZZZ", user=second)
        assert sent[0]["text"] == translator("nl")._(
            "I do not know that code. Please check it and try again."
        )
        assert option_values(sent[-1])
    assert tg.violations == []


# --- the webhook itself --------------------------------------------------------------------------


async def test_the_webhook_refuses_a_wrong_secret_and_handles_the_right_one(
    tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    async with running("webhook", tg, engine, sessions) as bench:
        [set_webhook] = tg.calls_of("setWebhook")
        assert set_webhook["secret_token"] == SECRET
        assert {"message", "callback_query", "my_chat_member"} <= set(
            set_webhook["allowed_updates"]
        )
        url = tg.webhook["url"]  # type: ignore[index]
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": USER, "type": "private", "first_name": "Eve"},
                "from": {"id": USER, "is_bot": False, "first_name": "Eve"},
                "text": "hallo",
            },
        }
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status in (401, 403)
            await asyncio.sleep(0.2)
            assert await telegram_person(sessions, USER) is None  # nothing was handled
            assert tg.calls_of("sendMessage") == []

            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 200
            await bench.handled(update)
        assert tg.calls_of("sendMessage")[0]["chat_id"] == USER
        assert await telegram_person(sessions, USER) is not None

        # Through the fake, which sends the secret the bot set: the real path.
        tg.add_user(USER + 1)
        delivered = await tg.user_message(USER + 1, "hoi")
        await bench.handled(delivered)
        assert tg.webhook_deliveries[-1].status == 200
        assert tg.sent_messages(USER + 1)
        async with sessions() as session:
            assert await session.scalar(select(ChannelIdentity.id).limit(1)) is not None
    assert tg.violations == []


async def test_two_turns_of_one_chat_are_handled_in_order(
    tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    await make_world(sessions)
    async with running("polling", tg, engine, sessions) as bench:
        await first_contact(bench)
        first = await tg.user_message(USER, "/help")
        second = await tg.user_message(USER, "menu")
        await bench.handled(first)
        await bench.handled(second)
        last = tg.last_message(USER)
        assert last is not None and option_values(last)  # the menu came last
        assert len(bench.channel.locks) == 0  # no lock outlives its chat's turn
    assert tg.violations == []


# --- the whole campaign, by button -------------------------------------------------------------

DIALOGS = ("signup", "budget", "liefleed", "review", "redeem")
RESIDENT, FATIMA, SANNE, PAYOUT = USER, 7001, 7002, 7003


def transcript(tg: FakeTelegram, user: int) -> str:
    lines = []
    for message in tg.sent_messages(user):
        lines.append(message.get("text") or message.get("caption") or "")
        if buttons(message):
            lines.append(f"  [{', '.join(str(v) for v in option_values(message))}]")
    return "\n".join(lines)


async def drive(
    bench: Bench,
    sessions,
    user: int,
    answers: dict[str, Callable[[], Awaitable[Any]]],
    again: tuple[str, ...] = (),
) -> str:
    """Answer each step the dialog arrives at (``"dialog.step"`` -> an action) once (steps in
    ``again`` as often as they come); return where the chat stands when it reaches a step
    without an answer or one answered before."""
    answered: set[str] = set()
    for _ in range(40):
        dialog, step, _, _ = await chat_state(sessions, user)
        where = f"{dialog}.{step}"
        if where not in answers or (where in answered and where not in again):
            return where
        answered.add(where)
        await answers[where]()
    raise AssertionError(f"no end to the dialog\n{transcript(bench.tg, user)}")


async def link_telegram(sessions, console_address: str, user: int) -> None:
    """Give a demo person (known on the console) a Telegram chat too."""
    async with transaction(sessions) as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == Channel.CONSOLE,
                ChannelIdentity.address == console_address,
            )
        )
        assert identity is not None, console_address
        session.add(
            ChannelIdentity(
                person_id=identity.person_id,
                channel=Channel.TELEGRAM,
                address=str(user),
                preferred=False,
            )
        )


async def test_a_whole_campaign_by_pressing_buttons(
    mode: str, tg: FakeTelegram, engine: AsyncEngine, sessions
) -> None:
    import datetime as dt

    from sqlalchemy import func

    from bot.demo import ADMIN_ADDRESS, GANGMAKER_ADDRESS, LEADER_ADDRESS, PAYOUT_ADDRESS, load_demo
    from bot.models import Area, Attention, BudgetRequest, RequestStatus, Street, StreetStatus

    missing = [name for name in DIALOGS if name not in load_registry()]
    if missing:
        pytest.skip(f"dialogs not written yet: {missing}")
    async with transaction(sessions) as session:
        await load_demo(session)
        delfshaven = await session.scalar(select(Area.id).where(Area.name == "Delfshaven"))
    for address, user in (
        (GANGMAKER_ADDRESS, FATIMA),
        (LEADER_ADDRESS, SANNE),
        (PAYOUT_ADDRESS, PAYOUT),
    ):
        await link_telegram(sessions, address, user)
    assert ADMIN_ADDRESS  # the admin stays on the console

    async with running(mode, tg, engine, sessions) as bench:

        def press(user: int, value: str | None = None, index: int | None = None):
            return lambda: bench.press(value, index=index, user=user)

        def say(user: int, text: str):
            return lambda: bench.send(text, user=user)

        # 1. A new resident signs up a street.
        await first_contact(bench, user=RESIDENT)
        await bench.press("signup", user=RESIDENT)

        async def choose_area() -> None:
            while delfshaven is not None:
                values = option_values(bench.keyboard_message(RESIDENT))
                if str(delfshaven) in values:
                    await bench.press(str(delfshaven), user=RESIDENT)
                    return
                paging = [v for v in values if v and v.startswith("page:")]
                await bench.press(paging[0], user=RESIDENT)

        where = await drive(
            bench,
            sessions,
            RESIDENT,
            {
                "signup.name": say(RESIDENT, "Telegramstraat 1-31"),
                "signup.section": press(RESIDENT, "whole"),
                "signup.area": choose_area,
                "signup.households": say(RESIDENT, "40"),
                "signup.liefleed": press(RESIDENT, "yes"),
                "signup.confirm": press(RESIDENT, "yes"),
            },
        )
        assert where == "menu.choose", transcript(tg, RESIDENT)
        async with sessions() as session:
            signed_up = await session.scalar(select(Street).where(Street.name == "Telegramstraat"))
            assert signed_up is not None, transcript(tg, RESIDENT)
            assert (signed_up.status, signed_up.section) == (StreetStatus.PENDING, "1-31")
            assert signed_up.area_id == delfshaven

        # 2. Fatima asks for a contribution.
        await bench.send("menu", user=FATIMA)
        await bench.press("budget", user=FATIMA)
        day = dt.date.today() + dt.timedelta(days=10)
        tried = iter(range(10))

        async def next_street() -> None:
            # A street that asked in this round already sends us back: try the next one.
            await bench.press(index=next(tried), user=FATIMA)

        where = await drive(
            bench,
            sessions,
            FATIMA,
            {
                "budget.choose": press(FATIMA, "ask"),
                "budget.street": next_street,
                "budget.round": press(FATIMA, index=0),
                "budget.activity": press(FATIMA, "street_party"),
                "budget.date": say(FATIMA, f"{day.day}-{day.month}-{day.year}"),
                "budget.participants": say(FATIMA, "30"),
                "budget.amount": say(FATIMA, "75"),
                "budget.plan": press(FATIMA, "skip"),
                "budget.confirm": press(FATIMA, "yes"),
            },
            again=("budget.choose", "budget.street"),
        )
        assert where == "menu.choose", transcript(tg, FATIMA)
        async with sessions() as session:
            request = await session.scalar(
                select(BudgetRequest).order_by(BudgetRequest.id.desc()).limit(1)
            )
            assert request is not None and request.status == RequestStatus.SUBMITTED
            assert (request.amount_cents, request.activity_date) == (7500, day)
            attentions = await session.scalar(select(func.count()).select_from(Attention))

        # 3. Fatima logs a Lief & Leed attention.
        await bench.press("liefleed", user=FATIMA)
        where = await drive(
            bench,
            sessions,
            FATIMA,
            {
                "liefleed.street": press(FATIMA, index=0),
                "liefleed.home": press(FATIMA, "log"),
                "liefleed.occasion": press(FATIMA, index=0),
                "liefleed.kind": press(FATIMA, "flowers"),
                "liefleed.cost": press(FATIMA, index=0),
                "liefleed.date": press(FATIMA, "today"),
                "liefleed.confirm": press(FATIMA, "save"),
            },
        )
        assert where == "liefleed.home", transcript(tg, FATIMA)
        async with sessions() as session:
            count = await session.scalar(select(func.count()).select_from(Attention))
            assert count == attentions + 1, transcript(tg, FATIMA)

        # 4. Sanne, project leader of Delfshaven, approves the request.
        await bench.send("menu", user=SANNE)
        await bench.press("review", user=SANNE)

        async def pick_request() -> None:
            for _ in range(30):
                values = option_values(bench.keyboard_message(SANNE))
                if request.reference in values:
                    await bench.press(request.reference, user=SANNE)
                    return
                await bench.press("next", user=SANNE)
            raise AssertionError(transcript(tg, SANNE))

        where = await drive(
            bench,
            sessions,
            SANNE,
            {
                "review.queue": pick_request,
                "review.request": press(SANNE, "approve"),
                "review.confirm": press(SANNE, "yes"),
            },
        )
        assert where in ("review.queue", "menu.choose"), transcript(tg, SANNE)
        async with sessions() as session:
            approved = await session.get(BudgetRequest, request.id)
            assert approved is not None and approved.status == RequestStatus.APPROVED
            assert approved.awarded_cents == 7500 and approved.payout_code

        # 5. The payout point cashes the code.
        await bench.send("menu", user=PAYOUT)
        await bench.press("redeem", user=PAYOUT)
        where = await drive(
            bench,
            sessions,
            PAYOUT,
            {
                "redeem.point": press(PAYOUT, index=0),
                "redeem.code": say(PAYOUT, approved.payout_code.lower()),
                "redeem.check": press(PAYOUT, "yes"),
            },
        )
        assert where == "redeem.code", transcript(tg, PAYOUT)
        async with sessions() as session:
            paid = await session.get(BudgetRequest, request.id)
            assert paid is not None and paid.paid_at is not None, transcript(tg, PAYOUT)

        # Every button press was answered.
        presses = tg.calls_of("answerCallbackQuery")
        assert presses and all("text" not in p for p in presses)
    assert tg.violations == []


# --- the command line: `gangmaker run` and `gangmaker serve` as separate processes --------------


def cli_env(db_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "PORT"))}
    env.update(DATABASE_URL=db_url, LOG_LEVEL="WARNING", **settings)
    return env


async def demo_database(tmp_path: Path) -> str:
    from bot.db import make_engine, make_sessionmaker
    from bot.demo import load_demo
    from bot.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    async with transaction(make_sessionmaker(engine)) as session:
        await load_demo(session)
    await engine.dispose()
    return url


@contextlib.asynccontextmanager
async def gangmaker(
    *args: str, env: dict[str, str], cwd: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stop(process: asyncio.subprocess.Process) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 20)
    return out.decode(), err.decode()


async def test_gangmaker_run_long_polls_the_configured_api_server(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    env = cli_env(
        await demo_database(tmp_path), TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=tg.api_base
    )
    async with gangmaker("run", env=env, cwd=tmp_path) as process:
        await tg.wait_for_call("getUpdates", timeout=60)
        assert tg.calls_of("deleteWebhook")
        assert len(tg.commands(language_code="en")) == 5
        await tg.user_message(USER, "hallo", language_code="en")
        call = await tg.wait_for_call("sendMessage", timeout=30)
        assert call.params["chat_id"] == USER
        assert option_values(tg.last_message(USER)) == languages_first("en")
        out, err = await stop(process)
    assert process.returncode == 0, err
    assert "long polling as @gangmaker_test_bot" in out
    assert tg.violations == []


async def test_gangmaker_serve_takes_the_webhook_and_checks_its_secret(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}{TELEGRAM_WEBHOOK_PATH}"
    env = cli_env(
        await demo_database(tmp_path),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=tg.api_base,
        TELEGRAM_WEBHOOK_URL=url,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        HOST="127.0.0.1",
        PORT=str(port),
    )
    async with gangmaker("serve", env=env, cwd=tmp_path) as process:
        call = await tg.wait_for_call("setWebhook", timeout=60)
        assert (call.params["url"], call.params["secret_token"]) == (url, SECRET)
        async with aiohttp.ClientSession() as http:
            for _ in range(100):  # setWebhook is called just before the port opens
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)
            async with http.post(url, json={"update_id": 1}) as response:
                assert response.status == 401
        await tg.user_message(USER, "hallo")
        assert tg.webhook_deliveries[-1].status == 200
        await tg.wait_for_call("sendMessage", timeout=30)
        assert option_values(tg.last_message(USER)) == languages_first("nl")
        out, err = await stop(process)
    assert process.returncode == 0, err
    assert f"Telegram: webhook {url}" in out
    assert tg.violations == []


@pytest.mark.parametrize("command", ["run", "serve"])
async def test_a_refused_token_stops_start_up_with_one_line(
    command: str, tg: FakeTelegram, tmp_path: Path
) -> None:
    settings = {"TELEGRAM_BOT_TOKEN": "999:WRONG", "TELEGRAM_API_BASE": tg.api_base}
    if command == "serve":
        settings.update(
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/webhooks/telegram",
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            PORT=str(free_port()),
        )
    env = cli_env(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", **settings)
    async with gangmaker(command, env=env, cwd=tmp_path) as process:
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert err.decode().strip().splitlines() == [
        "cannot start: TELEGRAM_BOT_TOKEN was refused by the Bot API (401 Unauthorized)"
    ]


async def test_gangmaker_run_without_a_token_points_to_the_terminal_chat(tmp_path: Path) -> None:
    env = cli_env(f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    async with gangmaker("run", env=env, cwd=tmp_path) as process:
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    [line] = err.decode().strip().splitlines()
    assert "No messenger is configured" in line and "gangmaker chat" in line


async def test_gangmaker_run_without_the_organisation_says_what_to_do(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    env = cli_env(
        f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE=tg.api_base,
    )
    async with gangmaker("run", env=env, cwd=tmp_path) as process:
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    [line] = err.decode().strip().splitlines()
    assert "organisation 'rotterdam' is not in the database" in line
    assert "gangmaker db upgrade" in line
