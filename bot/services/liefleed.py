"""Lief & Leed: a street's yearly pot and the small attentions gangmakers pay from it.

A street with the Lief & Leed theme gets a pot per calendar year (the organisation's
``liefleed_pot_cents``, €150 by default, fixed when the pot is first used). Gangmakers log
attentions for neighbours in happy (*lief*) or sad (*leed*) times against the pot of the year the
attention was *given* (``given_on``, a date in the organisation's time zone), so a card given on
31 December and logged on 2 January still counts for the old year. A visit may cost nothing and
still counts. Going over the pot is allowed and flagged (``over_budget``), never refused.

Privacy by design: no neighbour names, ever. At most a house number (which must look like one)
and a note of 140 characters; both are cleared by :func:`purge_old_notes` after the retention
period, and neither ever goes into the audit log. Leaders see the attentions of their area's
streets without house numbers and notes; only the street's gangmakers see those.

Error keys (``bot.errors`` type, key, parameters):

- ``NotFound("street.not_found")``: no such street in the actor's organisation.
- ``NotAllowed("perm.not_your_street")``: the actor is not a gangmaker of the street (for
  :func:`recent_attentions`: nor a leader of its area or an admin).
- ``Conflict("liefleed.street_not_liefleed")``: the street has no Lief & Leed theme or is not
  active (logging only).
- ``InvalidInput("liefleed.occasion_unknown")``: the occasion is not a key of :data:`OCCASIONS`.
- ``InvalidInput("liefleed.kind_unknown")``: the kind is not an :class:`AttentionKind`.
- ``InvalidInput("liefleed.cost_negative")``: the cost is below zero (zero is fine: a visit).
- ``InvalidInput("liefleed.cost_too_high", max_cents=1000000)``: above the sanity bound.
- ``InvalidInput("liefleed.date_in_future")``: ``given_on`` is after today in the org's zone.
- ``InvalidInput("liefleed.date_too_old", earliest=date)``: ``given_on`` is more than a year
  back; ``earliest`` is the first date still accepted.
- ``InvalidInput("liefleed.house_number_invalid")``: longer than 10 characters or not shaped
  like a house number ("12", "12a", "12-2", "12 bis", "12 B01"); letters alone (a name) never.
- ``InvalidInput("liefleed.note_too_long", max=140)``: the cleaned note is too long.
- ``NotFound("liefleed.attention_not_found")``: no such entry in the actor's organisation.
- ``NotAllowed("liefleed.not_your_entry")``: only the person who logged an entry changes it.
- ``Conflict("liefleed.edit_window_passed", days=N)``: logged more than ``N`` days ago
  (``Organisation.liefleed_edit_days``).
- ``NotFound("liefleed.nothing_to_undo")``: the actor logged nothing in the street within the
  edit window.

Audit actions (details never hold a note, a house number or an occasion): ``liefleed.removed``
(street_id, year, cost_cents), ``liefleed.corrected`` (street_id, fields: the names changed),
``liefleed.notes_purged`` (before, count).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.models import (
    Attention,
    AttentionKind,
    LiefLeedPot,
    OccasionType,
    Organisation,
    Person,
    Street,
    StreetStatus,
    utcnow,
)
from bot.services import audit, permissions

# The open list of occasions, in display order: a stable key (stored, and used for translation
# as "liefleed.occasion.<key>") and whether it is a happy or a sad one. Data, not code.
OCCASIONS: dict[str, OccasionType] = {
    # Lief
    "birth": OccasionType.LIEF,  # birth, baby
    "wedding": OccasionType.LIEF,  # wedding, jubilee
    "birthday": OccasionType.LIEF,  # a round-number birthday
    "exam": OccasionType.LIEF,  # passed an exam, diploma
    "new_neighbour": OccasionType.LIEF,
    "recovery": OccasionType.LIEF,
    "other_lief": OccasionType.LIEF,
    # Leed
    "illness": OccasionType.LEED,
    "hospital": OccasionType.LEED,
    "loneliness": OccasionType.LEED,
    "bereavement": OccasionType.LEED,
    "accident": OccasionType.LEED,
    "other_leed": OccasionType.LEED,
    # Neither
    "other": OccasionType.OTHER,
}

# A sanity bound against typos ("1500000" for €15,00), not a policy limit: €10,000.
MAX_COST_CENTS = 1_000_000
HOUSE_NUMBER_MAX = 10
NOTE_MAX = 140
RECENT_MAX = 50

# Dutch house numbers: digits, then at most an addition ("a", "-2", " bis", " B01", "-2a") and one
# more part after a separator ("12a-2", "12-2 hs"). Letters only ever as a single letter (maybe
# with digits) or a known addition word, so "12 Piet" or "Jan" is refused: it is not a name field.
_ADDITION_WORDS = "bis|ter|hs|bg|ii|iii|iv|rd|zw"
_HOUSE_NUMBER = re.compile(
    rf"[0-9]{{1,5}}"
    rf"(?:[ -]?(?:[a-z][0-9]{{0,3}}|[0-9]{{1,4}}[a-z]?|{_ADDITION_WORDS}))?"
    rf"(?:[ -](?:[0-9]{{1,4}}|{_ADDITION_WORDS}))?",
    re.IGNORECASE | re.ASCII,
)
_SPACES = re.compile(r"\s+")

_EDITABLE_FIELDS = frozenset({"occasion", "kind", "cost_cents", "given_on", "house_number", "note"})


@dataclass(frozen=True, slots=True)
class Balance:
    """The state of a street's pot for one year; ``left_cents`` is negative when overspent."""

    street_id: int
    year: int
    pot_cents: int
    spent_cents: int
    left_cents: int
    count: int

    @property
    def over_budget(self) -> bool:
        return self.left_cents < 0


