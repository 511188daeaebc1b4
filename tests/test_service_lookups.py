"""Small lookups the dialogs ask the services for: payout points, areas, next round, reports."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import PayoutPoint
from bot.services import budget, rounds, streets
from bot.services.payout_points import payout_points_for_street
from tests import factories as f
from tests.factories import NOW
from tests.test_budget import approve, build_world, submit


async def test_payout_points_of_the_streets_area_else_the_organisation_wide_ones(
    session: AsyncSession,
) -> None:
    world = await build_world(session)
    points = await payout_points_for_street(session, world.street)
    assert [p.id for p in points] == [world.point.id]
    lonely_area = await f.area(session, world.org, "Pernis")
    lonely = await f.street(session, world.org, lonely_area, "Pastoriedijk")
    assert await payout_points_for_street(session, lonely) == []
    everywhere = PayoutPoint(organisation_id=world.org.id, area_id=None, name="Centraal loket")
    session.add(everywhere)
    await session.flush()
    assert [p.name for p in await payout_points_for_street(session, lonely)] == ["Centraal loket"]


async def test_areas_are_listed_by_name_for_one_organisation(session: AsyncSession) -> None:
    org = await f.organisation(session)
    other = await f.organisation(session, "schiedam")
    for name in ("Noord", "Charlois", "Delfshaven"):
        await f.area(session, org, name)
    await f.area(session, other, "Centrum")
    assert [a.name for a in await streets.areas_of(session, org.id)] == [
        "Charlois",
        "Delfshaven",
        "Noord",
    ]


async def test_next_round_is_the_first_that_opens_after_now(session: AsyncSession) -> None:
    org = await f.organisation(session)
    await f.round_(session, org, name="Nu open")
    later = await f.round_(
        session,
        org,
        name="Zomer",
        opens=NOW + dt.timedelta(days=40),
        closes=NOW + dt.timedelta(days=90),
    )
    await f.round_(
        session,
        org,
        name="December",
        opens=NOW + dt.timedelta(days=200),
        closes=NOW + dt.timedelta(days=230),
    )
    found = await rounds.next_round(session, org.id, NOW)
    assert found is not None and found.id == later.id
    assert await rounds.next_round(session, org.id, NOW + dt.timedelta(days=300)) is None


async def test_only_awarded_requests_whose_day_has_come_await_a_report(
    session: AsyncSession,
) -> None:
    world = await build_world(session)
    request = await submit(session, world)
    day = request.activity_date
    assert await budget.reportable_requests(session, world.gangmaker, today=day) == []
    await approve(session, world, request)
    before = await budget.reportable_requests(
        session, world.gangmaker, today=day - dt.timedelta(days=1)
    )
    assert before == []
    due = await budget.reportable_requests(session, world.gangmaker, today=day)
    assert [r.id for r in due] == [request.id]
    assert await budget.reportable_requests(session, world.neighbour, today=day) == []
