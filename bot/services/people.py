"""People: who is behind a chat address, their settings, roles, and their own data.

A person is created on their first message (:func:`identify`); everything else they change
about themselves goes through the setters here, so the rules live in one place.

Error keys raised here (with their parameters):

- ``NotFound("org.unknown", slug=...)``: no organisation with that slug.
- ``InvalidInput("person.address_invalid", max=64)``: an empty or over-long channel address
  (a channel adapter bug rather than something typed, but never a bare exception).
- ``InvalidInput("person.unknown_language", language=..., known=[...])``: not a shipped
  language.
- ``InvalidInput("person.bad_time", minute=..., min=0, max=1439)``: a reminder or quiet-hours
  time outside 00:00-23:59, or quiet hours with only one end given (``minute=None``).
- ``InvalidInput("person.unknown_reminder_category", category=..., known=[...])``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, event, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, contains_eager, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from bot.config import SHIPPED_LANGUAGES
from bot.errors import InvalidInput, NotFound
from bot.models import (
    Attention,
    BudgetRequest,
    Channel,
    ChannelIdentity,
    ConversationState,
    Delivery,
    LiefLeedPot,
    Organisation,
    Person,
    Reminder,
    Role,
    RoleGrant,
    Street,
    StreetMembership,
    StreetStatus,
    utcnow,
)

# Reminder categories a person can switch off one by one (announcements are a separate STOP).
REMINDER_CATEGORIES: tuple[str, ...] = (
    "round_opened",
    "round_closing",
    "activity_tomorrow",
    "report_due",
    "payout_unredeemed",
    "liefleed_untouched",
    "check_street",
)

MAX_MINUTE = 24 * 60 - 1
ADDRESS_MAX = 64  # ChannelIdentity.address column length

# A membership of these streets makes someone a gangmaker; rejected or deactivated streets
# give no gangmaker rights (and no gangmaker menu).
_GANGMAKER_STREET_STATUSES = (StreetStatus.PENDING, StreetStatus.ACTIVE)


# --- organisations -------------------------------------------------------------------------


async def get_default_organisation(session: AsyncSession, slug: str) -> Organisation:
    """The organisation the bot runs for; organisations are created by the CLI or the demo."""
    org = await session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise NotFound("org.unknown", slug=slug)
    return org


async def ensure_organisation(session: AsyncSession, slug: str, name: str) -> Organisation:
    """Return the organisation with ``slug``, creating it with default settings if absent."""
    org = await session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        org = Organisation(slug=slug, name=name)
        session.add(org)
        await session.flush()
    return org


# --- who is writing ------------------------------------------------------------------------


def _language_from_hint(hint: str | None) -> str | None:
    """Map a client's language code ("en-GB", "nl_NL", "EN") to a shipped language or None."""
    if not hint:
        return None
    base = hint.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in SHIPPED_LANGUAGES else None


async def _find_identity(
    session: AsyncSession, channel: Channel, address: str
) -> ChannelIdentity | None:
    return await session.scalar(
        select(ChannelIdentity)
        .options(selectinload(ChannelIdentity.person))
        .where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
    )


async def identify(
    session: AsyncSession,
    *,
    organisation: Organisation,
    channel: Channel,
    address: str,
    language_hint: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Person, ChannelIdentity, bool]:
    """Find the person behind a chat address, or create them on their first message.

    Returns ``(person, identity, is_new)``. A known address keeps its person (an address
    belongs to one person in one organisation), gets ``last_inbound_at`` and is marked
    reachable again: someone who writes to us has evidently not blocked us (any more).
    A new person gets the hinted language when we ship it, else the organisation's default.
    """
    now = now or utcnow()
    address = _checked_address(address)

    identity = await _find_identity(session, channel, address)
    if identity is not None:
        await _inbound(session, identity, now)
        return identity.person, identity, False

    language = _language_from_hint(language_hint) or organisation.default_language
    person = Person(organisation_id=organisation.id, language=language, roles=[], identities=[])
    identity = ChannelIdentity(
        channel=channel, address=address, last_inbound_at=now, reachable=True, preferred=True
    )
    person.identities.append(identity)
    try:
        # Two first messages processed at once: the loser of the unique (channel, address)
        # race takes the winner's person instead of failing.
        async with session.begin_nested():
            session.add(person)
            await session.flush()
    except IntegrityError:
        existing = await _find_identity(session, channel, address)
        if existing is None:  # pragma: no cover - the constraint says it exists
            raise
        await _inbound(session, existing, now)
        return existing.person, existing, False
    return person, identity, True


