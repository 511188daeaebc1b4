"""Reminders: a short message at a sensible moment, at most once per rule, person and object.

Rules (the categories a person switches on and off in settings, see
:data:`bot.services.people.REMINDER_CATEGORIES`), each for the gangmakers of the street:

- ``round_opened``: the day a round opens; while the round is open.
- ``round_closing``: 7 days before a round closes; while the round is open and the street
  (active) has no request in it other than a rejected or withdrawn one.
- ``activity_tomorrow``: the day before an awarded activity; until the activity day.
- ``report_due``: 7 days after an awarded activity; until the report is in.
- ``payout_unredeemed``: 14 days after the award; until the money is cashed.
- ``liefleed_untouched``: 1 September; while the street's pot of the year has no attention,
  in September.
- ``check_street``: 8 January; in January.

Each fires on a local date and may still fire a few days later (:data:`LATE_DAYS`: a worker that
was down catches up), and each condition is checked again just before the message is queued.

:func:`plan_reminders` (the worker runs it every minute) writes a :class:`Reminder` row with the
unique key (rule, person, object) for every rule that fires today or fired within its window, due
at the person's preferred time (``Person.reminder_minute``, else :data:`DEFAULT_MINUTE` = 10:00)
on that day, moved out of their quiet hours. A row that exists already is left alone, so a rule
never fires twice for the same person and object. :func:`queue_due_reminders` turns due rows
into deliveries with the text rendered in the person's language, after checking once more that
the rule still holds and the person still wants it (otherwise the reminder is CANCELLED). The
delivery engine marks the reminder DONE once its message is sent, failed or skipped.

Times are stored in UTC and computed in the organisation's zone, so 10:00 stays 10:00 on the
wall clock across the changes to and from summer time.

No error keys: nothing here is something a person can do wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.timing import not_quiet, wall_time, zone
from bot.i18n import Translator, translator
from bot.models import (
    Attention,
    BudgetRequest,
    ChannelIdentity,
    DeliveryStatus,
    LiefLeedPot,
    Organisation,
    Person,
    Reminder,
    ReminderStatus,
    RequestStatus,
    Round,
    Street,
    StreetMembership,
    StreetStatus,
    utcnow,
)
from bot.services.announcements import best_identities, insert_ignoring_duplicates
from bot.services.people import REMINDER_CATEGORIES, reminder_enabled

DEFAULT_MINUTE = 10 * 60  # 10:00 local, when a person chose no time of their own
ROUND_CLOSING_DAYS = 7
REPORT_DUE_DAYS = 7
PAYOUT_DAYS = 14
LIEFLEED_DAY = (9, 1)  # 1 September
CHECK_STREET_DAY = (1, 8)  # 8 January, after the holidays
# How long after its day a rule may still fire (a worker that was down catches up; a rule
# switched on for the first time does not flood people with old news).
LATE_DAYS = {
    "round_opened": 7,
    "round_closing": ROUND_CLOSING_DAYS - 1,
    "activity_tomorrow": 0,
    "report_due": 30,
    "payout_unredeemed": 30,
    "liefleed_untouched": 29,
    "check_street": 23,
}
QUEUE_LIMIT = 100  # reminders per call (one short transaction: SQLite has one writer)

AWARDED = (RequestStatus.APPROVED, RequestStatus.PARTLY_APPROVED, RequestStatus.PAID)
UNCASHED = (RequestStatus.APPROVED, RequestStatus.PARTLY_APPROVED, RequestStatus.REPORTED)
OPEN_REQUEST = (
    RequestStatus.SUBMITTED,
    RequestStatus.APPROVED,
    RequestStatus.PARTLY_APPROVED,
    RequestStatus.PAID,
    RequestStatus.REPORTED,
)
assert set(LATE_DAYS) == set(REMINDER_CATEGORIES)


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


@dataclass(frozen=True)
class Candidate:
    rule: str
    street_id: int
    object_key: str
    day: dt.date  # the local date the rule fires on
    params: dict[str, Any]


# --- what fires when ---------------------------------------------------------------------------


def _local_date(moment: dt.datetime, tz: Any) -> dt.date:
    return moment.astimezone(tz).date()


async def _candidates(
    session: AsyncSession, org: Organisation, tz: Any, today: dt.date
) -> list[Candidate]:
    """Every (rule, street, object) firing within its window around ``today``."""
    earliest = today - dt.timedelta(days=max(LATE_DAYS.values()) + 1)
    found: list[Candidate] = []
    active = select(Street.id).where(
        Street.organisation_id == org.id, Street.status == StreetStatus.ACTIVE
    )
    street_ids = list(await session.scalars(active))
    if not street_ids:
        return found

    # Rounds: opened recently, or closing within a week, and open now (or opening today).
    rounds = list(
        await session.scalars(
            select(Round).where(
                Round.organisation_id == org.id,
                Round.closes_at > wall_time(earliest, 0, tz),
                Round.opens_at < wall_time(today + dt.timedelta(days=1), 0, tz),
            )
        )
    )
    for round_ in rounds:
        opened = _local_date(round_.opens_at, tz)
        closing = _local_date(round_.closes_at - dt.timedelta(days=ROUND_CLOSING_DAYS), tz)
        for street_id in street_ids:
            found.append(
                Candidate(
                    "round_opened", street_id, f"round:{round_.id}", opened, {"round_id": round_.id}
                )
            )
            found.append(
                Candidate(
                    "round_closing",
                    street_id,
                    f"round:{round_.id}:street:{street_id}",
                    closing,
                    {"round_id": round_.id, "street_id": street_id},
                )
            )

    # Awarded requests: the day before the activity, a week after it, two weeks after award.
    requests = (
        await session.execute(
            select(
                BudgetRequest.id,
                BudgetRequest.street_id,
                BudgetRequest.activity_date,
                BudgetRequest.decided_at,
                BudgetRequest.status,
            )
            .join(Street, Street.id == BudgetRequest.street_id)
            .where(
                Street.organisation_id == org.id,
                BudgetRequest.status.in_([*AWARDED, RequestStatus.REPORTED]),
                BudgetRequest.activity_date >= earliest - dt.timedelta(days=PAYOUT_DAYS),
            )
        )
    ).all()
    for request_id, street_id, activity_date, decided_at, status in requests:
        params = {"request_id": request_id}
        key = f"request:{request_id}"
        if status in AWARDED:
            day = activity_date - dt.timedelta(days=1)
            found.append(Candidate("activity_tomorrow", street_id, key, day, params))
            day = activity_date + dt.timedelta(days=REPORT_DUE_DAYS)
            found.append(Candidate("report_due", street_id, key, day, params))
        if decided_at is not None and status in UNCASHED:
            day = _local_date(decided_at, tz) + dt.timedelta(days=PAYOUT_DAYS)
            found.append(Candidate("payout_unredeemed", street_id, key, day, params))

    # Once a year per street: the Lief & Leed pot in September, the street's details in January.
    year = today.year
    liefleed_streets = await session.scalars(active.where(Street.theme_liefleed.is_(True)))
    for street_id in liefleed_streets:
        found.append(
            Candidate(
                "liefleed_untouched",
                street_id,
                f"street:{street_id}:{year}",
                dt.date(year, *LIEFLEED_DAY),
                {"street_id": street_id, "year": year},
            )
        )
    for street_id in street_ids:
        found.append(
            Candidate(
                "check_street",
                street_id,
                f"street:{street_id}:{year}",
                dt.date(year, *CHECK_STREET_DAY),
                {"street_id": street_id},
            )
        )
    return [c for c in found if c.day <= today <= c.day + dt.timedelta(days=LATE_DAYS[c.rule])]


def due_at(
    day: dt.date,
    person_minute: int | None,
    tz: Any,
    quiet: tuple[int | None, int | None],
    now: dt.datetime,
) -> dt.datetime:
    """The person's preferred time on ``day`` (not before now), out of their quiet hours."""
    moment = max(
        wall_time(day, DEFAULT_MINUTE if person_minute is None else person_minute, tz), now
    )
    return not_quiet(moment, tz, *quiet)


