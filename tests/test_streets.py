"""Street sign-up, joining, and the leader's review (bot/services/streets.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Conflict, IllegalTransition, InvalidInput, NotAllowed, NotFound
from bot.models import (
    AuditEntry,
    Base,
    Role,
    Street,
    StreetMembership,
    StreetStatus,
)
from bot.services import codes, streets
from bot.services.streets import (
    SignUpOutcome,
    duplicate_key,
    normalise_section,
    normalise_street_name,
    sign_up_street,
)
from tests import factories as f

NOW = f.NOW


async def row_counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = await session.scalar(select(func.count()).select_from(table))
    return counts


@pytest.fixture
async def world(session: AsyncSession) -> dict[str, object]:
    """Rotterdam with two areas and their leaders, an admin, two residents, and Utrecht."""
    org = await f.organisation(session)
    delfshaven = await f.area(session, org, "Delfshaven")
    noord = await f.area(session, org, "Noord")
    other_org = await f.organisation(session, "utrecht")
    other_area = await f.area(session, other_org, "Overvecht")
    return {
        "org": org,
        "delfshaven": delfshaven,
        "noord": noord,
        "other_org": other_org,
        "other_area": other_area,
        "fatima": await f.person(session, org, "Fatima"),
        "kees": await f.person(session, org, "Kees"),
        "leader": await f.person(session, org, "Ans", roles=((Role.LEADER, delfshaven.id),)),
        "noord_leader": await f.person(session, org, "Bram", roles=((Role.LEADER, noord.id),)),
        "admin": await f.person(session, org, "Admin", roles=((Role.ADMIN, None),)),
        "outsider": await f.person(session, other_org, "Joke"),
    }


async def sign_up(session: AsyncSession, world: dict, **kw: object) -> streets.SignUpResult:
    args: dict[str, object] = {
        "actor": world["fatima"],
        "name": "Zaagmolenstraat",
        "section": "1-47",
        "area_id": world["delfshaven"].id,
        "households": 40,
        "liefleed": True,
        "now": NOW,
    }
    args.update(kw)
    return await sign_up_street(session, **args)  # type: ignore[arg-type]


# --- the duplicate key ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "section"),
    [
        ("Zaagmolenstraat", "1-47"),
        ("zaagmolen str.", "1 - 47"),
        ("Zaagmolen Str", "1 -47"),
        ("ZAAGMOLENSTRAAT", "nr. 1 t/m 47"),
        ("Zaagmolenstr.", "1 tot en met 47"),
        ("Zaagmolenstraat", "1–47"),
        ("  Zaagmolen\u200bstraat  ", "(1-47)"),
        ("Zaagmolenstraat 1-47", None),
        ("zaagmolen str., 1 - 47", None),
        ("Zaagmolenstraat, nr 1 t/m 47", ""),
    ],
)
def test_spelling_variants_give_one_key(name: str, section: str | None) -> None:
    assert duplicate_key(name, section) == ("zaagmolenstraat", "1-47")


def test_different_sections_and_streets_give_different_keys() -> None:
    base = duplicate_key("Zaagmolenstraat", "1-47")
    assert duplicate_key("Zaagmolenstraat", "2-48") != base
    assert duplicate_key("Zaagmolenstraat", None) != base
    assert duplicate_key("Zaagmolenkade", "1-47") != base
    assert duplicate_key("Zaagmolenstraat", "1-47 oneven") != base


def test_normalisers() -> None:
    assert normalise_street_name("Hélène  Boucherstraat") == "heleneboucherstraat"
    assert normalise_street_name("'s-Gravendijkwal") == "sgravendijkwal"
    assert normalise_street_name("Straße") == "strasse"
    assert normalise_street_name("Ｚａａｇｍｏｌｅｎｓｔｒａａｔ") == "zaagmolenstraat"
    assert normalise_street_name("Beukelsln") != normalise_street_name("Beukelslaan")
    assert normalise_street_name("Beukels ln.") == normalise_street_name("Beukelslaan")
    assert normalise_section(None) == ""
    assert normalise_section("  ") == ""
    assert normalise_section("1 -- 47") == "1-47"
    assert normalise_section("2 t.m. 10 even") == "2-10 even"
    assert normalise_section("+ Snellemanstr.") == "+ snellemanstraat"
    assert normalise_section("hoek Zaagmolenkade") == "hoek zaagmolenkade"


def test_numbers_at_the_start_of_a_name_stay_in_the_name() -> None:
    assert duplicate_key("1e Middellandstraat", None) == ("1emiddellandstraat", "")
    assert duplicate_key("1e Middellandstraat 10-20", None) == ("1emiddellandstraat", "10-20")


# --- sign-up -------------------------------------------------------------------------------


async def test_sign_up_creates_a_pending_street_with_the_actor_as_gangmaker(
    session: AsyncSession, world: dict
) -> None:
    result = await sign_up(
        session, world, name="  Zaagmolen\u200bstraat ", green=True, households=None
    )

    assert result.outcome is SignUpOutcome.CREATED
    assert result.created and not result.already_exists and not result.reopened
    street = result.street
    await session.refresh(street)
    assert street.status == StreetStatus.PENDING
    assert street.name == "Zaagmolenstraat"
    assert street.section == "1-47"
    assert (street.name_key, street.section_key) == ("zaagmolenstraat", "1-47")
    assert street.area_id == world["delfshaven"].id
    assert street.households is None
    assert (street.theme_liefleed, street.theme_green, street.theme_clean) == (True, True, False)
    assert street.signed_up_by_id == world["fatima"].id
    assert street.created_at == NOW
    assert len(street.invite_code) == 6
    assert set(street.invite_code) <= set(codes.ALPHABET)
    assert [p.id for p in await streets.gangmakers_of(session, street.id)] == [world["fatima"].id]


async def test_invite_codes_are_unique(session: AsyncSession, world: dict) -> None:
    made = [
        (await sign_up(session, world, name=f"Straat {chr(65 + i)}", section=None)).street
        for i in range(20)
    ]
    assert len({s.invite_code for s in made}) == 20


async def test_an_invite_code_already_taken_is_replaced_by_another(
    session: AsyncSession, world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = (await sign_up(session, world)).street
    # The next code drawn is the first street's; the unique index says so and a new one is drawn.
    drawn = iter([first.invite_code, "K7MX3P"])
    monkeypatch.setattr(codes, "new_invite_code", lambda: next(drawn))
    result = await sign_up(session, world, actor=world["kees"], name="Schiekade", section=None)
    assert result.outcome is SignUpOutcome.CREATED
    assert result.street.invite_code == "K7MX3P"
    assert [p.id for p in await streets.gangmakers_of(session, result.street.id)] == [
        world["kees"].id
    ]
    assert await session.scalar(select(func.count()).select_from(Street)) == 2
    assert await session.scalar(select(func.count()).select_from(StreetMembership)) == 2


@pytest.mark.parametrize(
    ("name", "section"),
    [
        ("zaagmolen str.", " 1 - 47"),
        ("ZAAGMOLENSTRAAT", "nr 1 t/m 47"),
        ("zaagmolen str., 1 - 47", None),
        ("Zaagmolenstraat 1-47", ""),
    ],
)
async def test_second_sign_up_in_another_spelling_finds_the_first(
    session: AsyncSession, world: dict, name: str, section: str | None
) -> None:
    first = await sign_up(session, world)
    before = await row_counts(session)

    second = await sign_up(
        session,
        world,
        actor=world["kees"],
        name=name,
        section=section,
        area_id=world["noord"].id,
    )

    assert second.outcome is SignUpOutcome.ALREADY_EXISTS
    assert second.already_exists and not second.already_member
    assert second.street.id == first.street.id
    assert await row_counts(session) == before
    await session.refresh(first.street)
    assert first.street.name == "Zaagmolenstraat"
    assert first.street.area_id == world["delfshaven"].id


async def test_signing_up_ones_own_street_again_says_already_member(
    session: AsyncSession, world: dict
) -> None:
    first = await sign_up(session, world)
    again = await sign_up(session, world, name="Zaagmolenstraat 1-47", section=None)
    assert again.already_exists and again.already_member
    assert again.street.id == first.street.id


async def test_active_street_is_found_too_and_other_organisations_do_not_count(
    session: AsyncSession, world: dict
) -> None:
    first = await sign_up(session, world)
    await streets.review_street(
        session, actor=world["leader"], street_id=first.street.id, approve=True, reason=None
    )
    assert (await sign_up(session, world, actor=world["kees"])).already_exists

    elsewhere = await sign_up(
        session, world, actor=world["outsider"], area_id=world["other_area"].id
    )
    assert elsewhere.created
    assert elsewhere.street.organisation_id == world["other_org"].id


async def test_the_same_street_with_another_section_is_a_new_street(
    session: AsyncSession, world: dict
) -> None:
    first = await sign_up(session, world)
    second = await sign_up(session, world, actor=world["kees"], section="49-101")
    assert second.created
    assert second.street.id != first.street.id


async def test_simultaneous_sign_up_loses_the_race_gracefully(
    session: AsyncSession, world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other sign-up committed between our duplicate check and our insert."""
    first = await sign_up(session, world)
    before = await row_counts(session)
    real_lookup = streets._street_by_key
    calls = []

    async def miss_once(*args: object) -> Street | None:
        calls.append(args)
        return None if len(calls) == 1 else await real_lookup(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(streets, "_street_by_key", miss_once)
    second = await sign_up(session, world, actor=world["kees"], name="zaagmolen str.")

    assert second.already_exists
    assert second.street.id == first.street.id
    assert await row_counts(session) == before


@pytest.mark.parametrize(
    "name",
    [
        "Z",
        "",
        "   ",
        "x" * 81,
        "🏠🌳",
        "🏠 🌳 \u200d",
        "\u200b\u200c\u200d\ufeff",
        "12345",
        "--..",
        "\u0301\u0301\u0301",
        "Z\u200b\u200b",
        "Zaagmolenstraat" * 400,
    ],
)
async def test_invalid_names_are_refused_and_nothing_is_stored(
    session: AsyncSession, world: dict, name: str
) -> None:
    before = await row_counts(session)
    with pytest.raises(InvalidInput) as exc:
        await sign_up(session, world, name=name)
    assert exc.value.key == "street.name_invalid"
    assert exc.value.params == {"min": 2, "max": 80}
    assert await row_counts(session) == before


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("Zaag\x00molen\tstraat", "Zaagmolen straat"),
        ("\u202eZaagmolenstraat\u202c", "Zaagmolenstraat"),
        ("Zaagmolenstraat 🌷", "Zaagmolenstraat 🌷"),
        ("Ab", "Ab"),
        ("شارع", "شارع"),
        ("y" * 80, "y" * 80),
    ],
)
async def test_names_are_cleaned_before_storing(
    session: AsyncSession, world: dict, name: str, stored: str
) -> None:
    result = await sign_up(session, world, name=name)
    await session.refresh(result.street)
    assert result.street.name == stored


