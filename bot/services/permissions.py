"""Who may act on what: gangmakers on their own streets, leaders on their areas, theme leads on
the streets with their theme (in every area), payout points only on payouts, admins on
everything in their organisation.

A project leader's reach is a :class:`LeaderScope` (:func:`leader_scope`): the streets of the
areas they lead plus the streets with a theme they lead. Services filter with
:meth:`LeaderScope.streets` (SQL) and check one street with :func:`require_leader_of_street`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotAllowed
from bot.models import Person, Role, Street, StreetMembership, Theme

THEME_COLUMNS = {
    Theme.LIEFLEED: Street.theme_liefleed,
    Theme.GREEN: Street.theme_green,
    Theme.CLEAN: Street.theme_clean,
}


def is_admin(person: Person) -> bool:
    return person.has_role(Role.ADMIN)


def leader_area_ids(person: Person) -> set[int]:
    return {g.area_id for g in person.roles if g.role == Role.LEADER and g.area_id is not None}


def lead_themes(person: Person) -> set[Theme]:
    """The street themes a theme lead leads (in every area)."""
    return {
        Theme(g.theme) for g in person.roles if g.role == Role.THEME_LEAD and g.theme is not None
    }


def payout_point_ids(person: Person) -> set[int]:
    return {
        g.payout_point_id
        for g in person.roles
        if g.role == Role.PAYOUT and g.payout_point_id is not None
    }


def is_leader(person: Person) -> bool:
    """An admin, a leader of an area or a theme lead: a project leader of some streets."""
    return is_admin(person) or bool(leader_area_ids(person)) or bool(lead_themes(person))


def require_leader(person: Person) -> None:
    if not is_leader(person):
        raise NotAllowed("perm.not_leader")


def street_has_theme(street: Street, theme: Theme) -> bool:
    return bool(getattr(street, THEME_COLUMNS[theme].key))


@dataclass(frozen=True)
class LeaderScope:
    """The streets a project leader oversees: all of the organisation (``everything``, an
    admin), or those in ``area_ids`` plus those with one of ``themes``. Empty: none."""

    organisation_id: int
    everything: bool = False
    area_ids: frozenset[int] = frozenset()
    themes: frozenset[Theme] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.everything or self.area_ids or self.themes)

    @property
    def whole_areas(self) -> frozenset[int] | None:
        """The areas seen whole (every street in them): None means every area is seen at
        least in part (an admin, or a theme lead whose theme runs through all areas)."""
        if self.everything or self.themes:
            return None
        return self.area_ids

    def covers(self, street: Street) -> bool:
        if street.organisation_id != self.organisation_id:
            return False
        if self.everything or street.area_id in self.area_ids:
            return True
        return any(street_has_theme(street, theme) for theme in self.themes)

    def streets(self) -> ColumnElement[bool]:
        """A SQL condition on :class:`Street` (its organisation included)."""
        return and_(Street.organisation_id == self.organisation_id, self._reach())

    def _reach(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        parts: list[ColumnElement[bool]] = []
        if self.area_ids:
            parts.append(Street.area_id.in_(sorted(self.area_ids)))
        parts += [THEME_COLUMNS[theme].is_(True) for theme in sorted(self.themes)]
        return or_(*parts) if parts else false()


def leader_scope(person: Person) -> LeaderScope:
    return LeaderScope(
        organisation_id=person.organisation_id,
        everything=is_admin(person),
        area_ids=frozenset(leader_area_ids(person)),
        themes=frozenset(lead_themes(person)),
    )


def can_lead_area(person: Person, area_id: int) -> bool:
    """The whole area: an admin or the area's leader (a theme lead leads only some of its
    streets, see :func:`can_lead_street`)."""
    return is_admin(person) or area_id in leader_area_ids(person)


def require_leader_of(person: Person, area_id: int) -> None:
    if not can_lead_area(person, area_id):
        raise NotAllowed("perm.not_leader_of_area")


def can_lead_street(person: Person, street: Street) -> bool:
    """A leader of the street's area, a lead of one of its themes, or an admin (all of the
    person's own organisation)."""
    return leader_scope(person).covers(street)


def require_leader_of_street(person: Person, street: Street) -> None:
    if not can_lead_street(person, street):
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
