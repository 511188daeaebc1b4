"""Hostile text through the real Telegram path: the fake Bot API POSTs the update to the real
webhook as JSON (so NUL and lone surrogates arrive as ``\\u0000`` / ``\\ud800`` escapes, as
Telegram could send them), aiogram parses it, the runtime answers, the reply goes back out.
Every message gets a friendly reply, nothing raises, the chat still reaches the menu."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.chat import make_world
from tests.fakes import FakeTelegram
from tests.test_fuzz_dialogs import _apologies
from tests.test_telegram_e2e import (  # noqa: F401  (tg is a fixture)
    USER,
    chat_state,
    first_contact,
    option_values,
    running,
    text_of,
    tg,
)

APOLOGIES = _apologies()
NASTY = [
    "a\x00b",
    "\ud800 lone surrogate",
    "\udfff",
    "\u202emenu\u202c",
    "\x1b[31mrood\x1b[0m",
    "\u200b\u200c\u200d\ufeff",
    "مرحبا 12 €",
    "👨‍👩‍👧" * 500,
    "x" * 4096,
]


@pytest.mark.parametrize("mode", ["webhook"])
async def test_hostile_text_through_the_webhook(
    mode: str,
    tg: FakeTelegram,  # noqa: F811
    engine: AsyncEngine,
    sessions,
) -> None:
    await make_world(sessions)
    async with running(mode, tg, engine, sessions) as bench:
        # Even the very first message may be nasty.
        sent = await bench.send("\ud800\x00")
        assert sent and not any(a in text_of(sent) for a in APOLOGIES)
        await first_contact(bench, USER + 1)
        for text in NASTY:
            sent = await bench.send(text, user=USER + 1)
            assert sent, text
            assert not any(a in text_of(sent) for a in APOLOGIES), text
            dialog, step, _, _ = await chat_state(sessions, USER + 1)
            assert dialog in ("menu", "settings", None), (text, dialog, step)
        sent = await bench.send("menu", user=USER + 1)
        assert "settings" in option_values(bench.keyboard_message(USER + 1))
        # A photo with a nasty caption, and an edit of a message.
        sent = await bench.push(tg.user_photo(USER + 1, caption="\ud800\x00 😀"), USER + 1)
        assert sent and not any(a in text_of(sent) for a in APOLOGIES)
    assert tg.violations == []
