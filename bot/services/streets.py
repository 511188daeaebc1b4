"""Streets: sign-up, joining as co-gangmaker, and the leader's review.

Sign-up stays low-threshold (DESIGN.md section 3): anyone may sign up a street, which then
waits (PENDING) for the leader of its area. The same street and section can be signed up once
per organisation: a second sign-up, however it is spelled, finds the first one so the dialog
can offer "join as co-gangmaker" instead. Life cycle::

    PENDING --approve--> ACTIVE --deactivate--> INACTIVE
    PENDING --reject---> REJECTED
    INACTIVE / REJECTED --sign up again--> PENDING (reopened, reviewed again)

Error keys raised here (with their parameters):

- ``InvalidInput("street.name_invalid", min=2, max=80)``: after removing control and
  zero-width characters the name is shorter than 2 or longer than 80 characters, or has no
  letter at all (emoji-only, digits-only, punctuation-only).
- ``InvalidInput("street.section_too_long", max=60)``.
- ``InvalidInput("street.households_out_of_range", min=1, max=2000)``.
- ``NotFound("street.area_unknown")``: no such area in the actor's organisation.
- ``NotFound("street.code_unknown")``: no street of the organisation has this invite code.
- ``Conflict("street.not_joinable", street=name, status=...)``: inactive or rejected street.
- ``Conflict("street.already_member", street=name)``: already gangmaker of the street.
- ``NotFound("street.unknown")``: no such street in the actor's organisation.
- ``NotAllowed("perm.not_leader_of_area")``: reviewing, deactivating or listing pending
  streets without being leader of the area (or admin).
- ``IllegalTransition("street.not_pending", status=...)``: approving or rejecting a street
  that is not pending (also when another leader was just quicker).
- ``IllegalTransition("street.not_active", status=...)``: deactivating a street that is not
  active.
- ``InvalidInput("street.reason_required")``: rejecting without a reason.
- ``InvalidInput("street.reason_too_long", max=300)``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Conflict, IllegalTransition, InvalidInput, NotAllowed, NotFound
from bot.models import Area, Person, Street, StreetMembership, StreetStatus, utcnow
from bot.services import audit, codes, permissions

NAME_MIN = 2
NAME_MAX = 80
SECTION_MAX = 60
HOUSEHOLDS_MIN = 1
HOUSEHOLDS_MAX = 2000
REASON_MAX = 300  # Street.review_reason column length
KEY_MAX = 120  # Street.name_key / section_key column length

JOINABLE_STATUSES = (StreetStatus.PENDING, StreetStatus.ACTIVE)
REOPENABLE_STATUSES = (StreetStatus.INACTIVE, StreetStatus.REJECTED)

# Abbreviations people type for the last word of a street name. "str" is also expanded at
# the end of a word ("Zaagmolenstr."): no Dutch street name ends in "str" otherwise.
# Data, not code: extend as needed.
WORD_ABBREVIATIONS: dict[str, str] = {
    "str": "straat",
    "ln": "laan",
    "pl": "plein",
    "sngl": "singel",
    "wg": "weg",
    "kd": "kade",
    "dk": "dijk",
}
SUFFIX_ABBREVIATIONS: dict[str, str] = {"str": "straat"}

# Words in a section that carry no meaning for the key ("nr. 1 t/m 47" = "1-47").
SECTION_FILLER = frozenset(
    {"nr", "nrs", "no", "nummer", "nummers", "huisnummer", "huisnummers", "number", "numbers"}
)
# Ways to say "up to and including" between two house numbers.
_RANGE_WORDS = re.compile(
    r"(?<![^\W\d_])(?:t\s*/\s*m|t\s*\.\s*m\s*\.?|tot\s+en\s+met|tot|to)(?![^\W\d_])"
)
_DASHES = re.compile("[\u2010-\u2015\u2212\u2043\ufe58\ufe63\uff0d~]")
_SYMBOLS = frozenset("-+&")
_KEY_TOKENS = re.compile(r"[^\W_]+|[-+&]")
# Where a one-line "Zaagmolenstraat 1-47" or "Zaagmolen str., nr 1 - 47" turns into numbers.
_NUMBER_PART = re.compile(r"[\s,]+(?=(?:(?:nrs?|nummers?|huisnummers?)\.?\s*)?\d)", re.IGNORECASE)


class SignUpOutcome(enum.StrEnum):
    CREATED = "created"
    ALREADY_EXISTS = "already_exists"


@dataclass(frozen=True)
class SignUpResult:
    """What :func:`sign_up_street` did.

    ``created``: a new PENDING street (or an inactive/rejected one ``reopened`` as PENDING)
    with the actor as gangmaker. ``already_exists``: the street was signed up before and is
    pending or active; nothing changed, offer to join it (``already_member`` when the actor is
    its gangmaker already).
    """

    outcome: SignUpOutcome
    street: Street
    already_member: bool = False
    reopened: bool = False

    @property
    def created(self) -> bool:
        return self.outcome is SignUpOutcome.CREATED

    @property
    def already_exists(self) -> bool:
        return self.outcome is SignUpOutcome.ALREADY_EXISTS


# --- text: cleaning and the duplicate key --------------------------------------------------


def clean_text(text: str) -> str:
    """What a person meant to type: NFC, no control/format/zero-width characters (including
    bidi overrides), any run of whitespace as one space, trimmed."""
    kept: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch)[0] != "C":
            kept.append(ch)
    return " ".join("".join(kept).split())


def _fold(text: str) -> str:
    """Compatibility forms, case and accents folded away: "Ｓtraße" and "strasse" match."""
    text = unicodedata.normalize("NFKC", clean_text(text)).casefold()
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _expand(token: str) -> str:
    if token in WORD_ABBREVIATIONS:
        return WORD_ABBREVIATIONS[token]
    for short, full in SUFFIX_ABBREVIATIONS.items():
        if token.endswith(short) and len(token) > len(short):
            return token[: -len(short)] + full
    return token


def normalise_street_name(name: str) -> str:
    """The comparable form of a street name: case, accents, spacing, punctuation and the
    usual abbreviations do not matter ("Zaagmolen str." = "zaagmolenstraat")."""
    tokens = re.findall(r"[^\W_]+", _fold(name))
    return "".join(_expand(t) for t in tokens)[:KEY_MAX]


def normalise_section(section: str | None) -> str:
    """The comparable form of a section: "nr. 1 t/m 47", "1 - 47" and "1–47" all give "1-47";
    words are folded like street names ("+ Snellemanstr." = "+ snellemanstraat")."""
    if not section:
        return ""
    text = _DASHES.sub("-", _fold(section))
    text = _RANGE_WORDS.sub(" - ", text)
    tokens: list[str] = []
    for token in _KEY_TOKENS.findall(text):
        if token in SECTION_FILLER or (token == "-" and tokens[-1:] == ["-"]):
            continue
        tokens.append(token if token in _SYMBOLS else _expand(token))
    key = " ".join(tokens).replace(" - ", "-").strip(" -")
    return key[:KEY_MAX]


def split_house_numbers(name: str) -> tuple[str, str]:
    """Split "Zaagmolenstraat 1-47" into ("Zaagmolenstraat", "1-47"); names that start with a
    number ("1e Middellandstraat") keep it. Returns (name, "") when there are no numbers."""
    for match in _NUMBER_PART.finditer(name):
        head = name[: match.start()]
        if any(ch.isalpha() for ch in head):
            return head, name[match.end() :]
    return name, ""


def duplicate_key(name: str, section: str | None) -> tuple[str, str]:
    """``(name_key, section_key)`` under which a street is signed up once per organisation.

    House numbers typed after the name count as section, so "Zaagmolenstraat 1-47" with no
    section and "zaagmolen str." with section "1 - 47" are the same street.
    """
    head, numbers = split_house_numbers(clean_text(name))
    section_text = " ".join(part for part in (numbers, section or "") if part)
    return normalise_street_name(head), normalise_section(section_text)


# --- validation ----------------------------------------------------------------------------


def check_name(name: str) -> str:
    cleaned = clean_text(name)
    if (
        not NAME_MIN <= len(cleaned) <= NAME_MAX
        or not any(ch.isalpha() for ch in cleaned)
        or not normalise_street_name(cleaned)
    ):
        raise InvalidInput("street.name_invalid", min=NAME_MIN, max=NAME_MAX)
    return cleaned


def check_section(section: str | None) -> str | None:
    cleaned = clean_text(section or "")
    if len(cleaned) > SECTION_MAX:
        raise InvalidInput("street.section_too_long", max=SECTION_MAX)
    return cleaned or None


def _valid_households(households: int | None) -> int | None:
    if households is None:
        return None
    if isinstance(households, bool) or not HOUSEHOLDS_MIN <= households <= HOUSEHOLDS_MAX:
        raise InvalidInput("street.households_out_of_range", min=HOUSEHOLDS_MIN, max=HOUSEHOLDS_MAX)
    return households


def _valid_reason(reason: str | None, *, required: bool) -> str | None:
    cleaned = clean_text(reason or "")
    if required and not cleaned:
        raise InvalidInput("street.reason_required")
    if len(cleaned) > REASON_MAX:
        raise InvalidInput("street.reason_too_long", max=REASON_MAX)
    return cleaned or None


# --- lookups -------------------------------------------------------------------------------


async def _street_by_key(
    session: AsyncSession, organisation_id: int, name_key: str, section_key: str
) -> Street | None:
    return await session.scalar(
        select(Street).where(
            Street.organisation_id == organisation_id,
            Street.name_key == name_key,
            Street.section_key == section_key,
        )
    )


async def _membership(
    session: AsyncSession, street_id: int, person_id: int
) -> StreetMembership | None:
    return await session.scalar(
        select(StreetMembership).where(
            StreetMembership.street_id == street_id, StreetMembership.person_id == person_id
        )
    )


async def _get_street(session: AsyncSession, actor: Person, street_id: int) -> Street:
    street = await session.get(Street, street_id)
    if street is None or street.organisation_id != actor.organisation_id:
        raise NotFound("street.unknown")
    return street


# --- gangmakers ----------------------------------------------------------------------------


async def sign_up_street(
    session: AsyncSession,
    *,
    actor: Person,
    name: str,
    section: str | None,
    area_id: int,
    households: int | None,
    liefleed: bool,
    green: bool = False,
    clean: bool = False,
    now: dt.datetime | None = None,
) -> SignUpResult:
    """Sign up a street (or part of one) for the campaign; see :class:`SignUpResult`."""
    now = now or utcnow()
    name = check_name(name)
    section = check_section(section)
    households = _valid_households(households)
    area = await session.get(Area, area_id)
    if area is None or area.organisation_id != actor.organisation_id:
        raise NotFound("street.area_unknown")
    name_key, section_key = duplicate_key(name, section)

    existing = await _street_by_key(session, actor.organisation_id, name_key, section_key)
    if existing is not None and existing.status not in REOPENABLE_STATUSES:
        return await _already_exists(session, existing, actor)

    values: dict[str, Any] = {
        "area_id": area.id,
        "name": name,
        "section": section,
        "households": households,
        "theme_liefleed": liefleed,
        "theme_green": green,
        "theme_clean": clean,
        "signed_up_by_id": actor.id,
    }
    if existing is not None:
        return await _reopen(session, existing, actor, values, now)

    # No look-up for a free invite code first: 31**6 codes make a clash rare, and the unique
    # index catches it (then another code is tried).
    for _ in range(20):
        code = codes.new_invite_code()
        street = Street(
            organisation_id=actor.organisation_id,
            name_key=name_key,
            section_key=section_key,
            status=StreetStatus.PENDING,
            invite_code=code,
            created_at=now,
            **values,
        )
        try:
            # Two neighbours signing up the same street at the same moment: the second one
            # finds the first one's street, exactly as if they had been a minute later.
            async with session.begin_nested():
                session.add(street)
                await session.flush()
                session.add(
                    StreetMembership(street_id=street.id, person_id=actor.id, created_at=now)
                )
                await session.flush()
        except IntegrityError:
            existing = await _street_by_key(session, actor.organisation_id, name_key, section_key)
            if existing is not None:
                return await _already_exists(session, existing, actor)
            taken = await session.scalar(select(Street.id).where(Street.invite_code == code))
            if taken is None:  # pragma: no cover - not a clash we know how to resolve
                raise
            continue
        return SignUpResult(SignUpOutcome.CREATED, street)
    raise RuntimeError("no free invite code after 20 tries")  # pragma: no cover


async def _already_exists(session: AsyncSession, street: Street, actor: Person) -> SignUpResult:
    membership = await _membership(session, street.id, actor.id)
    return SignUpResult(
        SignUpOutcome.ALREADY_EXISTS,
        street,
        already_member=membership is not None and membership.is_gangmaker,
    )


async def _reopen(
    session: AsyncSession,
    street: Street,
    actor: Person,
    values: dict[str, Any],
    now: dt.datetime,
) -> SignUpResult:
    """A rejected or deactivated street signed up again goes back to the leader for review.

    Earlier gangmakers stay members (the leader sees them when reviewing); the signer-up
    becomes one too.
    """
    old_status = street.status
    for field, value in values.items():
        setattr(street, field, value)
    street.status = StreetStatus.PENDING
    street.reviewed_at = None
    street.review_reason = None
    membership = await _membership(session, street.id, actor.id)
    if membership is None:
        session.add(StreetMembership(street_id=street.id, person_id=actor.id, created_at=now))
    else:
        membership.is_gangmaker = True
    await session.flush()
    entry = await audit.record(
        session,
        actor=actor,
        action="street.reopened",
        object_type="street",
        object_id=street.id,
        street=street,
        previous_status=old_status.value,
    )
    entry.at = now
    await session.flush()
    return SignUpResult(SignUpOutcome.CREATED, street, reopened=True)


async def join_street(
    session: AsyncSession, *, actor: Person, invite_code: str, now: dt.datetime | None = None
) -> Street:
    """Become co-gangmaker with the street's invite code (pending streets too)."""
    now = now or utcnow()
    code = codes.normalise_code(invite_code)
    street = None
    if code:
        street = await session.scalar(
            select(Street).where(
                Street.invite_code == code, Street.organisation_id == actor.organisation_id
            )
        )
    if street is None:
        raise NotFound("street.code_unknown")
    if street.status not in JOINABLE_STATUSES:
        raise Conflict("street.not_joinable", street=street.name, status=street.status.value)

    membership = await _membership(session, street.id, actor.id)
    if membership is not None and membership.is_gangmaker:
        raise Conflict("street.already_member", street=street.name)
    if membership is not None:
        # A subscribed resident of the street steps up to gangmaker.
        membership.is_gangmaker = True
        await session.flush()
        return street
    try:
        async with session.begin_nested():
            session.add(StreetMembership(street_id=street.id, person_id=actor.id, created_at=now))
            await session.flush()
    except IntegrityError:
        # The same code sent twice in quick succession: the first message made us a member.
        raise Conflict("street.already_member", street=street.name) from None
    return street