async def test_section_longer_than_60_characters_is_refused(
    session: AsyncSession, world: dict
) -> None:
    before = await row_counts(session)
    with pytest.raises(InvalidInput) as exc:
        await sign_up(session, world, section="1" * 61)
    assert (exc.value.key, exc.value.params) == ("street.section_too_long", {"max": 60})
    assert await row_counts(session) == before
    # Exactly 60 is fine, and a blank section is no section.
    assert (await sign_up(session, world, section="2" * 60)).created
    blank = await sign_up(session, world, name="Snellemanstraat", section=" \u200b ")
    assert blank.street.section is None


@pytest.mark.parametrize("households", [0, -1, 2001, True])
async def test_households_out_of_range_are_refused(
    session: AsyncSession, world: dict, households: int
) -> None:
    before = await row_counts(session)
    with pytest.raises(InvalidInput) as exc:
        await sign_up(session, world, households=households)
    assert exc.value.key == "street.households_out_of_range"
    assert exc.value.params == {"min": 1, "max": 2000}
    assert await row_counts(session) == before


@pytest.mark.parametrize("households", [1, 2000, None])
async def test_households_at_the_limits_are_accepted(
    session: AsyncSession, world: dict, households: int | None
) -> None:
    assert (await sign_up(session, world, households=households)).street.households == households