@dataclass(frozen=True, slots=True)
class LogResult:
    """A logged (or corrected) attention and its pot's balance right after."""

    attention: Attention
    balance: Balance
    balance_after_cents: int
    over_budget: bool


@dataclass(frozen=True, slots=True)
class Removed:
    """A removed attention (the object is deleted; its loaded fields stay readable)."""

    attention: Attention
    balance: Balance


@dataclass(frozen=True, slots=True)
class AttentionView:
    """An attention as one person may see it: house number and note only for the street's
    gangmakers (``None`` for leaders, who oversee the pot, not the neighbours)."""

    id: int
    street_id: int
    year: int
    occasion: str
    occasion_type: OccasionType
    kind: AttentionKind
    cost_cents: int
    given_on: dt.date
    house_number: str | None
    note: str | None
    logged_by_id: int | None
    created_at: dt.datetime
    mine: bool
    editable: bool


# -- helpers -----------------------------------------------------------------------------------


def _aware_now(now: dt.datetime | None) -> dt.datetime:
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given; pass aware UTC")
    return now


def local_today(org: Organisation, now: dt.datetime | None = None) -> dt.date:
    """Today's date where the organisation is (the day people mean when they say "today")."""
    return _aware_now(now).astimezone(ZoneInfo(org.timezone)).date()


def current_year(org: Organisation, now: dt.datetime | None = None) -> int:
    """The calendar year in the organisation's time zone: which pot "this year" means."""
    return local_today(org, now).year


def _one_year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def clean_text(text: str) -> str:
    """Drop control and invisible format characters (zero-width, direction marks), fold line
    breaks and runs of spaces into one space, and trim."""
    text = unicodedata.normalize("NFC", text)
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029":
            kept.append(" ")
        elif category in ("Cc", "Cf", "Cs"):
            continue
        else:
            kept.append(ch)
    return _SPACES.sub(" ", "".join(kept)).strip()


def validate_occasion(occasion: str) -> tuple[str, OccasionType]:
    key = occasion.strip().lower() if isinstance(occasion, str) else ""
    if key not in OCCASIONS:
        raise InvalidInput("liefleed.occasion_unknown")
    return key, OCCASIONS[key]


def validate_kind(kind: AttentionKind | str) -> AttentionKind:
    try:
        return AttentionKind(kind)
    except ValueError:
        raise InvalidInput("liefleed.kind_unknown") from None


def validate_cost(cost_cents: int) -> int:
    if isinstance(cost_cents, bool) or not isinstance(cost_cents, int):
        raise TypeError("cost_cents must be an int (parse what people type first)")
    if cost_cents < 0:
        raise InvalidInput("liefleed.cost_negative")
    if cost_cents > MAX_COST_CENTS:
        raise InvalidInput("liefleed.cost_too_high", max_cents=MAX_COST_CENTS)
    return cost_cents


def validate_given_on(given_on: dt.date, *, today: dt.date) -> dt.date:
    if isinstance(given_on, dt.datetime) or not isinstance(given_on, dt.date):
        raise TypeError("given_on must be a date")
    if given_on > today:
        raise InvalidInput("liefleed.date_in_future")
    earliest = _one_year_before(today)
    if given_on < earliest:
        raise InvalidInput("liefleed.date_too_old", earliest=earliest)
    return given_on