def _quiet(person: Any, org: Organisation) -> tuple[int | None, int | None]:
    if person.quiet_start_minute is not None and person.quiet_end_minute is not None:
        return person.quiet_start_minute, person.quiet_end_minute
    return org.quiet_start_minute, org.quiet_end_minute


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(Reminder.__table__).on_conflict_do_nothing(
        index_elements=["rule", "person_id", "object_key"]
    )


async def plan_reminders(session: AsyncSession, *, now: dt.datetime | None = None) -> int:
    """Write the reminders that fire now (every organisation); returns how many are new."""
    now = _now(now)
    added = 0
    for org in list(await session.scalars(select(Organisation))):
        tz = zone(org.timezone)
        today = _local_date(now, tz)
        candidates = await _candidates(session, org, tz, today)
        if not candidates:
            continue
        crews: dict[int, list[Any]] = {}
        street_ids = {c.street_id for c in candidates}
        for row in (
            await session.execute(
                select(
                    StreetMembership.street_id,
                    Person.id,
                    Person.reminder_minute,
                    Person.quiet_start_minute,
                    Person.quiet_end_minute,
                    Person.reminders_off,
                )
                .join(Person, Person.id == StreetMembership.person_id)
                .where(
                    StreetMembership.street_id.in_(street_ids),
                    StreetMembership.is_gangmaker.is_(True),
                    Person.consent_at.is_not(None),
                )
            )
        ).all():
            crews.setdefault(row.street_id, []).append(row)
        rows: dict[tuple[str, int, str], dict[str, Any]] = {}
        for candidate in candidates:
            for person in crews.get(candidate.street_id, []):
                if not reminder_enabled(person, candidate.rule):
                    continue
                key = (candidate.rule, person.id, candidate.object_key)
                if key in rows:
                    continue  # e.g. one "round opened" for someone with two streets
                rows[key] = {
                    "person_id": person.id,
                    "rule": candidate.rule,
                    "object_key": candidate.object_key,
                    "due_at": due_at(
                        candidate.day, person.reminder_minute, tz, _quiet(person, org), now
                    ),
                    "status": ReminderStatus.PENDING,
                    "params": {**candidate.params, "street_id": candidate.street_id},
                    "created_at": now,
                }
        if rows:
            before = await session.scalar(select(func.count(Reminder.id))) or 0
            values = list(rows.values())
            statement = _insert_ignoring_duplicates(session)
            for offset in range(0, len(values), 2000):
                await session.execute(statement, values[offset : offset + 2000])
            added += (await session.scalar(select(func.count(Reminder.id))) or 0) - before
    return added


