"""Overviews for project leaders: what happened in a round, and Lief & Leed spending per area.

Everything is counted in the database with ``GROUP BY``; Python only arranges the few grouped
rows (areas x statuses), so the cost does not grow with the number of requests in Python.

Permissions are the caller's: pass ``scope`` (:func:`bot.services.permissions.leader_scope`:
a leader's areas and a theme lead's themes; an admin's covers everything), or only
``area_ids`` (``None`` meaning every area). An empty set or scope shows nothing. With a theme
in the scope every area is listed, counting only the streets the scope reaches.

Error keys (``bot.errors`` type, key, parameters):

- ``NotFound("round.not_found")``: no round with this id.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFound
from bot.models import (
    Area,
    Attention,
    BudgetRequest,
    LiefLeedPot,
    Organisation,
    RequestStatus,
    Round,
    Street,
    StreetStatus,
)
from bot.services.permissions import LeaderScope

S = RequestStatus
# Statuses in which an amount was awarded (and counts as awarded), and in which it was cashed.
AWARDED_STATUSES = (S.APPROVED, S.PARTLY_APPROVED, S.PAID, S.REPORTED)
PAID_STATUSES = (S.PAID, S.REPORTED)


@dataclass(frozen=True)
class Figures:
    """Requests counted, and their sums in cents: asked, awarded (approved, partly approved,
    paid or reported) and paid out (paid or reported)."""

    count: int = 0
    asked_cents: int = 0
    awarded_cents: int = 0
    paid_cents: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.count + other.count,
            self.asked_cents + other.asked_cents,
            self.awarded_cents + other.awarded_cents,
            self.paid_cents + other.paid_cents,
        )


@dataclass(frozen=True)
class AreaFigures:
    area_id: int
    area_name: str
    total: Figures
    # Every status, in life-cycle order, zero where there are none.
    by_status: dict[RequestStatus, Figures]


@dataclass(frozen=True)
class RoundOverview:
    round_id: int
    organisation_id: int
    year: int
    names: dict[str, str]
    max_amount_cents: int
    # Every status, in life-cycle order, zero where there are none.
    by_status: dict[RequestStatus, Figures]
    # Every visible area, by name, also those without requests.
    by_area: list[AreaFigures]
    total: Figures

    @property
    def to_review(self) -> int:
        return self.by_status[S.SUBMITTED].count


def _empty_statuses() -> dict[RequestStatus, Figures]:
    return dict.fromkeys(RequestStatus, Figures())


def _reach(
    area_ids: Collection[int] | None, scope: LeaderScope | None
) -> tuple[Collection[int] | None, Any]:
    """(the areas listed, None for all; a condition on Street or None) for the caller's view."""
    if scope is None:
        return area_ids, None
    return scope.whole_areas, None if scope.everything else scope.streets()


async def round_overview(
    session: AsyncSession,
    *,
    round_id: int,
    area_ids: Collection[int] | None = None,
    scope: LeaderScope | None = None,
) -> RoundOverview:
    """Requests of one round by status and by area: counts, asked, awarded and paid cents."""
    round_ = await session.get(Round, round_id)
    if round_ is None:
        raise NotFound("round.not_found")
    area_ids, street_filter = _reach(area_ids, scope)

    area_query = select(Area.id, Area.name).where(Area.organisation_id == round_.organisation_id)
    if area_ids is not None:
        area_query = area_query.where(Area.id.in_(list(area_ids)) if area_ids else false())
    areas = (await session.execute(area_query.order_by(Area.name, Area.id))).all()

    grouped: Sequence[Row[tuple[int, RequestStatus, int, int, int, int]]] = []
    if areas:
        awarded = case(
            (BudgetRequest.status.in_(AWARDED_STATUSES), BudgetRequest.awarded_cents), else_=0
        )
        paid = case((BudgetRequest.status.in_(PAID_STATUSES), BudgetRequest.awarded_cents), else_=0)
        query = (
            select(
                Street.area_id,
                BudgetRequest.status,
                func.count(BudgetRequest.id),
                func.coalesce(func.sum(BudgetRequest.amount_cents), 0),
                func.coalesce(func.sum(func.coalesce(awarded, 0)), 0),
                func.coalesce(func.sum(func.coalesce(paid, 0)), 0),
            )
            .join(Street, Street.id == BudgetRequest.street_id)
            .where(BudgetRequest.round_id == round_id)
            .group_by(Street.area_id, BudgetRequest.status)
        )
        if area_ids is not None:
            query = query.where(Street.area_id.in_([area_id for area_id, _ in areas]))
        if street_filter is not None:
            query = query.where(street_filter)
        grouped = (await session.execute(query)).all()

    by_area_status: dict[int, dict[RequestStatus, Figures]] = {
        area_id: _empty_statuses() for area_id, _ in areas
    }
    by_status = _empty_statuses()
    for area_id, status, count, asked, awarded_sum, paid_sum in grouped:
        figures = Figures(int(count), int(asked), int(awarded_sum), int(paid_sum))
        by_status[status] += figures
        if area_id in by_area_status:
            by_area_status[area_id][status] += figures

    by_area = [
        AreaFigures(
            area_id=area_id,
            area_name=name,
            total=sum(by_area_status[area_id].values(), Figures()),
            by_status=by_area_status[area_id],
        )
        for area_id, name in areas
    ]
    return RoundOverview(
        round_id=round_.id,
        organisation_id=round_.organisation_id,
        year=round_.year,
        names=dict(round_.names),
        max_amount_cents=round_.max_amount_cents,
        by_status=by_status,
        by_area=by_area,
        total=sum(by_status.values(), Figures()),
    )