def _checked_address(address: str) -> str:
    address = address.strip()
    if not address or len(address) > ADDRESS_MAX:
        raise InvalidInput("person.address_invalid", max=ADDRESS_MAX)
    return address


async def _inbound(session: AsyncSession, identity: ChannelIdentity, now: dt.datetime) -> None:
    """The person wrote to us from ``identity``: note when, and that it reaches them."""
    identity.last_inbound_at = now
    identity.reachable = True
    await session.flush()


@dataclass(slots=True)
class Arrival:
    """What :func:`identify_in` found: who wrote, from where, for which organisation."""

    organisation: Organisation
    person: Person
    identity: ChannelIdentity
    is_new: bool
    # The values of the ``flags`` asked for; None when they were not evaluated (first message).
    flags: tuple[bool, ...] | None
    # The chat's conversation state when asked for with ``state=True`` (None: no row yet, or a
    # first message); ``state_loaded`` says whether it was looked for.
    state: ConversationState | None = None
    state_loaded: bool = False


# Built once per shape: constructing a joined ORM select costs more than running it.
_ARRIVAL_QUERIES: dict[tuple[int, ...], Any] = {}


def _arrival_query(flags: tuple[ColumnElement[bool], ...], state: bool) -> Any:
    key = (int(state), *(id(flag) for flag in flags))
    query = _ARRIVAL_QUERIES.get(key)
    if query is None:
        query = (
            select(ChannelIdentity, Organisation, *flags)
            .join(ChannelIdentity.person)
            .join(Organisation, Organisation.slug == bindparam("slug"))
            .outerjoin(Person.roles)
            .options(contains_eager(ChannelIdentity.person).contains_eager(Person.roles))
            .where(
                ChannelIdentity.channel == bindparam("channel"),
                ChannelIdentity.address == bindparam("address"),
            )
        )
        if state:
            query = query.add_columns(ConversationState).outerjoin(
                ConversationState, ConversationState.identity_id == ChannelIdentity.id
            )
        # Keep the flag objects alive: their ids are part of the key.
        _ARRIVAL_QUERIES[key] = query = (query, flags)
    return query[0]


async def identify_in(
    session: AsyncSession,
    *,
    organisation_slug: str,
    channel: Channel,
    address: str,
    language_hint: str | None = None,
    now: dt.datetime | None = None,
    flags: tuple[ColumnElement[bool], ...] = (),
    state: bool = False,
) -> Arrival:
    """:func:`get_default_organisation` and :func:`identify` in one go, with the fewest
    statements: a known address is found together with its person, their role grants and the
    organisation in one query, and its ``last_inbound_at``/``reachable`` are written with one
    plain UPDATE (no unit-of-work flush).

    ``flags`` are extra boolean expressions on :class:`ChannelIdentity` evaluated in that same
    query (for example "is something queued for this chat"); pass the same objects every time
    (the query is built once per set of flags). ``state=True`` loads the chat's
    :class:`ConversationState` in that query too, without a row lock: only for a database
    whose transactions already hold the write lock (SQLite with ``BEGIN IMMEDIATE``).
    """
    now = now or utcnow()
    address = _checked_address(address)
    result = await session.execute(
        _arrival_query(flags, state),
        {"slug": organisation_slug, "channel": channel, "address": address},
    )
    row = result.unique().first()
    if row is not None:
        identity, org, *values = row
        loaded = values.pop() if state else None
        await session.execute(
            update(ChannelIdentity.__table__)
            .where(ChannelIdentity.__table__.c.id == identity.id)
            .values(last_inbound_at=now, reachable=True)
        )
        set_committed_value(identity, "last_inbound_at", now)
        set_committed_value(identity, "reachable", True)
        return Arrival(
            org, identity.person, identity, False, tuple(map(bool, values)), loaded, state
        )
    org = await get_default_organisation(session, organisation_slug)
    person, identity, is_new = await identify(
        session,
        organisation=org,
        channel=channel,
        address=address,
        language_hint=language_hint,
        now=now,
    )
    return Arrival(org, person, identity, is_new, None)