def validate_house_number(house_number: str | None) -> str | None:
    """A house number with its addition, or ``None`` when nothing was given."""
    if house_number is None:
        return None
    cleaned = clean_text(unicodedata.normalize("NFKC", house_number))
    if not cleaned:
        return None
    if len(cleaned) > HOUSE_NUMBER_MAX or not _HOUSE_NUMBER.fullmatch(cleaned):
        raise InvalidInput("liefleed.house_number_invalid")
    return cleaned


def validate_note(note: str | None) -> str | None:
    if note is None:
        return None
    cleaned = clean_text(note)
    if not cleaned:
        return None
    if len(cleaned) > NOTE_MAX:
        raise InvalidInput("liefleed.note_too_long", max=NOTE_MAX)
    return cleaned


async def _street_of_org(session: AsyncSession, actor: Person, street_id: int) -> Street:
    street = await session.get(Street, street_id)
    if street is None or street.organisation_id != actor.organisation_id:
        raise NotFound("street.not_found")
    return street


async def _organisation(session: AsyncSession, organisation_id: int) -> Organisation:
    org = await session.get(Organisation, organisation_id)
    assert org is not None  # a foreign key guarantees it
    return org


async def _find_pot(session: AsyncSession, street_id: int, year: int) -> LiefLeedPot | None:
    return await session.scalar(
        select(LiefLeedPot).where(LiefLeedPot.street_id == street_id, LiefLeedPot.year == year)
    )


async def _balance_of_pot(session: AsyncSession, pot: LiefLeedPot) -> Balance:
    await session.flush()
    spent, count = (
        await session.execute(
            select(
                func.coalesce(func.sum(Attention.cost_cents), 0), func.count(Attention.id)
            ).where(Attention.pot_id == pot.id)
        )
    ).one()
    return Balance(
        street_id=pot.street_id,
        year=pot.year,
        pot_cents=pot.amount_cents,
        spent_cents=int(spent),
        left_cents=pot.amount_cents - int(spent),
        count=int(count),
    )


def _log_result(attention: Attention, balance: Balance) -> LogResult:
    return LogResult(
        attention=attention,
        balance=balance,
        balance_after_cents=balance.left_cents,
        over_budget=balance.over_budget,
    )


def _with_street(stmt: Select[Any]) -> Select[Any]:
    return stmt.join(LiefLeedPot, LiefLeedPot.id == Attention.pot_id)


async def _own_attention(
    session: AsyncSession, actor: Person, attention_id: int, now: dt.datetime
) -> tuple[Attention, LiefLeedPot, Street, Organisation]:
    """The actor's own entry, still within the edit window, or the matching refusal."""
    row = (
        await session.execute(
            _with_street(select(Attention, LiefLeedPot, Street))
            .join(Street, Street.id == LiefLeedPot.street_id)
            .where(Attention.id == attention_id)
        )
    ).one_or_none()
    if row is None or row[2].organisation_id != actor.organisation_id:
        raise NotFound("liefleed.attention_not_found")
    attention, pot, street = row
    if attention.logged_by_id != actor.id:
        raise NotAllowed("liefleed.not_your_entry")
    await permissions.require_gangmaker_of(session, actor, street)
    org = await _organisation(session, street.organisation_id)
    if now - attention.created_at > dt.timedelta(days=org.liefleed_edit_days):
        raise Conflict("liefleed.edit_window_passed", days=org.liefleed_edit_days)
    return attention, pot, street, org


# -- pots and balances -------------------------------------------------------------------------


@overload
async def pot_for(
    session: AsyncSession, *, street: Street, year: int, create: Literal[True] = ...
) -> LiefLeedPot: ...
@overload
async def pot_for(
    session: AsyncSession, *, street: Street, year: int, create: bool
) -> LiefLeedPot | None: ...
async def pot_for(
    session: AsyncSession, *, street: Street, year: int, create: bool = True
) -> LiefLeedPot | None:
    """The street's pot for a calendar year (see :func:`current_year`), created on first use
    with the organisation's pot amount; ``None`` when it does not exist and ``create`` is off.

    Two requests may both find no pot and both insert one: the unique (street, year) key lets
    one win; the loser rolls back to its savepoint and reads the winner's pot.
    """
    pot = await _find_pot(session, street.id, year)
    if pot is not None or not create:
        return pot
    org = await _organisation(session, street.organisation_id)
    try:
        async with session.begin_nested():
            pot = LiefLeedPot(street_id=street.id, year=year, amount_cents=org.liefleed_pot_cents)
            session.add(pot)
            await session.flush()
    except IntegrityError:
        pot = await _find_pot(session, street.id, year)
        if pot is None:  # not the unique key after all
            raise
    return pot


