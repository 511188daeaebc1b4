"""A person sending 50 messages a second is slowed down; everyone else goes on as usual.

Counts answered turns, never timings: the runtime's clock stands still during the flood (so
the bucket does not refill) and is moved on to show that the person gets through again.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.conversation import Runtime
from bot.conversation.throttle import Throttle
from bot.models import ConversationState
from tests.chat import ChatHarness, Clock, make_world

SLOW_DOWN_NL = "Je stuurt heel snel berichten. Wacht even en stuur je bericht dan opnieuw."
SLOW_DOWN_EN = (
    "You are sending messages very fast. Please wait a moment, then send your message again."
)


def throttled(chat: ChatHarness, throttle: Throttle) -> ChatHarness:
    chat.runtime = Runtime(chat.sessions, chat.org_slug, clock=chat.clock, throttle=throttle)
    return chat


async def test_a_flood_is_cut_and_answered_once_while_another_person_goes_on(sessions) -> None:
    await make_world(sessions)
    clock = Clock()
    throttle = Throttle(rate=1.0, burst=10)
    flooder = throttled(ChatHarness(sessions, address="gm", clock=clock), throttle)
    other = throttled(ChatHarness(sessions, address="leader", clock=clock), throttle)

    async def flood() -> list[list]:
        return [await flooder.runtime.handle(_text(flooder, "menu")) for _ in range(50)]

    async def calm() -> list[list]:
        out = []
        for _ in range(10):
            out.append(await other.runtime.handle(_text(other, "menu")))
            await asyncio.sleep(0)
        return out

    flooded, calm_replies = await asyncio.gather(flood(), calm())

    answered = [r for r in flooded if r and r[0].text != SLOW_DOWN_NL]
    warnings = [r for r in flooded if r and r[0].text == SLOW_DOWN_NL]
    silent = [r for r in flooded if not r]
    assert (len(answered), len(warnings), len(silent)) == (10, 1, 39)
    assert flooded[10][0].text == SLOW_DOWN_NL  # the 11th message gets the one warning
    # The other person: every turn answered with the menu.
    assert all(r and r[-1].options for r in calm_replies)
    assert len(calm_replies) == 10
    assert throttle.dropped == 40

    # A few seconds later the flooder gets through again (one message a second).
    clock.advance(seconds=3)
    for _ in range(3):
        replies = await flooder.runtime.handle(_text(flooder, "menu"))
        assert replies and replies[-1].options
    replies = await flooder.runtime.handle(_text(flooder, "menu"))
    assert [r.text for r in replies] == [SLOW_DOWN_NL]


async def test_the_warning_speaks_the_persons_language_and_changes_nothing(sessions) -> None:
    await make_world(sessions)
    throttle = Throttle(rate=1.0, burst=2)
    chat = throttled(ChatHarness(sessions, address="new-en", language_hint="en-GB"), throttle)
    await chat.send("hello")
    await chat.send("hello")
    before = await chat.state()
    await chat.send("hello")
    assert chat.text == SLOW_DOWN_EN
    after = await chat.state()
    assert (after.dialog, after.step, after.updated_at) == (
        before.dialog,
        before.step,
        before.updated_at,
    )
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(ConversationState)) == 1


def test_buckets_are_bounded() -> None:
    from tests.factories import NOW

    throttle = Throttle(burst=1, max_chats=100)
    for n in range(1000):
        assert throttle.allow(("telegram", str(n)), NOW) == (True, False)
    assert len(throttle._buckets) == 100


def _text(chat: ChatHarness, text: str):  # type: ignore[no-untyped-def]
    from bot.conversation import Text

    return Text(channel=chat.channel, address=chat.address, text=text)


def test_the_telegram_channel_in_production_has_the_throttle(sessions) -> None:
    from aiogram import Bot

    from bot.channels.telegram.runner import make_channel
    from bot.config import Settings

    settings = Settings(telegram_bot_token="123456:TEST-token_for_the_fake")
    channel = make_channel(settings, sessions, bot=Bot("123456:TEST-token_for_the_fake"))
    assert isinstance(channel.runtime.throttle, Throttle)


def test_the_whatsapp_channel_in_production_has_the_same_throttle(sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.channels.whatsapp.runner import make_channel
    from bot.config import Settings

    monkeypatch.setenv("CHAT_FLOOD_BURST", "4")
    monkeypatch.setenv("CHAT_FLOOD_RATE", "0.25")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        whatsapp_phone_number_id="1234567890",
        whatsapp_access_token="token",
        whatsapp_app_secret="secret",
        whatsapp_verify_token="verify",
    )
    throttle = make_channel(settings, sessions).runtime.throttle
    assert throttle is not None and (throttle.burst, throttle.rate) == (4, 0.25)


async def test_the_flood_settings_take_effect(sessions, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """CHAT_FLOOD_BURST / CHAT_FLOOD_RATE reach the throttle of the production channel."""
    from aiogram import Bot

    from bot.channels.telegram.runner import make_channel
    from bot.config import Settings

    monkeypatch.setenv("CHAT_FLOOD_BURST", "3")
    monkeypatch.setenv("CHAT_FLOOD_RATE", "0.5")
    token = "123456:TEST-token_for_the_fake"
    settings = Settings(_env_file=None, telegram_bot_token=token)  # type: ignore[call-arg]
    channel = make_channel(settings, sessions, bot=Bot(token))
    throttle = channel.runtime.throttle
    assert throttle is not None and (throttle.burst, throttle.rate) == (3, 0.5)

    # Three messages at once are answered, the fourth gets the warning.
    await make_world(sessions)
    clock = Clock()
    chat = throttled(ChatHarness(sessions, address="gm", clock=clock), throttle)
    for _ in range(3):
        await chat.send("menu")
        assert chat.options, chat.dump()
    await chat.send("menu")
    assert chat.text == SLOW_DOWN_NL
    # Half a message a second: one second is not enough for the next one, two seconds are.
    clock.advance(seconds=1)
    assert throttle.allow(("console", "other-chat"), clock.now)[0]  # another chat: its own bucket
    replies = await chat.runtime.handle(_text(chat, "menu"))
    assert replies == []  # still held back (and warned once already)
    clock.advance(seconds=2)
    await chat.send("menu")
    assert chat.options, chat.dump()


@pytest.mark.parametrize(("name", "value"), [("CHAT_FLOOD_BURST", "0"), ("CHAT_FLOOD_RATE", "-1")])
def test_a_bad_flood_setting_is_named(name: str, value: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from bot.config import Settings, describe_error

    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)  # type: ignore[call-arg]
    line = describe_error(error.value)
    assert name in line and "expected" in line
