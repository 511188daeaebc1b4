"""Rendering replies for Telegram and the button data, without a network (see
tests/test_telegram_e2e.py for the whole channel over HTTP)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.common import ChatView
from bot.channels.telegram import callbacks, render
from bot.channels.telegram.adapter import PendingCodes, start_payload, strip_bot_name
from bot.config import Settings
from bot.conversation import Media, Option, Reply
from bot.conversation.events import MAX_VALUE_BYTES
from tests.fakes import render_text


def labels(markup) -> list[list[str]]:
    return [[b.text for b in row] for row in markup.inline_keyboard]


# --- text -------------------------------------------------------------------------------------


def test_text_is_escaped_and_reads_as_typed_with_the_html_parse_mode() -> None:
    typed = "Budget <3 & 'quotes' > €75 <b>niet vet</b>"
    [out] = render.plan(Reply(typed), None)
    assert out.text == "Budget &lt;3 &amp; 'quotes' &gt; €75 &lt;b&gt;niet vet&lt;/b&gt;"
    assert render_text(out.text, render.PARSE_MODE) == (typed, [])
    assert out.keyboard is None


@given(st.text(min_size=1, max_size=200).filter(lambda s: s.strip("\n")))
def test_any_text_survives_escaping(typed: str) -> None:
    for out in render.plan(Reply(typed), None):
        assert out.text is not None
        plain, entities = render_text(out.text, render.PARSE_MODE)
        assert entities == []
        assert plain in typed


def test_long_text_is_split_at_line_ends_with_the_keyboard_on_the_last_piece() -> None:
    lines = [f"Regel {n}: " + "x" * 60 for n in range(200)]  # ~14,000 characters
    reply = Reply("\n".join(lines), (Option("Terug", "back"),))
    outs = render.plan(reply, "tokenabc")
    assert len(outs) == 4
    assert all(len(o.text or "") <= render.CHUNK for o in outs)
    assert all(o.keyboard is None for o in outs[:-1])
    assert outs[-1].keyboard is not None
    assert "\n".join(o.text or "" for o in outs) == "\n".join(lines)  # nothing lost or cut
    assert render.split_text("x" * 9000) == ["x" * 4000, "x" * 4000, "x" * 1000]
    assert render.split_text("") == []


# --- keyboards --------------------------------------------------------------------------------


def test_a_few_short_answers_share_a_row() -> None:
    yes_no = (Option("Ja, dat is goed", "yes"), Option("Nee", "no"))
    assert labels(render.keyboard(yes_no, "t" * 8)) == [["Ja, dat is goed", "Nee"]]


def test_short_labels_go_three_a_row_and_long_lists_one_a_row() -> None:
    numbers = tuple(Option(str(n), str(n)) for n in range(1, 8))
    assert labels(render.keyboard(numbers, "t" * 8)) == [
        ["1", "2", "3"],
        ["4", "5", "6"],
        ["7"],
    ]
    menu = (
        Option("Bijdrage aanvragen", "budget"),
        Option("Lief & Leed", "liefleed"),
        Option("Instellingen", "settings"),
        Option("Hulp", "help"),
    )
    assert labels(render.keyboard(menu, "t" * 8)) == [[o.label] for o in menu]
    assert render.keyboard((), "t" * 8) is None


def test_callback_data_is_versioned_compact_and_fits_64_bytes() -> None:
    longest = "é" * (MAX_VALUE_BYTES // 2)  # 48 bytes
    markup = render.keyboard((Option("Lang", longest), Option("Kort", "k")), "AbCd-_12")
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data[1] == "v1|AbCd-_12|k"
    assert all(len(d.encode()) <= 64 for d in data)
    assert callbacks.decode(data[0]) == callbacks.Pressed("AbCd-_12", longest)


@pytest.mark.parametrize(
    "data",
    ["", "garbage", "v0|AbCd-_12|yes", "v1|short|yes", "v1|AbCd-_12|", "v1|AbCd-_12", None],
)
def test_foreign_or_broken_data_decodes_to_nothing(data: str | None) -> None:
    assert callbacks.decode(data) is None


def test_the_token_ties_a_keyboard_to_its_question() -> None:
    options = (Option("Ja", "yes"), Option("Nee", "no"))
    view = ChatView(
        "nl", True, "budget", "confirm", "Aanvraag sturen voor € 75?", {"c": 1}, options
    )
    token = view.token(options)
    assert len(token) == callbacks.TOKEN_CHARS
    assert view.option(callbacks.Pressed(token, "yes")) == options[0]
    assert view.option(callbacks.Pressed(token, "maybe")) is None
    assert view.option(callbacks.Pressed("x" * 8, "yes")) is None
    # The same buttons under another question, other data or another step are other keyboards.
    other_question = ChatView(
        "nl", True, "budget", "confirm", "Aanvraag sturen voor € 90?", {"c": 1}
    )
    assert other_question.token(options) != token
    assert (
        ChatView("nl", True, "budget", "confirm", view.question, {"c": 2}).token(options) != token
    )
    assert (
        ChatView("nl", True, "settings", "delete", view.question, {"c": 1}).token(options) != token
    )
    # A chat without an open question accepts no press at all.
    assert ChatView("nl", True).option(callbacks.Pressed(token, "yes")) is None


# --- media ------------------------------------------------------------------------------------


def test_a_photo_carries_the_text_and_the_keyboard() -> None:
    reply = Reply("Is dit de foto?", (Option("Ja", "yes"),), Media("photo", "telegram:AgACfoto"))
    [out] = render.plan(reply, "t" * 8)
    assert (out.source, out.caption, out.text) == ("AgACfoto", "Is dit de foto?", None)
    assert out.keyboard is not None


def test_a_long_text_with_a_photo_goes_in_its_own_message() -> None:
    reply = Reply("x" * 1500, (), Media("photo", "https://example.org/a.jpg", caption="Zo"))
    photo, text = render.plan(reply, None)
    assert (photo.source, photo.caption) == ("https://example.org/a.jpg", "Zo")
    assert text.text == "x" * 1500


def test_another_channels_file_is_left_out_and_the_words_still_go() -> None:
    [out] = render.plan(Reply("Je foto", (), Media("photo", "whatsapp:123")), None)
    assert (out.media, out.text) == (None, "Je foto")


# --- small parsers ----------------------------------------------------------------------------


def test_start_payloads_and_command_names() -> None:
    assert start_payload("/start ABC234") == "ABC234"
    assert start_payload("/start@gangmaker_bot  abc234 ") == "abc234"
    assert start_payload("/start") is None
    assert start_payload("/starter X") is None
    assert start_payload("start X") is None
    assert strip_bot_name("/menu@gangmaker_bot") == "/menu"
    assert strip_bot_name("mail me@home") == "mail me@home"


def test_pending_codes_expire_and_stay_bounded() -> None:
    codes = PendingCodes(ttl=60, limit=2)
    codes.put("1", "AAA")
    codes.put("2", "BBB")
    codes.put("3", "CCC")
    assert (codes.get("1"), codes.get("2"), codes.get("3")) == (None, "BBB", "CCC")
    expired = PendingCodes(ttl=-1)
    expired.put("1", "AAA")
    assert expired.get("1") is None


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"TELEGRAM_BOT_TOKEN": "nonsense"}, "TELEGRAM_BOT_TOKEN is invalid"),
        ({"TELEGRAM_BOT_TOKEN": "123:abc def"}, "TELEGRAM_BOT_TOKEN is invalid"),
        ({"TELEGRAM_API_BASE": "ftp://bots"}, "TELEGRAM_API_BASE is invalid"),
        (
            {"TELEGRAM_BOT_TOKEN": "1:A", "TELEGRAM_WEBHOOK_URL": "http://example.org/w"},
            "TELEGRAM_WEBHOOK_URL is invalid",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": "1:A", "TELEGRAM_WEBHOOK_URL": "https://example.org"},
            "TELEGRAM_WEBHOOK_SECRET is missing",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": "1:A", "TELEGRAM_WEBHOOK_SECRET": "s3cret"},
            "TELEGRAM_WEBHOOK_URL is missing",
        ),
        (
            {"TELEGRAM_WEBHOOK_URL": "https://example.org", "TELEGRAM_WEBHOOK_SECRET": "s3cret"},
            "TELEGRAM_BOT_TOKEN is missing",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": "1:A",
                "TELEGRAM_WEBHOOK_URL": "https://example.org",
                "TELEGRAM_WEBHOOK_SECRET": "no spaces!",
            },
            "TELEGRAM_WEBHOOK_SECRET is invalid",
        ),
    ],
)
def test_bad_telegram_settings_name_the_variable(
    env: dict[str, str], fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    from bot.config import describe_error

    for name in ("BOT_TOKEN", "API_BASE", "WEBHOOK_URL", "WEBHOOK_SECRET"):
        monkeypatch.delenv(f"TELEGRAM_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None)  # type: ignore[call-arg]
    line = describe_error(info.value)
    assert fragment in line and "\n" not in line


def test_good_telegram_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    monkeypatch.setenv("TELEGRAM_API_BASE", "http://127.0.0.1:8081/")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.org")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "A-b_9" * 10)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.telegram_api_base == "http://127.0.0.1:8081"
    assert settings.telegram_webhook_url == "https://bot.example.org/webhooks/telegram"
    assert settings.telegram_webhook
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "http://localhost:8080/webhooks/telegram")
    assert Settings(_env_file=None).telegram_webhook_url.startswith("http://localhost")  # type: ignore[call-arg,union-attr]
    for name in ("TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_BASE"):
        monkeypatch.setenv(name, "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert not settings.telegram_webhook
    assert settings.telegram_api_base == "https://api.telegram.org"
