"""Round overview and Lief & Leed spending: sums and counts on a small hand-made data set."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFound
from bot.models import (
    Area,
    Attention,
    AttentionKind,
    BudgetRequest,
    LiefLeedPot,
    OccasionType,
    Organisation,
    RequestStatus,
    Round,
    Street,
    StreetStatus,
)
from bot.services.codes import new_payout_code, new_reference
from bot.services.overview import Figures, liefleed_spending, round_overview
from tests import factories as f

S = RequestStatus


async def _request(
    session: AsyncSession,
    round_: Round,
    street: Street,
    status: RequestStatus,
    asked: int,
    awarded: int | None = None,
) -> BudgetRequest:
    item = BudgetRequest(
        reference=new_reference(), round_id=round_.id, street_id=street.id, activity="Barbecue",
        activity_date=dt.date(2026, 6, 1), expected_participants=30, amount_cents=asked,
        status=status, awarded_cents=awarded,
        payout_code=new_payout_code() if awarded is not None else None,
    )  # fmt: skip
    session.add(item)
    await session.flush()
    return item


@pytest.fixture
async def world(session: AsyncSession) -> dict[str, object]:
    org = await f.organisation(session)
    a = await f.area(session, org, "Delfshaven")
    b = await f.area(session, org, "Charlois")
    c = await f.area(session, org, "Noord")
    a1 = await f.street(session, org, a, "Bellamystraat")
    a2 = await f.street(session, org, a, "Snellemanstraat")
    a3 = await f.street(session, org, a, "Tidemanstraat", liefleed=False)
    b1 = await f.street(session, org, b, "Verboomstraat", status=StreetStatus.PENDING)
    b2 = await f.street(session, org, b, "Wolphaertsbocht", status=StreetStatus.INACTIVE)
    spring = await f.round_(session, org)
    other = await f.round_(session, org, name="Zomerronde")

    await _request(session, spring, a1, S.APPROVED, 20000, 20000)
    await _request(session, spring, a1, S.WITHDRAWN, 10000)
    await _request(session, spring, a2, S.PARTLY_APPROVED, 25000, 15000)
    await _request(session, spring, a3, S.REPORTED, 10000, 7500)
    await _request(session, spring, b1, S.SUBMITTED, 12000)
    await _request(session, spring, b1, S.REJECTED, 9000)
    await _request(session, spring, b2, S.PAID, 18000, 18000)
    # Another round, which the spring overview must not count.
    await _request(session, other, a1, S.APPROVED, 5000, 5000)
    return {"org": org, "a": a, "b": b, "c": c, "spring": spring, "other": other,
            "streets": (a1, a2, a3, b1, b2)}  # fmt: skip


async def test_round_overview_counts_and_sums_by_status_and_area(
    session: AsyncSession, world: dict[str, object]
) -> None:
    spring, a, b, c = world["spring"], world["a"], world["b"], world["c"]
    assert isinstance(spring, Round)
    view = await round_overview(session, round_id=spring.id)

    assert view.by_status == {
        S.SUBMITTED: Figures(1, 12000, 0, 0),
        S.APPROVED: Figures(1, 20000, 20000, 0),
        S.PARTLY_APPROVED: Figures(1, 25000, 15000, 0),
        S.REJECTED: Figures(1, 9000, 0, 0),
        S.WITHDRAWN: Figures(1, 10000, 0, 0),
        S.PAID: Figures(1, 18000, 18000, 18000),
        S.REPORTED: Figures(1, 10000, 7500, 7500),
    }
    assert view.total == Figures(7, 104000, 60500, 25500)
    assert view.to_review == 1
    assert view.names["nl"] == "Voorjaarsronde"

    # Every area of the organisation, by name, also one without requests.
    assert [(x.area_id, x.area_name) for x in view.by_area] == [
        (b.id, "Charlois"),  # type: ignore[attr-defined]
        (a.id, "Delfshaven"),  # type: ignore[attr-defined]
        (c.id, "Noord"),  # type: ignore[attr-defined]
    ]
    charlois, delfshaven, noord = view.by_area
    assert delfshaven.total == Figures(4, 65000, 42500, 7500)
    assert delfshaven.by_status[S.PARTLY_APPROVED] == Figures(1, 25000, 15000, 0)
    assert delfshaven.by_status[S.SUBMITTED] == Figures()
    assert charlois.total == Figures(3, 39000, 18000, 18000)
    assert noord.total == Figures()
    assert sum((x.total for x in view.by_area), Figures()) == view.total


async def test_area_filter_hides_other_areas(
    session: AsyncSession, world: dict[str, object]
) -> None:
    spring, b = world["spring"], world["b"]
    assert isinstance(spring, Round) and isinstance(b, Area)
    view = await round_overview(session, round_id=spring.id, area_ids={b.id})

    assert [x.area_name for x in view.by_area] == ["Charlois"]
    assert view.total == Figures(3, 39000, 18000, 18000)
    assert view.by_status[S.APPROVED] == Figures()
    assert view.by_status[S.SUBMITTED] == Figures(1, 12000, 0, 0)

    nothing = await round_overview(session, round_id=spring.id, area_ids=set())
    assert nothing.by_area == []
    assert nothing.total == Figures()


async def test_area_of_another_organisation_shows_nothing(
    session: AsyncSession, world: dict[str, object]
) -> None:
    spring = world["spring"]
    assert isinstance(spring, Round)
    elsewhere = await f.organisation(session, "schiedam")
    foreign = await f.area(session, elsewhere, "Nieuwland")
    view = await round_overview(session, round_id=spring.id, area_ids={foreign.id})
    assert view.by_area == []
    assert view.total == Figures()


async def test_unknown_round_is_not_found(session: AsyncSession) -> None:
    with pytest.raises(NotFound) as caught:
        await round_overview(session, round_id=999_999)
    assert caught.value.key == "round.not_found"


async def _pot(
    session: AsyncSession, street: Street, year: int, costs: list[int], amount: int = 15000
) -> LiefLeedPot:
    pot = LiefLeedPot(street_id=street.id, year=year, amount_cents=amount)
    session.add(pot)
    await session.flush()
    for cost in costs:
        session.add(
            Attention(
                pot_id=pot.id, occasion="illness", occasion_type=OccasionType.LEED,
                kind=AttentionKind.VISIT if cost == 0 else AttentionKind.FLOWERS,
                cost_cents=cost, given_on=dt.date(year, 3, 1), house_number="12",
            )
        )  # fmt: skip
    await session.flush()
    return pot


async def test_liefleed_spending_per_area(session: AsyncSession, world: dict[str, object]) -> None:
    org, a, b = world["org"], world["a"], world["b"]
    assert isinstance(org, Organisation) and isinstance(a, Area) and isinstance(b, Area)
    a1, a2, a3, b1, b2 = world["streets"]  # type: ignore[misc]
    # a1: active Lief & Leed with a pot; a2: active Lief & Leed without a pot yet (counts the
    # organisation's €150); a3 no theme; b1 pending (not yet a Lief & Leed street); b2 stopped
    # but spent from this year's pot; a pot of last year is not counted.
    await _pot(session, a1, 2026, [2500, 0])
    await _pot(session, a1, 2025, [999])
    await _pot(session, b2, 2026, [1000], amount=10000)

    result = await liefleed_spending(session, organisation_id=org.id, year=2026)
    rows = {x.area_name: x for x in result.by_area}
    assert list(rows) == ["Charlois", "Delfshaven", "Noord"]
    delfshaven, charlois, noord = rows["Delfshaven"], rows["Charlois"], rows["Noord"]
    assert (delfshaven.streets, delfshaven.attentions, delfshaven.spent_cents) == (2, 2, 2500)
    assert delfshaven.pot_cents == 30000
    assert delfshaven.left_cents == 27500
    assert (charlois.streets, charlois.attentions, charlois.spent_cents) == (1, 1, 1000)
    assert charlois.pot_cents == 10000
    assert (noord.streets, noord.attentions, noord.spent_cents, noord.pot_cents) == (0, 0, 0, 0)
    assert (result.total.streets, result.total.attentions, result.total.spent_cents) == (3, 3, 3500)

    last_year = await liefleed_spending(session, organisation_id=org.id, year=2025)
    assert last_year.total.attentions == 1
    assert last_year.total.spent_cents == 999

    only_a = await liefleed_spending(session, organisation_id=org.id, year=2026, area_ids={a.id})
    assert [x.area_name for x in only_a.by_area] == ["Delfshaven"]
    assert only_a.total.spent_cents == 2500
    none = await liefleed_spending(session, organisation_id=org.id, year=2026, area_ids=set())
    assert none.by_area == []
    assert b1.status is StreetStatus.PENDING and a3.theme_liefleed is False
    assert a2.theme_liefleed is True
