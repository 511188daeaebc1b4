"""Reminders with a controlled clock: each rule at its moment, once, in the person's language, at
their preferred time and out of quiet hours, also on the nights the clocks change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.timing import in_quiet_hours, not_quiet, quiet_until, wall_time
from bot.models import (
    Attention,
    AttentionKind,
    BudgetRequest,
    Channel,
    ChannelIdentity,
    Delivery,
    DeliveryStatus,
    LiefLeedPot,
    OccasionType,
    Reminder,
    ReminderStatus,
    RequestStatus,
    StreetMembership,
    StreetStatus,
)
from bot.services import reminders as rem
from tests import factories as f

AMS = ZoneInfo("Europe/Amsterdam")


def local(*args: int) -> dt.datetime:
    """An Amsterdam wall-clock time as aware UTC."""
    return dt.datetime(*args, tzinfo=AMS).astimezone(dt.UTC)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
async def street_world(session: AsyncSession) -> dict:
    org = await f.organisation(session)
    area = await f.area(session, org)
    fatima = await f.person(session, org, "Fatima", channel=Channel.TELEGRAM, address="1001")
    john = await f.person(session, org, "John", language="en", channel=Channel.TELEGRAM)
    street = await f.street(session, org, area, gangmakers=(fatima, john))
    return {"org": org, "area": area, "fatima": fatima, "john": john, "street": street}


async def reminders_of(session: AsyncSession, rule: str | None = None) -> list[Reminder]:
    query = select(Reminder).order_by(Reminder.person_id, Reminder.id)
    if rule:
        query = query.where(Reminder.rule == rule)
    return list(await session.scalars(query))


async def request_(
    session: AsyncSession,
    world: dict,
    round_,
    *,
    status: RequestStatus = RequestStatus.APPROVED,
    activity_date: dt.date,
    decided_at: dt.datetime | None = None,
) -> BudgetRequest:
    item = BudgetRequest(
        reference=f"B-{dt.datetime.now().microsecond:06d}"[:8],
        round_id=round_.id,
        street_id=world["street"].id,
        requested_by_id=world["fatima"].id,
        activity="Buurtbarbecue",
        activity_date=activity_date,
        expected_participants=30,
        amount_cents=15000,
        status=status,
        awarded_cents=15000 if status is not RequestStatus.SUBMITTED else None,
        decided_at=decided_at,
    )
    session.add(item)
    await session.flush()
    return item


# --- time ------------------------------------------------------------------------------------


def test_quiet_hours_wrap_midnight_and_end_on_the_wall_clock() -> None:
    start, end = 21 * 60, 9 * 60
    assert not in_quiet_hours(local(2026, 5, 12, 20, 59), AMS, start, end)
    assert in_quiet_hours(local(2026, 5, 12, 21, 0), AMS, start, end)
    assert in_quiet_hours(local(2026, 5, 13, 8, 59), AMS, start, end)
    assert not in_quiet_hours(local(2026, 5, 13, 9, 0), AMS, start, end)
    assert quiet_until(local(2026, 5, 12, 23, 0), AMS, start, end) == local(2026, 5, 13, 9, 0)
    assert quiet_until(local(2026, 5, 13, 3, 0), AMS, start, end) == local(2026, 5, 13, 9, 0)
    assert quiet_until(local(2026, 5, 13, 12, 0), AMS, start, end) is None
    # Same start and end: no quiet hours. A period within one day works too.
    assert not in_quiet_hours(local(2026, 5, 13, 3, 0), AMS, 600, 600)
    assert quiet_until(local(2026, 5, 13, 13, 0), AMS, 12 * 60, 14 * 60) == local(2026, 5, 13, 14)
    assert not_quiet(local(2026, 5, 13, 13, 0), AMS, None, None) == local(2026, 5, 13, 13, 0)


def test_quiet_nights_around_the_clock_changes() -> None:
    start, end = 21 * 60, 9 * 60
    # Last Sunday of March 2026: 02:00 CET becomes 03:00 CEST; the night is an hour shorter.
    evening = local(2026, 3, 28, 22, 0)
    assert evening == utc(2026, 3, 28, 21, 0)
    assert quiet_until(evening, AMS, start, end) == utc(2026, 3, 29, 7, 0)  # 09:00 CEST
    # Last Sunday of October 2026: 03:00 CEST becomes 02:00 CET; the night is an hour longer.
    evening = local(2026, 10, 24, 22, 0)
    assert evening == utc(2026, 10, 24, 20, 0)
    assert quiet_until(evening, AMS, start, end) == utc(2026, 10, 25, 8, 0)  # 09:00 CET
    # During the hour that happens twice, both are quiet and both end at 09:00 CET.
    assert quiet_until(utc(2026, 10, 25, 0, 30), AMS, start, end) == utc(2026, 10, 25, 8, 0)
    assert quiet_until(utc(2026, 10, 25, 1, 30), AMS, start, end) == utc(2026, 10, 25, 8, 0)
    # A wall time that does not exist (02:30 on 29 March) comes out an hour later on the clock.
    assert wall_time(dt.date(2026, 3, 29), 150, AMS) == utc(2026, 3, 29, 1, 30)


def test_preferred_time_keeps_the_wall_clock_across_the_changes() -> None:
    quiet = (21 * 60, 9 * 60)
    before_spring = rem.due_at(dt.date(2026, 3, 28), None, AMS, quiet, utc(2026, 1, 1))
    after_spring = rem.due_at(dt.date(2026, 3, 29), None, AMS, quiet, utc(2026, 1, 1))
    assert (before_spring, after_spring) == (utc(2026, 3, 28, 9), utc(2026, 3, 29, 8))
    before_autumn = rem.due_at(dt.date(2026, 10, 24), None, AMS, quiet, utc(2026, 1, 1))
    after_autumn = rem.due_at(dt.date(2026, 10, 25), None, AMS, quiet, utc(2026, 1, 1))
    assert (before_autumn, after_autumn) == (utc(2026, 10, 24, 8), utc(2026, 10, 25, 9))
    # A preferred 22:30 is inside quiet hours: it waits for 09:00 the next (changed) morning.
    late = rem.due_at(dt.date(2026, 3, 28), 22 * 60 + 30, AMS, quiet, utc(2026, 1, 1))
    assert late == utc(2026, 3, 29, 7)
    # A day already begun: not before now.
    now = utc(2026, 3, 29, 12)
    assert rem.due_at(dt.date(2026, 3, 29), None, AMS, quiet, now) == now


# --- the rules -------------------------------------------------------------------------------


async def test_round_opened_fires_on_the_opening_day_once(session, street_world) -> None:
    org = street_world["org"]
    round_ = await f.round_(
        session, org, opens=local(2026, 3, 29, 0, 0), closes=local(2026, 7, 1, 0, 0)
    )
    assert await rem.plan_reminders(session, now=local(2026, 3, 28, 12)) == 0
    assert await rem.plan_reminders(session, now=local(2026, 3, 29, 0, 30)) == 2
    found = await reminders_of(session, "round_opened")
    # 10:00 on the first day of summer time is 08:00 UTC.
    assert {(r.person_id, r.due_at, r.object_key) for r in found} == {
        (street_world["fatima"].id, utc(2026, 3, 29, 8), f"round:{round_.id}"),
        (street_world["john"].id, utc(2026, 3, 29, 8), f"round:{round_.id}"),
    }
    # At most once per rule, person and object, however often the planner runs.
    assert await rem.plan_reminders(session, now=local(2026, 3, 29, 11)) == 0
    assert await rem.plan_reminders(session, now=local(2026, 4, 2, 11)) == 0
    assert len(await reminders_of(session, "round_opened")) == 2


async def test_round_opened_window_edges(session, street_world) -> None:
    org = street_world["org"]
    await f.round_(session, org, opens=local(2026, 3, 1), closes=local(2026, 7, 1))
    # Eight days after the opening it is old news; seven days is still fine.
    assert await rem.plan_reminders(session, now=local(2026, 3, 9, 12)) == 0
    assert await rem.plan_reminders(session, now=local(2026, 3, 8, 23, 59)) == 2


async def test_preferred_time_categories_and_consent(session, street_world) -> None:
    org, fatima, john = street_world["org"], street_world["fatima"], street_world["john"]
    fatima.reminder_minute = 19 * 60
    john.reminders_off = ["round_opened"]
    resident = await f.person(session, org, "Resident")
    session.add(
        StreetMembership(
            street_id=street_world["street"].id, person_id=resident.id, is_gangmaker=False
        )
    )
    unconsented = await f.person(session, org, "New")
    unconsented.consent_at = None
    session.add(StreetMembership(street_id=street_world["street"].id, person_id=unconsented.id))
    await session.flush()
    await f.round_(session, org, opens=local(2026, 10, 25), closes=local(2027, 1, 1))
    assert await rem.plan_reminders(session, now=local(2026, 10, 25, 8)) == 1
    [only] = await reminders_of(session, "round_opened")
    # 19:00 on the first day of winter time is 18:00 UTC.
    assert (only.person_id, only.due_at) == (fatima.id, utc(2026, 10, 25, 18))


async def test_pending_streets_get_no_reminders(session, street_world) -> None:
    street_world["street"].status = StreetStatus.PENDING
    await session.flush()
    await f.round_(session, street_world["org"], opens=local(2026, 5, 1), closes=local(2026, 7, 1))
    assert await rem.plan_reminders(session, now=local(2026, 5, 1, 12)) == 0


async def test_round_closing_only_for_streets_without_a_request(session, street_world) -> None:
    org = street_world["org"]
    round_ = await f.round_(session, org, opens=local(2026, 4, 1), closes=local(2026, 7, 1))
    # Closes at midnight 1 July: seven days before is 24 June.
    assert await rem.plan_reminders(session, now=local(2026, 6, 23, 12)) == 0
    assert await rem.plan_reminders(session, now=local(2026, 6, 24, 8)) == 2
    found = await reminders_of(session, "round_closing")
    assert {r.due_at for r in found} == {local(2026, 6, 24, 10)}
    # The street asks before the reminder goes: it is cancelled, nothing is queued.
    await request_(
        session,
        street_world,
        round_,
        status=RequestStatus.SUBMITTED,
        activity_date=dt.date(2026, 6, 28),
    )
    result = await rem.queue_due_reminders(session, now=local(2026, 6, 24, 10))
    assert (result.seen, result.queued) == (2, 0)
    assert {r.status for r in await reminders_of(session, "round_closing")} == {
        ReminderStatus.CANCELLED
    }
    assert await session.scalar(select(func.count(Delivery.id))) == 0


async def test_activity_report_and_payout_reminders(session, street_world) -> None:
    org = street_world["org"]
    round_ = await f.round_(session, org, opens=local(2026, 4, 1), closes=local(2026, 9, 1))
    request = await request_(
        session,
        street_world,
        round_,
        activity_date=dt.date(2026, 6, 13),
        decided_at=local(2026, 5, 20, 15),
    )
    # 14 days after the award: money not collected.
    assert await rem.plan_reminders(session, now=local(2026, 6, 3, 12)) == 2
    assert {r.rule for r in await reminders_of(session)} == {"payout_unredeemed"}
    # The day before the activity.
    assert await rem.plan_reminders(session, now=local(2026, 6, 12, 7)) == 2
    tomorrow = await reminders_of(session, "activity_tomorrow")
    assert {r.due_at for r in tomorrow} == {local(2026, 6, 12, 10)}
    # Seven days after it, while no report came in.
    assert await rem.plan_reminders(session, now=local(2026, 6, 19, 12)) == 0
    assert await rem.plan_reminders(session, now=local(2026, 6, 20, 12)) == 2
    # Reported meanwhile: the report reminder is cancelled when it would go.
    request.status = RequestStatus.REPORTED
    request.reported_at = local(2026, 6, 20, 11)
    await session.flush()
    await rem.queue_due_reminders(session, now=local(2026, 6, 20, 12))
    statuses = {(r.rule, r.status) for r in await reminders_of(session)}
    assert ("report_due", ReminderStatus.CANCELLED) in statuses
    assert ("report_due", ReminderStatus.QUEUED) not in statuses


async def test_activity_tomorrow_is_too_late_on_the_day_itself(session, street_world) -> None:
    round_ = await f.round_(
        session, street_world["org"], opens=local(2026, 4, 1), closes=local(2026, 9, 1)
    )
    await request_(session, street_world, round_, activity_date=dt.date(2026, 6, 13))
    assert await rem.plan_reminders(session, now=local(2026, 6, 13, 8)) == 0
    # Planned the evening before but only due the next morning (quiet hours): cancelled then.
    street_world["fatima"].reminder_minute = 21 * 60 + 30
    street_world["john"].reminders_off = ["activity_tomorrow"]
    await session.flush()
    assert await rem.plan_reminders(session, now=local(2026, 6, 12, 20)) == 1
    [late] = await reminders_of(session, "activity_tomorrow")
    assert late.due_at == local(2026, 6, 13, 9)
    result = await rem.queue_due_reminders(session, now=local(2026, 6, 13, 9))
    assert result.queued == 0
    await session.refresh(late)
    assert late.status is ReminderStatus.CANCELLED


async def test_liefleed_pot_untouched_on_1_september(session, street_world) -> None:
    org, area = street_world["org"], street_world["area"]
    used = await f.street(session, org, area, "Bellamystraat", gangmakers=(street_world["john"],))
    pot = LiefLeedPot(street_id=used.id, year=2026, amount_cents=15000)
    session.add(pot)
    await session.flush()
    session.add(
        Attention(
            pot_id=pot.id,
            occasion="baby",
            occasion_type=OccasionType.LIEF,
            kind=AttentionKind.CARD,
            cost_cents=500,
            given_on=dt.date(2026, 3, 3),
        )
    )
    await session.flush()
    assert await rem.plan_reminders(session, now=local(2026, 8, 31, 12)) == 0
    # Fatima and John for the untouched street, John for the used one (cancelled when due).
    assert await rem.plan_reminders(session, now=local(2026, 9, 1, 12)) == 3
    result = await rem.queue_due_reminders(session, now=local(2026, 9, 1, 12))
    assert result.queued == 2
    queued = [r for r in await reminders_of(session) if r.status is ReminderStatus.QUEUED]
    assert {r.params["street_id"] for r in queued} == {street_world["street"].id}


async def test_check_your_street_in_january(session, street_world) -> None:
    assert await rem.plan_reminders(session, now=local(2027, 1, 7, 12)) == 0
    assert await rem.plan_reminders(session, now=local(2027, 1, 8, 12)) == 2
    assert await rem.plan_reminders(session, now=local(2027, 2, 1, 12)) == 0
    assert {r.object_key for r in await reminders_of(session, "check_street")} == {
        f"street:{street_world['street'].id}:2027"
    }


# --- into the outbox -------------------------------------------------------------------------


async def test_due_reminders_become_deliveries_in_the_persons_language(
    session, street_world
) -> None:
    org = street_world["org"]
    round_ = await f.round_(
        session, org, opens=local(2026, 5, 4), closes=local(2026, 7, 1), name="Voorjaarsronde"
    )
    await rem.plan_reminders(session, now=local(2026, 5, 4, 8))
    # Not due before 10:00.
    assert (await rem.queue_due_reminders(session, now=local(2026, 5, 4, 9, 59))).seen == 0
    result = await rem.queue_due_reminders(session, now=local(2026, 5, 4, 10))
    assert (result.seen, result.queued) == (2, 2)
    rows = {d.person_id: d for d in await session.scalars(select(Delivery).order_by(Delivery.id))}
    nl, en = rows[street_world["fatima"].id], rows[street_world["john"].id]
    assert nl.body == (
        "De ronde Voorjaarsronde is open. Zaagmolenstraat kan tot en met 30 juni 2026 een "
        "bijdrage vragen.\n\nJe kunt deze herinnering uitzetten bij Instellingen."
    )
    assert en.body.startswith("The round Voorjaarsronde (en) is open. Zaagmolenstraat can ask")
    assert "June 30, 2026" in en.body
    reminder_ids = {r.id for r in await reminders_of(session)}
    assert {d.reminder_id for d in rows.values()} == reminder_ids
    assert {d.key for d in rows.values()} == {f"rem:{i}" for i in reminder_ids}
    assert all(d.status is DeliveryStatus.QUEUED and d.identity_id for d in rows.values())
    assert {r.status for r in await reminders_of(session)} == {ReminderStatus.QUEUED}
    # Queueing again adds nothing.
    assert (await rem.queue_due_reminders(session, now=local(2026, 5, 4, 11))).seen == 0
    assert round_.id


async def test_switched_off_after_planning_or_unreachable_is_cancelled(
    session, street_world
) -> None:
    await f.round_(session, street_world["org"], opens=local(2026, 5, 4), closes=local(2026, 7, 1))
    await rem.plan_reminders(session, now=local(2026, 5, 4, 8))
    street_world["fatima"].reminders_off = ["round_opened"]
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.person_id == street_world["john"].id)
    )
    identity.reachable = False
    await session.flush()
    result = await rem.queue_due_reminders(session, now=local(2026, 5, 4, 10))
    assert (result.seen, result.queued) == (2, 0)
    assert {r.status for r in await reminders_of(session)} == {ReminderStatus.CANCELLED}


async def test_queueing_outside_quiet_hours_only(session, street_world) -> None:
    # Someone whose preferred time was in the evening has it queued for the next morning.
    await f.round_(session, street_world["org"], opens=local(2026, 5, 4), closes=local(2026, 7, 1))
    street_world["fatima"].reminder_minute = 23 * 60
    await session.flush()
    await rem.plan_reminders(session, now=local(2026, 5, 4, 8))
    fatima = [r for r in await reminders_of(session) if r.person_id == street_world["fatima"].id]
    assert fatima[0].due_at == local(2026, 5, 5, 9)


async def test_the_worker_sends_reminders_and_marks_them_done(sessions) -> None:
    from bot.db import transaction
    from bot.delivery.engine import DeliveryEngine
    from bot.delivery.senders import TelegramSender
    from tests.fakes import ApiSpec, FakeTelegram

    if not ApiSpec.default_path().exists():
        pytest.skip("Bot API specification not found")
    now = local(2026, 5, 4, 10)
    async with transaction(sessions) as session:
        org = await f.organisation(session)
        area = await f.area(session, org)
        fatima = await f.person(session, org, "Fatima", channel=Channel.TELEGRAM, address="1001")
        await f.street(session, org, area, gangmakers=(fatima,))
        await f.round_(session, org, opens=local(2026, 5, 4), closes=local(2026, 7, 1))
        await rem.plan_reminders(session, now=now)
        await rem.queue_due_reminders(session, now=now)
    async with FakeTelegram(token="123:ABC", strict_chats=False) as tg:
        sender = TelegramSender("123:ABC", tg.api_base, rate=0)
        engine = DeliveryEngine(sessions, [sender], now=lambda: now)
        try:
            assert await engine.run_until_idle() == 1
        finally:
            await sender.close()
        [message] = tg.sent_messages(1001)
        assert message["text"].startswith("De ronde Voorjaarsronde is open.")
    async with sessions() as session:
        [reminder] = await reminders_of(session)
        assert reminder.status is ReminderStatus.DONE
        await rem.plan_reminders(session, now=now + dt.timedelta(hours=2))
        assert len(await reminders_of(session)) == 1
