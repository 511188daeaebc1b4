"""Small builders for test data: an organisation with areas, streets, people and rounds.

Each returns flushed model objects, so ids are set; nothing is committed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Area,
    Channel,
    ChannelIdentity,
    Organisation,
    PayoutPoint,
    Person,
    Role,
    RoleGrant,
    Round,
    RoundTheme,
    Street,
    StreetMembership,
    StreetStatus,
)
from bot.services.codes import new_invite_code
from bot.services.streets import duplicate_key

NOW = dt.datetime(2026, 5, 12, 10, 0, tzinfo=dt.UTC)


async def organisation(
    session: AsyncSession, slug: str = "rotterdam", **kw: object
) -> Organisation:
    org = Organisation(slug=slug, name=kw.pop("name", slug.title()), **kw)
    session.add(org)
    await session.flush()
    return org


async def area(session: AsyncSession, org: Organisation, name: str = "Delfshaven") -> Area:
    item = Area(organisation_id=org.id, name=name, contact_text=f"Leider {name}: 010-1234567")
    session.add(item)
    await session.flush()
    return item


async def payout_point(session: AsyncSession, org: Organisation, area_: Area) -> PayoutPoint:
    item = PayoutPoint(
        organisation_id=org.id,
        area_id=area_.id,
        name=f"Buurthuis {area_.name}",
        address="Schiedamseweg 1",
        opening_hours="ma-vr 10-16",
    )
    session.add(item)
    await session.flush()
    return item


async def person(
    session: AsyncSession,
    org: Organisation,
    name: str = "Fatima",
    *,
    language: str = "nl",
    roles: tuple[tuple[Role, int | None], ...] = (),
    channel: Channel = Channel.CONSOLE,
    address: str | None = None,
) -> Person:
    """A person with a channel identity; ``roles`` are (role, area or payout point id) pairs."""
    item = Person(organisation_id=org.id, first_name=name, language=language, consent_at=NOW)
    session.add(item)
    await session.flush()
    for role, ref in roles:
        grant = RoleGrant(person_id=item.id, role=role)
        if role == Role.LEADER:
            grant.area_id = ref
        elif role == Role.PAYOUT:
            grant.payout_point_id = ref
        session.add(grant)
    session.add(
        ChannelIdentity(person_id=item.id, channel=channel, address=address or f"{name}-{item.id}")
    )
    await session.flush()
    await session.refresh(item, ["roles"])
    return item


async def street(
    session: AsyncSession,
    org: Organisation,
    area_: Area,
    name: str = "Zaagmolenstraat",
    *,
    status: StreetStatus = StreetStatus.ACTIVE,
    gangmakers: tuple[Person, ...] = (),
    liefleed: bool = True,
    section: str | None = None,
) -> Street:
    name_key, section_key = duplicate_key(name, section)
    item = Street(
        organisation_id=org.id,
        area_id=area_.id,
        name=name,
        section=section,
        name_key=name_key,
        section_key=section_key,
        households=40,
        theme_liefleed=liefleed,
        status=status,
        invite_code=new_invite_code(),
    )
    session.add(item)
    await session.flush()
    for gm in gangmakers:
        session.add(StreetMembership(street_id=item.id, person_id=gm.id, is_gangmaker=True))
    await session.flush()
    return item


async def round_(
    session: AsyncSession,
    org: Organisation,
    *,
    opens: dt.datetime = NOW - dt.timedelta(days=30),
    closes: dt.datetime = NOW + dt.timedelta(days=30),
    max_cents: int = 25000,
    name: str = "Voorjaarsronde",
    theme: RoundTheme = RoundTheme.GENERAL,
) -> Round:
    item = Round(
        organisation_id=org.id,
        year=opens.year,
        names={"nl": name, "en": name + " (en)"},
        theme=theme,
        opens_at=opens,
        closes_at=closes,
        max_amount_cents=max_cents,
        in_kind_offers=[],
    )
    session.add(item)
    await session.flush()
    return item
