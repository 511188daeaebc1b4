"""Signals: a gangmaker passes on a concern about a neighbour to the area's welfare contact.

The street stays in charge; the welfare worker is a sounding board. So a signal carries the
least data that works: the kind of concern, the street, a house number if given, a short note
(no names) and whether the neighbour agreed. It reaches the welfare contact as one chat message
through the outbox (``bot/services/notify.py``) and is deleted after :data:`KEEP_DAYS` days by
the retention job. The gangmaker gets an acknowledgement, never a case file: there is no way
to list or read signals back in the chat.

Error keys raised here (with their parameters):

- ``NotFound("signal.no_welfare_contact")``: the street's area has no welfare contact (nothing
  is stored).
- ``InvalidInput("signal.concern_unknown")``: not one of :data:`CONCERNS`.
- ``NotAllowed("signal.not_your_street")``: the actor is no gangmaker of the street.
- ``InvalidInput("liefleed.house_number_invalid")`` / ``InvalidInput("liefleed.note_too_long",
  max=140)``: the same checks as Lief & Leed entries.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import LazyText, Translator, lazy
from bot.models import Area, Channel, Organisation, Person, Signal, Street, StreetMembership, utcnow
from bot.services import audit, notify, people
from bot.services.liefleed import validate_house_number, validate_note
from bot.services.privacy import signal_delivery_key

KEEP_DAYS = 90

# The kinds of concern, in the order shown; the words are rows (at most 24 characters).
CONCERNS: dict[str, LazyText] = {
    "loneliness": lazy.pgettext("row", "Loneliness"),
    "illness": lazy.pgettext("row", "Illness"),
    "dementia": lazy.pgettext("row", "Maybe dementia"),
    "neglect": lazy.pgettext("row", "Neglect"),
    "money": lazy.pgettext("row", "Money worries"),
    "other": lazy.pgettext("row", "Something else"),
}


async def welfare_contact_for(session: AsyncSession, street: Street) -> Person | None:
    """The welfare contact of the street's area, or None."""
    area = await session.get(Area, street.area_id)
    if area is None or area.welfare_contact_id is None:
        return None
    return await session.get(Person, area.welfare_contact_id)


async def set_welfare_contact(
    session: AsyncSession, *, area: Area, person: Person | None, actor: Person | None = None
) -> Area:
    """An admin names the person who receives the area's signals (None: nobody)."""
    area.welfare_contact_id = person.id if person is not None else None
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="area.welfare_contact_set",
        object_type="area",
        object_id=area.id,
        organisation_id=area.organisation_id,
        area_id=area.id,
        contact_id=area.welfare_contact_id,
    )
    return area


def _message(
    t: Translator,
    *,
    concern: str,
    street: Street,
    house_number: str | None,
    note: str | None,
    agreed: bool,
) -> str:
    where = street.name + (f" {street.section}" if street.section else "")
    lines = [
        t._("A gangmaker passes on a concern about a neighbour."),
        "• " + t._("Concern: {concern}", concern=t.tr(CONCERNS[concern])),
        "• " + t._("Street: {street}", street=where),
    ]
    if house_number:
        lines.append("• " + t._("House number: {number}", number=house_number))
    lines.append(
        "• "
        + (t._("The neighbour agreed.") if agreed else t._("The neighbour did not agree (yet)."))
    )
    if note:
        lines.append("• " + t._("Note: {note}", note=note))
    lines.append(t._("Please contact the street's project leader if you want to follow it up."))
    return "\n".join(lines)


async def pass_on_signal(
    session: AsyncSession,
    *,
    actor: Person,
    street_id: int,
    concern: str,
    neighbour_agreed: bool,
    house_number: str | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> Signal:
    """Store the signal and queue its message to the area's welfare contact."""
    now = now or utcnow()
    if concern not in CONCERNS:
        raise InvalidInput("signal.concern_unknown")
    street = await session.get(Street, street_id)
    member = await session.scalar(
        select(StreetMembership.id).where(
            StreetMembership.street_id == street_id,
            StreetMembership.person_id == actor.id,
            StreetMembership.is_gangmaker.is_(True),
        )
    )
    if street is None or street.organisation_id != actor.organisation_id or member is None:
        raise NotAllowed("signal.not_your_street")
    contact = await welfare_contact_for(session, street)
    if contact is None:
        raise NotFound("signal.no_welfare_contact")
    house_number = validate_house_number(house_number)
    note = validate_note(note)
    signal = Signal(
        organisation_id=street.organisation_id,
        area_id=street.area_id,
        street_id=street.id,
        reported_by_id=actor.id,
        sent_to_id=contact.id,
        concern=concern,
        house_number=house_number,
        note=note,
        neighbour_agreed=neighbour_agreed,
        created_at=now,
    )
    session.add(signal)
    await session.flush()
    await notify.notify(
        session,
        person=contact,
        key=signal_delivery_key(signal.id),
        text=lambda t: _message(
            t,
            concern=concern,
            street=street,
            house_number=house_number,
            note=note,
            agreed=neighbour_agreed,
        ),
        now=now,
    )
    # The audit says that a signal went, never about whom or what.
    await audit.record(
        session, actor=actor, action="signal.sent", object_type="signal", object_id=signal.id
    )
    return signal


async def set_welfare_contact_by_address(
    session: AsyncSession,
    *,
    organisation_slug: str,
    area_name: str,
    channel: str,
    address: str | None,
    first_name: str | None = None,
    language: str = "nl",
    clear: bool = False,
) -> str:
    """For operators (``gangmaker areas set-welfare-contact``): make the person behind a chat
    address (created when new, with consent: the organisation arranges it with them) the
    area's welfare contact. Raises ``LookupError`` with a sentence for the operator."""
    org = await session.scalar(select(Organisation).where(Organisation.slug == organisation_slug))
    if org is None:
        raise LookupError(f"no organisation {organisation_slug!r}")
    area = await session.scalar(
        select(Area).where(
            Area.organisation_id == org.id, func.lower(Area.name) == area_name.strip().lower()
        )
    )
    if area is None:
        raise LookupError(f"no area {area_name!r} in {organisation_slug}")
    if clear:
        await set_welfare_contact(session, area=area, person=None)
        return f"{area.name}: no welfare contact"
    if not address:
        raise LookupError("give --address (or --clear)")
    person, _identity, is_new = await people.identify(
        session, organisation=org, channel=Channel(channel), address=address
    )
    if is_new:
        person.first_name = first_name
        await people.set_language(session, person, language=language)
        await people.give_consent(session, person)
    await set_welfare_contact(session, area=area, person=person)
    return f"{area.name}: welfare contact is {channel}:{address}" + (" (new)" if is_new else "")