# --- still true? -------------------------------------------------------------------------------


@dataclass
class _Facts:
    """Everything a chunk of due reminders needs, read in a few queries."""

    people: dict[int, Person]
    orgs: dict[int, Organisation]
    identities: dict[int, int]  # person -> best reachable identity
    streets: dict[int, Street]
    crews: set[tuple[int, int]]  # (street, person) gangmaker memberships
    rounds: dict[int, Round]
    requests: dict[int, BudgetRequest]
    asked: set[tuple[int, int]]  # (round, street) with a live request
    pots_used: set[tuple[int, int]]  # (street, year) with an attention


def _ids(reminders: list[Reminder], name: str) -> set[int]:
    return {int(r.params[name]) for r in reminders if (r.params or {}).get(name) is not None}


async def _facts(session: AsyncSession, due: list[Reminder]) -> _Facts:
    person_ids = {r.person_id for r in due}
    people = {
        p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(person_ids)))
    }
    org_ids = {p.organisation_id for p in people.values()}
    orgs = {
        o.id: o
        for o in await session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))
    }
    best = best_identities(
        (
            await session.execute(
                select(
                    ChannelIdentity.person_id,
                    ChannelIdentity.id,
                    ChannelIdentity.preferred,
                    ChannelIdentity.last_inbound_at,
                ).where(
                    ChannelIdentity.person_id.in_(person_ids), ChannelIdentity.reachable.is_(True)
                )
            )
        ).all()
    )
    street_ids = _ids(due, "street_id")
    streets = {
        s.id: s for s in await session.scalars(select(Street).where(Street.id.in_(street_ids)))
    }
    crews = {
        (row[0], row[1])
        for row in await session.execute(
            select(StreetMembership.street_id, StreetMembership.person_id).where(
                StreetMembership.street_id.in_(street_ids),
                StreetMembership.person_id.in_(person_ids),
                StreetMembership.is_gangmaker.is_(True),
            )
        )
    }
    round_ids = _ids(due, "round_id")
    rounds = {r.id: r for r in await session.scalars(select(Round).where(Round.id.in_(round_ids)))}
    requests = {
        r.id: r
        for r in await session.scalars(
            select(BudgetRequest).where(BudgetRequest.id.in_(_ids(due, "request_id")))
        )
    }
    asked = {
        (row[0], row[1])
        for row in await session.execute(
            select(BudgetRequest.round_id, BudgetRequest.street_id).where(
                BudgetRequest.round_id.in_(round_ids),
                BudgetRequest.street_id.in_(street_ids),
                BudgetRequest.status.in_(OPEN_REQUEST),
            )
        )
    }
    pots_used = {
        (row[0], row[1])
        for row in await session.execute(
            select(LiefLeedPot.street_id, LiefLeedPot.year)
            .where(
                LiefLeedPot.street_id.in_(street_ids),
                exists().where(Attention.pot_id == LiefLeedPot.id),
            )
            .distinct()
        )
    }
    return _Facts(
        people,
        orgs,
        {person: identity.id for person, identity in best.items()},
        streets,
        crews,
        rounds,
        requests,
        asked,
        pots_used,
    )