async def balance(session: AsyncSession, *, street_id: int, year: int) -> Balance:
    """Pot, spent, left and number of attentions of a street's year (no pot created: an
    unused year shows the organisation's current pot amount, untouched)."""
    street = await session.get(Street, street_id)
    if street is None:
        raise NotFound("street.not_found")
    pot = await pot_for(session, street=street, year=year, create=False)
    if pot is None:
        org = await _organisation(session, street.organisation_id)
        amount = org.liefleed_pot_cents
        return Balance(street_id, year, amount, 0, amount, 0)
    return await _balance_of_pot(session, pot)


# -- attentions --------------------------------------------------------------------------------


async def log_attention(
    session: AsyncSession,
    *,
    actor: Person,
    street_id: int,
    occasion: str,
    kind: AttentionKind,
    cost_cents: int,
    given_on: dt.date,
    house_number: str | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> LogResult:
    """Log an attention against the pot of ``given_on``'s year; over the pot is flagged."""
    now = _aware_now(now)
    street = await _street_of_org(session, actor, street_id)
    await permissions.require_gangmaker_of(session, actor, street)
    if not street.theme_liefleed or street.status != StreetStatus.ACTIVE:
        raise Conflict("liefleed.street_not_liefleed")
    org = await _organisation(session, street.organisation_id)
    occasion_key, occasion_type = validate_occasion(occasion)
    attention_kind = validate_kind(kind)
    cost = validate_cost(cost_cents)
    day = validate_given_on(given_on, today=local_today(org, now))
    house = validate_house_number(house_number)
    clean_note = validate_note(note)

    pot = await pot_for(session, street=street, year=day.year)
    attention = Attention(
        pot_id=pot.id,
        logged_by_id=actor.id,
        occasion=occasion_key,
        occasion_type=occasion_type,
        kind=attention_kind,
        cost_cents=cost,
        given_on=day,
        house_number=house,
        note=clean_note,
        created_at=now,
    )
    session.add(attention)
    await session.flush()
    return _log_result(attention, await _balance_of_pot(session, pot))


async def correct_attention(
    session: AsyncSession,
    *,
    actor: Person,
    attention_id: int,
    now: dt.datetime | None = None,
    **changes: Any,
) -> LogResult:
    """Change fields of one's own recent entry: any of occasion, kind, cost_cents, given_on,
    house_number, note (``None`` clears the last two). Validated as when logging; a new date in
    another year moves the entry to that year's pot."""
    unknown = set(changes) - _EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)}")
    now = _aware_now(now)
    attention, pot, street, org = await _own_attention(session, actor, attention_id, now)

    new: dict[str, Any] = {}
    if "occasion" in changes:
        new["occasion"], new["occasion_type"] = validate_occasion(changes["occasion"])
    if "kind" in changes:
        new["kind"] = validate_kind(changes["kind"])
    if "cost_cents" in changes:
        new["cost_cents"] = validate_cost(changes["cost_cents"])
    if "given_on" in changes:
        new["given_on"] = validate_given_on(changes["given_on"], today=local_today(org, now))
    if "house_number" in changes:
        new["house_number"] = validate_house_number(changes["house_number"])
    if "note" in changes:
        new["note"] = validate_note(changes["note"])

    changed = sorted(name for name, value in new.items() if getattr(attention, name) != value)
    if changed:
        if "given_on" in changed and new["given_on"].year != pot.year:
            pot = await pot_for(session, street=street, year=new["given_on"].year)
            attention.pot_id = pot.id
        for name in changed:
            setattr(attention, name, new[name])
        attention.updated_at = now
        await session.flush()
        # Which fields, never their values: house numbers and notes stay out of the log.
        await audit.record(
            session,
            actor=actor,
            action="liefleed.corrected",
            object_type="attention",
            object_id=attention.id,
            street=street,
            street_id=street.id,
            fields=changed,
        )
    return _log_result(attention, await _balance_of_pot(session, pot))


