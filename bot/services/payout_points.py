"""Where awarded money is cashed: the payout points (uitbetaaladressen) serving a street."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import PayoutPoint, Street


async def payout_points_for_street(session: AsyncSession, street: Street) -> list[PayoutPoint]:
    """The points of the street's area; when the area has none, the organisation's points that
    serve every area (those without an area)."""
    base = select(PayoutPoint).where(PayoutPoint.organisation_id == street.organisation_id)
    order = (PayoutPoint.name, PayoutPoint.id)
    points = list(
        await session.scalars(base.where(PayoutPoint.area_id == street.area_id).order_by(*order))
    )
    if not points:
        points = list(
            await session.scalars(base.where(PayoutPoint.area_id.is_(None)).order_by(*order))
        )
    return points