async def my_streets(
    session: AsyncSession,
    person: Person,
    *,
    statuses: Collection[StreetStatus] | None = None,
) -> list[Street]:
    """The streets the person is gangmaker of, by name; all statuses unless ``statuses``."""
    query = (
        select(Street)
        .join(StreetMembership, StreetMembership.street_id == Street.id)
        .where(
            StreetMembership.person_id == person.id,
            StreetMembership.is_gangmaker.is_(True),
            Street.organisation_id == person.organisation_id,
        )
        .order_by(Street.name, Street.section, Street.id)
    )
    if statuses is not None:
        query = query.where(Street.status.in_(list(statuses)))
    return list(await session.scalars(query))


async def gangmakers_of(session: AsyncSession, street_id: int) -> list[Person]:
    """The street's gangmakers, longest-serving first."""
    return list(
        await session.scalars(
            select(Person)
            .join(StreetMembership, StreetMembership.person_id == Person.id)
            .where(StreetMembership.street_id == street_id, StreetMembership.is_gangmaker.is_(True))
            .order_by(StreetMembership.created_at, StreetMembership.id)
        )
    )


async def count_gangmakers(session: AsyncSession, street_id: int) -> int:
    """How many gangmakers the street has (as :func:`gangmakers_of` would list)."""
    return (
        await session.scalar(
            select(func.count()).where(
                StreetMembership.street_id == street_id, StreetMembership.is_gangmaker.is_(True)
            )
        )
        or 0
    )