@pytest.mark.parametrize("which", ["other_org", "missing"])
async def test_an_area_of_another_organisation_is_unknown(
    session: AsyncSession, world: dict, which: str
) -> None:
    area_id = world["other_area"].id if which == "other_org" else 999_999
    before = await row_counts(session)
    with pytest.raises(NotFound) as exc:
        await sign_up(session, world, area_id=area_id)
    assert exc.value.key == "street.area_unknown"
    assert await row_counts(session) == before


@pytest.mark.parametrize("old_status", [StreetStatus.REJECTED, StreetStatus.INACTIVE])
async def test_signing_up_a_rejected_or_inactive_street_reopens_it(
    session: AsyncSession, world: dict, old_status: StreetStatus
) -> None:
    old = await f.street(
        session,
        world["org"],
        world["delfshaven"],
        status=old_status,
        gangmakers=(world["kees"],),
        section="1-47",
    )
    old.review_reason = "dubbel"
    old.reviewed_at = NOW - dt.timedelta(days=300)
    await session.flush()

    result = await sign_up(
        session,
        world,
        name="zaagmolen str.",
        section="1 - 47",
        area_id=world["noord"].id,
        households=12,
        now=NOW,
    )

    assert result.created and result.reopened
    street = result.street
    assert street.id == old.id
    await session.refresh(street)
    assert street.status == StreetStatus.PENDING
    assert (street.reviewed_at, street.review_reason) == (None, None)
    assert street.area_id == world["noord"].id
    assert street.households == 12
    assert street.signed_up_by_id == world["fatima"].id
    members = {p.id for p in await streets.gangmakers_of(session, street.id)}
    assert members == {world["kees"].id, world["fatima"].id}
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "street.reopened"))
    assert entry is not None
    assert entry.details == {"previous_status": old_status.value}
    # The leader of the new area reviews it like any new sign-up.
    assert [s.id for s in await streets.pending_streets(session, actor=world["noord_leader"])] == [
        street.id
    ]


