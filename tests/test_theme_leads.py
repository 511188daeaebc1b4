"""Theme leads: a project leader of a street theme (Lief & Leed, green, clean) in every area.

The services decide (both databases): a theme lead sees and reviews the requests and sign-ups of
streets with their theme, in any area, and nothing else; the overview counts only those
streets. The chat's leader dialogs call the same services, so they show the same."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import transaction
from bot.errors import NotAllowed, NotFound
from bot.models import (
    BudgetRequest,
    Organisation,
    Person,
    RequestStatus,
    Role,
    RoleGrant,
    Street,
    StreetStatus,
    Theme,
)
from bot.services import budget, overview, permissions, streets
from bot.services.codes import new_reference
from tests import factories
from tests.chat import ChatHarness
from tests.factories import NOW


async def theme_lead(
    session: AsyncSession, org: Organisation, theme: Theme, address: str = "thema"
) -> Person:
    lead = await factories.person(session, org, "Gijs", address=address)
    session.add(RoleGrant(person_id=lead.id, role=Role.THEME_LEAD, theme=theme))
    await session.flush()
    await session.refresh(lead, ["roles"])
    return lead


@dataclass
class Town:
    org: Organisation
    lead: Person  # theme lead of green streets
    area_leader: Person  # leader of Noord
    green_north: Street
    plain_north: Street
    green_south: Street
    pending_green: Street
    pending_plain: Street
    requests: dict[str, BudgetRequest]  # by street name


async def town(session: AsyncSession) -> Town:
    org = await factories.organisation(session)
    north = await factories.area(session, org, "Noord")
    south = await factories.area(session, org, "Charlois")
    gm = await factories.person(session, org, "Fatima", address="gm")

    async def street(area, name, *, green, status=StreetStatus.ACTIVE) -> Street:
        item = await factories.street(
            session, org, area, name, status=status, gangmakers=(gm,), liefleed=False
        )
        item.theme_green = green
        return item

    green_north = await street(north, "Bergweg", green=True)
    plain_north = await street(north, "Zaagmolenstraat", green=False)
    green_south = await street(south, "Boergoensevliet", green=True)
    pending_green = await street(south, "Wolphaertsbocht", green=True, status=StreetStatus.PENDING)
    pending_plain = await street(north, "Noordsingel", green=False, status=StreetStatus.PENDING)
    round_ = await factories.round_(session, org)
    requests = {}
    for index, item in enumerate((green_north, plain_north, green_south)):
        request = BudgetRequest(
            reference=new_reference(),
            round_id=round_.id,
            street_id=item.id,
            activity="Geveltuintjes",
            activity_date=dt.date(2026, 6, 20),
            expected_participants=20,
            amount_cents=10000 * (index + 1),
            status=RequestStatus.SUBMITTED,
            created_at=NOW - dt.timedelta(days=5 - index),
        )
        session.add(request)
        requests[item.name] = request
    await session.flush()
    lead = await theme_lead(session, org, Theme.GREEN)
    area_leader = await factories.person(
        session, org, "Sanne", address="leader", roles=((Role.LEADER, north.id),)
    )
    return Town(
        org, lead, area_leader, green_north, plain_north, green_south, pending_green,
        pending_plain, requests,
    )  # fmt: skip


async def test_queue_holds_the_theme_in_every_area(session: AsyncSession) -> None:
    t = await town(session)
    queue = await budget.review_queue(session, actor=t.lead)
    assert {r.street_id for r in queue} == {t.green_north.id, t.green_south.id}
    # Narrowed to one area: the theme's streets in it (any area; a theme has no area).
    north = await budget.review_queue(session, actor=t.lead, area_id=t.plain_north.area_id)
    assert [r.street_id for r in north] == [t.green_north.id]
    # The area leader keeps their whole area, green or not, and nothing of another area.
    mine = await budget.review_queue(session, actor=t.area_leader)
    assert {r.street_id for r in mine} == {t.green_north.id, t.plain_north.id}
    with pytest.raises(NotAllowed):
        await budget.review_queue(session, actor=t.area_leader, area_id=t.green_south.area_id)


async def test_theme_lead_decides_only_on_their_theme(session: AsyncSession) -> None:
    t = await town(session)
    plain = t.requests["Zaagmolenstraat"]
    with pytest.raises(NotAllowed) as refused:
        await budget.review_request(
            session, actor=t.lead, request_id=plain.id, decision="approve", now=NOW
        )
    assert refused.value.key == "perm.not_leader_of_area"
    await session.refresh(plain)
    assert plain.status == RequestStatus.SUBMITTED and plain.decided_by_id is None
    with pytest.raises(NotFound):
        await budget.request_by_reference(session, actor=t.lead, reference=plain.reference)

    south = t.requests["Boergoensevliet"]
    await budget.review_request(
        session, actor=t.lead, request_id=south.id, decision="approve", now=NOW
    )
    await session.refresh(south)
    assert south.status == RequestStatus.APPROVED and south.decided_by_id == t.lead.id


async def test_theme_lead_checks_only_their_themes_sign_ups(session: AsyncSession) -> None:
    t = await town(session)
    waiting = await streets.pending_streets(session, actor=t.lead)
    assert [s.id for s in waiting] == [t.pending_green.id]
    with pytest.raises(NotAllowed):
        await streets.review_street(
            session, actor=t.lead, street_id=t.pending_plain.id, approve=True, reason=None
        )
    await session.refresh(t.pending_plain)
    assert t.pending_plain.status == StreetStatus.PENDING
    await streets.review_street(
        session, actor=t.lead, street_id=t.pending_green.id, approve=True, reason=None, now=NOW
    )
    assert t.pending_green.status == StreetStatus.ACTIVE


async def test_overview_counts_only_the_theme(session: AsyncSession) -> None:
    t = await town(session)
    round_id = t.requests["Bergweg"].round_id
    seen = await overview.round_overview(
        session, round_id=round_id, scope=permissions.leader_scope(t.lead)
    )
    # Every area is listed (a theme runs through all), counting the green streets only.
    assert [a.area_name for a in seen.by_area] == ["Charlois", "Noord"]
    assert {a.area_name: a.total.asked_cents for a in seen.by_area} == {
        "Charlois": 30000,
        "Noord": 10000,
    }
    assert seen.total.count == 2
    area = await overview.round_overview(
        session, round_id=round_id, scope=permissions.leader_scope(t.area_leader)
    )
    assert [a.area_name for a in area.by_area] == ["Noord"] and area.total.asked_cents == 30000


async def test_a_theme_reaches_no_street_of_another_organisation(session: AsyncSession) -> None:
    t = await town(session)
    other = await factories.organisation(session, "schiedam")
    elsewhere = await factories.street(
        session, other, await factories.area(session, other, "Centrum"), "Hoogstraat"
    )
    elsewhere.theme_green = True
    await session.flush()
    assert not permissions.can_lead_street(t.lead, elsewhere)
    assert permissions.can_lead_street(t.lead, t.green_south)
    assert not permissions.can_lead_street(t.lead, t.plain_north)
    ids = set(
        await session.scalars(select(Street.id).where(permissions.leader_scope(t.lead).streets()))
    )
    assert elsewhere.id not in ids and t.green_south.id in ids and t.plain_north.id not in ids


async def test_chat_review_shows_a_theme_lead_their_theme(sessions) -> None:
    async with transaction(sessions) as s:
        t = await town(s)
        shown = {t.requests["Bergweg"].reference, t.requests["Boergoensevliet"].reference}
        hidden = t.requests["Zaagmolenstraat"].reference
    chat = ChatHarness(sessions, address="thema")
    await chat.send("menu")
    assert "Aanvragen beoordelen" in chat.options
    await chat.choose("Aanvragen beoordelen")
    assert chat.last_text.startswith("Er wachten 2 aanvragen op je")
    assert {o.split(" · ")[0] for o in chat.options[:2]} == shown
    assert not any(hidden in option for option in chat.options)
    # Typing the reference of another theme's request gets nowhere.
    await chat.send(hidden)
    assert hidden not in chat.text