async def area_contact(session: AsyncSession, street: Street) -> str | None:
    """Who to turn to for help with this street (the area's contact text)."""
    area = await session.get(Area, street.area_id)
    return area.contact_text if area is not None else None


# --- project leaders -----------------------------------------------------------------------


async def pending_streets(session: AsyncSession, *, actor: Person) -> list[Street]:
    """Streets waiting for review: in the leader's areas or with their themes, or all of the
    organisation for an admin; oldest first."""
    query = (
        select(Street)
        .where(
            Street.organisation_id == actor.organisation_id,
            Street.status == StreetStatus.PENDING,
        )
        .order_by(Street.created_at, Street.id)
    )
    scope = permissions.leader_scope(actor)
    if scope.empty:
        raise NotAllowed("perm.not_leader_of_area")
    return list(await session.scalars(query.where(scope.streets())))


async def _transition(
    session: AsyncSession,
    street: Street,
    *,
    expected: StreetStatus,
    error_key: str,
    values: dict[str, Any],
) -> None:
    # A conditional UPDATE, so two leaders acting at once cannot both succeed: the second
    # one matches no row (the status moved on) and gets the same error as a late click.
    result = await session.execute(
        update(Street)
        .where(Street.id == street.id, Street.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(street)
        raise IllegalTransition(error_key, status=street.status.value)
    await session.refresh(street)


async def review_street(
    session: AsyncSession,
    *,
    actor: Person,
    street_id: int,
    approve: bool,
    reason: str | None,
    now: dt.datetime | None = None,
) -> Street:
    """Approve (PENDING -> ACTIVE) or reject (PENDING -> REJECTED, reason required)."""
    now = now or utcnow()
    street = await _get_street(session, actor, street_id)
    permissions.require_leader_of_street(actor, street)
    if street.status != StreetStatus.PENDING:
        raise IllegalTransition("street.not_pending", status=street.status.value)
    reason = _valid_reason(reason, required=not approve)
    new_status = StreetStatus.ACTIVE if approve else StreetStatus.REJECTED
    await _transition(
        session,
        street,
        expected=StreetStatus.PENDING,
        error_key="street.not_pending",
        values={"status": new_status, "reviewed_at": now, "review_reason": reason},
    )
    entry = await audit.record(
        session,
        actor=actor,
        action="street.approved" if approve else "street.rejected",
        object_type="street",
        object_id=street.id,
        street=street,
        reason=reason,
    )
    entry.at = now
    await session.flush()
    return street


async def deactivate_street(
    session: AsyncSession,
    *,
    actor: Person,
    street_id: int,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> Street:
    """ACTIVE -> INACTIVE by a leader of the area (the street stopped, or merged elsewhere).

    Memberships are kept: a later sign-up of the same street reopens it for review.
    """
    now = now or utcnow()
    street = await _get_street(session, actor, street_id)
    permissions.require_leader_of_street(actor, street)
    if street.status != StreetStatus.ACTIVE:
        raise IllegalTransition("street.not_active", status=street.status.value)
    reason = _valid_reason(reason, required=False)
    await _transition(
        session,
        street,
        expected=StreetStatus.ACTIVE,
        error_key="street.not_active",
        values={"status": StreetStatus.INACTIVE, "reviewed_at": now, "review_reason": reason},
    )
    entry = await audit.record(
        session,
        actor=actor,
        action="street.deactivated",
        object_type="street",
        object_id=street.id,
        street=street,
        reason=reason,
    )
    entry.at = now
    await session.flush()
    return street


async def areas_of(session: AsyncSession, organisation_id: int) -> list[Area]:
    """The organisation's areas by name: the choice a sign-up offers."""
    return list(
        await session.scalars(
            select(Area).where(Area.organisation_id == organisation_id).order_by(Area.name)
        )
    )