async def remove_attention(
    session: AsyncSession,
    *,
    actor: Person,
    attention_id: int,
    now: dt.datetime | None = None,
) -> Removed:
    """Delete one's own entry within the edit window; the pot gets the money back."""
    now = _aware_now(now)
    attention, pot, _street, _org = await _own_attention(session, actor, attention_id, now)
    return await _remove(session, actor, attention, pot)


async def _remove(
    session: AsyncSession, actor: Person, attention: Attention, pot: LiefLeedPot
) -> Removed:
    attention_id = attention.id
    await session.delete(attention)
    await session.flush()
    # No note, no house number, no occasion: nothing that could point at a neighbour.
    await audit.record(
        session,
        actor=actor,
        action="liefleed.removed",
        object_type="attention",
        object_id=attention_id,
        street=await session.get(Street, pot.street_id),
        street_id=pot.street_id,
        year=pot.year,
        cost_cents=attention.cost_cents,
    )
    return Removed(attention=attention, balance=await _balance_of_pot(session, pot))


async def undo_last(
    session: AsyncSession,
    *,
    actor: Person,
    street_id: int,
    now: dt.datetime | None = None,
) -> Removed:
    """Remove the actor's most recently logged entry in the street, if still in the window."""
    now = _aware_now(now)
    street = await _street_of_org(session, actor, street_id)
    await permissions.require_gangmaker_of(session, actor, street)
    org = await _organisation(session, street.organisation_id)
    row = (
        await session.execute(
            _with_street(select(Attention, LiefLeedPot))
            .where(
                LiefLeedPot.street_id == street.id,
                Attention.logged_by_id == actor.id,
                Attention.created_at >= now - dt.timedelta(days=org.liefleed_edit_days),
            )
            .order_by(Attention.created_at.desc(), Attention.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("liefleed.nothing_to_undo")
    attention, pot = row
    return await _remove(session, actor, attention, pot)


async def recent_attentions(
    session: AsyncSession,
    *,
    actor: Person,
    street_id: int,
    limit: int = 5,
    now: dt.datetime | None = None,
) -> list[AttentionView]:
    """The street's latest attentions (by date given, then by logging), newest first, for its
    gangmakers and for leaders of its area or theme; ``editable`` marks what the actor may still
    change."""
    now = _aware_now(now)
    street = await _street_of_org(session, actor, street_id)
    is_gangmaker = await permissions.is_gangmaker_of(session, actor, street.id)
    if not is_gangmaker and not permissions.can_lead_street(actor, street):
        raise NotAllowed("perm.not_your_street")
    org = await _organisation(session, street.organisation_id)
    window = dt.timedelta(days=org.liefleed_edit_days)
    rows = (
        await session.execute(
            _with_street(select(Attention, LiefLeedPot.year))
            .where(LiefLeedPot.street_id == street.id)
            .order_by(Attention.given_on.desc(), Attention.created_at.desc(), Attention.id.desc())
            .limit(max(1, min(limit, RECENT_MAX)))
        )
    ).all()
    views = []
    for attention, year in rows:
        mine = attention.logged_by_id == actor.id
        views.append(
            AttentionView(
                id=attention.id,
                street_id=street.id,
                year=year,
                occasion=attention.occasion,
                occasion_type=attention.occasion_type,
                kind=attention.kind,
                cost_cents=attention.cost_cents,
                given_on=attention.given_on,
                house_number=attention.house_number if is_gangmaker else None,
                note=attention.note if is_gangmaker else None,
                logged_by_id=attention.logged_by_id,
                created_at=attention.created_at,
                mine=mine,
                editable=mine and is_gangmaker and now - attention.created_at <= window,
            )
        )
    return views


# -- retention ---------------------------------------------------------------------------------


async def purge_old_notes(session: AsyncSession, *, before: dt.datetime) -> int:
    """Clear the notes and house numbers of attentions logged before ``before`` (retention);
    the amounts, dates and occasions stay for the pot's accounts. Returns how many changed."""
    if before.tzinfo is None:
        raise ValueError("naive datetime given; pass aware UTC")
    result = await session.execute(
        update(Attention)
        .where(
            Attention.created_at < before,
            (Attention.note.is_not(None)) | (Attention.house_number.is_not(None)),
        )
        .values(note=None, house_number=None)
        .execution_options(synchronize_session="fetch")
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        await audit.record(
            session,
            actor=None,
            action="liefleed.notes_purged",
            object_type="attention",
            object_id=None,
            before=before.isoformat(),
            count=count,
        )
    return count
