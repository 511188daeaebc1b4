"""Who may act on what: gangmakers on their own streets, leaders on their areas,
payout points only on payouts, admins on everything in their organisation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotAllowed
from bot.models import Person, Role, Street, StreetMembership


def is_admin(person: Person) -> bool:
    return person.has_role(Role.ADMIN)


def leader_area_ids(person: Person) -> set[int]:
    return {g.area_id for g in person.roles if g.role == Role.LEADER and g.area_id is not None}


def payout_point_ids(person: Person) -> set[int]:
    return {
        g.payout_point_id
        for g in person.roles
        if g.role == Role.PAYOUT and g.payout_point_id is not None
    }


def can_lead_area(person: Person, area_id: int) -> bool:
    return is_admin(person) or area_id in leader_area_ids(person)


def require_leader_of(person: Person, area_id: int) -> None:
    if not can_lead_area(person, area_id):
        raise NotAllowed("perm.not_leader_of_area")


def require_payout_point(person: Person) -> set[int]:
    points = payout_point_ids(person)
    if not points and not is_admin(person):
        raise NotAllowed("perm.not_payout_point")
    return points


async def is_gangmaker_of(session: AsyncSession, person: Person, street_id: int) -> bool:
    found = await session.scalar(
        select(StreetMembership.id).where(
            StreetMembership.person_id == person.id,
            StreetMembership.street_id == street_id,
            StreetMembership.is_gangmaker.is_(True),
        )
    )
    return found is not None


async def require_gangmaker_of(session: AsyncSession, person: Person, street: Street) -> None:
    if street.organisation_id != person.organisation_id or not await is_gangmaker_of(
        session, person, street.id
    ):
        raise NotAllowed("perm.not_your_street")
