"""Write to the audit log: approvals, redemptions, exports and deletions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, Person


async def record(
    session: AsyncSession,
    *,
    actor: Person | None,
    action: str,
    object_type: str,
    object_id: int | None,
    organisation_id: int | None = None,
    **details: Any,
) -> AuditEntry:
    entry = AuditEntry(
        organisation_id=organisation_id
        if organisation_id is not None
        else (actor.organisation_id if actor else None),
        actor_person_id=actor.id if actor else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
    )
    session.add(entry)
    await session.flush()
    return entry