# --- settings ------------------------------------------------------------------------------


async def set_language(session: AsyncSession, person: Person, *, language: str) -> Person:
    code = language.strip().lower().replace("_", "-")
    if code not in SHIPPED_LANGUAGES:
        code = code.split("-", 1)[0]
    if code not in SHIPPED_LANGUAGES:
        raise InvalidInput(
            "person.unknown_language", language=language, known=list(SHIPPED_LANGUAGES)
        )
    person.language = code
    await session.flush()
    return person


async def give_consent(
    session: AsyncSession, person: Person, *, now: dt.datetime | None = None
) -> Person:
    """Record that the person agreed to the privacy statement (the latest agreement counts)."""
    person.consent_at = now or utcnow()
    await session.flush()
    return person


async def opt_out_announcements(session: AsyncSession, person: Person) -> Person:
    """STOP / afmelden: no more announcements. Reminders are switched per category."""
    person.announcements_opt_out = True
    await session.flush()
    return person


async def opt_in_announcements(session: AsyncSession, person: Person) -> Person:
    person.announcements_opt_out = False
    await session.flush()
    return person


def _check_minute(minute: int | None) -> None:
    if minute is None or isinstance(minute, bool) or not 0 <= minute <= MAX_MINUTE:
        raise InvalidInput("person.bad_time", minute=minute, min=0, max=MAX_MINUTE)


async def set_reminder_minute(
    session: AsyncSession, person: Person, *, minute: int | None
) -> Person:
    """Preferred reminder time in minutes after local midnight; None = organisation default."""
    if minute is not None:
        _check_minute(minute)
    person.reminder_minute = minute
    await session.flush()
    return person


async def set_quiet_hours(
    session: AsyncSession, person: Person, *, start_minute: int | None, end_minute: int | None
) -> Person:
    """Own quiet hours (local minutes, may wrap past midnight); both None = organisation's.

    ``start == end`` means no quiet hours at all.
    """
    if (start_minute is None) != (end_minute is None):
        raise InvalidInput("person.bad_time", minute=None, min=0, max=MAX_MINUTE)
    if start_minute is not None:
        _check_minute(start_minute)
        _check_minute(end_minute)
    person.quiet_start_minute = start_minute
    person.quiet_end_minute = end_minute
    await session.flush()
    return person


async def set_reminder_category(
    session: AsyncSession, person: Person, *, category: str, enabled: bool
) -> Person:
    """Switch one reminder category off (``enabled=False``) or back on."""
    if category not in REMINDER_CATEGORIES:
        raise InvalidInput(
            "person.unknown_reminder_category", category=category, known=list(REMINDER_CATEGORIES)
        )
    off = [c for c in (person.reminders_off or []) if c != category]
    if not enabled:
        off.append(category)
    # A new list object: the JSON column does not notice changes made in place.
    person.reminders_off = sorted(off, key=REMINDER_CATEGORIES.index)
    await session.flush()
    return person


def reminder_enabled(person: Person, category: str) -> bool:
    return category not in (person.reminders_off or [])


# --- roles ---------------------------------------------------------------------------------


