"""Announcements: compose, audience, preview, schedule, cancel and the fan-out into the outbox."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.demo_people import add_demo_people
from bot.errors import IllegalTransition, InvalidInput, NotAllowed, NotFound
from bot.models import (
    Announcement,
    AnnouncementStatus,
    AuditEntry,
    Channel,
    ChannelIdentity,
    Delivery,
    DeliveryStatus,
    Person,
    Role,
    StreetStatus,
)
from bot.services import announcements as ann
from bot.services.announcements import Audience
from tests import factories as f

NOW = f.NOW  # 2026-05-12 10:00 UTC = 12:00 in Amsterdam
NL = {"nl": "De voorjaarsronde is open!"}


@pytest.fixture
async def world(session: AsyncSession) -> dict:
    """Two areas; Delfshaven has a Lief & Leed street and a green street, Noord a plain one."""
    org = await f.organisation(session)
    delfshaven = await f.area(session, org, "Delfshaven")
    noord = await f.area(session, org, "Noord")
    leader = await f.person(session, org, "Sanne", roles=((Role.LEADER, delfshaven.id),))
    admin = await f.person(session, org, "Joyce", roles=((Role.ADMIN, None),))
    fatima = await f.person(session, org, "Fatima", channel=Channel.TELEGRAM, address="1001")
    mehmet = await f.person(
        session, org, "Mehmet", language="tr", channel=Channel.TELEGRAM, address="1002"
    )
    john = await f.person(session, org, "John", language="en", channel=Channel.TELEGRAM)
    ll_street = await f.street(session, org, delfshaven, "Zaagmolenstraat", gangmakers=(fatima,))
    green = await f.street(
        session, org, delfshaven, "Bellamystraat", gangmakers=(mehmet,), liefleed=False
    )
    green.theme_green = True
    await f.street(session, org, noord, "Zwart Janstraat", gangmakers=(john,), liefleed=False)
    await session.flush()
    return {
        "org": org,
        "delfshaven": delfshaven,
        "noord": noord,
        "leader": leader,
        "admin": admin,
        "fatima": fatima,
        "mehmet": mehmet,
        "john": john,
        "ll_street": ll_street,
        "green": green,
    }


async def recipients(session: AsyncSession, org_id: int, audience: Audience) -> set[str]:
    resolved = await ann.resolve_audience(session, org_id, audience)
    ids = [r.person_id for r in resolved.recipients]
    names = await session.scalars(select(Person.first_name).where(Person.id.in_(ids)))
    return set(names)


async def deliveries(session: AsyncSession, announcement_id: int) -> list[Delivery]:
    return list(
        await session.scalars(
            select(Delivery)
            .where(Delivery.announcement_id == announcement_id)
            .order_by(Delivery.person_id)
        )
    )


# --- composing ------------------------------------------------------------------------------


async def test_dutch_text_is_required(session, world) -> None:
    for texts in ({"en": "Round open"}, {"nl": "   ", "en": "Round open"}, {}):
        with pytest.raises(InvalidInput) as exc:
            await ann.create_announcement(
                session, organisation_id=world["org"].id, actor=world["leader"], texts=texts
            )
        assert exc.value.key == "announcement.dutch_required"
    assert await session.scalar(select(func.count(Announcement.id))) == 0


async def test_texts_are_cleaned_and_checked(session, world) -> None:
    item = await ann.create_announcement(
        session,
        organisation_id=world["org"].id,
        actor=world["leader"],
        texts={"NL": "  Hallo  ", "tr": "Merhaba", "en": " "},
    )
    assert item.texts == {"nl": "Hallo", "tr": "Merhaba"}
    assert item.status is AnnouncementStatus.DRAFT
    with pytest.raises(InvalidInput) as exc:
        await ann.create_announcement(
            session, organisation_id=world["org"].id, actor=None, texts={"nl": "x", "xx": "y"}
        )
    assert exc.value.key == "announcement.language_unknown"
    with pytest.raises(InvalidInput) as exc:
        await ann.create_announcement(
            session, organisation_id=world["org"].id, actor=None, texts={"nl": "x" * 4097}
        )
    assert exc.value.params == {"language": "nl", "max": 4096}


async def test_only_leaders_and_admins_announce(session, world) -> None:
    with pytest.raises(NotAllowed) as exc:
        await ann.announce(
            session, organisation_id=world["org"].id, actor=world["fatima"], texts=NL
        )
    assert exc.value.key == "perm.not_leader"
    assert await session.scalar(select(func.count(Announcement.id))) == 0
    for actor in (world["leader"], world["admin"], None):
        item = await ann.announce(session, organisation_id=world["org"].id, actor=actor, texts=NL)
        assert item.status is AnnouncementStatus.SCHEDULED


async def test_leader_of_another_organisation_is_refused(session, world) -> None:
    other = await f.organisation(session, "schiedam")
    with pytest.raises(NotAllowed):
        await ann.announce(session, organisation_id=other.id, actor=world["leader"], texts=NL)


# --- audience -------------------------------------------------------------------------------


async def test_audiences_select_the_right_people(session, world) -> None:
    org_id = world["org"].id
    everyone = {"Sanne", "Joyce", "Fatima", "Mehmet", "John"}
    assert await recipients(session, org_id, Audience()) == everyone
    area = (world["delfshaven"].id,)
    assert await recipients(session, org_id, Audience(area_ids=area)) == {"Fatima", "Mehmet"}
    assert await recipients(session, org_id, Audience(themes=("liefleed",))) == {"Fatima"}
    assert await recipients(session, org_id, Audience(themes=("liefleed", "green"))) == {
        "Fatima",
        "Mehmet",
    }
    # Areas and themes apply to the same street.
    noord_ll = Audience(area_ids=(world["noord"].id,), themes=("liefleed",))
    assert await recipients(session, org_id, noord_ll) == set()
    assert await recipients(session, org_id, Audience(languages=("tr", "en"))) == {
        "Mehmet",
        "John",
    }
    assert await recipients(session, org_id, Audience(roles=("leader", "admin"))) == {
        "Sanne",
        "Joyce",
    }
    gangmakers = Audience(roles=("gangmaker",))
    assert await recipients(session, org_id, gangmakers) == {"Fatima", "Mehmet", "John"}
    both = Audience(area_ids=area, languages=("tr",))
    assert await recipients(session, org_id, both) == {"Mehmet"}


async def test_rejected_streets_do_not_count_for_areas(session, world) -> None:
    world["green"].status = StreetStatus.REJECTED
    await session.flush()
    audience = Audience(area_ids=(world["delfshaven"].id,))
    assert await recipients(session, world["org"].id, audience) == {"Fatima"}


async def test_opted_out_unreachable_and_unconsented_are_left_out_and_counted(
    session, world
) -> None:
    world["fatima"].announcements_opt_out = True
    mehmet_identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.person_id == world["mehmet"].id)
    )
    mehmet_identity.reachable = False
    world["john"].consent_at = None
    await session.flush()
    resolved = await ann.resolve_audience(session, world["org"].id, Audience())
    assert (resolved.opted_out, resolved.unreachable, resolved.no_consent) == (1, 1, 1)
    assert len(resolved.recipients) == 2


async def test_the_preferred_reachable_identity_is_used(session, world) -> None:
    fatima = world["fatima"]
    old = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.person_id == fatima.id)
    )
    old.preferred = False
    newer = ChannelIdentity(person_id=fatima.id, channel=Channel.WHATSAPP, address="316123")
    session.add(newer)
    await session.flush()
    resolved = await ann.resolve_audience(session, world["org"].id, Audience(themes=("liefleed",)))
    assert [r.identity_id for r in resolved.recipients] == [newer.id]
    newer.reachable = False
    await session.flush()
    resolved = await ann.resolve_audience(session, world["org"].id, Audience(themes=("liefleed",)))
    assert [r.identity_id for r in resolved.recipients] == [old.id]


async def test_audience_parts_from_the_command_line(session, world) -> None:
    org_id = world["org"].id
    audience = await ann.parse_audience(
        session, org_id, ["area:delfshaven", "theme:Lief&Leed", "lang:TR", "role:gangmaker"]
    )
    assert audience == Audience((world["delfshaven"].id,), ("liefleed",), ("gangmaker",), ("tr",))
    assert (await ann.parse_audience(session, org_id, ["all"])).everyone
    assert audience.to_json() == {
        "areas": [world["delfshaven"].id],
        "themes": ["liefleed"],
        "roles": ["gangmaker"],
        "languages": ["tr"],
    }
    assert Audience.from_json(audience.to_json()) == audience
    assert Audience().to_json() == {"all": True}
    cases = [
        (["area:Atlantis"], NotFound, "announcement.area_unknown"),
        (["theme:sports"], InvalidInput, "announcement.theme_unknown"),
        (["role:king"], InvalidInput, "announcement.role_unknown"),
        (["lang:xx"], InvalidInput, "announcement.language_unknown"),
        (["street:1"], InvalidInput, "announcement.audience_invalid"),
        (["area:"], InvalidInput, "announcement.audience_invalid"),
    ]
    for parts, error, key in cases:
        with pytest.raises(error) as exc:
            await ann.parse_audience(session, org_id, parts)
        assert exc.value.key == key


async def test_area_of_another_organisation_is_unknown(session, world) -> None:
    other = await f.organisation(session, "schiedam")
    foreign = await f.area(session, other, "Centrum")
    with pytest.raises(NotFound):
        await ann.create_announcement(
            session,
            organisation_id=world["org"].id,
            actor=None,
            texts=NL,
            audience=Audience(area_ids=(foreign.id,)),
        )


# --- preview --------------------------------------------------------------------------------


async def test_preview_per_language_counts_the_dutch_fallback(session, world) -> None:
    item = await ann.create_announcement(
        session,
        organisation_id=world["org"].id,
        actor=world["leader"],
        texts={"nl": "Hallo", "en": "Hello"},
    )
    preview = await ann.preview_announcement(session, announcement=item)
    assert preview.recipients == 5
    shown = {p.language: (p.recipients, p.text, p.fallback) for p in preview.languages}
    assert shown == {
        "nl": (3, "Hallo", False),
        "en": (1, "Hello", False),
        "tr": (1, "Hallo", True),
    }
    assert preview.fallback == 1
    # Nothing is queued by a preview.
    assert await session.scalar(select(func.count(Delivery.id))) == 0


# --- scheduling and cancelling --------------------------------------------------------------


async def test_schedule_now_or_later_and_cancel_until_it_starts(session, world) -> None:
    org_id = world["org"].id
    later = NOW + dt.timedelta(days=2)
    item = await ann.announce(
        session, organisation_id=org_id, actor=world["leader"], texts=NL, send_at=later, now=NOW
    )
    assert (item.status, item.send_at) == (AnnouncementStatus.SCHEDULED, later)
    # Not due yet: nothing starts.
    assert await ann.start_due_announcements(session, now=NOW) == []
    await ann.cancel_announcement(session, announcement=item, actor=world["leader"], now=NOW)
    assert item.status is AnnouncementStatus.CANCELLED
    assert await ann.start_due_announcements(session, now=later) == []
    assert await session.scalar(select(func.count(Delivery.id))) == 0
    actions = set(await session.scalars(select(AuditEntry.action)))
    assert {"announcement.scheduled", "announcement.cancelled"} <= actions

    # A time in the past means now; too far ahead is refused.
    past = await ann.announce(
        session,
        organisation_id=org_id,
        actor=None,
        texts=NL,
        send_at=NOW - dt.timedelta(1),
        now=NOW,
    )
    assert past.send_at == NOW
    with pytest.raises(InvalidInput) as exc:
        await ann.announce(
            session,
            organisation_id=org_id,
            actor=None,
            texts=NL,
            send_at=NOW + dt.timedelta(days=400),
            now=NOW,
        )
    assert exc.value.key == "announcement.send_at_too_far"


async def test_cannot_cancel_once_sending(session, world) -> None:
    item = await ann.announce(
        session, organisation_id=world["org"].id, actor=None, texts=NL, now=NOW
    )
    [started] = await ann.start_due_announcements(session, now=NOW)
    assert started.recipients == 5
    with pytest.raises(IllegalTransition) as exc:
        await ann.cancel_announcement(session, announcement=item, actor=None, now=NOW)
    assert exc.value.params == {"status": AnnouncementStatus.SENDING}
    with pytest.raises(IllegalTransition):
        await ann.schedule_announcement(session, announcement=item, actor=None, now=NOW)
    assert len(await deliveries(session, item.id)) == 5


# --- fan-out --------------------------------------------------------------------------------


async def test_fan_out_writes_one_row_per_person_and_a_second_adds_nothing(session, world) -> None:
    item = await ann.announce(
        session, organisation_id=world["org"].id, actor=None, texts=NL, now=NOW
    )
    first = await ann.fan_out(session, announcement=item, now=NOW)
    assert (first.recipients, first.added) == (5, 5)
    assert item.status is AnnouncementStatus.SENDING and item.started_at == NOW
    assert item.audience_counts == {
        "recipients": 5,
        "opted_out": 0,
        "unreachable": 0,
        "no_consent": 0,
        "fallback": 2,  # Mehmet (tr) and John (en) get the Dutch text
    }
    again = await ann.fan_out(session, announcement=item, now=NOW)
    assert (again.recipients, again.added) == (5, 0)
    rows = await deliveries(session, item.id)
    assert len(rows) == 5
    assert {r.key for r in rows} == {f"ann:{item.id}:{r.person_id}" for r in rows}
    assert all(r.status is DeliveryStatus.QUEUED and r.identity_id for r in rows)
    assert all(r.next_attempt_at == NOW and r.body is None for r in rows)

    # Someone who joins later is added by a repeated fan-out; the others are not doubled.
    await f.person(session, world["org"], "Nadia")
    assert (await ann.fan_out(session, announcement=item, now=NOW)).added == 1
    assert len(await deliveries(session, item.id)) == 6


async def test_fan_out_of_a_draft_or_cancelled_announcement_does_nothing(session, world) -> None:
    draft = await ann.create_announcement(
        session, organisation_id=world["org"].id, actor=None, texts=NL
    )
    assert await ann.fan_out(session, announcement=draft, now=NOW) is None
    await ann.cancel_announcement(session, announcement=draft, actor=None, now=NOW)
    assert await ann.fan_out(session, announcement=draft, now=NOW) is None
    assert await session.scalar(select(func.count(Delivery.id))) == 0


async def test_fan_out_holds_rows_until_the_quiet_hours_end(session, world) -> None:
    # 21:30 in Amsterdam (summer time): the organisation's quiet hours run until 09:00.
    evening = dt.datetime(2026, 5, 12, 19, 30, tzinfo=dt.UTC)
    world["john"].quiet_start_minute = 23 * 60  # John's own quiet hours start later
    world["john"].quiet_end_minute = 7 * 60
    await session.flush()
    item = await ann.announce(
        session, organisation_id=world["org"].id, actor=None, texts=NL, now=evening
    )
    await ann.fan_out(session, announcement=item, now=evening)
    by_person = {r.person_id: r.next_attempt_at for r in await deliveries(session, item.id)}
    morning = dt.datetime(2026, 5, 13, 7, 0, tzinfo=dt.UTC)  # 09:00 CEST
    assert by_person.pop(world["john"].id) == evening
    # The terminal chat (Sanne and Joyce) shows it at the next turn: no need to hold it.
    assert by_person.pop(world["leader"].id) == by_person.pop(world["admin"].id) == evening
    assert set(by_person.values()) == {morning}


async def test_fan_out_to_thousands_in_bulk(session) -> None:
    org = await f.organisation(session)
    area = await f.area(session, org)
    await f.area(session, org, "Noord")

    await add_demo_people(session, organisation=org, count=2000, now=NOW)
    item = await ann.announce(session, organisation_id=org.id, actor=None, texts=NL, now=NOW)
    [result] = await ann.start_due_announcements(session, now=NOW)
    assert (result.recipients, result.added) == (2000, 2000)
    assert (await ann.fan_out(session, announcement=item, now=NOW)).added == 0
    area_only = await ann.announce(
        session,
        organisation_id=org.id,
        actor=None,
        texts=NL,
        audience=Audience(area_ids=(area.id,)),
        now=NOW,
    )
    [result] = await ann.start_due_announcements(session, now=NOW)
    assert result.announcement_id == area_only.id
    # 667 streets of three alternate between the two areas; the last street has two people.
    assert result.recipients == 334 * 3 - 1


async def test_round_announcements_at_opening_and_a_week_before_closing(session, world) -> None:
    round_ = await f.round_(
        session,
        world["org"],
        opens=NOW + dt.timedelta(days=3),
        closes=NOW + dt.timedelta(days=40),
    )
    planned = await ann.plan_round_announcements(
        session,
        round_=round_,
        actor=world["leader"],
        opening_texts={"nl": "De ronde is open"},
        closing_texts={"nl": "Nog een week"},
        now=NOW,
    )
    assert [(p.send_at, p.round_id) for p in planned] == [
        (round_.opens_at, round_.id),
        (round_.closes_at - dt.timedelta(days=7), round_.id),
    ]
    # Already open: no late opening message.
    open_round = await f.round_(session, world["org"])
    planned = await ann.plan_round_announcements(
        session,
        round_=open_round,
        actor=None,
        opening_texts={"nl": "open"},
        closing_texts={"nl": "sluit"},
        now=NOW,
    )
    assert [p.texts["nl"] for p in planned] == ["sluit"]


# --- status and counts ----------------------------------------------------------------------


async def test_counts_and_reasons_and_done(session, world) -> None:
    item = await ann.announce(
        session, organisation_id=world["org"].id, actor=None, texts=NL, now=NOW
    )
    await ann.fan_out(session, announcement=item, now=NOW)
    rows = await deliveries(session, item.id)
    rows[0].status = DeliveryStatus.SENT
    rows[1].status = DeliveryStatus.SKIPPED
    rows[1].last_error = "blocked: Forbidden: bot was blocked by the user"
    rows[2].status = DeliveryStatus.FAILED
    rows[2].last_error = "bad_request: message is too long"
    rows[3].next_attempt_at = NOW + dt.timedelta(hours=1)
    rows[4].status = DeliveryStatus.SENDING
    await session.flush()
    counts = await ann.delivery_counts(session, announcement_id=item.id, now=NOW)
    assert (counts.queued, counts.sending, counts.sent, counts.failed, counts.skipped) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert counts.held == 1 and counts.in_progress == 2 and counts.total == 5
    assert counts.reasons == {"blocked": 1, "bad_request": 1}
    assert await ann.finish_announcements(session, now=NOW) == 0
    rows[3].status = DeliveryStatus.SENT
    # A row handed to the terminal chat (queued without a next attempt) does not hold it up.
    rows[4].status = DeliveryStatus.QUEUED
    rows[4].next_attempt_at = None
    await session.flush()
    assert await ann.finish_announcements(session, now=NOW) == 1
    await session.refresh(item)
    assert item.status is AnnouncementStatus.DONE and item.finished_at == NOW
