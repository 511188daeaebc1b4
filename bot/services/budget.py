"""The life cycle of a budget request (bijdrage): submit, review, payout, report.

::

    SUBMITTED ──approve──> APPROVED ────────┐
        │     ──partly───> PARTLY_APPROVED ─┼──redeem──> PAID ──report──> REPORTED
        │     ──reject───> REJECTED         └──────────report───────────> REPORTED
        └─────withdraw───> WITHDRAWN

Every status change goes through :func:`change_status`, which checks :data:`TRANSITIONS` and
writes with a conditional ``UPDATE ... WHERE status = <the status we checked>``, so two people
acting at the same moment cannot both move the same request (the second one is refused).

An award carries a payout code that a payout point redeems exactly once. A street that reported
before cashing keeps its money: a REPORTED request with an award and no ``paid_at`` can still be
redeemed once (its status stays REPORTED, ``paid_at`` is set).

Error keys (with their parameters):

- ``NotFound("street.not_found")``, ``NotFound("round.not_found")``,
  ``NotFound("budget.not_found")``: no such thing in the actor's organisation (or, for a request
  looked up by reference, not visible to the actor).
- ``NotAllowed("perm.not_your_street")``: the actor is not a gangmaker of the street.
- ``NotAllowed("perm.not_leader_of_area")``: the actor does not lead the street's area.
- ``NotAllowed("perm.not_leader")``: the review queue is for leaders and admins.
- ``NotAllowed("perm.not_payout_point")``: only payout-point people (and admins) handle payouts,
  and only for their own payout points.
- ``Conflict("budget.street_not_active", status=...)``: the street is not (yet) active.
- ``Conflict("budget.round_closed", round=...)``: the round (name in the actor's language) is
  not open now.
- ``InvalidInput("budget.amount_not_positive")``: the amount is zero or negative.
- ``InvalidInput("budget.amount_over_max", max_cents=...)``: more than the round's maximum.
- ``InvalidInput("budget.activity_length", min=2, max=200)``: activity text too short or long.
- ``InvalidInput("budget.plan_too_long", max=500)``.
- ``InvalidInput("budget.participants_out_of_range", min=1, max=10000)``: on submit and report.
- ``InvalidInput("budget.date_in_past")``: before today in the organisation's time zone.
- ``InvalidInput("budget.date_too_far", max_days=366)``: more than 366 days after today.
- ``Conflict("budget.already_requested", reference=...)``: the street already has the maximum
  number of requests in this round that are not rejected or withdrawn; ``reference`` is the
  newest of them.
- ``InvalidInput("budget.decision_unknown", decision=...)``: not approve, partly or reject.
- ``InvalidInput("budget.approve_amount_mismatch", asked_cents=...)``: an approval with an
  amount other than the asked one (use "partly" for less).
- ``InvalidInput("budget.partly_amount_invalid", asked_cents=...)``: a partial award must be more
  than 0 and less than the asked amount.
- ``InvalidInput("budget.reason_required")``: a rejection or partial award needs a reason.
- ``InvalidInput("budget.reason_too_long", max=500)``.
- ``IllegalTransition("budget.not_reviewable", status=...)``: only SUBMITTED can be reviewed.
- ``IllegalTransition("budget.not_withdrawable", status=...)``: only SUBMITTED can be withdrawn.
- ``IllegalTransition("budget.not_reportable", status=...)``: only an awarded request (paid or
  not) can be reported, once.
- ``InvalidInput("budget.report_too_early", activity_date=...)``: before the activity day (in
  the organisation's time zone); on the day itself reporting is allowed.
- ``InvalidInput("budget.too_many_photos", max=10)``.
- ``NotFound("payout.code_unknown")``: no award with this code in the organisation.
- ``Conflict("payout.already_redeemed", paid_at=...)``: cashed before, at ``paid_at`` (UTC).
- ``IllegalTransition("payout.not_redeemable", status=...)``: the request cannot be cashed.
- ``InvalidInput("payout.point_required")``: the actor works at several payout points and must
  say at which one the money is paid.
- ``NotFound("payout.point_unknown")``: no such payout point in the organisation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm.attributes import set_committed_value

from bot.errors import Conflict, IllegalTransition, InvalidInput, NotAllowed, NotFound
from bot.models import (
    BudgetRequest,
    Organisation,
    PayoutPoint,
    Person,
    RequestStatus,
    Round,
    Street,
    StreetMembership,
    StreetStatus,
    utcnow,
)
from bot.services import audit, codes, permissions, rounds

S = RequestStatus

# The life cycle as data: from each status, the statuses it may change to. Nothing else moves.
TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = MappingProxyType(
    {
        S.SUBMITTED: frozenset({S.APPROVED, S.PARTLY_APPROVED, S.REJECTED, S.WITHDRAWN}),
        S.APPROVED: frozenset({S.PAID, S.REPORTED}),
        S.PARTLY_APPROVED: frozenset({S.PAID, S.REPORTED}),
        S.PAID: frozenset({S.REPORTED}),
        S.REJECTED: frozenset(),
        S.WITHDRAWN: frozenset(),
        S.REPORTED: frozenset(),
    }
)

# Requests that count against a street's per-round limit (every status but the two endings
# that leave nothing behind).
COUNTING_STATUSES = frozenset(set(RequestStatus) - {S.REJECTED, S.WITHDRAWN})

Decision = Literal["approve", "partly", "reject"]
_DECISIONS: dict[str, tuple[RequestStatus, str]] = {
    "approve": (S.APPROVED, "budget.approved"),
    "partly": (S.PARTLY_APPROVED, "budget.partly_approved"),
    "reject": (S.REJECTED, "budget.rejected"),
}

ACTIVITY_MIN = 2
ACTIVITY_MAX = 200
PLAN_MAX = 500
REASON_MAX = 500
PARTICIPANTS_MIN = 1
PARTICIPANTS_MAX = 10_000
DAYS_AHEAD_MAX = 366
PHOTOS_MAX = 10
_CODE_ATTEMPTS = 10


def can_change(from_status: RequestStatus, to_status: RequestStatus) -> bool:
    return to_status in TRANSITIONS[from_status]


def sources_of(to_status: RequestStatus) -> frozenset[RequestStatus]:
    """The statuses from which ``to_status`` can be reached."""
    return frozenset(src for src, targets in TRANSITIONS.items() if to_status in targets)


# --- helpers -------------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


async def _local_today(session: AsyncSession, organisation_id: int, now: dt.datetime) -> dt.date:
    org = await session.get(Organisation, organisation_id)
    assert org is not None
    return now.astimezone(ZoneInfo(org.timezone)).date()


async def _with_relations(session: AsyncSession, request: BudgetRequest) -> BudgetRequest:
    """Make ``request.street`` and ``request.round`` safe to touch.

    An object taken from the identity map (``session.get``, a fresh insert) may not have them
    loaded, and a lazy load cannot run under asyncio.
    """
    unloaded = sa_inspect(request).unloaded
    if "street" in unloaded:
        set_committed_value(request, "street", await session.get(Street, request.street_id))
    if "round" in unloaded:
        set_committed_value(request, "round", await session.get(Round, request.round_id))
    return request


async def _unique_code(
    session: AsyncSession, make: Callable[[], str], column: InstrumentedAttribute[Any]
) -> str:
    # Collisions are very unlikely (31^6 references, 31^8 payout codes) but must not fail a
    # request; the unique constraint still guards against a race between two sessions.
    for _ in range(_CODE_ATTEMPTS):
        code = make()
        if await session.scalar(select(column).where(column == code)) is None:
            return code
    raise RuntimeError(f"no free code for {column} after {_CODE_ATTEMPTS} attempts")


async def _conditional_update(
    session: AsyncSession,
    request: BudgetRequest,
    where: Iterable[ColumnElement[bool]],
    values: dict[str, Any],
) -> bool:
    """UPDATE the request only if ``where`` still holds in the database.

    Returns False (with ``request`` reloaded) when another transaction got there first.
    """
    result = await session.execute(
        update(BudgetRequest)
        .where(BudgetRequest.id == request.id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(request)
        await _with_relations(session, request)
        return False
    for key, value in values.items():
        set_committed_value(request, key, value)
    return True


async def change_status(
    session: AsyncSession,
    request: BudgetRequest,
    to_status: RequestStatus,
    *,
    now: dt.datetime,
    error_key: str,
    where: Iterable[ColumnElement[bool]] = (),
    **values: Any,
) -> None:
    """The one way a request changes status: allowed by :data:`TRANSITIONS`, and only if the
    row still has the status we checked (else ``IllegalTransition(error_key, status=...)``
    with the status it has now)."""
    if not can_change(request.status, to_status):
        raise IllegalTransition(error_key, status=request.status.value)
    changed = await _conditional_update(
        session,
        request,
        [BudgetRequest.status == request.status, *where],
        {"status": to_status, "updated_at": now, **values},
    )
    if not changed:
        raise IllegalTransition(error_key, status=request.status.value)


async def _audit(
    session: AsyncSession,
    *,
    actor: Person,
    action: str,
    request: BudgetRequest,
    now: dt.datetime,
    **details: Any,
) -> None:
    entry = await audit.record(
        session,
        actor=actor,
        action=action,
        object_type="budget_request",
        object_id=request.id,
        organisation_id=request.street.organisation_id,
        street=request.street,
        reference=request.reference,
        **details,
    )
    entry.at = now  # the service's clock, so the log agrees with the row it describes
    await session.flush()


async def _get_request(session: AsyncSession, actor: Person, request_id: int) -> BudgetRequest:
    request = await session.get(BudgetRequest, request_id)
    if request is None:
        raise NotFound("budget.not_found")
    await _with_relations(session, request)
    if request.street.organisation_id != actor.organisation_id:
        raise NotFound("budget.not_found")
    return request


def _check_participants(participants: int) -> None:
    if not PARTICIPANTS_MIN <= participants <= PARTICIPANTS_MAX:
        raise InvalidInput(
            "budget.participants_out_of_range", min=PARTICIPANTS_MIN, max=PARTICIPANTS_MAX
        )


def _clean_reason(reason: str | None) -> str | None:
    text = (reason or "").strip()
    if len(text) > REASON_MAX:
        raise InvalidInput("budget.reason_too_long", max=REASON_MAX)
    return text or None


# --- submit and withdraw -------------------------------------------------------------------


async def submit_request(
    session: AsyncSession,
    *,
    actor: Person,
    street_id: int,
    round_id: int,
    activity: str,
    activity_date: dt.date,
    expected_participants: int,
    amount_cents: int,
    plan: str | None,
    now: dt.datetime | None = None,
) -> BudgetRequest:
    """A gangmaker asks a round's contribution for an activity of their (active) street."""
    now = _now(now)
    street = await session.get(Street, street_id)
    if street is None or street.organisation_id != actor.organisation_id:
        raise NotFound("street.not_found")
    await permissions.require_gangmaker_of(session, actor, street)
    if street.status != StreetStatus.ACTIVE:
        raise Conflict("budget.street_not_active", status=street.status.value)
    round_ = await session.get(Round, round_id)
    if round_ is None or round_.organisation_id != street.organisation_id:
        raise NotFound("round.not_found")
    if not rounds.is_open(round_, now):
        raise Conflict("budget.round_closed", round=round_.name(actor.language))

    if amount_cents <= 0:
        raise InvalidInput("budget.amount_not_positive")
    if amount_cents > round_.max_amount_cents:
        raise InvalidInput("budget.amount_over_max", max_cents=round_.max_amount_cents)
    activity_text = " ".join(activity.split())
    if not ACTIVITY_MIN <= len(activity_text) <= ACTIVITY_MAX:
        raise InvalidInput("budget.activity_length", min=ACTIVITY_MIN, max=ACTIVITY_MAX)
    plan_text = (plan or "").strip() or None
    if plan_text is not None and len(plan_text) > PLAN_MAX:
        raise InvalidInput("budget.plan_too_long", max=PLAN_MAX)
    _check_participants(expected_participants)
    today = await _local_today(session, street.organisation_id, now)
    if activity_date < today:
        raise InvalidInput("budget.date_in_past")
    if activity_date > today + dt.timedelta(days=DAYS_AHEAD_MAX):
        raise InvalidInput("budget.date_too_far", max_days=DAYS_AHEAD_MAX)

    # Lock the street (PostgreSQL) so two gangmakers of one street cannot both slip under the
    # per-round limit at the same moment.
    await session.execute(select(Street.id).where(Street.id == street.id).with_for_update())
    org = await session.get(Organisation, street.organisation_id)
    assert org is not None
    existing = (
        await session.scalars(
            select(BudgetRequest.reference)
            .where(
                BudgetRequest.street_id == street.id,
                BudgetRequest.round_id == round_.id,
                BudgetRequest.status.in_(COUNTING_STATUSES),
            )
            .order_by(BudgetRequest.created_at.desc(), BudgetRequest.id.desc())
        )
    ).all()
    if len(existing) >= org.max_open_requests_per_round:
        raise Conflict("budget.already_requested", reference=existing[0])

    request = BudgetRequest(
        reference=await _unique_code(session, codes.new_reference, BudgetRequest.reference),
        round_id=round_.id,
        street_id=street.id,
        requested_by_id=actor.id,
        activity=activity_text,
        activity_date=activity_date,
        expected_participants=expected_participants,
        amount_cents=amount_cents,
        plan=plan_text,
        status=S.SUBMITTED,
        report_photos=[],
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    await session.flush()
    return await _with_relations(session, request)


async def withdraw_request(
    session: AsyncSession, *, actor: Person, request_id: int, now: dt.datetime | None = None
) -> BudgetRequest:
    """A gangmaker of the street takes back a request that has not been reviewed yet."""
    now = _now(now)
    request = await _get_request(session, actor, request_id)
    await permissions.require_gangmaker_of(session, actor, request.street)
    await change_status(session, request, S.WITHDRAWN, now=now, error_key="budget.not_withdrawable")
    await _audit(session, actor=actor, action="budget.withdrawn", request=request, now=now)
    return request


# --- review --------------------------------------------------------------------------------


async def review_request(
    session: AsyncSession,
    *,
    actor: Person,
    request_id: int,
    decision: Decision,
    awarded_cents: int | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> BudgetRequest:
    """A leader of the street's area or theme (or an admin) approves, partly approves or
    rejects."""
    now = _now(now)
    request = await _get_request(session, actor, request_id)
    permissions.require_leader_of_street(actor, request.street)
    if decision not in _DECISIONS:
        raise InvalidInput("budget.decision_unknown", decision=str(decision))
    target, action = _DECISIONS[decision]
    if not can_change(request.status, target):
        raise IllegalTransition("budget.not_reviewable", status=request.status.value)
    reason_text = _clean_reason(reason)
    asked = request.amount_cents

    awarded: int | None
    if decision == "approve":
        if awarded_cents is not None and awarded_cents != asked:
            raise InvalidInput("budget.approve_amount_mismatch", asked_cents=asked)
        awarded = asked
    elif decision == "partly":
        if awarded_cents is None or not 0 < awarded_cents < asked:
            raise InvalidInput("budget.partly_amount_invalid", asked_cents=asked)
        if reason_text is None:
            raise InvalidInput("budget.reason_required")
        awarded = awarded_cents
    else:
        if reason_text is None:
            raise InvalidInput("budget.reason_required")
        awarded = None

    payout_code = (
        await _unique_code(session, codes.new_payout_code, BudgetRequest.payout_code)
        if awarded
        else None
    )
    await change_status(
        session,
        request,
        target,
        now=now,
        error_key="budget.not_reviewable",
        awarded_cents=awarded,
        decision_reason=reason_text,
        decided_by_id=actor.id,
        decided_at=now,
        payout_code=payout_code,
    )
    await _audit(
        session,
        actor=actor,
        action=action,
        request=request,
        now=now,
        asked_cents=asked,
        awarded_cents=awarded,
        reason=reason_text,
    )
    return request


# --- payout --------------------------------------------------------------------------------


async def _request_by_code(session: AsyncSession, actor: Person, code: str) -> BudgetRequest:
    key = codes.normalise_code(code)
    request = (
        await session.scalar(select(BudgetRequest).where(BudgetRequest.payout_code == key))
        if key
        else None
    )
    if request is None:
        raise NotFound("payout.code_unknown")
    await _with_relations(session, request)
    if request.street.organisation_id != actor.organisation_id:
        raise NotFound("payout.code_unknown")
    return request


async def _payout_point_for(
    session: AsyncSession, actor: Person, points: set[int], payout_point_id: int | None
) -> int | None:
    if payout_point_id is None:
        if len(points) == 1:
            return next(iter(points))
        if points:
            raise InvalidInput("payout.point_required")
        return None  # an admin paying out without a point
    if payout_point_id not in points and not permissions.is_admin(actor):
        raise NotAllowed("perm.not_payout_point")
    point = await session.get(PayoutPoint, payout_point_id)
    if point is None or point.organisation_id != actor.organisation_id:
        raise NotFound("payout.point_unknown")
    return payout_point_id


async def lookup_payout(session: AsyncSession, *, actor: Person, code: str) -> BudgetRequest:
    """What a payout point sees after typing a code (paid or not: check ``paid_at``)."""
    permissions.require_payout_point(actor)
    return await _request_by_code(session, actor, code)


async def redeem_payout(
    session: AsyncSession,
    *,
    actor: Person,
    code: str,
    payout_point_id: int | None = None,
    now: dt.datetime | None = None,
) -> BudgetRequest:
    """Cash an award, exactly once, even if two payout points try at the same moment."""
    now = _now(now)
    points = permissions.require_payout_point(actor)
    point_id = await _payout_point_for(session, actor, points, payout_point_id)
    request = await _request_by_code(session, actor, code)
    if request.paid_at is not None:
        raise Conflict("payout.already_redeemed", paid_at=request.paid_at)

    values = {"paid_at": now, "paid_at_point_id": point_id}
    unpaid = BudgetRequest.paid_at.is_(None)
    if request.status == S.REPORTED and request.awarded_cents:
        # Reported before cashing: pay out without a status change.
        changed = await _conditional_update(
            session,
            request,
            [BudgetRequest.status == S.REPORTED, unpaid],
            {**values, "updated_at": now},
        )
        if not changed and request.paid_at is None:
            raise IllegalTransition("payout.not_redeemable", status=request.status.value)
    else:
        try:
            await change_status(
                session,
                request,
                S.PAID,
                now=now,
                error_key="payout.not_redeemable",
                where=[unpaid],
                **values,
            )
            changed = True
        except IllegalTransition:
            if request.paid_at is None:
                raise
            changed = False
    if not changed:
        # Another payout point was faster.
        raise Conflict("payout.already_redeemed", paid_at=request.paid_at)

    await _audit(
        session,
        actor=actor,
        action="payout.redeemed",
        request=request,
        now=now,
        awarded_cents=request.awarded_cents,
        payout_point_id=point_id,
    )
    return request


# --- report --------------------------------------------------------------------------------


async def report_activity(
    session: AsyncSession,
    *,
    actor: Person,
    request_id: int,
    participants: int,
    photos: list[str],
    now: dt.datetime | None = None,
) -> BudgetRequest:
    """Light accountability after the activity: how many took part, and photos if any."""
    now = _now(now)
    request = await _get_request(session, actor, request_id)
    await permissions.require_gangmaker_of(session, actor, request.street)
    if not can_change(request.status, S.REPORTED):
        raise IllegalTransition("budget.not_reportable", status=request.status.value)
    today = await _local_today(session, request.street.organisation_id, now)
    if today < request.activity_date:
        raise InvalidInput("budget.report_too_early", activity_date=request.activity_date)
    _check_participants(participants)
    photo_refs = [p.strip() for p in photos if p and p.strip()]
    if len(photo_refs) > PHOTOS_MAX:
        raise InvalidInput("budget.too_many_photos", max=PHOTOS_MAX)
    await change_status(
        session,
        request,
        S.REPORTED,
        now=now,
        error_key="budget.not_reportable",
        reported_at=now,
        report_participants=participants,
        report_photos=photo_refs,
    )
    return request


# --- queries -------------------------------------------------------------------------------


async def requests_of_person(session: AsyncSession, person: Person) -> list[BudgetRequest]:
    """The requests of every street the person is a gangmaker of, newest first."""
    street_ids = select(StreetMembership.street_id).where(
        StreetMembership.person_id == person.id, StreetMembership.is_gangmaker.is_(True)
    )
    result = await session.scalars(
        select(BudgetRequest)
        .where(BudgetRequest.street_id.in_(street_ids))
        .order_by(BudgetRequest.created_at.desc(), BudgetRequest.id.desc())
    )
    return list(result)


async def request_by_reference(
    session: AsyncSession, *, actor: Person, reference: str
) -> BudgetRequest:
    """A request by its reference, typed loosely ("b-k7m2qx", "K7M2QX"); visible to the
    street's gangmakers, the leaders of its area or theme and admins, ``NotFound`` for
    anybody else."""
    key = codes.normalise_code(reference)
    if len(key) == 7 and key.startswith("B"):
        key = key[1:]
    request = (
        await session.scalar(select(BudgetRequest).where(BudgetRequest.reference == "B-" + key))
        if len(key) == 6
        else None
    )
    if request is None:
        raise NotFound("budget.not_found")
    await _with_relations(session, request)
    if request.street.organisation_id != actor.organisation_id:
        raise NotFound("budget.not_found")
    if not permissions.can_lead_street(
        actor, request.street
    ) and not await permissions.is_gangmaker_of(session, actor, request.street_id):
        raise NotFound("budget.not_found")
    return request


async def review_queue(
    session: AsyncSession,
    *,
    actor: Person,
    round_id: int | None = None,
    area_id: int | None = None,
    status: RequestStatus | Literal["all"] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[BudgetRequest]:
    """Requests of the streets the leader oversees (their areas, their themes; everything for
    an admin), oldest first. ``area_id`` narrows to one area: a theme lead may pick any (their
    theme's streets in it), an area leader only their own.

    ``status`` None means awaiting review (SUBMITTED); ``"all"`` means every status.
    ``limit`` and ``offset`` page through a long queue (the web dashboard).
    """
    scope = permissions.leader_scope(actor)
    if scope.empty:
        raise NotAllowed("perm.not_leader")
    whole = scope.whole_areas
    if area_id is not None and whole is not None and area_id not in whole:
        raise NotAllowed("perm.not_leader_of_area")

    streets = select(Street.id).where(scope.streets())
    if area_id is not None:
        streets = streets.where(Street.area_id == area_id)
    query = select(BudgetRequest).where(BudgetRequest.street_id.in_(streets))
    if round_id is not None:
        query = query.where(BudgetRequest.round_id == round_id)
    if status is None:
        query = query.where(BudgetRequest.status == S.SUBMITTED)
    elif status != "all":
        query = query.where(BudgetRequest.status == RequestStatus(status))
    query = query.order_by(BudgetRequest.created_at, BudgetRequest.id)
    if limit is not None:
        query = query.limit(limit).offset(max(offset, 0))
    result = await session.scalars(query)
    return list(result)


async def reportable_requests(
    session: AsyncSession, person: Person, *, today: dt.date
) -> list[BudgetRequest]:
    """The person's awarded requests whose activity day has come and that await a report."""
    return [
        request
        for request in await requests_of_person(session, person)
        if can_change(request.status, RequestStatus.REPORTED) and request.activity_date <= today
    ]