async def effective_roles(session: AsyncSession, person: Person) -> set[Role]:
    """Granted roles plus GANGMAKER when the person is gangmaker of a pending or active street
    of their own organisation (read from the database, not from loaded collections; see
    :func:`role_facts` for how long an answer is reused)."""
    return set((await role_facts(session, person)).roles)


@dataclass(frozen=True, slots=True)
class RoleFacts:
    """:func:`effective_roles`, and whether the person is gangmaker of an active street with
    Lief & Leed (what the main menu needs besides the roles)."""

    roles: frozenset[Role]
    has_liefleed_street: bool


_ROLE_FACTS_KEY = "people.role_facts"


async def role_facts(session: AsyncSession, person: Person) -> RoleFacts:
    """One query, remembered until the session writes anything or a (nested) transaction
    ends: the help text and the menu after it ask the same within one turn."""
    cache: dict[int, RoleFacts] = session.info.setdefault(_ROLE_FACTS_KEY, {})
    pending = session.new or session.dirty or session.deleted
    if not pending and person.id in cache:
        return cache[person.id]

    def gangmaker_of(*statuses: StreetStatus) -> ColumnElement[bool]:
        return exists().where(
            StreetMembership.person_id == Person.id,
            StreetMembership.is_gangmaker.is_(True),
            Street.id == StreetMembership.street_id,
            Street.organisation_id == Person.organisation_id,
            Street.status.in_(statuses),
        )

    rows = (
        await session.execute(
            select(
                RoleGrant.role,
                gangmaker_of(*_GANGMAKER_STREET_STATUSES),
                gangmaker_of(StreetStatus.ACTIVE).where(Street.theme_liefleed.is_(True)),
            )
            .select_from(Person)
            .outerjoin(RoleGrant, RoleGrant.person_id == Person.id)
            .where(Person.id == person.id)
        )
    ).all()
    roles = {role for role, _, _ in rows if role is not None}
    if rows and rows[0][1]:
        roles.add(Role.GANGMAKER)
    facts = RoleFacts(frozenset(roles), bool(rows and rows[0][2]))
    if person.id is not None:
        cache[person.id] = facts
    return facts