async def test_reopening_by_a_former_gangmaker_does_not_duplicate_the_membership(
    session: AsyncSession, world: dict
) -> None:
    await f.street(
        session,
        world["org"],
        world["delfshaven"],
        status=StreetStatus.INACTIVE,
        gangmakers=(world["fatima"],),
        section="1-47",
    )
    result = await sign_up(session, world)
    assert result.reopened
    assert [p.id for p in await streets.gangmakers_of(session, result.street.id)] == [
        world["fatima"].id
    ]


# --- joining with an invite code -----------------------------------------------------------


@pytest.mark.parametrize("typed", ["{code}", "{lower}", " {a}-{b} ", "{a}.{b}", "{a} {b}\n"])
async def test_join_with_a_loosely_typed_invite_code(
    session: AsyncSession, world: dict, typed: str
) -> None:
    street = (await sign_up(session, world)).street  # still pending: joining is allowed
    code = street.invite_code
    text = typed.format(code=code, lower=code.lower(), a=code[:3].lower(), b=code[3:])

    joined = await streets.join_street(session, actor=world["kees"], invite_code=text, now=NOW)

    assert joined.id == street.id
    assert [p.id for p in await streets.gangmakers_of(session, street.id)] == [
        world["fatima"].id,
        world["kees"].id,
    ]
    assert [s.id for s in await streets.my_streets(session, world["kees"])] == [street.id]