@dataclass(frozen=True, kw_only=True)
class Spending:
    """Lief & Leed in a year: streets, attentions paid, cents spent and the pots' total."""

    streets: int = 0
    attentions: int = 0
    spent_cents: int = 0
    pot_cents: int = 0

    @property
    def left_cents(self) -> int:
        return self.pot_cents - self.spent_cents


@dataclass(frozen=True, kw_only=True)
class AreaSpending(Spending):
    area_id: int
    area_name: str


@dataclass(frozen=True)
class LiefLeedSpending:
    organisation_id: int
    year: int
    # Every visible area, by name, also those without Lief & Leed streets.
    by_area: list[AreaSpending]
    total: Spending


async def liefleed_spending(
    session: AsyncSession,
    *,
    organisation_id: int,
    year: int,
    area_ids: Collection[int] | None = None,
    scope: LeaderScope | None = None,
) -> LiefLeedSpending:
    """Per area: the Lief & Leed streets of ``year``, their attentions and the cents spent.

    A Lief & Leed street of the year is an active street with the theme, or any street with a
    pot for that year (it may have stopped since). ``pot_cents`` adds up those pots; a street
    whose pot was not opened yet counts the organisation's yearly amount. Attentions count in
    the year of their pot. One query.
    """
    area_ids, street_filter = _reach(area_ids, scope)
    reach = [street_filter] if street_filter is not None else []
    pot = LiefLeedPot
    streets = (
        select(
            Street.area_id.label("area_id"),
            func.count(Street.id).label("streets"),
            func.sum(func.coalesce(pot.amount_cents, Organisation.liefleed_pot_cents)).label(
                "pot_cents"
            ),
        )
        .join(Organisation, Organisation.id == Street.organisation_id)
        .outerjoin(pot, and_(pot.street_id == Street.id, pot.year == year))
        .where(
            Street.organisation_id == organisation_id,
            or_(
                and_(
                    Street.theme_liefleed.is_(True),
                    Street.status == StreetStatus.ACTIVE,
                ),
                pot.id.is_not(None),
            ),
            *reach,
        )
        .group_by(Street.area_id)
        .subquery()
    )
    spent = (
        select(
            Street.area_id.label("area_id"),
            func.count(Attention.id).label("attentions"),
            func.sum(Attention.cost_cents).label("spent_cents"),
        )
        .join(pot, pot.id == Attention.pot_id)
        .join(Street, Street.id == pot.street_id)
        .where(Street.organisation_id == organisation_id, pot.year == year, *reach)
        .group_by(Street.area_id)
        .subquery()
    )
    query = (
        select(
            Area.id,
            Area.name,
            func.coalesce(streets.c.streets, 0),
            func.coalesce(spent.c.attentions, 0),
            func.coalesce(spent.c.spent_cents, 0),
            func.coalesce(streets.c.pot_cents, 0),
        )
        .outerjoin(streets, streets.c.area_id == Area.id)
        .outerjoin(spent, spent.c.area_id == Area.id)
        .where(Area.organisation_id == organisation_id)
        .order_by(Area.name, Area.id)
    )
    if area_ids is not None:
        query = query.where(Area.id.in_(list(area_ids)) if area_ids else false())
    by_area = [
        AreaSpending(
            area_id=area_id,
            area_name=name,
            streets=int(n_streets),
            attentions=int(n_attentions),
            spent_cents=int(spent_cents),
            pot_cents=int(pot_cents),
        )
        for area_id, name, n_streets, n_attentions, spent_cents, pot_cents in (
            await session.execute(query)
        ).all()
    ]
    total = Spending(
        streets=sum(a.streets for a in by_area),
        attentions=sum(a.attentions for a in by_area),
        spent_cents=sum(a.spent_cents for a in by_area),
        pot_cents=sum(a.pot_cents for a in by_area),
    )
    return LiefLeedSpending(
        organisation_id=organisation_id, year=year, by_area=by_area, total=total
    )
