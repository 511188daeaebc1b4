"""Demo data: complete, within the domain rules, deterministic and loaded only once."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.demo import AREAS, DemoSummary, load_demo, seed_scale
from bot.errors import Conflict
from bot.models import (
    Area,
    Attention,
    Base,
    BudgetRequest,
    Channel,
    ChannelIdentity,
    LiefLeedPot,
    Organisation,
    PayoutPoint,
    Person,
    RequestStatus,
    Role,
    Round,
    Street,
    StreetMembership,
    StreetStatus,
)
from tests import factories as f

S = RequestStatus
AWARDED = {S.APPROVED, S.PARTLY_APPROVED, S.PAID, S.REPORTED}
TZ = ZoneInfo("Europe/Amsterdam")
ROTTERDAM_AREAS = {
    "Centrum", "Charlois", "Delfshaven", "Feijenoord", "Hillegersberg-Schiebroek",
    "Hoek van Holland", "Hoogvliet", "IJsselmonde", "Kralingen-Crooswijk", "Noord", "Overschie",
    "Pernis", "Prins Alexander", "Rozenburg",
}  # fmt: skip


async def _person(session: AsyncSession, address: str) -> Person:
    person = await session.scalar(
        select(Person)
        .join(ChannelIdentity)
        .where(ChannelIdentity.channel == Channel.CONSOLE, ChannelIdentity.address == address)
    )
    assert person is not None, address
    return person


async def _table_counts(session: AsyncSession) -> dict[str, int]:
    return {
        table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
    }


async def test_demo_has_the_areas_and_every_status(session: AsyncSession) -> None:
    summary = await load_demo(session, now=f.NOW)

    assert summary.created
    assert summary.slug == "rotterdam"
    areas = set(await session.scalars(select(Area.name)))
    assert areas == ROTTERDAM_AREAS == {name for name, _, _ in AREAS}
    for area in await session.scalars(select(Area)):
        assert area.contact_text and "(demo)" in area.contact_text
    assert set(await session.scalars(select(Street.status))) == set(StreetStatus)
    assert set(await session.scalars(select(BudgetRequest.status))) == set(RequestStatus)
    assert 55 <= summary.counts["streets"] <= 65
    assert 18 <= summary.counts["payout_points"] <= 22
    assert summary.counts["areas"] == 14
    assert summary.counts["rounds"] == 4
    assert summary.counts["attentions"] > 0
    # Sections and merged streets, and Lief & Leed streets.
    sections = [s for s in await session.scalars(select(Street.section)) if s]
    assert any(s.startswith("+ ") for s in sections)
    assert any(s[0].isdigit() for s in sections)
    assert await session.scalar(select(func.count()).where(Street.theme_liefleed.is_(True)))

    rounds = list(await session.scalars(select(Round).order_by(Round.opens_at)))
    assert [r.names["nl"] for r in rounds] == [
        "Maak je straat groener", "Voorjaarsronde", "Zomerronde", "Decemberfeesten",
    ]  # fmt: skip
    assert all(set(r.names) == {"nl", "en"} and r.year == 2026 for r in rounds)
    assert [r.max_amount_cents for r in rounds] == [50000, 25000, 25000, 17500]
    offers = {offer for r in rounds for offer in r.in_kind_offers}
    assert offers == {"cleaning_kit", "flower_bulbs", "reading_book", "christmas_tree", "work_hut"}


async def test_fixed_demo_people_and_their_data(session: AsyncSession) -> None:
    summary = await load_demo(session, now=f.NOW)
    delfshaven = await session.scalar(select(Area).where(Area.name == "Delfshaven"))
    charlois = await session.scalar(select(Area).where(Area.name == "Charlois"))
    assert delfshaven is not None and charlois is not None

    fatima = await _person(session, summary.gangmaker_address)
    assert (fatima.first_name, fatima.language) == ("Fatima", "nl")
    assert fatima.has_role(Role.GANGMAKER)
    streets = list(
        await session.scalars(
            select(Street).join(StreetMembership).where(StreetMembership.person_id == fatima.id)
        )
    )
    assert len(streets) == 2
    assert all(s.status is StreetStatus.ACTIVE and s.area_id == delfshaven.id for s in streets)
    assert [s.theme_liefleed for s in streets].count(True) == 1
    her_statuses = set(
        await session.scalars(
            select(BudgetRequest.status).where(BudgetRequest.street_id.in_([s.id for s in streets]))
        )
    )
    assert len(her_statuses) >= 3
    liefleed_street = next(s for s in streets if s.theme_liefleed)
    logged = await session.scalar(
        select(func.count(Attention.id))
        .join(LiefLeedPot)
        .where(LiefLeedPot.street_id == liefleed_street.id, Attention.logged_by_id == fatima.id)
    )
    assert logged and logged >= 3

    # An open round in which one of her active streets has no request yet.
    await _assert_requestable(session, summary, fatima, f.NOW)

    sanne = await _person(session, summary.leader_address)
    assert sanne.first_name == "Sanne"
    lead = {g.area_id for g in sanne.roles if g.role == Role.LEADER}
    assert lead == {delfshaven.id, charlois.id}
    pending = await session.scalar(
        select(func.count(Street.id)).where(
            Street.area_id.in_(lead), Street.status == StreetStatus.PENDING
        )
    )
    to_review = await session.scalar(
        select(func.count(BudgetRequest.id))
        .join(Street)
        .where(Street.area_id.in_(lead), BudgetRequest.status == S.SUBMITTED)
    )
    assert pending and pending >= 2
    assert to_review and to_review >= 2
    # One leader per area.
    leader_areas = Counter(
        g.area_id
        for p in await session.scalars(select(Person))
        for g in p.roles
        if g.role == Role.LEADER
    )
    assert len(leader_areas) == 14 and set(leader_areas.values()) == {1}

    payout = await _person(session, summary.payout_address)
    points = [g.payout_point_id for g in payout.roles if g.role == Role.PAYOUT]
    assert points == [summary.payout_point_id]
    point = await session.get(PayoutPoint, summary.payout_point_id)
    assert point is not None and point.area_id == delfshaven.id
    assert point.name.startswith("Buurthuis")
    assert summary.payout_code
    request = await session.scalar(
        select(BudgetRequest).where(BudgetRequest.payout_code == summary.payout_code)
    )
    assert request is not None
    assert request.status in (S.APPROVED, S.PARTLY_APPROVED)
    assert request.paid_at is None and request.street.area_id == delfshaven.id

    admin = await _person(session, summary.admin_address)
    assert admin.has_role(Role.ADMIN)
    # Every payout point has exactly one person.
    staff = Counter(
        g.payout_point_id
        for p in await session.scalars(select(Person))
        for g in p.roles
        if g.role == Role.PAYOUT
    )
    assert set(staff) == set(await session.scalars(select(PayoutPoint.id)))
    assert set(staff.values()) == {1}


async def _assert_requestable(
    session: AsyncSession, summary: DemoSummary, fatima: Person, now: dt.datetime
) -> None:
    assert summary.open_round_id is not None and summary.requestable_street_id is not None
    round_ = await session.get(Round, summary.open_round_id)
    assert round_ is not None and round_.opens_at <= now < round_.closes_at
    street = await session.get(Street, summary.requestable_street_id)
    assert street is not None and street.status is StreetStatus.ACTIVE
    member = await session.scalar(
        select(StreetMembership.id).where(
            StreetMembership.street_id == street.id, StreetMembership.person_id == fatima.id
        )
    )
    assert member is not None
    existing = await session.scalar(
        select(func.count(BudgetRequest.id)).where(
            BudgetRequest.round_id == round_.id, BudgetRequest.street_id == street.id
        )
    )
    assert existing == 0


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC),  # between the summer and December rounds
        dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC),  # before the first round
        dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC),  # already 2026 in Amsterdam
    ],
)
async def test_a_round_is_open_whenever_the_demo_is_loaded(
    session: AsyncSession, now: dt.datetime
) -> None:
    summary = await load_demo(session, now=now)
    fatima = await _person(session, summary.gangmaker_address)
    await _assert_requestable(session, summary, fatima, now)
    assert summary.year == now.astimezone(TZ).year
    assert set(await session.scalars(select(BudgetRequest.status))) == set(RequestStatus)
    assert await session.scalar(select(func.count(Round.id))) == 4
    await _assert_domain_rules(session, now)


@pytest.mark.parametrize(
    "now",
    [
        f.NOW,
        dt.datetime(2026, 8, 1, 12, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 20, tzinfo=dt.UTC),
    ],
)
async def test_demo_follows_the_domain_rules(session: AsyncSession, now: dt.datetime) -> None:
    await load_demo(session, now=now)
    await _assert_domain_rules(session, now)


async def _assert_domain_rules(session: AsyncSession, now: dt.datetime) -> None:
    today = now.astimezone(TZ).date()
    requests = list(await session.scalars(select(BudgetRequest)))
    codes = [r.payout_code for r in requests if r.payout_code]
    assert len(codes) == len(set(codes))
    members = set(
        (
            await session.execute(
                select(StreetMembership.street_id, StreetMembership.person_id).where(
                    StreetMembership.is_gangmaker.is_(True)
                )
            )
        ).all()
    )
    open_per_street_round: Counter[tuple[int, int]] = Counter()
    for r in requests:
        assert r.street.status is StreetStatus.ACTIVE
        assert r.street.created_at <= r.created_at
        assert (r.street_id, r.requested_by_id) in members
        assert r.round.opens_at <= r.created_at < r.round.closes_at
        assert r.created_at <= now and r.updated_at <= now
        assert 0 < r.amount_cents <= r.round.max_amount_cents
        if r.status in AWARDED:
            assert r.awarded_cents is not None and 0 < r.awarded_cents <= r.amount_cents
            assert r.payout_code and len(r.payout_code) == 8
            assert r.decided_at is not None and r.decided_by_id is not None
        else:
            assert r.awarded_cents is None and r.payout_code is None
        if r.status is S.PARTLY_APPROVED:
            assert r.awarded_cents is not None and r.awarded_cents < r.amount_cents
        if r.status in (S.PAID, S.REPORTED):
            assert r.paid_at is not None and r.paid_at_point_id is not None
            assert r.decided_at is not None and r.decided_at <= r.paid_at <= now
        else:
            assert r.paid_at is None
        if r.status is S.REPORTED:
            assert r.reported_at is not None and r.report_participants
            assert r.activity_date <= today
        if r.status not in (S.WITHDRAWN, S.REJECTED):
            open_per_street_round[(r.street_id, r.round_id)] += 1
    assert max(open_per_street_round.values()) == 1

    spent = dict(
        (
            await session.execute(
                select(LiefLeedPot.id, func.sum(Attention.cost_cents))
                .join(Attention)
                .group_by(LiefLeedPot.id)
            )
        ).all()
    )
    for pot in await session.scalars(select(LiefLeedPot)):
        assert spent.get(pot.id, 0) <= pot.amount_cents
    for attention in await session.scalars(select(Attention)):
        assert attention.given_on <= today and attention.given_on.year == today.year
        assert attention.created_at <= now
        assert attention.house_number is None or len(attention.house_number) <= 10
    for person in await session.scalars(select(Person)):
        assert person.first_name and " " not in person.first_name


async def test_loading_twice_adds_nothing(session: AsyncSession) -> None:
    first = await load_demo(session, now=f.NOW)
    before = await _table_counts(session)
    assert before["budget_request"] > 0 and before["audit_log"] > 0

    second = await load_demo(session, now=f.NOW)

    assert await _table_counts(session) == before
    assert not second.created
    assert "nothing added" in second.describe()
    text = first.describe()
    for expected in ("rotterdam", "demo-gangmaker", "demo-leader", "demo-payout", "demo-admin"):
        assert expected in text
    assert first.payout_code and first.payout_code in text
    assert first.open_round_name and first.open_round_name in text
    assert second == DemoSummary(**{**first.__dict__, "created": False})


async def test_demo_is_deterministic(session: AsyncSession) -> None:
    async def fingerprint() -> list[object]:
        rows = await session.execute(
            select(
                Street.name, Street.invite_code, Street.status, BudgetRequest.reference,
                BudgetRequest.status, BudgetRequest.amount_cents, BudgetRequest.awarded_cents,
                BudgetRequest.payout_code,
            )
            .join(BudgetRequest, BudgetRequest.street_id == Street.id, isouter=True)
            .order_by(Street.name, BudgetRequest.reference)
        )  # fmt: skip
        return [tuple(row) for row in rows.all()]

    first = await load_demo(session, now=f.NOW)
    data = await fingerprint()
    await session.rollback()
    second = await load_demo(session, now=f.NOW)
    assert second.created
    assert await fingerprint() == data
    assert second.payout_code == first.payout_code


async def test_demo_street_keys_match_the_sign_up_keys(session: AsyncSession) -> None:
    from bot.services.streets import duplicate_key

    await load_demo(session, now=f.NOW)
    for street in await session.scalars(select(Street)):
        assert (street.name_key, street.section_key) == duplicate_key(street.name, street.section)


async def test_demo_refuses_a_real_organisation_with_its_slug(session: AsyncSession) -> None:
    await f.organisation(session, "rotterdam")
    before = await _table_counts(session)
    with pytest.raises(Conflict) as caught:
        await load_demo(session, now=f.NOW)
    assert caught.value.key == "demo.organisation_exists"
    assert await _table_counts(session) == before


@pytest.mark.parametrize("one_round", [False, True])
async def test_seed_scale_gives_the_asked_numbers(session: AsyncSession, one_round: bool) -> None:
    result = await seed_scale(
        session, streets=50, people=200, requests=50, now=f.NOW, one_round=one_round
    )
    org_id = result.organisation_id
    streets = select(Street.id).where(Street.organisation_id == org_id)
    people = select(Person.id).where(Person.organisation_id == org_id)
    assert await session.scalar(select(func.count()).select_from(streets.subquery())) == 50
    assert await session.scalar(select(func.count()).select_from(people.subquery())) == 200
    assert (
        await session.scalar(
            select(func.count(ChannelIdentity.id)).where(ChannelIdentity.person_id.in_(people))
        )
        == 200
    )
    requests = list(
        await session.scalars(select(BudgetRequest).where(BudgetRequest.street_id.in_(streets)))
    )
    assert len(requests) == 50 == result.counts["requests"]
    assert len({r.status for r in requests}) >= 5
    assert len({r.street.area_id for r in requests}) == 14
    rounds = {r.round_id for r in requests}
    assert rounds == {result.main_round_id} if one_round else len(rounds) >= 2
    for r in requests:
        assert r.amount_cents <= r.round.max_amount_cents
        assert r.awarded_cents is None or r.awarded_cents <= r.amount_cents
        assert (r.payout_code is not None) == (r.status in AWARDED)
    assert result.counts["attentions"] == await session.scalar(
        select(func.count(Attention.id)).join(LiefLeedPot).where(LiefLeedPot.street_id.in_(streets))
    )
    roles = Counter(
        g.role for p in await session.scalars(select(Person).where(Person.id.in_(people)))
        for g in p.roles
    )  # fmt: skip
    assert roles[Role.ADMIN] == 1 and roles[Role.LEADER] == 14 and roles[Role.PAYOUT] >= 14

    # Ids came from the tables' sequences: ordinary inserts afterwards do not collide.
    org = await session.get(Organisation, org_id)
    assert org is not None
    highest = max(await session.scalars(people))
    newcomer = await f.person(session, org, "Nieuw")
    await f.street(session, org, await f.area(session, org, "Extra"), "Nieuwe straat")
    assert newcomer.id > highest

    with pytest.raises(Conflict):
        await seed_scale(session, streets=1, people=1, requests=0, now=f.NOW)


async def test_seed_scale_next_to_the_demo(session: AsyncSession) -> None:
    await load_demo(session, now=f.NOW)
    result = await seed_scale(session, streets=30, people=60, requests=40, now=f.NOW)
    assert result.counts["streets"] == 30
    total = await session.scalar(select(func.count(Street.id)))
    assert total == 30 + (await load_demo(session, now=f.NOW)).counts["streets"]


@pytest.mark.parametrize("now", [f.NOW, dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)])
async def test_demo_people_can_do_their_work_through_the_services(
    session: AsyncSession, now: dt.datetime
) -> None:
    from bot.services import budget
    from bot.services.overview import round_overview

    summary = await load_demo(session, now=now)
    assert summary.open_round_id and summary.requestable_street_id and summary.payout_code
    fatima = await _person(session, summary.gangmaker_address)
    sanne = await _person(session, summary.leader_address)
    payout = await _person(session, summary.payout_address)

    request = await budget.submit_request(
        session, actor=fatima, street_id=summary.requestable_street_id,
        round_id=summary.open_round_id, activity="Straatbarbecue met de buren",
        activity_date=now.astimezone(TZ).date() + dt.timedelta(days=3),
        expected_participants=25, amount_cents=15000, plan=None, now=now,
    )  # fmt: skip
    assert request.status is S.SUBMITTED

    queue = await budget.review_queue(session, actor=sanne)
    assert request.id in {r.id for r in queue} and len(queue) >= 3
    reviewed = await budget.review_request(
        session, actor=sanne, request_id=request.id, decision="approve", now=now
    )
    assert reviewed.status is S.APPROVED

    paid = await budget.redeem_payout(session, actor=payout, code=summary.payout_code, now=now)
    assert paid.status is S.PAID and paid.paid_at_point_id == summary.payout_point_id

    view = await round_overview(
        session, round_id=summary.open_round_id, area_ids={g.area_id for g in sanne.roles}
    )
    assert [a.area_name for a in view.by_area] == ["Charlois", "Delfshaven"]
    assert view.by_status[S.APPROVED].count >= 1 and view.total.count >= 4