@pytest.mark.parametrize("code", ["", "  ", "ZZZZZZ", "🏠", "x" * 500])
async def test_join_with_an_unknown_code(session: AsyncSession, world: dict, code: str) -> None:
    await sign_up(session, world)
    before = await row_counts(session)
    with pytest.raises(NotFound) as exc:
        await streets.join_street(session, actor=world["kees"], invite_code=code)
    assert exc.value.key == "street.code_unknown"
    assert await row_counts(session) == before


async def test_a_code_of_another_organisation_is_unknown(
    session: AsyncSession, world: dict
) -> None:
    street = (await sign_up(session, world)).street
    before = await row_counts(session)
    with pytest.raises(NotFound):
        await streets.join_street(session, actor=world["outsider"], invite_code=street.invite_code)
    assert await row_counts(session) == before


@pytest.mark.parametrize("status", [StreetStatus.INACTIVE, StreetStatus.REJECTED])
async def test_inactive_or_rejected_streets_cannot_be_joined(
    session: AsyncSession, world: dict, status: StreetStatus
) -> None:
    street = await f.street(session, world["org"], world["delfshaven"], status=status)
    before = await row_counts(session)
    with pytest.raises(Conflict) as exc:
        await streets.join_street(session, actor=world["kees"], invite_code=street.invite_code)
    assert exc.value.key == "street.not_joinable"
    assert exc.value.params == {"street": "Zaagmolenstraat", "status": status.value}
    assert await row_counts(session) == before


async def test_joining_twice_is_refused(session: AsyncSession, world: dict) -> None:
    street = (await sign_up(session, world)).street
    before = await row_counts(session)
    with pytest.raises(Conflict) as exc:
        await streets.join_street(session, actor=world["fatima"], invite_code=street.invite_code)
    assert (exc.value.key, exc.value.params) == (
        "street.already_member",
        {"street": "Zaagmolenstraat"},
    )
    assert await row_counts(session) == before


async def test_a_subscribed_resident_who_joins_becomes_gangmaker(
    session: AsyncSession, world: dict
) -> None:
    street = (await sign_up(session, world)).street
    session.add(
        StreetMembership(street_id=street.id, person_id=world["kees"].id, is_gangmaker=False)
    )
    await session.flush()
    assert world["kees"].id not in {p.id for p in await streets.gangmakers_of(session, street.id)}

    await streets.join_street(session, actor=world["kees"], invite_code=street.invite_code)

    assert world["kees"].id in {p.id for p in await streets.gangmakers_of(session, street.id)}
    count = await session.scalar(
        select(func.count())
        .select_from(StreetMembership)
        .where(StreetMembership.street_id == street.id)
    )
    assert count == 2


# --- my streets, gangmakers, contact -------------------------------------------------------


async def test_my_streets_lists_gangmaker_streets_by_name(
    session: AsyncSession, world: dict
) -> None:
    fatima = world["fatima"]
    org, area = world["org"], world["delfshaven"]
    b = await f.street(session, org, area, "Bloemkwekersstraat", gangmakers=(fatima,))
    a = await f.street(
        session, org, area, "Aelbrechtskade", gangmakers=(fatima,), status=StreetStatus.PENDING
    )
    await f.street(session, org, area, "Coolhaven", gangmakers=(world["kees"],))
    resident_only = await f.street(session, org, area, "Delistraat")
    session.add(
        StreetMembership(street_id=resident_only.id, person_id=fatima.id, is_gangmaker=False)
    )
    await session.flush()

    assert [s.id for s in await streets.my_streets(session, fatima)] == [a.id, b.id]
    active = await streets.my_streets(session, fatima, statuses=[StreetStatus.ACTIVE])
    assert [s.id for s in active] == [b.id]
    assert await streets.my_streets(session, world["leader"]) == []


