"""Write to the audit log: approvals, redemptions, exports and deletions.

An entry about a street (the street itself, its request, sign-up or Lief & Leed attention)
names the street and its area (``street=``), and an entry about a whole area names the area
(``area_id=``): the leaders of that area, and the theme leads of that street's theme, read it
in the dashboard's audit log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, Person, Street


async def record(
    session: AsyncSession,
    *,
    actor: Person | None,
    action: str,
    object_type: str,
    object_id: int | None,
    organisation_id: int | None = None,
    street: Street | None = None,
    area_id: int | None = None,
    **details: Any,
) -> AuditEntry:
    if organisation_id is None:
        if street is not None:
            organisation_id = street.organisation_id
        elif actor is not None:
            organisation_id = actor.organisation_id
    entry = AuditEntry(
        organisation_id=organisation_id,
        actor_person_id=actor.id if actor else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        area_id=street.area_id if street is not None else area_id,
        street_id=street.id if street is not None else None,
        details=details,
    )
    session.add(entry)
    await session.flush()
    return entry