def still_holds(reminder: Reminder, facts: _Facts, today: dt.date, now: dt.datetime) -> bool:
    """Whether the rule of a due reminder is still true (see the module docstring)."""
    params = reminder.params or {}
    street = facts.streets.get(params.get("street_id", -1))
    if street is None or street.status != StreetStatus.ACTIVE:
        return False
    if (street.id, reminder.person_id) not in facts.crews:
        return False
    rule = reminder.rule
    if rule in ("round_opened", "round_closing"):
        round_ = facts.rounds.get(params.get("round_id", -1))
        if round_ is None or not round_.opens_at <= now < round_.closes_at:
            return False
        return rule == "round_opened" or (round_.id, street.id) not in facts.asked
    if rule in ("activity_tomorrow", "report_due", "payout_unredeemed"):
        request = facts.requests.get(params.get("request_id", -1))
        if request is None:
            return False
        if rule == "activity_tomorrow":
            return request.status in AWARDED and today < request.activity_date
        if rule == "report_due":
            return request.status in AWARDED and request.reported_at is None
        return (
            request.status in UNCASHED
            and request.paid_at is None
            and request.awarded_cents is not None
        )
    if rule == "liefleed_untouched":
        year = int(params.get("year", today.year))
        return (
            street.theme_liefleed
            and today.month == LIEFLEED_DAY[0]
            and (street.id, year) not in facts.pots_used
        )
    if rule == "check_street":
        return today.month == CHECK_STREET_DAY[0]
    return False


# --- texts -------------------------------------------------------------------------------------


