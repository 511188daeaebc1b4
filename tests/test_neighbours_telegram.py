"""The neighbour link on real Telegram updates: ``/start n-<code>`` through aiogram, the
channel and the runtime (polling against the local fake Bot API), next to the gangmaker invite
code, which keeps making gangmakers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.i18n import translator
from bot.models import Person, Street, StreetMembership, StreetSubscription
from bot.services import neighbours
from tests.chat import make_world
from tests.factories import NOW
from tests.fakes import ApiSpec
from tests.test_telegram_e2e import option_values, running, tg  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(
    not ApiSpec.default_path().exists(), reason="Bot API specification not found"
)


async def test_a_neighbour_link_subscribes_after_first_contact_in_the_chosen_language(
    tg,  # noqa: F811 (the fixture imported above)
    engine,
    sessions,
) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as session:
        street = await session.get(Street, world.street_id)
        gm = await session.scalar(select(Person).where(Person.first_name == "Fatima"))
        code = (await neighbours.street_invite(session, actor=gm, street=street, now=NOW)).code

    async with running("polling", tg, engine, sessions) as bench:
        sent = await bench.send(f"/start n-{code.lower()}", language_code="tr")
        assert option_values(sent[-1])[0] == "tr"  # the language question, theirs first
        await bench.press("tr")
        sent = await bench.press("yes")  # the privacy notice
        tr = translator("tr")
        assert sent[-1]["text"] == tr._("Do you want the street news?")
        sent = await bench.press("yes")
        texts = [m["text"] for m in sent]
        done = tr._("Done! You now get the street news of {street}.", street="Zaagmolenstraat")
        assert any(done in t for t in texts), texts
    async with sessions() as session:
        subscription = await session.scalar(select(StreetSubscription))
        assert subscription is not None and subscription.street_id == world.street_id
        person = await session.get(Person, subscription.person_id)
        assert person is not None and person.language == "tr" and person.first_name is None
        # A neighbour, not a gangmaker.
        member = await session.scalar(
            select(StreetMembership).where(StreetMembership.person_id == person.id)
        )
        assert member is None
    assert tg.violations == []
