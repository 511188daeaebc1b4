"""People: identification, settings, roles, "my data" and the right to be forgotten."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SHIPPED_LANGUAGES
from bot.errors import InvalidInput, NotFound
from bot.models import (
    Announcement,
    Attention,
    AttentionKind,
    AuditEntry,
    Base,
    BudgetRequest,
    Channel,
    ChannelIdentity,
    ConversationState,
    Delivery,
    LiefLeedPot,
    OccasionType,
    Organisation,
    Person,
    Reminder,
    Role,
    RoleGrant,
    Street,
    StreetMembership,
    StreetStatus,
)
from bot.services import people
from tests import factories as f

NOW = f.NOW


async def row_counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = await session.scalar(select(func.count()).select_from(table))
    return counts


async def fresh(session: AsyncSession, person: Person) -> Person:
    """The person as stored (flush, then read the row again)."""
    await session.flush()
    await session.refresh(person)
    return person


@pytest.fixture
async def org(session: AsyncSession) -> Organisation:
    return await f.organisation(session)


# --- organisations -------------------------------------------------------------------------


async def test_default_organisation_must_exist(session: AsyncSession) -> None:
    with pytest.raises(NotFound) as exc:
        await people.get_default_organisation(session, "rotterdam")
    assert (exc.value.key, exc.value.params) == ("org.unknown", {"slug": "rotterdam"})
    assert await session.scalar(select(func.count()).select_from(Organisation)) == 0


async def test_ensure_organisation_creates_once_with_defaults(session: AsyncSession) -> None:
    created = await people.ensure_organisation(session, "rotterdam", "Opzoomer Mee")
    again = await people.ensure_organisation(session, "rotterdam", "Another name")
    assert again.id == created.id
    assert again.name == "Opzoomer Mee"
    assert (created.default_language, created.timezone, created.liefleed_pot_cents) == (
        "nl",
        "Europe/Amsterdam",
        15000,
    )
    found = await people.get_default_organisation(session, "rotterdam")
    assert found.id == created.id
    assert await session.scalar(select(func.count()).select_from(Organisation)) == 1


# --- identify ------------------------------------------------------------------------------


async def test_first_message_creates_a_person_in_the_hinted_language(
    session: AsyncSession, org: Organisation
) -> None:
    person, identity, is_new = await people.identify(
        session,
        organisation=org,
        channel=Channel.TELEGRAM,
        address="123456",
        language_hint="en-GB",
        now=NOW,
    )
    assert is_new
    assert person.id is not None and person.organisation_id == org.id
    assert person.language == "en"
    assert person.consent_at is None
    assert (identity.channel, identity.address, identity.person_id) == (
        Channel.TELEGRAM,
        "123456",
        person.id,
    )
    await session.refresh(identity)
    assert identity.last_inbound_at == NOW
    assert identity.reachable and identity.preferred
    # A fresh person has no roles, and permission checks can read that without a query.
    assert person.roles == []
    assert await people.effective_roles(session, person) == set()


async def test_next_message_finds_the_same_person_and_notes_the_time(
    session: AsyncSession, org: Organisation
) -> None:
    first, identity, _ = await people.identify(
        session, organisation=org, channel=Channel.WHATSAPP, address="31612345678", now=NOW
    )
    identity.reachable = False  # the platform once said we were blocked
    await session.flush()
    before = await row_counts(session)
    later = NOW + dt.timedelta(hours=3)

    again, identity2, is_new = await people.identify(
        session,
        organisation=org,
        channel=Channel.WHATSAPP,
        address=" 31612345678 ",
        language_hint="en",
        now=later,
    )

    assert not is_new
    assert (again.id, identity2.id) == (first.id, identity.id)
    assert again.language == "nl"  # the hint only counts for new people
    await session.refresh(identity2)
    assert identity2.last_inbound_at == later
    assert identity2.reachable
    assert await row_counts(session) == before


async def test_the_same_address_on_another_channel_is_another_person(
    session: AsyncSession, org: Organisation
) -> None:
    a, _, _ = await people.identify(
        session, organisation=org, channel=Channel.TELEGRAM, address="42", now=NOW
    )
    b, _, new = await people.identify(
        session, organisation=org, channel=Channel.CONSOLE, address="42", now=NOW
    )
    assert new and a.id != b.id


@pytest.mark.parametrize(
    ("hint", "org_default", "expected"),
    [
        ("nl", "nl", "nl"),
        ("EN", "nl", "en"),
        ("en_US", "nl", "en"),
        ("tr", "nl", "tr"),
        ("ar", "en", "ar"),
        ("de", "nl", "nl"),  # not shipped: the organisation's default
        ("fr-FR", "en", "en"),
        (None, "en", "en"),
        ("", "nl", "nl"),
    ],
)
async def test_language_of_a_new_person(
    session: AsyncSession, hint: str | None, org_default: str, expected: str
) -> None:
    org = await f.organisation(session, default_language=org_default)
    person, _, _ = await people.identify(
        session, organisation=org, channel=Channel.TELEGRAM, address="1", language_hint=hint
    )
    assert (await fresh(session, person)).language == expected


@pytest.mark.parametrize("address", ["", "   ", "9" * 65])
async def test_a_bad_address_is_refused(
    session: AsyncSession, org: Organisation, address: str
) -> None:
    before = await row_counts(session)
    with pytest.raises(InvalidInput) as exc:
        await people.identify(session, organisation=org, channel=Channel.WEB, address=address)
    assert (exc.value.key, exc.value.params) == ("person.address_invalid", {"max": 64})
    assert await row_counts(session) == before


async def test_two_first_messages_at_once_end_with_one_person(
    session: AsyncSession, org: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other message created the identity between our look-up and our insert."""
    winner, identity, _ = await people.identify(
        session, organisation=org, channel=Channel.TELEGRAM, address="77", now=NOW
    )
    before = await row_counts(session)
    real_find = people._find_identity
    calls = []

    async def miss_once(*args: object) -> ChannelIdentity | None:
        calls.append(args)
        return None if len(calls) == 1 else await real_find(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(people, "_find_identity", miss_once)
    later = NOW + dt.timedelta(seconds=1)
    person, identity2, is_new = await people.identify(
        session, organisation=org, channel=Channel.TELEGRAM, address="77", now=later
    )

    assert not is_new
    assert (person.id, identity2.id) == (winner.id, identity.id)
    assert await row_counts(session) == before
    await session.refresh(identity2)
    assert identity2.last_inbound_at == later


# --- settings ------------------------------------------------------------------------------


async def test_set_language(session: AsyncSession, org: Organisation) -> None:
    person = await f.person(session, org)
    await people.set_language(session, person, language="EN")
    assert (await fresh(session, person)).language == "en"
    await people.set_language(session, person, language="nl-BE")
    assert (await fresh(session, person)).language == "nl"


@pytest.mark.parametrize("language", ["de", "xx", "", "english", "🇳🇱"])
async def test_unknown_language_is_refused(
    session: AsyncSession, org: Organisation, language: str
) -> None:
    person = await f.person(session, org, language="en")
    with pytest.raises(InvalidInput) as exc:
        await people.set_language(session, person, language=language)
    assert exc.value.key == "person.unknown_language"
    assert exc.value.params == {"language": language, "known": list(SHIPPED_LANGUAGES)}
    assert person.language == "en"
    assert (await fresh(session, person)).language == "en"


async def test_consent_is_timestamped(session: AsyncSession, org: Organisation) -> None:
    person = Person(organisation_id=org.id)
    session.add(person)
    await session.flush()
    assert person.consent_at is None
    await people.give_consent(session, person, now=NOW)
    assert (await fresh(session, person)).consent_at == NOW
    later = NOW + dt.timedelta(days=400)
    await people.give_consent(session, person, now=later)
    assert (await fresh(session, person)).consent_at == later


async def test_opt_out_and_back_in(session: AsyncSession, org: Organisation) -> None:
    person = await f.person(session, org)
    assert not person.announcements_opt_out
    await people.opt_out_announcements(session, person)
    assert (await fresh(session, person)).announcements_opt_out
    await people.opt_out_announcements(session, person)  # saying STOP twice is fine
    assert (await fresh(session, person)).announcements_opt_out
    await people.opt_in_announcements(session, person)
    assert not (await fresh(session, person)).announcements_opt_out


@pytest.mark.parametrize("minute", [0, 1439, 19 * 60 + 30, None])
async def test_reminder_minute(
    session: AsyncSession, org: Organisation, minute: int | None
) -> None:
    person = await f.person(session, org)
    await people.set_reminder_minute(session, person, minute=minute)
    assert (await fresh(session, person)).reminder_minute == minute


@pytest.mark.parametrize("minute", [-1, 1440, 100_000, True])
async def test_reminder_minute_out_of_range(
    session: AsyncSession, org: Organisation, minute: int
) -> None:
    person = await f.person(session, org)
    await people.set_reminder_minute(session, person, minute=600)
    with pytest.raises(InvalidInput) as exc:
        await people.set_reminder_minute(session, person, minute=minute)
    assert (exc.value.key, exc.value.params) == (
        "person.bad_time",
        {"minute": minute, "min": 0, "max": 1439},
    )
    assert (await fresh(session, person)).reminder_minute == 600


async def test_quiet_hours(session: AsyncSession, org: Organisation) -> None:
    person = await f.person(session, org)
    await people.set_quiet_hours(session, person, start_minute=22 * 60, end_minute=7 * 60)
    stored = await fresh(session, person)
    assert (stored.quiet_start_minute, stored.quiet_end_minute) == (1320, 420)
    await people.set_quiet_hours(session, person, start_minute=None, end_minute=None)
    stored = await fresh(session, person)
    assert (stored.quiet_start_minute, stored.quiet_end_minute) == (None, None)


@pytest.mark.parametrize(
    ("start", "end"), [(1320, None), (None, 420), (-5, 420), (1320, 1440), (1440, 0)]
)
async def test_bad_quiet_hours_change_nothing(
    session: AsyncSession, org: Organisation, start: int | None, end: int | None
) -> None:
    person = await f.person(session, org)
    await people.set_quiet_hours(session, person, start_minute=1260, end_minute=540)
    with pytest.raises(InvalidInput) as exc:
        await people.set_quiet_hours(session, person, start_minute=start, end_minute=end)
    assert exc.value.key == "person.bad_time"
    stored = await fresh(session, person)
    assert (stored.quiet_start_minute, stored.quiet_end_minute) == (1260, 540)


async def test_reminder_categories_off_and_on(session: AsyncSession, org: Organisation) -> None:
    person = await f.person(session, org)
    await people.set_reminder_category(session, person, category="report_due", enabled=False)
    await people.set_reminder_category(session, person, category="round_opened", enabled=False)
    await people.set_reminder_category(session, person, category="report_due", enabled=False)
    stored = await fresh(session, person)
    assert stored.reminders_off == ["round_opened", "report_due"]
    assert not people.reminder_enabled(stored, "report_due")
    assert people.reminder_enabled(stored, "check_street")

    await people.set_reminder_category(session, person, category="round_opened", enabled=True)
    await people.set_reminder_category(session, person, category="check_street", enabled=True)
    assert (await fresh(session, person)).reminders_off == ["report_due"]


@pytest.mark.parametrize("category", ["announcements", "", "Report_Due", "report_due "])
async def test_unknown_reminder_category(
    session: AsyncSession, org: Organisation, category: str
) -> None:
    person = await f.person(session, org)
    await people.set_reminder_category(session, person, category="report_due", enabled=False)
    with pytest.raises(InvalidInput) as exc:
        await people.set_reminder_category(session, person, category=category, enabled=False)
    assert exc.value.key == "person.unknown_reminder_category"
    assert exc.value.params["category"] == category
    assert exc.value.params["known"] == list(people.REMINDER_CATEGORIES)
    assert (await fresh(session, person)).reminders_off == ["report_due"]


# --- roles ---------------------------------------------------------------------------------


async def test_effective_roles(session: AsyncSession, org: Organisation) -> None:
    area = await f.area(session, org)
    leader = await f.person(session, org, "Ans", roles=((Role.LEADER, area.id),))
    gangmaker = await f.person(session, org, "Fatima")
    resident = await f.person(session, org, "Kees")
    rejected_only = await f.person(session, org, "Joke")

    assert await people.effective_roles(session, leader) == {Role.LEADER}
    assert await people.effective_roles(session, gangmaker) == set()

    pending = await f.street(
        session, org, area, "Aa", status=StreetStatus.PENDING, gangmakers=(gangmaker,)
    )
    assert await people.effective_roles(session, gangmaker) == {Role.GANGMAKER}
    session.add(StreetMembership(street_id=pending.id, person_id=resident.id, is_gangmaker=False))
    await f.street(
        session, org, area, "Bb", status=StreetStatus.REJECTED, gangmakers=(rejected_only,)
    )
    await f.street(session, org, area, "Cc", status=StreetStatus.ACTIVE, gangmakers=(leader,))
    await session.flush()

    assert await people.effective_roles(session, resident) == set()
    assert await people.effective_roles(session, rejected_only) == set()
    assert await people.effective_roles(session, leader) == {Role.LEADER, Role.GANGMAKER}


# --- my data and forgetting ----------------------------------------------------------------


async def _rich_person(session: AsyncSession, org: Organisation) -> dict[str, object]:
    """A gangmaker with something in every table that can hold their data, and a neighbour."""
    area = await f.area(session, org)
    fatima = await f.person(session, org, "Fatima", address="fatima-console")
    leader = await f.person(session, org, "Ans", roles=((Role.LEADER, area.id),))
    kees = await f.person(session, org, "Kees")
    street = await f.street(session, org, area, gangmakers=(fatima, kees))
    street.signed_up_by_id = fatima.id
    session.add(RoleGrant(person_id=fatima.id, role=Role.RESIDENT))
    telegram = ChannelIdentity(
        person_id=fatima.id, channel=Channel.TELEGRAM, address="555", last_inbound_at=NOW
    )
    session.add(telegram)
    await session.flush()
    session.add(
        ConversationState(
            identity_id=telegram.id, dialog="liefleed", step="cost", data={"kind": "flowers"}
        )
    )
    pot = LiefLeedPot(street_id=street.id, year=2026, amount_cents=15000)
    session.add(pot)
    await session.flush()
    attention = Attention(
        pot_id=pot.id,
        logged_by_id=fatima.id,
        occasion="baby",
        occasion_type=OccasionType.LIEF,
        kind=AttentionKind.FLOWERS,
        cost_cents=1250,
        given_on=NOW.date(),
        house_number="12a",
        note="bloemen",
    )
    round_ = await f.round_(session, org)
    request = BudgetRequest(
        reference="B-ABC234",
        round_id=round_.id,
        street_id=street.id,
        requested_by_id=fatima.id,
        activity="Straatfeest",
        activity_date=NOW.date(),
        expected_participants=30,
        amount_cents=20000,
    )
    decided = BudgetRequest(
        reference="B-DEF567",
        round_id=round_.id,
        street_id=street.id,
        requested_by_id=kees.id,
        decided_by_id=fatima.id,
        activity="Opruimdag",
        activity_date=NOW.date(),
        expected_participants=10,
        amount_cents=7500,
    )
    announcement = Announcement(organisation_id=org.id, created_by_id=fatima.id, texts={"nl": "x"})
    reminder = Reminder(person_id=fatima.id, rule="report_due", object_key="B-ABC234", due_at=NOW)
    session.add_all([attention, request, decided, announcement, reminder])
    await session.flush()
    session.add_all(
        [
            Delivery(
                key=f"r{reminder.id}-{fatima.id}",
                person_id=fatima.id,
                reminder_id=reminder.id,
                identity_id=telegram.id,
                body="Vergeet niet",
            ),
            Delivery(key=f"direct-{kees.id}", person_id=kees.id, body="Hallo Kees"),
        ]
    )
    await session.flush()
    return {
        "fatima": fatima,
        "kees": kees,
        "leader": leader,
        "street": street,
        "pot": pot,
        "attention": attention,
        "request": request,
        "decided": decided,
        "announcement": announcement,
    }


async def test_my_data_shows_everything_stored_about_the_person(
    session: AsyncSession, org: Organisation
) -> None:
    data = await _rich_person(session, org)
    fatima = data["fatima"]
    await people.set_reminder_category(session, fatima, category="check_street", enabled=False)

    mine = await people.my_data(session, fatima)

    json.dumps(mine)  # ready for an export as it is
    assert mine["person"]["first_name"] == "Fatima"
    assert mine["person"]["consent_at"] == NOW.isoformat()
    assert mine["person"]["reminders_off"] == ["check_street"]
    assert {(i["channel"], i["address"]) for i in mine["identities"]} == {
        ("console", "fatima-console"),
        ("telegram", "555"),
    }
    assert mine["roles"] == [{"role": "resident", "area_id": None, "payout_point_id": None}]
    assert [(s["name"], s["is_gangmaker"], s["signed_up_by_me"]) for s in mine["streets"]] == [
        ("Zaagmolenstraat", True, True)
    ]
    assert mine["conversations"][0]["dialog"] == "liefleed"
    assert mine["conversations"][0]["data"] == {"kind": "flowers"}
    assert [
        (a["occasion"], a["cost_cents"], a["house_number"]) for a in mine["liefleed_attentions"]
    ] == [("baby", 1250, "12a")]
    assert [r["reference"] for r in mine["budget_requests"]] == ["B-ABC234"]
    assert [r["rule"] for r in mine["reminders"]] == ["report_due"]
    assert [d["body"] for d in mine["deliveries"]] == ["Vergeet niet"]
    # Nothing of the neighbour leaks in.
    assert "Kees" not in json.dumps(mine)


async def test_forget_person_deletes_them_and_keeps_the_streets_records(
    session: AsyncSession, org: Organisation
) -> None:
    data = await _rich_person(session, org)
    fatima, kees = data["fatima"], data["kees"]
    fatima_id, kees_id, org_id = fatima.id, kees.id, org.id
    ids = {key: data[key].id for key in ("attention", "request", "decided", "street")}
    ids["announcement"] = data["announcement"].id
    before = await row_counts(session)
    later = NOW + dt.timedelta(days=10)

    await people.forget_person(session, fatima, now=later)
    await session.flush()
    session.expire_all()

    after = await row_counts(session)
    gone = {name: before[name] - after[name] for name in before if before[name] != after[name]}
    assert gone == {
        "person": 1,
        "channel_identity": 2,
        "role_grant": 1,
        "street_membership": 1,
        "conversation_state": 1,
        "reminder": 1,
        "delivery": 1,
        "audit_log": -1,  # one entry added
    }
    assert await session.get(Person, fatima_id) is None
    attention = await session.get(Attention, ids["attention"])
    assert attention is not None and attention.logged_by_id is None
    assert attention.cost_cents == 1250
    request = await session.get(BudgetRequest, ids["request"])
    assert request is not None and request.requested_by_id is None
    decided = await session.get(BudgetRequest, ids["decided"])
    assert decided is not None
    assert (decided.requested_by_id, decided.decided_by_id) == (kees_id, None)
    street = await session.get(Street, ids["street"])
    assert street is not None and street.signed_up_by_id is None
    announcement = await session.get(Announcement, ids["announcement"])
    assert announcement is not None and announcement.created_by_id is None
    # The neighbour is untouched.
    assert await session.get(Person, kees_id) is not None
    remaining = await session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.person_id == kees_id)
    )
    assert remaining == 1

    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "person.deleted"))
    assert entry is not None
    # The log says that a person was deleted, not who (bot/services/privacy.py).
    assert (entry.actor_person_id, entry.object_type, entry.object_id) == (None, "person", None)
    assert entry.organisation_id == org_id
    assert entry.at == later
    assert entry.details["by_self"] is True


async def test_forget_a_fresh_person_and_their_address_can_start_over(
    session: AsyncSession, org: Organisation
) -> None:
    person, _, _ = await people.identify(
        session, organisation=org, channel=Channel.TELEGRAM, address="999", now=NOW
    )
    admin = await f.person(session, org, "Admin", roles=((Role.ADMIN, None),))
    await people.forget_person(session, person, actor=admin, now=NOW)

    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "person.deleted"))
    assert entry is not None
    assert entry.actor_person_id == admin.id
    assert entry.details["by_self"] is False

    again, _, is_new = await people.identify(
        session, organisation=org, channel=Channel.TELEGRAM, address="999", now=NOW
    )
    assert is_new
    assert again.id != person.id
