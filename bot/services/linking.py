"""One person, two chat apps: link a second chat address (WhatsApp and Telegram, say) with a code.

In the first app the person asks for a code (:func:`new_link_code`, valid
:data:`CODE_MINUTES` minutes, one per person); in the second app they type it
(:func:`redeem_link_code`): the second app's address then belongs to the first person, and the
person made by the second app's first contact is removed (it may own nothing yet: a street, a
role, a request or an attention would be lost). Deliveries go to the preferred address
(:func:`set_preferred`) and fall back to another reachable one.

Error keys (``bot.errors`` type, key, parameters):

- ``InvalidInput("street.code_unknown")``: no such code, or it expired (the same sentence as a
  wrong invite code: nobody learns which codes exist).
- ``Conflict("link.same_person")``: the code is this person's own.
- ``Conflict("link.has_data")``: this chat's person already has streets, roles or requests.
- ``NotFound("link.identity_unknown")``: not one of the person's addresses.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Conflict, InvalidInput, NotFound
from bot.models import (
    Attention,
    BudgetRequest,
    ChannelIdentity,
    LinkCode,
    Person,
    RoleGrant,
    StreetMembership,
    utcnow,
)
from bot.services.codes import new_code, normalise_code

CODE_MINUTES = 15
CODE_LENGTH = 6


async def new_link_code(
    session: AsyncSession, *, person: Person, now: dt.datetime | None = None
) -> LinkCode:
    """A fresh code for ``person`` (an earlier one stops working)."""
    now = now or utcnow()
    await session.execute(
        delete(LinkCode).where(or_(LinkCode.person_id == person.id, LinkCode.expires_at < now))
    )
    while True:
        code = new_code(CODE_LENGTH)
        if await session.scalar(select(LinkCode.id).where(LinkCode.code == code)) is None:
            break
    item = LinkCode(
        code=code, person_id=person.id, expires_at=now + dt.timedelta(minutes=CODE_MINUTES)
    )
    session.add(item)
    await session.flush()
    return item


async def _owns_something(session: AsyncSession, person_id: int) -> bool:
    checks = (
        exists().where(RoleGrant.person_id == person_id),
        exists().where(StreetMembership.person_id == person_id),
        exists().where(BudgetRequest.requested_by_id == person_id),
        exists().where(Attention.logged_by_id == person_id),
    )
    for check in checks:
        if await session.scalar(select(check)):
            return True
    return False


async def redeem_link_code(
    session: AsyncSession,
    *,
    person: Person,
    identity: ChannelIdentity,
    code: str,
    now: dt.datetime | None = None,
) -> Person:
    """Move ``identity`` (the chat typing the code) to the code's person; returns that person.
    The chat's own person is removed when it has no other address left."""
    now = now or utcnow()
    item = await session.scalar(select(LinkCode).where(LinkCode.code == normalise_code(code)))
    if item is None or item.expires_at < now:
        raise InvalidInput("street.code_unknown")
    if item.person_id == person.id:
        raise Conflict("link.same_person")
    if await _owns_something(session, person.id):
        raise Conflict("link.has_data")
    target = await session.get(Person, item.person_id)
    if target is None or target.organisation_id != person.organisation_id:
        raise InvalidInput("street.code_unknown")
    await session.delete(item)
    old_person_id = person.id
    identity.person = target
    identity.preferred = False  # the first app stays where messages go, until changed
    await session.flush()
    others = await session.scalar(
        select(ChannelIdentity.id).where(ChannelIdentity.person_id == old_person_id).limit(1)
    )
    if others is None:
        # A statement, not session.delete: the turn under way still holds this person.
        await session.execute(delete(Person).where(Person.id == old_person_id))
    await session.flush()
    return target


async def set_preferred(session: AsyncSession, *, person: Person, identity_id: int) -> None:
    """Deliveries go to this address first (the others stay as fallback)."""
    mine = (
        await session.scalars(
            select(ChannelIdentity.id).where(ChannelIdentity.person_id == person.id)
        )
    ).all()
    if identity_id not in mine:
        raise NotFound("link.identity_unknown")
    await session.execute(
        update(ChannelIdentity)
        .where(ChannelIdentity.person_id == person.id)
        .values(preferred=ChannelIdentity.id == identity_id)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