async def test_area_contact(session: AsyncSession, world: dict) -> None:
    street = (await sign_up(session, world)).street
    assert await streets.area_contact(session, street) == "Leider Delfshaven: 010-1234567"
    world["delfshaven"].contact_text = None
    await session.flush()
    assert await streets.area_contact(session, street) is None


# --- review by a leader --------------------------------------------------------------------


async def test_pending_streets_per_leader_and_for_the_admin(
    session: AsyncSession, world: dict
) -> None:
    d1 = (await sign_up(session, world, name="Aaa straat", now=NOW)).street
    n1 = (
        await sign_up(
            session,
            world,
            name="Bbb straat",
            area_id=world["noord"].id,
            now=NOW + dt.timedelta(minutes=1),
        )
    ).street
    d2 = (
        await sign_up(session, world, name="Ccc straat", now=NOW + dt.timedelta(minutes=2))
    ).street
    await f.street(session, world["org"], world["delfshaven"], "Actief")  # active: not listed
    await sign_up(session, world, actor=world["outsider"], area_id=world["other_area"].id)

    assert [s.id for s in await streets.pending_streets(session, actor=world["leader"])] == [
        d1.id,
        d2.id,
    ]
    noord = await streets.pending_streets(session, actor=world["noord_leader"])
    assert [s.id for s in noord] == [n1.id]
    admin = await streets.pending_streets(session, actor=world["admin"])
    assert [s.id for s in admin] == [d1.id, n1.id, d2.id]

    with pytest.raises(NotAllowed) as exc:
        await streets.pending_streets(session, actor=world["fatima"])
    assert exc.value.key == "perm.not_leader_of_area"


async def test_leader_approves_a_pending_street(session: AsyncSession, world: dict) -> None:
    street = (await sign_up(session, world)).street
    later = NOW + dt.timedelta(days=2)

    approved = await streets.review_street(
        session, actor=world["leader"], street_id=street.id, approve=True, reason=None, now=later
    )

    assert approved.id == street.id
    await session.refresh(street)
    assert street.status == StreetStatus.ACTIVE
    assert street.reviewed_at == later
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "street.approved"))
    assert entry is not None
    assert (entry.actor_person_id, entry.object_type, entry.object_id) == (
        world["leader"].id,
        "street",
        street.id,
    )
    assert entry.organisation_id == world["org"].id
    assert entry.at == later
    # An approved street makes its signer-up show up as gangmaker of an active street.
    assert [s.id for s in await streets.my_streets(session, world["fatima"])] == [street.id]


async def test_leader_rejects_with_a_reason(session: AsyncSession, world: dict) -> None:
    street = (await sign_up(session, world)).street
    await streets.review_street(
        session,
        actor=world["admin"],
        street_id=street.id,
        approve=False,
        reason="  Dubbel met Zaagmolenkade ",
        now=NOW,
    )
    await session.refresh(street)
    assert street.status == StreetStatus.REJECTED
    assert street.review_reason == "Dubbel met Zaagmolenkade"
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "street.rejected"))
    assert entry is not None
    assert entry.details == {"reason": "Dubbel met Zaagmolenkade"}


@pytest.mark.parametrize("reason", [None, "", "   ", "\u200b"])
async def test_rejection_needs_a_reason(
    session: AsyncSession, world: dict, reason: str | None
) -> None:
    street = (await sign_up(session, world)).street
    before = await row_counts(session)
    with pytest.raises(InvalidInput) as exc:
        await streets.review_street(
            session, actor=world["leader"], street_id=street.id, approve=False, reason=reason
        )
    assert exc.value.key == "street.reason_required"
    assert await row_counts(session) == before
    await session.refresh(street)
    assert street.status == StreetStatus.PENDING


