"""Street news for a neighbour without a chat app, on a helper's phone (assisted mode).

What is checked: the helper subscribes neighbour "AB, nr 12" (Turkish) to the street's news;
the subscription records the helper and a person with only initials, house number and language;
the gangmaker's news reaches the helper's Telegram chat through the real delivery engine and the
fake Bot API, in Turkish, headed in the helper's language with "A.B., nr 12"; the helper stops it
and the neighbour's data goes with it, and the next news does not come; bad codes change
nothing; STOP from the helper holds the news for their chat; forgetting the neighbour or the
helper leaves nothing of the neighbour behind (both databases).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.delivery.engine import DeliveryEngine
from bot.delivery.senders import TelegramSender
from bot.i18n import translator
from bot.models import (
    AssistedSession,
    AuditEntry,
    ChannelIdentity,
    Delivery,
    Person,
    Street,
    StreetSubscription,
)
from bot.services import privacy, street_news
from tests.chat import ChatHarness, make_world
from tests.factories import NOW
from tests.fakes import ApiSpec, FakeTelegram
from tests.test_neighbours import (
    TOKEN,
    ZONE,
    invite_code,
    open_street_news,
    subscribe_through_invite,
)

HELPER_CHAT = 8001
TR = translator("tr")
NL = translator("nl", ZONE)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    if not ApiSpec.default_path().exists():
        pytest.skip("Bot API specification not found")
    async with FakeTelegram(token=TOKEN, strict_chats=False) as fake:
        yield fake


async def deliver(sessions, tg: FakeTelegram, *, minutes: int) -> None:
    sender = TelegramSender(TOKEN, tg.api_base, rate=0, chat_interval=0)
    try:
        engine = DeliveryEngine(sessions, [sender], now=lambda: NOW + dt.timedelta(minutes=minutes))
        await engine.run_until_idle()
    finally:
        await sender.close()


async def start_helping(chat: ChatHarness, initials: str, house: str, language: str) -> None:
    await chat.send("voor een buur")
    await chat.send(initials)
    await chat.send(house)
    await chat.press(language)
    await chat.send("ja")


async def send_party(sessions) -> ChatHarness:
    gm = await open_street_news(sessions)
    await gm.choose("Straatnieuws sturen")
    await gm.choose("Straatfeest")
    await gm.send("za 16 mei")
    await gm.send("15:00")
    await gm.send("bij nummer 12")
    await gm.press("yes")
    return gm


async def neighbour_subscriptions(sessions) -> list[tuple[StreetSubscription, Person]]:
    async with sessions() as s:
        rows = (
            await s.execute(
                select(StreetSubscription, Person)
                .join(Person, Person.id == StreetSubscription.person_id)
                .where(StreetSubscription.helped_by_id.is_not(None))
            )
        ).all()
        return [(row[0], row[1]) for row in rows]


async def test_a_helper_subscribes_a_neighbour_who_gets_turkish_news_on_the_helpers_chat(
    sessions, tg: FakeTelegram
) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    # The helper gets the street's news herself (Dutch, Telegram).
    helper_chat = await subscribe_through_invite(
        sessions, code, address=str(HELPER_CHAT), language="nl"
    )
    helper = await helper_chat.person()

    await start_helping(helper_chat, "A.B.", "12", "tr")
    assert "neighbour:mine" in helper_chat.option_values, helper_chat.dump()
    await helper_chat.press("neighbour:mine")
    # In the neighbour's language: which street; the helper's own street is offered.
    assert (
        TR._(
            "Which street news should {initials} get? It comes to this phone, in the language"
            " of {initials}.",
            initials="AB",
        )
        in helper_chat.text
    ), helper_chat.dump()
    assert helper_chat.options == ["Zaagmolenstraat"]
    await helper_chat.choose("Zaagmolenstraat")
    assert (
        TR._(
            "Done! {initials} now gets the street news of {street}, on this phone.",
            initials="AB",
            street="Zaagmolenstraat",
        )
        in helper_chat.text
    )
    # The task is done: the help ends and the helper is back in Dutch.
    assert "Je bent klaar met helpen van AB. Dank je wel!" in helper_chat.text
    assert (await helper_chat.state()).dialog == "menu"

    # Recorded: the helper, and a person with initials, house number and language only.
    [(subscription, neighbour)] = await neighbour_subscriptions(sessions)
    assert subscription.helped_by_id == helper.id
    assert subscription.street_id == world.street_id
    assert (neighbour.first_name, neighbour.house_number, neighbour.language) == ("AB", "12", "tr")
    assert neighbour.reminder_minute is None and neighbour.reminders_off == []
    async with sessions() as s:
        identities = await s.scalar(
            select(func.count())
            .select_from(ChannelIdentity)
            .where(ChannelIdentity.person_id == neighbour.id)
        )
        assert identities == 0
        assert await s.scalar(select(func.count()).select_from(AssistedSession)) == 0

    # The gangmaker sees both and sends a street party.
    gm = await send_party(sessions)
    assert "Verstuurd! 2 buren krijgen het nieuws." in gm.text, gm.dump()
    await deliver(sessions, tg, minutes=1)

    slots = {"date": "2026-05-16", "time": 900, "place": "bij nummer 12"}

    def rendered(language: str) -> str:
        return street_news.render(
            translator(language, ZONE),
            street="Zaagmolenstraat",
            template="party",
            slots=slots,
            free_text=None,
        )

    messages = [m["text"] for m in tg.sent_messages(HELPER_CHAT)]
    assert len(messages) == 2
    assert rendered("nl") in messages  # her own, in Dutch
    [for_neighbour] = [m for m in messages if m != rendered("nl")]
    assert for_neighbour.startswith("Voor je buur A.B., nr 12:\n")
    assert "Typ voor een buur om dit voor hem of haar te stoppen." in for_neighbour
    assert for_neighbour.endswith(rendered("tr"))
    assert "Sokak şenliği!" in for_neighbour and "16 Mayıs 2026 Cumartesi" in for_neighbour
    assert tg.violations == []

    # The helper stops it for the neighbour: the subscription and the neighbour's data go.
    await start_helping(helper_chat, "AB", "12", "tr")
    await helper_chat.press("neighbour:mine")
    assert TR.pgettext("button", "Stop street news") in helper_chat.options, helper_chat.dump()
    await helper_chat.choose(TR.pgettext("button", "Stop street news"))
    await helper_chat.press("yes")
    assert "Je bent klaar met helpen van AB." in helper_chat.text, helper_chat.dump()
    assert await neighbour_subscriptions(sessions) == []
    async with sessions() as s:
        assert await s.get(Person, neighbour.id) is None
        assert await s.scalar(select(Person).where(Person.house_number == "12")) is None
        left = list(await s.scalars(select(Delivery.body).where(Delivery.body.like("%A.B.%"))))
        assert left == []

    # The next news reaches only her own subscription.
    async with transaction(sessions) as s:
        street = await s.get(Street, world.street_id)
        gm_person = await s.scalar(select(Person).where(Person.first_name == "Fatima"))
        await street_news.send_news(
            s,
            actor=gm_person,
            street=street,
            template="weather",
            slots={"date": "2026-05-20"},
            today=NOW.date(),
            now=NOW + dt.timedelta(minutes=2),
        )
    await deliver(sessions, tg, minutes=3)
    messages = [m["text"] for m in tg.sent_messages(HELPER_CHAT)]
    assert len(messages) == 3
    assert messages[-1] == street_news.render(
        NL,
        street="Zaagmolenstraat",
        template="weather",
        slots={"date": "2026-05-20"},
        free_text=None,
    )


async def test_a_typed_card_code_works_and_bad_codes_change_nothing(sessions) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    # A resident with no street of her own: she types the code from the card.
    chat = ChatHarness(sessions, address=world.resident)
    await start_helping(chat, "CD", "7b", "tr")
    await chat.press("neighbour:mine")
    assert chat.options == []
    assert TR._("Type the code from the street's card. For example: ABCD2345.") in chat.text
    for bad in ("ZZZZZZZZ", "🙂", "x" * 2000):
        await chat.send(bad)
        state = await chat.state()
        assert (state.dialog, state.step) == ("neighbour", "helped"), chat.dump()
    assert await neighbour_subscriptions(sessions) == []
    await chat.send(code.lower())
    assert "Je bent klaar met helpen van CD." in chat.text, chat.dump()
    [(subscription, neighbour)] = await neighbour_subscriptions(sessions)
    assert (neighbour.first_name, neighbour.house_number) == ("CD", "7b")
    assert subscription.street_id == world.street_id

    # Again for the same neighbour: already subscribed, nothing doubled.
    await start_helping(chat, "CD", "7B", "tr")
    await chat.press("neighbour:mine")
    await chat.choose(TR.pgettext("button", "Another street"))
    await chat.send(code)
    assert (
        TR._(
            "{initials} already gets the street news of {street}.",
            initials="CD",
            street="Zaagmolenstraat",
        )
        in chat.text
    ), chat.dump()
    assert len(await neighbour_subscriptions(sessions)) == 1


async def test_stop_from_the_helper_holds_the_neighbours_news_on_her_chat(sessions) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    helper_chat = await subscribe_through_invite(
        sessions, code, address=str(HELPER_CHAT), language="nl"
    )
    await start_helping(helper_chat, "EF", "3", "ar")
    await helper_chat.press("neighbour:mine")
    await helper_chat.choose("Zaagmolenstraat")
    gm = await open_street_news(sessions)
    assert "2 buren krijgen het straatnieuws" in gm.text

    await helper_chat.send("STOP")
    gm = await open_street_news(sessions)
    assert "0 buren krijgen het straatnieuws" in gm.text, gm.dump()
    # Her STOP covers her chat; the neighbour's subscription stays for when she comes back.
    assert len(await neighbour_subscriptions(sessions)) == 1
    await helper_chat.send("aanmelden")
    gm = await open_street_news(sessions)
    assert "2 buren krijgen het straatnieuws" in gm.text


async def test_forgetting_the_neighbour_or_the_helper_leaves_nothing_of_the_neighbour(
    sessions,
) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    for address in ("8101", "8102"):
        helper_chat = await subscribe_through_invite(sessions, code, address=address, language="nl")
        await start_helping(helper_chat, "GH", "21", "pl")
        await helper_chat.press("neighbour:mine")
        await helper_chat.choose("Zaagmolenstraat")
    await send_party(sessions)
    pairs = await neighbour_subscriptions(sessions)
    assert len(pairs) == 2  # each helper has her own "GH, nr 21"
    (first, first_neighbour), (second, second_neighbour) = pairs
    async with sessions() as s:
        news_rows = list(await s.scalars(select(Delivery).where(Delivery.body.like("%G.H.%"))))
    assert sorted(r.person_id for r in news_rows) == sorted(
        [first.helped_by_id, second.helped_by_id]
    )

    # The neighbour is forgotten (e.g. asked through the helper): the news rows about them go.
    async with transaction(sessions) as s:
        person = await s.get(Person, first_neighbour.id)
        exported = await privacy.export_person(s, person, now=NOW)
        assert [r["helped_by_id"] for r in exported["tables"]["street_subscription"]] == [
            first.helped_by_id
        ]
        await privacy.forget_person(s, person, now=NOW)
    # The helper of the second is forgotten: her neighbours' subscriptions go with her.
    async with transaction(sessions) as s:
        helper = await s.get(Person, second.helped_by_id)
        exported = await privacy.export_person(s, helper, now=NOW)
        assert [r["person_id"] for r in exported["tables"]["street_subscription"]] == sorted(
            [helper.id, second_neighbour.id]
        )
        await privacy.forget_person(s, helper, now=NOW)
    assert await neighbour_subscriptions(sessions) == []
    async with sessions() as s:
        assert list(await s.scalars(select(Delivery).where(Delivery.body.like("%G.H.%")))) == []
        assert list(await s.scalars(select(Delivery).where(Delivery.key.like("news:%")))) != []
        for neighbour in (first_neighbour, second_neighbour):
            keys = street_news.helped_delivery_keys(neighbour.id)
            assert list(await s.scalars(select(Delivery).where(Delivery.key.like(keys)))) == []


async def test_the_helper_deletes_all_data_of_a_neighbour_for_them(sessions) -> None:
    """A neighbour without a phone uses their right to be forgotten through the helper: the
    street they signed up stays (without them), their news and person row go."""
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    helper_chat = await subscribe_through_invite(
        sessions, code, address=str(HELPER_CHAT), language="nl"
    )
    helper = await helper_chat.person()
    await start_helping(helper_chat, "AB", "12", "tr")
    await helper_chat.press("signup")
    await helper_chat.send("Zaagmolenkade")
    await helper_chat.press("whole")
    await helper_chat.send("40")
    await helper_chat.press("no")
    await helper_chat.press("yes")
    await start_helping(helper_chat, "AB", "12", "tr")
    await helper_chat.press("neighbour:mine")
    await helper_chat.choose("Zaagmolenstraat")
    [(_, neighbour)] = await neighbour_subscriptions(sessions)
    await send_party(sessions)

    # The notice tells how.
    await helper_chat.send("menu")
    await helper_chat.choose("Instellingen")
    await helper_chat.choose("Privacy")
    assert "Typ voor een buur, geef dezelfde voorletters" in helper_chat.text, helper_chat.dump()

    await start_helping(helper_chat, "AB", "12", "tr")
    assert helper_chat.option_values[-2:] == ["forget", "done"]
    await helper_chat.press("forget")
    assert (
        TR._(
            "Delete everything we store about {initials}: initials, house number, language,"
            " street news, sign-ups and requests? Money matters of a street stay, without"
            " {initials}.",
            initials="AB",
        )
        in helper_chat.text
    )
    await helper_chat.press("no")  # nothing happens, the tasks again
    assert (await helper_chat.state()).step == "task"
    async with sessions() as s:
        assert await s.get(Person, neighbour.id) is not None
    await helper_chat.press("forget")
    await helper_chat.press("yes")
    assert "Klaar: alles wat we over AB bewaarden, is gewist." in helper_chat.text
    assert "Je bent klaar met helpen van AB." in helper_chat.text
    assert helper_chat.last_text == "Wat wil je doen?"  # her own menu, in Dutch
    async with sessions() as s:
        assert await s.get(Person, neighbour.id) is None
        assert await s.scalar(select(func.count()).select_from(AssistedSession)) == 0
        street = await s.scalar(select(Street).where(Street.name == "Zaagmolenkade"))
        assert street is not None and street.signed_up_by_id is None  # the street stays
        assert street.helped_by_id == helper.id
        assert list(await s.scalars(select(Delivery).where(Delivery.body.like("%A.B.%")))) == []
        deleted = await s.scalar(select(AuditEntry).where(AuditEntry.action == "person.deleted"))
        assert deleted.actor_person_id == helper.id and deleted.details["by_self"] is False
    assert await neighbour_subscriptions(sessions) == []
    # Her own street news is untouched.
    async with sessions() as s:
        own = await s.scalar(
            select(StreetSubscription).where(StreetSubscription.person_id == helper.id)
        )
        assert own is not None