def _forget_role_facts(session: Session, *_: object) -> None:
    session.info.pop(_ROLE_FACTS_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _forget_role_facts_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        _forget_role_facts(state.session)


for _name in ("after_flush", "after_transaction_end", "after_soft_rollback"):
    event.listen(Session, _name, _forget_role_facts)


# --- privacy: see and delete one's own data ------------------------------------------------


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


async def my_data(session: AsyncSession, person: Person) -> dict[str, Any]:
    """Everything stored about the person, JSON-ready (ISO 8601 times in UTC, enum values)."""
    identities = list(
        await session.scalars(
            select(ChannelIdentity)
            .where(ChannelIdentity.person_id == person.id)
            .order_by(ChannelIdentity.id)
        )
    )
    grants = list(
        await session.scalars(
            select(RoleGrant).where(RoleGrant.person_id == person.id).order_by(RoleGrant.id)
        )
    )
    memberships = (
        await session.execute(
            select(StreetMembership, Street)
            .join(Street, Street.id == StreetMembership.street_id)
            .where(StreetMembership.person_id == person.id)
            .order_by(Street.name, Street.id)
        )
    ).all()
    states = list(
        await session.scalars(
            select(ConversationState)
            .where(ConversationState.identity_id.in_([i.id for i in identities]))
            .order_by(ConversationState.identity_id)
        )
    )
    attentions = (
        await session.execute(
            select(Attention, LiefLeedPot.street_id)
            .join(LiefLeedPot, LiefLeedPot.id == Attention.pot_id)
            .where(Attention.logged_by_id == person.id)
            .order_by(Attention.given_on, Attention.id)
        )
    ).all()
    requests = list(
        await session.scalars(
            select(BudgetRequest)
            .where(BudgetRequest.requested_by_id == person.id)
            .order_by(BudgetRequest.id)
        )
    )
    reminders = list(
        await session.scalars(
            select(Reminder).where(Reminder.person_id == person.id).order_by(Reminder.due_at)
        )
    )
    deliveries = list(
        await session.scalars(
            select(Delivery).where(Delivery.person_id == person.id).order_by(Delivery.id)
        )
    )

    return {
        "person": {
            "id": person.id,
            "first_name": person.first_name,
            "language": person.language,
            "created_at": _iso(person.created_at),
            "consent_at": _iso(person.consent_at),
            "announcements_opt_out": person.announcements_opt_out,
            "reminder_minute": person.reminder_minute,
            "quiet_start_minute": person.quiet_start_minute,
            "quiet_end_minute": person.quiet_end_minute,
            "reminders_off": list(person.reminders_off or []),
        },
        "identities": [
            {
                "channel": i.channel.value,
                "address": i.address,
                "created_at": _iso(i.created_at),
                "last_inbound_at": _iso(i.last_inbound_at),
                "reachable": i.reachable,
                "preferred": i.preferred,
            }
            for i in identities
        ],
        "roles": [
            {"role": g.role.value, "area_id": g.area_id, "payout_point_id": g.payout_point_id}
            for g in grants
        ],
        "streets": [
            {
                "street_id": street.id,
                "name": street.name,
                "section": street.section,
                "status": street.status.value,
                "is_gangmaker": membership.is_gangmaker,
                "since": _iso(membership.created_at),
                "signed_up_by_me": street.signed_up_by_id == person.id,
            }
            for membership, street in memberships
        ],
        "conversations": [
            {
                "dialog": s.dialog,
                "step": s.step,
                "data": s.data,
                "updated_at": _iso(s.updated_at),
            }
            for s in states
        ],
        "liefleed_attentions": [
            {
                "street_id": street_id,
                "occasion": a.occasion,
                "occasion_type": a.occasion_type.value,
                "kind": a.kind.value,
                "cost_cents": a.cost_cents,
                "given_on": _iso(a.given_on),
                "house_number": a.house_number,
                "note": a.note,
                "created_at": _iso(a.created_at),
            }
            for a, street_id in attentions
        ],
        "budget_requests": [
            {
                "reference": r.reference,
                "street_id": r.street_id,
                "activity": r.activity,
                "activity_date": _iso(r.activity_date),
                "amount_cents": r.amount_cents,
                "status": r.status.value,
                "created_at": _iso(r.created_at),
            }
            for r in requests
        ],
        "reminders": [
            {"rule": r.rule, "due_at": _iso(r.due_at), "status": r.status.value} for r in reminders
        ],
        "deliveries": [
            {
                "status": d.status.value,
                "created_at": _iso(d.created_at),
                "sent_at": _iso(d.sent_at),
                "body": d.body,
            }
            for d in deliveries
        ],
    }


async def forget_person(
    session: AsyncSession,
    person: Person,
    *,
    actor: Person | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Delete a person and what only concerns them (the right to be forgotten).

    The rules per table live in ``bot.services.privacy.REGISTRY``: the person, their
    identities, roles, street memberships, conversation state, reminders, deliveries, assisted
    sessions and signals go; Lief & Leed entries, budget requests (asked or decided), streets
    they signed up and announcements they wrote stay with the person set to NULL, because those
    belong to the street or the organisation. The audit entry ``person.deleted`` says that it
    happened, not who it was. ``actor`` defaults to the person.
    """
    from bot.services import privacy

    await privacy.forget_person(session, person, actor=actor, now=now)


async def set_reachable(
    session: AsyncSession, *, channel: Channel, address: str, reachable: bool
) -> bool:
    """The platform told us the person blocked (False) or unblocked (True) us; deliveries to
    an unreachable address stop for good. False when we do not know the address."""
    result = await session.execute(
        update(ChannelIdentity)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
        .values(reachable=reachable)
    )
    return bool(result.rowcount)