async def test_an_overlong_reason_is_refused(session: AsyncSession, world: dict) -> None:
    street = (await sign_up(session, world)).street
    with pytest.raises(InvalidInput) as exc:
        await streets.review_street(
            session, actor=world["leader"], street_id=street.id, approve=False, reason="x" * 301
        )
    assert (exc.value.key, exc.value.params) == ("street.reason_too_long", {"max": 300})
    await session.refresh(street)
    assert street.status == StreetStatus.PENDING


@pytest.mark.parametrize("who", ["noord_leader", "fatima", "kees"])
async def test_only_the_leader_of_the_area_may_review(
    session: AsyncSession, world: dict, who: str
) -> None:
    street = (await sign_up(session, world)).street
    before = await row_counts(session)
    for approve in (True, False):
        with pytest.raises(NotAllowed) as exc:
            await streets.review_street(
                session, actor=world[who], street_id=street.id, approve=approve, reason="nee"
            )
        assert exc.value.key == "perm.not_leader_of_area"
    assert await row_counts(session) == before
    await session.refresh(street)
    assert (street.status, street.reviewed_at) == (StreetStatus.PENDING, None)


async def test_streets_of_other_organisations_and_unknown_ids_are_not_found(
    session: AsyncSession, world: dict
) -> None:
    theirs = (
        await sign_up(session, world, actor=world["outsider"], area_id=world["other_area"].id)
    ).street
    for street_id in (theirs.id, 999_999):
        with pytest.raises(NotFound) as exc:
            await streets.review_street(
                session, actor=world["admin"], street_id=street_id, approve=True, reason=None
            )
        assert exc.value.key == "street.unknown"
        with pytest.raises(NotFound):
            await streets.deactivate_street(session, actor=world["admin"], street_id=street_id)
    await session.refresh(theirs)
    assert theirs.status == StreetStatus.PENDING


@pytest.mark.parametrize(
    "status", [StreetStatus.ACTIVE, StreetStatus.REJECTED, StreetStatus.INACTIVE]
)
async def test_only_pending_streets_can_be_reviewed(
    session: AsyncSession, world: dict, status: StreetStatus
) -> None:
    street = await f.street(session, world["org"], world["delfshaven"], status=status)
    before = await row_counts(session)
    with pytest.raises(IllegalTransition) as exc:
        await streets.review_street(
            session, actor=world["leader"], street_id=street.id, approve=False, reason="nee"
        )
    assert (exc.value.key, exc.value.params) == ("street.not_pending", {"status": status.value})
    assert await row_counts(session) == before
    await session.refresh(street)
    assert street.status == status


async def test_a_second_leader_acting_at_the_same_time_loses(
    session: AsyncSession, world: dict
) -> None:
    """Another transaction approved the street after we loaded it as pending."""
    street = (await sign_up(session, world)).street
    await session.execute(
        update(Street)
        .where(Street.id == street.id)
        .values(status=StreetStatus.ACTIVE)
        .execution_options(synchronize_session=False)
    )
    assert street.status == StreetStatus.PENDING  # our stale copy
    before = await row_counts(session)

    with pytest.raises(IllegalTransition) as exc:
        await streets.review_street(
            session, actor=world["admin"], street_id=street.id, approve=False, reason="nee"
        )

    assert (exc.value.key, exc.value.params) == ("street.not_pending", {"status": "active"})
    assert street.status == StreetStatus.ACTIVE
    assert await row_counts(session) == before


async def test_deactivate_an_active_street(session: AsyncSession, world: dict) -> None:
    street = await f.street(
        session, world["org"], world["delfshaven"], gangmakers=(world["fatima"],)
    )
    later = NOW + dt.timedelta(days=200)
    await streets.deactivate_street(
        session, actor=world["leader"], street_id=street.id, reason="gestopt", now=later
    )
    await session.refresh(street)
    assert (street.status, street.reviewed_at, street.review_reason) == (
        StreetStatus.INACTIVE,
        later,
        "gestopt",
    )
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "street.deactivated")
    )
    assert entry is not None
    assert (entry.actor_person_id, entry.object_id, entry.at) == (
        world["leader"].id,
        street.id,
        later,
    )
    # The membership stays (history), but the street no longer counts as active.
    assert [s.id for s in await streets.my_streets(session, world["fatima"])] == [street.id]
    assert await streets.my_streets(session, world["fatima"], statuses=[StreetStatus.ACTIVE]) == []


