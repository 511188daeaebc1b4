"""Assisted mode: a resident uses their own phone to do something for a neighbour.

A session says "this chat acts for person X, in language L, until 15 minutes after its last
message". While it runs, the conversation runtime hands every dialog the neighbour as
``ctx.person`` (so the dialog's rules, texts and language are the neighbour's) and the helper
as ``ctx.acting.helper``. It ends when the task is finished (the dialog goes back to the menu),
on "klaar" (:data:`bot.conversation.words.Command.DONE`), or after :data:`IDLE_LIMIT` without a
message (noticed on the next message, or by the retention job).

Recording: the neighbour is a :class:`Person` with initials only (at most 3 letters), a house
number and a language, and no chat identity. Every row created during the session that has a
``helped_by_id`` column gets the helper's id (a ``before_flush`` hook, so services need no
change), and every audit entry gets ``helped_by`` in its details. ``assisted.started`` and
``assisted.ended`` (with the ids of the rows made) complete the audit trail.

A dialog that should work in assisted mode: add its name to ``ASSISTED_TASKS`` in
``handlers/assisted.py``; give the rows it creates a nullable ``helped_by_id`` column (foreign
key to ``person.id``, ``ondelete="SET NULL"``, and a line in ``bot/services/privacy.py``).

Error keys raised here (with their parameters):

- ``InvalidInput("assisted.initials_invalid", max=3)``: no letters, digits or symbols, or
  more than three parts.
- ``InvalidInput("assisted.house_number_needed")``: the house number was left empty.
- ``InvalidInput("liefleed.house_number_invalid")``: not shaped like a house number.
- ``InvalidInput("person.unknown_language", language=..., known=[...])``.
- ``NotAllowed("assisted.no_agreement")``: the neighbour did not agree.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, event, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.config import SHIPPED_LANGUAGES
from bot.errors import InvalidInput, NotAllowed
from bot.models import AssistedSession, AuditEntry, Base, ChannelIdentity, Person, utcnow
from bot.services import audit
from bot.services.liefleed import validate_house_number

IDLE_LIMIT = dt.timedelta(minutes=15)
INITIALS_MAX = 3
# Where the runtime keeps the running session for the services' hook (AsyncSession.info).
INFO_KEY = "assisted"

_PARTS = re.compile(r"[\s.\-_/]+")


@dataclass
class Acting:
    """The running session of one chat: who helps, for whom, in which language, until when."""

    session_id: int
    helper: Person
    person: Person
    language: str
    started_at: dt.datetime
    last_active_at: dt.datetime
    # The neighbour asked (through the helper) to be forgotten: done when the session ends.
    forget: bool = False

    @property
    def initials(self) -> str:
        return self.person.first_name or "?"

    @property
    def until(self) -> dt.datetime:
        return self.last_active_at + IDLE_LIMIT


def clean_initials(text: str | None) -> str:
    """Initials from what was typed: "A.B." -> "AB", "Ahmed" -> "A", "ahmed bakr" -> "AB"."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    parts = [p for p in _PARTS.split(cleaned) if p]
    if not parts or len(parts) > INITIALS_MAX:
        raise InvalidInput("assisted.initials_invalid", max=INITIALS_MAX)
    if len(parts) == 1 and 1 < len(parts[0]) <= INITIALS_MAX and parts[0].isupper():
        parts = list(parts[0])  # "AB" typed as capitals: already initials
    letters = []
    for part in parts:
        if len(part) > 40 or not all(unicodedata.category(ch).startswith("L") for ch in part):
            raise InvalidInput("assisted.initials_invalid", max=INITIALS_MAX)
        letters.append(part[0].upper())
    return "".join(letters)[:INITIALS_MAX]