def reminder_text(reminder: Reminder, facts: _Facts, org: Organisation, t: Translator) -> str:
    """The reminder's text in the translator's language (names, money and dates included)."""
    params = reminder.params or {}
    street = facts.streets[params["street_id"]]
    street_name = f"{street.name} {street.section}" if street.section else street.name
    rule = reminder.rule
    text: str
    if rule in ("round_opened", "round_closing"):
        round_ = facts.rounds[params["round_id"]]
        name = round_.name(t.language)
        # The last day of the round is the day before it closes at midnight.
        last_day = round_.closes_at - dt.timedelta(seconds=1)
        if rule == "round_opened":
            text = t._(
                "The round {round} is open. {street} can ask for a contribution until {date}.",
                round=name,
                street=street_name,
                date=t.date(last_day),
            )
        else:
            text = t._(
                "The round {round} ends in a week. {date} is the last day. {street} has not "
                "asked for a contribution yet.",
                round=name,
                date=t.date(last_day),
                street=street_name,
            )
    elif rule in ("activity_tomorrow", "report_due", "payout_unredeemed"):
        request = facts.requests[params["request_id"]]
        if rule == "activity_tomorrow":
            text = t._(
                "Tomorrow is the day of “{activity}” in {street}. Have a good time together!",
                activity=request.activity,
                street=street_name,
            )
        elif rule == "report_due":
            text = t._(
                "How did “{activity}” go? Please report back with a photo and the number of "
                "people who took part.",
                activity=request.activity,
            )
        else:
            text = t._(
                "The contribution of {amount} for “{activity}” has not been collected yet. "
                "Take your payout code to the payout point.",
                amount=t.money(request.awarded_cents or 0),
                activity=request.activity,
            )
    elif rule == "liefleed_untouched":
        text = t._(
            "The Lief & Leed pot of {street} has not been used this year. There is {amount} "
            "for attention to neighbours in happy or sad times.",
            street=street_name,
            amount=t.money(org.liefleed_pot_cents),
        )
    else:
        text = t._(
            "A new year! Please check the details of {street} in the menu: are they still right?",
            street=street_name,
        )
    return text + "\n\n" + t._("You can switch this reminder off under Settings.")


# --- into the outbox ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    seen: int  # due reminders looked at (queued or cancelled)
    queued: int


async def queue_due_reminders(
    session: AsyncSession, *, now: dt.datetime | None = None, limit: int = QUEUE_LIMIT
) -> Queued:
    """Queue a message for up to ``limit`` pending reminders that are due and still hold (call
    again while ``seen == limit``).

    A reminder that no longer holds, or whose category the person switched off, or whose person
    has no reachable chat address, is CANCELLED. The delivery key is ``rem:<reminder id>``, so
    two workers queueing the same reminder make one delivery.
    """
    now = _now(now)
    query = (
        select(Reminder)
        .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(await session.scalars(query))
    if not due:
        return Queued(0, 0)
    facts = await _facts(session, due)
    cancelled: list[int] = []
    deliveries: list[dict[str, Any]] = []
    for reminder in due:
        person = facts.people.get(reminder.person_id)
        org = facts.orgs.get(person.organisation_id) if person else None
        identity_id = facts.identities.get(reminder.person_id)
        if person is None or org is None or identity_id is None:
            cancelled.append(reminder.id)
            continue
        tz = zone(org.timezone)
        if not reminder_enabled(person, reminder.rule) or not still_holds(
            reminder, facts, _local_date(now, tz), now
        ):
            cancelled.append(reminder.id)
            continue
        body = reminder_text(reminder, facts, org, translator(person.language, org.timezone))
        deliveries.append(
            {
                "key": f"rem:{reminder.id}",
                "person_id": person.id,
                "announcement_id": None,
                "reminder_id": reminder.id,
                "identity_id": identity_id,
                "body": body,
                "status": DeliveryStatus.QUEUED,
                "attempts": 0,
                "next_attempt_at": not_quiet(now, tz, *_quiet(person, org)),
                "urgent": False,
                "created_at": now,
            }
        )
    if cancelled:
        await session.execute(
            update(Reminder)
            .where(Reminder.id.in_(cancelled), Reminder.status == ReminderStatus.PENDING)
            .values(status=ReminderStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        )
    if deliveries:
        await session.execute(
            update(Reminder)
            .where(
                Reminder.id.in_([d["reminder_id"] for d in deliveries]),
                Reminder.status == ReminderStatus.PENDING,
            )
            .values(status=ReminderStatus.QUEUED)
            .execution_options(synchronize_session=False)
        )
        await session.execute(insert_ignoring_duplicates(session), deliveries)
    for reminder in due:
        session.expire(reminder, ["status"])  # changed in the database above
    return Queued(len(due), len(deliveries))