@pytest.mark.parametrize(
    "status", [StreetStatus.PENDING, StreetStatus.REJECTED, StreetStatus.INACTIVE]
)
async def test_only_active_streets_can_be_deactivated(
    session: AsyncSession, world: dict, status: StreetStatus
) -> None:
    street = await f.street(session, world["org"], world["delfshaven"], status=status)
    before = await row_counts(session)
    with pytest.raises(IllegalTransition) as exc:
        await streets.deactivate_street(session, actor=world["leader"], street_id=street.id)
    assert (exc.value.key, exc.value.params) == ("street.not_active", {"status": status.value})
    assert await row_counts(session) == before


async def test_deactivation_by_a_leader_of_another_area_is_refused(
    session: AsyncSession, world: dict
) -> None:
    street = await f.street(session, world["org"], world["delfshaven"])
    before = await row_counts(session)
    for who in ("noord_leader", "fatima"):
        with pytest.raises(NotAllowed):
            await streets.deactivate_street(session, actor=world[who], street_id=street.id)
    assert await row_counts(session) == before
    await session.refresh(street)
    assert street.status == StreetStatus.ACTIVE


# --- random names --------------------------------------------------------------------------

_NASTY = st.sampled_from(
    [
        "\u200b",
        "\u200c",
        "\u200d",
        "\u2060",
        "\ufeff",
        "\u202e",
        "\u2066",
        "\x00",
        "\x1b",
        "\u0301",
        "\ufe0f",
        "🏠",
        "👨\u200d👩\u200d👧",
        "🇳🇱",
        "🏽",
        "שלום",
        "مرحبا",
        "ﷺ",
        "straat",
        " str.",
        "1-47",
        " ",
        "\n",
        "\u3000",
        "ß",
        "İ",
        "ǅ",
        "\U0010fffd",
        "\ufffe",
    ]
)
RANDOM_NAMES = st.one_of(
    st.text(max_size=120),
    st.lists(st.one_of(_NASTY, st.text(max_size=3)), max_size=60).map("".join),
    st.text(min_size=1, max_size=7).map(lambda s: (s * 5000)[:5000]),
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=RANDOM_NAMES, section=st.one_of(st.none(), st.text(max_size=70)))
async def test_random_names_are_either_signed_up_or_refused_politely(
    session: AsyncSession, name: str, section: str | None
) -> None:
    try:
        org = await f.organisation(session)
        area = await f.area(session, org)
        actor = await f.person(session, org)
        try:
            result = await sign_up_street(
                session,
                actor=actor,
                name=name,
                section=section,
                area_id=area.id,
                households=None,
                liefleed=False,
                now=NOW,
            )
        except InvalidInput as exc:
            event(exc.key)
            assert exc.key in {"street.name_invalid", "street.section_too_long"}
            assert await session.scalar(select(func.count()).select_from(Street)) == 0
        else:
            event("created")
            assert result.created
            street = result.street
            await session.refresh(street)  # what the database really stored
            assert 2 <= len(street.name) <= 80
            assert any(ch.isalpha() for ch in street.name)
            assert street.name == street.name.strip()
            assert "\u200b" not in street.name and "\x00" not in street.name
            assert street.name_key and len(street.name_key) <= 120
            assert len(street.section_key) <= 120
            assert street.section is None or len(street.section) <= 60
            # A second sign-up of exactly what was stored finds this street.
            again = await sign_up_street(
                session,
                actor=actor,
                name=street.name,
                section=street.section,
                area_id=area.id,
                households=None,
                liefleed=False,
                now=NOW,
            )
            assert again.already_exists and again.street.id == street.id
    finally:
        await session.rollback()