async def _find_neighbour(
    session: AsyncSession, *, helper: Person, initials: str, house_number: str
) -> Person | None:
    """The neighbour this helper helped before (same initials and house number)."""
    helped = select(AuditEntry.object_id).where(
        AuditEntry.action == "assisted.started",
        AuditEntry.actor_person_id == helper.id,
        AuditEntry.object_type == "person",
    )
    has_identity = select(ChannelIdentity.id).where(ChannelIdentity.person_id == Person.id)
    return await session.scalar(
        select(Person)
        .where(
            Person.organisation_id == helper.organisation_id,
            Person.first_name == initials,
            Person.house_number == house_number,
            Person.id.in_(helped),
            ~has_identity.exists(),
        )
        .order_by(Person.id.desc())
        .limit(1)
    )


async def start_session(
    session: AsyncSession,
    *,
    helper: Person,
    identity: ChannelIdentity,
    initials: str,
    house_number: str | None,
    language: str,
    agreed: bool,
    now: dt.datetime | None = None,
) -> Acting:
    """Start acting for a neighbour on the helper's chat (a running one is ended first)."""
    now = now or utcnow()
    if not agreed:
        raise NotAllowed("assisted.no_agreement")
    initials = clean_initials(initials)
    house = validate_house_number(house_number)
    if house is None:
        raise InvalidInput("assisted.house_number_needed")
    house = house.lower()  # "12A" and "12a" are the same door
    if language not in SHIPPED_LANGUAGES:
        raise InvalidInput(
            "person.unknown_language", language=language, known=list(SHIPPED_LANGUAGES)
        )
    old = await session.scalar(
        select(AssistedSession).where(AssistedSession.identity_id == identity.id)
    )
    if old is not None:
        await end_session(session, old, reason="replaced", now=now)

    neighbour = await _find_neighbour(session, helper=helper, initials=initials, house_number=house)
    if neighbour is None:
        neighbour = Person(
            organisation_id=helper.organisation_id,
            first_name=initials,
            house_number=house,
            language=language,
            consent_at=now,  # the helper confirmed that the neighbour agreed
            roles=[],
            identities=[],
        )
        session.add(neighbour)
    neighbour.language = language
    neighbour.consent_at = now
    await session.flush()
    row = AssistedSession(
        identity_id=identity.id,
        helper_id=helper.id,
        person_id=neighbour.id,
        language=language,
        started_at=now,
        last_active_at=now,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=helper,
        action="assisted.started",
        object_type="person",
        object_id=neighbour.id,
        session_id=row.id,
        language=language,
        agreed=True,
    )
    acting = Acting(row.id, helper, neighbour, language, now, now)
    session.info[INFO_KEY] = acting
    return acting


def _helped_tables() -> list[Table]:
    return [t for t in Base.metadata.tables.values() if "helped_by_id" in t.c]


async def end_session(
    session: AsyncSession, row: AssistedSession, *, reason: str, now: dt.datetime | None = None
) -> dict[str, list[int]]:
    """End a session: audit what was made in it (ids per table), then delete the row."""
    now = now or utcnow()
    made: dict[str, list[int]] = {}
    for table in _helped_tables():
        query = select(table.c.id).where(table.c.helped_by_id == row.helper_id)
        if "created_at" in table.c:
            query = query.where(table.c.created_at >= row.started_at)
        ids = sorted(await session.scalars(query))
        if ids:
            made[table.name] = ids
    entry = await audit.record(
        session,
        actor=None,
        action="assisted.ended",
        object_type="person",
        object_id=row.person_id,
        organisation_id=await session.scalar(
            select(Person.organisation_id).where(Person.id == row.helper_id)
        ),
        reason=reason,
        session_id=row.id,
        made=made,
    )
    entry.actor_person_id = row.helper_id
    await session.execute(delete(AssistedSession).where(AssistedSession.id == row.id))
    acting = session.info.get(INFO_KEY)
    if isinstance(acting, Acting) and acting.session_id == row.id:
        session.info.pop(INFO_KEY, None)
    await session.flush()
    await _forget_if_unused(session, person_id=row.person_id, helper_id=row.helper_id, now=now)
    return made


# Tables that do not count as "something of the neighbour is still in use".
_NOT_USE = ("person", "audit_log", "assisted_session", "channel_identity")


