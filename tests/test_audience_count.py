"""The composer's recipient count is counted in SQL (``announcements.count_audience``) and
gives exactly the figures of ``resolve_audience``, which loads every person (both databases)."""

from __future__ import annotations

import random

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.demo_people import add_demo_people
from bot.models import Area, Channel, ChannelIdentity, Person, Role, RoleGrant, Theme
from bot.services import announcements as ann
from bot.services.announcements import Audience
from tests import factories as f


async def test_count_equals_the_resolved_audience(session: AsyncSession) -> None:
    org = await f.organisation(session)
    await f.area(session, org, "Delfshaven")
    await f.area(session, org, "Noord")
    await add_demo_people(session, organisation=org, count=240, now=f.NOW)
    rng = random.Random(7)
    people = list(await session.scalars(select(Person.id).where(Person.organisation_id == org.id)))
    # A mixed population: no consent, STOP, blocked addresses, a second address, no address.
    for person_id in people:
        roll = rng.random()
        if roll < 0.1:
            values = {"consent_at": None}
        elif roll < 0.2:
            values = {"announcements_opt_out": True}
        else:
            values = {}
        if values:
            await session.execute(update(Person).where(Person.id == person_id).values(**values))
        roll = rng.random()
        if roll < 0.15:
            await session.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.person_id == person_id)
                .values(reachable=False)
            )
        elif roll < 0.25:
            session.add(
                ChannelIdentity(
                    person_id=person_id,
                    channel=Channel.WHATSAPP,
                    address=f"316{person_id:08d}",
                    reachable=rng.random() < 0.5,
                    preferred=False,
                )
            )
        elif roll < 0.3:
            await session.execute(
                ChannelIdentity.__table__.delete().where(ChannelIdentity.person_id == person_id)
            )
    theme_lead = await f.person(session, org, "Gijs", language="pap")
    session.add(RoleGrant(person_id=theme_lead.id, role=Role.THEME_LEAD, theme=Theme.GREEN))
    await f.person(session, org, "Kees", roles=((Role.LEADER, None),), language="so")
    await session.flush()
    areas = list(await session.scalars(select(Area.id).where(Area.organisation_id == org.id)))

    audiences = [
        Audience(),
        Audience(area_ids=(areas[0],)),
        Audience(area_ids=tuple(areas)),
        Audience(themes=("liefleed",)),
        Audience(themes=("green", "clean")),
        Audience(area_ids=(areas[1],), themes=("liefleed",)),
        Audience(roles=("gangmaker",)),
        Audience(roles=("resident",)),
        Audience(roles=("leader",)),  # project leaders: the theme lead as well
        Audience(roles=("gangmaker", "payout")),
        Audience(languages=("tr", "ar")),
        Audience(area_ids=(areas[0],), roles=("gangmaker",), languages=("nl", "pl")),
        Audience(languages=("uk",), themes=("green",)),
    ]
    seen_nonzero = set()
    for audience in audiences:
        resolved = await ann.resolve_audience(session, org.id, audience)
        counted = await ann.count_audience(session, org.id, audience)
        expected = ann.AudienceCount(
            recipients=len(resolved.recipients),
            opted_out=resolved.opted_out,
            unreachable=resolved.unreachable,
            no_consent=resolved.no_consent,
            languages=tuple(sorted({r.language for r in resolved.recipients})),
        )
        assert counted == expected, audience
        seen_nonzero |= {k for k, v in vars(counted).items() if v}
    # The population exercised every figure (the comparison is not trivially zero).
    assert seen_nonzero == {"recipients", "opted_out", "unreachable", "no_consent", "languages"}
    leaders = await ann.count_audience(session, org.id, Audience(roles=("leader",)))
    assert leaders.recipients == 2 and leaders.languages == ("pap", "so")
