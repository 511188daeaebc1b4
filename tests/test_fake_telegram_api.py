"""The fake Telegram Bot API (tests/fakes/telegram_api.py) driven by the real aiogram 3 client.

Every test also checks, on leaving ``FakeTelegram``, that whatever the fake answered matched the
Bot API specification (results and updates are validated against it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    Message,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.fakes import DEPRECATED_PARAMETERS, ApiSpec, FakeTelegram, Violation, serve_app
from tests.fakes.telegram_api import LIMIT, MISSING_PARAMETER, UNKNOWN_PARAMETER

pytestmark = pytest.mark.skipif(
    not ApiSpec.default_path().exists(),
    reason=f"Bot API specification not found at {ApiSpec.default_path()} ($TELEGRAM_API_SPEC)",
)

TOKEN = "123:ABC"
USER = 4242


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=tg.api_server()))
    yield bot
    await bot.session.close()


def keyboard(data: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text="Nog een keer", callback_data=data)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def echo_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"Je zei: {message.text}", reply_markup=keyboard("again"))

    @dp.callback_query(F.data == "again")
    async def again(query: CallbackQuery) -> None:
        await query.answer("Komt eraan")

    return dp


@contextlib.asynccontextmanager
async def polling(tg: FakeTelegram, dp: Dispatcher, bot: Bot) -> AsyncIterator[None]:
    task = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    await tg.wait_for_call("getUpdates")  # polling is up
    try:
        yield
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 5)


async def raw_post(tg: FakeTelegram, path: str, **kwargs: object) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{tg.api_base}{path}", **kwargs) as resp,  # type: ignore[arg-type]
    ):
        return resp.status, await resp.json()


# --------------------------------------------------------------------------- polling


async def test_polling_echo_with_keyboard_and_callback(tg: FakeTelegram, bot: Bot) -> None:
    async with polling(tg, echo_dispatcher(), bot):
        await tg.user_message(USER, "hallo")
        call = await tg.wait_for_call("sendMessage")
        assert call.params["chat_id"] == USER
        assert call.params["text"] == "Je zei: hallo"
        assert call.params["reply_markup"] == {
            "inline_keyboard": [[{"text": "Nog een keer", "callback_data": "again"}]]
        }
        sent = tg.last_message(USER)
        assert sent is not None
        assert sent["text"] == "Je zei: hallo"
        assert sent["from"]["id"] == 123

        update = await tg.user_presses(USER, "again")
        answer = await tg.wait_for_call("answerCallbackQuery")
        query_id = update["callback_query"]["id"]
        assert answer.params == {"callback_query_id": query_id, "text": "Komt eraan"}
        assert tg.callback_answer(query_id) == answer.params
    assert [c.method for c in tg.calls][:2] == ["getMe", "getUpdates"]
    assert tg.violations == []
    assert tg.errors == []


async def test_get_updates_offset_and_long_polling(tg: FakeTelegram, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == []
    first = await tg.user_message(USER, "een")
    second = await tg.user_message(USER, "twee")
    assert second["update_id"] == first["update_id"] + 1

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    assert updates[0].message is not None and updates[0].message.text == "een"
    # an offset confirms everything before it
    confirmed = await bot.get_updates(offset=second["update_id"], timeout=0)
    assert [u.update_id for u in confirmed] == [second["update_id"]]
    offset = second["update_id"] + 1
    assert await bot.get_updates(offset=offset, timeout=0) == []

    # a long poll waits for the next update, and the server keeps answering meanwhile
    waiting = asyncio.create_task(bot.get_updates(offset=offset, timeout=5))
    await tg.wait_for_call("getUpdates", lambda p: p.get("timeout") == 5)
    assert (await bot.get_me()).username == "gangmaker_test_bot"
    assert not waiting.done()
    third = await tg.user_message(USER, "drie")
    updates = await asyncio.wait_for(waiting, 2)
    assert [u.update_id for u in updates] == [third["update_id"]]

    # and answers [] when its timeout passes
    started = time.monotonic()
    assert await bot.get_updates(offset=third["update_id"] + 1, timeout=1) == []
    assert 0.8 < time.monotonic() - started < 3


async def test_second_get_updates_terminates_the_first(tg: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for_call("getUpdates", lambda p: p.get("timeout") == 5)
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first


async def test_allowed_updates_filters_and_persists(tg: FakeTelegram, bot: Bot) -> None:
    kicked = await tg.my_chat_member(USER, status="kicked")
    message = await tg.user_message(USER, "hoi")
    updates = await bot.get_updates(allowed_updates=["message"], timeout=0)
    assert [u.update_id for u in updates] == [message["update_id"]]
    assert tg.dropped_updates == [kicked]
    await tg.my_chat_member(USER, status="member")
    assert await bot.get_updates(offset=message["update_id"] + 1, timeout=0) == []


# --------------------------------------------------------------------------- webhook


async def test_webhook_mode(tg: FakeTelegram, bot: Bot) -> None:
    app = web.Application()
    SimpleRequestHandler(echo_dispatcher(), bot, secret_token="s3cret-token").register(
        app, path="/webhook"
    )
    async with serve_app(app) as base:
        assert await bot.set_webhook(f"{base}/webhook", secret_token="s3cret-token")
        info = await bot.get_webhook_info()
        assert info.url == f"{base}/webhook"
        assert info.pending_update_count == 0

        update = await tg.user_message(USER, "via webhook")
        delivery = tg.webhook_deliveries[-1]
        assert delivery.ok
        assert delivery.update == update
        call = await tg.wait_for_call("sendMessage")
        assert call.params["text"] == "Je zei: via webhook"
        assert tg.last_message(USER)["reply_markup"] == {  # type: ignore[index]
            "inline_keyboard": [[{"text": "Nog een keer", "callback_data": "again"}]]
        }

        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()

        # a wrong secret is refused by aiogram; Telegram keeps the update and reports the error
        assert await bot.set_webhook(f"{base}/webhook", secret_token="wrong-token")
        await tg.user_message(USER, "ongezien")
        assert tg.webhook_deliveries[-1].status == 401
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 1
        assert info.last_error_message is not None

        assert await bot.delete_webhook()
        assert len(await bot.get_updates(timeout=0)) == 1
    assert tg.violations == []


async def test_webhook_reply_in_response_body(tg: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message()
    async def reply(message: Message) -> SendMessage:
        return message.answer("antwoord in de webhook-respons")  # returned, not awaited

    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False).register(app, path="/hook")
    async with serve_app(app) as base:
        await bot.set_webhook(f"{base}/hook")
        await tg.user_message(USER, "hoi")
    reply_call = tg.webhook_deliveries[-1].reply
    assert reply_call is not None
    assert reply_call.method == "sendMessage"
    assert reply_call.params["text"] == "antwoord in de webhook-respons"
    assert tg.last_message(USER)["text"] == "antwoord in de webhook-respons"  # type: ignore[index]
    assert tg.violations == []


# --------------------------------------------------------------------------- contract checks


async def test_unknown_parameter_is_refused_and_recorded(tg: FakeTelegram, bot: Bot) -> None:
    tg.add_user(USER)
    # aiogram methods accept (and send) unknown keyword arguments
    with pytest.raises(TelegramBadRequest, match="unknown parameter 'colour'"):
        await bot(SendMessage(chat_id=USER, text="hoi", colour="rood"))  # type: ignore[call-arg]
    assert tg.violations == [
        Violation("sendMessage", UNKNOWN_PARAMETER, "unknown parameter 'colour'")
    ]
    assert tg.calls[-1].params["colour"] == "rood"
    assert tg.sent_messages(USER) == []

    status, body = await raw_post(
        tg, f"/bot{TOKEN}/sendMessage", json={"chat_id": USER, "text": "hoi", "colour": "rood"}
    )
    assert status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: unknown parameter 'colour'",
    }


async def test_missing_parameter_and_nested_objects(tg: FakeTelegram) -> None:
    status, body = await raw_post(tg, f"/bot{TOKEN}/sendMessage", json={"chat_id": USER})
    assert (status, body["description"]) == (400, "Bad Request: parameter 'text' is required")
    markup = {"inline_keyboard": [[{"txt": "ja", "callback_data": "ja"}]]}
    status, body = await raw_post(
        tg, f"/bot{TOKEN}/sendMessage", json={"chat_id": USER, "text": "?", "reply_markup": markup}
    )
    assert status == 400
    assert "unknown field 'txt'" in body["description"]
    kinds = {v.kind for v in tg.violations}
    assert kinds == {MISSING_PARAMETER, UNKNOWN_PARAMETER}


async def test_deprecated_parameters_can_be_tolerated() -> None:
    async with FakeTelegram(token=TOKEN, tolerated_parameters=DEPRECATED_PARAMETERS) as tg:
        tg.add_user(USER)
        status, body = await raw_post(
            tg,
            f"/bot{TOKEN}/sendMessage",
            data={"chat_id": str(USER), "text": "hoi", "disable_web_page_preview": "true"},
        )
        assert status == 200, body
        assert tg.violations == []


async def test_limits_telegram_enforces(tg: FakeTelegram, bot: Bot) -> None:
    tg.add_user(USER)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    assert (await bot.send_message(USER, "x" * 4096)).text == "x" * 4096
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "kies", reply_markup=keyboard("d" * 65))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):  # bytes, not characters
        await bot.send_message(USER, "kies", reply_markup=keyboard("é" * 33))
    await bot.send_message(USER, "kies", reply_markup=keyboard("d" * 64))
    update = await tg.user_presses(USER, "d" * 64)
    query_id = update["callback_query"]["id"]
    with pytest.raises(TelegramBadRequest, match="answer text is too long"):
        await bot.answer_callback_query(query_id, text="a" * 201)
    assert await bot.answer_callback_query(query_id, text="a" * 200)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "1 < 2", parse_mode="HTML")
    assert all(v.kind == LIMIT for v in tg.violations)
    assert len(tg.violations) == 5


async def test_wrong_token_and_unknown_method(tg: FakeTelegram) -> None:
    status, body = await raw_post(tg, "/bot999:WRONG/getMe")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await raw_post(tg, f"/bot{TOKEN}/sendTelepathy", json={})
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert [v.kind for v in tg.violations] == ["unknown_method"]
    # method names are case-insensitive, as on Telegram
    status, body = await raw_post(tg, f"/bot{TOKEN}/getme")
    assert status == 200
    assert body["result"]["username"] == "gangmaker_test_bot"


# --------------------------------------------------------------------------- faults


async def test_fault_injection(tg: FakeTelegram, bot: Bot) -> None:
    tg.add_user(USER)
    tg.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.send_message(USER, "hoi")
    assert exc_info.value.retry_after == 3
    assert (await bot.send_message(USER, "hoi")).text == "hoi"  # only the next call fails

    tg.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(USER, "hoi")
    tg.fail_next("getMe", status=500)
    with pytest.raises(TelegramServerError):
        await bot.get_me()

    tg.delay("getMe", 0.3)
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started >= 0.3
    assert [e[1] for e in tg.errors] == [429, 403, 500]
    assert tg.violations == []


async def test_blocked_user_gets_403(tg: FakeTelegram, bot: Bot) -> None:
    await tg.user_message(USER, "/start")
    await tg.my_chat_member(USER, status="kicked")
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "nog daar?")
    await tg.my_chat_member(USER, status="member")
    assert (await bot.send_message(USER, "welkom terug")).chat.id == USER
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "wie?")


# --------------------------------------------------------------------------- builders & state


async def test_update_builders_parse_in_aiogram(tg: FakeTelegram, bot: Bot) -> None:
    updates = [
        await tg.user_message(USER, "/start", language_code="en"),
        await tg.user_photo(USER, "photo-1", caption="kijk"),
        await tg.user_sticker(USER),
        await tg.user_voice(USER, duration=7),
        await tg.edited_message(USER, "/start nu"),
        await tg.channel_post(-1001234, "nieuws"),
        await tg.my_chat_member(USER, status="kicked"),
        await tg.group_message(-1005555, USER, "hoi groep"),
        await tg.user_message(USER + 1, "hi", chat_type="group"),
    ]
    ids = [u["update_id"] for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    parsed = [Update.model_validate(u) for u in updates]
    assert parsed[0].message.text == "/start"  # type: ignore[union-attr]
    assert parsed[0].message.from_user.language_code == "en"  # type: ignore[union-attr]
    assert parsed[0].message.entities[0].type == "bot_command"  # type: ignore[union-attr,index]
    assert parsed[1].message.photo[-1].file_id == "photo-1"  # type: ignore[union-attr,index]
    assert parsed[2].message.sticker is not None  # type: ignore[union-attr]
    assert parsed[3].message.voice.duration == 7  # type: ignore[union-attr]
    first_message = updates[0]["message"]
    assert parsed[4].edited_message.message_id == first_message["message_id"]  # type: ignore[union-attr]
    assert parsed[5].channel_post.sender_chat.type == "channel"  # type: ignore[union-attr]
    assert parsed[6].my_chat_member.new_chat_member.status == "kicked"  # type: ignore[union-attr]
    assert parsed[7].message.chat.type == "supergroup"  # type: ignore[union-attr]
    assert parsed[8].message.chat.type == "group"  # type: ignore[union-attr]
    received = await bot.get_updates(timeout=0)
    assert [u.update_id for u in received] == ids
    assert (await bot.send_message(-1005555, "hallo groep")).chat.title == "Chat -1005555"


async def test_files_up_and_down(tg: FakeTelegram, bot: Bot) -> None:
    await tg.user_photo(USER, "foto-abc", data=b"\xff\xd8jpeg-bytes")
    file = await bot.get_file("foto-abc")
    assert file.file_path
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"\xff\xd8jpeg-bytes"

    sent = await bot.send_document(USER, BufferedInputFile(b"naam;bedrag\n", "lijst.csv"))
    assert sent.document is not None and sent.document.file_name == "lijst.csv"
    assert tg.file_bytes(sent.document.file_id) == b"naam;bedrag\n"
    upload = tg.calls_of("sendDocument")[-1]["document"]
    assert upload.filename == "lijst.csv"

    photo = await bot.send_photo(USER, "foto-abc", caption="<b>terug</b>", parse_mode="HTML")
    assert photo.caption == "terug"
    assert photo.caption_entities[0].type == "bold"  # type: ignore[index]
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("bestaat-niet")
    assert tg.violations == []


async def test_commands_menu_and_chat_action(tg: FakeTelegram, bot: Bot) -> None:
    await tg.user_message(USER, "/start")
    nl = [BotCommand(command="start", description="Begin")]
    en = [BotCommand(command="start", description="Start")]
    chat_scope = BotCommandScopeChat(chat_id=USER)
    assert await bot.set_my_commands(nl, language_code="nl")
    assert await bot.set_my_commands(en, language_code="en")
    assert await bot.set_my_commands(en[:1], scope=chat_scope)

    async def descriptions(**kwargs: object) -> list[str]:
        return [c.description for c in await bot.get_my_commands(**kwargs)]  # type: ignore[arg-type]

    assert await descriptions(language_code="nl") == ["Begin"]
    assert await descriptions(language_code="en") == ["Start"]
    assert await descriptions() == []
    assert await descriptions(scope=chat_scope) == ["Start"]
    assert await bot.delete_my_commands(language_code="nl")
    assert await descriptions(language_code="nl") == []
    assert tg.commands(language_code="en") == [{"command": "start", "description": "Start"}]

    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start!", description="x")])
    assert await bot.set_chat_menu_button(chat_id=USER, menu_button=MenuButtonCommands())
    assert tg.menu_button(USER) == {"type": "commands"}
    assert await bot.send_chat_action(USER, "typing")
    assert [v.kind for v in tg.violations] == [LIMIT]


async def test_edit_and_delete(tg: FakeTelegram, bot: Bot) -> None:
    await tg.user_message(USER, "/start")
    sent = await bot.send_message(USER, "Stap 1", reply_markup=keyboard("verder"))
    edited = await bot.edit_message_text(
        "Stap 2", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("klaar")
    )
    assert isinstance(edited, Message) and edited.text == "Stap 2"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Stap 2", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("klaar")
        )
    # like Telegram: editing the text without reply_markup drops the inline keyboard
    await bot.edit_message_text("Stap 3", chat_id=USER, message_id=sent.message_id)
    assert "reply_markup" not in tg.last_message(USER)  # type: ignore[operator]
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard("opnieuw")
    )
    await tg.user_presses(USER, "opnieuw")
    with pytest.raises(LookupError):
        await tg.user_presses(USER, "verder")  # that button is gone

    assert await bot.delete_message(USER, sent.message_id)
    assert tg.sent_messages(USER) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    assert tg.violations == []
    assert len(tg.errors) == 2


async def test_wait_for_call_times_out_with_a_hint(tg: FakeTelegram, bot: Bot) -> None:
    await bot.get_me()
    with pytest.raises(TimeoutError, match=r"(?s)no sendMessage call.*getMe"):
        await tg.wait_for_call("sendMessage", timeout=0.05)