async def _forget_if_unused(
    session: AsyncSession, *, person_id: int, helper_id: int, now: dt.datetime
) -> bool:
    """A neighbour (no chat of their own) of whom nothing is left in use — e.g. their street
    news was stopped, or nothing was done — is deleted with the privacy rules: least data."""
    from bot.services import privacy

    person = await session.get(Person, person_id)
    if person is None or person.id == helper_id:
        return False
    has_identity = await session.scalar(
        select(ChannelIdentity.id).where(ChannelIdentity.person_id == person_id).limit(1)
    )
    if has_identity is not None:
        return False
    for name, table in privacy.tables().items():
        rule = privacy.RULES.get(name)
        if rule is None or name in _NOT_USE:
            continue
        for column in (*rule.delete, *rule.nullify):
            found = await session.scalar(
                select(table.c[column]).where(table.c[column] == person_id).limit(1)
            )
            if found is not None:
                return False
    await privacy.forget_person(
        session, person, actor=await session.get(Person, helper_id), now=now
    )
    return True


async def end(session: AsyncSession, acting: Acting, *, reason: str, now: dt.datetime) -> None:
    """End the chat's session; with ``acting.forget`` the neighbour's rows then go by the
    privacy rules (``person.deleted`` with the helper as actor)."""
    from bot.services import privacy

    row = await session.get(AssistedSession, acting.session_id)
    if row is not None:
        await end_session(session, row, reason="forgotten" if acting.forget else reason, now=now)
    session.info.pop(INFO_KEY, None)
    if acting.forget:
        person = await session.get(Person, acting.person.id)
        if person is not None:  # not already gone with the session (nothing else was left)
            await privacy.forget_person(session, person, actor=acting.helper, now=now)


async def resume(
    session: AsyncSession, *, identity: ChannelIdentity, now: dt.datetime
) -> tuple[Acting | None, str | None]:
    """The chat's running session, touched (``(acting, None)``); or ``(None, initials)`` when
    it had been idle too long and is ended now; or ``(None, None)``."""
    row = await session.scalar(
        select(AssistedSession).where(AssistedSession.identity_id == identity.id)
    )
    if row is None:
        return None, None
    person = await session.get(Person, row.person_id)
    helper = await session.get(Person, row.helper_id)
    if person is None or helper is None or now - row.last_active_at > IDLE_LIMIT:
        initials = person.first_name if person is not None else "?"
        await end_session(session, row, reason="idle", now=now)
        return None, initials or "?"
    row.last_active_at = now
    acting = Acting(row.id, helper, person, row.language, row.started_at, now)
    session.info[INFO_KEY] = acting
    return acting, None


@cache
def has_session() -> ColumnElement[bool]:
    """True when :func:`resume` would find a session for the chat, as an expression on
    :class:`ChannelIdentity` (an indexed EXISTS the runtime evaluates inside its first query,
    so a chat that acts for nobody pays no statement of its own; one object, so a query
    built with it can be reused)."""
    return exists().where(AssistedSession.identity_id == ChannelIdentity.id)


async def end_idle_sessions(session: AsyncSession, *, now: dt.datetime | None = None) -> int:
    """End every session idle for longer than :data:`IDLE_LIMIT` (the retention job)."""
    now = now or utcnow()
    rows = list(
        await session.scalars(
            select(AssistedSession).where(AssistedSession.last_active_at < now - IDLE_LIMIT)
        )
    )
    for row in rows:
        await end_session(session, row, reason="idle", now=now)
    return len(rows)


@event.listens_for(Session, "before_flush")
def _record_helper(session: Session, flush_context: Any, instances: Any) -> None:
    """While a session acts for someone, new rows carry the helper (``helped_by_id``) and new
    audit entries say ``helped_by``."""
    acting = session.info.get(INFO_KEY)
    if not isinstance(acting, Acting):
        return
    helper_id = acting.helper.id
    for obj in session.new:
        if isinstance(obj, AuditEntry):
            if obj.action not in ("assisted.started", "assisted.ended"):
                obj.details = {**(obj.details or {}), "helped_by": helper_id}
        elif hasattr(obj, "helped_by_id") and obj.helped_by_id is None:
            obj.helped_by_id = helper_id
