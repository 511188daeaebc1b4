"""Assisted mode: a resident ("resident", Noor) does a task for a neighbour on her own phone.

What is checked: the replies switch to the neighbour's language and back; the rows made carry
both the neighbour and the helper; the audit says who helped whom; the session ends when the
task is done, on "klaar", or after 15 idle minutes (a moved clock); bad answers change nothing.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from bot.db import transaction
from bot.i18n import translator
from bot.models import (
    AssistedSession,
    AuditEntry,
    BudgetRequest,
    ChannelIdentity,
    Organisation,
    Person,
    Street,
    StreetMembership,
    StreetStatus,
)
from bot.services import assisted
from tests import factories as f
from tests.chat import ChatHarness, make_world
from tests.test_dialog_budget import answer_until

TR = translator("tr")


async def _count(sessions, model) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def _start(chat: ChatHarness, initials: str, house: str, language: str) -> None:
    await chat.send("voor een buur")
    assert "Wat zijn de voorletters van je buur?" in chat.text, chat.dump()
    await chat.send(initials)
    await chat.send(house)
    await chat.press(language)
    await chat.send("ja")


async def test_assisted_street_sign_up_is_recorded_with_helper_and_person(sessions) -> None:
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address=world.resident)
    helper = await chat.person()

    await chat.send("voor een buur")
    await chat.send("Ahmed Bakr")  # a name typed: only the initials are kept
    assert chat.last_text == "Wat is het huisnummer van AB?"
    await chat.send("12a")
    await chat.press("tr")
    assert chat.options == ["Ja", "Nee"]
    await chat.send("ja")
    # From now on the neighbour's language, Turkish.
    assert "Şimdi AB adına işlem yapıyorsunuz. Bitirince bitti yazın." in chat.text
    assert chat.option_values == ["signup", "neighbour:mine", "forget", "done"]
    await chat.press("signup")
    assert TR._("What is the name of the street you want to sign up?") in chat.text
    await chat.send("Zaagmolenkade")
    await chat.press("whole")
    await chat.send("40")
    await chat.press("no")
    await chat.press("yes")
    # Done: the session ends and the helper gets her own menu in Dutch.
    assert "Je bent klaar met helpen van AB. Dank je wel!" in chat.text, chat.dump()
    assert chat.last_text == "Wat wil je doen?"
    assert "Straat aanmelden" in chat.options

    async with sessions() as s:
        street = await s.scalar(select(Street).where(Street.name == "Zaagmolenkade"))
        neighbour = await s.get(Person, street.signed_up_by_id)
        assert (neighbour.first_name, neighbour.house_number, neighbour.language) == (
            "AB",
            "12a",
            "tr",
        )
        assert neighbour.id != helper.id and neighbour.consent_at is not None
        assert street.helped_by_id == helper.id
        identities = await s.scalar(
            select(func.count())
            .select_from(ChannelIdentity)
            .where(ChannelIdentity.person_id == neighbour.id)
        )
        assert identities == 0  # the neighbour has no chat of their own
        member = await s.scalar(
            select(StreetMembership).where(StreetMembership.street_id == street.id)
        )
        assert member.person_id == neighbour.id
        started = await s.scalar(select(AuditEntry).where(AuditEntry.action == "assisted.started"))
        assert (started.actor_person_id, started.object_id) == (helper.id, neighbour.id)
        ended = await s.scalar(select(AuditEntry).where(AuditEntry.action == "assisted.ended"))
        assert ended.actor_person_id == helper.id and ended.object_id == neighbour.id
        assert ended.details["made"] == {"street": [street.id]}
        assert ended.details["reason"] == "finished"
    assert await _count(sessions, AssistedSession) == 0

    # Later the same helper helps the same neighbour ask for a contribution: found again.
    async with transaction(sessions) as s:
        await s.execute(
            update(Street).where(Street.id == street.id).values(status=StreetStatus.ACTIVE)
        )
        await f.round_(s, await s.get(Organisation, world.org_id))
    await _start(chat, "A.B.", "12A", "nl")
    assert "Je doet dit nu voor AB." in chat.text
    assert chat.option_values == ["budget", "neighbour:mine", "forget", "done"]
    await chat.press("budget")
    await chat.press("ask")
    await answer_until(chat)
    await chat.press("yes")
    assert "Je bent klaar met helpen van AB." in chat.text, chat.dump()
    async with sessions() as s:
        [request] = list(await s.scalars(select(BudgetRequest)))
        assert (request.requested_by_id, request.helped_by_id) == (neighbour.id, helper.id)
        assert request.street_id == street.id
        assert await s.scalar(select(func.count()).select_from(Person)) == 6  # 5 + neighbour
        submitted = await s.scalar(
            select(AuditEntry).where(AuditEntry.action.like("budget.%")).limit(1)
        )
        if submitted is not None:  # services that audit say who helped
            assert submitted.details.get("helped_by") == helper.id


async def test_the_session_ends_after_15_idle_minutes(sessions) -> None:
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address=world.resident)
    await _start(chat, "CD", "3", "nl")
    await chat.press("signup")
    await chat.send("Snellemanstraat")
    assert await _count(sessions, AssistedSession) == 1

    chat.clock.advance(minutes=14)
    await chat.press("whole")  # still within 15 minutes of the last message
    assert "huishoudens" in chat.text
    chat.clock.advance(minutes=16)
    await chat.send("40")
    assert chat.replies[0].text == (
        "De hulp voor CD is gestopt: er kwam 15 minuten geen bericht."
    ), chat.dump()
    assert chat.last_text == "Wat wil je doen?"  # the helper's own menu
    state = await chat.state()
    assert state.dialog == "menu" and state.data == {"_q": "Wat wil je doen?", "_free": False}
    assert await _count(sessions, AssistedSession) == 0
    assert await _count(sessions, Street) == 1  # only the world's street: nothing signed up
    async with sessions() as s:
        ended = await s.scalar(select(AuditEntry).where(AuditEntry.action == "assisted.ended"))
        assert ended.details["reason"] == "idle" and ended.details["made"] == {}


async def test_klaar_ends_the_session_and_is_an_ordinary_word_otherwise(sessions) -> None:
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address=world.resident)
    await chat.send("menu")
    await chat.send("klaar")  # no session: not a command, just an unknown answer
    assert "Je bent klaar" not in chat.text
    assert chat.text.startswith("Kies een van de mogelijkheden.")

    await _start(chat, "EF", "7", "en")
    assert "You now act for EF. When you are finished, type done." in chat.text
    await chat.send("voor een buur")  # already helping
    assert "Je helpt EF al. Typ klaar om te stoppen." not in chat.text
    assert "You are already helping EF. Type done to stop." in chat.text
    await chat.send("KLAAR!")
    assert "Je bent klaar met helpen van EF. Dank je wel!" in chat.text
    assert await _count(sessions, AssistedSession) == 0


async def test_bad_answers_change_nothing_and_no_agreement_starts_nothing(sessions) -> None:
    world = await make_world(sessions)
    chat = ChatHarness(sessions, address=world.resident)
    await chat.send("voor een buur")
    for bad in ("1234", "🙂🙂", "A B C D", "x" * 900):
        await chat.send(bad)
        assert (await chat.state()).step == "initials", chat.dump()
        assert "voorletters" in chat.text or "letters" in chat.text
    await chat.send("gh")
    await chat.send("Jansen")  # a name where a house number belongs
    assert "Typ alleen een huisnummer" in chat.text
    assert (await chat.state()).step == "house"
    await chat.send("5")
    await chat.press("pl")
    await chat.send("nee")
    assert "Dan beginnen we niet." in chat.text
    assert await _count(sessions, AssistedSession) == 0
    assert await _count(sessions, Person) == 5  # nobody was made


def test_initials_are_cleaned() -> None:
    assert assisted.clean_initials("ahmed bakr") == "AB"
    assert assisted.clean_initials("A.B.") == "AB"
    assert assisted.clean_initials("ABC") == "ABC"
    assert assisted.clean_initials("Fatima") == "F"
    assert assisted.clean_initials("محمد علي") == "مع"
